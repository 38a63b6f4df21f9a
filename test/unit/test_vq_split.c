// SPDX-License-Identifier: MIT
/*
 * Split ring format (core/vq_split.c): every walker rule of vq.h on a split
 * ring, one test each, plus the split-specific parts: avail idx checks,
 * 16-bit index wrap, used ring order, EVENT_IDX / NO_INTERRUPT decisions,
 * NO_NOTIFY / avail_event, and start/stop.
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

#define IND	 (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define EVT	 (1ull << VIRTIO_RING_F_EVENT_IDX)
#define DATA	 RING_DRIVER_MEM_DATA
#define NEXT	 VRING_DESC_F_NEXT
#define WRITE	 VRING_DESC_F_WRITE
#define INDIRECT VRING_DESC_F_INDIRECT

static struct ring_driver_fixture fx;
static bool fx_up;

static void up(uint64_t features, uint16_t num)
{
	assert_int_equal(ring_driver_fixture_init(&fx, features, num), 0);
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

/* Write descriptor i of the split table by hand. */
static void sdesc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next)
{
	struct vring_desc *d = &fx.drv.desc[i];

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

/* Entry k of an indirect table at host pointer t. */
static void tdesc(void *t, unsigned k, uint64_t addr, uint32_t len,
		  uint16_t flags, uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)t + k;

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

static void post(uint16_t head)
{
	ring_driver_split_post(&fx.drv, head);
	ring_driver_publish(&fx.drv);
}

static int add1(uint64_t gaddr, uint32_t len, bool write)
{
	struct ring_seg s = {gaddr, len, write};
	int id = ring_driver_add(&fx.drv, &s, 1, false);

	assert_true(id >= 0);
	ring_driver_publish(&fx.drv);
	return id;
}

/* The next pop fails with err, the queue reports it with a reason, and
 * stays broken. */
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

static void test_head_out_of_range(void **state)
{
	(void)state;
	up(0, 8);
	post(8);
	expect_broken(-EINVAL);
}

static void test_next_out_of_range(void **state)
{
	(void)state;
	up(0, 8);
	sdesc(0, DATA, 16, NEXT, 8);
	post(0);
	expect_broken(-EINVAL);
}

static void test_chain_loop(void **state)
{
	(void)state;
	up(0, 8);
	sdesc(0, DATA, 16, NEXT, 1);
	sdesc(1, DATA, 16, NEXT, 0);
	post(0);
	expect_broken(-ELOOP);
}

/* The ring part of a chain and its indirect table count apart (upstream
 * vringh's rule): 7 ring descriptors and a 2-entry table on a queue of 8
 * are legal. */
static void test_indirect_entries_count_apart(void **state)
{
	struct vq_elem *e;
	void *t;

	(void)state;
	up(IND, 8);
	for (uint16_t i = 0; i < 7; i++)
		sdesc(i, DATA, 0, NEXT, i + 1);
	t = ring_driver_table(&fx.drv, 0);
	tdesc(t, 0, DATA, 0, NEXT, 1);
	tdesc(t, 1, DATA + 16, 16, 0, 0);
	sdesc(7, RING_DRIVER_MEM_TABLES, 32, INDIRECT, 0);
	post(0);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_int_equal(e->rd_num, 1);
	assert_false(vq_elem_is_truncated(e));
	vq_push(&fx.vq, e, 0);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
}

/* Linux builds tables of total_sg entries, more than a small queue has. */
static void test_indirect_table_longer_than_queue(void **state)
{
	struct vq_elem *e;
	void *t;

	(void)state;
	up(IND, 8);
	t = ring_driver_table(&fx.drv, 0);
	for (uint16_t k = 0; k < 9; k++)
		tdesc(t, k, DATA, 0, k < 8 ? NEXT : 0, k + 1);
	sdesc(0, RING_DRIVER_MEM_TABLES, 9 * 16, INDIRECT, 0);
	post(0);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	vq_push(&fx.vq, e, 0);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
}

/* A fixed maximum bounds the walk of a table the guest sized. */
static void test_indirect_table_over_the_maximum(void **state)
{
	(void)state;
	up(IND, 8);
	sdesc(0, DATA, (VQ_INDIRECT_MAX + 1) * 16, INDIRECT, 0);
	post(0);
	expect_broken(-E2BIG);
}

static void test_indirect_loop(void **state)
{
	void *t;

	(void)state;
	up(IND, 8);
	t = ring_driver_table(&fx.drv, 0);
	tdesc(t, 0, DATA, 16, NEXT, 1);
	tdesc(t, 1, DATA, 16, NEXT, 0);
	sdesc(0, RING_DRIVER_MEM_TABLES, 32, INDIRECT, 0);
	post(0);
	expect_broken(-ELOOP);
}

static void test_nested_indirect(void **state)
{
	void *t;

	(void)state;
	up(IND, 8);
	t = ring_driver_table(&fx.drv, 0);
	tdesc(t, 0, DATA, 16, NEXT, 1);
	tdesc(t, 1, RING_DRIVER_MEM_TABLES + 512, 16, INDIRECT, 0);
	sdesc(0, RING_DRIVER_MEM_TABLES, 32, INDIRECT, 0);
	post(0);
	expect_broken(-EINVAL);
}

static void test_indirect_len_not_multiple_of_16(void **state)
{
	(void)state;
	up(IND, 8);
	sdesc(0, RING_DRIVER_MEM_TABLES, 24, INDIRECT, 0);
	post(0);
	expect_broken(-EINVAL);
}

static void test_indirect_len_zero(void **state)
{
	(void)state;
	up(IND, 8);
	sdesc(0, RING_DRIVER_MEM_TABLES, 0, INDIRECT, 0);
	post(0);
	expect_broken(-EINVAL);
}

static void test_indirect_with_next(void **state)
{
	(void)state;
	up(IND, 8);
	tdesc(ring_driver_table(&fx.drv, 0), 0, DATA, 16, 0, 0);
	sdesc(0, RING_DRIVER_MEM_TABLES, 16, INDIRECT | NEXT, 1);
	sdesc(1, DATA, 16, 0, 0);
	post(0);
	expect_broken(-EINVAL);
}

static void test_indirect_not_negotiated(void **state)
{
	(void)state;
	up(0, 8);
	tdesc(ring_driver_table(&fx.drv, 0), 0, DATA, 16, 0, 0);
	sdesc(0, RING_DRIVER_MEM_TABLES, 16, INDIRECT, 0);
	post(0);
	expect_broken(-EINVAL);
}

static void test_indirect_next_out_of_table(void **state)
{
	void *t;

	(void)state;
	up(IND, 8);
	t = ring_driver_table(&fx.drv, 0);
	tdesc(t, 0, DATA, 16, NEXT, 2); /* the table has 2 entries */
	tdesc(t, 1, DATA, 16, 0, 0);
	sdesc(0, RING_DRIVER_MEM_TABLES, 32, INDIRECT, 0);
	post(0);
	expect_broken(-EINVAL);
}

static void test_indirect_after_direct(void **state)
{
	struct vq_elem *e;
	void *t;

	(void)state;
	up(IND, 8);
	/* Spec: direct descriptors followed by one indirect are valid. */
	t = ring_driver_table(&fx.drv, 0);
	tdesc(t, 0, DATA + 0x100, 32, WRITE, 0);
	sdesc(0, DATA, 16, NEXT, 1);
	sdesc(1, RING_DRIVER_MEM_TABLES, 16, INDIRECT | WRITE, 0);
	post(0);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_int_equal(e->id, 0);
	assert_int_equal(e->rd_num, 1);
	assert_int_equal(e->rd_len, 16);
	assert_int_equal(e->wr_num, 1);
	assert_int_equal(e->wr_len, 32);
	assert_ptr_equal(e->wr_iov[0].iov_base,
			 fake_gmem_ptr(&fx.mem, DATA + 0x100, 32));
}

static void test_readable_after_writable(void **state)
{
	struct ring_seg s[] = {{DATA, 16, true}, {DATA + 16, 16, false}};

	(void)state;
	up(0, 8);
	assert_int_equal(ring_driver_add(&fx.drv, s, 2, false), 0);
	ring_driver_publish(&fx.drv);
	expect_broken(-EINVAL);
}

static void test_readable_after_writable_indirect(void **state)
{
	struct ring_seg s[] = {{DATA, 16, true}, {DATA + 16, 16, false}};

	(void)state;
	up(IND, 8);
	assert_int_equal(ring_driver_add(&fx.drv, s, 2, true), 0);
	ring_driver_publish(&fx.drv);
	expect_broken(-EINVAL);
}

static void test_zero_length(void **state)
{
	struct ring_seg s[] = {
		{DATA, 0, false}, {DATA, 8, false}, {0xdead0000, 0, true}};
	struct vq_elem *e;

	(void)state;
	up(0, 8);
	/* Zero-length descriptors add no segment, wherever they point. */
	assert_int_equal(ring_driver_add(&fx.drv, s, 3, false), 0);
	ring_driver_publish(&fx.drv);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_int_equal(e->rd_num, 1);
	assert_int_equal(e->rd_len, 8);
	assert_int_equal(e->wr_num, 0);
	assert_int_equal(e->wr_len, 0);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
}

static void test_address_outside_memory(void **state)
{
	(void)state;
	up(0, 8);
	add1(0x900000, 16, false);
	expect_broken(-EFAULT);
}

static void test_address_len_overflow(void **state)
{
	(void)state;
	up(0, 8);
	add1(UINT64_MAX - 7, 16, true);
	expect_broken(-EOVERFLOW);
}

static void test_chain_bytes_over_4g(void **state)
{
	struct ring_seg s[] = {{DATA, 0x80000000u, false},
			       {DATA, 0x80000000u, true}};

	(void)state;
	up(0, 8);
	assert_int_equal(ring_driver_add(&fx.drv, s, 2, false), 0);
	ring_driver_publish(&fx.drv);
	expect_broken(-EOVERFLOW);
}

static void test_iov_capacity(void **state)
{
	struct ring_seg s[VQ_IOV_MAX + 1];
	struct vq_elem *e;

	(void)state;
	up(0, 64);
	for (unsigned k = 0; k <= VQ_IOV_MAX; k++)
		s[k] = (struct ring_seg){DATA + 64 * k, 64, k > 4};
	/* Exactly VQ_IOV_MAX segments fit. */
	assert_true(ring_driver_add(&fx.drv, s, VQ_IOV_MAX, false) >= 0);
	ring_driver_publish(&fx.drv);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_int_equal(e->rd_num + e->wr_num, VQ_IOV_MAX);
	vq_push(&fx.vq, e, 0);
	/* One more is well formed: delivered truncated, its last descriptor
	 * kept last, the queue serving on; nothing past the element written. */
	assert_true(ring_driver_add(&fx.drv, s, VQ_IOV_MAX + 1, false) >= 0);
	ring_driver_publish(&fx.drv);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_true(vq_elem_is_truncated(e));
	assert_int_equal(e->rd_num + e->wr_num, VQ_IOV_MAX);
	assert_ptr_equal(e->wr_iov[e->wr_num - 1].iov_base,
			 fake_gmem_ptr(&fx.mem, DATA + 64 * VQ_IOV_MAX, 64));
	vq_push(&fx.vq, e, 0);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
	assert_true(ring_driver_add(&fx.drv, s, 2, false) >= 0);
	ring_driver_publish(&fx.drv);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_false(vq_elem_is_truncated(e));
	vq_push(&fx.vq, e, 0);
}

static void test_avail_idx_jump(void **state)
{
	(void)state;
	up(0, 8);
	fx.drv.avail->idx = htole16(9); /* 9 > queue size ahead of 0 */
	expect_broken(-EINVAL);
}

static void test_too_many_outstanding(void **state)
{
	struct vq_elem *e;

	(void)state;
	up(0, 4);
	for (int i = 0; i < 4; i++)
		add1(DATA + 64 * i, 64, true);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vq_pop(&fx.vq, &e), 1);
	/* A fifth buffer while four are outstanding: reuses head 0. */
	post(0);
	expect_broken(-EINVAL);
}

