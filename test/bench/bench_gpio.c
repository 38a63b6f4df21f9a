// SPDX-License-Identifier: MIT
/*
 * virtio-gpio benchmark, in one process: the driver side of real rings
 * (test/support/ring_driver) sends what the Linux gpio-virtio driver
 * sends, the device side is the gpio model (devices/gpio.c) behind
 * virtio_dev_kick, its lines simulated (devices/gpio_sim.c).
 *
 * Rows: GET_VALUE and SET_VALUE round trips (one request per kick, and 16
 * per kick), and edge-to-event: a simulated input line is driven
 * (gpio_sim_drive: its eventfd is written), the device's loop wakes on the
 * line's event fd (epoll_wait), reads the edge and returns the held eventq
 * buffer VALID, and the driver side reads the used entry and queues the
 * buffer again. For each row: operations/s, p50/p99 latency of one
 * operation, and heap allocations per operation in the timed window (which
 * must be 0; test/support/alloc_count).
 *
 * It prints numbers and asserts nothing about speed.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_gpio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc_count.h"
#include "gpio.h"
#include "loop.h"
#include "ring_driver.h"

#define RING	    0x100000ull
#define ERING	    0x140000ull
#define DATA	    0x200000ull
#define SLOT	    0x80ull
#define QSIZE	    256
#define RUN_NS	    300000000ll
#define SAMPLES_MAX 400000

struct bench {
	struct fake_gmem mem;
	struct ring_driver rq, eq;
	struct gpio_lines *lines;
	struct gpio_dev *dev;
	struct loop *loop;
	struct virtio_transport tp;
	unsigned slot;
	int level;
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

static int setup(struct bench *b, uint64_t rf)
{
	struct gpio_sim_line_desc desc[8] = {[1] = {GPIO_LINE_DIR_OUT, 0}};
	struct virtio_dev *vd;

	memset(b, 0, sizeof(*b));
	b->tp.ops = &tp_ops;
	if (fake_gmem_init(&b->mem) ||
	    fake_gmem_add(&b->mem, RING, 0x100000, GMEM_READ | GMEM_WRITE) ||
	    fake_gmem_add(&b->mem, DATA, 0x100000, GMEM_READ | GMEM_WRITE) ||
	    ring_driver_init(&b->rq, &b->mem,
			     &(struct ring_driver_cfg){.features = rf,
						       .num = QSIZE,
						       .ring = RING}) ||
	    ring_driver_init(&b->eq, &b->mem,
			     &(struct ring_driver_cfg){.features = rf,
						       .num = QSIZE,
						       .ring = ERING}) ||
	    gpio_sim_create(&b->lines, 8, desc) ||
	    gpio_dev_create(&b->dev,
			    &(struct gpio_dev_params){.name = "bench",
						      .lines = b->lines},
			    rf & (1ull << VIRTIO_F_RING_PACKED)) ||
	    loop_create(&b->loop))
		return -1;
	vd = gpio_dev_virtio(b->dev);
	vd->loop = b->loop;
	virtio_dev_attach(vd, &b->tp, &b->mem.gmem);
	if (virtio_dev_set_features(vd, rf | (1ull << VIRTIO_F_VERSION_1) |
						(1ull << VIRTIO_GPIO_F_IRQ)) ||
	    virtio_dev_queue_start(vd, 0, &b->rq.layout, b->rq.base) ||
	    virtio_dev_queue_start(vd, 1, &b->eq.layout, b->eq.base))
		return -1;
	return 0;
}

static void teardown(struct bench *b)
{
	uint32_t base;

	virtio_dev_queue_stop(gpio_dev_virtio(b->dev), 0, &base);
	virtio_dev_queue_stop(gpio_dev_virtio(b->dev), 1, &base);
	gpio_dev_destroy(b->dev);
	loop_destroy(b->loop);
	ring_driver_destroy(&b->rq);
	ring_driver_destroy(&b->eq);
	fake_gmem_destroy(&b->mem);
}

static void add(struct bench *b, struct ring_driver *drv, const void *req,
		uint32_t rd, uint32_t wr)
{
	uint64_t base = DATA + (b->slot++ % 4096) * SLOT;
	struct ring_seg s[2] = {{base, rd, false}, {base + 0x40, wr, true}};

	memcpy(fake_gmem_ptr(&b->mem, base, rd), req, rd);
	if (ring_driver_add(drv, s, 2, false) < 0)
		abort();
}

static void add_req(struct bench *b, uint16_t type, uint16_t gpio,
		    uint32_t value)
{
	struct virtio_gpio_request r = {htole16(type), htole16(gpio),
					htole32(value)};

	add(b, &b->rq, &r, sizeof(r), 2);
}

static void add_irq(struct bench *b, uint16_t gpio)
{
	uint16_t g = htole16(gpio);

	add(b, &b->eq, &g, 2, 1);
	ring_driver_publish(&b->eq);
	virtio_dev_kick(gpio_dev_virtio(b->dev), 1);
}

/* n requests of one type in one kick; returns n. */
static unsigned requests(struct bench *b, uint16_t type, unsigned n)
{
	unsigned got = 0;
	uint16_t id;
	uint32_t len;

	for (unsigned i = 0; i < n; i++)
		add_req(b, type, type == VIRTIO_GPIO_MSG_SET_VALUE ? 1 : 0,
			type == VIRTIO_GPIO_MSG_SET_VALUE ? (b->slot & 1) : 0);
	ring_driver_publish(&b->rq);
	virtio_dev_kick(gpio_dev_virtio(b->dev), 0);
	while (ring_driver_get_used(&b->rq, &id, &len) == 1)
		got += len == 2;
	if (got != n)
		abort();
	return n;
}

