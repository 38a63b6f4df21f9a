// SPDX-License-Identifier: MIT
/*
 * Packed ring format (core/vq_packed.c): every walker rule of vq.h on a
 * packed ring, one test each, plus the packed-specific parts: wrap counters
 * over many laps, buffer ids and out-of-order completion, used descriptors,
 * driver/device event suppression (ENABLE, DISABLE, DESC with off_wrap),
 * and start/stop with the base in QEMU's encoding (avail index and wrap
 * counter in bits 0-15, used index and wrap counter in bits 16-31).
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "ring_driver.h"
#include "vq.h"

#define PACKED	 (1ull << VIRTIO_F_RING_PACKED)
#define IND	 (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define EVT	 (1ull << VIRTIO_RING_F_EVENT_IDX)
#define DATA	 RING_DRIVER_MEM_DATA
#define TABLES	 RING_DRIVER_MEM_TABLES
#define NEXT	 VRING_DESC_F_NEXT
#define WRITE	 VRING_DESC_F_WRITE
#define INDIRECT VRING_DESC_F_INDIRECT
#define AVAIL_F	 (1u << VRING_PACKED_DESC_F_AVAIL)
#define USED_F	 (1u << VRING_PACKED_DESC_F_USED)
#define WRAP	 (1u << 15)
/* A packed base from its avail and used halves (index | wrap << 15 each). */
#define BASE(avail, used) ((uint32_t)(avail) | (uint32_t)(used) << 16)

static struct ring_driver_fixture fx;
static bool fx_up;

static void up(uint64_t features, uint16_t num)
{
	assert_int_equal(ring_driver_fixture_init(&fx, PACKED | features, num),
			 0);
	fx_up = true;
}

static int down(void **state)
{
	(void)state;
	if (fx_up)
		ring_driver_fixture_destroy(&fx);
	fx_up = false;
	return 0;
}

/* A hand-made descriptor for ring_driver_packed_post (host order). */
static struct vring_packed_desc pd(uint64_t addr, uint32_t len, uint16_t id,
				   uint16_t flags)
{
	return (struct vring_packed_desc){
		.addr = addr, .len = len, .id = id, .flags = flags};
}

static void post(const struct vring_packed_desc *d, unsigned n)
{
	ring_driver_packed_post(&fx.drv, d, n);
	ring_driver_publish(&fx.drv);
}

/* Entry k of indirect table 0. */
static void tdesc(unsigned k, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct vring_packed_desc *t = ring_driver_table(&fx.drv, 0);

	t[k] = (struct vring_packed_desc){htole64(addr), htole32(len), 0,
					  htole16(flags)};
}

static int add(const struct ring_seg *s, unsigned n, bool indirect)
{
	int id = ring_driver_add(&fx.drv, s, n, indirect);

	assert_true(id >= 0);
	ring_driver_publish(&fx.drv);
	return id;
}

static int add1(uint64_t gaddr, uint32_t len, bool write)
{
	return add(&(struct ring_seg){gaddr, len, write}, 1, false);
}

static void expect_broken(int err)
{
	struct vq_elem *e;
	const char *why = NULL;

	assert_int_equal(vq_pop(&fx.vq, &e), err);
	assert_int_equal(vq_broken(&fx.vq, &why), err);
	assert_non_null(why);
	assert_true(strlen(why) > 0);
	assert_int_equal(vq_pop(&fx.vq, &e), err);
}

static void test_buffer_id_out_of_range(void **state)
{
	struct vring_packed_desc d[] = {pd(DATA, 16, 0, NEXT),
					pd(DATA, 16, 8, 0)};

	(void)state;
	up(0, 8);
	post(d, 2); /* the last descriptor's id is the buffer's */
	expect_broken(-EINVAL);
}

static void test_chain_loop(void **state)
{
	struct vring_packed_desc d[8];

	(void)state;
	up(0, 8);
	/* Every slot says NEXT: the walk comes round to the head again. */
	for (int i = 0; i < 8; i++)
		d[i] = pd(DATA, 0, 0, NEXT);
	post(d, 8);
	expect_broken(-ELOOP);
}

