/* SPDX-License-Identifier: MIT */
/*
 * Private to the ring layer: the format-ops table that split and packed
 * rings implement, and the shared descriptor walker they both feed.
 *
 * A format only knows its ring layout. It reads each descriptor out of
 * guest memory exactly once (vq_load_desc, vq_copy_once) and hands the copy to
 * vq_walk_desc(), which applies the walker rules of vq.h and appends the
 * segment to the element. Everything else (pool, batching, mapping, iov
 * conversion, lifecycle) lives in vq.c.
 *
 * Threading: as struct vq, one thread at a time.
 */
#ifndef VIRTIOBOX_CORE_VQ_FORMAT_H
#define VIRTIOBOX_CORE_VQ_FORMAT_H

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_ring.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vq.h"

struct vq_format_ops {
	const char *name;
	/*
	 * Check the layout against the format, translate the ring areas
	 * (GMEM_PERSIST) and set the ring positions from base.
	 * Returns 0, -EINVAL or -EFAULT as vq_start documents.
	 */
	int (*start)(struct vq *vq, const struct vq_layout *l, uint32_t base);
	/* The fetch position in vq_start's base encoding (packed: the low
	 * half, avail index and wrap counter). */
	uint32_t (*pos)(const struct vq *vq);
	/* What vq_stop returns: the fetch position and, for packed, the
	 * used position in the high half (see vq_start). */
	uint32_t (*base)(const struct vq *vq);
	/* Move the fetch position back to pos (a chain fetched, not popped). */
	void (*rewind)(struct vq *vq, uint32_t pos);
	/*
	 * Are chains available at the fetch position? How many at least
	 * (> 0: fetch may take that many without asking again), 0 none,
	 * -errno (reason set with vq_fail) when the ring state itself is
	 * invalid. Includes the read barrier that orders what fetch reads
	 * next.
	 */
	int (*avail)(struct vq *vq);
	/*
	 * Walk up to n chains, the one avail() found first and then each
	 * further one the format sees available (as avail() would), each
	 * into an element from vq_elem_get() (id, ndesc, pos, iovecs or
	 * seg[]) stored in vq->batch[0..), advancing the fetch position
	 * past it. One call per batch: the walk's setup is done once.
	 * Returns how many; *err is 0, or -errno with the reason set when
	 * the chain after them (or the ring state) is bad. A chain ending in
	 * an indirect table is left with table_pending (vq_table_defer):
	 * walk_table() walks the table later.
	 */
	unsigned (*fetch)(struct vq *vq, unsigned n, int *err);
	/* Walk e's pending table, mapped if the memory needs it, into e. 0,
	 * or -errno with the reason set. */
	int (*walk_table)(struct vq *vq, struct vq_elem *e);
	/*
	 * Write vq->pending[0..npending) to the ring and decide whether the
	 * driver must be notified: 1 yes, 0 no.
	 */
	int (*flush)(struct vq *vq);
	/* Enable or disable driver kicks; when enabling, 1 if avail() sees a
	 * chain after the full barrier (lost wake-up check). */
	int (*set_notify)(struct vq *vq, bool enable);
};

extern const struct vq_format_ops vq_split_ops;
extern const struct vq_format_ops vq_packed_ops;

/*
 * Translate one ring area (GMEM_PERSIST is added to access), contiguous in
 * host memory, and remember it for release at stop or reset. Returns as
 * gmem_translate_contig.
 */
int vq_ring_map(struct vq *vq, uint64_t gaddr, uint64_t len, uint32_t access,
		void **hva);

/* Record why the ring is invalid (printf-style) and return err. */
int vq_fail(struct vq *vq, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), cold));

/*
 * Copy n bytes of guest memory once. The compiler barrier after the copy
 * keeps the compiler from re-reading guest memory instead of using the copy
 * (a concurrent guest write must not make two reads disagree).
 */
static inline void vq_copy_once(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
	atomic_signal_fence(memory_order_seq_cst);
}

