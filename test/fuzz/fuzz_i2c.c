// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the virtio-i2c model's request parsing and
 * FAIL_NEXT runs: the input is a hostile guest filling the request queue
 * and kicking when it likes, in front of simulated chips (a 24C02 at 0x50,
 * registers at 0x1c; 0x30 is allowed but absent, 0x20 and the rest are
 * off the allow-list). Steps of 6 bytes:
 *
 *   op % 8: 0-3 a request {addr, flags, length, layout} (layouts: the
 *               right one, most of the time, or a missing status, a cut
 *               header, data on the wrong side, a split buffer, extra
 *               segments, an indirect table)
 *           4-5 publish and kick
 *           6   queue stop and restart (an open run ends there)
 *           7   device reset and restart
 *
 * Checked beyond "no crash, no sanitizer report": the bus only ever sees
 * allowed addresses, at most I2C_BUS_MSGS_MAX messages and max_transfer
 * bytes per transaction (the whole run, not only its first message); every
 * used length is at most the buffer's writable size; nothing past a
 * writable buffer is written (guard bytes); a status byte is OK or ERR;
 * every mapping is undone once the queue is stopped.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_i2c.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_gmem.h"
#include "i2c.h"
#include "i2c_bus.h"
#include "log.h"
#include "ring_driver.h"
#include "virtio_dev.h"

#define RING  0x100000ull
#define DATA  0x200000ull
#define SLOTS 1024u
#define SLOT  0x200ull
#define GUARD 0x20u
#define QSIZE 64
#define MAXT  96
#define FILL  0x5a

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t allow[] = {0x50, 0x1c, 0x30};
static const uint8_t addrs[] = {0x50, 0x1c, 0x30, 0x20, 0x7f, 0x00};

/* The sim bus behind a bus that checks what the device hands it. */
struct check_bus {
	struct i2c_bus bus;
	struct i2c_bus *sim;
};

struct run {
	struct fake_gmem mem;
	struct ring_driver drv;
	struct check_bus cb;
	struct i2c_dev *dev;
	struct virtio_transport tp;
	uint64_t ring_features;
	unsigned next_slot;
	uint32_t wr_len[SLOTS]; /* writable bytes of the buffer in slot */
	uint8_t ok_form[SLOTS]; /* the request was well formed */
	int slot_of[QSIZE * 2]; /* buffer id -> slot */
};

static void check(int cond)
{
	if (!cond)
		abort();
}

static int check_xfer(struct i2c_bus *b, struct i2c_bus_msg *msgs, unsigned n)
{
	struct check_bus *c = (struct check_bus *)b;
	uint64_t total = 0;

	check(n >= 1 && n <= I2C_BUS_MSGS_MAX);
	for (unsigned i = 0; i < n; i++) {
		check(memchr(allow, msgs[i].addr, sizeof(allow)) != NULL);
		total += msgs[i].len;
	}
	check(total <= MAXT);
	return i2c_bus_xfer(c->sim, msgs, n);
}

static void check_destroy(struct i2c_bus *b)
{
	i2c_bus_destroy(((struct check_bus *)b)->sim);
}

static const struct i2c_bus_ops check_ops = {
	.kind = "check", .xfer = check_xfer, .destroy = check_destroy};

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
	return DATA + slot * SLOT + 0x100;
}

/* The used entries: lengths within the buffer, guards intact, status. */
static void drain(struct run *r)
{
	uint8_t guard[GUARD], status;
	uint16_t id;
	uint32_t len;

	while (ring_driver_get_used(&r->drv, &id, &len) == 1) {
		unsigned slot = (unsigned)r->slot_of[id];
		uint32_t wr = r->wr_len[slot];

		check(len <= wr);
		check(fake_gmem_read(&r->mem, wr_at(slot) + wr, guard, GUARD) ==
		      0);
		for (unsigned i = 0; i < GUARD; i++)
			check(guard[i] == FILL);
		/* A completed well-formed request always has its status. */
		if (r->ok_form[slot]) {
			check(fake_gmem_read(&r->mem, wr_at(slot) + wr - 1,
					     &status, 1) == 0);
			check(status == VIRTIO_I2C_MSG_OK ||
			      status == VIRTIO_I2C_MSG_ERR);
		}
	}
}

static void kick(struct run *r)
{
	ring_driver_publish(&r->drv);
	virtio_dev_kick(i2c_dev_virtio(r->dev), 0);
	drain(r);
}

/*
 * One request in slot: header at base, data at base + 0x40 (readable) or
 * at wr_at (writable, with the status byte after it).
 */
