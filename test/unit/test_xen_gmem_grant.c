// SPDX-License-Identifier: MIT
/*
 * Grant guest memory (xen/xen_gmem_grant.c) against the fake Xen library
 * seam: gref decoding, one library call per batch and permission,
 * PROT_READ for device-readable ranges, refused and revoked grants, ring
 * areas kept until released, call counts, and a real split ring served
 * through it by the ring layer. The mapping tests turn copying off; the
 * copy tests (setup_copy) keep the default limit.
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
#include <linux/virtio_ring.h>
#include <string.h>
#include <sys/mman.h>

#include "fake_xen_sys.h"
#include "vq.h"
#include "xen_gmem_int.h"

#define G(ref, off) ((1ULL << 63) | ((uint64_t)(ref) << 12) | (off))
#define RD	    GMEM_READ
#define WR	    GMEM_WRITE

static struct fake_xen fx;
static struct gmem *m;

static int setup_copy(void **state)
{
	(void)state;
	assert_int_equal(fake_xen_init(&fx, 64), 0);
	assert_int_equal(xen_gmem_grant_create_sys(&m, &fx.sys, 1, false, "t"),
			 0);
	return 0;
}

static int setup(void **state)
{
	setup_copy(state);
	xen_gmem_grant_set_copy_max(m, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	xen_gmem_destroy(m);
	assert_int_equal(fx.closes, 1);
	/* Destroy unmapped everything the back-end still held. */
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

static void *xlate(uint64_t gaddr, uint64_t len, uint32_t access,
		   uint64_t *maplen)
{
	void *hva = NULL;

	assert_int_equal(gmem_translate(m, gaddr, len, access, &hva, maplen),
			 0);
	return hva;
}

static void test_gref_decoding(void **state)
{
	struct gmem_range r = {G(10, 0x123), 16, RD};
	uint64_t n;
	uint8_t *p;

	(void)state;
	fake_xen_grant(&fx, 10, 3, true);
	memcpy(fake_xen_page(&fx, 3) + 0x123, "grant page three", 16);
	assert_int_equal(gmem_map_batch(m, &r, 1), 0);
	assert_int_equal(fx.last_count, 1);
	assert_int_equal(fx.last_refs[0], 10);
	p = xlate(G(10, 0x123), 16, RD, &n);
	assert_int_equal(n, 16);
	assert_memory_equal(p, "grant page three", 16);
	/* Inside the range, and cut at its end. */
	p = xlate(G(10, 0x129), 100, RD, &n);
	assert_int_equal(n, 10);
	assert_memory_equal(p, "page three", 10);
	gmem_unmap_batch(m, &r, 1);
	assert_int_equal(fx.nlive, 0);
}

static void test_multi_page_consecutive_grefs(void **state)
{
	/* 0xf00 + 0x1200 ends at 0x2100: grefs 20, 21, 22 on scattered
	 * guest pages, one contiguous mapping. */
	struct gmem_range r = {G(20, 0xf00), 0x1200, WR};
	uint64_t n;
	uint8_t *p;

	(void)state;
	fake_xen_grant(&fx, 20, 7, false);
	fake_xen_grant(&fx, 21, 2, false);
	fake_xen_grant(&fx, 22, 9, false);
	assert_int_equal(gmem_map_batch(m, &r, 1), 0);
	assert_int_equal(fx.last_count, 3);
	assert_int_equal(fx.last_refs[0], 20);
	assert_int_equal(fx.last_refs[1], 21);
	assert_int_equal(fx.last_refs[2], 22);
	p = xlate(G(20, 0xf00), 0x1200, WR, &n);
	assert_int_equal(n, 0x1200);
	p[0] = 'a';
	p[0x100] = 'b';	 /* gref 21, offset 0 */
	p[0x11ff] = 'c'; /* gref 22, offset 0xff */
	assert_int_equal(fake_xen_page(&fx, 7)[0xf00], 'a');
	assert_int_equal(fake_xen_page(&fx, 2)[0], 'b');
	assert_int_equal(fake_xen_page(&fx, 9)[0xff], 'c');
	gmem_unmap_batch(m, &r, 1);
}

