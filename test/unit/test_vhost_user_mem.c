// SPDX-License-Identifier: MIT
/*
 * vhost-user memory tables (core/vhost_user_mem.c): SET_MEM_TABLE,
 * ADD_MEM_REG, REM_MEM_REG valid and invalid, table changes under running
 * rings, and the XEN_MMAP region form: wire layout, flag validation, the
 * region mapper seam (refused without a mapper, delegated with one).
 */

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "fake_xen_sys.h"
#include "vhost_user_int.h"
#include "vhu_frontend.h"
#include "xen_vhu_mapper.h"

#define XEN_GPA 0x40000000ull /* a Xen region, mapped by the fake mapper */

static struct fe f;

static int setup(void **state)
{
	(void)state;
	fe_init(&f, NULL);
	fe_negotiate(&f);
	fe_mem_create(&f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fe_fini(&f);
	return 0;
}

struct table {
	struct vhu_mem_hdr h;
	struct vhu_region r[VHU_MEM_REGIONS_MAX + 1];
};

static int64_t set_table(const struct vhu_region *r, unsigned n, const int *fds,
			 unsigned nfds)
{
	struct table t = {.h = {n, 0}};

	if (n)
		memcpy(t.r, r, n * sizeof(*r));
	return fe_ack(&f, VHU_SET_MEM_TABLE, &t, sizeof(t.h) + n * sizeof(*r),
		      fds, nfds);
}

struct single {
	struct vhu_mem_single_hdr h;
	struct vhu_region r;
};

static int64_t add_reg(struct vhu_region r, int fd)
{
	struct single s = {{0}, r};

	return fe_ack(&f, VHU_ADD_MEM_REG, &s, sizeof(s), &fd, fd < 0 ? 0 : 1);
}

static int64_t rem_reg(struct vhu_region r, int fd)
{
	struct single s = {{0}, r};

	return fe_ack(&f, VHU_REM_MEM_REG, &s, sizeof(s), &fd, fd < 0 ? 0 : 1);
}

static const struct vhu_region whole = {FE_GPA, FE_SIZE, FE_UVA, 0};

static void expect_disconnect(void)
{
	assert_false(fe_connected(&f));
	fe_close_fd(&f.sock);
}

static void test_set_table(void **state)
{
	/* The memory in two halves, the second at an offset in the file. */
	struct vhu_region two[] = {
		{FE_GPA, FE_SIZE / 2, FE_UVA, 0},
		{FE_GPA + FE_SIZE / 2, FE_SIZE / 2, FE_UVA + FE_SIZE / 2,
		 FE_SIZE / 2},
	};
	int fds[] = {f.memfd, f.memfd};

	(void)state;
	assert_int_equal(set_table(two, 2, fds, 2), 0);
	fe_ring_start(&f, 0, 0);
	fe_ring_start(&f, 1, 0);
	fe_echo(&f, 0, "low");
	fe_echo(&f, 1, "high");
	/* An empty table is a table. */
	assert_int_equal(set_table(NULL, 0, NULL, 0), 0);
}

static void test_set_table_invalid(void **state)
{
	struct vhu_region r[2] = {whole, whole};
	int fds[] = {f.memfd, f.memfd}, efd = fe_eventfd();

	(void)state;
	r[1].gpa = FE_GPA + 0x1000; /* overlaps */
	r[1].uva = FE_UVA + FE_SIZE;
	assert_int_equal(set_table(r, 2, fds, 2), 1);
	r[0].size = 0;
	assert_int_equal(set_table(r, 1, fds, 1), 1);
	r[0] = (struct vhu_region){UINT64_MAX - 0xfff, 0x2000, 0, 0};
	assert_int_equal(set_table(r, 1, fds, 1), 1);
	r[0] = (struct vhu_region){FE_GPA, FE_SIZE * 2, FE_UVA, 0}; /* > file */
	assert_int_equal(set_table(r, 1, fds, 1), 1);
	assert_int_equal(set_table(&whole, 1, &efd, 1), 1); /* not mappable */
	/* The old table survives failed replacements. */
	assert_int_equal(set_table(&whole, 1, &f.memfd, 1), 0);
	assert_int_equal(set_table(r, 1, fds, 1), 1);
	fe_ring_start(&f, 0, 0);
	fe_echo(&f, 0, "kept");
	close(efd);
}

static void test_set_table_malformed(void **state)
{
	struct table t = {.h = {9, 0}};
	int fds[VHU_MEM_REGIONS_MAX];

	(void)state;
	for (unsigned i = 0; i < VHU_MEM_REGIONS_MAX; i++)
		fds[i] = f.memfd;
	/* More than 8 regions. */
	fe_send(&f, VHU_SET_MEM_TABLE, VHU_VERSION, &t, sizeof(t), fds, 8);
	fe_pump(&f);
	expect_disconnect();
	/* Fd count differs from the region count. */
	fe_connect(&f);
	assert_int_equal(set_table(&whole, 1, NULL, 0), FE_ACK_NONE);
	expect_disconnect();
	/* Payload size differs from the region count. */
	fe_connect(&f);
	t.h.nregions = 2;
	fe_send(&f, VHU_SET_MEM_TABLE, VHU_VERSION, &t,
		sizeof(t.h) + sizeof(t.r[0]), fds, 2);
	fe_pump(&f);
	expect_disconnect();
}

/* A new table under running rings: they restart and go on. */
static void test_set_table_running(void **state)
{
	struct vhu_region moved = whole;

	(void)state;
	assert_int_equal(set_table(&whole, 1, &f.memfd, 1), 0);
	fe_ring_start(&f, 0, 0);
	fe_echo(&f, 0, "before");
	assert_int_equal(set_table(&whole, 1, &f.memfd, 1), 0);
	fe_echo(&f, 0, "after");
	/* The front-end's addresses change: the ring is lost, err fd says so.
	 */
	moved.uva += 0x10000000;
	assert_int_equal(set_table(&moved, 1, &f.memfd, 1), 0);
	assert_true(fe_wait(f.err[0], 2000));
	assert_false(virtio_dev_queue_is_started(&f.echo.vdev, 0));
}

static void test_add_rem(void **state)
{
	struct vhu_region lo = {FE_GPA, FE_SIZE / 2, FE_UVA, 0};
	struct vhu_region hi = {FE_GPA + FE_SIZE / 2, FE_SIZE / 2,
				FE_UVA + FE_SIZE / 2, FE_SIZE / 2};
	int before;

	(void)state;
	assert_int_equal(fe_get(&f, VHU_GET_MAX_MEM_SLOTS),
			 GMEM_MMAP_REGIONS_MAX);
	assert_int_equal(add_reg(lo, f.memfd), 0);
	assert_int_equal(add_reg(lo, f.memfd), 1); /* overlaps */
	fe_ring_start(&f, 0, 0);		   /* rings in the low half */
	assert_int_equal(add_reg(hi, f.memfd), 0); /* running: undisturbed */
	fe_echo(&f, 0, "both");			   /* data in the high half */
	/* Removing needs gpa, size and uva to match. */
	hi.uva += 1;
	assert_int_equal(rem_reg(hi, -1), 1);
	hi.uva -= 1;
	/* An fd on REM_MEM_REG is tolerated and closed. */
	before = fe_count_fds();
	assert_int_equal(rem_reg(hi, f.memfd), 0);
	assert_int_equal(fe_count_fds(), before);
	assert_int_equal(rem_reg(hi, -1), 1); /* gone */
	/* Removing the rings' memory stops them, loudly. */
	assert_int_equal(rem_reg(lo, -1), 0);
	assert_true(fe_wait(f.err[0], 2000));
}

static void test_add_full_and_malformed(void **state)
{
	struct vhu_region r = {0, 0x1000, 0x10000000, 0};

	(void)state;
	for (unsigned i = 0; i < GMEM_MMAP_REGIONS_MAX; i++) {
		r.gpa = (uint64_t)i * 0x1000;
		r.uva = 0x10000000 + (uint64_t)i * 0x1000;
		assert_int_equal(add_reg(r, f.memfd), 0);
	}
	r.gpa = 0x800000;
	assert_int_equal(add_reg(r, f.memfd), 1); /* no free slot */
	r.size = 0;
	assert_int_equal(add_reg(r, f.memfd), 1);
	assert_true(fe_connected(&f));
	/* ADD_MEM_REG without its fd. */
	assert_int_equal(add_reg(r, -1), FE_ACK_NONE);
	expect_disconnect();
}

/* ---- XEN_MMAP ------------------------------------------------------------ */

struct fake_mapper {
	struct vhu_region_mapper m;
	struct fake_gmem mem; /* what a Xen region maps to */
	struct vhu_xen_region last;
	int maps, unmaps, fail;
	bool fd_ok;
};

static int fm_map(struct vhu_region_mapper *m, const struct vhu_xen_region *r,
		  int fd, struct gmem **out)
{
	struct fake_mapper *fm = container_of(m, struct fake_mapper, m);

	fm->fd_ok = fd >= 0;
	fm->last = *r;
	if (fm->fail)
		return fm->fail;
	fm->maps++;
	*out = &fm->mem.gmem;
	return 0;
}

static void fm_unmap(struct vhu_region_mapper *m, struct gmem *g)
{
	struct fake_mapper *fm = container_of(m, struct fake_mapper, m);

	assert_ptr_equal(g, &fm->mem.gmem);
	fm->unmaps++;
}

static const struct vhu_region_mapper_ops fm_ops = {fm_map, fm_unmap};

static struct fake_mapper fm;

/* Start over with a server offering XEN_MMAP (and a mapper, or not). */
static void xen_server(bool with_mapper)
{
	struct vhu_server_opts o = {.name = "xen",
				    .offer_xen_mmap = true,
				    .xen_mapper = with_mapper ? &fm.m : NULL};

	fe_fini(&f);
	memset(&fm, 0, sizeof(fm));
	fm.m.ops = &fm_ops;
	assert_int_equal(fake_gmem_init(&fm.mem), 0);
	assert_int_equal(fake_gmem_add(&fm.mem, XEN_GPA, 0x10000,
				       GMEM_READ | GMEM_WRITE),
			 0);
	fe_init(&f, &o);
	fe_negotiate(
		&f); /* acks every offered protocol feature, XEN_MMAP too */
	fe_mem_create(&f);
}

struct xen_table {
	struct vhu_mem_hdr h;
	struct vhu_region_xen r[2];
};

static int64_t xen_table(uint32_t flags, uint32_t domid)
{
	struct xen_table t = {
		{2, 0},
		{{FE_GPA, FE_SIZE, FE_UVA, 0, 0, 0},
		 {XEN_GPA, 0x10000, 0x7f3300000000ull, 0x5000, flags, domid}},
	};
	int fds[] = {f.memfd, f.memfd};

	return fe_ack(&f, VHU_SET_MEM_TABLE, &t, sizeof(t), fds, 2);
}

static void test_xen_wire_sizes(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct vhu_region_xen), 40);
	assert_int_equal(offsetof(struct vhu_region_xen, xen_mmap_flags), 32);
	assert_int_equal(offsetof(struct vhu_region_xen, domid), 36);
	assert_int_equal(sizeof(struct vhu_region), 32);
}

