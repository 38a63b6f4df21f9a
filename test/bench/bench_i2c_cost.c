// SPDX-License-Identifier: MIT
/*
 * The i2c request path's cost in instructions: what test/bench/
 * bench_cost.py counts with callgrind. The device side sees guest memory
 * the way a vhost-user device does, through core/gmem_mmap (regions over
 * the driver's memory, no delegated region), and serves 3-descriptor
 * read requests (8-byte header, 1 data byte, status) from the simulated
 * register chip (16 registers), a batch per kick. Only the measured kicks count
 * (--toggle-collect=bench_i2c_cost_kick): the driver's own work is not the
 * device's cost.
 *
 *   bench_i2c_cost split|packed [batch [kicks]]  one measured run
 *   bench_i2c_cost                                 both rings, timed natively
 *
 * It prints numbers and asserts nothing about speed; heap allocations in
 * the measured window must be 0 and are printed.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_i2c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc_count.h"
#include "gmem_mmap.h"
#include "i2c.h"
#include "ring_driver.h"

#define RING  0x100000ull
#define DATA  0x200000ull
#define SIZE  0x100000ull
#define SLOT  0x40ull
#define QSIZE 256

struct cost {
	struct fake_gmem mem;  /* the driver's view, and the memory itself */
	struct gmem_mmap dmem; /* the device's view: vhost-user regions */
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

/* A region of the device's table over the driver's memory: as
 * gmem_mmap_region_map would describe an fd-backed one, without the fd. */
static int add_region(struct cost *c, uint64_t gpa)
{
	struct gmem_mmap_region r = {
		.gpa = gpa,
		.size = SIZE,
		.uva = gpa,
		.hva = fake_gmem_ptr(&c->mem, gpa, SIZE),
	};

	return r.hva ? gmem_mmap_insert(&c->dmem, &r) : -1;
}

static int setup(struct cost *c, uint64_t ring_features)
{
	static const uint8_t allow[] = {0x1c};
	struct i2c_sim_chip_desc chip = {
		.kind = I2C_SIM_REGS, .addr = 0x1c, .size = 16};
	struct i2c_dev_params p = {
		.name = "cost", .addresses = allow, .naddresses = 1};
	struct virtio_dev *vd;

	memset(c, 0, sizeof(*c));
	gmem_mmap_init(&c->dmem);
	if (fake_gmem_init(&c->mem) ||
	    fake_gmem_add(&c->mem, RING, SIZE, GMEM_READ | GMEM_WRITE) ||
	    fake_gmem_add(&c->mem, DATA, SIZE, GMEM_READ | GMEM_WRITE) ||
	    add_region(c, RING) || add_region(c, DATA) ||
	    ring_driver_init(
		    &c->drv, &c->mem,
		    &(struct ring_driver_cfg){.features = ring_features,
					      .num = QSIZE,
					      .ring = RING}) ||
	    i2c_sim_create(&p.bus) || i2c_sim_add_chip(p.bus, &chip) ||
	    i2c_dev_create(&c->dev, &p,
			   ring_features & (1ull << VIRTIO_F_RING_PACKED)))
		return -1;
	vd = i2c_dev_virtio(c->dev);
	/* Under callgrind a kick is slow: serve every request in one. */
	vd->kick_budget_ns = TEST_KICK_BUDGET_NS;
	c->tp.ops = &tp_ops;
	virtio_dev_attach(vd, &c->tp, &c->dmem.gmem);
	if (virtio_dev_set_features(vd, ring_features |
						(1ull << VIRTIO_F_VERSION_1)))
		return -1;
	return virtio_dev_queue_start(vd, 0, &c->drv.layout, c->drv.base);
}

static void teardown(struct cost *c)
{
	i2c_dev_destroy(c->dev);
	ring_driver_destroy(&c->drv);
	fake_gmem_destroy(&c->mem);
}