static void test_one_call_per_batch_and_permission(void **state)
{
	struct gmem_range r[8];
	struct xen_gmem_stats s;

	(void)state;
	for (unsigned i = 0; i < 8; i++) {
		fake_xen_grant(&fx, 30 + i, i, i % 2 == 0);
		r[i] = (struct gmem_range){G(30 + i, 0x10), 64,
					   i % 2 ? WR : RD};
	}
	/* Only readable ranges: one call, PROT_READ. */
	assert_int_equal(
		gmem_map_batch(m, (struct gmem_range[]){r[0], r[2]}, 2), 0);
	assert_int_equal(fx.gnt_map_calls, 1);
	assert_int_equal(fx.last_prot, PROT_READ);
	assert_int_equal(fx.last_count, 2);
	gmem_unmap_batch(m, (struct gmem_range[]){r[2], r[0]}, 2);
	assert_int_equal(fx.gnt_unmap_calls, 1);
	/* Mixed: one read-only call, one read-write call. */
	assert_int_equal(gmem_map_batch(m, r, 8), 0);
	assert_int_equal(fx.gnt_map_calls, 3);
	assert_int_equal(fx.last_prot, PROT_READ | PROT_WRITE);
	assert_int_equal(fx.last_count, 4);
	/* Unmapped per element: nothing goes until a mapping's last range. */
	gmem_unmap_batch(m, &r[0], 2);
	gmem_unmap_batch(m, &r[2], 2);
	gmem_unmap_batch(m, &r[4], 2);
	assert_int_equal(fx.gnt_unmap_calls, 1);
	gmem_unmap_batch(m, &r[6], 1); /* the last read-only range */
	assert_int_equal(fx.gnt_unmap_calls, 2);
	gmem_unmap_batch(m, &r[7], 1);
	assert_int_equal(fx.gnt_unmap_calls, 3);
	assert_int_equal(fx.nlive, 0);
	s = stats();
	assert_int_equal(s.map_calls, 3);
	assert_int_equal(s.unmap_calls, 3);
	assert_int_equal(s.pages_mapped, 10);
}

/* A library call maps at most 1024 pages: a bigger batch takes more calls,
 * a bigger buffer is refused. */
static void test_call_size_limit(void **state)
{
	struct gmem_range r[2] = {{G(0, 0), 600 * 4096, RD},
				  {G(600, 0), 500 * 4096, RD}};
	struct gmem_range big = {G(0, 0), 1025 * 4096, RD};
	void *hva;
	uint64_t n;

	(void)state;
	for (uint32_t i = 0; i < 1100; i++)
		fake_xen_grant(&fx, i, i % 64, true);
	assert_int_equal(gmem_map_batch(m, r, 2), 0);
	assert_int_equal(fx.gnt_map_calls, 2);
	assert_int_equal(stats().pages_mapped, 1100);
	assert_int_equal(gmem_translate(m, G(1099, 0xff0), 16, RD, &hva, &n),
			 0);
	assert_int_equal(n, 16);
	gmem_unmap_batch(m, r, 2);
	assert_int_equal(fx.gnt_unmap_calls, 2);
	assert_int_equal(gmem_map_batch(m, &big, 1), -E2BIG);
	assert_int_equal(fx.gnt_map_calls, 2);
	assert_int_equal(fx.nlive, 0);
}

static void test_readable_mapped_read_only(void **state)
{
	struct gmem_range r = {G(40, 0), 8, RD};
	void *hva;
	uint64_t n;

	(void)state;
	fake_xen_grant(&fx, 40, 1, true);
	assert_int_equal(gmem_map_batch(m, &r, 1), 0);
	assert_int_equal(fx.last_prot, PROT_READ);
	/* A device write to a device-readable buffer is refused. */
	assert_int_equal(gmem_translate(m, G(40, 0), 8, WR, &hva, &n), -EFAULT);
	gmem_unmap_batch(m, &r, 1);
	/* A read-only grant cannot back a device-writable buffer. */
	r.access = WR;
	assert_int_equal(gmem_map_batch(m, &r, 1), -EFAULT);
	assert_int_equal(fx.nlive, 0);
	assert_int_equal(stats().map_failures, 1);
}

/*
 * Peer bug class: an ungranted grant page (a back-end that maps a batch,
 * keeps the pages that did map when one did not, or touches the hole).
 * Guaranteed instead: a batch with an ungranted page fails with -EFAULT and
 * keeps no mapping; range by range, only the ungranted one fails.
 */
