// SPDX-License-Identifier: MIT
/*
 * Foreign guest memory (xen/xen_gmem_foreign.c) against the fake Xen
 * library seam: translation into the guest's pages, bucket cuts, the LRU
 * cache (hits, eviction, pinned buckets kept), invalidate (pinned copies
 * kept until unpinned, in either unpin order), frames outside the guest,
 * ring areas outside the cache, call counts.
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
#include <stdio.h>
#include <string.h>

#include "fake_xen_sys.h"
#include "log.h"
#include "xen_gmem_int.h"

#define PG     0x1000ull
#define BUCKET ((uint64_t)XEN_GMEM_FOREIGN_BUCKET)
#define NPAGES 64 /* four buckets */
#define RW     (GMEM_READ | GMEM_WRITE)

static struct fake_xen fx;
static struct gmem *m;

static void make(unsigned slots)
{
	assert_int_equal(
		xen_gmem_foreign_create_sys(&m, &fx.sys, 1, slots, "t"), 0);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(fake_xen_init(&fx, NPAGES), 0);
	m = NULL;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	xen_gmem_destroy(m);
	assert_int_equal(fx.nlive, 0);
	assert_int_equal(fx.bad_unmaps, 0);
	fake_xen_fini(&fx);
	return 0;
}

static struct xen_gmem_stats stats(void)
{
	struct xen_gmem_stats s;

	xen_gmem_get_stats(m, &s);
	return s;
}

static uint8_t *xlate(uint64_t gaddr, uint64_t len, uint64_t *maplen)
{
	void *hva = NULL;

	assert_int_equal(gmem_translate(m, gaddr, len, RW, &hva, maplen), 0);
	return hva;
}

static void test_translate_into_guest_pages(void **state)
{
	uint64_t n;
	uint8_t *p;

	(void)state;
	make(4);
	memcpy(fake_xen_page(&fx, 5) + 0x10, "frame five", 10);
	p = xlate(5 * PG + 0x10, 10, &n);
	assert_int_equal(n, 10);
	assert_memory_equal(p, "frame five", 10);
	p[0] = 'F';
	assert_int_equal(fake_xen_page(&fx, 5)[0x10], 'F');
	/* One bucket mapped, in one call of its 16 pages. */
	assert_int_equal(fx.fm_map_calls, 1);
	assert_int_equal(fx.last_count, BUCKET / PG);
	/* Cut at the bucket end: the caller asks again for the rest. */
	xlate(BUCKET - 8, 32, &n);
	assert_int_equal(n, 8);
	xlate(BUCKET, 24, &n);
	assert_int_equal(n, 24);
	assert_int_equal(fx.fm_map_calls, 2);
}

static void test_lru_eviction(void **state)
{
	uint64_t n;
	struct xen_gmem_stats s;

	(void)state;
	make(2);
	xlate(0, 8, &n);	  /* bucket 0 */
	xlate(BUCKET, 8, &n);	  /* bucket 1 */
	xlate(16, 8, &n);	  /* bucket 0 again: a hit */
	xlate(2 * BUCKET, 8, &n); /* bucket 2 evicts bucket 1, the LRU */
	s = stats();
	assert_int_equal(s.map_calls, 3);
	assert_int_equal(s.cache_hits, 1);
	assert_int_equal(s.evictions, 1);
	assert_int_equal(fx.fm_unmap_calls, 1);
	xlate(32, 8, &n); /* bucket 0 survived */
	assert_int_equal(stats().cache_hits, 2);
	xlate(BUCKET, 8, &n); /* bucket 1 again: mapped anew */
	assert_int_equal(stats().map_calls, 4);
	assert_int_equal(fake_xen_live(&fx, true), 2);
}