/* One read request: header, one byte read, status; slots in turn. */
static void add_read(struct cost *c)
{
	uint64_t base = DATA + (c->slot++ % 1024) * SLOT;
	struct virtio_i2c_out_hdr *h = fake_gmem_ptr(&c->mem, base, 8);
	struct ring_seg s[3] = {
		{base, 8, false}, {base + 16, 1, true}, {base + 32, 1, true}};

	h->addr = htole16(0x1c << 1);
	h->flags = htole32(VIRTIO_I2C_FLAGS_M_RD);
	if (ring_driver_add(&c->drv, s, 3, false) < 0)
		abort();
}

/* What callgrind counts (--toggle-collect=bench_i2c_cost_kick): the
 * measured kicks only, not the warm-up. */
__attribute__((noinline)) void bench_i2c_cost_kick(struct virtio_dev *vd);
__attribute__((noinline)) void bench_i2c_cost_kick(struct virtio_dev *vd)
{
	virtio_dev_kick(vd, 0);
}

/* batch requests, one kick, used entries read back. */
static void round_trip(struct cost *c, unsigned batch, bool measured)
{
	unsigned got = 0;
	uint16_t id;
	uint32_t len;

	for (unsigned i = 0; i < batch; i++)
		add_read(c);
	ring_driver_publish(&c->drv);
	if (measured)
		bench_i2c_cost_kick(i2c_dev_virtio(c->dev));
	else
		virtio_dev_kick(i2c_dev_virtio(c->dev), 0);
	while (ring_driver_get_used(&c->drv, &id, &len) == 1)
		got++;
	if (got != batch)
		abort();
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static uint64_t features_of(const char *ring)
{
	uint64_t f = 1ull << VIRTIO_RING_F_EVENT_IDX;

	return strcmp(ring, "packed") == 0 ? f | (1ull << VIRTIO_F_RING_PACKED)
					   : f;
}

/* Returns requests per second of the measured kicks. */
static double run(const char *ring, unsigned batch, unsigned kicks,
		  unsigned long *allocs)
{
	struct cost c;
	int64_t t0;
	double s;

	if (setup(&c, features_of(ring))) {
		fprintf(stderr, "bench_i2c_cost: setup failed\n");
		exit(1);
	}
	for (int i = 0; i < 100; i++)
		round_trip(&c, batch, false);
	*allocs = alloc_count_get();
	t0 = now_ns();
	for (unsigned i = 0; i < kicks; i++)
		round_trip(&c, batch, true);
	s = (double)(now_ns() - t0) / 1e9;
	*allocs = alloc_count_get() - *allocs;
	teardown(&c);
	return (double)batch * kicks / s;
}

int main(int argc, char **argv)
{
	unsigned long allocs;

	if (!alloc_count_is_active()) {
		fprintf(stderr, "bench_i2c_cost: the allocation counter is "
				"not linked in\n");
		return 1;
	}
	if (argc > 1) {
		unsigned batch = argc > 2 ? (unsigned)atoi(argv[2]) : 16;
		unsigned kicks = argc > 3 ? (unsigned)atoi(argv[3]) : 1000;
		double rate;

		if (batch == 0 || batch > 64 || kicks == 0)
			return 2;
		rate = run(argv[1], batch, kicks, &allocs);
		printf("COST ring=%s batch=%u requests=%u allocs=%lu "
		       "req_per_s=%.0f\n",
		       argv[1], batch, batch * kicks, allocs, rate);
		return 0;
	}
	printf("i2c read requests over gmem_mmap, one thread, queue %u "
	       "(instructions: bench_cost.py)\n",
	       QSIZE);
	printf("%-7s %6s %12s %9s\n", "ring", "batch", "req/s", "alloc/req");
	for (int f = 0; f < 2; f++)
		for (unsigned b = 1; b <= 64; b *= 4) {
			const char *ring = f ? "packed" : "split";
			unsigned kicks = 200000 / b;
			double rate = run(ring, b, kicks, &allocs);

			printf("%-7s %6u %12.0f %9.3f\n", ring, b, rate,
			       (double)allocs / ((double)b * kicks));
		}
	return 0;
}