static void test_ungranted_fails_batch_nothing_kept(void **state)
{
	struct gmem_range r[3] = {
		{G(50, 0), 8, RD}, {G(51, 0), 8, RD}, {G(52, 0), 8, WR}};
	void *hva;
	uint64_t n;

	(void)state;
	fake_xen_grant(&fx, 50, 1, true);
	fake_xen_grant(&fx, 52, 2, false); /* 51 never granted */
	assert_int_equal(gmem_map_batch(m, r, 3), -EFAULT);
	assert_int_equal(fx.nlive, 0);
	assert_int_equal(gmem_translate(m, G(50, 0), 8, RD, &hva, &n), -EFAULT);
	/* Range by range (what the ring layer does next): only 51 fails. */
	assert_int_equal(gmem_map_batch(m, &r[0], 1), 0);
	assert_int_equal(gmem_map_batch(m, &r[1], 1), -EFAULT);
	assert_int_equal(gmem_map_batch(m, &r[2], 1), 0);
	assert_int_equal(fx.nlive, 2);
	gmem_unmap_batch(m, &r[0], 1);
	gmem_unmap_batch(m, &r[2], 1);
}

static void test_revoked_grant(void **state)
{
	struct gmem_range r = {G(60, 0), 8, WR};

	(void)state;
	fake_xen_grant(&fx, 60, 5, false);
	assert_int_equal(gmem_map_batch(m, &r, 1), 0);
	gmem_unmap_batch(m, &r, 1);
	/* The guest's dma_unmap ends the grant: the next use fails. */
	fake_xen_revoke(&fx, 60);
	assert_int_equal(gmem_map_batch(m, &r, 1), -EFAULT);
	assert_int_equal(fx.nlive, 0);
}

static void test_address_forms(void **state)
{
	struct gmem_range r = {10ull << 12, 8, RD};
	struct gmem *any;

	(void)state;
	fake_xen_grant(&fx, 10, 3, true);
	/* Without bit 63 an address is not a grant address. */
	assert_int_equal(gmem_map_batch(m, &r, 1), -EFAULT);
	assert_int_equal(fx.gnt_map_calls, 0);
	/* A gref beyond 32 bits does not exist. */
	r.gaddr = G(0, 0) | (1ull << 50);
	assert_int_equal(gmem_map_batch(m, &r, 1), -EFAULT);
	/* A vhost-user grant region may leave bit 63 out. */
	assert_int_equal(xen_gmem_grant_create_sys(&any, &fx.sys, 1, true, "t"),
			 0);
	xen_gmem_grant_set_copy_max(any, 0);
	r.gaddr = 10ull << 12;
	assert_int_equal(gmem_map_batch(any, &r, 1), 0);
	assert_int_equal(fx.last_refs[0], 10);
	gmem_unmap_batch(any, &r, 1);
	xen_gmem_destroy(any);
	fx.closes--; /* teardown counts the fixture's own close */
}

static void test_not_mapped_translate(void **state)
{
	void *hva;
	uint64_t n;

	(void)state;
	fake_xen_grant(&fx, 10, 3, true);
	/* Data buffers must be mapped by map_batch first. */
	assert_int_equal(gmem_translate(m, G(10, 0), 8, RD, &hva, &n), -EFAULT);
	assert_int_equal(gmem_translate(m, G(10, 0), 0, RD, &hva, &n), -EINVAL);
	assert_int_equal(gmem_translate(m, UINT64_MAX, 2, RD, &hva, &n),
			 -EOVERFLOW);
	assert_int_equal(fx.gnt_map_calls, 0);
}

static void test_ring_area_persists_until_release(void **state)
{
	const uint32_t pr = RD | WR | GMEM_PERSIST;
	struct gmem_range r = {G(12, 0), 8, RD};
	uint64_t n;
	uint8_t *ring;

	(void)state;
	fake_xen_grant(&fx, 11, 4, false);
	fake_xen_grant(&fx, 12, 6, true);
	ring = xlate(G(11, 0x40), 0x100, pr, &n);
	assert_int_equal(n, 0x100);
	assert_int_equal(fx.gnt_map_calls, 1);
	ring[0] = 0x5a;
	assert_int_equal(fake_xen_page(&fx, 4)[0x40], 0x5a);
	/* Data batches come and go; the ring stays mapped. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(gmem_map_batch(m, &r, 1), 0);
		gmem_unmap_batch(m, &r, 1);
	}
	assert_int_equal(fake_xen_live(&fx, false), 1);
	ring[1] = 0xa5;
	/* Released exactly as translated: unmapped. */
	gmem_release(m, G(11, 0x40), 0x100, RD | WR);
	assert_int_equal(fake_xen_live(&fx, false), 1); /* not that one */
	gmem_release(m, G(11, 0x40), 0x100, pr);
	assert_int_equal(fake_xen_live(&fx, false), 0);
	/* An ungranted ring area fails the translation. */
	assert_int_equal(
		gmem_translate(m, G(13, 0), 16, pr, (void **)&ring, &n),
		-EFAULT);
}

