14692.570 guest connected
15525.172 < 1 nbd-release-all
15525.172 > 1 ok nothing
15525.209 guest gone
