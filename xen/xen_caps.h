/* SPDX-License-Identifier: MIT */
/*
 * What the Xen toolstack interfaces say about this domain: which of the
 * device nodes virtiobox needs can be opened. Used by `virtiobox info` and
 * at start-up, to fail with one clear message before serving Xen guests.
 */
#ifndef VIRTIOBOX_XEN_XEN_CAPS_H
#define VIRTIOBOX_XEN_XEN_CAPS_H

#include <stdbool.h>

struct xen_caps {
	bool evtchn;	    /* /dev/xen/evtchn: event channels */
	bool gnttab;	    /* /dev/xen/gntdev: grant mappings */
	bool foreignmemory; /* /dev/xen/privcmd: foreign mappings */
	bool devicemodel;   /* IOREQ servers, interrupts */
	bool xenstore;	    /* xenstore connection */
};

/* Open and close each interface once. Never fails; fills *caps. */
void xen_caps_probe(struct xen_caps *caps);

/* True when at least one interface opened, i.e. we run in a Xen domain. */
bool xen_caps_is_xen(const struct xen_caps *caps);

#endif
