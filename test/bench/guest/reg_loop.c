// SPDX-License-Identifier: MIT
/*
 * Guest side of the Xen benchmark (test/bench/bench_xen.py): one virtio-mmio
 * register read as the guest sees it, two ways.
 *
 * sysfs: N reads of the device's "status" attribute, each of which makes the
 * kernel read the Status register once (virtio_mmio's vm_get_status, a readl
 * of offset 0x70), and N reads of its "device" attribute, which the kernel
 * answers from memory; the difference is one register read plus nothing.
 *
 * /dev/mem: the transport window (its base is the name of the virtio
 * device's parent platform device, e.g. 2000000.virtio) mapped uncached and
 * read directly, N times at 0x70 (Status) and N times at 0x100 (the first
 * config-space word), each a single 32-bit load: a trap to Xen and an IOREQ
 * round trip to dom0 under Xen, a trap to QEMU's own virtio-mmio under QEMU.
 *
 * Usage: reg_loop DIR N (DIR: /sys/bus/virtio/devices/virtioK). Prints
 * "REG-LOOP attr=A n=N ns_total=T p50_ns=P p99_ns=Q" for "device", "status",
 * "mmio-status" and "mmio-config".
 *
 * Built static for aarch64 by the benchmark and copied into the guest.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_N 100000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t lat[MAX_N];

static void report(const char *attr, long n)
{
	uint64_t total = 0;

	for (long i = 0; i < n; i++)
		total += lat[i];
	qsort(lat, (size_t)n, sizeof(lat[0]), cmp_u64);
	printf("REG-LOOP attr=%s n=%ld ns_total=%llu p50_ns=%llu p99_ns=%llu\n",
	       attr, n, (unsigned long long)total,
	       (unsigned long long)lat[n / 2],
	       (unsigned long long)lat[n * 99 / 100]);
}

/* pread at offset 0 runs the attribute's show() again each time. */
static int time_attr(const char *dir, const char *attr, long n)
{
	char path[256], buf[64];
	uint64_t t0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return -1;
	}
	for (long i = 0; i < n; i++) {
		t0 = now_ns();
		if (pread(fd, buf, sizeof(buf), 0) <= 0) {
			perror(path);
			close(fd);
			return -1;
		}
		lat[i] = now_ns() - t0;
	}
	close(fd);
	report(attr, n);
	return 0;
}

/* The window's base: the parent platform device is named "<hex>.<name>". */
static int window_base(const char *dir, unsigned long long *base)
{
	char real[PATH_MAX], *end;

	if (!realpath(dir, real)) {
		perror(dir);
		return -1;
	}
	*base = strtoull(basename(dirname(real)), &end, 16);
	if (*end != '.' || !*base) {
		fprintf(stderr, "%s: no transport window in its path\n", real);
		return -1;
	}
	return 0;
}

static void time_reg(volatile const uint32_t *reg, const char *attr, long n)
{
	uint64_t t0;
	uint32_t sink = 0;

	for (long i = 0; i < n; i++) {
		t0 = now_ns();
		sink ^= *reg;
		lat[i] = now_ns() - t0;
	}
	report(attr, n);
	(void)sink;
}

static int time_window(const char *dir, long n)
{
	unsigned long long base;
	volatile const uint32_t *win;
	void *map;
	int fd;

	if (window_base(dir, &base))
		return -1;
	fd = open("/dev/mem", O_RDONLY | O_SYNC);
	if (fd < 0) {
		perror("/dev/mem");
		return -1;
	}
	/* A 0x200-byte window never crosses a page: windows are packed at
	 * 0x200 strides from a page-aligned start. */
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd,
		   (off_t)(base & ~4095ull));
	close(fd);
	if (map == MAP_FAILED) {
		perror("mmap /dev/mem");
		return -1;
	}
	win = (volatile const uint32_t *)((char *)map + (base & 4095));
	time_reg(win + 0x70 / 4, "mmio-status", n);
	time_reg(win + 0x100 / 4, "mmio-config", n);
	munmap(map, 4096);
	return 0;
}

int main(int argc, char **argv)
{
	long n;

	if (argc != 3) {
		fprintf(stderr, "usage: reg_loop DIR N\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 0);
	if (n < 1 || n > MAX_N) {
		fprintf(stderr, "N must be 1..%d\n", MAX_N);
		return 2;
	}
	if (time_attr(argv[1], "device", n) ||
	    time_attr(argv[1], "status", n) || time_window(argv[1], n))
		return 1;
	return 0;
}
