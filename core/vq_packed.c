// SPDX-License-Identifier: MIT
/*
 * Packed virtqueue format (virtio 1.x section 2.8, VIRTIO_F_RING_PACKED):
 * one descriptor ring written by both sides, a driver event suppression
 * structure (driver area) and a device one (device area).
 *
 * Positions are a ring index in [0, num) plus a wrap counter. To compare
 * positions (event suppression) they are mapped to a linear value modulo
 * 2 * num, where advancing by one always adds one: lin = idx with the wrap
 * counter set, idx + num without.
 */
#include <errno.h>
#include <linux/virtio_ring.h>

#include "vq_format.h"

#define AVAIL_F	 (1u << VRING_PACKED_DESC_F_AVAIL)
#define USED_F	 (1u << VRING_PACKED_DESC_F_USED)
#define WRAP_BIT (1u << VRING_PACKED_EVENT_F_WRAP_CTR)

static uint16_t lin(const struct vq *vq, uint16_t idx, bool wrap)
{
	return wrap ? idx : idx + vq->num;
}

/*
 * The base's two halves (vq_start): avail and used positions, each an
 * index < num with the wrap counter in bit 15. The used position may be
 * behind the avail one by buffers that were in flight when the ring
 * stopped (never completed), by at most num slots; it is never ahead.
 */
static bool base_is_valid(uint16_t avail, uint16_t used, uint16_t num)
{
	uint16_t a = avail & ~WRAP_BIT, u = used & ~WRAP_BIT;
	uint32_t two = 2u * num, la, lu;

	if (a >= num || u >= num)
		return false;
	la = avail & WRAP_BIT ? a : a + num;
	lu = used & WRAP_BIT ? u : u + num;
	return (la + two - lu) % two <= num;
}

static int packed_start(struct vq *vq, const struct vq_layout *l, uint32_t base)
{
	uint16_t avail = base & 0xffff, used = base >> 16;
	void *desc, *drv, *dev;
	int ret;

	if (l->desc % 16 || l->driver % 4 || l->device % 4)
		return -EINVAL;
	/* No used half: the used position restarts at the avail one. */
	if (!used)
		used = avail;
	if (!base_is_valid(avail, used, l->num))
		return -EINVAL;
	ret = vq_ring_map(vq, l->desc, 16ull * l->num, GMEM_READ | GMEM_WRITE,
			  &desc);
	if (ret == 0)
		ret = vq_ring_map(vq, l->driver, 4, GMEM_READ, &drv);
	if (ret == 0)
		ret = vq_ring_map(vq, l->device, 4, GMEM_READ | GMEM_WRITE,
				  &dev);
	if (ret < 0)
		return ret == -EOVERFLOW || ret == -EINVAL ? -EFAULT : ret;
	vq->pdesc = desc;
	vq->drv_event = drv;
	vq->dev_event = dev;
	vq->last_avail = avail & ~WRAP_BIT;
	vq->avail_wrap = avail & WRAP_BIT;
	/* The driver looks for the next used descriptor where the last one
	 * went, which is behind last_avail if buffers were dropped. */
	vq->used_idx = used & ~WRAP_BIT;
	vq->used_wrap = used & WRAP_BIT;
	return 0;
}

static uint32_t packed_pos(const struct vq *vq)
{
	return vq->last_avail | (vq->avail_wrap ? WRAP_BIT : 0);
}

static uint32_t packed_base(const struct vq *vq)
{
	uint32_t used = vq->used_idx | (vq->used_wrap ? WRAP_BIT : 0);

	return packed_pos(vq) | used << 16;
}

static void packed_rewind(struct vq *vq, uint32_t pos)
{
	vq->last_avail = pos & ~WRAP_BIT;
	vq->avail_wrap = pos & WRAP_BIT;
}

/*
 * Is the descriptor at idx available to the device, the driver's wrap
 * counter at idx being wrap? Only its AVAIL and USED bits are read here:
 * the walk takes every other bit from its own copy of the descriptor, so
 * each bit the device acts on comes from one read.
 */
static inline bool desc_is_avail(const struct vring_packed_desc *pdesc,
				 uint16_t idx, bool wrap)
{
	uint16_t flags = vq_load16(&pdesc[idx].flags);

	if ((flags & (AVAIL_F | USED_F)) != (wrap ? AVAIL_F : USED_F))
		return false;
	/* Orders the head flags read before the reads of the chain; pairs
	 * with the driver's write barrier before it stores the head flags. */
	atomic_thread_fence(memory_order_acquire);
	return true;
}

