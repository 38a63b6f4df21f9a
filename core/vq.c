// SPDX-License-Identifier: MIT
/*
 * Ring-format-independent part of the virtqueue layer: element pool,
 * batched fetch, mapping through the memory seam, iov conversion, used
 * entry batching and the queue lifecycle. The ring formats (vq_split.c,
 * vq_packed.c) plug in through struct vq_format_ops.
 */
#include "vq.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "vq_format.h"

int vq_fail(struct vq *vq, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vq->broken_why, sizeof(vq->broken_why), fmt, ap);
	va_end(ap);
	return err;
}

int vq_ring_map(struct vq *vq, uint64_t gaddr, uint64_t len, uint32_t access,
		void **hva)
{
	int ret;

	assert(vq->nring_maps < 3);
	access |= GMEM_PERSIST;
	ret = gmem_translate_contig(vq->mem, gaddr, len, access, hva);
	if (ret == 0)
		vq->ring_maps[vq->nring_maps++] =
			(struct vq_ring_map){gaddr, len, access};
	return ret;
}

static void rings_release(struct vq *vq)
{
	for (unsigned i = 0; i < vq->nring_maps; i++)
		gmem_release(vq->mem, vq->ring_maps[i].gaddr,
			     vq->ring_maps[i].len, vq->ring_maps[i].access);
	vq->nring_maps = 0;
}

/* ---- walker: the rules of vq.h, shared by both formats ---- */

int vq_table_check(struct vq *vq, struct vq_elem *e, uint64_t addr,
		   uint32_t len, uint16_t flags)
{
	if (!vq->indirect)
		return vq_fail(vq, -EINVAL,
			       "indirect descriptor, but "
			       "VIRTIO_RING_F_INDIRECT_DESC not negotiated");
	if (flags & VRING_DESC_F_NEXT)
		return vq_fail(vq, -EINVAL, "indirect descriptor with NEXT");
	if (len == 0 || len % 16)
		return vq_fail(vq, -EINVAL,
			       "indirect table length %u is not a non-zero "
			       "multiple of 16",
			       len);
	if (addr + len < addr)
		return vq_fail(vq, -EOVERFLOW,
			       "indirect table 0x%" PRIx64 "+%u wraps around",
			       addr, len);
	if (len / 16 > VQ_INDIRECT_MAX)
		return vq_fail(vq, -E2BIG,
			       "indirect table of %u entries (at most %u)",
			       len / 16, VQ_INDIRECT_MAX);
	e->table = (struct gmem_range){addr, len, GMEM_READ};
	e->table_pending = true;
	vq->tables_pending++;
	return 0;
}

/* Copy guest bytes that the seam maps in several pieces. */
static int copy_pieces(struct vq *vq, uint64_t gaddr, uint8_t *out,
		       uint32_t len)
{
	while (len) {
		void *hva;
		uint64_t maplen;
		int ret = gmem_translate(vq->mem, gaddr, len, GMEM_READ, &hva,
					 &maplen);

		if (ret < 0)
			return ret;
		vq_copy_once(out, hva, maplen);
		gaddr += maplen;
		out += maplen;
		len -= maplen;
	}
	return 0;
}

int vq_table_read(struct vq *vq, struct vq_table *t, uint32_t i, void *out)
{
	uint64_t off = (uint64_t)i * 16;
	uint64_t gaddr = t->range.gaddr + off;
	void *hva;
	int ret;

	if (!t->hva || off < t->win_start ||
	    off + 16 > t->win_start + t->win_len) {
		ret = gmem_translate(vq->mem, gaddr, t->range.len - off,
				     GMEM_READ, &hva, &t->win_len);
		if (ret == 0 && t->win_len < 16) {
			/* An entry straddles a mapping boundary. */
			t->hva = NULL;
			ret = copy_pieces(vq, gaddr, out, 16);
			if (ret == 0)
				return 0;
		}
		if (ret < 0)
			return vq_fail(vq, ret,
				       "indirect table entry at 0x%" PRIx64
				       " is not in guest memory (error %d)",
				       gaddr, ret);
		t->hva = hva;
		t->win_start = off;
	}
	vq_copy_once(out, t->hva + (off - t->win_start), 16);
	return 0;
}

