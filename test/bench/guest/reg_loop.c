// SPDX-License-Identifier: MIT
/*
 * Guest side of the Xen benchmark (test/bench/bench_xen.py): times N reads
 * of a virtio device's sysfs "status" attribute, each of which makes the
 * kernel read the transport's Status register once (virtio_mmio's
 * vm_get_status, a readl of offset 0x70), and N reads of its "device"
 * attribute, which the kernel answers from memory. The difference is one
 * register read as the guest sees it (a trap to Xen and an IOREQ round
 * trip to dom0 under Xen; a trap to QEMU's own virtio-mmio under QEMU).
 * The kernel has no /dev/mem (CONFIG_DEVMEM is off), hence sysfs.
 *
 * Usage: reg_loop DIR N (DIR: /sys/bus/virtio/devices/virtioK). Prints
 * "REG-LOOP attr=A n=N ns_total=T p50_ns=P p99_ns=Q" for "device" then
 * "status".
 *
 * Built static for aarch64 by the benchmark and copied into the guest.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* pread at offset 0 runs the attribute's show() again each time. */
static int time_attr(const char *dir, const char *attr, long n)
{
	static uint64_t lat[MAX_N];
	char path[256], buf[64];
	uint64_t t0, total = 0;
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
		total += lat[i];
	}
	close(fd);
	qsort(lat, (size_t)n, sizeof(lat[0]), cmp_u64);
	printf("REG-LOOP attr=%s n=%ld ns_total=%llu p50_ns=%llu p99_ns=%llu\n",
	       attr, n, (unsigned long long)total,
	       (unsigned long long)lat[n / 2],
	       (unsigned long long)lat[n * 99 / 100]);
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
	if (time_attr(argv[1], "device", n) || time_attr(argv[1], "status", n))
		return 1;
	return 0;
}
