// SPDX-License-Identifier: MIT
/*
 * Guest-memory seam (core/gmem.c, core/gmem.h): gmem_translate_contig and
 * the optional map/unmap hooks, checked against the test fake, whose own
 * contract (fake_gmem.h) the other tests rely on.
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

#include "fake_gmem.h"
#include "gmem.h"

static struct fake_gmem m;

static int setup(void **state)
{
	(void)state;
	if (fake_gmem_init(&m) < 0)
		return -1;
	/* Two adjacent regions and a separate read-only one. */
	if (fake_gmem_add(&m, 0x1000, 0x1000, GMEM_READ | GMEM_WRITE) < 0 ||
	    fake_gmem_add(&m, 0x2000, 0x1000, GMEM_READ | GMEM_WRITE) < 0 ||
	    fake_gmem_add(&m, 0x8000, 0x100, GMEM_READ) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_gmem_destroy(&m);
	return 0;
}

static void test_translate(void **state)
{
	void *hva;
	uint64_t len;

	(void)state;
	assert_int_equal(
		gmem_translate(&m.gmem, 0x1800, 0x100, GMEM_READ, &hva, &len),
		0);
	assert_ptr_equal(hva, fake_gmem_ptr(&m, 0x1800, 1));
	assert_int_equal(len, 0x100);
	/* Crossing into the next region: a shorter mapping. */
	assert_int_equal(
		gmem_translate(&m.gmem, 0x1ff0, 0x100, GMEM_WRITE, &hva, &len),
		0);
	assert_int_equal(len, 0x10);
	assert_int_equal(
		gmem_translate(&m.gmem, 0x2000, 0xf0, GMEM_WRITE, &hva, &len),
		0);
	assert_ptr_equal(hva, fake_gmem_ptr(&m, 0x2000, 1));
}

static void test_translate_errors(void **state)
{
	void *hva;
	uint64_t len;

	(void)state;
	assert_int_equal(
		gmem_translate(&m.gmem, 0x1000, 0, GMEM_READ, &hva, &len),
		-EINVAL);
	assert_int_equal(gmem_translate(&m.gmem, UINT64_MAX - 1, 4, GMEM_READ,
					&hva, &len),
			 -EOVERFLOW);
	assert_int_equal(
		gmem_translate(&m.gmem, 0x5000, 4, GMEM_READ, &hva, &len),
		-EFAULT);
	assert_int_equal(
		gmem_translate(&m.gmem, 0x8000, 4, GMEM_WRITE, &hva, &len),
		-EFAULT);
	assert_int_equal(
		gmem_translate(&m.gmem, 0x8000, 4, GMEM_READ, &hva, &len), 0);
	assert_int_equal(m.failed_translates, 4);
}

static void test_translate_contig(void **state)
{
	void *hva;

	(void)state;
	assert_int_equal(
		gmem_translate_contig(&m.gmem, 0x1100, 0x200, GMEM_READ, &hva),
		0);
	assert_ptr_equal(hva, fake_gmem_ptr(&m, 0x1100, 0x200));
	/* Adjacent in the guest, not in the host: refused. */
	assert_int_equal(
		gmem_translate_contig(&m.gmem, 0x1f00, 0x200, GMEM_READ, &hva),
		-EFAULT);
	assert_int_equal(
		gmem_translate_contig(&m.gmem, 0x9000, 4, GMEM_READ, &hva),
		-EFAULT);
	assert_int_equal(
		gmem_translate_contig(&m.gmem, UINT64_MAX, 2, GMEM_READ, &hva),
		-EOVERFLOW);
	/* max_map does not shorten ring areas (GMEM_PERSIST)... */
	m.max_map = 16;
	assert_int_equal(gmem_translate_contig(&m.gmem, 0x1100, 0x200,
					       GMEM_READ | GMEM_PERSIST, &hva),
			 0);
	/* ...but it does shorten data. */
	assert_int_equal(
		gmem_translate_contig(&m.gmem, 0x1100, 0x200, GMEM_READ, &hva),
		-EFAULT);
}

static int no_translate(struct gmem *g, uint64_t gaddr, uint64_t len,
			uint32_t access, void **hva, uint64_t *maplen)
{
	(void)g;
	(void)gaddr;
	(void)access;
	*hva = NULL;
	*maplen = len;
	return 0;
}

static void test_optional_hooks(void **state)
{
	static const struct gmem_ops ops = {.translate = no_translate};
	struct gmem g = {.ops = &ops};
	struct gmem_range r = {0x1000, 16, GMEM_READ};

	(void)state;
	/* Back-ends without lazy mapping leave the hooks out. */
	assert_int_equal(gmem_map_batch(&g, &r, 1), 0);
	gmem_unmap_batch(&g, &r, 1);
	gmem_release(&g, 0x1000, 16, GMEM_READ | GMEM_PERSIST);
}

/* GMEM_PERSIST translations are held until released, exactly as made; a
 * ring area that is not contiguous is released by translate_contig. */