/* ---- element pool ---- */

static unsigned outstanding(const struct vq *vq)
{
	/* A pushed element still mapped is in both counts: once here. */
	return (vq->used_slots - vq->nfree) + vq->npending - vq->pushed_mapped;
}

static unsigned elem_ranges(const struct vq_elem *e, struct gmem_range *r)
{
	/* Only memory that needs no map_batch converts in the walk. */
	assert(!e->converted);
	for (unsigned i = 0; i < e->nseg; i++)
		r[i] = (struct gmem_range){e->seg[i].addr, e->seg[i].len,
					   e->seg[i].access};
	return e->nseg;
}

static void elem_unmap(struct vq *vq, struct vq_elem *e)
{
	struct gmem_range r[VQ_IOV_MAX];
	unsigned n;

	if (!e->mapped)
		return;
	e->mapped = false;
	if (e->grouped) {
		e->grouped = false;
		vq->grouped_live--;
	}
	n = elem_ranges(e, r);
	if (n)
		gmem_unmap_batch(vq->mem, r, n);
}

/*
 * Unmap every element pushed since the last flush and free it: their
 * ranges in as few unmap_batch calls as vq->ranges holds (one, for any
 * batch), so a copying back-end writes them all back with one call.
 */
static void pushed_unmap(struct vq *vq)
{
	const unsigned cap = VQ_BATCH * VQ_IOV_MAX;
	unsigned nr = 0;

	if (!vq->pushed_mapped)
		return;
	for (unsigned k = 0; k < vq->npending; k++) {
		struct vq_used_pending *p = &vq->pending[k];
		struct vq_elem *e;

		if (p->slot == VQ_NO_SLOT)
			continue;
		e = &vq->pool[p->slot];
		p->slot = VQ_NO_SLOT;
		if (nr + e->nseg > cap) {
			gmem_unmap_batch(vq->mem, vq->ranges, nr);
			nr = 0;
		}
		nr += elem_ranges(e, vq->ranges + nr);
		e->mapped = false;
		if (e->grouped) {
			e->grouped = false;
			vq->grouped_live--;
		}
		vq_elem_put(vq, e);
	}
	if (nr)
		gmem_unmap_batch(vq->mem, vq->ranges, nr);
	vq->pushed_mapped = 0;
}

/* Unmap and free what was fetched but not popped, from batch_head on. */
static void batch_drop(struct vq *vq)
{
	if (vq->batch_head < vq->batch_len)
		vq->fmt->rewind(vq, vq->batch[vq->batch_head]->pos);
	for (unsigned k = vq->batch_head; k < vq->batch_len; k++) {
		struct vq_elem *e = vq->batch[k];

		elem_unmap(vq, e);
		vq_elem_put(vq, e);
	}
	vq->batch_head = vq->batch_len = 0;
}

static int vq_break(struct vq *vq, int err)
{
	vq->broken = err;
	vq->fetch_err = 0;
	batch_drop(vq);
	return err;
}

/* ---- fetch: a tight loop into the independent format, then map ---- */

/*
 * Fetch up to VQ_BATCH chains into vq->batch[0..): how many, with *err
 * set (-errno) when the next chain or the ring is bad, 0 otherwise.
 */
static unsigned fetch_batch(struct vq *vq, int *err)
{
	unsigned held = outstanding(vq), n;
	unsigned room = held < vq->num ? vq->num - held : 0;
	int ret = vq->fmt->avail(vq);

	*err = 0;
	if (ret <= 0) {
		*err = ret;
		return 0;
	}
	n = vq->fmt->fetch(vq, room < VQ_BATCH ? room : VQ_BATCH, err);
	/* A driver cannot have more buffers outstanding than descriptors:
	 * one more chain available once they are all held is a bad ring. */
	if (n == room && n < VQ_BATCH && *err == 0) {
		ret = n ? vq->fmt->avail(vq) : 1;
		*err = ret > 0 ? vq_fail(vq, -EINVAL,
					 "more than %u buffers outstanding",
					 vq->num)
			       : ret;
	}
	return n;
}