/* Ring descriptors and indirect entries count apart (vringh's rule). */
static void test_indirect_entries_count_apart(void **state)
{
	struct vring_packed_desc d[8];
	struct vq_elem *e;

	(void)state;
	up(IND, 8);
	for (int i = 0; i < 7; i++)
		d[i] = pd(DATA, 0, 0, NEXT);
	tdesc(0, DATA, 0, 0);
	tdesc(1, DATA, 0, 0);
	d[7] = pd(TABLES, 32, 0, INDIRECT); /* 7 + 2 > 8: legal */
	post(d, 8);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	vq_push(&fx.vq, e, 0);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
}

/* Linux builds tables of total_sg entries, more than a small queue has. */
static void test_indirect_table_longer_than_queue(void **state)
{
	struct vring_packed_desc d = pd(TABLES, 9 * 16, 0, INDIRECT);
	struct vq_elem *e;

	(void)state;
	up(IND, 8);
	for (int k = 0; k < 9; k++)
		tdesc(k, DATA, 0, 0);
	post(&d, 1);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	vq_push(&fx.vq, e, 0);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
}

/* A fixed maximum bounds the walk of a table the guest sized. */
static void test_indirect_table_over_the_maximum(void **state)
{
	struct vring_packed_desc d =
		pd(TABLES, (VQ_INDIRECT_MAX + 1) * 16, 0, INDIRECT);

	(void)state;
	up(IND, 8);
	post(&d, 1);
	expect_broken(-E2BIG);
}

static void test_nested_indirect(void **state)
{
	struct vring_packed_desc d = pd(TABLES, 32, 0, INDIRECT);

	(void)state;
	up(IND, 8);
	tdesc(0, DATA, 16, 0);
	tdesc(1, TABLES + 512, 16, INDIRECT);
	post(&d, 1);
	expect_broken(-EINVAL);
}

static void test_indirect_len_not_multiple_of_16(void **state)
{
	struct vring_packed_desc d = pd(TABLES, 24, 0, INDIRECT);

	(void)state;
	up(IND, 8);
	post(&d, 1);
	expect_broken(-EINVAL);
}

static void test_indirect_len_zero(void **state)
{
	struct vring_packed_desc d = pd(TABLES, 0, 0, INDIRECT);

	(void)state;
	up(IND, 8);
	post(&d, 1);
	expect_broken(-EINVAL);
}

static void test_indirect_with_next(void **state)
{
	struct vring_packed_desc d[] = {pd(TABLES, 16, 0, INDIRECT | NEXT),
					pd(DATA, 16, 0, 0)};

	(void)state;
	up(IND, 8);
	tdesc(0, DATA, 16, 0);
	post(d, 2);
	expect_broken(-EINVAL);
}

static void test_indirect_not_negotiated(void **state)
{
	struct vring_packed_desc d = pd(TABLES, 16, 0, INDIRECT);

	(void)state;
	up(0, 8);
	tdesc(0, DATA, 16, 0);
	post(&d, 1);
	expect_broken(-EINVAL);
}

static void test_indirect_ok(void **state)
{
	struct ring_seg s[] = {{DATA, 16, false},
			       {DATA + 64, 32, true},
			       {DATA + 128, 8, true}};
	struct vq_elem *e;

	(void)state;
	up(IND, 8);
	assert_int_equal(add(s, 3, true), 0);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_int_equal(e->id, 0);
	assert_int_equal(e->ndesc, 1); /* one ring slot */
	assert_int_equal(e->rd_num, 1);
	assert_int_equal(e->wr_num, 2);
	assert_int_equal(e->wr_len, 40);
	assert_ptr_equal(e->wr_iov[1].iov_base,
			 fake_gmem_ptr(&fx.mem, DATA + 128, 8));
}

static void test_readable_after_writable(void **state)
{
	struct ring_seg s[] = {{DATA, 16, true}, {DATA + 16, 16, false}};

	(void)state;
	up(0, 8);
	add(s, 2, false);
	expect_broken(-EINVAL);
}

static void test_readable_after_writable_indirect(void **state)
{
	struct ring_seg s[] = {{DATA, 16, true}, {DATA + 16, 16, false}};

	(void)state;
	up(IND, 8);
	add(s, 2, true);
	expect_broken(-EINVAL);
}

