16056.740 guest connected
16522.167 < 1 nbd-release-all
16522.167 > 1 ok nothing
16522.201 guest gone