static void test_create_checks_domid(void **state)
{
	struct gmem *g = NULL;

	(void)state;
	assert_int_equal(
		xen_gmem_grant_create_sys(&g, &fx.sys, 0x7ff0, false, "t"),
		-EINVAL);
	assert_null(g);
	assert_int_equal(fx.closes, 1); /* the seam was closed */
	fx.closes = 0;
	assert_int_equal(xen_gmem_grant_create(&g, 0x7ff5, "t"), -EINVAL);
	assert_int_equal(xen_gmem_grant_create(&g, 0xffff, "t"), -EINVAL);
	xen_gmem_invalidate(m); /* no-op for grants */
	xen_gmem_invalidate(NULL);
	xen_gmem_destroy(NULL);
}

/* ---- the ring layer on grant memory: a split ring of 8 ---- */

#define DESC_REF  100 /* desc table: 8 * 16 bytes */
#define AVAIL_REF 101
#define USED_REF  102
#define BUF_REF	  110 /* request i: readable gref 110 + 2i, writable + 1 */

/*
 * A split ring of 8 in granted pages holding four requests (4 readable
 * bytes "req", 1 writable byte each), started on vq; returns the used ring.
 */
static struct vring_used *ring_of_four(struct vq *vq)
{
	struct vq_layout l = {8, G(DESC_REF, 0), G(AVAIL_REF, 0),
			      G(USED_REF, 0)};
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;

	fake_xen_grant(&fx, DESC_REF, 0, false);
	fake_xen_grant(&fx, AVAIL_REF, 1, false);
	fake_xen_grant(&fx, USED_REF, 2, false);
	desc = (struct vring_desc *)fake_xen_page(&fx, 0);
	avail = (struct vring_avail *)fake_xen_page(&fx, 1);
	used = (struct vring_used *)fake_xen_page(&fx, 2);
	for (uint16_t i = 0; i < 4; i++) {
		fake_xen_grant(&fx, BUF_REF + 2 * i, 10 + 2 * i, true);
		fake_xen_grant(&fx, BUF_REF + 2 * i + 1, 11 + 2 * i, false);
		memcpy(fake_xen_page(&fx, 10 + 2 * i), "req", 4);
		desc[2 * i] = (struct vring_desc){G(BUF_REF + 2 * i, 0), 4,
						  VRING_DESC_F_NEXT,
						  (uint16_t)(2 * i + 1)};
		desc[2 * i + 1] = (struct vring_desc){G(BUF_REF + 2 * i + 1, 0),
						      1, VRING_DESC_F_WRITE, 0};
		avail->ring[i] = (uint16_t)(2 * i);
	}
	avail->idx = 4;
	assert_int_equal(vq_init(vq, 0, 8), 0);
	assert_int_equal(vq_start(vq, m, 1ull << VIRTIO_F_VERSION_1, &l, 0), 0);
	return used;
}

static void test_ring_layer_one_call_per_batch(void **state)
{
	struct vring_used *used;
	struct vq vq;
	struct vq_elem *e[4];
	struct xen_gmem_stats s;

	(void)state;
	used = ring_of_four(&vq);
	assert_int_equal(fx.gnt_map_calls, 3); /* the ring areas */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vq_pop(&vq, &e[i]), 1);
		assert_memory_equal(e[i]->rd_iov[0].iov_base, "req", 4);
		*(uint8_t *)e[i]->wr_iov[0].iov_base = (uint8_t)(0xa0 + i);
	}
	/* Four requests: one read-only call and one read-write call. */
	assert_int_equal(fx.gnt_map_calls, 3 + 2);
	for (int i = 0; i < 4; i++)
		vq_push(&vq, e[i], 1);
	/* Unmapped by the flush, before the used entries are published. */
	assert_int_equal(fx.gnt_unmap_calls, 0);
	used->idx = 0;
	vq_flush(&vq);
	assert_int_equal(fx.gnt_unmap_calls, 2);
	assert_int_equal(fake_xen_live(&fx, false), 3);
	assert_int_equal(used->idx, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fake_xen_page(&fx, 11 + 2 * i)[0], 0xa0 + i);
	vq_stop(&vq);
	/* Queue stopped: the ring areas are gone too. */
	assert_int_equal(fake_xen_live(&fx, false), 0);
	s = stats();
	assert_int_equal(s.map_calls, s.unmap_calls);
	vq_destroy(&vq);
}

