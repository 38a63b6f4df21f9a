// SPDX-License-Identifier: MIT
/*
 * Split virtqueue format (virtio 1.x section 2.7): descriptor table,
 * available ring (driver area), used ring (device area).
 *
 * Positions: last_avail and used_idx are free-running 16-bit indices, as
 * in the rings; slot = index & (num - 1) since num is a power of 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_ring.h>

#include "vq_format.h"

static int split_start(struct vq *vq, const struct vq_layout *l, uint32_t base)
{
	uint64_t extra = vq->event_idx ? 2 : 0; /* used_event / avail_event */
	uint64_t avail_len = 4 + 2ull * l->num + extra;
	uint64_t used_len = 4 + 8ull * l->num + extra;
	void *desc, *avail, *used;
	int ret;

	if (l->num & (l->num - 1))
		return -EINVAL;
	if (l->desc % 16 || l->driver % 2 || l->device % 4 || base > 0xffff)
		return -EINVAL;
	ret = vq_ring_map(vq, l->desc, 16ull * l->num, GMEM_READ, &desc);
	if (ret == 0)
		ret = vq_ring_map(vq, l->driver, avail_len, GMEM_READ, &avail);
	if (ret == 0)
		ret = vq_ring_map(vq, l->device, used_len,
				  GMEM_READ | GMEM_WRITE, &used);
	if (ret < 0)
		return ret == -EOVERFLOW || ret == -EINVAL ? -EFAULT : ret;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->last_avail = vq->avail_shadow = (uint16_t)base;
	/* Entries the device used before a restart are already in the ring. */
	vq->used_idx = vq_load16(&vq->used->idx);
	return 0;
}

static uint32_t split_pos(const struct vq *vq)
{
	return vq->last_avail;
}

static void split_rewind(struct vq *vq, uint32_t pos)
{
	vq->last_avail = (uint16_t)pos;
}

static int split_avail(struct vq *vq)
{
	uint16_t idx;

	if (vq->last_avail != vq->avail_shadow)
		return (uint16_t)(vq->avail_shadow - vq->last_avail);
	idx = vq_load16(&vq->avail->idx);
	if ((uint16_t)(idx - vq->last_avail) > vq->num)
		return vq_fail(vq, -EINVAL,
			       "avail idx %u is more than the queue size %u "
			       "ahead of %u",
			       idx, vq->num, vq->last_avail);
	if (idx == vq->last_avail)
		return 0;
	vq->avail_shadow = idx;
	/* Orders the avail->idx read before the reads of the ring entries
	 * and descriptors it covers; pairs with the driver's write barrier
	 * between filling them and storing avail->idx. */
	atomic_thread_fence(memory_order_acquire);
	return (uint16_t)(idx - vq->last_avail);
}

/* Walk e's indirect table; its entries chain through next like the ring. */
static int split_walk_table(struct vq *vq, struct vq_elem *e)
{
	struct vq_walk w;
	struct vq_table t;
	struct vring_desc d;
	uint32_t i = 0;
	int ret;

	vq_table_resume(&w, vq, e, &t);
	for (;;) {
		uint16_t flags;

		ret = vq_walk_count(&w);
		if (ret == 0)
			ret = vq_table_read(vq, &t, i, &d);
		if (ret < 0)
			return ret;
		flags = le16toh(d.flags);
		ret = vq_walk_desc(&w, le64toh(d.addr), le32toh(d.len), flags);
		if (ret < 0)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16toh(d.next);
		if (i >= t.n)
			return vq_fail(vq, -EINVAL,
				       "indirect next %u >= table size %u", i,
				       t.n);
	}
	return vq_walk_end(&w);
}

/* Walk the chain at avail index at into e. */
static inline __attribute__((always_inline)) int
split_walk(struct vq *vq, struct vq_walk *w, struct vq_elem *e,
	   const struct vring_desc *desc, uint16_t num, uint16_t at)
{
	uint16_t head = vq_load16(&vq->avail->ring[at & (num - 1)]);
	uint16_t i = head;
	int ret;

	if (head >= num)
		return vq_fail(vq, -EINVAL, "head %u >= queue size %u", head,
			       num);
	vq_walk_begin(w, e);
	for (;;) {
		struct vring_desc d;
		uint16_t flags;

		ret = vq_walk_count(w);
		if (ret < 0)
			return ret;
		vq_load_desc(&d, &desc[i]);
		flags = le16toh(d.flags);
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
		i = le16toh(d.next);
		if (i >= num)
			return vq_fail(vq, -EINVAL, "next %u >= queue size %u",
				       i, num);
	}
	/* Table entries the chain holds, not its iovecs: the ring
	 * descriptors walked. */
	e->ndesc = (uint16_t)w->count;
	e->id = head;
	e->pos = at;
	return 0;
}