/* The same found inside one batch: two held, three more published at once
 * (reusing a held head). The two that fit are served first, and the ring
 * is broken even once the held ones are completed. */
static void test_too_many_outstanding_in_batch(void **state)
{
	struct vq_elem *held[2], *e;

	(void)state;
	up(0, 4);
	add1(DATA, 64, true);
	add1(DATA + 64, 64, true);
	for (int i = 0; i < 2; i++)
		assert_int_equal(vq_pop(&fx.vq, &held[i]), 1);
	for (int i = 2; i < 4; i++)
		assert_true(ring_driver_add(
				    &fx.drv,
				    &(struct ring_seg){DATA + 64 * i, 64, true},
				    1, false) >= 0);
	post(0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(vq_pop(&fx.vq, &e), 1);
	for (int i = 0; i < 2; i++)
		vq_push(&fx.vq, held[i], 0);
	vq_flush(&fx.vq);
	expect_broken(-EINVAL);
}

static void test_out_of_order_used(void **state)
{
	struct vq_elem *e[3];
	uint16_t id;
	uint32_t len;

	(void)state;
	up(0, 8);
	for (int i = 0; i < 3; i++)
		add1(DATA + 64 * i, 64, true);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vq_pop(&fx.vq, &e[i]), 1);
	vq_push(&fx.vq, e[2], 30);
	vq_push(&fx.vq, e[0], 10);
	vq_push(&fx.vq, e[1], 100); /* clamped to the 64 writable bytes */
	vq_flush(&fx.vq);
	/* Used ring entries come in completion order. */
	assert_int_equal(le16toh(fx.drv.used->idx), 3);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, 2);
	assert_int_equal(len, 30);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, 0);
	assert_int_equal(len, 10);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, 1);
	assert_int_equal(len, 64);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 0);
}