static void test_pinned_not_evicted(void **state)
{
	struct gmem_range a = {0x100, 64, GMEM_WRITE};
	struct gmem_range b = {BUCKET + 0x100, 64, GMEM_READ};
	struct gmem_range both[2] = {a, b};
	uint64_t n;
	uint8_t *pa;

	(void)state;
	make(1);
	assert_int_equal(gmem_map_batch(m, &a, 1), 0);
	pa = xlate(a.gaddr, a.len, &n);
	/* The only slot is pinned: another bucket cannot come in. */
	assert_int_equal(gmem_map_batch(m, &b, 1), -ENOBUFS);
	pa[0] = 1; /* still mapped */
	gmem_unmap_batch(m, &a, 1);
	assert_int_equal(gmem_map_batch(m, &b, 1), 0);
	gmem_unmap_batch(m, &b, 1);
	/* A batch needing more buckets than slots fails whole, nothing
	 * stays pinned. */
	assert_int_equal(gmem_map_batch(m, both, 2), -ENOBUFS);
	assert_int_equal(gmem_map_batch(m, &b, 1), 0);
	gmem_unmap_batch(m, &b, 1);
}

static void test_range_across_buckets(void **state)
{
	struct gmem_range r = {BUCKET - 0x10, 0x20, GMEM_WRITE};
	uint64_t n;

	(void)state;
	make(2);
	assert_int_equal(gmem_map_batch(m, &r, 1), 0);
	assert_int_equal(fx.fm_map_calls, 2);
	xlate(r.gaddr, r.len, &n);
	assert_int_equal(n, 0x10);
	xlate(BUCKET, 0x10, &n);
	assert_int_equal(n, 0x10);
	gmem_unmap_batch(m, &r, 1);
	/* Both unpinned: a third bucket may evict either. */
	xlate(2 * BUCKET, 8, &n);
	assert_int_equal(stats().evictions, 1);
}

static void test_frames_outside_guest(void **state)
{
	struct gmem_range r = {4 * PG + 0x800, 0x1000, GMEM_READ};
	void *hva;
	uint64_t n;

	(void)state;
	make(4);
	fx.hole[5] = true;
	/* Beyond the guest's memory. */
	assert_int_equal(gmem_translate(m, NPAGES * PG, 8, RW, &hva, &n),
			 -EFAULT);
	/* A range running into a hole: the map fails... */
	assert_int_equal(gmem_map_batch(m, &r, 1), -EFAULT);
	/* ...translate stops before it... */
	xlate(r.gaddr, r.len, &n);
	assert_int_equal(n, 0x800);
	/* ...and the hole itself fails. */
	assert_int_equal(gmem_translate(m, 5 * PG, 8, RW, &hva, &n), -EFAULT);
	/* The frames around it work. */
	xlate(6 * PG, 8, &n);
	assert_int_equal(n, 8);
	/* A ring area over the hole is refused. */
	assert_int_equal(
		gmem_translate(m, 5 * PG, 16, RW | GMEM_PERSIST, &hva, &n),
		-EFAULT);
}

static void test_invalidate(void **state)
{
	struct gmem_range a = {0x100, 64, GMEM_WRITE};
	struct gmem_range b = {0x200, 64, GMEM_WRITE};
	uint64_t n;
	uint8_t *pa, *pb;

	(void)state;
	make(4);
	xlate(BUCKET, 8, &n); /* cached, unpinned */
	assert_int_equal(gmem_map_batch(m, &a, 1), 0);
	pa = xlate(a.gaddr, a.len, &n);
	xen_gmem_invalidate(m);
	/* The unpinned bucket is gone; the pinned one stays for a. */
	assert_int_equal(fx.fm_unmap_calls, 1);
	pa[0] = 0x11;
	/* New work maps the bucket anew. */
	assert_int_equal(gmem_map_batch(m, &b, 1), 0);
	assert_int_equal(fx.fm_map_calls, 3);
	pb = xlate(b.gaddr, b.len, &n);
	pb[0] = 0x22;
	/* a finishes first: b's copy must stay. */
	gmem_unmap_batch(m, &a, 1);
	pb[1] = 0x33;
	assert_int_equal(fake_xen_live(&fx, true), 2);
	gmem_unmap_batch(m, &b, 1);
	/* Both unpinned: the stale copy went, the fresh one is cached. */
	assert_int_equal(fake_xen_live(&fx, true), 1);
	assert_int_equal(fake_xen_page(&fx, 0)[0x100], 0x11);
	assert_int_equal(fake_xen_page(&fx, 0)[0x201], 0x33);

	/* The other order: the later range finishes first. */
	assert_int_equal(gmem_map_batch(m, &a, 1), 0);
	pa = xlate(a.gaddr, a.len, &n);
	xen_gmem_invalidate(m);
	assert_int_equal(gmem_map_batch(m, &b, 1), 0);
	gmem_unmap_batch(m, &b, 1);
	pa[0] = 0x44; /* a's mapping is still there */
	assert_int_equal(fake_xen_page(&fx, 0)[0x100], 0x44);
	gmem_unmap_batch(m, &a, 1);
	assert_int_equal(fake_xen_live(&fx, true), 1);
	xen_gmem_invalidate(m);
	assert_int_equal(fake_xen_live(&fx, true), 0);
}