static void test_zero_length(void **state)
{
	struct ring_seg s[] = {
		{DATA, 0, false}, {DATA, 8, false}, {0xdead0000, 0, true}};
	struct vq_elem *e;

	(void)state;
	up(0, 8);
	add(s, 3, false);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_int_equal(e->ndesc, 3);
	assert_int_equal(e->rd_num, 1);
	assert_int_equal(e->rd_len, 8);
	assert_int_equal(e->wr_num, 0);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
}

static void test_address_outside_memory(void **state)
{
	(void)state;
	up(0, 8);
	add1(0x900000, 16, true);
	expect_broken(-EFAULT);
}

static void test_address_len_overflow(void **state)
{
	(void)state;
	up(0, 8);
	add1(UINT64_MAX - 7, 16, false);
	expect_broken(-EOVERFLOW);
}

static void test_chain_bytes_over_4g(void **state)
{
	struct ring_seg s[] = {{DATA, 0xffffffffu, false}, {DATA, 1, true}};

	(void)state;
	up(0, 8);
	add(s, 2, false);
	expect_broken(-EOVERFLOW);
}

static void test_iov_capacity(void **state)
{
	struct ring_seg s[VQ_IOV_MAX + 1];
	struct vq_elem *e;

	(void)state;
	up(IND, 64);
	for (unsigned k = 0; k <= VQ_IOV_MAX; k++)
		s[k] = (struct ring_seg){DATA + 64 * k, 64, k > 7};
	add(s, VQ_IOV_MAX, true);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_int_equal(e->rd_num + e->wr_num, VQ_IOV_MAX);
	vq_push(&fx.vq, e, 0);
	/* Well formed: delivered truncated, last descriptor last. */
	add(s, VQ_IOV_MAX + 1, false);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_true(vq_elem_is_truncated(e));
	assert_int_equal(e->rd_num + e->wr_num, VQ_IOV_MAX);
	assert_ptr_equal(e->wr_iov[e->wr_num - 1].iov_base,
			 fake_gmem_ptr(&fx.mem, DATA + 64 * VQ_IOV_MAX, 64));
	vq_push(&fx.vq, e, 0);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
}

static void test_too_many_outstanding(void **state)
{
	struct vring_packed_desc d = pd(DATA, 8, 0, 0);
	struct vq_elem *e;

	(void)state;
	up(0, 4);
	for (int i = 0; i < 4; i++)
		add1(DATA + 64 * i, 64, true);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vq_pop(&fx.vq, &e), 1);
	post(&d, 1); /* slot 0 again, second lap, before any is used */
	expect_broken(-EINVAL);
}

static void test_out_of_order_used(void **state)
{
	struct ring_seg s[3] = {{DATA, 8, false},
				{DATA + 64, 64, true},
				{DATA + 128, 64, true}};
	struct vq_elem *e[3];
	struct vring_packed_desc *r;
	uint16_t id;
	uint32_t len;

	(void)state;
	up(0, 8);
	assert_int_equal(add(s, 2, false), 0);	   /* slots 0-1 */
	assert_int_equal(add(s + 1, 1, false), 1); /* slot 2 */
	assert_int_equal(add(s, 3, false), 2);	   /* slots 3-5 */
	for (int i = 0; i < 3; i++)
		assert_int_equal(vq_pop(&fx.vq, &e[i]), 1);
	assert_int_equal(e[2]->ndesc, 3);
	vq_push(&fx.vq, e[2], 100);
	vq_push(&fx.vq, e[0], 0);
	vq_push(&fx.vq, e[1], 5);
	vq_flush(&fx.vq);
	/* Used descriptors in completion order; each skips its chain. */
	r = fx.drv.pdesc;
	assert_int_equal(le16toh(r[0].id), 2);
	assert_int_equal(le32toh(r[0].len), 100);
	assert_int_equal(le16toh(r[0].flags), AVAIL_F | USED_F | WRITE);
	assert_int_equal(le16toh(r[3].id), 0);
	assert_int_equal(le16toh(r[3].flags), AVAIL_F | USED_F); /* len 0 */
	assert_int_equal(le16toh(r[5].id), 1);
	assert_int_equal(le32toh(r[5].len), 5);
	for (int want = 2, i = 0; i < 3; i++, want = (want + 1) % 3) {
		assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
		assert_int_equal(id, want);
	}
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 0);
	assert_int_equal(ring_driver_num_free(&fx.drv), 8);
}

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 16;
}