/* Run n buffers through, one at a time, checking the ids. */
static void run_one_by_one(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct vq_elem *e;
		uint16_t id;
		uint32_t len;
		int want = add1(DATA + 64 * (i % 8), 64, true);

		assert_int_equal(vq_pop(&fx.vq, &e), 1);
		assert_int_equal(e->id, want);
		vq_push(&fx.vq, e, i % 64);
		vq_flush(&fx.vq);
		assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
		assert_int_equal(id, want);
		assert_int_equal(len, i % 64);
	}
}

static void test_index_wraps_at_16_bits(void **state)
{
	struct ring_driver_cfg cfg = {0, 8, RING_DRIVER_MEM_RING,
				      RING_DRIVER_MEM_TABLES, 65530};

	(void)state;
	up(0, 8);
	vq_reset(&fx.vq);
	ring_driver_destroy(&fx.drv);
	assert_int_equal(ring_driver_init(&fx.drv, &fx.mem, &cfg), 0);
	assert_int_equal(
		vq_start(&fx.vq, &fx.mem.gmem, 0, &fx.drv.layout, fx.drv.base),
		0);
	run_one_by_one(20);
	assert_int_equal(le16toh(fx.drv.used->idx), (uint16_t)(65530 + 20));
	assert_int_equal(vq_stop(&fx.vq), (uint16_t)(65530 + 20));
}