/* A revoked data grant fails that request only: it comes back used with
 * nothing written, the others are served, the queue stays healthy. */
static void test_ring_layer_revoked_buffer(void **state)
{
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vq vq;
	struct vq_layout l = {8, G(DESC_REF, 0), G(AVAIL_REF, 0),
			      G(USED_REF, 0)};
	struct vq_elem *e;

	(void)state;
	fake_xen_grant(&fx, DESC_REF, 0, false);
	fake_xen_grant(&fx, AVAIL_REF, 1, false);
	fake_xen_grant(&fx, USED_REF, 2, false);
	desc = (struct vring_desc *)fake_xen_page(&fx, 0);
	avail = (struct vring_avail *)fake_xen_page(&fx, 1);
	for (uint16_t i = 0; i < 2; i++) {
		fake_xen_grant(&fx, BUF_REF + i, 10 + i, false);
		desc[i] = (struct vring_desc){G(BUF_REF + i, 0), 1,
					      VRING_DESC_F_WRITE, 0};
		avail->ring[i] = i;
	}
	fake_xen_revoke(&fx, BUF_REF + 1);
	avail->idx = 2;
	assert_int_equal(vq_init(&vq, 0, 8), 0);
	assert_int_equal(vq_start(&vq, m, 1ull << VIRTIO_F_VERSION_1, &l, 0),
			 0);
	assert_int_equal(vq_pop(&vq, &e), 1);
	assert_int_equal(e->id, 0);
	vq_push(&vq, e, 1);
	assert_int_equal(vq_pop(&vq, &e), 0);
	assert_int_equal(vq_broken(&vq, NULL), 0);
	assert_int_equal(vq_map_refused(&vq), 1);
	/* The batch call, then one call per request: the second refused. */
	assert_int_equal(stats().map_failures, 2);
	vq_flush(&vq);
	used = (struct vring_used *)fake_xen_page(&fx, 2);
	assert_int_equal(used->idx, 2);
	assert_int_equal(used->ring[0].id, 1); /* refused first */
	assert_int_equal(used->ring[0].len, 0);
	assert_int_equal(used->ring[1].id, 0);
	assert_int_equal(used->ring[1].len, 1);
	/* The guest grants it again: the next request is served. */
	fake_xen_grant(&fx, BUF_REF + 1, 11, false);
	avail->ring[2] = 1;
	avail->idx = 3;
	assert_int_equal(vq_pop(&vq, &e), 1);
	assert_int_equal(e->id, 1);
	vq_push(&vq, e, 1);
	vq_stop(&vq);
	assert_int_equal(fake_xen_live(&fx, false), 0);
	vq_destroy(&vq);
}

/* ---- the copy path ---- */

/*
 * A small batch is copied: one grant copy call reads every readable range
 * (two pieces for one crossing a page), writable ranges start zeroed,
 * nothing is mapped; unmap_batch writes the writable ones back with one
 * call for all it is given, and only them.
 */