static void test_xen_flags(void **state)
{
	static const struct {
		uint32_t flags;
		int err;
	} cases[] = {
		{0, 0}, /* a plain fd region in the Xen form */
		{VHU_XEN_MMAP_FOREIGN, 0},
		{VHU_XEN_MMAP_GRANT, 0},
		{VHU_XEN_MMAP_GRANT | VHU_XEN_MMAP_MAP_ON_DEMAND, 0},
		{VHU_XEN_MMAP_GRANT | VHU_XEN_MMAP_MAP_ON_DEMAND_RUST, 0},
		{VHU_XEN_MMAP_FOREIGN | VHU_XEN_MMAP_GRANT, -EINVAL},
		{VHU_XEN_MMAP_MAP_ON_DEMAND, -EINVAL},
		{VHU_XEN_MMAP_MAP_ON_DEMAND_RUST, -EINVAL},
		{VHU_XEN_MMAP_FOREIGN | VHU_XEN_MMAP_MAP_ON_DEMAND, -EINVAL},
		{VHU_XEN_MMAP_GRANT | 0x10, -EINVAL},
		{VHU_XEN_MMAP_FOREIGN | 0x80000000u, -EINVAL},
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vhu_mem_region r = {.gpa = 0x1000,
					   .size = 0x1000,
					   .xen = true,
					   .xen_mmap_flags = cases[i].flags};
		const char *why = NULL;

		assert_int_equal(vhu_region_check(&r, &why), cases[i].err);
		if (cases[i].err)
			assert_non_null(why);
	}
	{
		struct vhu_mem_region r = {
			.gpa = 0, .size = 0x1000, .uva = UINT64_MAX};
		const char *why;

		assert_int_equal(vhu_region_check(&r, &why), -EOVERFLOW);
		r.uva = 0;
		r.mmap_offset = UINT64_MAX;
		assert_int_equal(vhu_region_check(&r, &why), -EOVERFLOW);
		r.mmap_offset = 0;
		r.size = 0;
		assert_int_equal(vhu_region_check(&r, &why), -EINVAL);
	}
}

