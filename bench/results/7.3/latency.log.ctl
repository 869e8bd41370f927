15819.835 guest connected
16055.873 < 1 nbd-release-all
16055.874 > 1 ok nothing
16055.908 guest gone
