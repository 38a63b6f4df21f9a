// SPDX-License-Identifier: MIT
/*
 * Format-independent ring layer (core/vq.c), every test run on a split and
 * on a packed ring: batching, map/unmap through the memory seam, iov
 * conversion (region crossing, shortened mappings, capacity), errors found
 * after good chains, back-end failures, lifecycle (stop drops and unmaps,
 * reset), and a broken queue that stays broken while another one works.
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

#define PACKED (1ull << VIRTIO_F_RING_PACKED)
#define IND    (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define DATA   RING_DRIVER_MEM_DATA
#define DATA2  RING_DRIVER_MEM_DATA2

static const uint64_t formats[2] = {0, PACKED};
static struct ring_driver_fixture fx;
static bool fx_up;

/* Set up a queue in the format the test runs with (its state). */
static void up(void **state, uint64_t features, uint16_t num)
{
	uint64_t fmt = *(const uint64_t *)*state;

	assert_int_equal(ring_driver_fixture_init(&fx, fmt | features, num), 0);
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

static struct vq_elem *pop(void)
{
	struct vq_elem *e = NULL;

	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	return e;
}

static void test_init_errors(void **state)
{
	struct vq vq;
	struct vq_elem *e;
	const char *why = "x";

	(void)state;
	assert_int_equal(vq_init(&vq, 0, 0), -EINVAL);
	assert_int_equal(vq_init(&vq, 0, VQ_NUM_MAX + 1), -EINVAL);
	assert_int_equal(vq_init(&vq, 0, 4), 0);
	assert_false(vq_is_started(&vq));
	assert_int_equal(vq_pop(&vq, &e), 0);
	assert_int_equal(vq_flush(&vq), 0);
	assert_int_equal(vq_set_notify(&vq, true), 0);
	assert_int_equal(vq_stop(&vq), 0);
	assert_int_equal(vq_broken(&vq, &why), 0);
	assert_null(why);
	vq_destroy(&vq);
}

static void test_base_fresh(void **state)
{
	uint64_t fmt = *(const uint64_t *)*state;

	up(state, 0, 8);
	/* What a driver's brand-new ring starts at (packed: both positions
	 * at index 0 with wrap counter 1; the driver's own base gives the
	 * avail half only, which means the same). */
	assert_int_equal(vq_base_fresh(fmt), fmt ? 0x80008000u : 0);
	assert_int_equal(vq_base_fresh(fmt) & 0xffff, fx.drv.base);
	assert_int_equal(vq_stop(&fx.vq), vq_base_fresh(fmt));
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, fmt, &fx.drv.layout,
				  vq_base_fresh(fmt)),
			 0);
	assert_int_equal(vq_stop(&fx.vq), vq_base_fresh(fmt));
}

static void test_empty(void **state)
{
	struct vq_elem *e;

	up(state, 0, 8);
	assert_true(vq_is_started(&fx.vq));
	assert_int_equal(vq_pop(&fx.vq, &e), 0);
	assert_int_equal(vq_flush(&fx.vq), 0);
	assert_int_equal(vq_set_notify(&fx.vq, true), 0);
}

static void test_iov_layout(void **state)
{
	struct ring_seg s[] = {{DATA, 5, false},
			       {DATA + 100, 7, false},
			       {DATA + 200, 64, true}};
	struct vq_elem *e;

	up(state, 0, 8);
	memcpy(fake_gmem_ptr(&fx.mem, DATA, 5), "hello", 5);
	add(s, 3, false);
	e = pop();
	assert_int_equal(e->rd_num, 2);
	assert_int_equal(e->wr_num, 1);
	assert_int_equal(e->rd_len, 12);
	assert_int_equal(e->wr_len, 64);
	assert_memory_equal(e->rd_iov[0].iov_base, "hello", 5);
	assert_int_equal(e->rd_iov[1].iov_len, 7);
	assert_ptr_equal(e->wr_iov, e->rd_iov + 2);
	memcpy(e->wr_iov[0].iov_base, "done", 4);
	vq_push(&fx.vq, e, 4);
	vq_flush(&fx.vq);
	assert_memory_equal(fake_gmem_ptr(&fx.mem, DATA + 200, 4), "done", 4);
}