/*
 * A chain whose buffers the memory back-end will not map (a revoked Xen
 * grant): complete it with nothing written, unseen by the device. The
 * back-end has logged why.
 */
static void elem_refuse(struct vq *vq, struct vq_elem *e)
{
	struct vq_used_pending *p = &vq->pending[vq->npending++];

	p->id = e->id;
	p->ndesc = e->ndesc;
	p->len = 0;
	p->slot = VQ_NO_SLOT;
	vq->map_refused++;
	vq_elem_put(vq, e);
}

/*
 * Map the whole batch in one call. If the back-end refuses, map element by
 * element to find the bad ones: they are completed unused (elem_refuse),
 * the others served. Returns the number of elements kept.
 */
static unsigned batch_map(struct vq *vq)
{
	unsigned nr = 0, k, kept = 0;
	int ret;

	if (!gmem_needs_map(vq->mem))
		return vq->batch_len;
	if (vq->holds || vq->batch_len == 1)
		goto one_by_one;
	for (k = 0; k < vq->batch_len; k++) {
		struct vq_elem *e = vq->batch[k];

		nr += elem_ranges(e, vq->ranges + nr);
	}
	if (nr == 0)
		return vq->batch_len;
	ret = gmem_map_batch(vq->mem, vq->ranges, nr);
	if (ret >= 0) {
		for (k = 0; k < vq->batch_len; k++) {
			struct vq_elem *e = vq->batch[k];

			e->mapped = e->nseg != 0;
			e->grouped = e->mapped && ret != GMEM_APART;
			vq->grouped_live += e->grouped;
		}
		return vq->batch_len;
	}
one_by_one:
	for (k = 0; k < vq->batch_len; k++) {
		struct vq_elem *e = vq->batch[k];

		nr = elem_ranges(e, vq->ranges);
		if (nr && gmem_map_batch(vq->mem, vq->ranges, nr) < 0) {
			elem_refuse(vq, e);
			continue;
		}
		e->mapped = nr != 0;
		vq->batch[kept++] = vq->batch[k];
	}
	vq->batch_len = kept;
	return kept;
}

/* Map one range or a batch's when the memory needs it; 0 or -errno. */
static int tables_map(struct vq *vq, const struct gmem_range *r, unsigned n)
{
	return gmem_needs_map(vq->mem) ? gmem_map_batch(vq->mem, r, n) : 0;
}

static void tables_unmap(struct vq *vq, const struct gmem_range *r, unsigned n)
{
	if (gmem_needs_map(vq->mem))
		gmem_unmap_batch(vq->mem, r, n);
}

/*
 * Walk the indirect tables of the n chains just fetched into the batch:
 * every table mapped in one map_batch call first (a Xen grant back-end
 * maps them with one library call), then each walked from the copy of its
 * descriptor that the ring walk validated, then all unmapped. If the
 * back-end refuses the batch, table by table, to find the one it refuses.
 * Returns n, or the index of the first chain whose table is bad with *err
 * set: that chain and the ones after it are given back to the ring.
 */
static unsigned tables_walk(struct vq *vq, unsigned n, int *err)
{
	struct gmem_range *r = vq->ranges;
	unsigned nt = 0, k;
	bool each = false;
	int ret = 0;

	if (!vq->tables_pending)
		return n;
	vq->tables_pending = 0;
	for (k = 0; k < n; k++) {
		struct vq_elem *e = vq->batch[k];

		if (e->table_pending)
			r[nt++] = e->table;
	}
	if (nt == 0)
		return n;
	each = tables_map(vq, r, nt) < 0;
	for (k = 0; k < n; k++) {
		struct vq_elem *e = vq->batch[k];
		struct gmem_range t = e->table;

		if (!e->table_pending)
			continue;
		if (each) {
			ret = tables_map(vq, &t, 1);
			if (ret < 0) {
				vq_fail(vq, ret,
					"cannot map indirect table 0x%" PRIx64
					"+%u (error %d)",
					t.gaddr, t.len, ret);
				break;
			}
		}
		ret = vq->fmt->walk_table(vq, e);
		if (each)
			tables_unmap(vq, &t, 1);
		if (ret < 0)
			break;
	}
	if (!each)
		tables_unmap(vq, r, nt);
	if (k == n)
		return n;
	*err = ret;
	vq->fmt->rewind(vq, vq->batch[k]->pos);
	for (unsigned j = k; j < n; j++)
		vq_elem_put(vq, vq->batch[j]);
	return k;
}

