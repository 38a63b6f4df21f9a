// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/i2c.c: requests built by the driver side of a
 * real ring (test/support/ring_driver), served through virtio_dev_kick,
 * against a fake host bus that records every transaction. Every test runs
 * on a split and on a packed ring.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_i2c.h>
#include <linux/virtio_ids.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "i2c.h"
#include "log.h"
#include "ring_driver.h"

#define RING  0x100000ull
#define DATA  0x200000ull
#define SLOT  0x1000ull /* guest memory per request */
#define QSIZE 256
#define MAXT  64 /* max_transfer of the device under test */
#define OK    VIRTIO_I2C_MSG_OK
#define ERR   VIRTIO_I2C_MSG_ERR
#define FN    VIRTIO_I2C_FLAGS_FAIL_NEXT
#define RD    VIRTIO_I2C_FLAGS_M_RD

/* ---- a host bus that records what it is asked ---- */

struct fake_bus {
	struct i2c_bus bus;
	int result; /* what xfer returns */
	unsigned calls;
	unsigned n; /* messages of the last transaction */
	struct i2c_bus_msg msg[I2C_BUS_MSGS_MAX];
	uint8_t wdata[I2C_BUS_MSGS_MAX][MAXT];
	unsigned destroyed;
};

static int fake_xfer(struct i2c_bus *b, struct i2c_bus_msg *msgs, unsigned n)
{
	struct fake_bus *f = container_of(b, struct fake_bus, bus);

	f->calls++;
	f->n = n;
	for (unsigned i = 0; i < n; i++) {
		f->msg[i] = msgs[i];
		if (msgs[i].flags & I2C_BUS_M_RD) {
			for (uint32_t j = 0; j < msgs[i].len; j++)
				msgs[i].buf[j] = (uint8_t)(0xa0 + i * 16 + j);
		} else {
			memcpy(f->wdata[i], msgs[i].buf, msgs[i].len);
		}
	}
	return f->result;
}

static void fake_destroy(struct i2c_bus *b)
{
	container_of(b, struct fake_bus, bus)->destroyed++;
}

static const struct i2c_bus_ops fake_ops = {
	.kind = "fake", .xfer = fake_xfer, .destroy = fake_destroy};

/* ---- the device on a ring ---- */

struct tp {
	struct virtio_transport t;
	unsigned notified, errors;
};

static void tp_notify(struct virtio_transport *t, unsigned q)
{
	(void)q;
	container_of(t, struct tp, t)->notified++;
}

static void tp_error(struct virtio_transport *t, unsigned q)
{
	(void)q;
	container_of(t, struct tp, t)->errors++;
}

static const struct virtio_transport_ops tp_ops = {.notify_queue = tp_notify,
						   .queue_error = tp_error};

struct env {
	uint64_t ring_features;
	struct fake_gmem mem;
	struct ring_driver drv;
	struct fake_bus bus;
	struct i2c_dev *dev;
	struct tp tp;
	unsigned nslots; /* requests built since the last kick */
};

static const uint8_t allow[] = {0x50, 0x1c, 0x30};

static int env_setup(void **state)
{
	struct env *e = *state;
	struct virtio_dev *vd;
	struct i2c_dev_params p = {
		.name = "test/i2c0",
		.bus = &e->bus.bus,
		.addresses = allow,
		.naddresses = sizeof(allow),
		.max_transfer = MAXT,
	};
	uint64_t extra = e->ring_features & (1ull << VIRTIO_F_RING_PACKED);

	memset(&e->bus, 0, sizeof(e->bus));
	e->bus.bus.ops = &fake_ops;
	e->tp = (struct tp){.t.ops = &tp_ops};
	e->nslots = 0;
	assert_int_equal(fake_gmem_init(&e->mem), 0);
	assert_int_equal(
		fake_gmem_add(&e->mem, RING, 0x100000, GMEM_READ | GMEM_WRITE),
		0);
	assert_int_equal(
		fake_gmem_add(&e->mem, DATA, 0x100000, GMEM_READ | GMEM_WRITE),
		0);
	assert_int_equal(ring_driver_init(&e->drv, &e->mem,
					  &(struct ring_driver_cfg){
						  .features = e->ring_features,
						  .num = QSIZE,
						  .ring = RING,
					  }),
			 0);
	assert_int_equal(i2c_dev_create(&e->dev, &p, extra), 0);
	vd = i2c_dev_virtio(e->dev);
	vd->kick_budget_ns = TEST_KICK_BUDGET_NS;
	virtio_dev_attach(vd, &e->tp.t, &e->mem.gmem);
	assert_int_equal(
		virtio_dev_set_features(
			vd, e->ring_features | (1ull << VIRTIO_F_VERSION_1) |
				    (1ull << VIRTIO_I2C_F_ZERO_LENGTH_REQUEST)),
		0);
	assert_int_equal(
		virtio_dev_queue_start(vd, 0, &e->drv.layout, e->drv.base), 0);
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	i2c_dev_destroy(e->dev);
	assert_int_equal(e->bus.destroyed, 1);
	ring_driver_destroy(&e->drv);
	fake_gmem_destroy(&e->mem);
	return 0;
}

