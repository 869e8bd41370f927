// SPDX-License-Identifier: GPL-2.0
/*
 * pcicfg: read and write a PCI function's registers behind its driver's
 * back, to stage a device that misbehaves.
 *
 *   pcicfg BDF OFFSET            print the config dword at OFFSET (0x%08x)
 *   pcicfg BDF OFFSET VALUE      write VALUE to the config dword at OFFSET
 *   pcicfg BDF barN OFFSET       print the byte at OFFSET of BAR N, read
 *                                through /sys/bus/pci/devices/BDF/resourceN
 *                                (the address the kernel assigned, which the
 *                                driver has mapped)
 *
 * Config space goes through /sys/bus/pci/devices/BDF/config, as whole,
 * aligned dwords. Exits 0 on success, 1 on an error (printed), 2 on bad
 * usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: pcicfg BDF OFFSET [VALUE] | pcicfg BDF barN OFFSET\n");
	return 2;
}

static int number(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	return errno || !*s || *end ? -1 : 0;
}

static int config(const char *bdf, unsigned long off, const char *value)
{
	char path[256];
	unsigned long v;
	uint32_t dword;
	ssize_t n;
	int fd;

	if (off % 4 || off > 4092)
		return usage();
	if (value && (number(value, &v) || v > UINT32_MAX))
		return usage();
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, value ? O_WRONLY : O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "pcicfg: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (value) {
		dword = (uint32_t)v;
		n = pwrite(fd, &dword, 4, (off_t)off);
	} else {
		n = pread(fd, &dword, 4, (off_t)off);
	}
	if (n != 4) {
		fprintf(stderr, "pcicfg: %s at %#lx: %s\n", path, off,
			n < 0 ? strerror(errno) : "short");
		close(fd);
		return 1;
	}
	close(fd);
	if (!value)
		printf("0x%08x\n", dword);
	return 0;
}

static int bar_byte(const char *bdf, const char *bar, unsigned long off)
{
	char path[256];
	volatile uint8_t *p;
	long page = sysconf(_SC_PAGESIZE);
	unsigned long base = off & ~(unsigned long)(page - 1);
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%s", bdf, bar + 3);
	fd = open(path, O_RDONLY | O_SYNC);
	if (fd < 0) {
		fprintf(stderr, "pcicfg: %s: %s\n", path, strerror(errno));
		return 1;
	}
	p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, (off_t)base);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "pcicfg: mmap %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("0x%02x\n", p[off - base]);
	munmap((void *)p, (size_t)page);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long off;

	if (argc < 3 || argc > 4)
		return usage();
	if (!strncmp(argv[2], "bar", 3)) {
		if (argc != 4 || strlen(argv[2]) != 4 || argv[2][3] < '0' || argv[2][3] > '5' ||
		    number(argv[3], &off))
			return usage();
		return bar_byte(argv[1], argv[2], off);
	}
	if (number(argv[2], &off))
		return usage();
	return config(argv[1], off, argc == 4 ? argv[3] : NULL);
}
