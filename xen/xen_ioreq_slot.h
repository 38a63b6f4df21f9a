/* SPDX-License-Identifier: MIT */
/*
 * Private to xen_ioreq*.c (and its unit test): answering one vCPU's ioreq
 * slot from a table of MMIO windows. No Xen call happens here, so the
 * protocol rules are unit-tested against a plain struct ioreq.
 */
#ifndef VIRTIOBOX_XEN_XEN_IOREQ_SLOT_H
#define VIRTIOBOX_XEN_XEN_IOREQ_SLOT_H

#include <stdint.h>
#include <xen/hvm/ioreq.h>

#include "log.h"
#include "xen_ioreq.h"

struct xen_ioreq_table {
	struct xen_ioreq_window *w[XEN_IOREQ_WINDOWS_MAX];
	unsigned n;
};

/*
 * If slot is STATE_IOREQ_READY: take it (INPROCESS), serve it from t,
 * store a read's result in slot->data and publish STATE_IORESP_READY.
 * Returns 1 when the slot was answered (the caller then notifies its
 * event channel), 0 when it was not ready (a spurious or repeated event).
 * An ioreq no window can serve is answered too (reads all ones), counted
 * in st and logged with label, rate-limited by rl (the guest's own): a
 * vCPU must never be left waiting.
 */
int xen_ioreq_slot_serve(volatile struct ioreq *slot,
			 const struct xen_ioreq_table *t,
			 struct xen_ioreq_stats *st, const char *label,
			 struct log_ratelimit *rl);

/* The window covering [addr, addr + size), or NULL. */
struct xen_ioreq_window *xen_ioreq_table_find(const struct xen_ioreq_table *t,
					      uint64_t addr, unsigned size);

#endif
