// SPDX-License-Identifier: MIT
/*
 * Foreign guest memory (see xen_gmem.h): a cache of bucket mappings with
 * pin counts and LRU ages, plus one mapping per ring area.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen_gmem_int.h"

#define BUCKET_PAGES (XEN_GMEM_FOREIGN_BUCKET / XEN_SYS_PAGE)
#define BUCKET_SHIFT 16
#define RING_PAGES   256 /* 1 MiB: more than any ring area */

_Static_assert(XEN_GMEM_FOREIGN_BUCKET == 1u << BUCKET_SHIFT, "bucket size");
_Static_assert(BUCKET_PAGES <= 32, "valid is a 32-bit mask");

struct fm_slot {
	uint8_t *addr;	 /* NULL: empty */
	uint64_t bucket; /* guest address >> BUCKET_SHIFT */
	uint32_t valid;	 /* pages the guest has, bit per page */
	uint32_t pins;	 /* map_batch ranges using it */
	uint64_t age;	 /* last use, for LRU */
	bool stale;	 /* invalidated while pinned: unmap when unpinned */
};

struct fm_ring {
	uint8_t *addr; /* NULL: free */
	uint64_t gaddr, len;
	uint32_t access, npages;
};

struct xen_fm {
	struct xen_gmem x;
	uint64_t clock;
	unsigned nslots;
	struct fm_slot *slots;
	unsigned nrings;
	struct fm_ring *rings;
	uint64_t frames[RING_PAGES];
	int err[RING_PAGES];
};

static struct xen_fm *fm_of(struct gmem *g)
{
	return container_of(xen_gmem_of(g), struct xen_fm, x);
}

static int map_frames(struct xen_fm *f, uint64_t frame, uint32_t n, void **addr)
{
	int ret;

	for (uint32_t i = 0; i < n; i++)
		f->frames[i] = frame + i;
	f->x.stats.map_calls++;
	ret = f->x.sys->ops->fm_map(f->x.sys, f->x.domid, n, f->frames, f->err,
				    addr);
	if (ret < 0) {
		f->x.stats.map_failures++;
		log_msg_ratelimited(
			&f->x.rl, LOG_LEVEL_WARN,
			"%s: domain %u: guest frames 0x%llx-0x%llx "
			"cannot be mapped: %s%s",
			f->x.label, f->x.domid, (unsigned long long)frame,
			(unsigned long long)(frame + n - 1), strerror(-ret),
			ret == -EPERM || ret == -EACCES
				? " (foreign mappings need this domain to be "
				  "the guest's device model: virtiobox "
				  "xen-target in dom0, or a FLASK policy "
				  "allowing it; grants, grant_usage=1, do not)"
				: "");
		return ret;
	}
	f->x.stats.pages_mapped += n;
	return 0;
}

static void unmap_frames(struct xen_fm *f, void *addr, uint32_t n)
{
	int ret;

	f->x.stats.unmap_calls++;
	ret = f->x.sys->ops->fm_unmap(f->x.sys, addr, n);
	if (ret < 0)
		log_msg_ratelimited(&f->x.rl, LOG_LEVEL_ERR,
				    "%s: domain %u: unmapping %u foreign "
				    "pages: %s",
				    f->x.label, f->x.domid, n, strerror(-ret));
}

static void slot_drop(struct xen_fm *f, struct fm_slot *s)
{
	unmap_frames(f, s->addr, BUCKET_PAGES);
	memset(s, 0, sizeof(*s));
}

/* Drop the stale copies of bucket nobody pins any more. */
static void drop_stale(struct xen_fm *f, uint64_t bucket)
{
	for (unsigned i = 0; i < f->nslots; i++) {
		struct fm_slot *s = &f->slots[i];

		if (s->addr && s->stale && !s->pins && s->bucket == bucket)
			slot_drop(f, s);
	}
}

static void frame_missing(struct xen_fm *f, uint64_t gaddr)
{
	log_msg_ratelimited(&f->x.rl, LOG_LEVEL_WARN,
			    "%s: domain %u: guest frame 0x%llx is not in the "
			    "guest's memory",
			    f->x.label, f->x.domid,
			    (unsigned long long)(gaddr >> XEN_SYS_PAGE_SHIFT));
}

/* The cached bucket, mapping it (evicting the LRU unpinned one) if absent.
 * Returns the slot or NULL with *err set. */
static struct fm_slot *bucket_get(struct xen_fm *f, uint64_t bucket, int *err)
{
	struct fm_slot *victim = NULL;
	void *addr;
	uint32_t valid = 0;