/* Guest addresses of request slot i: header, buffer, status. */
static uint64_t hdr_at(unsigned i)
{
	return DATA + i * SLOT;
}
static uint64_t buf_at(unsigned i)
{
	return DATA + i * SLOT + 0x10;
}
static uint64_t status_at(unsigned i)
{
	return DATA + i * SLOT + SLOT - 1;
}

static void put_hdr(struct env *e, unsigned slot, uint16_t addr, uint32_t flags)
{
	struct virtio_i2c_out_hdr h = {.addr = htole16(addr),
				       .flags = htole32(flags)};

	assert_int_equal(fake_gmem_write(&e->mem, hdr_at(slot), &h, sizeof(h)),
			 0);
	/* A status the device must overwrite. */
	assert_int_equal(fake_gmem_write(&e->mem, status_at(slot), "\x7f", 1),
			 0);
}

/* Add hand-made segments; returns the buffer id. */
static int add_segs(struct env *e, const struct ring_seg *s, unsigned n)
{
	int id = ring_driver_add(&e->drv, s, n, false);

	assert_true(id >= 0);
	return id;
}

/* A write of len bytes to 7-bit addr (as Linux sends it), in its own slot. */
static int add_write(struct env *e, uint8_t addr, const void *data,
		     uint32_t len, uint32_t flags)
{
	unsigned slot = e->nslots++;
	struct ring_seg s[3] = {{hdr_at(slot), 8, false}};
	unsigned n = 1;

	put_hdr(e, slot, (uint16_t)(addr << 1), flags);
	if (len) {
		assert_int_equal(
			fake_gmem_write(&e->mem, buf_at(slot), data, len), 0);
		s[n++] = (struct ring_seg){buf_at(slot), len, false};
	}
	s[n++] = (struct ring_seg){status_at(slot), 1, true};
	return add_segs(e, s, n);
}

static int add_read(struct env *e, uint8_t addr, uint32_t len, uint32_t flags)
{
	unsigned slot = e->nslots++;
	struct ring_seg s[3] = {{hdr_at(slot), 8, false}};
	unsigned n = 1;

	put_hdr(e, slot, (uint16_t)(addr << 1), flags | RD);
	if (len)
		s[n++] = (struct ring_seg){buf_at(slot), len, true};
	s[n++] = (struct ring_seg){status_at(slot), 1, true};
	return add_segs(e, s, n);
}

static void kick(struct env *e)
{
	ring_driver_publish(&e->drv);
	virtio_dev_kick(i2c_dev_virtio(e->dev), 0);
}

/* Expect the next used entry to be id with len bytes written. */
static void expect_used(struct env *e, int id, uint32_t len)
{
	uint16_t uid;
	uint32_t ulen;

	assert_int_equal(ring_driver_get_used(&e->drv, &uid, &ulen), 1);
	assert_int_equal(uid, id);
	assert_int_equal(ulen, len);
}

static void expect_no_more_used(struct env *e)
{
	uint16_t uid;
	uint32_t ulen;

	assert_int_equal(ring_driver_get_used(&e->drv, &uid, &ulen), 0);
}

static uint8_t status_of(struct env *e, unsigned slot)
{
	uint8_t s;

	assert_int_equal(fake_gmem_read(&e->mem, status_at(slot), &s, 1), 0);
	return s;
}