/* Push n popped buffers and flush; returns vq_flush's verdict. */
static int complete(unsigned n)
{
	struct vq_elem *e;

	for (unsigned i = 0; i < n; i++) {
		add1(DATA, 8, true);
		assert_int_equal(vq_pop(&fx.vq, &e), 1);
		vq_push(&fx.vq, e, 8);
	}
	return vq_flush(&fx.vq);
}

static void drain_used(void)
{
	uint16_t id;
	uint32_t len;

	while (ring_driver_get_used(&fx.drv, &id, &len) == 1)
		;
}

static void test_event_idx_notify(void **state)
{
	(void)state;
	up(EVT, 8);
	/* First flush after start: the device cannot know, it notifies. */
	assert_int_equal(complete(1), 1);
	drain_used(); /* used idx 1 */
	/* used_event = 2: notify once the entry at index 2 is used. */
	ring_driver_set_used_event(&fx.drv, 2);
	assert_int_equal(complete(1), 0); /* wrote index 1 */
	assert_int_equal(complete(1), 1); /* wrote index 2 */
	assert_int_equal(complete(1), 0); /* 3: event already passed */
	drain_used();
	/* One flush covering the event in the middle of its range. */
	ring_driver_set_used_event(&fx.drv, 5);
	{
		struct vq_elem *e[3];

		for (int i = 0; i < 3; i++) {
			add1(DATA, 8, true);
			assert_int_equal(vq_pop(&fx.vq, &e[i]), 1);
		}
		for (int i = 0; i < 3; i++)
			vq_push(&fx.vq, e[i], 0);
		assert_int_equal(vq_flush(&fx.vq), 1); /* wrote 4, 5, 6 */
	}
	/* Nothing pending: nothing to notify. */
	assert_int_equal(vq_flush(&fx.vq), 0);
}