/* Refill the empty batch. Returns chains fetched, 0 empty, or -errno.
 * Out of line: once a batch, and vq_pop stays small. */
static __attribute__((noinline)) int refill(struct vq *vq)
{
	unsigned n, fetched;
	int err = 0;

	if (vq->fetch_err) {
		vq->batch_head = vq->batch_len = 0;
		return vq_break(vq, vq->fetch_err);
	}
	/* Again while every chain fetched was refused: each one refused is
	 * outstanding until flushed, so this ends within the queue size. */
	do {
		vq->batch_head = vq->batch_len = 0;
		n = fetch_batch(vq, &err);
		n = tables_walk(vq, n, &err);
		fetched = n;
		vq->batch_len = n;
		if (n)
			n = batch_map(vq);
	} while (n == 0 && fetched && err == 0);
	if (err < 0) {
		if (n == 0)
			return vq_break(vq, err);
		vq->fetch_err = err;
	}
	return (int)n;
}

/* Turn a mapped element's segments into iovecs; a segment the seam maps in
 * pieces becomes several iovecs. */
/* Translate segment s into iovecs from e->iov[*niov]: 0, -E2BIG when they
 * do not fit, or the translate error (logged as the ring's). */
static int seg_convert(struct vq *vq, struct vq_elem *e,
		       const struct vq_desc *s, unsigned *niov)
{
	for (uint64_t off = 0; off < s->len;) {
		void *hva;
		uint64_t maplen;
		int ret;

		if (*niov == VQ_IOV_MAX)
			return -E2BIG;
		ret = gmem_translate(vq->mem, s->addr + off, s->len - off,
				     s->access, &hva, &maplen);
		if (ret < 0)
			return vq_fail(vq, ret,
				       "buffer %u: 0x%" PRIx64 "+%u is not in "
				       "guest memory (error %d)",
				       e->id, s->addr, s->len, ret);
		assert(maplen >= 1 && maplen <= s->len - off);
		e->iov[(*niov)++] = (struct iovec){hva, maplen};
		off += maplen;
	}
	return 0;
}

static void elem_set_iov(struct vq_elem *e, unsigned nrd, unsigned niov)
{
	e->rd_num = nrd;
	e->wr_num = niov - nrd;
	e->wr_iov = e->iov + nrd;
}

/* An element the walk did not convert (vq_walk_end): its iovecs now. */
static __attribute__((noinline)) int elem_convert(struct vq *vq,
						  struct vq_elem *e)
{
	unsigned niov = 0, nrd = 0;
	const struct vq_desc *last;
	int ret;

	e->rd_len = e->wr_len = 0;
	for (unsigned i = 0; i < e->nseg; i++) {
		const struct vq_desc *s = &e->seg[i];
		uint64_t maplen;
		void *hva;

		/* Mostly a segment is mapped whole: one translation, no call
		 * when the seam's window holds it. */
		if (niov < VQ_IOV_MAX &&
		    gmem_translate(vq->mem, s->addr, s->len, s->access, &hva,
				   &maplen) == 0 &&
		    maplen == s->len) {
			e->iov[niov++] = (struct iovec){hva, maplen};
		} else {
			ret = seg_convert(vq, e, s, &niov);
			if (ret == -E2BIG)
				goto truncated;
			if (ret < 0)
				return ret;
		}
		if (s->access == GMEM_READ) {
			e->rd_len += s->len;
			nrd = niov;
		} else {
			e->wr_len += s->len;
		}
	}
	elem_set_iov(e, nrd, niov);
	return 0;

truncated:
	/*
	 * The memory seam split the chain into more pieces than an element
	 * holds: the request fails, not the ring. Hand over its last segment
	 * only (where the device writes its status).
	 */
	e->truncated = true;
	last = &e->seg[e->nseg - 1];
	niov = 0;
	ret = seg_convert(vq, e, last, &niov);
	if (ret == -E2BIG)
		niov = VQ_IOV_MAX; /* one descriptor in 16 pieces: keep them */
	else if (ret < 0)
		return ret;
	e->rd_len = last->access == GMEM_READ ? last->len : 0;
	e->wr_len = last->access == GMEM_READ ? 0 : last->len;
	elem_set_iov(e, last->access == GMEM_READ ? niov : 0, niov);
	return 0;
}

