/* SPDX-License-Identifier: MIT */
/*
 * Ring-format-independent virtqueue layer.
 *
 * Split and packed rings each implement one const format-ops table
 * (core/vq_split.c, core/vq_packed.c), chosen once by vq_start() from the
 * negotiated VIRTIO_F_RING_PACKED bit. Device code sees only struct vq_elem.
 *
 * Data path, following the "ring format independence" idea:
 *   1. fetch: a tight loop reads up to VQ_BATCH available chains and walks
 *      them (indirect tables included) into struct vq_desc, the one
 *      ring-independent descriptor format;
 *   2. map: gmem_map_batch() over every range of the batch (lazy back-ends);
 *   3. convert: each chain's descriptors become readable and writable iovs
 *      through gmem_translate(), which may split one descriptor in several;
 *   4. used entries are collected by vq_push() and written together by
 *      vq_flush(), which decides once whether the driver must be notified.
 *
 * Walker rules (each violation marks the queue broken and is returned from
 * vq_pop as the listed -errno; the queue then returns that error until
 * vq_reset or vq_start):
 *   - head / next / buffer id >= queue size                  -EINVAL
 *   - split: avail idx ahead of the device by more than the
 *     queue size; either format: more buffers outstanding
 *     (fetched and not yet flushed as used) than the queue size -EINVAL
 *   - ring descriptors of a chain beyond the queue size, or
 *     indirect entries beyond their table's length (a loop)  -ELOOP
 *   - an indirect table of more than VQ_INDIRECT_MAX entries -E2BIG
 *   - an indirect descriptor inside an indirect table        -EINVAL
 *   - indirect table length 0 or not a multiple of 16        -EINVAL
 *   - indirect with VRING_DESC_F_NEXT (both formats: the spec
 *     forbids it for split too) / INDIRECT not negotiated    -EINVAL
 *   - a next index inside a split indirect table >= its size -EINVAL
 *   - a readable descriptor after a writable one             -EINVAL
 *   - address outside guest memory                           -EFAULT
 *     (or whatever -errno the memory back-end's translate returned;
 *     an indirect table map_batch refuses also breaks the queue)
 *   - address + len wraps around 2^64                        -EOVERFLOW
 *   - a chain's byte total (readable + writable) over UINT32_MAX
 *                                                            -EOVERFLOW
 * Not a ring violation: a chain whose buffers the memory back-end's
 * map_batch refuses (a Xen grant the guest revoked or never gave) is
 * completed at once with 0 bytes written, never seen by device code, and
 * the queue serves on (vq_map_refused counts them; the back-end logs why).
 * Not a ring violation either: a well-formed chain that needs more iov
 * segments than VQ_IOV_MAX (a descriptor split by the memory seam counts
 * once per piece) is delivered truncated (vq_elem_is_truncated) for the
 * device to fail.
 * A zero-length direct descriptor is accepted and adds no iov segment.
 * An indirect descriptor ends the chain it is in; its WRITE flag is ignored.
 * Chains fetched in one batch before the bad one are still returned by
 * vq_pop first, in ring order; the error comes when the bad chain's turn
 * comes. Each descriptor is copied once out of guest memory and the copy is
 * validated, so a guest rewriting the ring concurrently cannot make the
 * walker see two different versions of one descriptor.
 *
 * No heap allocation happens after vq_init(): elements, their iovs and
 * descriptors live in per-queue arrays sized by the queue's maximum size.
 * The element pool is reserved there, not touched: an element's memory
 * becomes resident when the ring first needs that many outstanding at once,
 * so a queue costs what its driver keeps in flight, whatever its size.
 *
 * Threading: a vq is used by one thread at a time. The data-path thread
 * owns it while started; vq_start/vq_stop/vq_reset are called by whoever
 * has stopped the data path for that queue.
 */
#ifndef VIRTIOBOX_CORE_VQ_H
#define VIRTIOBOX_CORE_VQ_H

#include <assert.h>
#include <linux/virtio_config.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include "gmem.h"

#define VQ_IOV_MAX 16 /* iov segments per element, readable + writable */
/* Longest indirect table walked (entries); a longer one breaks the ring. */
#define VQ_INDIRECT_MAX 1024
#define VQ_BATCH	32 /* chains fetched per refill */
#define VQ_NUM_MAX	32768

