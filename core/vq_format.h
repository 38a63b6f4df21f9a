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
	 * Is a chain available at the fetch position? 1 yes, 0 no, -errno
	 * (reason set with vq_fail) when the ring state itself is invalid.
	 * Includes the read barrier that orders what fetch reads next.
	 */
	int (*avail)(struct vq *vq);
	/*
	 * Walk the chain avail() found into e (id, ndesc, pos, seg[]) and
	 * advance the fetch position. 0, or -errno with the reason set. A
	 * chain ending in an indirect table is left with table_pending
	 * (vq_table_defer): walk_table() walks the table later.
	 */
	int (*fetch)(struct vq *vq, struct vq_elem *e);
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

/* State of one chain walk; the walker rules live in vq_walk_*(). */
struct vq_walk {
	struct vq *vq;
	struct vq_elem *e;
	unsigned count;	 /* ring descriptors walked, against the queue size */
	unsigned tcount; /* entries walked in the indirect table */
	unsigned tmax;	 /* its length */
	uint64_t total;	 /* bytes, readable + writable */
	bool writable;	 /* a writable descriptor was seen */
	bool in_table;	 /* walking an indirect table */
};

static inline void vq_walk_begin(struct vq_walk *w, struct vq *vq,
				 struct vq_elem *e)
{
	memset(w, 0, sizeof(*w));
	w->vq = vq;
	w->e = e;
	e->nseg = 0;
	e->truncated = false;
	e->table_pending = false;
	/* Memory that needs no map_batch: each segment is translated as it
	 * is walked, while it is at hand (see vq_walk_desc). */
	e->converted = !gmem_needs_map(vq->mem);
	e->nrd = 0;
	e->rd_len = e->wr_len = 0;
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
	if (++w->count > w->vq->num)
		return vq_fail(w->vq, -ELOOP,
			       "descriptor chain loops or is longer than the "
			       "queue size %u",
			       w->vq->num);
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
	bool wr = flags & VRING_DESC_F_WRITE;

	/* Formats hand indirect descriptors to vq_table_open, so only a
	 * table entry can arrive here with the flag. */
	if (flags & VRING_DESC_F_INDIRECT)
		return vq_fail(w->vq, -EINVAL,
			       "indirect descriptor inside an indirect table");
	if (w->writable && !wr)
		return vq_fail(w->vq, -EINVAL,
			       "readable descriptor after a writable one");
	w->writable |= wr;
	if (len == 0)
		return 0;
	if (addr + len < addr)
		return vq_fail(w->vq, -EOVERFLOW,
			       "descriptor 0x%" PRIx64 "+%u wraps around", addr,
			       len);
	w->total += len;
	if (w->total > UINT32_MAX)
		return vq_fail(w->vq, -EOVERFLOW,
			       "descriptor chain longer than 4 GiB");
	/* Well formed but more than an element holds: keep walking (the
	 * ring must be checked all the same) and keep the last descriptor in
	 * the last slot, where the device finds the request's status. */
	if (e->nseg == VQ_IOV_MAX) {
		e->truncated = true;
		e->converted = false;
		e->nseg--;
	}
	if (e->converted) {
		/* The segment whole in the seam's window: its iovec now, one
		 * per segment; anything else is left to the conversion after
		 * the walk (vq_pop). */
		struct gmem *m = w->vq->mem;
		uint64_t off = addr - m->win_gaddr;

		if (off < m->win_len && len <= m->win_len - off) {
			e->iov[e->nseg] = (struct iovec){m->win_hva + off, len};
			if (wr)
				e->wr_len += len;
			else
				e->rd_len += len, e->nrd++;
		} else {
			e->converted = false;
		}
	}
	e->seg[e->nseg++] = (struct vq_desc){
		.addr = addr,
		.len = len,
		.access = wr ? GMEM_WRITE : GMEM_READ,
	};
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
 * table in the element for the batch's table walk (vq.c maps every table
 * of a batch in one map_batch, then the format's walk_table runs). The
 * walk state so far goes with it. Returns 0 or -errno.
 */
int vq_table_defer(struct vq_walk *w, uint64_t addr, uint32_t len,
		   uint16_t flags);
/*
 * Resume e's walk in its pending table: w as the walk left it, t the table
 * (already mapped when the memory needs it). Pair with vq_table_close().
 */
void vq_table_resume(struct vq_walk *w, struct vq *vq, struct vq_elem *e,
		     struct vq_table *t);
/* Copy entry i (< t->n) of the table into out[16]. 0 or -errno. */
int vq_table_read(struct vq_walk *w, struct vq_table *t, uint32_t i, void *out);
void vq_table_close(struct vq_walk *w, struct vq_table *t);

#endif