/* ---- public API ---- */

int vq_init(struct vq *vq, unsigned index, uint16_t max_num)
{
	memset(vq, 0, sizeof(*vq));
	if (max_num == 0 || max_num > VQ_NUM_MAX)
		return -EINVAL;
	vq->index = index;
	vq->max_num = max_num;
	/* Anonymous pages, touched element by element as the ring uses them:
	 * a queue the driver sizes below max_num, or keeps short, costs only
	 * the elements it had outstanding at once. */
	vq->pool_bytes = (size_t)max_num * sizeof(*vq->pool);
	vq->pool = mmap(NULL, vq->pool_bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vq->pool == MAP_FAILED)
		vq->pool = NULL;
	vq->pending = calloc(max_num, sizeof(*vq->pending));
	vq->ranges = calloc(VQ_BATCH * VQ_IOV_MAX, sizeof(*vq->ranges));
	if (!vq->pool || !vq->pending || !vq->ranges) {
		vq_destroy(vq);
		return -ENOMEM;
	}
	return 0;
}

void vq_destroy(struct vq *vq)
{
	if (vq->pool && vq->pending)
		vq_reset(vq);
	if (vq->pool)
		munmap(vq->pool, vq->pool_bytes);
	free(vq->pending);
	free(vq->ranges);
	memset(vq, 0, sizeof(*vq));
}

int vq_start(struct vq *vq, struct gmem *mem, uint64_t features,
	     const struct vq_layout *l, uint32_t base)
{
	const struct vq_format_ops *fmt = &vq_split_ops;
	int ret;

	if (vq->started)
		return -EBUSY;
	if (l->num == 0 || l->num > vq->max_num)
		return -EINVAL;
	if (features & (1ULL << VIRTIO_F_RING_PACKED))
		fmt = &vq_packed_ops;
	vq->mem = mem;
	vq->num = l->num;
	vq->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	vq->nring_maps = 0;
	ret = fmt->start(vq, l, base);
	if (ret < 0) {
		rings_release(vq);
		return ret;
	}
	vq->fmt = fmt;
	vq->broken = 0;
	vq->mem_fault = false;
	vq->fetch_err = 0;
	vq->broken_why[0] = '\0';
	vq->batch_head = vq->batch_len = 0;
	vq->npending = 0;
	vq->signalled_used_valid = false;
	vq->started = true;
	return 0;
}

/* Unmap and free every element still held by the ring layer or device. */
static void drop_all(struct vq *vq)
{
	pushed_unmap(vq);
	batch_drop(vq);
	for (unsigned i = 0; i < vq->used_slots; i++) {
		struct vq_elem *e = &vq->pool[i];

		if (e->state != VQ_ELEM_FREE) {
			elem_unmap(vq, e);
			vq_elem_put(vq, e);
		}
	}
}

uint32_t vq_stop(struct vq *vq)
{
	if (!vq->fmt)
		return 0;
	if (vq->started) {
		/* Unmapped first: no used entry while its pages are mapped. */
		drop_all(vq);
		vq_flush(vq);
		rings_release(vq);
		vq->fetch_err = 0;
		vq->started = false;
	}
	return vq->fmt->base(vq);
}

void vq_reset(struct vq *vq)
{
	if (vq->fmt)
		drop_all(vq);
	rings_release(vq);
	vq->fmt = NULL;
	vq->started = false;
	vq->broken = 0;
	vq->mem_fault = false;
	vq->fetch_err = 0;
	vq->broken_why[0] = '\0';
	vq->npending = 0;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->pdesc = NULL;
	vq->drv_event = NULL;
	vq->dev_event = NULL;
	vq->last_avail = vq->used_idx = vq->avail_shadow = 0;
	vq->avail_wrap = vq->used_wrap = false;
}