/* Ring-independent descriptor: what the walker produces for each segment. */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint32_t access; /* GMEM_READ (device reads) or GMEM_WRITE */
};

/*
 * One available buffer, as device code sees it. Valid from vq_pop() until
 * vq_push() of the same element; the iov arrays point into the queue.
 */
struct vq_elem {
	uint16_t id;	 /* buffer id: split head index or packed buffer id */
	uint16_t rd_num; /* device-readable segments, rd_iov[0..rd_num) */
	uint16_t wr_num; /* device-writable segments, wr_iov[0..wr_num) */
	uint32_t rd_len; /* byte totals */
	uint32_t wr_len;
	struct iovec *rd_iov;
	struct iovec *wr_iov;

	/* private to the ring layer */
	uint16_t ndesc; /* ring slots the chain holds: packed descriptors,
			 * split descriptor-table entries */
	uint16_t nseg;	/* segments of the chain held */
	bool truncated; /* see vq_elem_is_truncated */
	bool mapped;	/* seg[] was handed to map_batch: unmap it */
	bool grouped;	/* mapped in one call with other elements */
	/* The walk made every segment its iovec (iov[i] is segment i,
	 * whole) and set the fields above; seg[] need not hold them.
	 * Otherwise seg[0..nseg) holds the segments, for vq_pop. */
	bool converted;
	uint16_t nrd; /* readable segments, to resume the walk */
	/* The chain ends in an indirect table not walked yet: the batch's
	 * tables are mapped together, then walked (vq.c refill). */
	bool table_pending;
	bool walk_writable; /* the walk so far, to resume it in the table */
	uint64_t walk_total;
	struct gmem_range table;
	uint32_t slot; /* index in the queue's element pool */
	uint32_t pos;  /* ring position of the head, in vq_start's base encoding
			*/
	uint8_t state; /* free, fetched (in the batch) or popped */
	struct vq_elem *next_free; /* the pool's free list, while free */
	struct vq_desc seg[VQ_IOV_MAX];
	struct iovec iov[VQ_IOV_MAX];
};

/* Ring location, in guest addresses, as the transport learned it. */
struct vq_layout {
	uint16_t num;	 /* queue size: power of 2 for split */
	uint64_t desc;	 /* descriptor table / packed descriptor ring */
	uint64_t driver; /* split avail ring / packed driver event area */
	uint64_t device; /* split used ring / packed device event area */
};

struct vq_format_ops;

/* A used entry completed by vq_push, written to the ring by vq_flush. */
struct vq_used_pending {
	uint16_t id;
	uint16_t ndesc;
	uint32_t len;
	uint32_t slot; /* the element, while still mapped (vq.c) */
};

struct vq {
	/* private: use the functions below */
	const struct vq_format_ops *fmt; /* NULL until the first vq_start */
	struct gmem *mem;
	uint16_t max_num;
	uint16_t num;
	unsigned index;
	bool started;
	bool event_idx;
	bool indirect;
	int broken;	     /* 0, or the -errno of the violation */
	bool mem_fault;	     /* guest memory faulted: never touch the ring */
	int fetch_err;	     /* violation found by a fetch, reported after the
			      * chains fetched before it have been popped */
	char broken_why[96]; /* human-readable reason (broken or fetch_err) */

	/* split ring */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	/* packed ring */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *drv_event;
	struct vring_packed_desc_event *dev_event;

	uint16_t last_avail;	 /* next ring position to fetch */
	bool avail_wrap;	 /* packed: driver wrap counter at last_avail */
	uint16_t avail_shadow;	 /* split: last avail->idx read */
	uint16_t used_idx;	 /* next used position (split: free-running) */
	bool used_wrap;		 /* packed */
	uint16_t signalled_used; /* used position at the last flush decision
				  * (packed: linear, see vq_packed.c) */
	bool signalled_used_valid;

	/* ring areas translated with GMEM_PERSIST, released at stop/reset */
	struct vq_ring_map {
		uint64_t gaddr;
		uint64_t len;
		uint32_t access;
	} ring_maps[3];
	unsigned nring_maps;

	unsigned tables_pending; /* chains of this fetch with a table to walk */
	/*
	 * holds: the device keeps this queue's buffers across kicks (event
	 * queues, receive queues), so each element is mapped alone.
	 * grouped_live: elements mapped together with others and not yet
	 * unmapped; no used entry is published while there are any (vq_flush).
	 */
	bool holds;
	unsigned grouped_live;
	unsigned pushed_mapped; /* pending entries whose element is mapped */