static void test_wrap_many_laps(void **state)
{
	struct vq_elem *held[5];
	unsigned nheld = 0, sent = 0, got = 0, live;

	(void)state;
	up(IND, 5); /* not a power of 2: fine for packed */
	while (got < 3000) {
		struct ring_seg s[3] = {{DATA, 16, false},
					{DATA + 64, 32, true},
					{DATA + 128, 16, true}};
		unsigned n = 1 + rnd() % 3;
		struct vq_elem *e;
		uint16_t id;
		uint32_t len;

		while (sent < 3000 && ring_driver_add(&fx.drv, s + 3 - n, n,
						      rnd() % 4 == 0) >= 0)
			sent++;
		ring_driver_publish(&fx.drv);
		while (vq_pop(&fx.vq, &e) == 1)
			held[nheld++] = e;
		/* Complete a random subset in a random order. */
		for (unsigned k = rnd() % (nheld + 1); k; k--) {
			unsigned i = rnd() % nheld;

			vq_push(&fx.vq, held[i], held[i]->id);
			held[i] = held[--nheld];
		}
		vq_flush(&fx.vq);
		while (ring_driver_get_used(&fx.drv, &id, &len) == 1) {
			assert_int_equal(len, id); /* what we pushed */
			got++;
		}
		assert_int_equal(vq_broken(&fx.vq, NULL), 0);
		/* Exactly the held elements' ranges are mapped (none on
		 * direct memory). */
		live = 0;
		for (unsigned i = 0; i < nheld && !fx.mem.gmem.direct; i++)
			live += held[i]->nseg;
		assert_int_equal(fake_gmem_live(&fx.mem), live);
	}
	assert_int_equal(nheld, 0);
	assert_int_equal(ring_driver_num_free(&fx.drv), 5);
	/* Device and driver agree on the positions after many laps; with
	 * nothing in flight, used is where avail is. */
	assert_int_equal(
		vq_stop(&fx.vq),
		BASE(fx.drv.next_avail | (fx.drv.avail_wrap ? WRAP : 0),
		     ring_driver_used_pos(&fx.drv)));
}

static void test_event_enable_disable(void **state)
{
	struct vq_elem *e;

	(void)state;
	up(0, 8);
	ring_driver_irq_disable(&fx.drv);
	add1(DATA, 8, true);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	vq_push(&fx.vq, e, 8);
	assert_int_equal(vq_flush(&fx.vq), 0);
	assert_int_equal(ring_driver_irq_enable(&fx.drv), 1);
	add1(DATA, 8, true);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	vq_push(&fx.vq, e, 8);
	assert_int_equal(vq_flush(&fx.vq), 1);
	/* DESC without EVENT_IDX negotiated: treated as ENABLE. */
	ring_driver_set_used_event(&fx.drv, 7 | WRAP);
	add1(DATA, 8, true);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	vq_push(&fx.vq, e, 8);
	assert_int_equal(vq_flush(&fx.vq), 1);
}

/* Complete one single-descriptor buffer; vq_flush's verdict. */
static int complete1(void)
{
	struct vq_elem *e;
	uint16_t id;
	uint32_t len;
	int ret;

	add1(DATA, 8, true);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	vq_push(&fx.vq, e, 8);
	ret = vq_flush(&fx.vq);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	return ret;
}