static void add(struct run *r, const uint8_t *p)
{
	unsigned slot = r->next_slot++ % SLOTS;
	uint64_t base = DATA + slot * SLOT;
	uint16_t addr = addrs[p[1] % sizeof(addrs)];
	uint32_t flags = (p[2] & 1 ? VIRTIO_I2C_FLAGS_FAIL_NEXT : 0) |
			 (p[2] & 2 ? VIRTIO_I2C_FLAGS_M_RD : 0) |
			 (p[2] >= 0xf0 ? 1u << (p[2] & 31) : 0);
	struct virtio_i2c_out_hdr h = {.addr = htole16((uint16_t)(addr << 1)),
				       .flags = htole32(flags)};
	uint32_t len = p[3] < 0xf0 ? p[3] % (MAXT / 2 + 4) : p[3] % 8 * 40;
	bool rd = flags & VIRTIO_I2C_FLAGS_M_RD;
	uint8_t fill[SLOT];
	struct ring_seg s[6];
	unsigned n = 0, layout = p[4] % 16;
	uint32_t wr = 0;
	int id;

	memset(fill, FILL, sizeof(fill));
	check(fake_gmem_write(&r->mem, base, fill, sizeof(fill)) == 0);
	check(fake_gmem_write(&r->mem, base, &h, sizeof(h)) == 0);
	if (p[5] & 0x80) /* now and then the 7-bit address unshifted */
		check(fake_gmem_write(&r->mem, base, &(uint16_t){htole16(addr)},
				      2) == 0);
	s[n++] = (struct ring_seg){base, layout == 8 ? p[5] % 16 : 16, false};
	if (layout == 9 && len)
		s[n++] = (struct ring_seg){base + 0x40, len, false}; /* wrong */
	if (len && layout != 9) {
		if (rd) {
			s[n++] = (struct ring_seg){wr_at(slot), len, true};
			wr += len;
		} else if (layout == 10 && len > 1) {
			s[n++] = (struct ring_seg){base + 0x40, len / 2, false};
			s[n++] = (struct ring_seg){base + 0x40 + len / 2,
						   len - len / 2, false};
		} else {
			s[n++] = (struct ring_seg){base + 0x40, len, false};
		}
	}
	if (layout != 11) { /* 11: no status byte */
		s[n++] = (struct ring_seg){wr_at(slot) + wr,
					   layout == 12 ? 2 + p[5] % 4 : 1,
					   true};
		wr += layout == 12 ? 2 + p[5] % 4 : 1;
	}
	if (layout == 13) {
		s[n++] = (struct ring_seg){wr_at(slot) + wr, 3, true};
		wr += 3;
	}
	if (wr > SLOT - 0x100 - GUARD)
		return;
	id = ring_driver_add(&r->drv, s, n,
			     layout == 14 &&
				     (r->ring_features &
				      (1ull << VIRTIO_RING_F_INDIRECT_DESC)));
	if (id < 0)
		return; /* ring full */
	r->wr_len[slot] = wr;
	r->ok_form[slot] = layout < 8 || layout == 10 || layout == 14;
	r->slot_of[id] = (int)slot;
}

static void restart(struct run *r)
{
	struct virtio_dev *vd = i2c_dev_virtio(r->dev);
	uint32_t base;

	if (virtio_dev_queue_is_started(vd, 0))
		check(virtio_dev_queue_stop(vd, 0, &base) == 0);
	drain(r);
	ring_driver_destroy(&r->drv);
	check(fake_gmem_live(&r->mem) == 0);
	check(ring_driver_init(
		      &r->drv, &r->mem,
		      &(struct ring_driver_cfg){.features = r->ring_features,
						.num = QSIZE,
						.ring = RING}) == 0);
	check(virtio_dev_queue_start(vd, 0, &r->drv.layout, r->drv.base) == 0);
}

static void set_features(struct run *r)
{
	check(virtio_dev_set_features(
		      i2c_dev_virtio(r->dev),
		      r->ring_features | (1ull << VIRTIO_F_VERSION_1) |
			      (1ull << VIRTIO_I2C_F_ZERO_LENGTH_REQUEST)) == 0);
}

static void step(struct run *r, const uint8_t *p)
{
	switch (p[0] % 8) {
	case 0:
	case 1:
	case 2:
	case 3:
		add(r, p);
		break;
	case 4:
	case 5:
		kick(r);
		break;
	case 6:
		restart(r);
		break;
	case 7:
		virtio_dev_reset(i2c_dev_virtio(r->dev));
		set_features(r);
		restart(r);
		break;
	}
}

static void setup(struct run *r, uint64_t ring_features)
{
	static const uint8_t regs[] = {1, 2, 3, 4};
	struct i2c_dev_params p = {.name = "fuzz/i2c0",
				   .bus = &r->cb.bus,
				   .addresses = allow,
				   .naddresses = sizeof(allow),
				   .max_transfer = MAXT};

	memset(r, 0, sizeof(*r));
	r->ring_features = ring_features;
	r->tp.ops = &tp_ops;
	r->cb.bus.ops = &check_ops;
	check(i2c_sim_create(&r->cb.sim) == 0);
	check(i2c_sim_add_chip(r->cb.sim, &(struct i2c_sim_chip_desc){
						  .kind = I2C_SIM_24C02,
						  .addr = 0x50}) == 0);
	check(i2c_sim_add_chip(r->cb.sim,
			       &(struct i2c_sim_chip_desc){.kind = I2C_SIM_REGS,
							   .addr = 0x1c,
							   .size = 16,
							   .init = regs,
							   .ninit = 4}) == 0);
	check(fake_gmem_init(&r->mem) == 0);
	r->mem.require_map = true;
	check(fake_gmem_add(&r->mem, RING, 0x100000, GMEM_READ | GMEM_WRITE) ==
	      0);
	check(fake_gmem_add(&r->mem, DATA, SLOTS * SLOT,
			    GMEM_READ | GMEM_WRITE) == 0);
	check(ring_driver_init(
		      &r->drv, &r->mem,
		      &(struct ring_driver_cfg){.features = ring_features,
						.num = QSIZE,
						.ring = RING}) == 0);
	check(i2c_dev_create(&r->dev, &p,
			     ring_features & (1ull << VIRTIO_F_RING_PACKED)) ==
	      0);
	virtio_dev_attach(i2c_dev_virtio(r->dev), &r->tp, &r->mem.gmem);
	set_features(r);
	check(virtio_dev_queue_start(i2c_dev_virtio(r->dev), 0, &r->drv.layout,
				     r->drv.base) == 0);
}

static void teardown(struct run *r)
{
	struct virtio_dev *vd = i2c_dev_virtio(r->dev);
	uint32_t base;

	if (virtio_dev_queue_is_started(vd, 0))
		check(virtio_dev_queue_stop(vd, 0, &base) == 0);
	drain(r);
	i2c_dev_destroy(r->dev);
	ring_driver_destroy(&r->drv);
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