static void test_release(void **state)
{
	const uint32_t pr = GMEM_READ | GMEM_PERSIST;
	void *hva;

	(void)state;
	assert_int_equal(
		gmem_translate_contig(&m.gmem, 0x1100, 0x100, pr, &hva), 0);
	assert_int_equal(fake_gmem_persist_live(&m), 1);
	/* Across two regions: translated in part, then given back. */
	assert_int_equal(
		gmem_translate_contig(&m.gmem, 0x1f00, 0x200, pr, &hva),
		-EFAULT);
	assert_int_equal(fake_gmem_persist_live(&m), 1);
	assert_int_equal(m.releases, 1);
	/* A plain translation is not held. */
	assert_int_equal(
		gmem_translate_contig(&m.gmem, 0x1100, 0x10, GMEM_READ, &hva),
		0);
	assert_int_equal(fake_gmem_persist_live(&m), 1);
	gmem_release(&m.gmem, 0x1100, 0x100, GMEM_READ); /* not as made */
	assert_int_equal(m.bad_releases, 1);
	gmem_release(&m.gmem, 0x1100, 0x100, pr);
	assert_int_equal(fake_gmem_persist_live(&m), 0);
	assert_int_equal(m.bad_releases, 1);
}

static void test_fake_map_tracking(void **state)
{
	struct gmem_range r[] = {{0x1000, 16, GMEM_READ},
				 {0x2000, 32, GMEM_WRITE}};
	void *hva;
	uint64_t len;

	(void)state;
	m.require_map = true;
	assert_int_equal(
		gmem_translate(&m.gmem, 0x1000, 16, GMEM_READ, &hva, &len),
		-EFAULT);
	assert_int_equal(m.unmapped_translates, 1);
	assert_int_equal(gmem_map_batch(&m.gmem, r, 2), 0);
	assert_int_equal(fake_gmem_live(&m), 2);
	assert_int_equal(
		gmem_translate(&m.gmem, 0x1004, 8, GMEM_READ, &hva, &len), 0);
	/* Mapped for the device to write, not to read. */
	assert_int_equal(
		gmem_translate(&m.gmem, 0x2000, 8, GMEM_READ, &hva, &len),
		-EFAULT);
	gmem_unmap_batch(&m.gmem, &r[1], 1);
	gmem_unmap_batch(&m.gmem, &r[1], 1); /* twice: a bug to report */
	assert_int_equal(m.bad_unmaps, 1);
	gmem_unmap_batch(&m.gmem, &r[0], 1);
	assert_int_equal(fake_gmem_live(&m), 0);
	assert_int_equal(m.map_calls, 1);
	assert_int_equal(m.unmap_calls, 3);
	assert_int_equal(m.ranges_mapped, 2);
	assert_int_equal(m.ranges_unmapped, 2);
}

static void test_fake_faults(void **state)
{
	struct gmem_range r = {0x1100, 16, GMEM_READ};
	void *hva;
	uint64_t len;

	(void)state;
	m.fault =
		(struct fake_gmem_fault){FAKE_GMEM_FAULT_MAP, 0x1108, 1, -EIO};
	assert_int_equal(gmem_map_batch(&m.gmem, &r, 1), 0); /* skipped */
	assert_int_equal(gmem_map_batch(&m.gmem, &r, 1), -EIO);
	assert_int_equal(gmem_map_batch(&m.gmem, &r, 1), -EIO);
	assert_int_equal(fake_gmem_live(&m), 1); /* failures map nothing */
	r.gaddr = 0x1200;
	assert_int_equal(gmem_map_batch(&m.gmem, &r, 1), 0); /* elsewhere */
	m.fault = (struct fake_gmem_fault){FAKE_GMEM_FAULT_TRANSLATE,
					   UINT64_MAX, 0, -ENOMEM};
	assert_int_equal(
		gmem_translate(&m.gmem, 0x1000, 1, GMEM_READ, &hva, &len),
		-ENOMEM);
}

static void test_fake_regions(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(fake_gmem_add(&m, 0x1800, 0x10, GMEM_READ), -EINVAL);
	assert_int_equal(fake_gmem_add(&m, 0x9000, 0, GMEM_READ), -EINVAL);
	assert_null(fake_gmem_ptr(&m, 0x1ff0, 0x20)); /* spans two */
	assert_int_equal(
		fake_gmem_write(&m, 0x1ff0, "0123456789abcdef0123", 20), 0);
	assert_int_equal(fake_gmem_read(&m, 0x1ff0, buf, 20), 0);
	assert_memory_equal(buf, "0123456789abcdef0123", 20);
	assert_int_equal(fake_gmem_read(&m, 0x2ff0, buf, 32), -EFAULT);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_translate),	   T(test_translate_errors),
		T(test_translate_contig),  T(test_optional_hooks),
		T(test_fake_map_tracking), T(test_fake_faults),
		T(test_fake_regions),	   T(test_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