static void test_batch_one_map_call(void **state)
{
	struct vq_elem *e[40];

	up(state, 0, 64);
	fx.mem.require_map = true;
	for (int i = 0; i < 40; i++)
		add1(DATA + 64 * i, 64, i & 1);
	fake_gmem_reset_counters(&fx.mem);
	e[0] = pop();
	/* The first pop fetched and mapped a whole batch in one call. */
	assert_int_equal(fx.mem.map_calls, 1);
	assert_int_equal(fx.mem.ranges_mapped, VQ_BATCH);
	for (int i = 1; i < VQ_BATCH; i++)
		e[i] = pop();
	assert_int_equal(fx.mem.map_calls, 1);
	for (int i = VQ_BATCH; i < 40; i++)
		e[i] = pop();
	assert_int_equal(fx.mem.map_calls, 2);
	assert_int_equal(fx.mem.ranges_mapped, 40);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(e[i]->id, i);
		vq_push(&fx.vq, e[i], 0);
	}
	/* Unmapped by the flush, every element pushed since the last one in
	 * one call, each range exactly as mapped. */
	assert_int_equal(fx.mem.unmap_calls, 0);
	assert_int_equal(vq_flush(&fx.vq), 1);
	assert_int_equal(fx.mem.unmap_calls, 1);
	assert_int_equal(fx.mem.ranges_unmapped, 40);
	assert_int_equal(fx.mem.bad_unmaps, 0);
	assert_int_equal(fx.mem.unmapped_translates, 0);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
}

/*
 * A back-end that copies (GMEM_APART: the ranges share no mapping): a
 * completed chain is published at once while its batch-mate is still out.
 */
static void test_apart_batch_published_at_once(void **state)
{
	struct vq_elem *a, *b;
	uint16_t id;
	uint32_t len;

	up(state, 0, 8);
	fx.mem.require_map = true;
	fx.mem.apart = true;
	add1(DATA, 64, true);
	add1(DATA + 64, 64, true);
	fake_gmem_reset_counters(&fx.mem);
	a = pop();
	b = pop();
	assert_int_equal(fx.mem.map_calls, 1);
	vq_push(&fx.vq, b, 8);
	assert_int_equal(vq_flush(&fx.vq), 1);
	assert_int_equal(fake_gmem_live(&fx.mem), 1); /* a's range only */
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, 1);
	vq_push(&fx.vq, a, 8);
	assert_int_equal(vq_flush(&fx.vq), 1);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(fx.mem.unmap_calls, 2);
}

/*
 * Elements pushed but not flushed when the queue stops or resets are
 * unmapped then (stop still publishes them; reset drops them); a pushed
 * entry counts once towards the slots held.
 */
static void test_pushed_unmapped_by_stop(void **state)
{
	uint16_t id;
	uint32_t len;

	up(state, 0, 8);
	fx.mem.require_map = true;
	add1(DATA, 64, true);
	add1(DATA + 64, 64, true);
	vq_push(&fx.vq, pop(), 8);
	assert_int_equal(vq_held_slots(&fx.vq), 2);
	assert_int_equal(fake_gmem_live(&fx.mem), 2);
	vq_stop(&fx.vq);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(fx.mem.bad_unmaps, 0);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, 0);
}

static void test_pushed_dropped_by_reset(void **state)
{
	up(state, 0, 8);
	fx.mem.require_map = true;
	add1(DATA, 64, true);
	vq_push(&fx.vq, pop(), 8);
	vq_reset(&fx.vq);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(fx.mem.bad_unmaps, 0);
}

/*
 * Two chains mapped in one call (one Xen grant mapping): the first one's
 * used entry is not published while the second is still out, because the
 * guest revokes a buffer's grant when it sees its used entry and the
 * shared mapping still covers it; once both are back, both go out.
 */
static void test_batch_mates_published_together(void **state)
{
	struct vq_elem *a, *b;
	uint16_t id;
	uint32_t len;

	up(state, 0, 8);
	fx.mem.require_map = true;
	add1(DATA, 64, true);
	add1(DATA + 64, 64, true);
	fake_gmem_reset_counters(&fx.mem);
	a = pop();
	b = pop();
	assert_int_equal(fx.mem.map_calls, 1);
	vq_push(&fx.vq, a, 8);
	assert_int_equal(vq_flush(&fx.vq), 0);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 0);
	vq_push(&fx.vq, b, 8);
	assert_int_equal(vq_flush(&fx.vq), 1);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, 0);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, 1);
}

/*
 * A queue whose buffers the device holds (an event queue): each chain
 * mapped alone, so a completed one is published at once while the other
 * stays held, and its pages are unmapped before that.
 */
static void test_held_queue_maps_each_chain(void **state)
{
	struct vq_elem *a, *b;
	uint16_t id;
	uint32_t len;

	up(state, 0, 8);
	vq_set_holds_buffers(&fx.vq, true);
	fx.mem.require_map = true;
	add1(DATA, 64, true);
	add1(DATA + 64, 64, true);
	fake_gmem_reset_counters(&fx.mem);
	a = pop();
	b = pop();
	assert_int_equal(fx.mem.map_calls, 2);
	vq_push(&fx.vq, b, 8);
	assert_int_equal(vq_flush(&fx.vq), 1);
	assert_int_equal(fake_gmem_live(&fx.mem), 1); /* a's range only */
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, 1);
	vq_push(&fx.vq, a, 8);
	assert_int_equal(vq_flush(&fx.vq), 1);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
}

