// SPDX-License-Identifier: MIT
/*
 * virtio-i2c benchmark: request -> simulated chip -> used entry, in one
 * process. The driver side of a real ring (test/support/ring_driver) builds
 * the requests the Linux virtio_i2c driver would send, the device side is
 * the i2c model (devices/i2c.c) behind virtio_dev_kick, its bus the
 * simulated 24C02 (devices/i2c_sim.c). One thread plays both sides, so the
 * numbers are the cost of the ring layer plus the model, without any
 * notification syscalls.
 *
 * Shapes: an SMBus byte write (one request), a byte-data read (write of the
 * pointer + read, FAIL_NEXT-linked: one transaction of two requests), a
 * 16-byte sequential read, and 16 independent byte reads per kick. For each
 * shape and ring format it prints transactions/s, requests/s, p50/p99
 * latency of one kick (publish -> used entries read back) and heap
 * allocations per request in the timed window (which must be 0; counted by
 * test/support/alloc_count). "x split" is a packed row's throughput over the
 * split row of the same shape, measured in the same run.
 *
 * It prints numbers and asserts nothing about speed.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_i2c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc_count.h"
#include "i2c.h"
#include "ring_driver.h"

#define RING	    0x100000ull
#define DATA	    0x200000ull
#define SLOT	    0x100ull
#define QSIZE	    256
#define RUN_NS	    300000000ll
#define SAMPLES_MAX 400000

/* ---- the two sides ---- */

struct shape {
	const char *name;
	unsigned txns; /* transactions per kick */
	unsigned wlen; /* bytes written first (0: none) */
	unsigned rlen; /* bytes read after (0: none) */
};

static const struct shape shapes[] = {
	{"byte write (1 req)", 1, 2, 0},
	{"byte-data read (2 req)", 1, 1, 1},
	{"16-byte read (2 req)", 1, 1, 16},
	{"16 x byte read per kick", 16, 1, 1},
};

struct bench {
	struct fake_gmem mem;
	struct ring_driver drv;
	struct i2c_dev *dev;
	struct virtio_transport tp;
	unsigned slot;
};

static void tp_notify(struct virtio_transport *t, unsigned q)
{
	(void)t;
	(void)q;
}

static const struct virtio_transport_ops tp_ops = {.notify_queue = tp_notify};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int setup(struct bench *b, uint64_t ring_features)
{
	static const uint8_t allow[] = {0x50};
	struct i2c_sim_chip_desc chip = {.kind = I2C_SIM_24C02, .addr = 0x50};
	struct i2c_dev_params p = {
		.name = "bench", .addresses = allow, .naddresses = 1};
	struct virtio_dev *vd;

	memset(b, 0, sizeof(*b));
	if (fake_gmem_init(&b->mem) ||
	    fake_gmem_add(&b->mem, RING, 0x100000, GMEM_READ | GMEM_WRITE) ||
	    fake_gmem_add(&b->mem, DATA, 0x100000, GMEM_READ | GMEM_WRITE) ||
	    ring_driver_init(
		    &b->drv, &b->mem,
		    &(struct ring_driver_cfg){.features = ring_features,
					      .num = QSIZE,
					      .ring = RING}) ||
	    i2c_sim_create(&p.bus) || i2c_sim_add_chip(p.bus, &chip) ||
	    i2c_dev_create(&b->dev, &p,
			   ring_features & (1ull << VIRTIO_F_RING_PACKED)))
		return -1;
	vd = i2c_dev_virtio(b->dev);
	b->tp.ops = &tp_ops;
	virtio_dev_attach(vd, &b->tp, &b->mem.gmem);
	if (virtio_dev_set_features(vd, ring_features |
						(1ull << VIRTIO_F_VERSION_1)))
		return -1;
	return virtio_dev_queue_start(vd, 0, &b->drv.layout, b->drv.base);
}

static void teardown(struct bench *b)
{
	i2c_dev_destroy(b->dev);
	ring_driver_destroy(&b->drv);
	fake_gmem_destroy(&b->mem);
}