static void test_copy_batch_one_call_each_way(void **state)
{
	struct gmem_range r[] = {{G(20, 0x10), 8, RD},
				 {G(21, 0xff8), 16, RD}, /* refs 21 and 22 */
				 {G(23, 0x20), 4, WR},
				 {G(24, 0), 2, WR}};
	uint64_t n;
	uint8_t *p, *w;
	void *hva;

	(void)state;
	fake_xen_grant(&fx, 20, 5, true);
	fake_xen_grant(&fx, 21, 6, true);
	fake_xen_grant(&fx, 22, 7, true);
	fake_xen_grant(&fx, 23, 8, false);
	fake_xen_grant(&fx, 24, 9, false);
	memcpy(fake_xen_page(&fx, 5) + 0x10, "header!", 8);
	memcpy(fake_xen_page(&fx, 6) + 0xff8, "abcdefgh", 8);
	memcpy(fake_xen_page(&fx, 7), "ijklmnop", 8);
	memset(fake_xen_page(&fx, 8) + 0x20, 0x55, 4);
	assert_int_equal(gmem_map_batch(m, r, 4), GMEM_APART);
	assert_int_equal(fx.gnt_map_calls, 0);
	assert_int_equal(fx.gnt_copy_calls, 1);
	assert_int_equal(fx.gnt_copy_in, 3);
	assert_memory_equal(xlate(r[0].gaddr, 8, RD, &n), "header!", 8);
	p = xlate(r[1].gaddr, 16, RD, &n);
	assert_int_equal(n, 16); /* one piece of host memory, not two */
	assert_memory_equal(p, "abcdefghijklmnop", 16);
	/* Readable ranges are not writable, copied or not. */
	assert_int_equal(gmem_translate(m, r[0].gaddr, 8, WR, &hva, &n),
			 -EFAULT);
	w = xlate(r[2].gaddr, 4, WR, &n);
	assert_memory_equal(w, "\0\0\0\0", 4); /* zeroed, not the guest's */
	memcpy(w, "done", 4);
	*(uint8_t *)xlate(r[3].gaddr, 2, WR, &n) = 7;
	/* Nothing reaches the guest before the write-back. */
	assert_int_equal(fake_xen_page(&fx, 8)[0x20], 0x55);
	gmem_unmap_batch(m, r, 4);
	assert_int_equal(fx.gnt_copy_calls, 2);
	assert_int_equal(fx.gnt_copy_out, 2);
	assert_memory_equal(fake_xen_page(&fx, 8) + 0x20, "done", 4);
	assert_int_equal(fake_xen_page(&fx, 9)[0], 7);
	assert_int_equal(fake_xen_page(&fx, 9)[1], 0);
	assert_int_equal(gmem_translate(m, r[0].gaddr, 8, RD, &hva, &n),
			 -EFAULT);
	assert_int_equal(stats().batches_copied, 1);
	assert_int_equal(stats().bytes_copied, 8 + 16 + 4 + 2);
}

/* A batch with nothing to read costs no call at all to map. */
static void test_copy_writable_only_batch_no_call(void **state)
{
	struct gmem_range r = {G(30, 0), 64, WR};
	uint64_t n;

	(void)state;
	fake_xen_grant(&fx, 30, 4, false);
	assert_int_equal(gmem_map_batch(m, &r, 1), GMEM_APART);
	assert_int_equal(fx.gnt_copy_calls, 0);
	memset(xlate(r.gaddr, 64, WR, &n), 0xab, 64);
	gmem_unmap_batch(m, &r, 1);
	assert_int_equal(fx.gnt_copy_calls, 1);
	assert_int_equal(fake_xen_page(&fx, 4)[63], 0xab);
}

/*
 * Ranges of several copied batches unmapped together: one write-back call.
 * An element unmapped alone (any grouping is allowed) costs its own.
 */
static void test_copy_write_back_gathers_batches(void **state)
{
	struct gmem_range a[] = {{G(40, 0), 1, RD}, {G(41, 0), 1, WR}};
	struct gmem_range b[] = {{G(42, 0), 1, RD}, {G(43, 0), 1, WR}};
	struct gmem_range both[] = {a[0], a[1], b[0], b[1]};

	(void)state;
	for (uint32_t k = 40; k < 44; k++)
		fake_xen_grant(&fx, k, k - 30, false);
	assert_int_equal(gmem_map_batch(m, a, 2), GMEM_APART);
	assert_int_equal(gmem_map_batch(m, b, 2), GMEM_APART);
	assert_int_equal(fx.gnt_copy_calls, 2);
	gmem_unmap_batch(m, both, 4);
	assert_int_equal(fx.gnt_copy_calls, 3);
	assert_int_equal(fx.gnt_copy_out, 2);
	assert_int_equal(gmem_map_batch(m, a, 2), GMEM_APART);
	gmem_unmap_batch(m, &a[1], 1);
	gmem_unmap_batch(m, &a[0], 1); /* readable: nothing to write */
	assert_int_equal(fx.gnt_copy_calls, 5);
}

/*
 * A readable page not granted fails the batch (the ring layer then finds
 * the request, as for a refused mapping), logged, nothing kept; a
 * writable one revoked before the write-back loses the data, logged.
 */
