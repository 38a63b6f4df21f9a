/* SPDX-License-Identifier: MIT */
/*
 * Finding the guests' generic virtio devices in xenstore.
 *
 * libxl writes each device of a guest's `virtio = [...]` under the back-end
 * domain's /local/domain/<self>/backend/virtio/<domid>/<devid>/ (online=1,
 * state=1, base, irq, type, grant_usage) and does not wait for the
 * back-end. xen_discover watches that directory and @releaseDomain on the
 * control loop, and after every change compares xenstore with what it
 * serves:
 *   - a new entry (online=1, state 1 or 2) is offered to the client's
 *     attach; once served its state becomes 2 (InitWait, what libxl
 *     expects of a back-end at creation; it never becomes Connected);
 *   - a served entry that disappears, says online=0 or state=5, or whose
 *     domain died, goes to the client's detach; its state then becomes 6
 *     (Closed) if the entry is still there. libxl waits up to 10 s for it.
 * An entry the client refuses is not offered again until it disappears
 * (its Closing is still answered with Closed, so `xl destroy` need not
 * wait for a back-end that never served it);
 * one it defers (-EAGAIN, e.g. the previous incarnation of a rebooted
 * guest still held) is offered again at the next change.
 *
 * In a driver domain (not dom0): an entry of a guest whose xenstore nodes
 * we may not read (dom0 has not made us its device model) is not offered
 * but waits, with one line per guest naming `virtiobox xen-target`, and is
 * looked at again every second; a closed entry is removed 3 s after its
 * Closed, as libxl expects of a driver domain.
 *
 * Threading: control thread only; the client's ops run on it, from the
 * control loop's callback.
 */
#ifndef VIRTIOBOX_XEN_XEN_DISCOVER_H
#define VIRTIOBOX_XEN_XEN_DISCOVER_H

#include "xen_virtio_entry.h"

struct loop;
struct xen_discover;
struct xen_discover_client;

struct xen_discover_ops {
	/*
	 * Serve e. Returns 0 (served), -EAGAIN (not now: offered again at
	 * the next change, nothing logged here) or another -errno (not
	 * served; the client logged why, once).
	 */
	int (*attach)(struct xen_discover_client *c,
		      const struct xen_virtio_entry *e);
	/* Stop serving (domid, devid), which attach accepted. */
	void (*detach)(struct xen_discover_client *c, uint16_t domid,
		       unsigned devid);
};

/* Embedded by the client; reached with container_of in the ops. */
struct xen_discover_client {
	const struct xen_discover_ops *ops;
};

#define XEN_DISCOVER_ENTRIES_MAX 256

/*
 * Connect to xenstore, find our own domid, watch, and serve what is
 * already there. Returns 0 and sets *out, or -errno with one log line
 * (xenstore cannot be opened: is xenstored running, is /proc/xen
 * mounted?). c must outlive the discoverer.
 */
int xen_discover_create(struct xen_discover **out, struct loop *ctl,
			struct xen_discover_client *c);

/* Detach every served entry (state 6 written), unwatch, close. NULL ok. */
void xen_discover_destroy(struct xen_discover *x);

/* Run one comparison now (tests, and after a client change). */
void xen_discover_rescan(struct xen_discover *x);

/* The domain virtiobox runs in. */
unsigned xen_discover_self(const struct xen_discover *x);

#endif