/*
 * Copy one 16-byte descriptor of the ring (16-byte aligned) once: two
 * volatile loads say "read exactly once" for these bytes alone, so,
 * unlike vq_copy_once's compiler barrier, the walker's own state stays in
 * registers.
 */
static inline void vq_load_desc(void *dst, const void *src)
{
	const volatile uint64_t *s = src;
	uint64_t v[2] = {s[0], s[1]};

	memcpy(dst, v, sizeof(v));
}

/* Single, untorn accesses to aligned little-endian ring fields. */
static inline uint16_t vq_load16(const void *p)
{
	return le16toh(*(const volatile uint16_t *)p);
}

static inline void vq_store16(void *p, uint16_t v)
{
	*(volatile uint16_t *)p = htole16(v);
}

static inline void vq_store32(void *p, uint32_t v)
{
	*(volatile uint32_t *)p = htole32(v);
}

/* An element for a chain being fetched, from the queue's pool. */
static inline struct vq_elem *vq_elem_get(struct vq *vq)
{
	struct vq_elem *e;

	if (vq->free_head) {
		e = vq->free_head;
		vq->free_head = e->next_free;
		vq->nfree--;
	} else {
		/* First use of this element: its page is touched only now. */
		assert(vq->used_slots < vq->max_num);
		e = &vq->pool[vq->used_slots];
		e->slot = vq->used_slots++;
		e->rd_iov = e->iov; /* for good: readable segments come first */
	}
	e->state = VQ_ELEM_FETCHED;
	return e;
}

/*
 * State of one chain walk; the walker rules live in vq_walk_*(). The walk
 * keeps what it learns about the element here (a local the compiler holds
 * in registers: nothing takes its address) and stores it in the element
 * once, at vq_walk_end or when the chain goes on in an indirect table.
 */
struct vq_walk {
	struct vq *vq;
	struct vq_elem *e;
	unsigned count;	  /* ring descriptors walked, against limit */
	unsigned limit;	  /* the queue size */
	unsigned tcount;  /* entries walked in the indirect table */
	unsigned tmax;	  /* its length */
	uint64_t total;	  /* bytes, readable + writable */
	bool writable;	  /* a writable descriptor was seen */
	bool in_table;	  /* walking an indirect table */
	bool truncated;	  /* see vq_elem_is_truncated */
	unsigned nseg;	  /* segments so far */
	unsigned nfilled; /* seg[0..nfilled) written */
	unsigned nrd;	  /* readable segments, once writable is set */
	uint64_t rd_len;  /* readable bytes, once writable is set */
	/*
	 * The seam's translation window when the fetch (or table walk)
	 * began, valid for all of it (the data path's memory is fixed
	 * meanwhile): [win_start, win_stop) at win_hva; win_stop 0 when
	 * there is none or the memory needs map_batch. win_end is win_stop
	 * while every segment of the chain so far is in iov[] only,
	 * translated from it (seg[nfilled..nseg) not written, see
	 * vq_walk_fill), else 0, which no segment's end is below.
	 */
	uint64_t win_start;
	uint64_t win_end;
	uint64_t win_stop;
	uint8_t *win_hva;
};

/* Start walks on vq: once per fetch or table walk. */
static inline void vq_walk_init(struct vq_walk *w, struct vq *vq)
{
	const struct gmem *m = vq->mem;

	*w = (struct vq_walk){.vq = vq, .limit = vq->num};
	/* Memory that needs no map_batch: each segment is translated as it
	 * is walked, while it is at hand (see vq_walk_desc). */
	if (gmem_needs_map(m) || !m->win_len)
		return;
	w->win_start = m->win_gaddr;
	/* 0 for a window up to 2^64: none, which is only slower. */
	w->win_stop = m->win_gaddr + m->win_len;
	w->win_hva = m->win_hva;
}

/* Walk a new chain into e. */
static inline void vq_walk_begin(struct vq_walk *w, struct vq_elem *e)
{
	w->e = e;
	w->count = 0;
	w->total = 0;
	w->writable = false;
	w->truncated = false;
	w->nseg = w->nfilled = 0;
	w->win_end = w->win_stop;
	e->table_pending = false;
}