static struct i2c_dev_stats stats(struct env *e)
{
	struct i2c_dev_stats s;

	i2c_dev_get_stats(e->dev, &s);
	return s;
}

/* ---- tests ---- */

static void test_ops_and_features(void **state)
{
	struct env *e = *state;
	uint64_t f = virtio_dev_features(i2c_dev_virtio(e->dev));

	assert_int_equal(i2c_dev_ops.device_id, VIRTIO_ID_I2C_ADAPTER);
	assert_int_equal(i2c_dev_ops.num_queues, 1);
	assert_int_equal(i2c_dev_ops.config_size, 0);
	assert_true(f & (1ull << VIRTIO_I2C_F_ZERO_LENGTH_REQUEST));
	assert_true(f & (1ull << VIRTIO_F_VERSION_1));
	assert_int_equal(!!(f & (1ull << VIRTIO_F_RING_PACKED)),
			 !!(e->ring_features & (1ull << VIRTIO_F_RING_PACKED)));
}

static void test_write_one_message(void **state)
{
	struct env *e = *state;
	int id = add_write(e, 0x50, "\x10\xab\xcd", 3, 0);

	kick(e);
	expect_used(e, id, 1);
	expect_no_more_used(e);
	assert_int_equal(status_of(e, 0), OK);
	assert_int_equal(e->bus.calls, 1);
	assert_int_equal(e->bus.n, 1);
	assert_int_equal(e->bus.msg[0].addr, 0x50);
	assert_int_equal(e->bus.msg[0].flags, 0);
	assert_int_equal(e->bus.msg[0].len, 3);
	assert_memory_equal(e->bus.wdata[0], "\x10\xab\xcd", 3);
	assert_int_equal(e->tp.notified, 1);
}

static void test_fail_next_run_is_one_transaction(void **state)
{
	struct env *e = *state;
	uint8_t got[4];
	int w = add_write(e, 0x50, "\x20", 1, FN);
	int r = add_read(e, 0x50, 4, 0);

	kick(e);
	expect_used(e, w, 1);
	expect_used(e, r, 5);
	assert_int_equal(e->bus.calls, 1);
	assert_int_equal(e->bus.n, 2);
	assert_int_equal(e->bus.msg[1].flags, I2C_BUS_M_RD);
	assert_int_equal(e->bus.msg[1].len, 4);
	assert_int_equal(status_of(e, 0), OK);
	assert_int_equal(status_of(e, 1), OK);
	assert_int_equal(fake_gmem_read(&e->mem, buf_at(1), got, 4), 0);
	assert_memory_equal(got, "\xb0\xb1\xb2\xb3", 4);
	assert_int_equal(stats(e).transactions, 1);
	assert_int_equal(stats(e).requests, 2);
}