static unsigned split_fetch(struct vq *vq, unsigned n, int *err)
{
	/* Copies: the walk's stores into elements cannot make them reload.
	 * The fetch position and the avail index last read are stored back
	 * only to ask split_avail and at the end. */
	const struct vring_desc *desc = vq->desc;
	uint16_t num = vq->num, at = vq->last_avail, end = vq->avail_shadow;
	struct vq_walk w;
	unsigned got = 0;
	int ret;

	*err = 0;
	vq_walk_init(&w, vq);
	while (got < n) {
		unsigned k;

		/* The first chains are the ones avail() found; more, as it
		 * answers again. */
		if (at == end) {
			vq->last_avail = at;
			ret = split_avail(vq);
			if (ret <= 0) {
				*err = ret;
				break;
			}
			end = vq->avail_shadow;
		}
		/* As many as the avail index last read covers. */
		k = (uint16_t)(end - at);
		if (k > n - got)
			k = n - got;
		for (; k; k--) {
			struct vq_elem *e = vq_elem_get(vq);

			ret = split_walk(vq, &w, e, desc, num, at);
			if (ret < 0) {
				vq_elem_put(vq, e);
				*err = ret;
				goto out;
			}
			at++;
			vq->batch[got++] = e;
		}
	}
out:
	vq->last_avail = at;
	return got;
}

/* Is the driver asking for an interrupt for the entries just written? */
static int split_need_notify(struct vq *vq, uint16_t old, uint16_t new)
{
	uint16_t event;
	bool valid = vq->signalled_used_valid;

	if (!vq->event_idx)
		return !(vq_load16(&vq->avail->flags) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	event = vq_load16(&vq->avail->ring[vq->num]); /* used_event */
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	/* After a start we do not know what the driver saw: notify. */
	return !valid || vring_need_event(event, new, old);
}

static int split_flush(struct vq *vq)
{
	uint16_t old =
		vq->signalled_used_valid ? vq->signalled_used : vq->used_idx;
	uint16_t mask = vq->num - 1;

	for (unsigned k = 0; k < vq->npending; k++) {
		struct vring_used_elem *u =
			&vq->used->ring[(vq->used_idx + k) & mask];

		vq_store32(&u->id, vq->pending[k].id);
		vq_store32(&u->len, vq->pending[k].len);
	}
	vq->used_idx += vq->npending;
	/* Orders the used elements before the idx that publishes them; pairs
	 * with the driver's read barrier after it reads used->idx. */
	atomic_thread_fence(memory_order_release);
	vq_store16(&vq->used->idx, vq->used_idx);
	/* Orders the idx store before reading flags / used_event; pairs with
	 * the driver's full barrier between writing those and re-reading
	 * used->idx, so one side always sees the other's update. */
	atomic_thread_fence(memory_order_seq_cst);
	return split_need_notify(vq, old, vq->used_idx);
}

static int split_set_notify(struct vq *vq, bool enable)
{
	if (vq->event_idx) {
		/* Disabling is implicit: avail_event stays behind the driver
		 * once we fetch past it, so at most one more kick arrives. */
		if (!enable)
			return 0;
		vq_store16(&vq->used->ring[vq->num], vq->last_avail);
	} else {
		vq_store16(&vq->used->flags,
			   enable ? 0 : VRING_USED_F_NO_NOTIFY);
		if (!enable)
			return 0;
	}
	/* Orders the store above before re-reading avail->idx; pairs with the
	 * driver's full barrier between storing avail->idx and reading
	 * used->flags / avail_event. Without it both could miss each other. */
	atomic_thread_fence(memory_order_seq_cst);
	return vq_load16(&vq->avail->idx) != vq->last_avail;
}

const struct vq_format_ops vq_split_ops = {
	.name = "split",
	.start = split_start,
	.pos = split_pos,
	.base = split_pos, /* the used index lives in the ring */
	.rewind = split_rewind,
	.avail = split_avail,
	.fetch = split_fetch,
	.walk_table = split_walk_table,
	.flush = split_flush,
	.set_notify = split_set_notify,
};