/*
 * The segments converted so far also go to seg[], from their iovecs and
 * the window that made them: the conversion stops here (the rest of the
 * chain is left to vq_pop's) or the chain goes on with another window.
 */
static inline void vq_walk_fill(struct vq_walk *w)
{
	struct vq_elem *e = w->e;

	for (unsigned i = w->nfilled; i < w->nseg; i++) {
		const struct iovec *v = &e->iov[i];
		bool wr = w->writable && i >= w->nrd;

		e->seg[i] = (struct vq_desc){
			.addr = w->win_start +
				(uint64_t)((uint8_t *)v->iov_base - w->win_hva),
			.len = (uint32_t)v->iov_len,
			.access = wr ? GMEM_WRITE : GMEM_READ,
		};
	}
	w->nfilled = w->nseg;
}

/* Stop converting: seg[] holds every segment from now on. */
static inline void vq_walk_stop_converting(struct vq_walk *w)
{
	if (w->win_end) {
		vq_walk_fill(w);
		w->win_end = 0;
	}
}

/*
 * Store the walk in the element. A converted element gets its iovec
 * arrays and byte totals here; any other is converted by vq_pop.
 * Returns 0, or -EOVERFLOW for a chain of more than 4 GiB (checked here
 * once: a chain's descriptors cannot add up past 2^64).
 */
static inline int vq_walk_end(struct vq_walk *w)
{
	struct vq_elem *e = w->e;
	unsigned nrd = w->writable ? w->nrd : w->nseg;
	uint64_t rd_len = w->writable ? w->rd_len : w->total;

	e->nseg = (uint16_t)w->nseg;
	e->truncated = w->truncated;
	if (w->total > UINT32_MAX)
		return vq_fail(w->vq, -EOVERFLOW,
			       "descriptor chain longer than 4 GiB");
	e->converted = w->win_end != 0;
	if (!e->converted)
		return 0;
	e->rd_len = (uint32_t)rd_len;
	e->wr_len = (uint32_t)(w->total - rd_len);
	e->rd_num = (uint16_t)nrd;
	e->wr_num = (uint16_t)(w->nseg - nrd);
	e->wr_iov = e->iov + nrd;
	return 0;
}

/*
 * Count one more descriptor: -ELOOP past the queue size (ring descriptors)
 * or past the table's own length (inside an indirect table, which counts
 * apart: Linux builds tables of total_sg entries, more than a small queue
 * has), else 0.
 */
static inline int vq_walk_count(struct vq_walk *w)
{
	if (w->in_table) {
		if (++w->tcount > w->tmax)
			return vq_fail(w->vq, -ELOOP,
				       "indirect chain loops or is longer "
				       "than its table of %u entries",
				       w->tmax);
		return 0;
	}
	if (++w->count > w->limit)
		return vq_fail(w->vq, -ELOOP,
			       "descriptor chain loops or is longer than the "
			       "queue size %u",
			       w->limit);
	return 0;
}

/*
 * One non-indirect descriptor copied out of the ring or a table. flags are
 * VRING_DESC_F_* (the WRITE bit matters). Returns 0 or the -errno of the
 * rule it breaks (readable after writable, overflow, -E2BIG).
 */