static void test_event_desc_off_wrap(void **state)
{
	(void)state;
	up(EVT, 4);
	ring_driver_set_used_event(&fx.drv, 2 | WRAP);
	assert_int_equal(complete1(), 1); /* first flush after start */
	assert_int_equal(complete1(), 0); /* used slot 1 */
	assert_int_equal(complete1(), 1); /* used slot 2, wrap 1: event */
	assert_int_equal(complete1(), 0); /* slot 3 */
	/* Slot 1 of the next lap (wrap counter 0). */
	ring_driver_set_used_event(&fx.drv, 1);
	assert_int_equal(complete1(), 0); /* slot 0, wrap 0 */
	assert_int_equal(complete1(), 1); /* slot 1, wrap 0 */
	/* Slot 3 with the other wrap counter (a lap ahead): not yet. */
	ring_driver_set_used_event(&fx.drv, 3 | WRAP);
	assert_int_equal(complete1(), 0); /* 2/0 */
	assert_int_equal(complete1(), 0); /* 3/0 */
	assert_int_equal(complete1(), 0); /* 0/1 */
	assert_int_equal(complete1(), 0); /* 1/1 */
	assert_int_equal(complete1(), 0); /* 2/1 */
	assert_int_equal(complete1(), 1); /* 3/1 */
	ring_driver_irq_disable(&fx.drv);
	assert_int_equal(complete1(), 0);
}

static void test_event_desc_batch(void **state)
{
	struct vq_elem *e[3];

	(void)state;
	up(EVT, 8);
	assert_int_equal(complete1(), 1);
	/* One flush of three (slots 1-3) crossing the event at slot 2. */
	ring_driver_set_used_event(&fx.drv, 2 | WRAP);
	for (int i = 0; i < 3; i++) {
		add1(DATA, 8, true);
		assert_int_equal(vq_pop(&fx.vq, &e[i]), 1);
	}
	for (int i = 0; i < 3; i++)
		vq_push(&fx.vq, e[i], 1);
	assert_int_equal(vq_flush(&fx.vq), 1);
}

static void test_set_notify(void **state)
{
	struct ring_seg s = {DATA, 8, false};
	struct vq_elem *e;

	(void)state;
	up(0, 8);
	assert_int_equal(vq_set_notify(&fx.vq, false), 0);
	assert_int_equal(le16toh(fx.drv.device_event->flags),
			 VRING_PACKED_EVENT_FLAG_DISABLE);
	ring_driver_add(&fx.drv, &s, 1, false);
	assert_int_equal(ring_driver_publish(&fx.drv), 0);
	assert_int_equal(vq_set_notify(&fx.vq, true), 1); /* lost wake-up */
	assert_int_equal(le16toh(fx.drv.device_event->flags),
			 VRING_PACKED_EVENT_FLAG_ENABLE);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_int_equal(vq_set_notify(&fx.vq, true), 0);
	ring_driver_add(&fx.drv, &s, 1, false);
	assert_int_equal(ring_driver_publish(&fx.drv), 1);
}

static void test_set_notify_event_idx(void **state)
{
	struct ring_seg s = {DATA, 8, false};
	struct vq_elem *e;

	(void)state;
	up(EVT, 4);
	for (int i = 0; i < 3; i++)
		add1(DATA, 8, false);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vq_pop(&fx.vq, &e), 1);
		vq_push(&fx.vq, e, 0);
	}
	vq_flush(&fx.vq);
	for (int i = 0; i < 3; i++) {
		uint16_t id;
		uint32_t len;

		assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	}
	assert_int_equal(vq_set_notify(&fx.vq, true), 0);
	assert_int_equal(le16toh(fx.drv.device_event->flags),
			 VRING_PACKED_EVENT_FLAG_DESC);
	assert_int_equal(le16toh(fx.drv.device_event->off_wrap), 3 | WRAP);
	assert_true(ring_driver_add(&fx.drv, &s, 1, false) >= 0); /* 3/1 */
	assert_int_equal(ring_driver_publish(&fx.drv), 1); /* the event */
	assert_true(ring_driver_add(&fx.drv, &s, 1, false) >= 0); /* 0/0 */
	assert_int_equal(ring_driver_publish(&fx.drv), 0);
	assert_int_equal(vq_set_notify(&fx.vq, true), 1);
}