static void test_failed_run_fails_every_request(void **state)
{
	struct env *e = *state;

	e->bus.result = -ENXIO;
	add_write(e, 0x50, "\x20", 1, FN);
	add_read(e, 0x50, 2, FN);
	add_read(e, 0x1c, 1, 0);
	kick(e);
	assert_int_equal(e->bus.calls, 1);
	assert_int_equal(e->bus.n, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(status_of(e, i), ERR);
	assert_int_equal(stats(e).bus_errors, 1);
}

static void test_asks_for_the_next_kick(void **state)
{
	struct env *e = *state;

	/* Once served, the device must want to hear about new requests:
	 * with EVENT_IDX a stale avail_event silences the driver for good. */
	for (unsigned i = 0; i < 3; i++) {
		add_write(e, 0x50, "\x00", 1, 0);
		assert_int_equal(ring_driver_publish(&e->drv), 1);
		virtio_dev_kick(i2c_dev_virtio(e->dev), 0);
		assert_int_equal(status_of(e, i), OK);
	}
	assert_int_equal(e->bus.calls, 3);
}

static void test_separate_transactions(void **state)
{
	struct env *e = *state;

	/* Without FAIL_NEXT each request stands alone. */
	add_write(e, 0x50, "\x01", 1, 0);
	add_write(e, 0x1c, "\x02", 1, 0);
	kick(e);
	assert_int_equal(e->bus.calls, 2);
	assert_int_equal(e->bus.n, 1);
	assert_int_equal(e->bus.msg[0].addr, 0x1c);
	assert_int_equal(stats(e).transactions, 2);
	/* One flush, one notification for the whole kick. */
	assert_int_equal(e->tp.notified, 1);
}

/*
 * Peer bug class: a first-message-only allow-list (a back-end that checks
 * the address of a transaction's first message and lets the FAIL_NEXT-
 * chained rest through to any address). Guaranteed instead: every message
 * of a run is checked; one denied address fails the whole run before
 * anything reaches the bus, and the next transaction is served as usual.
 */
static void test_allow_list_checks_every_message(void **state)
{
	struct env *e = *state;
	int a, b, c;

	/* First message allowed, second not: nothing reaches the bus. */
	a = add_write(e, 0x50, "\x00\xaa", 2, FN);
	b = add_read(e, 0x20, 1, 0);
	/* The next transaction is unaffected. */
	c = add_write(e, 0x1c, "\x05", 1, 0);
	kick(e);
	expect_used(e, a, 1);
	expect_used(e, b, 2);
	expect_used(e, c, 1);
	assert_int_equal(status_of(e, 0), ERR);
	assert_int_equal(status_of(e, 1), ERR);
	assert_int_equal(status_of(e, 2), OK);
	assert_int_equal(e->bus.calls, 1);
	assert_int_equal(e->bus.msg[0].addr, 0x1c);
	assert_int_equal(stats(e).refused, 1);
}

static void test_allow_list_refuses_first_message(void **state)
{
	struct env *e = *state;

	add_write(e, 0x77, "\x00", 1, FN);
	add_read(e, 0x50, 1, 0);
	kick(e);
	assert_int_equal(e->bus.calls, 0);
	assert_int_equal(status_of(e, 0), ERR);
	assert_int_equal(status_of(e, 1), ERR);
}

static void test_oversize_buffer(void **state)
{
	struct env *e = *state;

	add_read(e, 0x50, MAXT + 1, 0);
	add_read(e, 0x50, MAXT, 0);
	kick(e);
	assert_int_equal(status_of(e, 0), ERR);
	assert_int_equal(status_of(e, 1), OK);
	assert_int_equal(e->bus.calls, 1);
	assert_int_equal(e->bus.msg[0].len, MAXT);
	assert_int_equal(stats(e).oversize, 1);
}

static void test_oversize_run(void **state)
{
	struct env *e = *state;
	uint8_t big[40] = {0};

	/* Each fits, together they do not. */
	add_write(e, 0x50, big, sizeof(big), FN);
	add_write(e, 0x50, big, sizeof(big), 0);
	kick(e);
	assert_int_equal(e->bus.calls, 0);
	assert_int_equal(status_of(e, 0), ERR);
	assert_int_equal(status_of(e, 1), ERR);
}

static void test_huge_length_is_not_trusted(void **state)
{
	struct env *e = *state;
	struct ring_seg s[3] = {
		{hdr_at(0), 8, false},
		{buf_at(0), 0x80000, true}, /* half a MiB "read" */
		{status_at(0), 1, true},
	};

	put_hdr(e, 0, 0x50 << 1, RD);
	add_segs(e, s, 3);
	kick(e);
	assert_int_equal(e->bus.calls, 0);
	assert_int_equal(status_of(e, 0), ERR);
}

static void test_run_too_long(void **state)
{
	struct env *e = *state;
	unsigned n = I2C_BUS_MSGS_MAX + 2;

	for (unsigned i = 0; i < n; i++)
		add_write(e, 0x50, "\x00", 1, i + 1 < n ? FN : 0);
	add_write(e, 0x50, "\x01", 1, 0);
	kick(e);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(status_of(e, i), ERR);
	assert_int_equal(status_of(e, n), OK);
	assert_int_equal(e->bus.calls, 1);
	assert_int_equal(stats(e).requests, n + 1);
	assert_int_equal(stats(e).oversize, 1);
}

static void test_longest_run(void **state)
{
	struct env *e = *state;

	for (unsigned i = 0; i < I2C_BUS_MSGS_MAX; i++)
		add_write(e, 0x50, "\x00", 1,
			  i + 1 < I2C_BUS_MSGS_MAX ? FN : 0);
	kick(e);
	assert_int_equal(e->bus.calls, 1);
	assert_int_equal(e->bus.n, I2C_BUS_MSGS_MAX);
	assert_int_equal(status_of(e, I2C_BUS_MSGS_MAX - 1), OK);
}

/* Restart the queue on a ring of num entries (the driver's view too). */
static void small_ring(struct env *e, uint16_t num)
{
	struct virtio_dev *vd = i2c_dev_virtio(e->dev);
	uint32_t base;

	assert_int_equal(virtio_dev_queue_stop(vd, 0, &base), 0);
	ring_driver_destroy(&e->drv);
	assert_int_equal(ring_driver_init(&e->drv, &e->mem,
					  &(struct ring_driver_cfg){
						  .features = e->ring_features,
						  .num = num,
						  .ring = RING,
					  }),
			 0);
	assert_int_equal(
		virtio_dev_queue_start(vd, 0, &e->drv.layout, e->drv.base), 0);
}

static void test_partial_run_at_end_of_ring(void **state)
{
	struct env *e = *state;

	/* Linux kicks what fit when the ring filled up: FAIL_NEXT stays set
	 * on the last request, and the driver then waits for it. Two
	 * 3-descriptor requests leave an 8-entry ring no room for a third. */
	small_ring(e, 8);
	add_write(e, 0x50, "\x00", 1, FN);
	add_read(e, 0x50, 1, FN);
	kick(e);
	assert_int_equal(e->bus.calls, 1);
	assert_int_equal(e->bus.n, 2);
	assert_int_equal(status_of(e, 1), OK);
}

/*
 * A run the device sees part of (it looked at the ring between two of the
 * driver's avail->idx updates: polling, kick_soon, a re-check) stays open
 * across kicks while the driver still has room, and goes out as one
 * transaction once its last request arrives.
 */
static void test_partial_run_is_held_across_kicks(void **state)
{
	struct env *e = *state;

	add_write(e, 0x50, "\x00", 1, FN);
	add_read(e, 0x50, 1, FN);
	kick(e);
	assert_int_equal(e->bus.calls, 0);
	expect_no_more_used(e);
	assert_int_equal(status_of(e, 0), 0x7f);
	add_read(e, 0x50, 2, 0);
	kick(e);
	assert_int_equal(e->bus.calls, 1);
	assert_int_equal(e->bus.n, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(status_of(e, i), OK);
	assert_int_equal(stats(e).transactions, 1);
}

/* A queue stopped with a run open answers every held request with an
 * error, without a bus transaction (the control thread is waiting). */
static void test_open_run_fails_at_queue_stop(void **state)
{
	struct env *e = *state;
	uint32_t base;
	int a = add_write(e, 0x50, "\x00", 1, FN);
	int b = add_read(e, 0x50, 1, FN);

	kick(e);
	assert_int_equal(e->bus.calls, 0);
	assert_int_equal(
		virtio_dev_queue_stop(i2c_dev_virtio(e->dev), 0, &base), 0);
	assert_int_equal(e->bus.calls, 0);
	expect_used(e, a, 1);
	expect_used(e, b, 2);
	assert_int_equal(status_of(e, 0), ERR);
	assert_int_equal(status_of(e, 1), ERR);
	assert_int_equal(virtio_dev_queue_start(i2c_dev_virtio(e->dev), 0,
						&e->drv.layout, base),
			 0);
}

static void test_zero_length_requests(void **state)
{
	struct env *e = *state;
	int w = add_write(e, 0x50, NULL, 0, 0);
	int r = add_read(e, 0x1c, 0, 0);

	kick(e);
	expect_used(e, w, 1);
	expect_used(e, r, 1);
	assert_int_equal(e->bus.calls, 2);
	assert_int_equal(e->bus.msg[0].len, 0);
	assert_int_equal(e->bus.msg[0].flags, I2C_BUS_M_RD);
	assert_int_equal(status_of(e, 1), OK);
}

static void test_malformed_short_header(void **state)
{
	struct env *e = *state;
	struct ring_seg s[2] = {{hdr_at(0), 7, false}, {status_at(0), 1, true}};
	int id;

	put_hdr(e, 0, 0x50 << 1, 0);
	id = add_segs(e, s, 2);
	kick(e);
	expect_used(e, id, 1);
	assert_int_equal(status_of(e, 0), ERR);
	assert_int_equal(e->bus.calls, 0);
	assert_int_equal(stats(e).malformed, 1);
}

/*
 * A legal chain with more segments than an element holds (a write whose 17
 * data bytes come one per descriptor): that request fails with an error
 * status in its own status byte, the queue goes on and serves the next.
 */
static void test_oversized_chain_fails_alone(void **state)
{
	struct env *e = *state;
	struct ring_seg s[VQ_IOV_MAX + 2];
	int id, next;

	put_hdr(e, 0, 0x50 << 1, 0);
	s[0] = (struct ring_seg){hdr_at(0), 8, false};
	for (unsigned k = 1; k <= VQ_IOV_MAX; k++)
		s[k] = (struct ring_seg){buf_at(0) + k, 1, false};
	s[VQ_IOV_MAX + 1] = (struct ring_seg){status_at(0), 1, true};
	e->nslots = 1;
	id = add_segs(e, s, VQ_IOV_MAX + 2);
	next = add_write(e, 0x50, "\x00", 1, 0);
	kick(e);
	expect_used(e, id, 1);
	assert_int_equal(status_of(e, 0), ERR);
	expect_used(e, next, 1);
	assert_int_equal(status_of(e, 1), OK);
	assert_int_equal(e->bus.calls, 1);
	assert_int_equal(stats(e).malformed, 1);
}

static void test_malformed_no_status(void **state)
{
	struct env *e = *state;
	struct ring_seg s[2] = {{hdr_at(0), 8, false}, {buf_at(0), 2, false}};
	int id;

	put_hdr(e, 0, 0x50 << 1, 0);
	id = add_segs(e, s, 2);
	kick(e);
	expect_used(e, id, 0);
	assert_int_equal(status_of(e, 0), 0x7f); /* untouched */
	assert_int_equal(e->bus.calls, 0);
}

static void test_malformed_read_with_readable_data(void **state)
{
	struct env *e = *state;
	struct ring_seg s[3] = {{hdr_at(0), 8, false},
				{buf_at(0), 4, false},
				{status_at(0), 1, true}};

	put_hdr(e, 0, 0x50 << 1, RD);
	add_segs(e, s, 3);
	kick(e);
	assert_int_equal(status_of(e, 0), ERR);
	assert_int_equal(e->bus.calls, 0);
}

static void test_malformed_write_with_writable_data(void **state)
{
	struct env *e = *state;
	struct ring_seg s[3] = {{hdr_at(0), 8, false},
				{buf_at(0), 4, true},
				{status_at(0), 1, true}};
	int id;

	put_hdr(e, 0, 0x50 << 1, 0);
	id = add_segs(e, s, 3);
	kick(e);
	/* The status is the last writable byte. */
	expect_used(e, id, 5);
	assert_int_equal(status_of(e, 0), ERR);
	assert_int_equal(e->bus.calls, 0);
}

static void test_malformed_flags_and_address(void **state)
{
	struct env *e = *state;

	put_hdr(e, 0, 0x50 << 1, 0x4); /* unknown flag bit */
	add_segs(e,
		 (struct ring_seg[]){{hdr_at(0), 8, false},
				     {status_at(0), 1, true}},
		 2);
	put_hdr(e, 1, (0x50 << 1) | 1, 0); /* odd address */
	add_segs(e,
		 (struct ring_seg[]){{hdr_at(1), 8, false},
				     {status_at(1), 1, true}},
		 2);
	put_hdr(e, 2, 0x100, 0); /* beyond 7 bits */
	add_segs(e,
		 (struct ring_seg[]){{hdr_at(2), 8, false},
				     {status_at(2), 1, true}},
		 2);
	kick(e);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(status_of(e, i), ERR);
	assert_int_equal(e->bus.calls, 0);
	assert_int_equal(stats(e).malformed, 3);
}

static void test_malformed_request_fails_its_run(void **state)
{
	struct env *e = *state;

	add_write(e, 0x50, "\x00", 1, FN);
	e->nslots++; /* slot 1 is built by hand */
	put_hdr(e, 1, 0x50 << 1, FN | 0x80);
	add_segs(e,
		 (struct ring_seg[]){{hdr_at(1), 8, false},
				     {status_at(1), 1, true}},
		 2);
	add_read(e, 0x50, 1, 0);
	kick(e);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(status_of(e, i), ERR);
	assert_int_equal(e->bus.calls, 0);
}

static void test_split_segments(void **state)
{
	struct env *e = *state;
	/* Header in two pieces, read buffer in two pieces with the status
	 * byte sharing the second one. */
	struct ring_seg s[4] = {
		{hdr_at(0), 3, false},
		{hdr_at(0) + 3, 5, false},
		{buf_at(0), 2, true},
		{buf_at(0) + 0x100, 4, true},
	};
	uint8_t a[2], b[4];
	int id;

	put_hdr(e, 0, 0x1c << 1, RD);
	id = add_segs(e, s, 4);
	kick(e);
	expect_used(e, id, 6);
	assert_int_equal(e->bus.msg[0].len, 5);
	assert_int_equal(fake_gmem_read(&e->mem, buf_at(0), a, 2), 0);
	assert_int_equal(fake_gmem_read(&e->mem, buf_at(0) + 0x100, b, 4), 0);
	assert_memory_equal(a, "\xa0\xa1", 2);
	assert_memory_equal(b, "\xa2\xa3\xa4\x00", 4); /* status OK = 0 */
}

static void test_reset_then_serve(void **state)
{
	struct env *e = *state;
	struct virtio_dev *vd = i2c_dev_virtio(e->dev);

	virtio_dev_reset(vd);
	assert_int_equal(
		virtio_dev_set_features(
			vd, e->ring_features | (1ull << VIRTIO_F_VERSION_1)),
		0);
	ring_driver_destroy(&e->drv);
	assert_int_equal(ring_driver_init(&e->drv, &e->mem,
					  &(struct ring_driver_cfg){
						  .features = e->ring_features,
						  .num = QSIZE,
						  .ring = RING,
					  }),
			 0);
	assert_int_equal(
		virtio_dev_queue_start(vd, 0, &e->drv.layout, e->drv.base), 0);
	add_write(e, 0x50, "\x00", 1, 0);
	kick(e);
	assert_int_equal(status_of(e, 0), OK);
}

static unsigned log_lines;
static char first_line[160];

static void count_line(enum log_level level, const char *line)
{
	(void)level;
	if (log_lines++ == 0)
		snprintf(first_line, sizeof(first_line), "%s", line);
}

static void test_refusals_are_logged_rate_limited(void **state)
{
	struct env *e = *state;

	log_lines = 0;
	log_set_hook(count_line);
	for (unsigned i = 0; i < 40; i++)
		add_read(e, 0x20, 1, 0);
	kick(e);
	log_set_hook(NULL);
	for (unsigned i = 0; i < 40; i++)
		assert_int_equal(status_of(e, i), ERR);
	assert_int_equal(stats(e).refused, 40);
	assert_int_equal(e->bus.calls, 0);
	assert_string_equal(first_line, "test/i2c0: request refused, address "
					"0x20: not on the allow-list");
	assert_true(log_lines >= 1 && log_lines <= LOG_RATELIMIT_BURST + 1);
}

/* End to end on the simulated EEPROM rather than the fake bus. */
static void test_sim_eeprom_through_device(void **state)
{
	struct env *e = *state;
	struct i2c_sim_chip_desc c = {.kind = I2C_SIM_24C02, .addr = 0x50};
	struct i2c_dev_params p = {
		.name = "sim", .addresses = allow, .naddresses = sizeof(allow)};
	struct i2c_dev *dev;
	struct virtio_dev *vd;
	uint8_t got[3];

	assert_int_equal(i2c_sim_create(&p.bus), 0);
	assert_int_equal(i2c_sim_add_chip(p.bus, &c), 0);
	assert_int_equal(i2c_dev_create(&dev, &p,
					e->ring_features &
						(1ull << VIRTIO_F_RING_PACKED)),
			 0);
	/* Serve this ring with the sim device instead. */
	virtio_dev_queue_stop(i2c_dev_virtio(e->dev), 0, &(uint32_t){0});
	vd = i2c_dev_virtio(dev);
	vd->kick_budget_ns = TEST_KICK_BUDGET_NS;
	virtio_dev_attach(vd, &e->tp.t, &e->mem.gmem);
	assert_int_equal(
		virtio_dev_set_features(
			vd, e->ring_features | (1ull << VIRTIO_F_VERSION_1)),
		0);
	assert_int_equal(
		virtio_dev_queue_start(vd, 0, &e->drv.layout, e->drv.base), 0);
	add_write(e, 0x50, "\x08\x11\x22\x33", 4, 0);
	add_write(e, 0x50, "\x08", 1, FN);
	add_read(e, 0x50, 3, 0);
	add_read(e, 0x30, 1, 0); /* allowed, but no chip answers */
	ring_driver_publish(&e->drv);
	virtio_dev_kick(vd, 0);
	assert_int_equal(fake_gmem_read(&e->mem, buf_at(2), got, 3), 0);
	assert_memory_equal(got, "\x11\x22\x33", 3);
	assert_int_equal(status_of(e, 2), OK);
	assert_int_equal(status_of(e, 3), ERR);
	i2c_dev_destroy(dev);
}

static void test_create_errors(void **state)
{
	struct env *e = *state;
	uint8_t bad = 0x80;
	struct i2c_dev *d = NULL;
	struct i2c_dev_params p = {.bus = &e->bus.bus};

	(void)e;
	p.addresses = &bad;
	p.naddresses = 1;
	assert_int_equal(i2c_dev_create(&d, &p, 0), -EINVAL);
	p.naddresses = 0;
	p.max_transfer = I2C_DEV_MAX_TRANSFER_LIMIT + 1;
	assert_int_equal(i2c_dev_create(&d, &p, 0), -EINVAL);
	p.max_transfer = 0;
	p.bus = NULL;
	assert_int_equal(i2c_dev_create(&d, &p, 0), -EINVAL);
	assert_null(d);
	assert_int_equal(e->bus.destroyed, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
static const struct CMUnitTest tests[] = {
	T(test_ops_and_features),
	T(test_write_one_message),
	T(test_fail_next_run_is_one_transaction),
	T(test_failed_run_fails_every_request),
	T(test_asks_for_the_next_kick),
	T(test_separate_transactions),
	T(test_allow_list_checks_every_message),
	T(test_allow_list_refuses_first_message),
	T(test_oversize_buffer),
	T(test_oversize_run),
	T(test_huge_length_is_not_trusted),
	T(test_run_too_long),
	T(test_longest_run),
	T(test_partial_run_at_end_of_ring),
	T(test_partial_run_is_held_across_kicks),
	T(test_open_run_fails_at_queue_stop),
	T(test_zero_length_requests),
	T(test_malformed_short_header),
	T(test_oversized_chain_fails_alone),
	T(test_malformed_no_status),
	T(test_malformed_read_with_readable_data),
	T(test_malformed_write_with_writable_data),
	T(test_malformed_flags_and_address),
	T(test_malformed_request_fails_its_run),
	T(test_split_segments),
	T(test_reset_then_serve),
	T(test_refusals_are_logged_rate_limited),
	T(test_sim_eeprom_through_device),
	T(test_create_errors),
};

/* EVENT_IDX as QEMU negotiates it: the device must re-arm avail_event. */
static int group_split(void **state)
{
	static struct env e = {.ring_features = 1ull
						<< VIRTIO_RING_F_EVENT_IDX};

	*state = &e;
	return 0;
}

static int group_packed(void **state)
{
	static struct env e = {.ring_features =
				       (1ull << VIRTIO_F_RING_PACKED) |
				       (1ull << VIRTIO_RING_F_EVENT_IDX)};

	*state = &e;
	return 0;
}

int main(void)
{
	int fails = 0;

	fails += cmocka_run_group_tests_name("i2c split ring", tests,
					     group_split, NULL);
	fails += cmocka_run_group_tests_name("i2c packed ring", tests,
					     group_packed, NULL);
	return fails;
}
