// SPDX-License-Identifier: MIT
#include "xen_ioreq_slot.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "log.h"

struct xen_ioreq_window *xen_ioreq_table_find(const struct xen_ioreq_table *t,
					      uint64_t addr, unsigned size)
{
	for (unsigned i = 0; i < t->n; i++) {
		struct xen_ioreq_window *w = t->w[i];

		if (addr >= w->base && addr - w->base < w->size &&
		    size <= w->size - (addr - w->base))
			return w;
	}
	return NULL;
}

static bool size_ok(uint32_t size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static uint64_t size_mask(uint32_t size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* One MMIO access; returns what a read gives the guest. */
static uint64_t serve_copy(const struct ioreq *req,
			   const struct xen_ioreq_table *t,
			   struct xen_ioreq_stats *st, const char *label,
			   struct log_ratelimit *rl)
{
	struct xen_ioreq_window *w;
	uint64_t val = ~0ull;
	uint32_t off;

	/* Xen on Arm emulates one load or store: no rep, no pointer. */
	if (req->data_is_ptr || req->count != 1 || !size_ok(req->size)) {
		st->bad++;
		log_msg_ratelimited(rl, LOG_LEVEL_WARN,
				    "%s: unsupported ioreq at 0x%llx (size %u, "
				    "count %u, data_is_ptr %u): ignored",
				    label, (unsigned long long)req->addr,
				    req->size, req->count, req->data_is_ptr);
		return req->dir == IOREQ_READ ? ~0ull : req->data;
	}
	w = xen_ioreq_table_find(t, req->addr, req->size);
	if (!w) {
		st->unclaimed++;
		log_msg_ratelimited(
			rl, LOG_LEVEL_WARN,
			"%s: ioreq at 0x%llx is in no device window", label,
			(unsigned long long)req->addr);
		return req->dir == IOREQ_READ ? size_mask(req->size)
					      : req->data;
	}
	off = (uint32_t)(req->addr - w->base);
	if (req->dir == IOREQ_READ) {
		st->reads++;
		if (w->ops->read(w, off, req->size, &val))
			val = ~0ull;
		return val & size_mask(req->size);
	}
	st->writes++;
	w->ops->write(w, off, req->size, req->data & size_mask(req->size));
	return req->data;
}

static void serve_invalidate(const struct xen_ioreq_table *t,
			     struct xen_ioreq_stats *st)
{
	st->invalidates++;
	for (unsigned i = 0; i < t->n; i++)
		if (t->w[i]->ops->invalidate)
			t->w[i]->ops->invalidate(t->w[i]);
}

int xen_ioreq_slot_serve(volatile struct ioreq *slot,
			 const struct xen_ioreq_table *t,
			 struct xen_ioreq_stats *st, const char *label,
			 struct log_ratelimit *rl)
{
	struct ioreq req;

	if (slot->state != STATE_IOREQ_READY)
		return 0;
	/* Pairs with Xen's write barrier before it stores STATE_IOREQ_READY:
	 * the request's fields are read after its state. */
	atomic_thread_fence(memory_order_acquire);
	slot->state = STATE_IOREQ_INPROCESS;
	req = *(struct ioreq *)slot;
	switch (req.type) {
	case IOREQ_TYPE_COPY:
		slot->data = serve_copy(&req, t, st, label, rl);
		break;
	case IOREQ_TYPE_INVALIDATE:
		serve_invalidate(t, st);
		break;
	default:
		st->bad++;
		log_msg_ratelimited(rl, LOG_LEVEL_WARN,
				    "%s: ioreq type %u not served: ignored",
				    label, req.type);
		if (req.dir == IOREQ_READ)
			slot->data = ~0ull;
		break;
	}
	/* Pairs with Xen's read barrier after it sees STATE_IORESP_READY:
	 * a read's data is visible before the state says it is there. */
	atomic_thread_fence(memory_order_release);
	slot->state = STATE_IORESP_READY;
	return 1;
}