static void test_start_errors(void **state)
{
	struct vq_layout l;

	(void)state;
	up(0, 8);
	l = fx.drv.layout;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, PACKED, &l, WRAP),
			 -EBUSY);
	vq_stop(&fx.vq);
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, PACKED, &l, 8 | WRAP),
			 -EINVAL); /* index >= size */
	/* Used index >= size. */
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, PACKED, &l,
				  BASE(WRAP, 8 | WRAP)),
			 -EINVAL);
	/* Used position ahead of the available one (by 1; by 3 on the
	 * previous lap, i.e. more than the queue size behind). */
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, PACKED, &l,
				  BASE(3 | WRAP, 4 | WRAP)),
			 -EINVAL);
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, PACKED, &l, BASE(0, 1)),
			 -EINVAL);
	assert_int_equal(
		vq_start(&fx.vq, &fx.mem.gmem, PACKED, &l, BASE(3 | WRAP, 2)),
		-EINVAL);
	l.driver += 2;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, PACKED, &l, WRAP),
			 -EINVAL);
	l = fx.drv.layout;
	l.desc += 8;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, PACKED, &l, WRAP),
			 -EINVAL);
	l = fx.drv.layout;
	l.desc = DATA - 64; /* 128 bytes crossing into the next region */
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, PACKED, &l, WRAP),
			 -EFAULT);
	l = fx.drv.layout;
	l.device = 0x900000;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, PACKED, &l, WRAP),
			 -EFAULT);
	l = fx.drv.layout;
	l.num = 5; /* any size is fine for packed */
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, PACKED, &l, WRAP), 0);
}

static void test_stop_start_base_wrap(void **state)
{
	struct vq_elem *e;
	uint16_t id;
	uint32_t len;
	uint32_t base;

	(void)state;
	up(0, 4);
	for (int i = 0; i < 5; i++) { /* one lap and one slot */
		add1(DATA, 8, true);
		assert_int_equal(vq_pop(&fx.vq, &e), 1);
		vq_push(&fx.vq, e, 1);
		vq_flush(&fx.vq);
		assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	}
	add1(DATA, 8, true);			 /* slot 1/0 */
	add1(DATA, 8, true);			 /* slot 2/0 */
	assert_int_equal(vq_pop(&fx.vq, &e), 1); /* fetches both */
	vq_push(&fx.vq, e, 3);
	base = vq_stop(&fx.vq);
	assert_int_equal(base, BASE(2, 2)); /* wrap counters 0 */
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(len, 3);
	assert_int_equal(
		vq_start(&fx.vq, &fx.mem.gmem, PACKED, &fx.drv.layout, base),
		0);
	for (int i = 0; i < 9; i++) {
		if (i)
			add1(DATA, 8, true);
		assert_int_equal(vq_pop(&fx.vq, &e), 1);
		vq_push(&fx.vq, e, 2);
		vq_flush(&fx.vq);
		assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
		assert_int_equal(len, 2);
	}
	/* 2/0 + 9 slots = 3, wrap counter flipped twice: 3/0. */
	assert_int_equal(vq_stop(&fx.vq), BASE(3, 3));
	assert_int_equal(fx.drv.next_avail, 3);
	assert_false(fx.drv.avail_wrap);
}

/* Serve one buffer end to end; the driver must get it back. */
static void round_trip(void)
{
	struct vq_elem *e;
	uint16_t id;
	uint32_t len;
	int posted = add1(DATA, 8, true);

	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_int_equal(e->id, posted);
	vq_push(&fx.vq, e, 4);
	vq_flush(&fx.vq);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, posted);
	assert_int_equal(len, 4);
}

static void restart(uint32_t base)
{
	assert_int_equal(
		vq_start(&fx.vq, &fx.mem.gmem, PACKED, &fx.drv.layout, base),
		0);
}

