// SPDX-License-Identifier: GPL-2.0
/*
 * rvirtio_blk through the block ioctls and O_DIRECT: each answer is checked
 * against sysfs, data written is read back byte for byte, and whatever the
 * test overwrites is written back at the end.
 *
 *   rvirtio_blk_ioctl [DEV]   DEV: /dev/vdX (default: $RVIRTIO_DEV, else the
 *                             first disk bound to rvirtio_blk)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/hdreg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest.h"

#define CHUNK (1024 * 1024)

static char disk[NAME_MAX + 1];

/* sysfs_u64: /sys/block/DISK/ATTR as a number; -1 if unreadable. */
static long long sysfs_u64(const char *attr)
{
	char path[PATH_MAX];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/%s/%s", disk, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* bound_driver: the driver of /sys/block/DISK/device, into BUF. */
static int bound_driver(const char *name, char *buf, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	char *slash;

	snprintf(path, sizeof(path), "/sys/block/%s/device/driver", name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = 0;
	slash = strrchr(link, '/');
	slash = slash ? slash + 1 : link;
	if (strlen(slash) >= len)
		return -1;
	memcpy(buf, slash, strlen(slash) + 1);
	return 0;
}

/* find_disk: the first disk bound to rvirtio_blk. */
static int find_disk(void)
{
	struct dirent *e;
	char drv[NAME_MAX + 1];
	DIR *d = opendir("/sys/block");
	int found = -1;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (!bound_driver(e->d_name, drv, sizeof(drv)) && !strcmp(drv, "rvirtio_blk")) {
			snprintf(disk, sizeof(disk), "%s", e->d_name);
			found = 0;
			break;
		}
	}
	closedir(d);
	return found;
}

static void fill_random(unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)random();
}

static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	return pread(fd, buf, len, off) == (ssize_t)len ? 0 : -1;
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off) == (ssize_t)len ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : getenv("RVIRTIO_DEV");
	unsigned char *saved, *pattern, *readback;
	char path[PATH_MAX], drv[NAME_MAX + 1];
	unsigned long long size64 = 0;
	struct hd_geometry geo;
	uint64_t range[2];
	int lbs = 0, pbs = 0;
	off_t off;
	int fd, ok;
	size_t i;

	ksft_print_header();
	if (dev) {
		const char *base = strrchr(dev, '/');

		snprintf(disk, sizeof(disk), "%s", base ? base + 1 : dev);
	} else if (find_disk()) {
		ksft_exit_skip("no disk is bound to rvirtio_blk\n");
	}
	snprintf(path, sizeof(path), "/dev/%s", disk);
	ksft_set_plan(9);

	ksft_test_result(!bound_driver(disk, drv, sizeof(drv)) && !strcmp(drv, "rvirtio_blk"),
			 "%s is bound to rvirtio_blk\n", disk);

	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0)
		ksft_exit_fail_msg("open %s: %s\n", path, strerror(errno));

	ksft_test_result(!ioctl(fd, BLKGETSIZE64, &size64) &&
			 (long long)size64 == sysfs_u64("size") * 512,
			 "BLKGETSIZE64 %llu bytes is sysfs size * 512\n", size64);
	ksft_test_result(!ioctl(fd, BLKSSZGET, &lbs) &&
			 lbs == sysfs_u64("queue/logical_block_size"),
			 "BLKSSZGET %d is queue/logical_block_size\n", lbs);
	ksft_test_result(!ioctl(fd, BLKPBSZGET, &pbs) &&
			 pbs == sysfs_u64("queue/physical_block_size"),
			 "BLKPBSZGET %d is queue/physical_block_size\n", pbs);
	memset(&geo, 0, sizeof(geo));
	ksft_test_result(!ioctl(fd, HDIO_GETGEO, &geo) && geo.heads && geo.sectors &&
			 geo.start == 0,
			 "HDIO_GETGEO %u/%u/%u, start %lu\n", geo.cylinders, geo.heads,
			 geo.sectors, geo.start);

	if (size64 < 4 * CHUNK)
		ksft_exit_fail_msg("%s is too small (%llu bytes) to test I/O\n", path, size64);
	if (posix_memalign((void **)&saved, 4096, CHUNK) ||
	    posix_memalign((void **)&pattern, 4096, CHUNK) ||
	    posix_memalign((void **)&readback, 4096, CHUNK))
		ksft_exit_fail_msg("out of memory\n");
	srandom(getpid());
	/* A 1 MiB-aligned chunk in the middle of the disk. */
	off = (off_t)(size64 / 2) & ~((off_t)CHUNK - 1);
	if (pread_all(fd, saved, CHUNK, off))
		ksft_exit_fail_msg("O_DIRECT read at %lld: %s\n", (long long)off, strerror(errno));

	fill_random(pattern, CHUNK);
	ok = !pwrite_all(fd, pattern, CHUNK, off) && !fsync(fd) &&
	     !pread_all(fd, readback, CHUNK, off) && !memcmp(pattern, readback, CHUNK);
	ksft_test_result(ok, "O_DIRECT write, read back, verify 1 MiB at %lld\n", (long long)off);

	ksft_test_result(!ioctl(fd, BLKFLSBUF, 0), "BLKFLSBUF\n");

	range[0] = off;
	range[1] = CHUNK;
	if (sysfs_u64("queue/discard_max_bytes") <= 0) {
		ksft_test_result_skip("BLKDISCARD: the device has no discard\n");
	} else {
		ksft_test_result(!ioctl(fd, BLKDISCARD, range), "BLKDISCARD 1 MiB at %lld\n",
				 (long long)off);
	}

	ok = !ioctl(fd, BLKZEROOUT, range) && !pread_all(fd, readback, CHUNK, off);
	for (i = 0; ok && i < CHUNK; i++)
		ok = readback[i] == 0;
	ksft_test_result(ok, "BLKZEROOUT 1 MiB reads back as zeroes\n");

	if (pwrite_all(fd, saved, CHUNK, off) || fsync(fd))
		ksft_print_msg("could not restore the data at %lld: %s\n", (long long)off,
			       strerror(errno));
	close(fd);
	ksft_finished();
}
