// SPDX-License-Identifier: MIT
/*
 * Unit tests for xen/xen_ioreq_slot.c: answering one vCPU's ioreq slot
 * the way Xen on Arm hands MMIO accesses to an IOREQ server.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "log.h"
#include "xen_ioreq_slot.h"

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

/* A window that records what it was asked and answers reads with a
 * pattern of the offset. */
struct rec_win {
	struct xen_ioreq_window w;
	unsigned reads, writes, invalidates;
	uint32_t last_off;
	unsigned last_size;
	uint64_t last_val;
	int fail;
};

static int rec_read(struct xen_ioreq_window *w, uint32_t off, unsigned size,
		    uint64_t *val)
{
	struct rec_win *r = container_of(w, struct rec_win, w);

	r->reads++;
	r->last_off = off;
	r->last_size = size;
	*val = 0x1122334455667788ull + off;
	return r->fail;
}

static int rec_write(struct xen_ioreq_window *w, uint32_t off, unsigned size,
		     uint64_t val)
{
	struct rec_win *r = container_of(w, struct rec_win, w);

	r->writes++;
	r->last_off = off;
	r->last_size = size;
	r->last_val = val;
	return r->fail;
}

static void rec_invalidate(struct xen_ioreq_window *w)
{
	container_of(w, struct rec_win, w)->invalidates++;
}

static const struct xen_ioreq_window_ops rec_ops = {rec_read, rec_write,
						    rec_invalidate};

static struct rec_win a, b;
static struct xen_ioreq_table table;
static struct xen_ioreq_stats st;
static struct log_ratelimit rl;
static unsigned warnings;

static void count_warnings(enum log_level level, const char *line)
{
	(void)line;
	if (level == LOG_LEVEL_WARN)
		warnings++;
}

static int setup(void **state)
{
	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.w = (struct xen_ioreq_window){&rec_ops, 0x2000000, 0x200};
	b.w = (struct xen_ioreq_window){&rec_ops, 0x2000200, 0x200};
	table = (struct xen_ioreq_table){{&a.w, &b.w}, 2};
	memset(&st, 0, sizeof(st));
	memset(&rl, 0, sizeof(rl));
	warnings = 0;
	log_set_hook(count_warnings);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_hook(NULL);
	return 0;
}

static struct ioreq mmio(uint64_t addr, unsigned size, int dir, uint64_t data)
{
	struct ioreq r;

	memset(&r, 0, sizeof(r));
	r.addr = addr;
	r.size = size;
	r.count = 1;
	r.dir = dir;
	r.data = data;
	r.type = IOREQ_TYPE_COPY;
	r.vp_eport = 7;
	r.state = STATE_IOREQ_READY;
	return r;
}

static int serve(struct ioreq *r)
{
	return xen_ioreq_slot_serve(r, &table, &st, "test", &rl);
}

static void test_read_routed_to_window(void **state)
{
	struct ioreq r = mmio(0x2000200 + 0x70, 4, IOREQ_READ, 0);

	(void)state;
	assert_int_equal(serve(&r), 1);
	assert_int_equal(r.state, STATE_IORESP_READY);
	assert_int_equal(b.reads, 1);
	assert_int_equal(a.reads, 0);
	assert_int_equal(b.last_off, 0x70);
	assert_int_equal(b.last_size, 4);
	/* Only the access's bytes reach the guest. */
	assert_int_equal(r.data, (0x1122334455667788ull + 0x70) & 0xffffffff);
	assert_int_equal(r.vp_eport, 7);
	assert_int_equal(st.reads, 1);
}

static void test_read_sizes(void **state)
{
	static const unsigned sizes[] = {1, 2, 4, 8};

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		struct ioreq r = mmio(0x2000100, sizes[i], IOREQ_READ, 0);
		uint64_t want = 0x1122334455667788ull + 0x100;

		assert_int_equal(serve(&r), 1);
		if (sizes[i] < 8)
			want &= (1ull << (8 * sizes[i])) - 1;
		assert_int_equal(r.data, want);
		assert_int_equal(a.last_size, sizes[i]);
	}
}

static void test_write_routed_and_masked(void **state)
{
	struct ioreq r = mmio(0x2000000 + 0x70, 1, IOREQ_WRITE, 0xabcd0f);

	(void)state;
	assert_int_equal(serve(&r), 1);
	assert_int_equal(r.state, STATE_IORESP_READY);
	assert_int_equal(a.writes, 1);
	assert_int_equal(a.last_off, 0x70);
	assert_int_equal(a.last_val, 0x0f);
	assert_int_equal(st.writes, 1);
}