	/* fetched but not yet returned by vq_pop */
	struct vq_elem *batch[VQ_BATCH];
	unsigned batch_head, batch_len;
	struct gmem_range *ranges; /* VQ_BATCH * VQ_IOV_MAX, for map_batch */

	/* completed by vq_push, written by vq_flush; max_num entries */
	struct vq_used_pending *pending;
	unsigned npending;

	uint32_t pop_count;   /* elements vq_pop returned (wraps) */
	uint32_t map_refused; /* chains completed unused, map refused */
	uint64_t deadline_ns; /* vq_set_deadline; 0: none */
	bool over_budget;     /* vq_pop stopped at the deadline */

	/* element pool: max_num elements, pool[0..used_slots) used so far;
	 * the free ones among them in a list, last freed first (the element
	 * most likely still in cache) */
	struct vq_elem *pool;
	size_t pool_bytes;
	unsigned used_slots;
	struct vq_elem *free_head;
	unsigned nfree;
};

/*
 * Allocate a queue's element pool for up to max_num entries. Returns 0,
 * -EINVAL (max_num 0 or > VQ_NUM_MAX), -ENOMEM. Pair with vq_destroy().
 */
int vq_init(struct vq *vq, unsigned index, uint16_t max_num);
void vq_destroy(struct vq *vq);

/*
 * Start the queue on the given ring. features are the negotiated device
 * features (VIRTIO_F_RING_PACKED, VIRTIO_RING_F_INDIRECT_DESC,
 * VIRTIO_RING_F_EVENT_IDX matter here). base says where to go on, in the
 * encoding of vhost-user SET/GET_VRING_BASE as QEMU uses it:
 *   split:  the next available index (16 bits); the used index is read
 *           from the used ring;
 *   packed: bits 0-14 the next available index, bit 15 its wrap counter,
 *           bits 16-30 the next used index, bit 31 its wrap counter
 *           (QEMU's virtio_queue_packed_{get,set}_last_avail_idx). An
 *           upper half of 0 means "not given" (a front-end that sends only
 *           16 bits): the used position then starts at the available one.
 *           The one real position that encodes as 0, used index 0 with
 *           wrap counter 0, is read that way too, which differs only if
 *           buffers were in flight when the ring stopped.
 * Ring areas are translated once here (GMEM_PERSIST) and must each be
 * contiguous in host memory; no ring memory is written here. They are
 * released to the memory back-end (gmem_release) by vq_stop and vq_reset,
 * and right away when vq_start fails.
 * Returns 0, -EINVAL (size 0, > max_num, split size not a power of 2,
 * misaligned ring, base out of range: split > 0xffff; packed: an index >=
 * size, or the used position ahead of the available one or more than the
 * queue size behind it), -EFAULT (a ring area not in guest memory or not
 * contiguous), -EBUSY (already started). Clears the broken state.
 */
int vq_start(struct vq *vq, struct gmem *mem, uint64_t features,
	     const struct vq_layout *l, uint32_t base);

/*
 * The base of a ring the driver has just set up (no vhost-user
 * SET_VRING_BASE, e.g. virtio-mmio QueueReady): 0 for split, 0x80008000
 * for packed (avail and used index 0, both wrap counters 1), which is also
 * what vq_stop returns for a packed ring that never moved.
 */
static inline uint32_t vq_base_fresh(uint64_t features)
{
	return features & (1ULL << VIRTIO_F_RING_PACKED) ? 0x80008000u : 0;
}

/*
 * Stop the queue. Flushes pushed entries (without notifying), drops (and
 * unmaps) elements popped but not pushed, and returns the base in
 * vq_start's encoding: chains fetched ahead but not popped are given back,
 * so the available position points just after the last chain vq_pop
 * returned. Packed: always both halves; the used position is behind the
 * available one exactly when popped elements were dropped (the driver
 * still expects the next used descriptor there; a restart from this base
 * puts it there). A stopped queue can be started again; stopping a stopped
 * queue returns the same base again (0 if it never started). Element
 * pointers held by device code are invalid afterwards, and so are the ring
 * areas: they are released to the memory back-end.
 */
uint32_t vq_stop(struct vq *vq);

/*
 * Stop without flushing and forget the ring and the broken state. Popped and
 * fetched elements are unmapped and dropped, pushed entries are discarded,
 * ring areas are released.
 */
