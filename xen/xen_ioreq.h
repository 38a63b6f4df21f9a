/* SPDX-License-Identifier: MIT */
/*
 * One Xen guest's IOREQ server: the guest's accesses to the MMIO windows
 * registered here arrive as ioreqs on a shared page, one slot per vCPU,
 * each vCPU blocked until its ioreq is answered.
 *
 * xen_ioreq_create() creates the server (no buffered ioreqs), maps its
 * ioreq page with xenforeignmemory_map_resource (XENMEM_resource_ioreq_server),
 * enables it, binds one event channel per vCPU and starts the guest's
 * IOREQ loop thread. That thread answers every ioreq at once from the
 * window's ops: a window's read/write must never wait on a device's data
 * path beyond a bounded pause (dev_thread_pause), since a vCPU of the
 * guest waits meanwhile. IOREQ_TYPE_INVALIDATE (the guest gave memory
 * back) calls every window's invalidate.
 *
 * Every handle (device model, foreign memory, event channels) is the
 * server's own and is closed by xen_ioreq_destroy(), so nothing outlives
 * a guest.
 *
 * Threading: create/destroy/add/remove on the control thread;
 * xen_ioreq_set_irq from any thread; window ops run on the IOREQ thread.
 */
#ifndef VIRTIOBOX_XEN_XEN_IOREQ_H
#define VIRTIOBOX_XEN_XEN_IOREQ_H

#include <stdbool.h>
#include <stdint.h>

struct xen_ioreq;
struct xen_ioreq_window;

struct xen_ioreq_window_ops {
	/* A read of size 1, 2, 4 or 8 at off; 0 and *val, or -errno
	 * (the guest then reads all ones). */
	int (*read)(struct xen_ioreq_window *w, uint32_t off, unsigned size,
		    uint64_t *val);
	/* A write; 0 or -errno (the guest is not told). */
	int (*write)(struct xen_ioreq_window *w, uint32_t off, unsigned size,
		     uint64_t val);
	/* Optional: guest mappings must be dropped (IOREQ_TYPE_INVALIDATE). */
	void (*invalidate)(struct xen_ioreq_window *w);
};

/* Embedded by its owner; reached with container_of in the ops. */
struct xen_ioreq_window {
	const struct xen_ioreq_window_ops *ops;
	uint64_t base;
	uint64_t size;
};

#define XEN_IOREQ_WINDOWS_MAX 16

/* Counters of the IOREQ thread (exact once it has stopped). */
struct xen_ioreq_stats {
	uint64_t reads, writes, invalidates;
	uint64_t unclaimed; /* an address no window covers: reads all ones */
	uint64_t bad;	    /* unsupported type, size, count or data_is_ptr */
};

/*
 * Serve guest domid (label names it in log lines, e.g. "guest1 (domain
 * 5)"). Returns 0 and sets *out, or -errno with one log line naming the
 * guest and the step: -ENOSYS from creating the server means the
 * hypervisor was built without IOREQ server support
 * (CONFIG_IOREQ_SERVER); -EPERM / -EACCES means this domain may not be
 * the guest's device model; -ENOENT a missing /dev/xen node.
 */
int xen_ioreq_create(struct xen_ioreq **out, uint16_t domid, const char *label);

/*
 * Stop the IOREQ thread, destroy the server (Xen drops its ranges), unmap
 * its page and close every handle. Windows still added are not called
 * again. NULL is accepted.
 */
void xen_ioreq_destroy(struct xen_ioreq *s);

/*
 * Route the guest's accesses to [w->base, w->base + w->size) to w: the
 * window is installed, then the range is claimed from Xen. w must stay
 * valid until xen_ioreq_remove(). Returns 0, -ENOSPC (more than
 * XEN_IOREQ_WINDOWS_MAX), -EEXIST (overlaps another window) or the
 * hypercall's -errno (logged).
 */
int xen_ioreq_add(struct xen_ioreq *s, struct xen_ioreq_window *w);

/*
 * Give the range back to Xen and uninstall w. When it returns the IOREQ
 * thread is not inside any of w's ops and never calls them again.
 */
void xen_ioreq_remove(struct xen_ioreq *s, struct xen_ioreq_window *w);

/*
 * Assert the guest's interrupt line irq (an SPI). The guest's device
 * tree says edge-rising: each call is one edge (Xen on Arm ignores level
 * 0 for such lines, so there is nothing to lower). Returns 0 or -errno
 * (logged, rate-limited). Any thread.
 */
int xen_ioreq_set_irq(struct xen_ioreq *s, unsigned irq);

void xen_ioreq_get_stats(struct xen_ioreq *s, struct xen_ioreq_stats *st);

/* The number of vCPUs served (one event channel each). */
unsigned xen_ioreq_vcpus(const struct xen_ioreq *s);

#endif
