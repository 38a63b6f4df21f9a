// SPDX-License-Identifier: MIT
/*
 * Guest side of the end-to-end i2c benchmark (test/bench/bench_i2c_guest.py):
 * N SMBus "read byte data" transfers on /dev/i2c-BUS in one process, so the
 * numbers measure the transfer path, not process start-up. Prints
 * "I2C-LOOP bus=B n=N ns_total=T p50_ns=P p99_ns=Q".
 *
 * Built static for aarch64 by the benchmark and copied into the guest.
 */
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
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

static int read_byte_data(int fd, uint8_t reg)
{
	union i2c_smbus_data data;
	struct i2c_smbus_ioctl_data args = {
		.read_write = I2C_SMBUS_READ,
		.command = reg,
		.size = I2C_SMBUS_BYTE_DATA,
		.data = &data,
	};

	return ioctl(fd, I2C_SMBUS, &args) < 0 ? -1 : data.byte;
}

int main(int argc, char **argv)
{
	static uint64_t lat[MAX_N];
	char path[32];
	long n;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: i2c_loop BUS ADDR N\n");
		return 2;
	}
	n = strtol(argv[3], NULL, 0);
	if (n < 1 || n > MAX_N)
		return 2;
	snprintf(path, sizeof(path), "/dev/i2c-%s", argv[1]);
	fd = open(path, O_RDWR);
	if (fd < 0 || ioctl(fd, I2C_SLAVE, strtol(argv[2], NULL, 0)) < 0) {
		perror(path);
		return 1;
	}
	uint64_t start = now_ns();
	for (long i = 0; i < n; i++) {
		uint64_t t = now_ns();

		if (read_byte_data(fd, (uint8_t)i) < 0) {
			perror("I2C_SMBUS read byte data");
			return 1;
		}
		lat[i] = now_ns() - t;
	}
	uint64_t total = now_ns() - start;

	qsort(lat, (size_t)n, sizeof(lat[0]), cmp_u64);
	printf("I2C-LOOP bus=%s n=%ld ns_total=%llu p50_ns=%llu p99_ns=%llu\n",
	       argv[1], n, (unsigned long long)total,
	       (unsigned long long)lat[n / 2],
	       (unsigned long long)lat[(n * 99) / 100]);
	close(fd);
	return 0;
}