void vq_set_holds_buffers(struct vq *vq, bool holds)
{
	vq->holds = holds;
}

bool vq_is_started(const struct vq *vq)
{
	return vq->started;
}

void vq_mem_fault(struct vq *vq)
{
	if (!vq->started)
		return;
	vq->mem_fault = true;
	pushed_unmap(vq);
	vq->npending = 0;
	if (!vq->broken) {
		vq_fail(vq, -EFAULT,
			"guest memory faulted (the front-end shrank or "
			"unmapped "
			"it)");
		vq_break(vq, -EFAULT);
	}
}

bool vq_is_mem_faulted(const struct vq *vq)
{
	return vq->mem_fault;
}

int vq_broken(const struct vq *vq, const char **why)
{
	if (why)
		*why = vq->broken ? vq->broken_why : NULL;
	return vq->broken;
}

void vq_set_deadline(struct vq *vq, uint64_t deadline_ns)
{
	vq->deadline_ns = deadline_ns;
	vq->over_budget = false;
}

bool vq_over_budget(const struct vq *vq)
{
	return vq->over_budget;
}

int vq_pop_slow(struct vq *vq, struct vq_elem **elem)
{
	struct vq_elem *e;
	int ret;

	if (vq->broken)
		return vq->broken;
	if (!vq->started)
		return 0;
	if (vq->deadline_ns && vq_now_ns() >= vq->deadline_ns) {
		vq->over_budget = true;
		return 0;
	}
	if (vq->batch_head == vq->batch_len) {
		ret = refill(vq);
		if (ret <= 0)
			return ret;
	}
	e = vq->batch[vq->batch_head];
	if (!e->converted) {
		ret = elem_convert(vq, e);
		if (ret < 0)
			return vq_break(vq, ret);
	}
	return vq_pop_take(vq, e, elem);
}

uint32_t vq_pop_count(const struct vq *vq)
{
	return vq->pop_count;
}

uint32_t vq_map_refused(const struct vq *vq)
{
	return vq->map_refused;
}

void vq_push_mapped(struct vq *vq, struct vq_elem *elem,
		    struct vq_used_pending *p)
{
	/* Unmapped by the next flush, with the others pushed. */
	elem->state = VQ_ELEM_PUSHED;
	p->slot = elem->slot;
	vq->pushed_mapped++;
}

unsigned vq_held_slots(const struct vq *vq)
{
	unsigned held = 0;

	if (!vq->started)
		return 0;
	for (unsigned i = 0; i < vq->used_slots; i++)
		if (vq->pool[i].state != VQ_ELEM_FREE &&
		    vq->pool[i].state != VQ_ELEM_PUSHED)
			held += vq->pool[i].ndesc;
	for (unsigned i = 0; i < vq->npending; i++)
		held += vq->pending[i].ndesc;
	return held;
}

unsigned vq_num(const struct vq *vq)
{
	return vq->started ? vq->num : 0;
}

int vq_flush(struct vq *vq)
{
	int ret;

	if (!vq->started || vq->npending == 0)
		return 0;
	/* Written back and unmapped before anything is published. */
	pushed_unmap(vq);
	/* A batch-mate's mapping still covers the pending elements' pages
	 * (see vq_set_holds_buffers): publish once it is gone. */
	if (vq->grouped_live)
		return 0;
	if (vq->mem_fault) {
		vq->npending = 0;
		return 0;
	}
	ret = vq->fmt->flush(vq);
	vq->npending = 0;
	return ret;
}

int vq_set_notify(struct vq *vq, bool enable)
{
	int ret;

	if (!vq->started || vq->broken)
		return 0;
	ret = vq->fmt->set_notify(vq, enable);
	if (!enable)
		return 0;
	if (vq->batch_head < vq->batch_len || vq->fetch_err)
		return 1;
	/* An invalid ring is found by the next vq_pop: make the caller look. */
	return ret != 0;
}