static void test_xen_without_mapper(void **state)
{
	(void)state;
	xen_server(false);
	/* Validated, then refused cleanly: the mapping comes later. */
	assert_int_equal(xen_table(VHU_XEN_MMAP_FOREIGN, 3), 1);
	assert_int_equal(
		xen_table(VHU_XEN_MMAP_GRANT | VHU_XEN_MMAP_MAP_ON_DEMAND, 3),
		1);
	assert_int_equal(
		xen_table(VHU_XEN_MMAP_FOREIGN | VHU_XEN_MMAP_GRANT, 3), 1);
	assert_true(fe_connected(&f));
	/* Plain regions in the Xen form work without a mapper. */
	assert_int_equal(xen_table(0, 0), 0);
	fe_ring_start(&f, 0, 0);
	fe_echo(&f, 0, "plain");
	fake_gmem_destroy(&fm.mem);
}

static void test_xen_with_mapper(void **state)
{
	struct ring_seg segs[] = {
		{.gaddr = FE_DATA, .len = 4},
		{.gaddr = XEN_GPA + 0x100, .len = 16, .write = true},
	};
	uint16_t id;
	uint32_t len;
	char out[4];

	(void)state;
	xen_server(true);
	assert_int_equal(
		xen_table(VHU_XEN_MMAP_GRANT | VHU_XEN_MMAP_MAP_ON_DEMAND_RUST,
			  7),
		0);
	assert_int_equal(fm.maps, 1);
	assert_true(fm.fd_ok);
	assert_int_equal(fm.last.gpa, XEN_GPA);
	assert_int_equal(fm.last.size, 0x10000);
	assert_int_equal(fm.last.uva, 0x7f3300000000ull);
	assert_int_equal(fm.last.mmap_offset, 0x5000);
	assert_int_equal(fm.last.xen_mmap_flags,
			 VHU_XEN_MMAP_GRANT | VHU_XEN_MMAP_MAP_ON_DEMAND_RUST);
	assert_int_equal(fm.last.domid, 7);
	/* The device writes into the Xen region through the mapper's gmem. */
	fe_ring_start(&f, 0, 0);
	assert_int_equal(fake_gmem_write(&f.fgm, FE_DATA, "xen!", 4), 0);
	assert_true(ring_driver_add(&f.drv[0], segs, 2, false) >= 0);
	ring_driver_publish(&f.drv[0]);
	fe_signal(f.kick[0]);
	assert_true(fe_wait(f.call[0], 2000));
	assert_int_equal(ring_driver_get_used(&f.drv[0], &id, &len), 1);
	assert_int_equal(len, 4);
	assert_int_equal(fake_gmem_read(&fm.mem, XEN_GPA + 0x100, out, 4), 0);
	assert_memory_equal(out, "xen!", 4);
	/* A replaced table releases the old Xen region. */
	assert_int_equal(xen_table(VHU_XEN_MMAP_FOREIGN, 7), 0);
	assert_int_equal(fm.unmaps, 1);
	fm.fail = -ENXIO;
	assert_int_equal(xen_table(VHU_XEN_MMAP_GRANT, 7), 1);
	assert_int_equal(fm.unmaps, 1);
	/* The spec's bit-8 map-on-demand is accepted too. */
	fm.fail = 0;
	assert_int_equal(
		xen_table(VHU_XEN_MMAP_GRANT | VHU_XEN_MMAP_MAP_ON_DEMAND, 7),
		0);
	assert_int_equal(fm.unmaps, 2);
	fe_disconnect(&f); /* drops every mapping */
	assert_int_equal(fm.unmaps, 3);
	assert_int_equal(fm.maps, 3);
	fake_gmem_destroy(&fm.mem);
}