static void test_indirect_tables_mapped(void **state)
{
	struct ring_seg s[] = {{DATA, 16, false}, {DATA + 64, 16, true}};

	up(state, IND, 8);
	fx.mem.require_map = true;
	add(s, 2, true);
	add(s, 2, true);
	fake_gmem_reset_counters(&fx.mem);
	vq_push(&fx.vq, pop(), 0);
	vq_push(&fx.vq, pop(), 0);
	vq_flush(&fx.vq);
	/* The batch's tables in one call before they are walked, then one
	 * call for the batch's buffers; the tables unmapped together, the
	 * buffers by the flush. */
	assert_int_equal(fx.mem.map_calls, 2);
	assert_int_equal(fx.mem.unmap_calls, 1 + 1);
	assert_int_equal(fx.mem.ranges_mapped, 2 + 4);
	assert_int_equal(fx.mem.ranges_unmapped, 2 + 4);
	assert_int_equal(fx.mem.bad_unmaps, 0);
	assert_int_equal(fx.mem.unmapped_translates, 0);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
}

/*
 * A table the back-end refuses, in a batch: the batch's table call fails,
 * table by table finds it; the chain before it is served, the refused one
 * breaks the queue when its turn comes (as a table map always did), and
 * nothing stays mapped.
 */
static void test_indirect_table_refused_in_batch(void **state)
{
	struct ring_seg s[] = {{DATA, 16, false}, {DATA + 64, 16, true}};
	int id[3];
	struct vq_elem *e, *x;
	const char *why;

	up(state, IND, 8);
	fx.mem.require_map = true;
	for (int i = 0; i < 3; i++)
		id[i] = add(s, 2, true);
	fx.mem.fault = (struct fake_gmem_fault){
		FAKE_GMEM_FAULT_MAP,
		RING_DRIVER_MEM_TABLES +
			(uint64_t)id[1] * 16 * RING_DRIVER_SEGS_MAX,
		0, -EPERM};
	e = pop();
	assert_int_equal(e->id, id[0]);
	assert_int_equal(e->rd_len, 16);
	assert_int_equal(e->wr_len, 16);
	/* The tables' batch call, then tables one by one up to the bad one,
	 * then the buffers of the one chain kept. */
	assert_int_equal(fx.mem.map_calls, 1 + 2 + 1);
	assert_int_equal(vq_pop(&fx.vq, &x), -EPERM);
	assert_int_equal(vq_broken(&fx.vq, &why), -EPERM);
	assert_non_null(strstr(why, "cannot map indirect table"));
	vq_push(&fx.vq, e, 0);
	vq_flush(&fx.vq);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(fx.mem.bad_unmaps, 0);
}

static void test_region_crossing(void **state)
{
	struct ring_seg s[] = {{DATA2 - 100, 300, false},
			       {DATA2 - 10, 20, true}};
	struct vq_elem *e;

	up(state, 0, 8);
	add(s, 2, false);
	e = pop();
	assert_int_equal(e->rd_num, 2);
	assert_ptr_equal(e->rd_iov[0].iov_base,
			 fake_gmem_ptr(&fx.mem, DATA2 - 100, 100));
	assert_int_equal(e->rd_iov[0].iov_len, 100);
	assert_ptr_equal(e->rd_iov[1].iov_base,
			 fake_gmem_ptr(&fx.mem, DATA2, 200));
	assert_int_equal(e->rd_iov[1].iov_len, 200);
	assert_int_equal(e->wr_num, 2);
	assert_int_equal(e->wr_iov[0].iov_len, 10);
	assert_int_equal(e->wr_iov[1].iov_len, 10);
	assert_int_equal(e->rd_len, 300);
	assert_int_equal(e->wr_len, 20);
}

static void test_short_mappings_split(void **state)
{
	struct vq_elem *e;

	up(state, 0, 8);
	fx.mem.max_map = 64;
	add1(DATA + 8, 200, true);
	e = pop();
	assert_int_equal(e->wr_num, 4);
	assert_int_equal(e->wr_iov[0].iov_len, 64);
	assert_int_equal(e->wr_iov[3].iov_len, 8);
	assert_ptr_equal(e->wr_iov[3].iov_base,
			 fake_gmem_ptr(&fx.mem, DATA + 8 + 192, 8));
}