static void test_not_ready_is_left_alone(void **state)
{
	static const unsigned states[] = {
		STATE_IOREQ_NONE, STATE_IOREQ_INPROCESS, STATE_IORESP_READY};

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		struct ioreq r = mmio(0x2000000, 4, IOREQ_READ, 0x55);

		r.state = states[i];
		assert_int_equal(serve(&r), 0);
		assert_int_equal(r.state, states[i]);
		assert_int_equal(r.data, 0x55);
	}
	assert_int_equal(a.reads + b.reads, 0);
}

static void test_failed_read_gives_all_ones(void **state)
{
	struct ioreq r = mmio(0x2000000 + 0x44, 4, IOREQ_READ, 0);

	(void)state;
	a.fail = -EINVAL;
	assert_int_equal(serve(&r), 1);
	assert_int_equal(r.data, 0xffffffff);
	assert_int_equal(r.state, STATE_IORESP_READY);
}

static void test_unclaimed_answered(void **state)
{
	struct ioreq r = mmio(0x2000400, 4, IOREQ_READ, 0);
	struct ioreq w = mmio(0x1ffffff, 4, IOREQ_WRITE, 1);
	/* Straddles the end of b's window. */
	struct ioreq s = mmio(0x20003fc, 8, IOREQ_READ, 0);

	(void)state;
	assert_int_equal(serve(&r), 1);
	assert_int_equal(r.data, 0xffffffff);
	assert_int_equal(serve(&w), 1);
	assert_int_equal(w.state, STATE_IORESP_READY);
	assert_int_equal(serve(&s), 1);
	assert_int_equal(s.data, ~0ull);
	assert_int_equal(st.unclaimed, 3);
	assert_int_equal(a.reads + a.writes + b.reads + b.writes, 0);
	assert_true(warnings >= 1);
}

static void test_unsupported_answered(void **state)
{
	struct ioreq sz = mmio(0x2000000, 3, IOREQ_READ, 0);
	struct ioreq rep = mmio(0x2000000, 4, IOREQ_READ, 0);
	struct ioreq ptr = mmio(0x2000000, 4, IOREQ_WRITE, 0x1000);
	struct ioreq pio = mmio(0x2000000, 4, IOREQ_READ, 0);

	(void)state;
	rep.count = 2;
	ptr.data_is_ptr = 1;
	pio.type = IOREQ_TYPE_PIO;
	assert_int_equal(serve(&sz), 1);
	assert_int_equal(sz.data, ~0ull);
	assert_int_equal(serve(&rep), 1);
	assert_int_equal(serve(&ptr), 1);
	assert_int_equal(serve(&pio), 1);
	assert_int_equal(pio.data, ~0ull);
	assert_int_equal(pio.state, STATE_IORESP_READY);
	assert_int_equal(st.bad, 4);
	assert_int_equal(a.reads + a.writes, 0);
}

static void test_invalidate_reaches_every_window(void **state)
{
	struct ioreq r = mmio(0, 0, IOREQ_WRITE, 0);

	(void)state;
	r.type = IOREQ_TYPE_INVALIDATE;
	r.count = 0;
	assert_int_equal(serve(&r), 1);
	assert_int_equal(r.state, STATE_IORESP_READY);
	assert_int_equal(a.invalidates, 1);
	assert_int_equal(b.invalidates, 1);
	assert_int_equal(st.invalidates, 1);
	assert_int_equal(a.reads + a.writes + b.reads + b.writes, 0);
}

static void test_find(void **state)
{
	(void)state;
	assert_ptr_equal(xen_ioreq_table_find(&table, 0x2000000, 4), &a.w);
	assert_ptr_equal(xen_ioreq_table_find(&table, 0x20001fc, 4), &a.w);
	assert_null(xen_ioreq_table_find(&table, 0x20001fe, 4));
	assert_ptr_equal(xen_ioreq_table_find(&table, 0x2000200, 8), &b.w);
	assert_null(xen_ioreq_table_find(&table, 0x2000400, 1));
	assert_null(xen_ioreq_table_find(&table, 0x1fffffc, 4));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_read_routed_to_window),
		T(test_read_sizes),
		T(test_write_routed_and_masked),
		T(test_not_ready_is_left_alone),
		T(test_failed_read_gives_all_ones),
		T(test_unclaimed_answered),
		T(test_unsupported_answered),
		T(test_invalidate_reaches_every_window),
		T(test_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