void vq_reset(struct vq *vq);

bool vq_is_started(const struct vq *vq);

/* 0 when healthy; else the -errno that broke the queue, and why. */
int vq_broken(const struct vq *vq, const char **why);

/*
 * Guest memory faulted under this queue (guard.h): the queue is broken
 * (-EFAULT) and, unlike a queue broken by a corrupt ring, its ring and
 * buffers are never touched again -- no used entries are flushed, no
 * notification flags written -- until vq_reset or the next vq_start.
 * Elements already popped may still be pushed (that writes nothing).
 * Data-path thread, or the control thread with the data path paused.
 */
void vq_mem_fault(struct vq *vq);
bool vq_is_mem_faulted(const struct vq *vq);

/*
 * Take the next available buffer.
 * Returns 1 and sets *elem when one was available, 0 when the ring is empty
 * (or the queue is not started), or a negative errno (walker rule above)
 * when the queue is broken. Work per call is bounded: at most one batch of
 * VQ_BATCH chains of at most the queue size descriptors each is walked.
 */
static inline int vq_pop(struct vq *vq, struct vq_elem **elem);

/*
 * How many elements vq_pop has returned since vq_init, wrapping around.
 * Two readings tell whether a handler took any buffer in between (the
 * device core's kick loop uses it to tell "more work" from "a model that
 * leaves buffers in the ring on purpose"). Same thread as vq_pop.
 */
uint32_t vq_pop_count(const struct vq *vq);

/*
 * The device keeps this queue's buffers across kicks (holds an event or
 * receive buffer until something happens) rather than completing every
 * buffer it pops before its kick handler returns. The ring layer then maps
 * each element's guest memory alone instead of a batch's together: a Xen
 * grant mapping can only be undone whole, and the guest revokes a buffer's
 * grant as soon as it sees its used entry, so a buffer completed while a
 * batch-mate is still held would have its pages mapped past completion.
 * For other queues vq_flush publishes nothing while an element mapped with
 * others is outstanding. Data-path thread (or before vq_start); applies
 * from the next fetch and is kept across stops.
 */
void vq_set_holds_buffers(struct vq *vq, bool holds);

/*
 * Bound the work of one data-path event: from deadline_ns on
 * (CLOCK_MONOTONIC_COARSE, vq_now_ns) vq_pop returns 0 as if the ring were
 * empty, and vq_over_budget() says it stopped early. 0 lifts the limit and
 * clears vq_over_budget. Data-path thread. The device core sets it for
 * every virtio_dev_kick.
 */
void vq_set_deadline(struct vq *vq, uint64_t deadline_ns);
bool vq_over_budget(const struct vq *vq);
static inline uint64_t vq_now_ns(void);

/*
 * The chain is well formed but needs more than VQ_IOV_MAX iov segments
 * (descriptors, or pieces the memory seam split them into): the element
 * holds only part of it, always ending with the chain's last descriptor,
 * where devices put their status. A device fails such a request (its error
 * status, when there is room for one) and pushes it; the queue goes on.
 */
static inline bool vq_elem_is_truncated(const struct vq_elem *e)
{
	return e->truncated;
}

/*
 * The element's last device-writable byte, where a request's status goes.
 * Only for an element with one (wr_len > 0): its iovecs are never empty,
 * so that byte ends the last one.
 */
static inline uint8_t *vq_elem_last_byte(const struct vq_elem *e)
{
	const struct iovec *v = &e->wr_iov[e->wr_num - 1];

	return (uint8_t *)v->iov_base + v->iov_len - 1;
}

/*
 * Chains completed unused because the memory back-end refused to map them
 * (see the walker rules), since vq_init, wrapping. Same thread as vq_pop.
 */
uint32_t vq_map_refused(const struct vq *vq);

/*
 * Complete elem with written bytes of device-writable data (clamped to
 * elem->wr_len). The element must not be used after. The used entry
 * becomes visible to the driver at the next vq_flush(), which first
 * unmaps the buffers of every element pushed since the last one, in one
 * unmap_batch call (the memory back-end may write them back then).
 * Elements may be pushed in any order (out-of-order completion): split
 * writes used entries in push order; packed writes the buffer id and
 * advances the used position by the chain's descriptor count.
 * Pushing an element of a broken queue is allowed.
 */