static void test_xen_wire_form(void **state)
{
	struct {
		struct vhu_mem_single_hdr h;
		struct vhu_region_xen r;
	} s = {{0},
	       {XEN_GPA, 0x10000, 0x7f3300000000ull, 0, VHU_XEN_MMAP_FOREIGN,
		9}};

	(void)state;
	xen_server(true);
	assert_int_equal(
		fe_ack(&f, VHU_ADD_MEM_REG, &s, sizeof(s), &f.memfd, 1), 0);
	assert_int_equal(fm.last.domid, 9);
	assert_int_equal(fe_ack(&f, VHU_REM_MEM_REG, &s, sizeof(s), NULL, 0),
			 0);
	assert_int_equal(fm.unmaps, 1);
	/* The 32-byte form once XEN_MMAP is negotiated: malformed. */
	assert_int_equal(add_reg(whole, f.memfd), FE_ACK_NONE);
	expect_disconnect();
	fe_connect(&f);
	fe_negotiate(&f);
	assert_int_equal(set_table(&whole, 1, &f.memfd, 1), FE_ACK_NONE);
	expect_disconnect();
	fake_gmem_destroy(&fm.mem);
}

/*
 * The real XEN_MMAP mapper (xen/) on the fake Xen library: an fd region, a
 * grant region and a foreign region in one table, requests moving bytes
 * between all three, one grant map call for the batch, everything
 * released at disconnect.
 */