static void test_short_mappings_overflow_iov(void **state)
{
	struct vq_elem *e;

	up(state, 0, 8);
	fx.mem.max_map = 16;
	add1(DATA, 16 * VQ_IOV_MAX, false); /* exactly fits */
	vq_push(&fx.vq, pop(), 0);
	/* One byte more: 17 pieces. The request is delivered truncated for
	 * the device to fail, the queue goes on. */
	add1(DATA, 16 * VQ_IOV_MAX + 1, false);
	assert_int_equal(vq_pop(&fx.vq, &e), 1);
	assert_true(vq_elem_is_truncated(e));
	assert_int_equal(e->rd_num, VQ_IOV_MAX);
	vq_push(&fx.vq, e, 0);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
	vq_flush(&fx.vq);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(fx.mem.bad_unmaps, 0);
}

static void test_access_rights(void **state)
{
	struct vq_elem *e;

	up(state, 0, 8);
	assert_int_equal(fake_gmem_add(&fx.mem, 0x500000, 0x1000, GMEM_READ),
			 0);
	add1(0x500000, 16, false); /* the device reads: fine */
	e = pop();
	assert_int_equal(e->rd_num, 1);
	vq_push(&fx.vq, e, 0);
	add1(0x500000, 16, true); /* the device would write: refused */
	assert_int_equal(vq_pop(&fx.vq, &e), -EFAULT);
}

static void test_error_after_good_chains(void **state)
{
	struct ring_seg bad[] = {{DATA, 8, true}, {DATA, 8, false}};
	struct vq_elem *e;
	const char *why;

	up(state, 0, 8);
	add1(DATA, 8, true);
	add1(DATA, 8, true);
	add(bad, 2, false);
	add1(DATA, 8, true);
	/* Chains fetched before the bad one are served first. */
	assert_int_equal(pop()->id, 0);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
	assert_int_equal(pop()->id, 1);
	assert_int_equal(vq_pop(&fx.vq, &e), -EINVAL);
	assert_int_equal(vq_broken(&fx.vq, &why), -EINVAL);
	assert_string_equal(why, "readable descriptor after a writable one");
	assert_int_equal(fake_gmem_live(&fx.mem), 2); /* the popped two */
	/* The base points at the bad chain. */
	assert_int_equal(vq_stop(&fx.vq) & 0x7fff, 2);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
}

static void test_translate_failure(void **state)
{
	struct vq_elem *e, *first;

	up(state, 0, 8);
	for (int i = 0; i < 4; i++)
		add1(DATA + 0x1000 * i, 8, false);
	fx.mem.fault = (struct fake_gmem_fault){FAKE_GMEM_FAULT_TRANSLATE,
						DATA + 0x1000, 0, -EIO};
	first = pop();
	assert_int_equal(vq_pop(&fx.vq, &e), -EIO);
	/* The rest of the batch was unmapped; only the popped one is left. */
	assert_int_equal(fake_gmem_live(&fx.mem), 1);
	vq_push(&fx.vq, first, 0);
	assert_int_equal(vq_flush(&fx.vq), 1); /* a broken queue flushes */
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(fx.mem.bad_unmaps, 0);
}

static void test_map_failure_mid_batch(void **state)
{
	struct vq_elem *e[4], *x;
	uint16_t id;
	uint32_t len;

	up(state, 0, 8);
	for (int i = 0; i < 5; i++)
		add1(DATA + 0x1000 * i, 8, true);
	/* The batch call fails; element by element, the third fails. */
	fx.mem.fault = (struct fake_gmem_fault){FAKE_GMEM_FAULT_MAP,
						DATA + 0x2000, 0, -EIO};
	e[0] = pop();
	assert_int_equal(fx.mem.map_calls, 1 + 5); /* batch, then 1 by 1 */
	/* The refused one never reaches the device; the rest are served. */
	e[1] = pop();
	e[2] = pop();
	e[3] = pop();
	assert_int_equal(e[1]->id, 1);
	assert_int_equal(e[2]->id, 3);
	assert_int_equal(e[3]->id, 4);
	assert_int_equal(vq_pop(&fx.vq, &x), 0);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
	assert_int_equal(vq_map_refused(&fx.vq), 1);
	assert_int_equal(fake_gmem_live(&fx.mem), 4);
	/* It is completed with nothing written, first. */
	assert_int_equal(vq_flush(&fx.vq), 1);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(id, 2);
	assert_int_equal(len, 0);
	for (int i = 3; i >= 0; i--)
		vq_push(&fx.vq, e[i], 1);
	vq_flush(&fx.vq);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(fx.mem.bad_unmaps, 0);
	/* A later batch of only refused chains: pop finds nothing, the
	 * chains come back used, the queue stays healthy. */
	fx.mem.fault.gaddr = UINT64_MAX;
	add1(DATA, 8, true);
	add1(DATA + 0x1000, 8, false);
	assert_int_equal(vq_pop(&fx.vq, &x), 0);
	assert_int_equal(vq_map_refused(&fx.vq), 3);
	assert_int_equal(vq_flush(&fx.vq), 1);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(len, 0);
	fx.mem.fault.op = FAKE_GMEM_FAULT_NONE;
	add1(DATA, 8, true);
	vq_push(&fx.vq, pop(), 8);
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
	/* Eight chains consumed: split idx 8, packed slot 8 % 8 wrapped. */
	assert_int_equal(vq_stop(&fx.vq) & 0x7fff,
			 *(const uint64_t *)*state ? 0 : 8);
}