	for (unsigned i = 0; i < f->nslots; i++) {
		struct fm_slot *s = &f->slots[i];

		if (s->addr && !s->stale && s->bucket == bucket) {
			f->x.stats.cache_hits++;
			s->age = ++f->clock;
			return s;
		}
		if (s->pins || s->stale)
			continue;
		if (!victim || !s->addr ||
		    (victim->addr && s->age < victim->age))
			victim = s;
	}
	if (!victim) {
		*err = -ENOBUFS;
		log_msg_ratelimited(&f->x.rl, LOG_LEVEL_WARN,
				    "%s: domain %u: all %u foreign mapping "
				    "slots are in use",
				    f->x.label, f->x.domid, f->nslots);
		return NULL;
	}
	*err = map_frames(f, bucket << (BUCKET_SHIFT - XEN_SYS_PAGE_SHIFT),
			  BUCKET_PAGES, &addr);
	if (*err < 0)
		return NULL;
	for (unsigned i = 0; i < BUCKET_PAGES; i++)
		if (!f->err[i])
			valid |= 1u << i;
	if (victim->addr) {
		f->x.stats.evictions++;
		slot_drop(f, victim);
	}
	*victim = (struct fm_slot){addr, bucket, valid, 0, ++f->clock, false};
	/* Pins on an invalidated copy move here: all pins of a bucket sit on
	 * one slot, so the last unpin, whichever range it is for, is when
	 * every copy may go. */
	for (unsigned i = 0; i < f->nslots; i++) {
		struct fm_slot *s = &f->slots[i];

		if (s != victim && s->addr && s->stale && s->bucket == bucket) {
			victim->pins += s->pins;
			s->pins = 0;
		}
	}
	return victim;
}

/* Are the pages of [gaddr, gaddr + len) in slot s all the guest's? len
 * stays inside the bucket. */
static bool pages_valid(const struct fm_slot *s, uint64_t gaddr, uint64_t len)
{
	unsigned first = (gaddr >> XEN_SYS_PAGE_SHIFT) % BUCKET_PAGES;
	unsigned last =
		((gaddr + len - 1) >> XEN_SYS_PAGE_SHIFT) % BUCKET_PAGES;

	for (unsigned p = first; p <= last; p++)
		if (!(s->valid & 1u << p))
			return false;
	return true;
}

static uint64_t bucket_end(uint64_t gaddr)
{
	return ((gaddr >> BUCKET_SHIFT) + 1) << BUCKET_SHIFT;
}

static struct fm_slot *slot_find(struct xen_fm *f, uint64_t bucket)
{
	for (unsigned i = 0; i < f->nslots; i++)
		if (f->slots[i].addr && f->slots[i].pins &&
		    f->slots[i].bucket == bucket)
			return &f->slots[i];
	return NULL;
}

static void unpin(struct xen_fm *f, struct fm_slot *s)
{
	if (--s->pins == 0)
		drop_stale(f, s->bucket);
}

/* Unpin the buckets of [gaddr, limit). */
static void unpin_range(struct xen_fm *f, uint64_t gaddr, uint64_t limit)
{
	for (uint64_t a = gaddr; a < limit; a = bucket_end(a)) {
		struct fm_slot *s = slot_find(f, a >> BUCKET_SHIFT);

		if (s)
			unpin(f, s);
	}
}

static int pin_range(struct xen_fm *f, const struct gmem_range *r)
{
	uint64_t end = r->gaddr + r->len;
	int ret = 0;

	for (uint64_t a = r->gaddr; a < end; a = bucket_end(a)) {
		uint64_t e = bucket_end(a) < end ? bucket_end(a) : end;
		struct fm_slot *s = bucket_get(f, a >> BUCKET_SHIFT, &ret);

		if (s && !pages_valid(s, a, e - a)) {
			frame_missing(f, a);
			ret = -EFAULT;
			s = NULL;
		}
		if (!s) {
			unpin_range(f, r->gaddr, a);
			return ret;
		}
		s->pins++;
	}
	return 0;
}

static int fm_map_batch(struct gmem *g, const struct gmem_range *r, unsigned n)
{
	struct xen_fm *f = fm_of(g);

	for (unsigned i = 0; i < n; i++) {
		int ret = 0;

		if (!r[i].len)
			continue;
		if (r[i].gaddr + r[i].len < r[i].gaddr)
			ret = -EOVERFLOW;
		else
			ret = pin_range(f, &r[i]);
		if (ret < 0) {
			while (i--)
				if (r[i].len)
					unpin_range(f, r[i].gaddr,
						    r[i].gaddr + r[i].len);
			return ret;
		}
	}
	return 0;
}

static void fm_unmap_batch(struct gmem *g, const struct gmem_range *r,
			   unsigned n)
{
	struct xen_fm *f = fm_of(g);

	for (unsigned i = 0; i < n; i++)
		if (r[i].len && r[i].gaddr + r[i].len > r[i].gaddr)
			unpin_range(f, r[i].gaddr, r[i].gaddr + r[i].len);
}