static void test_copy_refused(void **state)
{
	struct gmem_range r[] = {{G(50, 0), 8, RD}, {G(51, 0), 8, RD}};
	struct gmem_range w = {G(52, 0), 8, WR};
	uint64_t n;

	(void)state;
	fake_xen_grant(&fx, 50, 3, true);
	assert_int_equal(gmem_map_batch(m, r, 2), -EFAULT);
	assert_int_equal(stats().copy_failures, 1);
	assert_int_equal(gmem_map_batch(m, r, 1), GMEM_APART);
	gmem_unmap_batch(m, r, 1);
	fake_xen_grant(&fx, 52, 4, false);
	assert_int_equal(gmem_map_batch(m, &w, 1), GMEM_APART);
	*(uint8_t *)xlate(w.gaddr, 8, WR, &n) = 1;
	fake_xen_revoke(&fx, 52);
	gmem_unmap_batch(m, &w, 1);
	assert_int_equal(stats().copy_failures, 2);
	assert_int_equal(fake_xen_page(&fx, 4)[0], 0);
	/* Granted read-only but handed over as writable: the same. */
	fake_xen_grant(&fx, 52, 4, true);
	assert_int_equal(gmem_map_batch(m, &w, 1), GMEM_APART);
	gmem_unmap_batch(m, &w, 1);
	assert_int_equal(stats().copy_failures, 3);
	/* A failed call as a whole fails the batch too. */
	fx.gnt_copy_error = -ENOMEM;
	assert_int_equal(gmem_map_batch(m, r, 1), -EFAULT);
	fx.gnt_copy_error = 0;
	assert_int_equal(gmem_map_batch(m, r, 1), GMEM_APART);
	gmem_unmap_batch(m, r, 1);
}

/*
 * Batches above the copy limit are mapped; so is one that finds the copy
 * arena (64 KiB) full, and the arena's blocks come back when unmapped.
 */
static void test_copy_limits_fall_back_to_map(void **state)
{
	struct gmem_range big = {G(60, 0), 16 * 1024 + 1, WR};
	struct gmem_range blk[5];

	(void)state;
	for (uint32_t k = 60; k < 60 + 5 * 4 + 1; k++)
		fake_xen_grant(&fx, k, k % 64, false);
	assert_int_equal(gmem_map_batch(m, &big, 1), 0);
	assert_int_equal(fx.gnt_map_calls, 1);
	gmem_unmap_batch(m, &big, 1);
	for (int i = 0; i < 5; i++)
		blk[i] = (struct gmem_range){G(60 + 4 * i, 0), 16 * 1024, WR};
	for (int i = 0; i < 4; i++)
		assert_int_equal(gmem_map_batch(m, &blk[i], 1), GMEM_APART);
	assert_int_equal(gmem_map_batch(m, &blk[4], 1), 0);
	assert_int_equal(fx.gnt_map_calls, 2);
	gmem_unmap_batch(m, &blk[4], 1);
	gmem_unmap_batch(m, &blk[1], 1);
	assert_int_equal(gmem_map_batch(m, &blk[4], 1), GMEM_APART);
	gmem_unmap_batch(m, &blk[4], 1);
	gmem_unmap_batch(m, &blk[0], 1);
	gmem_unmap_batch(m, &blk[2], 1);
	gmem_unmap_batch(m, &blk[3], 1);
	assert_int_equal(fx.gnt_map_calls, 2);
	assert_int_equal(fake_xen_live(&fx, false), 0);
}

/*
 * A batch over the copy limit whose ranges of one direction are small:
 * those are copied and the others mapped with one call (one protection),
 * not one map call per direction. Both directions large: one map each.
 */