static void test_event_idx_notify_wraps(void **state)
{
	struct ring_driver_cfg cfg = {EVT, 8, RING_DRIVER_MEM_RING,
				      RING_DRIVER_MEM_TABLES, 65534};

	(void)state;
	up(EVT, 8);
	vq_reset(&fx.vq);
	ring_driver_destroy(&fx.drv);
	assert_int_equal(ring_driver_init(&fx.drv, &fx.mem, &cfg), 0);
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, EVT, &fx.drv.layout,
				  fx.drv.base),
			 0);
	assert_int_equal(complete(1), 1); /* first: 65534 */
	ring_driver_set_used_event(&fx.drv, 0);
	assert_int_equal(complete(1), 0); /* 65535 */
	assert_int_equal(complete(1), 1); /* 0 */
}

static void test_no_interrupt_flag(void **state)
{
	(void)state;
	up(0, 8);
	ring_driver_irq_disable(&fx.drv);
	assert_int_equal(complete(2), 0);
	assert_int_equal(ring_driver_irq_enable(&fx.drv), 1); /* pending */
	assert_int_equal(complete(1), 1);
}

static void test_set_notify_flag(void **state)
{
	struct vq_elem *e;

	(void)state;
	up(0, 8);
	assert_int_equal(vq_set_notify(&fx.vq, false), 0);
	assert_int_equal(le16toh(fx.drv.used->flags), VRING_USED_F_NO_NOTIFY);
	assert_int_equal(ring_driver_add(&fx.drv,
					 &(struct ring_seg){DATA, 8, 0}, 1,
					 false),
			 0);
	assert_int_equal(ring_driver_publish(&fx.drv), 0); /* no kick */
	/* Enabling finds the buffer that came meanwhile: poll again. */
	assert_int_equal(vq_set_notify(&fx.vq, true), 1);
	assert_int_equal(le16toh(fx.drv.used->flags), 0);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_int_equal(vq_set_notify(&fx.vq, true), 0);
	add1(DATA, 8, false);
	assert_int_equal(ring_driver_add(&fx.drv,
					 &(struct ring_seg){DATA, 8, 0}, 1,
					 false),
			 2);
	assert_int_equal(ring_driver_publish(&fx.drv), 1); /* kick */
}

static void test_set_notify_event_idx(void **state)
{
	uint16_t avail_event;
	struct vq_elem *e;
	struct ring_seg s = {DATA, 8, false};

	(void)state;
	up(EVT, 8);
	add1(DATA, 8, false);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_int_equal(vq_set_notify(&fx.vq, true), 0);
	/* avail_event = next index to fetch (1). */
	memcpy(&avail_event, &fx.drv.used->ring[8], 2);
	assert_int_equal(le16toh(avail_event), 1);
	ring_driver_add(&fx.drv, &s, 1, false);
	assert_int_equal(ring_driver_publish(&fx.drv), 1); /* crosses 1 */
	ring_driver_add(&fx.drv, &s, 1, false);
	assert_int_equal(ring_driver_publish(&fx.drv), 0); /* 2: no kick */
	assert_int_equal(vq_set_notify(&fx.vq, true), 1);  /* 2 waiting */
}

