/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end server: one UNIX socket per device instance, one
 * front-end (QEMU, xen-vhost-frontend, ...) at a time. When the front-end
 * disconnects the device is reset, its memory mappings dropped, its fds
 * closed, and the socket accepts the next front-end.
 *
 * The server runs on the control loop it is given; the device's data path
 * (kick fds, model host fds) runs on a thread of its own, which the server
 * creates (core/dev_thread.h) and pauses around every message that touches
 * queues, memory or the device.
 *
 * Every message is validated against one table (core/vhost_user_msg.h)
 * before a handler sees it. A malformed message closes that connection
 * with a logged reason; a request that is well formed but cannot be
 * honoured gets an error reply (when the front-end asked for one) and the
 * connection stays up; nothing a front-end sends stops the process.
 *
 * Offered: VIRTIO 1.x, the device's features, INDIRECT_DESC, EVENT_IDX,
 * RING_PACKED (opts), ACCESS_PLATFORM only with offer_xen_mmap (QEMU
 * refuses a back-end offering it without IOTLB support: "IOMMU support
 * requires reply-ack and slave-req"), and the protocol features MQ,
 * REPLY_ACK, RESET_DEVICE, CONFIGURE_MEM_SLOTS, STATUS, CONFIG (only for
 * a device with a config space) and XEN_MMAP (opts). A front-end that does
 * not accept VIRTIO_F_VERSION_1 (QEMU's default legacy virtio-mmio) is
 * served as a legacy driver: split rings, the first 32 feature bits,
 * little-endian guests (virtio_dev.h); the server sets dev->legacy_ok.
 *
 * Usage from board/main.c, one server per vhost-user device:
 *
 *	struct vhu_server_opts o = { .socket_path = path, .name = "guest1/i2c0"
 *}; ret = vhu_server_create(&s, ctl, &model->vdev, &o);
 *	...
 *	loop_run(ctl);
 *	vhu_server_destroy(s);   // before the device model is destroyed
 *
 * Threading: every function here on the control loop's thread.
 */
#ifndef VIRTIOBOX_CORE_VHOST_USER_H
#define VIRTIOBOX_CORE_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"
#include "virtio_dev.h"

struct loop;
struct vhu_server;

/* A XEN_MMAP memory region as the front-end described it. */
struct vhu_xen_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
	uint32_t xen_mmap_flags; /* validated: exactly one of FOREIGN/GRANT,
				    MAP_ON_DEMAND (either encoding) only
				    with GRANT, no other bit */
	uint32_t domid;
};

/*
 * Seam for Xen memory regions (xen/xen_vhu_mapper.c implements it; board/
 * hands it in). Without a mapper, a Xen region is validated and then
 * refused with -EOPNOTSUPP.
 */
struct vhu_region_mapper;
struct vhu_region_mapper_ops {
	/*
	 * Make r usable: map it now, or prepare to map on demand. fd is
	 * borrowed for the call (dup it to keep it). On success *out
	 * translates every guest address of r (passed unchanged) and stays
	 * valid until unmap. Returns 0 or -errno. Control thread.
	 */
	int (*map)(struct vhu_region_mapper *m, const struct vhu_xen_region *r,
		   int fd, struct gmem **out);
	/* Release what map returned; the data path no longer uses it. */
	void (*unmap)(struct vhu_region_mapper *m, struct gmem *g);
};
struct vhu_region_mapper {
	const struct vhu_region_mapper_ops *ops;
};

struct vhu_server_opts {
	/* Created (a stale socket file is replaced), mode 0600. NULL: no
	 * listening socket, front-ends come through vhu_server_serve_fd. */
	const char *socket_path;
	const char *name;  /* for log lines, e.g. "guest1/i2c0" */
	bool offer_packed; /* offer VIRTIO_F_RING_PACKED */
	/* offer VHOST_USER_PROTOCOL_F_XEN_MMAP and VIRTIO_F_ACCESS_PLATFORM */
	bool offer_xen_mmap;
	struct vhu_region_mapper *xen_mapper; /* may be NULL */
	/* How long a message waits for the device's data path to pause
	 * before the device is declared stuck (0: VHU_PAUSE_DEADLINE_MS). */
	unsigned pause_deadline_ms;
};

/*
 * A device whose data path does not pause within the deadline is inside
 * one host call that long (a wedged adapter): it is declared stuck, its
 * front-end is disconnected, and until it answers every front-end of it is
 * refused at once, without waiting, so the control loop goes on serving
 * every other device. Its memory and queues are released when it answers.
 */
#define VHU_PAUSE_DEADLINE_MS 1000u

/*
 * Create the server for dev: attaches itself as dev's transport and guest
 * memory, starts dev's data-path thread, and listens on ctl. The server
 * adds VIRTIO_F_RING_PACKED to (or removes it from) the device's offered
 * features per opts->offer_packed, and removes VIRTIO_F_ACCESS_PLATFORM
 * unless opts->offer_xen_mmap.
 * Returns 0 and sets *out, or -errno (socket path too long, bind failure,
 * thread creation ...) with a message already logged naming the path.
 * The server does not own dev; destroy the server before the device.
 */
int vhu_server_create(struct vhu_server **out, struct loop *ctl,
		      struct virtio_dev *dev,
		      const struct vhu_server_opts *opts);

/*
 * Disconnect any front-end, stop the data path, remove the socket file.
 * NULL is accepted.
 */
void vhu_server_destroy(struct vhu_server *s);

/*
 * Serve an already connected stream socket (the vhost-user --fd=N
 * convention, tests). Takes fd in every case. Returns 0, or -EBUSY when a
 * front-end is connected (fd is closed).
 */
int vhu_server_serve_fd(struct vhu_server *s, int fd);

/* A front-end is connected. */
bool vhu_server_is_connected(const struct vhu_server *s);

#endif