static void test_ring_areas_outside_cache(void **state)
{
	const uint32_t pr = RW | GMEM_PERSIST;
	uint64_t n;
	uint8_t *ring;

	(void)state;
	make(1);
	/* Across a bucket end, still one contiguous mapping. */
	ring = xlate(BUCKET - 0x40, 0x80, &n);
	assert_int_equal(n, 0x40); /* a data translation is cut */
	assert_int_equal(
		gmem_translate(m, BUCKET - 0x40, 0x80, pr, (void **)&ring, &n),
		0);
	assert_int_equal(n, 0x80);
	ring[0x7f] = 0x77;
	assert_int_equal(fake_xen_page(&fx, BUCKET / PG)[0x3f], 0x77);
	/* Cache traffic and invalidate leave it alone. */
	xlate(2 * BUCKET, 8, &n);
	xlate(3 * BUCKET, 8, &n);
	xen_gmem_invalidate(m);
	ring[0] = 0x66;
	assert_int_equal(fake_xen_live(&fx, true), 1);
	gmem_release(m, BUCKET - 0x40, 0x80, pr);
	assert_int_equal(fake_xen_live(&fx, true), 0);
}

static void test_create_errors(void **state)
{
	struct gmem *g = NULL;

	(void)state;
	assert_int_equal(
		xen_gmem_foreign_create_sys(&g, &fx.sys, 0x7ff0, 4, "t"),
		-EINVAL);
	assert_int_equal(
		xen_gmem_foreign_create_sys(
			&g, &fx.sys, 1, XEN_GMEM_FOREIGN_SLOTS_MAX + 1, "t"),
		-EINVAL);
	assert_null(g);
	assert_int_equal(fx.closes, 2);
	assert_int_equal(xen_gmem_foreign_create(&g, 0x7ff0, 0, "t"), -EINVAL);
	assert_int_equal(xen_gmem_foreign_create(
				 &g, 1, XEN_GMEM_FOREIGN_SLOTS_MAX + 1, "t"),
			 -EINVAL);
	/* 0 slots: the default. */
	make(0);
	for (unsigned i = 0; i < NPAGES * PG / BUCKET; i++) {
		uint64_t n;

		xlate(i * BUCKET, 8, &n);
	}
	assert_int_equal(stats().evictions, 0);
}

static char last_warn[512];

static void keep_warn(enum log_level level, const char *line)
{
	if (level == LOG_LEVEL_WARN)
		snprintf(last_warn, sizeof(last_warn), "%s", line);
}

/* A driver domain that is not the guest's device model: Xen refuses
 * foreign mappings (EPERM); the request fails and the line says why. */
static void test_not_device_model(void **state)
{
	void *hva = NULL;
	uint64_t n;

	(void)state;
	make(4);
	fx.fm_error = -EPERM;
	log_set_hook(keep_warn);
	assert_int_equal(gmem_translate(m, 0, 8, RW, &hva, &n), -EPERM);
	log_set_hook(NULL);
	assert_non_null(strstr(last_warn, "domain 1: guest frames 0x0-0xf "
					  "cannot be mapped: Operation not "
					  "permitted"));
	assert_non_null(strstr(last_warn, "virtiobox xen-target"));
	assert_int_equal(fx.nlive, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_translate_into_guest_pages),
		T(test_not_device_model),
		T(test_lru_eviction),
		T(test_pinned_not_evicted),
		T(test_range_across_buckets),
		T(test_frames_outside_guest),
		T(test_invalidate),
		T(test_ring_areas_outside_cache),
		T(test_create_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