static void test_stop_unmaps_popped(void **state)
{
	struct vq_elem *e[3];

	up(state, 0, 8);
	for (int i = 0; i < 5; i++)
		add1(DATA + 64 * i, 64, true);
	for (int i = 0; i < 3; i++)
		e[i] = pop();
	vq_push(&fx.vq, e[1], 64);
	/* 2 popped, 1 pushed (unmapped by the next flush), 2 ahead */
	assert_int_equal(fake_gmem_live(&fx.mem), 5);
	vq_stop(&fx.vq);
	assert_false(vq_is_started(&fx.vq));
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(fx.mem.bad_unmaps, 0);
	assert_int_equal(fx.mem.ranges_mapped, fx.mem.ranges_unmapped);
}

static void test_reset_unmaps(void **state)
{
	struct vq_elem *e;

	up(state, 0, 8);
	add1(DATA, 8, true);
	add1(DATA, 8, true);
	add1(0x900000, 8, true);
	e = pop();
	vq_push(&fx.vq, e, 8); /* pending, discarded by reset */
	pop();
	assert_int_equal(vq_pop(&fx.vq, &e), -EFAULT);
	vq_reset(&fx.vq);
	assert_false(vq_is_started(&fx.vq));
	assert_int_equal(vq_broken(&fx.vq, NULL), 0);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(vq_flush(&fx.vq), 0);
	assert_int_equal(vq_stop(&fx.vq), 0);
}

/* Ring areas are held from vq_start to vq_stop / vq_reset, each released
 * exactly as translated, and a failed start holds nothing. */
static void test_ring_areas_released(void **state)
{
	struct vq_layout bad;

	up(state, 0, 8);
	assert_int_equal(fake_gmem_persist_live(&fx.mem), 3);
	vq_stop(&fx.vq);
	assert_int_equal(fake_gmem_persist_live(&fx.mem), 0);
	/* Stopping again releases nothing twice. */
	vq_stop(&fx.vq);
	assert_int_equal(fx.mem.releases, 3);
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, fx.drv.features,
				  &fx.drv.layout, fx.drv.base),
			 0);
	assert_int_equal(fake_gmem_persist_live(&fx.mem), 3);
	vq_reset(&fx.vq);
	assert_int_equal(fake_gmem_persist_live(&fx.mem), 0);
	vq_reset(&fx.vq);
	assert_int_equal(fx.mem.releases, 6);
	/* The device area outside memory: the two before it are released. */
	bad = fx.drv.layout;
	bad.device = 0x900000;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, fx.drv.features, &bad,
				  fx.drv.base),
			 -EFAULT);
	assert_int_equal(fake_gmem_persist_live(&fx.mem), 0);
	assert_int_equal(fx.mem.releases, 8);
	/* A ring area across a region end is not contiguous: released. */
	bad = fx.drv.layout;
	bad.desc = RING_DRIVER_MEM_RING + 0x100000 - 64;
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, fx.drv.features, &bad,
				  fx.drv.base),
			 -EFAULT);
	assert_int_equal(fake_gmem_persist_live(&fx.mem), 0);
	assert_int_equal(fx.mem.bad_releases, 0);
	/* vq_destroy (the fixture's) of a started queue releases too. */
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, fx.drv.features,
				  &fx.drv.layout, fx.drv.base),
			 0);
	vq_destroy(&fx.vq);
	assert_int_equal(fake_gmem_persist_live(&fx.mem), 0);
	assert_int_equal(vq_init(&fx.vq, 0, 8), 0);
}

/* A second queue with its own ring in the same memory. */
struct second {
	struct ring_driver drv;
	struct vq vq;
};

static void second_up(struct second *q, uint64_t fmt)
{
	struct ring_driver_cfg cfg = {fmt, 8, RING_DRIVER_MEM_RING + 0x20000, 0,
				      0};

	assert_int_equal(ring_driver_init(&q->drv, &fx.mem, &cfg), 0);
	assert_int_equal(vq_init(&q->vq, 1, 8), 0);
	assert_int_equal(vq_start(&q->vq, &fx.mem.gmem, fmt, &q->drv.layout,
				  q->drv.base),
			 0);
}

