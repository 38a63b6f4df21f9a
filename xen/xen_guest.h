/* SPDX-License-Identifier: MIT */
/*
 * One running Xen guest served as its virtio-mmio transport: its IOREQ
 * server (xen_ioreq.h) and, per device, the virtio-mmio register model
 * (core/virtio_mmio.h) on a 0x200-byte window, the guest memory it reaches
 * (grants or foreign mappings, xen_gmem.h) and its interrupt line.
 *
 * Threads: the guest's IOREQ thread answers register accesses from the
 * register model; each device's data-path thread (created by vmmio_init)
 * serves its rings and raises the SPI when the driver must be notified.
 *
 * Threading: every function on the control thread.
 */
#ifndef VIRTIOBOX_XEN_XEN_GUEST_H
#define VIRTIOBOX_XEN_XEN_GUEST_H

#include <stdbool.h>
#include <stdint.h>

struct virtio_dev;
struct xen_guest;

struct xen_guest_dev_params {
	unsigned devid;		/* xenstore's <devid> */
	uint64_t base;		/* window start; VMMIO_WINDOW_SIZE bytes */
	unsigned irq;		/* the guest's SPI */
	bool grant;		/* grants (true) or foreign mappings */
	unsigned fcache;	/* foreign mappings: cache slots (0: default) */
	struct virtio_dev *dev; /* the model; not owned, outlives the guest */
	const char *name;	/* "guest1/i2c0", for log lines */
};

/*
 * Serve domid: creates its IOREQ server (see xen_ioreq_create for the
 * errors, each logged naming label). Returns 0 and sets *out or -errno.
 */
int xen_guest_create(struct xen_guest **out, uint16_t domid, const char *label);

/*
 * Add a device: its guest memory, the register model over p->dev (with
 * its data-path thread), then the MMIO window claimed from Xen. Returns 0,
 * or -errno with a log line naming p->name (nothing is left behind).
 */
int xen_guest_add(struct xen_guest *g, const struct xen_guest_dev_params *p);

/*
 * Stop serving device devid: the window is given back, the device reset
 * (its rings stopped, guest mappings dropped), its thread and memory
 * destroyed. The model is left in its reset state for the next guest.
 * Returns 0 or -ENOENT.
 */
int xen_guest_remove(struct xen_guest *g, unsigned devid);

unsigned xen_guest_devices(const struct xen_guest *g);
uint16_t xen_guest_domid(const struct xen_guest *g);

/* Remove every device, then the IOREQ server. NULL is accepted. */
void xen_guest_destroy(struct xen_guest *g);

#endif