static int map_ring(struct xen_fm *f, uint64_t gaddr, uint64_t len,
		    uint32_t access, void **hva)
{
	uint64_t first = gaddr >> XEN_SYS_PAGE_SHIFT;
	uint64_t np = ((gaddr + len - 1) >> XEN_SYS_PAGE_SHIFT) - first + 1;
	struct fm_ring *slot = NULL;
	void *addr;
	int ret;

	if (np > RING_PAGES)
		return -EFAULT;
	for (unsigned i = 0; i < f->nrings && !slot; i++)
		if (!f->rings[i].addr)
			slot = &f->rings[i];
	if (!slot) {
		unsigned n = f->nrings ? f->nrings * 2 : 8;
		struct fm_ring *p = realloc(f->rings, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + f->nrings, 0, (n - f->nrings) * sizeof(*p));
		slot = &p[f->nrings];
		f->rings = p;
		f->nrings = n;
	}
	ret = map_frames(f, first, (uint32_t)np, &addr);
	if (ret < 0)
		return -EFAULT;
	for (uint64_t i = 0; i < np; i++) {
		if (f->err[i]) {
			frame_missing(f, (first + i) << XEN_SYS_PAGE_SHIFT);
			unmap_frames(f, addr, (uint32_t)np);
			return -EFAULT;
		}
	}
	*slot = (struct fm_ring){addr, gaddr, len, access, (uint32_t)np};
	*hva = (uint8_t *)addr + (gaddr & (XEN_SYS_PAGE - 1));
	return 0;
}

static int fm_translate(struct gmem *g, uint64_t gaddr, uint64_t len,
			uint32_t access, void **hva, uint64_t *maplen)
{
	struct xen_fm *f = fm_of(g);
	struct fm_slot *s;
	uint64_t n, p;
	int ret;

	if (!len)
		return -EINVAL;
	if (gaddr + len < gaddr)
		return -EOVERFLOW;
	if (access & GMEM_PERSIST) {
		ret = map_ring(f, gaddr, len, access, hva);
		if (ret == 0)
			*maplen = len;
		return ret;
	}
	s = bucket_get(f, gaddr >> BUCKET_SHIFT, &ret);
	if (!s)
		return ret;
	n = bucket_end(gaddr) - gaddr;
	if (n > len)
		n = len;
	/* Cut before the first page the guest does not have. */
	for (p = 0; p < n;) {
		uint64_t a = gaddr + p;
		uint64_t step = XEN_SYS_PAGE - (a & (XEN_SYS_PAGE - 1));

		if (!pages_valid(s, a, 1))
			break;
		p += step;
	}
	if (p == 0) {
		frame_missing(f, gaddr);
		return -EFAULT;
	}
	*hva = s->addr + (gaddr & (XEN_GMEM_FOREIGN_BUCKET - 1));
	*maplen = p < n ? p : n;
	return 0;
}

static void fm_release(struct gmem *g, uint64_t gaddr, uint64_t len,
		       uint32_t access)
{
	struct xen_fm *f = fm_of(g);

	for (unsigned i = 0; i < f->nrings; i++) {
		struct fm_ring *r = &f->rings[i];

		if (r->addr && r->gaddr == gaddr && r->len == len &&
		    r->access == access) {
			unmap_frames(f, r->addr, r->npages);
			memset(r, 0, sizeof(*r));
			return;
		}
	}
}

static const struct gmem_ops fm_ops = {
	.translate = fm_translate,
	.map_batch = fm_map_batch,
	.unmap_batch = fm_unmap_batch,
	.release = fm_release,
};

int xen_gmem_foreign_create_sys(struct gmem **out, struct xen_sys *sys,
				uint16_t domid, unsigned cache_slots,
				const char *label)
{
	struct xen_fm *f;
	int ret = xen_gmem_check(domid);

	if (ret == 0 && cache_slots > XEN_GMEM_FOREIGN_SLOTS_MAX)
		ret = -EINVAL;
	if (ret < 0)
		goto err_close;
	if (!cache_slots)
		cache_slots = XEN_GMEM_FOREIGN_SLOTS_DEFAULT;
	f = calloc(1, sizeof(*f));
	if (f)
		f->slots = calloc(cache_slots, sizeof(*f->slots));
	if (!f || !f->slots) {
		free(f);
		ret = -ENOMEM;
		goto err_close;
	}
	f->x.gmem.ops = &fm_ops;
	f->x.kind = XEN_GMEM_FOREIGN;
	f->x.domid = domid;
	f->x.sys = sys;
	snprintf(f->x.label, sizeof(f->x.label), "%s", label ? label : "xen");
	log_ratelimit_init(&f->x.rl, f->x.label);
	f->nslots = cache_slots;
	*out = &f->x.gmem;
	return 0;

err_close:
	sys->ops->close(sys);
	return ret;
}

void xen_gmem_foreign_invalidate(struct xen_gmem *x)
{
	struct xen_fm *f = container_of(x, struct xen_fm, x);

	for (unsigned i = 0; i < f->nslots; i++) {
		struct fm_slot *s = &f->slots[i];

		if (!s->addr)
			continue;
		if (s->pins)
			s->stale = true;
		else
			slot_drop(f, s);
	}
}

void xen_gmem_foreign_destroy(struct xen_gmem *x)
{
	struct xen_fm *f = container_of(x, struct xen_fm, x);

	for (unsigned i = 0; i < f->nslots; i++)
		if (f->slots[i].addr)
			slot_drop(f, &f->slots[i]);
	for (unsigned i = 0; i < f->nrings; i++)
		if (f->rings[i].addr)
			unmap_frames(f, f->rings[i].addr, f->rings[i].npages);
	free(f->slots);
	free(f->rings);
	xen_gmem_log_release(x);
	x->sys->ops->close(x->sys);
	free(f);
}
