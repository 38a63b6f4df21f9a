// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the virtio-gpio model's request and event parsing:
 * the input is a hostile guest driving both queues, interleaved with host
 * edges on simulated lines. Steps of 6 bytes:
 *
 *   op % 8: 0-2 request {type, gpio, value} with request and response
 *               sizes taken from the input (often right, often not)
 *           3   eventq buffer {gpio} with sizes from the input
 *           4   drive a line from outside, then run the loop (edges)
 *           5   eventq stop and restart
 *           6   device reset and restart of both queues
 *           7   a request with a readable and a writable segment each cut
 *               in two
 *
 * Checked beyond "no crash, no sanitizer report": every used length is at
 * most the buffer's writable size, nothing past a response buffer is ever
 * written (each is followed by guard bytes), responses are 0/1 status
 * bytes, and every mapping is undone once the queues are stopped.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_gpio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_gmem.h"
#include "gpio.h"
#include "log.h"
#include "loop.h"
#include "ring_driver.h"

#define RING   0x100000ull
#define ERING  0x140000ull
#define DATA   0x200000ull
#define SLOTS  2048u
#define SLOT   0x200ull
#define GUARD  0x40u
#define NLINES 8
#define QSIZE  32
#define FILL   0x5a

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct fake_gmem mem;
	struct ring_driver rq, eq;
	struct gpio_lines *lines;
	struct gpio_dev *dev;
	struct loop *loop;
	struct virtio_transport tp;
	unsigned next_slot;
	uint32_t wr_len[SLOTS];	   /* writable bytes of the buffer in slot */
	int slot_of[2][QSIZE * 2]; /* buffer id -> slot, per queue */
};

static void check(int cond)
{
	if (!cond)
		abort();
}

static void tp_notify(struct virtio_transport *t, unsigned q)
{
	(void)t;
	(void)q;
}

static const struct virtio_transport_ops tp_ops = {.notify_queue = tp_notify,
						   .queue_error = tp_notify};

static void quiet(enum log_level level, const char *line)
{
	(void)level;
	(void)line;
}

static uint64_t wr_at(unsigned slot)
{
	return DATA + slot * SLOT + 0x40;
}

/* The used entries of drv: lengths within the buffer, guards intact. */
static void drain(struct run *r, unsigned q)
{
	struct ring_driver *drv = q ? &r->eq : &r->rq;
	uint8_t guard[GUARD], status;
	uint16_t id;
	uint32_t len;

	while (ring_driver_get_used(drv, &id, &len) == 1) {
		unsigned slot = (unsigned)r->slot_of[q][id];

		check(len <= r->wr_len[slot]);
		check(fake_gmem_read(&r->mem, wr_at(slot) + r->wr_len[slot],
				     guard, GUARD) == 0);
		for (unsigned i = 0; i < GUARD; i++)
			check(guard[i] == FILL);
		if (len) {
			check(fake_gmem_read(&r->mem, wr_at(slot), &status,
					     1) == 0);
			check(status <= 1);
		}
	}
}

static void kick(struct run *r, unsigned q)
{
	ring_driver_publish(q ? &r->eq : &r->rq);
	virtio_dev_kick(gpio_dev_virtio(r->dev), q);
	drain(r, 0);
	drain(r, 1);
}

/* Put a buffer of rd readable and wr writable bytes on queue q. */
static void add(struct run *r, unsigned q, const void *req, uint32_t rd,
		uint32_t wr, int cut)
{
	unsigned slot = r->next_slot++ % SLOTS;
	uint64_t base = DATA + slot * SLOT;
	uint8_t fill[0x180];
	struct ring_seg s[4];
	unsigned n = 0;
	int id;

	memset(fill, FILL, sizeof(fill));
	check(fake_gmem_write(&r->mem, base, fill, sizeof(fill)) == 0);
	check(fake_gmem_write(&r->mem, base, req, rd < 16 ? rd : 16) == 0);
	if (rd && cut && rd > 1) {
		s[n++] = (struct ring_seg){base, rd / 2, false};
		s[n++] = (struct ring_seg){base + rd / 2, rd - rd / 2, false};
	} else if (rd) {
		s[n++] = (struct ring_seg){base, rd, false};
	}
	if (wr && cut && wr > 1) {
		s[n++] = (struct ring_seg){wr_at(slot), wr / 2, true};
		s[n++] = (struct ring_seg){wr_at(slot) + wr / 2, wr - wr / 2,
					   true};
	} else if (wr) {
		s[n++] = (struct ring_seg){wr_at(slot), wr, true};
	}
	if (!n)
		return;
	id = ring_driver_add(q ? &r->eq : &r->rq, s, n, false);
	if (id < 0)
		return; /* ring full: eventq buffers are held */
	r->wr_len[slot] = wr;
	r->slot_of[q][id] = (int)slot;
	kick(r, q);
}

static void restart(struct run *r, unsigned q)
{
	struct virtio_dev *vd = gpio_dev_virtio(r->dev);
	struct ring_driver *drv = q ? &r->eq : &r->rq;
	uint32_t base;

	if (virtio_dev_queue_is_started(vd, q))
		check(virtio_dev_queue_stop(vd, q, &base) == 0);
	drain(r, q);
	/* A fresh ring: what a driver does after a reset. */
	ring_driver_destroy(drv);
	check(ring_driver_init(drv, &r->mem,
			       &(struct ring_driver_cfg){
				       .features = r->rq.features,
				       .num = QSIZE,
				       .ring = q ? ERING : RING}) == 0);
	check(virtio_dev_queue_start(vd, q, &drv->layout, drv->base) == 0);
}