static void second_roundtrip(struct second *q)
{
	struct ring_seg s = {DATA, 8, true};
	struct vq_elem *e;
	uint16_t id;
	uint32_t len;

	assert_true(ring_driver_add(&q->drv, &s, 1, false) >= 0);
	ring_driver_publish(&q->drv);
	assert_int_equal(vq_pop(&q->vq, &e), 1);
	vq_push(&q->vq, e, 8);
	vq_flush(&q->vq);
	assert_int_equal(ring_driver_get_used(&q->drv, &id, &len), 1);
	assert_int_equal(len, 8);
}

static void test_broken_queue_isolated(void **state)
{
	uint64_t fmt = *(const uint64_t *)*state;
	struct second q;
	struct vq_elem *e;

	up(state, 0, 8);
	second_up(&q, fmt);
	add1(0x900000, 8, false);
	assert_int_equal(vq_pop(&fx.vq, &e), -EFAULT);
	second_roundtrip(&q);
	/* The driver fixes its ring; the queue stays broken until reset. */
	vq_reset(&fx.vq);
	ring_driver_destroy(&fx.drv);
	assert_int_equal(ring_driver_init(&fx.drv, &fx.mem,
					  &(struct ring_driver_cfg){
						  fmt, 8, RING_DRIVER_MEM_RING,
						  RING_DRIVER_MEM_TABLES, 0}),
			 0);
	add1(DATA, 8, false);
	assert_int_equal(vq_pop(&fx.vq, &e), 0); /* reset: not started */
	assert_int_equal(vq_start(&fx.vq, &fx.mem.gmem, fmt, &fx.drv.layout,
				  fx.drv.base),
			 0);
	assert_int_equal(pop()->id, 0);
	second_roundtrip(&q);
	vq_destroy(&q.vq);
	ring_driver_destroy(&q.drv);
}

static void test_broken_stays_broken(void **state)
{
	struct vq_elem *e;

	up(state, 0, 8);
	add1(0x900000, 8, false);
	add1(DATA, 8, false);
	assert_int_equal(vq_pop(&fx.vq, &e), -EFAULT);
	assert_int_equal(vq_pop(&fx.vq, &e), -EFAULT);
	assert_int_equal(vq_set_notify(&fx.vq, true), 0);
	vq_stop(&fx.vq); /* stop keeps the verdict, start clears it */
	assert_int_equal(vq_broken(&fx.vq, NULL), -EFAULT);
}

/* The table at gaddr crosses from region A into B. */
static void put_crossing_table(uint64_t gaddr)
{
	uint8_t t[48] = {0};
	bool packed = fx.drv.packed;

	for (int k = 0; k < 3; k++) {
		uint64_t addr = htole64(DATA + 64 * k);
		uint32_t len = htole32(8 + k);
		uint16_t flags =
			htole16((k == 2 ? VRING_DESC_F_WRITE : 0) |
				(!packed && k < 2 ? VRING_DESC_F_NEXT : 0));
		uint16_t next = htole16(packed ? 0 : k + 1);

		memcpy(t + 16 * k, &addr, 8);
		memcpy(t + 16 * k + 8, &len, 4);
		memcpy(t + 16 * k + (packed ? 14 : 12), &flags, 2);
		memcpy(t + 16 * k + (packed ? 12 : 14), &next, 2);
	}
	assert_int_equal(fake_gmem_write(&fx.mem, gaddr, t, 48), 0);
}

static void post_indirect(uint64_t table, uint32_t len)
{
	if (fx.drv.packed) {
		struct vring_packed_desc d = {table, len, 0,
					      VRING_DESC_F_INDIRECT};

		ring_driver_packed_post(&fx.drv, &d, 1);
	} else {
		fx.drv.desc[0] =
			(struct vring_desc){htole64(table), htole32(len),
					    htole16(VRING_DESC_F_INDIRECT), 0};
		ring_driver_split_post(&fx.drv, 0);
	}
	ring_driver_publish(&fx.drv);
}