static int packed_avail(struct vq *vq)
{
	return desc_is_avail(vq->pdesc, vq->last_avail, vq->avail_wrap);
}

/* Walk e's indirect table: entries are consecutive, WRITE is the only flag
 * that matters (INDIRECT is refused by the walker as nesting). */
static int packed_walk_table(struct vq *vq, struct vq_elem *e)
{
	struct vq_walk w;
	struct vq_table t;
	struct vring_packed_desc d;
	int ret;

	vq_table_resume(&w, vq, e, &t);
	for (uint32_t i = 0; i < t.n; i++) {
		ret = vq_walk_count(&w);
		if (ret == 0)
			ret = vq_table_read(vq, &t, i, &d);
		if (ret == 0)
			ret = vq_walk_desc(&w, le64toh(d.addr), le32toh(d.len),
					   le16toh(d.flags) &
						   (VRING_DESC_F_WRITE |
						    VRING_DESC_F_INDIRECT));
		if (ret < 0)
			return ret;
	}
	return vq_walk_end(&w);
}

/* Walk the chain at ring index *idx (available; the wrap counter is
 * *wrap, as WRAP_BIT or 0) into e and move both past it. */
static inline __attribute__((always_inline)) int
packed_walk(struct vq *vq, struct vq_walk *w, struct vq_elem *e,
	    const struct vring_packed_desc *pdesc, uint16_t num, uint16_t *idx,
	    uint16_t *wrap)
{
	uint16_t i = *idx, wr = *wrap, id;
	int ret;

	e->pos = i | wr; /* while at hand: the element is dropped on error */
	vq_walk_begin(w, e);
	for (;;) {
		struct vring_packed_desc d;
		uint16_t flags;

		ret = vq_walk_count(w);
		if (ret < 0)
			return ret;
		vq_load_desc(&d, &pdesc[i]);
		flags = le16toh(d.flags);
		if (++i == num) {
			i = 0;
			wr ^= WRAP_BIT;
		}
		id = le16toh(d.id); /* the last descriptor's id counts */
		if (flags & VRING_DESC_F_INDIRECT) {
			ret = vq_table_defer(w, le64toh(d.addr), le32toh(d.len),
					     flags);
			if (ret < 0)
				return ret;
			break; /* an indirect descriptor ends the chain */
		}
		ret = vq_walk_desc(w, le64toh(d.addr), le32toh(d.len), flags);
		if (ret < 0)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT)) {
			ret = vq_walk_end(w);
			if (ret < 0)
				return ret;
			break;
		}
	}
	if (id >= num)
		return vq_fail(vq, -EINVAL, "buffer id %u >= queue size %u", id,
			       num);
	e->id = id;
	e->ndesc = (uint16_t)w->count;
	*idx = i;
	*wrap = wr;
	return 0;
}

static unsigned packed_fetch(struct vq *vq, unsigned n, int *err)
{
	/* Copies: the walk's stores into elements cannot make them reload.
	 * The fetch position is stored back once, at the end. */
	const struct vring_packed_desc *pdesc = vq->pdesc;
	uint16_t num = vq->num, idx = vq->last_avail;
	uint16_t wrap = vq->avail_wrap ? WRAP_BIT : 0;
	struct vq_walk w;
	unsigned got = 0;

	*err = 0;
	vq_walk_init(&w, vq);
	while (got < n) {
		struct vq_elem *e;
		int ret;

		/* The first is the chain avail() found. */
		if (got && !desc_is_avail(pdesc, idx, wrap != 0))
			break;
		e = vq_elem_get(vq);
		ret = packed_walk(vq, &w, e, pdesc, num, &idx, &wrap);
		if (ret < 0) {
			vq_elem_put(vq, e);
			*err = ret;
			break;
		}
		vq->batch[got++] = e;
	}
	vq->last_avail = idx;
	vq->avail_wrap = wrap != 0;
	return got;
}

/* vring_need_event over linear positions modulo 2 * num. */
static bool need_event(const struct vq *vq, uint16_t event, uint16_t new,
		       uint16_t old)
{
	uint32_t two = 2u * vq->num;

	return (new + two - event - 1) % two < (new + two - old) % two;
}

