// SPDX-License-Identifier: MIT
/*
 * The vhost-user XEN_MMAP region mapper (xen/xen_vhu_mapper.c) against
 * the fake Xen library seam: region kind to back-end, domid checks,
 * addresses passed unchanged, open failures, release.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <string.h>

#include "fake_xen_sys.h"
#include "vhost_user_wire.h"
#include "xen_gmem.h"
#include "xen_vhu_mapper.h"

#define BIT63 (1ULL << 63)

static struct fake_xen fx;
static struct vhu_region_mapper *mp;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(fake_xen_init(&fx, 64), 0);
	fake_xen_current = &fx;
	assert_int_equal(xen_vhu_mapper_create_with(&mp, 2, fake_xen_open), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	xen_vhu_mapper_destroy(mp);
	assert_int_equal(fx.opens, fx.closes);
	assert_int_equal(fx.nlive, 0);
	fake_xen_current = NULL;
	fake_xen_fini(&fx);
	return 0;
}

static struct vhu_xen_region region(uint32_t flags, uint32_t domid)
{
	struct vhu_xen_region r = {.size = 1ull << 32,
				   .uva = 0x7f0000000000ull,
				   .xen_mmap_flags = flags,
				   .domid = domid};

	r.gpa = flags & VHU_XEN_MMAP_GRANT ? BIT63 : 0;
	return r;
}

static void test_grant_region(void **state)
{
	struct vhu_xen_region r =
		region(VHU_XEN_MMAP_GRANT | VHU_XEN_MMAP_MAP_ON_DEMAND_RUST, 1);
	struct gmem_range rg = {BIT63 | (7ull << 12) | 0x10, 4, GMEM_WRITE};
	struct gmem *g;
	void *hva;
	uint64_t n;

	(void)state;
	assert_int_equal(mp->ops->map(mp, &r, -1, &g), 0);
	/* Mapped lazily: nothing at region time. */
	assert_int_equal(fx.gnt_map_calls, 0);
	fake_xen_grant(&fx, 7, 9, false);
	/* A small buffer: copied, written back at unmap. */
	assert_int_equal(gmem_map_batch(g, &rg, 1), GMEM_APART);
	assert_int_equal(gmem_translate(g, rg.gaddr, 4, GMEM_WRITE, &hva, &n),
			 0);
	memcpy(hva, "gnt!", 4);
	gmem_unmap_batch(g, &rg, 1);
	assert_memory_equal(fake_xen_page(&fx, 9) + 0x10, "gnt!", 4);
	assert_int_equal(fx.gnt_copy_out, 1);
	/* A grant region may leave bit 63 out of its addresses. */
	rg.gaddr &= ~BIT63;
	assert_int_equal(gmem_map_batch(g, &rg, 1), GMEM_APART);
	gmem_unmap_batch(g, &rg, 1);
	assert_int_equal(fx.gnt_copy_out, 2);
	mp->ops->unmap(mp, g);
	assert_int_equal(fx.closes, 1);
}

static void test_foreign_region(void **state)
{
	struct vhu_xen_region r = region(VHU_XEN_MMAP_FOREIGN, 1);
	struct gmem *g;
	void *hva;
	uint64_t n;

	(void)state;
	memcpy(fake_xen_page(&fx, 3) + 8, "frgn", 4);
	assert_int_equal(mp->ops->map(mp, &r, -1, &g), 0);
	assert_int_equal(
		gmem_translate(g, 3 * 0x1000 + 8, 4, GMEM_READ, &hva, &n), 0);
	assert_memory_equal(hva, "frgn", 4);
	/* The mapper's cache size: two slots, the third bucket evicts. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(gmem_translate(g, i * 0x10000ull, 4, GMEM_READ,
						&hva, &n),
				 0);
	assert_int_equal(fx.fm_unmap_calls, 1);
	/* Outside the guest's memory. */
	assert_int_equal(gmem_translate(g, 64 * 0x1000, 4, GMEM_READ, &hva, &n),
			 -EFAULT);
	mp->ops->unmap(mp, g);
}

static void test_domid_checked(void **state)
{
	struct gmem *g = NULL;
	uint32_t bad[] = {0x7ff0, 0x7ff4, 0xffff, 0x10000, UINT32_MAX};

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vhu_xen_region r = region(VHU_XEN_MMAP_GRANT, bad[i]);

		assert_int_equal(mp->ops->map(mp, &r, -1, &g), -EINVAL);
		r = region(VHU_XEN_MMAP_FOREIGN, bad[i]);
		assert_int_equal(mp->ops->map(mp, &r, -1, &g), -EINVAL);
	}
	assert_null(g);
	assert_int_equal(fx.opens, 0);
	/* The last ordinary domid is fine. */
	struct vhu_xen_region ok = region(VHU_XEN_MMAP_GRANT, 0x7fef);
	assert_int_equal(mp->ops->map(mp, &ok, -1, &g), 0);
	mp->ops->unmap(mp, g);
}

static void test_open_failure(void **state)
{
	struct vhu_xen_region r = region(VHU_XEN_MMAP_FOREIGN, 1);
	struct gmem *g = NULL;

	(void)state;
	fake_xen_current = NULL; /* no /dev/xen/privcmd */
	assert_int_equal(mp->ops->map(mp, &r, -1, &g), -ENODEV);
	assert_null(g);
	fake_xen_current = &fx;
}

static void test_create_errors(void **state)
{
	struct vhu_region_mapper *m2 = NULL;

	(void)state;
	assert_int_equal(
		xen_vhu_mapper_create(&m2, XEN_GMEM_FOREIGN_SLOTS_MAX + 1),
		-EINVAL);
	assert_null(m2);
	assert_int_equal(xen_vhu_mapper_create(&m2, 0), 0);
	xen_vhu_mapper_destroy(m2);
	xen_vhu_mapper_destroy(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_grant_region),  T(test_foreign_region),
		T(test_domid_checked), T(test_open_failure),
		T(test_create_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