static void test_indirect_table_crossing(void **state)
{
	struct vq_elem *e;

	up(state, IND, 8);
	put_crossing_table(DATA2 - 24); /* entry 1 straddles the boundary */
	post_indirect(DATA2 - 24, 48);
	e = pop();
	assert_int_equal(e->rd_num, 2);
	assert_int_equal(e->rd_len, 8 + 9);
	assert_int_equal(e->wr_num, 1);
	assert_int_equal(e->wr_len, 10);
	assert_ptr_equal(e->wr_iov[0].iov_base,
			 fake_gmem_ptr(&fx.mem, DATA + 128, 10));
	vq_push(&fx.vq, e, 0);
	/* Every entry read in pieces of at most 8 bytes. */
	fx.mem.max_map = 8;
	put_crossing_table(DATA + 0x800);
	post_indirect(DATA + 0x800, 48);
	e = pop();
	assert_int_equal(e->rd_len, 8 + 9);
	assert_int_equal(e->wr_len, 10);
	assert_int_equal(e->wr_num, 2); /* 10 bytes in pieces of 8 */
}

static void test_indirect_table_outside(void **state)
{
	struct vq_elem *e;

	up(state, IND, 8);
	post_indirect(0x900000, 32);
	assert_int_equal(vq_pop(&fx.vq, &e), -EFAULT);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(fx.mem.bad_unmaps, 0);
}

/* The guest rewrites the head descriptor after the device walked it. */
static void rewrite_head(struct fake_gmem *m, void *arg)
{
	struct ring_driver *d = arg;
	uint64_t *addr = d->packed ? (void *)&d->pdesc[d->last_head].addr
				   : (void *)&d->desc[d->last_head].addr;
	uint32_t *len = (uint32_t *)(addr + 1);

	(void)m;
	*addr = htole64(0x900000);
	*len = htole32(0x7fffffff);
}

static void test_descriptor_copied_once(void **state)
{
	struct vq_elem *e;

	up(state, 0, 8);
	add1(DATA + 32, 16, true);
	fx.mem.map_hook = rewrite_head;
	fx.mem.map_hook_arg = &fx.drv;
	e = pop();
	/* What was validated is what is used: the first copy. */
	assert_int_equal(e->wr_num, 1);
	assert_int_equal(e->wr_len, 16);
	assert_ptr_equal(e->wr_iov[0].iov_base,
			 fake_gmem_ptr(&fx.mem, DATA + 32, 16));
	assert_int_equal(e->wr_iov[0].iov_len, 16);
	vq_push(&fx.vq, e, 16);
	vq_flush(&fx.vq);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(fx.mem.bad_unmaps, 0);
}

static void test_written_clamped(void **state)
{
	struct ring_seg s[] = {{DATA, 100, false}, {DATA, 10, true}};
	uint16_t id;
	uint32_t len;

	up(state, 0, 8);
	add(s, 2, false);
	vq_push(&fx.vq, pop(), 1000);
	vq_flush(&fx.vq);
	assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(len, 10);
}

/*
 * Direct memory (vhost-user's fd-backed regions): no map_batch or
 * unmap_batch at all, iovecs straight from the translation window, one
 * per segment; a segment outside the window (another region) still
 * converts; and an element mapped while the memory needed it is unmapped
 * even after the memory became direct.
 */
static void test_direct_memory(void **state)
{
	struct ring_seg s[3] = {
		{DATA, 8, false}, {DATA + 0x100, 4, true}, {DATA2, 1, true}};
	struct vq_elem *e, *held;
	uint16_t id;
	uint32_t len;

	up(state, IND, 16);
	/* Mapped memory first: one element held across the switch. */
	add(s, 3, false);
	held = pop();
	assert_int_equal(fake_gmem_live(&fx.mem), 3);

	fx.mem.gmem.direct = true;
	fake_gmem_reset_counters(&fx.mem);
	add(s, 3, false);
	add(s, 2, true); /* indirect table: not mapped either */
	for (int k = 0; k < 2; k++) {
		e = pop();
		assert_int_equal(e->rd_num, 1);
		assert_int_equal(e->rd_len, 8);
		assert_int_equal(e->wr_num, k ? 1 : 2);
		assert_int_equal(e->wr_len, k ? 4 : 5);
		assert_ptr_equal(e->rd_iov[0].iov_base,
				 fake_gmem_ptr(&fx.mem, DATA, 8));
		assert_ptr_equal(e->wr_iov[0].iov_base,
				 fake_gmem_ptr(&fx.mem, DATA + 0x100, 4));
		if (!k)
			assert_ptr_equal(e->wr_iov[1].iov_base,
					 fake_gmem_ptr(&fx.mem, DATA2, 1));
		vq_push(&fx.vq, e, 1);
	}
	assert_int_equal(fx.mem.map_calls, 0);
	assert_int_equal(fx.mem.unmap_calls, 0);
	/* The element mapped before the switch: unmapped exactly once. */
	vq_push(&fx.vq, held, 0);
	vq_flush(&fx.vq);
	assert_int_equal(fx.mem.unmap_calls, 1);
	assert_int_equal(fake_gmem_live(&fx.mem), 0);
	assert_int_equal(fx.mem.bad_unmaps, 0);
	for (int k = 0; k < 3; k++)
		assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
}