static int packed_need_notify(struct vq *vq, uint16_t old)
{
	uint16_t new = lin(vq, vq->used_idx, vq->used_wrap);
	bool valid = vq->signalled_used_valid;
	uint16_t flags, off_wrap, event;

	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	flags = vq_load16(&vq->drv_event->flags);
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return 0;
	/* DESC without EVENT_IDX, and the reserved value 3: notify. */
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx || !valid)
		return 1;
	/* Orders the flags read before the off_wrap read; pairs with the
	 * driver's write barrier between storing off_wrap and flags. */
	atomic_thread_fence(memory_order_acquire);
	off_wrap = vq_load16(&vq->drv_event->off_wrap);
	event = lin(vq, off_wrap & ~WRAP_BIT, off_wrap & WRAP_BIT) %
		(2u * vq->num);
	return need_event(vq, event, new, old);
}

/* Flags of a used descriptor: AVAIL and USED both at the used wrap
 * counter (wrap_flags: both or neither), WRITE when the device wrote. */
static inline uint16_t used_flags(uint16_t wrap_flags, uint32_t len)
{
	return wrap_flags | (len ? VRING_DESC_F_WRITE : 0);
}

static int packed_flush(struct vq *vq)
{
	/* Copies: the stores to the ring cannot make them reload. */
	struct vring_packed_desc *pdesc = vq->pdesc;
	const struct vq_used_pending *pend = vq->pending;
	unsigned n = vq->npending; /* at least one (vq_flush) */
	uint16_t num = vq->num, idx = vq->used_idx;
	uint16_t old = vq->signalled_used_valid ? vq->signalled_used
						: lin(vq, idx, vq->used_wrap);
	uint16_t wrap_flags = vq->used_wrap ? AVAIL_F | USED_F : 0;
	struct vring_packed_desc *first = &pdesc[idx];
	uint16_t first_flags = used_flags(wrap_flags, pend[0].len);

	for (unsigned k = 0; k < n; k++) {
		const struct vq_used_pending *p = &pend[k];
		struct vring_packed_desc *d = &pdesc[idx];

		vq_store16(&d->id, p->id);
		vq_store32(&d->len, p->len);
		/* The first one's flags go last, below. */
		if (k)
			vq_store16(&d->flags, used_flags(wrap_flags, p->len));
		idx += p->ndesc; /* the chain's slots are skipped */
		if (idx >= num) {
			idx -= num;
			wrap_flags ^= AVAIL_F | USED_F;
		}
	}
	/* Orders every used descriptor written above (ids, lengths, flags of
	 * all but the first) before the first one's flags, which publish the
	 * whole batch at once; pairs with the driver's read barrier after it
	 * sees the first used flags. */
	atomic_thread_fence(memory_order_release);
	vq_store16(&first->flags, first_flags);
	vq->used_idx = idx;
	vq->used_wrap = wrap_flags != 0;
	/* Orders the flags store before reading the driver event structure;
	 * pairs with the driver's full barrier between writing that structure
	 * and re-checking the ring for used descriptors. */
	atomic_thread_fence(memory_order_seq_cst);
	return packed_need_notify(vq, old);
}

static int packed_set_notify(struct vq *vq, bool enable)
{
	uint16_t *flags = &vq->dev_event->flags;

	if (!enable) {
		vq_store16(flags, VRING_PACKED_EVENT_FLAG_DISABLE);
		return 0;
	}
	if (vq->event_idx) {
		vq_store16(&vq->dev_event->off_wrap, packed_pos(vq));
		/* Orders off_wrap before flags; pairs with the driver's read
		 * barrier between reading flags and off_wrap. */
		atomic_thread_fence(memory_order_release);
		vq_store16(flags, VRING_PACKED_EVENT_FLAG_DESC);
	} else {
		vq_store16(flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	}
	/* Orders the event store before re-reading the next descriptor;
	 * pairs with the driver's full barrier between making a descriptor
	 * available and reading the device event structure. */
	atomic_thread_fence(memory_order_seq_cst);
	return packed_avail(vq);
}

const struct vq_format_ops vq_packed_ops = {
	.name = "packed",
	.start = packed_start,
	.pos = packed_pos,
	.base = packed_base,
	.rewind = packed_rewind,
	.avail = packed_avail,
	.fetch = packed_fetch,
	.walk_table = packed_walk_table,
	.flush = packed_flush,
	.set_notify = packed_set_notify,
};