static void test_start_errors(void **state)
{
	struct vq_layout l;

	(void)state;
	up(0, 8);
	l = fx.drv.layout;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, 0, &l, 0), -EBUSY);
	vq_stop(&fx.vq);
	l.num = 6; /* not a power of 2 */
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, 0, &l, 0), -EINVAL);
	l.num = 16; /* > max_num */
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, 0, &l, 0), -EINVAL);
	l.num = 0;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, 0, &l, 0), -EINVAL);
	l = fx.drv.layout;
	l.desc += 8;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, 0, &l, 0), -EINVAL);
	l = fx.drv.layout;
	l.device += 2;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, 0, &l, 0), -EINVAL);
	l = fx.drv.layout;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, 0, &l, 0x10000),
			 -EINVAL);
	l.device = 0x900000; /* not in guest memory */
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, 0, &l, 0), -EFAULT);
	/* Used ring crossing from the ring region into data region A: two
	 * host pieces, not contiguous. */
	l.device = RING_DRIVER_MEM_DATA - 16;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, 0, &l, 0), -EFAULT);
	assert_false(vq_is_started(&fx.vq));
	l = fx.drv.layout;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, 0, &l, 0), 0);
}

static void test_stop_start_base(void **state)
{
	struct vq_elem *e;
	uint32_t base;

	(void)state;
	up(0, 8);
	for (int i = 0; i < 5; i++)
		add1(DATA + 64 * i, 64, true);
	assert_int_equal(vq_pop(&fx.vq, &e), 1); /* fetches all five */
	assert_int_equal(e->id, 0);
	vq_push(&fx.vq, e, 4);
	assert_int_equal(vq_pop(&fx.vq, &e), 1); /* popped, not pushed */
	base = vq_stop(&fx.vq);
	assert_int_equal(base, 2);
	assert_int_equal(vq_stop(&fx.vq), 2); /* again: same */
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(le16toh(fx.drv.used->idx), 1); /* flushed */
	assert_int_equal(
		vq_start(&fx.vq, &fx.mem.gmem, 0, &fx.drv.layout, base), 0);
	for (int i = 2; i < 5; i++) {
		assert_int_equal(vq_pop(&fx.vq, &e), 1);
		assert_int_equal(e->id, i);
		vq_push(&fx.vq, e, 0);
	}
	assert_int_equal(vq_pop(&fx.vq, &e), 0);
	vq_flush(&fx.vq);
	/* used idx continued from the ring's (1), not from base. */
	assert_int_equal(le16toh(fx.drv.used->idx), 4);
}

#define T(f) cmocka_unit_test_teardown(f, down)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_head_out_of_range),
		T(test_next_out_of_range),
		T(test_chain_loop),
		T(test_indirect_entries_count_apart),
		T(test_indirect_table_longer_than_queue),
		T(test_indirect_table_over_the_maximum),
		T(test_indirect_loop),
		T(test_nested_indirect),
		T(test_indirect_len_not_multiple_of_16),
		T(test_indirect_len_zero),
		T(test_indirect_with_next),
		T(test_indirect_not_negotiated),
		T(test_indirect_next_out_of_table),
		T(test_indirect_after_direct),
		T(test_readable_after_writable),
		T(test_readable_after_writable_indirect),
		T(test_zero_length),
		T(test_address_outside_memory),
		T(test_address_len_overflow),
		T(test_chain_bytes_over_4g),
		T(test_iov_capacity),
		T(test_avail_idx_jump),
		T(test_too_many_outstanding),
		T(test_too_many_outstanding_in_batch),
		T(test_out_of_order_used),
		T(test_index_wraps_at_16_bits),
		T(test_event_idx_notify),
		T(test_event_idx_notify_wraps),
		T(test_no_interrupt_flag),
		T(test_set_notify_flag),
		T(test_set_notify_event_idx),
		T(test_start_errors),
		T(test_stop_start_base),
	};

	/* Memory that needs map_batch (Xen grants), then direct memory
	 * (vhost-user's fd-backed regions): the two ring-layer paths. */
	int failed = cmocka_run_group_tests_name("mapped", tests, NULL, NULL);

	ring_driver_fixture_direct = true;
	return failed |
	       cmocka_run_group_tests_name("direct", tests, NULL, NULL);
}