/* One request: header, optional buffer, status, in its own slot. */
static void add_req(struct bench *b, bool rd, unsigned len, bool fail_next)
{
	uint64_t base = DATA + (b->slot++ % 1024) * SLOT;
	struct virtio_i2c_out_hdr *h = fake_gmem_ptr(&b->mem, base, 8);
	struct ring_seg s[3] = {{base, 8, false}};
	unsigned n = 1;

	h->addr = htole16(0x50 << 1);
	h->flags = htole32((rd ? VIRTIO_I2C_FLAGS_M_RD : 0) |
			   (fail_next ? VIRTIO_I2C_FLAGS_FAIL_NEXT : 0));
	if (len)
		s[n++] = (struct ring_seg){base + 16, len, rd};
	s[n++] = (struct ring_seg){base + SLOT - 1, 1, true};
	if (ring_driver_add(&b->drv, s, n, false) < 0)
		abort();
}

/* One kick's worth of transactions, round trip; returns requests done. */
static unsigned round_trip(struct bench *b, const struct shape *sh)
{
	unsigned reqs = 0, got = 0;
	uint16_t id;
	uint32_t len;

	for (unsigned t = 0; t < sh->txns; t++) {
		if (sh->wlen) {
			add_req(b, false, sh->wlen, sh->rlen != 0);
			reqs++;
		}
		if (sh->rlen) {
			add_req(b, true, sh->rlen, false);
			reqs++;
		}
	}
	ring_driver_publish(&b->drv);
	virtio_dev_kick(i2c_dev_virtio(b->dev), 0);
	while (ring_driver_get_used(&b->drv, &id, &len) == 1)
		got++;
	if (got != reqs)
		abort();
	return reqs;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t samples[SAMPLES_MAX];

/* One row; returns its transactions per second (0 if it could not run). */
static double run_case(const char *ring, uint64_t features,
		       const struct shape *sh)
{
	struct bench b;
	unsigned n = 0;
	unsigned long reqs = 0, allocs;
	int64_t start, end;

	if (setup(&b, features)) {
		printf("%-7s %-26s setup failed", ring, sh->name);
		return 0;
	}
	for (int i = 0; i < 1000; i++)
		round_trip(&b, sh);
	allocs = alloc_count_get();
	start = now_ns();
	end = start;
	while (end - start < RUN_NS && n < SAMPLES_MAX) {
		int64_t t0 = end;

		reqs += round_trip(&b, sh);
		end = now_ns();
		samples[n++] = (uint32_t)(end - t0);
	}
	allocs = alloc_count_get() - allocs;
	qsort(samples, n, sizeof(samples[0]), cmp_u32);
	double txns = n * sh->txns * 1e9 / (double)(end - start);

	printf("%-7s %-26s %12.0f %12.0f %9u %9u %9.3f", ring, sh->name, txns,
	       reqs * 1e9 / (double)(end - start), samples[n / 2],
	       samples[(unsigned)(n * 0.99)], (double)allocs / (double)reqs);
	teardown(&b);
	return txns;
}

int main(void)
{
	if (!alloc_count_is_active()) {
		fprintf(stderr, "bench_i2c: the allocation counter is not "
				"linked in (test/support/alloc_count.c)\n");
		return 1;
	}
	printf("virtio-i2c: request -> simulated 24C02 -> used, one thread, "
	       "queue %u, %.1f s per case\n",
	       QSIZE, RUN_NS / 1e9);
	printf("%-7s %-26s %12s %12s %9s %9s %9s %8s\n", "ring", "shape",
	       "txn/s", "req/s", "p50 ns", "p99 ns", "alloc/req", "x split");
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		/* The split row is the baseline of the packed row below it. */
		double split = run_case(
			"split", 1ull << VIRTIO_RING_F_EVENT_IDX, &shapes[i]);

		printf(" %8.2f\n", split > 0 ? 1.0 : 0);
		double packed =
			run_case("packed",
				 (1ull << VIRTIO_F_RING_PACKED) |
					 (1ull << VIRTIO_RING_F_EVENT_IDX),
				 &shapes[i]);

		printf(" %8.2f\n", split > 0 ? packed / split : 0);
	}
	printf("latency = one kick: publish, model, flush, used entries read "
	       "back\n");
	return 0;
}