static inline __attribute__((always_inline)) int
vq_walk_desc(struct vq_walk *w, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct vq_elem *e = w->e;
	uint64_t end;

	/* Formats hand indirect descriptors to vq_table_defer, so only a
	 * table entry can arrive here with the flag. */
	if (flags & VRING_DESC_F_INDIRECT)
		return vq_fail(w->vq, -EINVAL,
			       "indirect descriptor inside an indirect table");
	if (flags & VRING_DESC_F_WRITE) {
		if (!w->writable) {
			/* The readable part ends here. */
			w->writable = true;
			w->nrd = w->nseg;
			w->rd_len = w->total;
		}
	} else if (w->writable) {
		return vq_fail(w->vq, -EINVAL,
			       "readable descriptor after a writable one");
	}
	if (len == 0)
		return 0;
	end = addr + len;
	if (end < addr)
		return vq_fail(w->vq, -EOVERFLOW,
			       "descriptor 0x%" PRIx64 "+%u wraps around", addr,
			       len);
	w->total += len; /* checked against 4 GiB at vq_walk_end */
	/* Well formed but more than an element holds: keep walking (the
	 * ring must be checked all the same) and keep the last descriptor in
	 * the last slot, where the device finds the request's status. */
	if (__builtin_expect(w->nseg == VQ_IOV_MAX, 0)) {
		vq_walk_stop_converting(w);
		w->truncated = true;
		w->nseg--;
		w->nfilled = w->nseg;
	}
	/* The segment whole in the window: its iovec now, one per segment;
	 * anything else is left to the conversion after the walk (vq_pop).
	 * win_end 0 (not converting) fails the test. */
	if (__builtin_expect(addr >= w->win_start && end <= w->win_end, 1)) {
		e->iov[w->nseg++] =
			(struct iovec){w->win_hva + (addr - w->win_start), len};
		return 0;
	}
	vq_walk_stop_converting(w);
	e->seg[w->nseg++] = (struct vq_desc){
		.addr = addr,
		.len = len,
		.access = flags & VRING_DESC_F_WRITE ? GMEM_WRITE : GMEM_READ,
	};
	w->nfilled = w->nseg;
	return 0;
}

/* Table of 16-byte descriptors in guest memory, read entry by entry. */
struct vq_table {
	struct gmem_range range;
	uint32_t n;	    /* entries */
	const uint8_t *hva; /* current translated window */
	uint64_t win_start; /* byte offset of hva in the table */
	uint64_t win_len;
};

/*
 * Check an indirect descriptor (feature negotiated, not nested, no NEXT,
 * len a non-zero multiple of 16, no wrap, not too long) and record its
 * table in e for the batch's table walk (vq.c maps every table of a batch
 * in one map_batch, then the format's walk_table runs). Returns 0 or
 * -errno. Use vq_table_defer.
 */
int vq_table_check(struct vq *vq, struct vq_elem *e, uint64_t addr,
		   uint32_t len, uint16_t flags);

/* The chain goes on in an indirect table: check it and keep the walk so
 * far in the element for vq_table_resume. 0 or -errno. */
static inline int vq_table_defer(struct vq_walk *w, uint64_t addr, uint32_t len,
				 uint16_t flags)
{
	struct vq_elem *e = w->e;
	int ret = vq_table_check(w->vq, e, addr, len, flags);

	if (ret < 0)
		return ret;
	/* The table part may see another window. */
	vq_walk_fill(w);
	ret = vq_walk_end(w);
	if (ret < 0)
		return ret;
	e->walk_writable = w->writable;
	e->walk_total = w->total;
	e->nrd = (uint16_t)w->nrd;
	e->rd_len = (uint32_t)w->rd_len;
	return 0;
}

/*
 * Resume e's walk in its pending table: w as the walk left it, t the table
 * (already mapped when the memory needs it).
 */
static inline void vq_table_resume(struct vq_walk *w, struct vq *vq,
				   struct vq_elem *e, struct vq_table *t)
{
	vq_walk_init(w, vq);
	w->e = e;
	w->total = e->walk_total;
	w->writable = e->walk_writable;
	w->in_table = true;
	w->truncated = e->truncated;
	w->nseg = w->nfilled = e->nseg;
	w->nrd = e->nrd;
	w->rd_len = e->rd_len;
	/* Converted so far (vq_table_defer wrote seg[] all the same): go on
	 * in this window. */
	w->win_end = e->converted ? w->win_stop : 0;
	*t = (struct vq_table){.range = e->table, .n = e->table.len / 16};
	w->tmax = t->n;
	e->table_pending = false;
}

/* Copy entry i (< t->n) of the table into out[16]. 0 or -errno. */
int vq_table_read(struct vq *vq, struct vq_table *t, uint32_t i, void *out);

#endif
