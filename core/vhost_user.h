/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end server: one UNIX socket per device instance, one
 * front-end (QEMU, xen-vhost-frontend, ...) at a time. When the front-end
 * disconnects the device is reset, its memory mappings dropped, and the
 * socket accepts the next front-end.
 *
 * The server runs on the control loop it is given; the device's data path
 * (kick fds, model host fds) runs on a thread of its own (core/dev_thread.h),
 * paused by the server around every message that touches queues or memory.
 */
#ifndef VIRTIOBOX_CORE_VHOST_USER_H
#define VIRTIOBOX_CORE_VHOST_USER_H

#include <stdbool.h>

#include "virtio_dev.h"

struct loop;
struct vhu_server;

struct vhu_server_opts {
	const char *socket_path; /* created (stale file replaced), 0600 */
	const char *name;	 /* for log lines, e.g. "guest1/i2c0" */
	bool offer_packed;	 /* offer VIRTIO_F_RING_PACKED */
	bool offer_xen_mmap;	 /* offer VHOST_USER_PROTOCOL_F_XEN_MMAP */
};

/*
 * Create the server for dev and start listening on ctl (the control loop).
 * Returns 0 and sets *out, or -errno (socket path too long, bind failure,
 * ...) with a message already logged naming the path.
 * The server does not own dev; destroy the server before the device.
 */
int vhu_server_create(struct vhu_server **out, struct loop *ctl,
		      struct virtio_dev *dev,
		      const struct vhu_server_opts *opts);

/* Disconnect any front-end, stop the data path, remove the socket file. */
void vhu_server_destroy(struct vhu_server *s);

#endif