static void test_xen_real_mapper(void **state)
{
	const uint64_t grant = (1ull << 63) | (5ull << 12) | 0x10;
	struct {
		struct vhu_mem_hdr h;
		struct vhu_region_xen r[3];
	} t = {{3, 0},
	       {{FE_GPA, FE_SIZE, FE_UVA, 0, 0, 0},
		{1ull << 63, 1ull << 32, 0x7f3300000000ull, 0,
		 VHU_XEN_MMAP_GRANT | VHU_XEN_MMAP_MAP_ON_DEMAND_RUST, 1},
		{0, 64 * 0x1000, 0x7f3400000000ull, 0, VHU_XEN_MMAP_FOREIGN,
		 1}}};
	struct ring_seg a[] = {{.gaddr = FE_DATA, .len = 8},
			       {.gaddr = grant, .len = 16, .write = true}};
	struct ring_seg b[] = {
		{.gaddr = 3 * 0x1000, .len = 8},
		{.gaddr = FE_DATA + 0x800, .len = 16, .write = true}};
	struct vhu_region_mapper *mapper;
	struct fake_xen fx;
	int fds[] = {f.memfd, f.memfd, f.memfd};
	struct vhu_server_opts o = {.name = "xen", .offer_xen_mmap = true};
	uint16_t id;
	uint32_t len;
	char out[8];

	(void)state;
	assert_int_equal(fake_xen_init(&fx, 64), 0);
	fake_xen_current = &fx;
	assert_int_equal(xen_vhu_mapper_create_with(&mapper, 4, fake_xen_open),
			 0);
	o.xen_mapper = mapper;
	fe_fini(&f);
	fe_init(&f, &o);
	fe_negotiate(&f);
	fe_mem_create(&f);
	fds[0] = fds[1] = fds[2] = f.memfd;
	assert_int_equal(fe_ack(&f, VHU_SET_MEM_TABLE, &t, sizeof(t), fds, 3),
			 0);
	fake_xen_grant(&fx, 5, 9, false);
	memcpy(fake_xen_page(&fx, 3), "foreign!", 8);
	fe_ring_start(&f, 0, 0);
	assert_int_equal(fake_gmem_write(&f.fgm, FE_DATA, "granted!", 8), 0);
	assert_true(ring_driver_add(&f.drv[0], a, 2, false) >= 0);
	assert_true(ring_driver_add(&f.drv[0], b, 2, false) >= 0);
	ring_driver_publish(&f.drv[0]);
	fe_signal(f.kick[0]);
	assert_true(fe_wait(f.call[0], 2000));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ring_driver_get_used(&f.drv[0], &id, &len), 1);
		assert_int_equal(len, 8);
	}
	assert_memory_equal(fake_xen_page(&fx, 9) + 0x10, "granted!", 8);
	assert_int_equal(fake_gmem_read(&f.fgm, FE_DATA + 0x800, out, 8), 0);
	assert_memory_equal(out, "foreign!", 8);
	/* One small batch: the grant range copied, not mapped; nothing to
	 * read from it, one call to write it back. */
	assert_int_equal(fx.gnt_map_calls, 0);
	assert_int_equal(fx.gnt_copy_calls, 1);
	assert_int_equal(fx.gnt_copy_out, 1);
	assert_int_equal(fx.opens, 2);
	fe_disconnect(&f); /* drops both Xen regions */
	assert_int_equal(fx.closes, 2);
	assert_int_equal(fx.nlive, 0);
	assert_int_equal(fx.bad_unmaps, 0);
	fe_fini(&f);
	xen_vhu_mapper_destroy(mapper);
	fake_xen_current = NULL;
	fake_xen_fini(&fx);
	fe_init(&f, NULL); /* for teardown */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_set_table),
		T(test_set_table_invalid),
		T(test_set_table_malformed),
		T(test_set_table_running),
		T(test_add_rem),
		T(test_add_full_and_malformed),
		cmocka_unit_test(test_xen_wire_sizes),
		cmocka_unit_test(test_xen_flags),
		T(test_xen_without_mapper),
		T(test_xen_with_mapper),
		T(test_xen_real_mapper),
		T(test_xen_wire_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
