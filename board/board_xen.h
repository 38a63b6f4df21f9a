/* SPDX-License-Identifier: MIT */
/*
 * The board's transport = "xen-mmio" guests: virtiobox is their
 * virtio-mmio transport through Xen IOREQ. Devices are found in xenstore
 * (xen/xen_discover.h) and matched to the board: the guest by its domain
 * name (and domid when the board gives one, or by domid alone), each
 * xenstore entry to the guest's next board device of the same virtio
 * type, in devid order. A guest not running yet is served when it
 * appears; a guest that reboots (a new domid, the same name) is served
 * again once its previous incarnation is gone. Entries of domains or
 * types the board does not name are ignored with one log line each.
 *
 * Threading: control thread only.
 */
#ifndef VIRTIOBOX_BOARD_BOARD_XEN_H
#define VIRTIOBOX_BOARD_BOARD_XEN_H

#include "board_config.h"
#include "xen_virtio_entry.h"

struct board_xen;
struct loop;
struct virtio_dev;

/*
 * Serve cfg's xen-mmio guests. vdevs has one entry per device of cfg, all
 * guests in order (NULL for vhost-user guests' devices); the models
 * outlive the board_xen. Returns 0 and sets *out, or -errno (xenstore
 * cannot be reached: logged).
 */
int board_xen_create(struct board_xen **out, const struct board_config *cfg,
		     struct virtio_dev *const *vdevs, struct loop *ctl);

/* Stop serving every Xen guest (each device reset). NULL is accepted. */
void board_xen_destroy(struct board_xen *x);

/*
 * Which board device entry e is given: the guest's board device of e's
 * type whose rank among them is e->rank (the n-th xl.cfg entry of a type
 * gets the n-th board device of that type, whatever order xenstore shows
 * them in). Sets *g and *d (guest and device index in cfg) and returns 0,
 * -ENOENT when no xen-mmio guest matches the domain, -ENODEV when the
 * guest has fewer devices of e's type. Pure: for tests.
 */
int board_xen_match(const struct board_config *cfg,
		    const struct xen_virtio_entry *e, unsigned *g, unsigned *d);

#endif