static void test_stop_start_nothing_in_flight(void **state)
{
	uint32_t base;

	(void)state;
	up(0, 4);
	/* Never moved: what vq_base_fresh says, both wrap counters 1. */
	assert_int_equal(vq_stop(&fx.vq), BASE(WRAP, WRAP));
	assert_int_equal(vq_stop(&fx.vq), vq_base_fresh(PACKED));
	restart(vq_stop(&fx.vq));
	for (int i = 0; i < 6; i++) /* one lap and two slots */
		round_trip();
	/* Everything completed: both halves at 2 with wrap counter 0. */
	base = vq_stop(&fx.vq);
	assert_int_equal(base, BASE(2, 2));
	restart(base);
	for (int i = 0; i < 3; i++) /* 2/0 -> 1/1 */
		round_trip();
	assert_int_equal(vq_stop(&fx.vq), BASE(1 | WRAP, 1 | WRAP));
	/* A front-end that sends the low half only: used starts there too. */
	restart(1 | WRAP);
	round_trip();
	assert_int_equal(vq_stop(&fx.vq), BASE(2 | WRAP, 2 | WRAP));
}

static void test_stop_start_used_behind_avail(void **state)
{
	struct ring_seg two[] = {{DATA, 8, false}, {DATA + 64, 8, true}};
	struct vq_elem *a, *b, *c;
	int ida, idb, idc;
	uint16_t id;
	uint32_t len, base;

	(void)state;
	up(0, 8);
	for (int i = 0; i < 7; i++) /* 7/1 */
		round_trip();
	ida = add1(DATA, 8, true); /* slot 7 */
	idb = add(two, 2, false);  /* slots 0-1, next lap */
	idc = add1(DATA, 8, true); /* slot 2 */
	assert_int_equal(vq_pop(&fx.vq, &a), 1);
	assert_int_equal(vq_pop(&fx.vq, &b), 1);
	assert_int_equal(vq_pop(&fx.vq, &c), 1);
	assert_int_equal(b->id, idb);
	/* Out of order: C, then A; B is still in flight at the stop. */
	vq_push(&fx.vq, c, 1);
	vq_push(&fx.vq, a, 2);
	base = vq_stop(&fx.vq);
	/*
	 * Avail went past all three chains (4 slots: 3/0). Used advanced by
	 * C's and A's slots only (2: 7/1 -> 1/0): B was dropped, and the
	 * driver expects the next used descriptor at 1/0.
	 */
	assert_int_equal(base, BASE(3, 1));
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, idc);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, ida);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 0);
	/* Restarted from that base, completions go where the driver looks:
	 * none is lost, for laps (B's id stays with the driver). */
	restart(base);
	for (int i = 0; i < 20; i++)
		round_trip();
	/* Avail 3/0 + 20 = 7/0, used 1/0 + 20 = 5/0 (two laps and a bit):
	 * still B's 2 slots behind. */
	base = vq_stop(&fx.vq);
	assert_int_equal(base, BASE(7, 5));
	restart(base);
	round_trip();
	(void)idb;
}

#define T(f) cmocka_unit_test_teardown(f, down)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_buffer_id_out_of_range),
		T(test_chain_loop),
		T(test_indirect_entries_count_apart),
		T(test_indirect_table_longer_than_queue),
		T(test_indirect_table_over_the_maximum),
		T(test_nested_indirect),
		T(test_indirect_len_not_multiple_of_16),
		T(test_indirect_len_zero),
		T(test_indirect_with_next),
		T(test_indirect_not_negotiated),
		T(test_indirect_ok),
		T(test_readable_after_writable),
		T(test_readable_after_writable_indirect),
		T(test_zero_length),
		T(test_address_outside_memory),
		T(test_address_len_overflow),
		T(test_chain_bytes_over_4g),
		T(test_iov_capacity),
		T(test_too_many_outstanding),
		T(test_out_of_order_used),
		T(test_wrap_many_laps),
		T(test_event_enable_disable),
		T(test_event_desc_off_wrap),
		T(test_event_desc_batch),
		T(test_set_notify),
		T(test_set_notify_event_idx),
		T(test_start_errors),
		T(test_stop_start_base_wrap),
		T(test_stop_start_nothing_in_flight),
		T(test_stop_start_used_behind_avail),
	};

	/* Memory that needs map_batch (Xen grants), then direct memory
	 * (vhost-user's fd-backed regions): the two ring-layer paths. */
	int failed = cmocka_run_group_tests_name("mapped", tests, NULL, NULL);

	ring_driver_fixture_direct = true;
	return failed |
	       cmocka_run_group_tests_name("direct", tests, NULL, NULL);
}