static void step(struct run *r, const uint8_t *p)
{
	struct virtio_gpio_request req = {
		.type = htole16((uint16_t)(p[1] % 8)),
		.gpio = htole16((uint16_t)(p[2] % (NLINES + 2))),
		.value = htole32(p[3] < 0xf0 ? p[3] % 10 : 0xffffffffu),
	};
	uint32_t rd = p[4] % 4 ? 8 : p[4] % 12;
	uint32_t wr = p[5] % 4 ? 2 : p[5] % 48;
	uint16_t g = htole16((uint16_t)(p[2] % (NLINES + 2)));

	switch (p[0] % 8) {
	case 0:
	case 1:
	case 2:
		if (le16toh(req.type) == VIRTIO_GPIO_MSG_GET_NAMES && p[5] % 4)
			wr = 1 + 23; /* the right size, most of the time */
		add(r, 0, &req, rd, wr, 0);
		break;
	case 3:
		add(r, 1, &g, p[4] % 4 ? 2 : p[4] % 4, p[5] % 4 ? 1 : p[5] % 4,
		    0);
		break;
	case 4:
		gpio_sim_drive(r->lines, p[2] % NLINES, p[3] & 1);
		while (loop_run_once(r->loop, 0) > 0)
			;
		drain(r, 1);
		break;
	case 5:
		restart(r, 1);
		break;
	case 6:
		virtio_dev_reset(gpio_dev_virtio(r->dev));
		check(virtio_dev_set_features(
			      gpio_dev_virtio(r->dev),
			      r->rq.features | (1ull << VIRTIO_F_VERSION_1) |
				      (1ull << VIRTIO_GPIO_F_IRQ)) == 0);
		restart(r, 0);
		restart(r, 1);
		break;
	case 7:
		add(r, 0, &req, rd, wr, 1);
		break;
	}
}

static void setup(struct run *r, uint64_t ring_features)
{
	static const char *const names[NLINES] = {"A", "BB", NULL, "DDD",
						  "E", NULL, "G",  "HH"};
	struct gpio_sim_line_desc desc[NLINES] = {[5] = {GPIO_LINE_DIR_OUT, 1}};
	struct virtio_dev *vd;

	memset(r, 0, sizeof(*r));
	r->tp.ops = &tp_ops;
	check(fake_gmem_init(&r->mem) == 0);
	r->mem.require_map = true;
	check(fake_gmem_add(&r->mem, RING, 0x100000, GMEM_READ | GMEM_WRITE) ==
	      0);
	check(fake_gmem_add(&r->mem, DATA, SLOTS * SLOT,
			    GMEM_READ | GMEM_WRITE) == 0);
	check(ring_driver_init(
		      &r->rq, &r->mem,
		      &(struct ring_driver_cfg){.features = ring_features,
						.num = QSIZE,
						.ring = RING}) == 0);
	check(ring_driver_init(
		      &r->eq, &r->mem,
		      &(struct ring_driver_cfg){.features = ring_features,
						.num = QSIZE,
						.ring = ERING}) == 0);
	check(gpio_sim_create(&r->lines, NLINES, desc) == 0);
	check(gpio_dev_create(&r->dev,
			      &(struct gpio_dev_params){.lines = r->lines,
							.names = names},
			      ring_features & (1ull << VIRTIO_F_RING_PACKED)) ==
	      0);
	check(loop_create(&r->loop) == 0);
	vd = gpio_dev_virtio(r->dev);
	vd->loop = r->loop;
	virtio_dev_attach(vd, &r->tp, &r->mem.gmem);
	check(virtio_dev_set_features(
		      vd, ring_features | (1ull << VIRTIO_F_VERSION_1) |
				  (1ull << VIRTIO_GPIO_F_IRQ)) == 0);
	check(virtio_dev_queue_start(vd, 0, &r->rq.layout, r->rq.base) == 0);
	check(virtio_dev_queue_start(vd, 1, &r->eq.layout, r->eq.base) == 0);
}

static void teardown(struct run *r)
{
	struct virtio_dev *vd = gpio_dev_virtio(r->dev);
	uint32_t base;

	for (unsigned q = 0; q < 2; q++)
		if (virtio_dev_queue_is_started(vd, q))
			check(virtio_dev_queue_stop(vd, q, &base) == 0);
	drain(r, 0);
	drain(r, 1);
	gpio_dev_destroy(r->dev);
	loop_destroy(r->loop);
	ring_driver_destroy(&r->rq);
	ring_driver_destroy(&r->eq);
	check(fake_gmem_live(&r->mem) == 0);
	check(r->mem.bad_unmaps == 0);
	fake_gmem_destroy(&r->mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	uint64_t f;

	if (size < 1)
		return 0;
	log_set_hook(quiet);
	f = 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (data[0] & 1)
		f |= 1ull << VIRTIO_F_RING_PACKED;
	if (data[0] & 2)
		f |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	setup(&r, f);
	for (size_t i = 1; i + 6 <= size && i < 1 + 6 * 400; i += 6)
		step(&r, data + i);
	teardown(&r);
	return 0;
}
