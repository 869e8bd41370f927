15526.010 guest connected
15818.867 < 1 nbd-release-all
15818.868 > 1 ok nothing
15818.908 guest gone