static inline void vq_push(struct vq *vq, struct vq_elem *elem,
			   uint32_t written);

/*
 * Publish every pushed entry with the barriers the format needs.
 * Returns 1 when the driver must be notified (EVENT_IDX, NO_INTERRUPT or
 * packed event suppression decide), 0 when not or nothing was pending.
 */
int vq_flush(struct vq *vq);

/*
 * Ring slots (vq_elem.ndesc) the device holds: chains fetched, popped or
 * pushed but not yet flushed. The driver can add a chain needing n slots
 * only while vq_held_slots() + n <= queue size (assuming it reclaimed
 * every used entry). 0 on a stopped queue. O(queue size); data-path thread.
 */
unsigned vq_held_slots(const struct vq *vq);

/* Queue size (layout num) of a started queue, 0 when stopped. */
unsigned vq_num(const struct vq *vq);

/*
 * Ask the driver to kick (enable) or not to kick (disable) on new buffers.
 * Split: VRING_USED_F_NO_NOTIFY, or with EVENT_IDX avail_event = next index
 * to fetch (disabling is then implicit: the event stays behind); packed: the
 * device event structure (ENABLE/DISABLE, or DESC at the next position with
 * EVENT_IDX). When enabling, returns 1 if buffers became available
 * meanwhile or are already fetched (the caller must poll again to avoid a
 * lost wake-up), else 0. Returns 0 on a stopped or broken queue.
 */
int vq_set_notify(struct vq *vq, bool enable);

/*
 * The inline fast paths of vq_pop and vq_push (a call frame each was a
 * tenth of a request's cost). Private to the ring layer like the fields
 * they touch; the rest of both is vq.c's.
 */

/* Element states. PUSHED: completed, its buffers mapped until the next
 * flush. */
enum { VQ_ELEM_FREE, VQ_ELEM_FETCHED, VQ_ELEM_POPPED, VQ_ELEM_PUSHED };
#define VQ_NO_SLOT UINT32_MAX

int vq_pop_slow(struct vq *vq, struct vq_elem **elem);
void vq_push_mapped(struct vq *vq, struct vq_elem *elem,
		    struct vq_used_pending *p);

/* Back on the pool's free list. */
static inline void vq_elem_put(struct vq *vq, struct vq_elem *e)
{
	e->state = VQ_ELEM_FREE;
	e->next_free = vq->free_head;
	vq->free_head = e;
	vq->nfree++;
}

/* Hand out the batch's next element, e. */
static inline int vq_pop_take(struct vq *vq, struct vq_elem *e,
			      struct vq_elem **elem)
{
	vq->batch_head++;
	vq->pop_count++;
	e->state = VQ_ELEM_POPPED;
	*elem = e;
	return 1;
}

static inline uint64_t vq_now_ns(void)
{
	struct timespec ts;

	/* Coarse: a vDSO read without a clock source access, per pop. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int vq_pop(struct vq *vq, struct vq_elem **elem)
{
	struct vq_elem *e;

	/* An element of the batch at hand, converted in the walk; the batch
	 * is empty on a stopped or broken queue. Anything else (refill,
	 * conversion, errors) is vq_pop_slow's, deadline check included. */
	if (__builtin_expect(vq->batch_head == vq->batch_len, 0))
		return vq_pop_slow(vq, elem);
	e = vq->batch[vq->batch_head];
	if (__builtin_expect(!e->converted, 0))
		return vq_pop_slow(vq, elem);
	if (vq->deadline_ns && vq_now_ns() >= vq->deadline_ns) {
		vq->over_budget = true;
		return 0;
	}
	return vq_pop_take(vq, e, elem);
}

static inline void vq_push(struct vq *vq, struct vq_elem *elem,
			   uint32_t written)
{
	struct vq_used_pending *p;

	/* Our invariant, not peer input: device code pushes what it popped,
	 * once, before the queue is stopped or reset. */
	assert(elem->state == VQ_ELEM_POPPED);
	assert(vq->npending < vq->max_num);
	p = &vq->pending[vq->npending++];
	p->id = elem->id;
	p->ndesc = elem->ndesc;
	p->len = written < elem->wr_len ? written : elem->wr_len;
	if (__builtin_expect(elem->mapped, 0)) {
		vq_push_mapped(vq, elem, p);
		return;
	}
	p->slot = VQ_NO_SLOT;
	vq_elem_put(vq, elem);
}

#endif