static void test_copy_one_direction_maps_other(void **state)
{
	struct gmem_range a[] = {{G(70, 8), 8, RD}, {G(71, 0), 5 * 4096, WR}};
	struct gmem_range b[] = {{G(80, 0), 5 * 4096, RD},
				 {G(86, 0x10), 1, WR}};
	struct gmem_range c[] = {{G(70, 0), 5 * 4096, WR},
				 {G(80, 0), 5 * 4096, RD}};
	uint64_t n;
	uint8_t *p;

	(void)state;
	fake_xen_grant(&fx, 70, 1, false);
	for (uint32_t k = 0; k < 6; k++) {
		fake_xen_grant(&fx, 71 + k, 2 + k, false);
		fake_xen_grant(&fx, 80 + k, 10 + k, true);
	}
	fake_xen_grant(&fx, 86, 20, false);
	memcpy(fake_xen_page(&fx, 1) + 8, "request", 8);
	assert_int_equal(gmem_map_batch(m, a, 2), 0);
	assert_int_equal(fx.gnt_copy_calls, 1);
	assert_int_equal(fx.gnt_copy_in, 1);
	assert_int_equal(fx.gnt_map_calls, 1);
	assert_int_equal(fx.last_prot, PROT_READ | PROT_WRITE);
	assert_int_equal(fx.last_count, 5);
	assert_memory_equal(xlate(a[0].gaddr, 8, RD, &n), "request", 8);
	p = xlate(a[1].gaddr + 4096 * 4, 4096, WR, &n);
	assert_int_equal(n, 4096);
	p[4095] = 0x99;
	assert_int_equal(fake_xen_page(&fx, 6)[4095], 0x99); /* mapped */
	gmem_unmap_batch(m, a, 2);
	assert_int_equal(fx.gnt_unmap_calls, 1);
	assert_int_equal(fx.gnt_copy_calls, 1); /* nothing to write back */

	fake_xen_page(&fx, 14)[0xfff] = 0x42;
	assert_int_equal(gmem_map_batch(m, b, 2), 0);
	assert_int_equal(fx.gnt_copy_calls, 1); /* nothing to read */
	assert_int_equal(fx.gnt_map_calls, 2);
	assert_int_equal(fx.last_prot, PROT_READ);
	assert_int_equal(
		*(uint8_t *)xlate(b[0].gaddr + 5 * 4096 - 1, 1, RD, &n), 0x42);
	*(uint8_t *)xlate(b[1].gaddr, 1, WR, &n) = 0x24;
	assert_int_equal(fake_xen_page(&fx, 20)[0x10], 0); /* copied */
	gmem_unmap_batch(m, b, 2);
	assert_int_equal(fx.gnt_unmap_calls, 2);
	assert_int_equal(fx.gnt_copy_calls, 2);
	assert_int_equal(fake_xen_page(&fx, 20)[0x10], 0x24);

	assert_int_equal(gmem_map_batch(m, c, 2), 0);
	assert_int_equal(fx.gnt_map_calls, 4);
	assert_int_equal(fx.gnt_copy_calls, 2);
	gmem_unmap_batch(m, c, 2);
	assert_int_equal(fx.gnt_unmap_calls, 4);
	assert_int_equal(fake_xen_live(&fx, false), 0);
	assert_int_equal(stats().batches_copied, 2);
}

/*
 * The ring layer on copied grant memory: four requests cost one copy call
 * in and one out, no mapping beyond the ring areas; the device's bytes
 * are in the guest's pages before the used index moves.
 */
static void test_ring_layer_copies_small_batch(void **state)
{
	struct vring_used *used;
	struct vq vq;
	struct vq_elem *e[4];

	(void)state;
	used = ring_of_four(&vq);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vq_pop(&vq, &e[i]), 1);
		assert_memory_equal(e[i]->rd_iov[0].iov_base, "req", 4);
		*(uint8_t *)e[i]->wr_iov[0].iov_base = (uint8_t)(0xa0 + i);
	}
	assert_int_equal(fx.gnt_map_calls, 3); /* the ring areas only */
	assert_int_equal(fx.gnt_copy_calls, 1);
	/* Copied, not grouped: the first is published while three are out. */
	vq_push(&vq, e[0], 1);
	vq_flush(&vq);
	assert_int_equal(used->idx, 1);
	assert_int_equal(fake_xen_page(&fx, 11)[0], 0xa0);
	for (int i = 1; i < 4; i++)
		vq_push(&vq, e[i], 1);
	vq_flush(&vq);
	assert_int_equal(fx.gnt_copy_calls, 3);
	assert_int_equal(used->idx, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fake_xen_page(&fx, 11 + 2 * i)[0], 0xa0 + i);
	vq_stop(&vq);
	assert_int_equal(fake_xen_live(&fx, false), 0);
	vq_destroy(&vq);
}

#define T(f)  cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TC(f) cmocka_unit_test_setup_teardown(f, setup_copy, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_gref_decoding),
		T(test_multi_page_consecutive_grefs),
		T(test_one_call_per_batch_and_permission),
		T(test_call_size_limit),
		T(test_readable_mapped_read_only),
		T(test_ungranted_fails_batch_nothing_kept),
		T(test_revoked_grant),
		T(test_address_forms),
		T(test_not_mapped_translate),
		T(test_ring_area_persists_until_release),
		T(test_create_checks_domid),
		T(test_ring_layer_one_call_per_batch),
		T(test_ring_layer_revoked_buffer),
		TC(test_copy_batch_one_call_each_way),
		TC(test_copy_writable_only_batch_no_call),
		TC(test_copy_write_back_gathers_batches),
		TC(test_copy_refused),
		TC(test_copy_limits_fall_back_to_map),
		TC(test_copy_one_direction_maps_other),
		TC(test_ring_layer_copies_small_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
