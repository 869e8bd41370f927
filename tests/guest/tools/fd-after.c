// SPDX-License-Identifier: GPL-2.0
/*
 * fd-after DEV FLAG: open the block device DEV, say "open", wait until the
 * file FLAG exists (the test removes the device meanwhile), then use the
 * descriptor it kept open: HDIO_GETGEO, BLKGETSIZE64 and a 4 KiB read, each
 * printed as "NAME ok ..." or "NAME err ERRNO (message)". Exits 0 once all
 * were tried, 1 if DEV could not be opened or FLAG never appeared (60 s).
 *
 * The shell cannot issue an ioctl on a descriptor it holds, and opening the
 * device again after its removal fails before any driver code runs; this is
 * what an application that had the disk open sees.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/hdreg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *name, int ret)
{
	if (ret < 0)
		printf("%s err %d (%s)\n", name, errno, strerror(errno));
}

int main(int argc, char **argv)
{
	struct hd_geometry geo;
	unsigned long long size;
	static char buf[4096];
	struct stat st;
	int fd, i;

	if (argc != 3) {
		fprintf(stderr, "usage: fd-after DEV FLAG\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		report("open", fd);
		return 1;
	}
	printf("open ok\n");
	fflush(stdout);
	for (i = 0; stat(argv[2], &st) != 0; i++) {
		if (i >= 600) {
			printf("flag never appeared\n");
			return 1;
		}
		usleep(100000);
	}
	if (ioctl(fd, HDIO_GETGEO, &geo) == 0)
		printf("getgeo ok %u/%u/%u\n", geo.cylinders, geo.heads, geo.sectors);
	else
		report("getgeo", -1);
	if (ioctl(fd, BLKGETSIZE64, &size) == 0)
		printf("getsize64 ok %llu\n", size);
	else
		report("getsize64", -1);
	if (pread(fd, buf, sizeof(buf), 0) >= 0)
		printf("read ok\n");
	else
		report("read", -1);
	close(fd);
	printf("closed\n");
	return 0;
}