/* Edge in, VALID out, buffer queued again; returns 1. */
static unsigned edge(struct bench *b)
{
	uint16_t id;
	uint32_t len;

	b->level ^= 1;
	gpio_sim_drive(b->lines, 0, b->level);
	while (ring_driver_get_used(&b->eq, &id, &len) != 1)
		loop_run_once(b->loop, 100);
	add_irq(b, 0);
	return 1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t samples[SAMPLES_MAX];

enum row { GET1, SET1, GET16, EDGE };

static const char *const row_name[] = {
	"GET_VALUE, 1 per kick",
	"SET_VALUE, 1 per kick",
	"GET_VALUE, 16 per kick",
	"edge -> eventq VALID",
};

static unsigned op(struct bench *b, enum row r)
{
	switch (r) {
	case GET1:
		return requests(b, VIRTIO_GPIO_MSG_GET_VALUE, 1);
	case SET1:
		return requests(b, VIRTIO_GPIO_MSG_SET_VALUE, 1);
	case GET16:
		return requests(b, VIRTIO_GPIO_MSG_GET_VALUE, 16);
	case EDGE:
		return edge(b);
	}
	return 0;
}

static void run_case(const char *ring, uint64_t rf, enum row r)
{
	struct bench b;
	unsigned n = 0;
	unsigned long ops = 0, allocs;
	int64_t start, end;

	if (setup(&b, rf)) {
		printf("%-7s %-24s setup failed\n", ring, row_name[r]);
		return;
	}
	if (r == EDGE) {
		add_req(&b, VIRTIO_GPIO_MSG_IRQ_TYPE, 0,
			VIRTIO_GPIO_IRQ_TYPE_EDGE_BOTH);
		ring_driver_publish(&b.rq);
		virtio_dev_kick(gpio_dev_virtio(b.dev), 0);
		add_irq(&b, 0);
	}
	for (int i = 0; i < 1000; i++)
		op(&b, r);
	allocs = alloc_count_get();
	start = now_ns();
	end = start;
	while (end - start < RUN_NS && n < SAMPLES_MAX) {
		int64_t t0 = end;

		ops += op(&b, r);
		end = now_ns();
		samples[n++] = (uint32_t)(end - t0);
	}
	allocs = alloc_count_get() - allocs;
	qsort(samples, n, sizeof(samples[0]), cmp_u32);
	printf("%-7s %-24s %12.0f %9u %9u %9.3f\n", ring, row_name[r],
	       ops * 1e9 / (double)(end - start), samples[n / 2],
	       samples[(unsigned)(n * 0.99)], (double)allocs / (double)ops);
	teardown(&b);
}

int main(void)
{
	if (!alloc_count_is_active()) {
		fprintf(stderr, "bench_gpio: the allocation counter is not "
				"linked in (test/support/alloc_count.c)\n");
		return 1;
	}
	printf("virtio-gpio: requests and edges through the model, simulated "
	       "lines, one thread, queue %u, %.1f s per case\n",
	       QSIZE, RUN_NS / 1e9);
	printf("%-7s %-24s %12s %9s %9s %9s\n", "ring", "operation", "ops/s",
	       "p50 ns", "p99 ns", "alloc/op");
	for (enum row r = GET1; r <= EDGE; r++) {
		run_case("split", 1ull << VIRTIO_RING_F_EVENT_IDX, r);
		run_case("packed",
			 (1ull << VIRTIO_F_RING_PACKED) |
				 (1ull << VIRTIO_RING_F_EVENT_IDX),
			 r);
	}
	printf("latency = one operation: a kick with its requests and the "
	       "used entries read back; for edges, gpio_sim_drive to the "
	       "VALID entry read back (eventfd, epoll_wait, read)\n");
	return 0;
}