/*
 * Direct memory, segments converted as they are walked: a segment outside
 * the window stops that, and the ones walked before it are converted
 * again at vq_pop from what the walk kept; in an indirect table (whose
 * read moves the seam's window to the table's region) the window the walk
 * began with still holds for the entries.
 */
static void test_direct_window_miss(void **state)
{
	struct ring_seg s[3] = {{DATA + 0x40, 8, false},
				{DATA + 0x100, 4, true},
				{DATA2 + 0x10, 1, true}};
	struct vq_elem *e;
	uint16_t id;
	uint32_t len;

	up(state, IND, 16);
	fx.mem.gmem.direct = true;
	for (int ind = 0; ind < 2; ind++) {
		/* The window on region A: a request converted there. */
		add1(DATA, 8, false);
		vq_push(&fx.vq, pop(), 0);
		add(s, 3, ind);
		e = pop();
		assert_int_equal(e->rd_num, 1);
		assert_int_equal(e->rd_len, 8);
		assert_int_equal(e->wr_num, 2);
		assert_int_equal(e->wr_len, 5);
		assert_ptr_equal(e->rd_iov[0].iov_base,
				 fake_gmem_ptr(&fx.mem, DATA + 0x40, 8));
		assert_int_equal(e->rd_iov[0].iov_len, 8);
		assert_ptr_equal(e->wr_iov[0].iov_base,
				 fake_gmem_ptr(&fx.mem, DATA + 0x100, 4));
		assert_int_equal(e->wr_iov[0].iov_len, 4);
		assert_ptr_equal(e->wr_iov[1].iov_base,
				 fake_gmem_ptr(&fx.mem, DATA2 + 0x10, 1));
		assert_int_equal(e->wr_iov[1].iov_len, 1);
		vq_push(&fx.vq, e, 5);
	}
	vq_flush(&fx.vq);
	for (int k = 0; k < 4; k++)
		assert_int_equal(ring_driver_get_used(&fx.drv, &id, &len), 1);
	assert_int_equal(fx.mem.map_calls, 0);
}

/*
 * The element pool is touched only as far as the ring needs elements at
 * once: a hundred requests one at a time use one element, four at once
 * four, whatever the queue size.
 */
static void test_pool_touched_as_used(void **state)
{
	struct vq_elem *e[4];

	up(state, 0, 256);
	for (int i = 0; i < 100; i++) {
		add1(DATA, 8, false);
		vq_push(&fx.vq, pop(), 0);
		vq_flush(&fx.vq);
		assert_int_equal(ring_driver_get_used(&fx.drv, &(uint16_t){0},
						      &(uint32_t){0}),
				 1);
	}
	assert_int_equal(fx.vq.used_slots, 1);
	for (int i = 0; i < 4; i++)
		add1(DATA + 64 * i, 8, false);
	for (int i = 0; i < 4; i++)
		e[i] = pop();
	for (int i = 0; i < 4; i++)
		vq_push(&fx.vq, e[i], 0);
	assert_int_equal(fx.vq.used_slots, 4);
	assert_int_equal(vq_held_slots(&fx.vq), 4);
}

#define T2(f)                                                    \
	{"split/" #f, f, NULL, down, (void *)&formats[0]},       \
	{                                                        \
		"packed/" #f, f, NULL, down, (void *)&formats[1] \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_errors),
		T2(test_base_fresh),
		T2(test_empty),
		T2(test_iov_layout),
		T2(test_batch_one_map_call),
		T2(test_batch_mates_published_together),
		T2(test_held_queue_maps_each_chain),
		T2(test_apart_batch_published_at_once),
		T2(test_pushed_unmapped_by_stop),
		T2(test_pushed_dropped_by_reset),
		T2(test_indirect_tables_mapped),
		T2(test_indirect_table_refused_in_batch),
		T2(test_region_crossing),
		T2(test_short_mappings_split),
		T2(test_short_mappings_overflow_iov),
		T2(test_access_rights),
		T2(test_error_after_good_chains),
		T2(test_translate_failure),
		T2(test_map_failure_mid_batch),
		T2(test_stop_unmaps_popped),
		T2(test_reset_unmaps),
		T2(test_ring_areas_released),
		T2(test_broken_queue_isolated),
		T2(test_broken_stays_broken),
		T2(test_indirect_table_crossing),
		T2(test_indirect_table_outside),
		T2(test_descriptor_copied_once),
		T2(test_written_clamped),
		T2(test_direct_memory),
		T2(test_direct_window_miss),
		T2(test_pool_touched_as_used),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
