/* SPDX-License-Identifier: MIT */
/*
 * Transport-independent virtio device object.
 *
 * A device model (devices/) embeds struct virtio_dev in its own state and
 * plugs in through one const struct virtio_dev_ops; callbacks reach the
 * model's state with container_of(). A transport (core/vhost_user*.c, the
 * Xen virtio-mmio transport in xen/) drives the device through the
 * virtio_dev_* functions below and tells it how to notify the driver
 * through struct virtio_transport.
 *
 * The core owns: device status, feature negotiation (offered = model
 * features | ring features | VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM),
 * config-space bounds checks (a model never sees an out-of-range offset),
 * and the queues' lifecycle.
 *
 * Threading: control functions (features, status, config, queue start/stop,
 * reset) run on the control thread while the device's data path is paused
 * (the transport arranges that); queue_kick runs on the data-path thread.
 */
#ifndef VIRTIOBOX_CORE_VIRTIO_DEV_H
#define VIRTIOBOX_CORE_VIRTIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vq.h"

#ifndef container_of
#define container_of(ptr, type, member)                                        \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;     /* "i2c", "gpio", "vsock" */
	uint32_t device_id;   /* VIRTIO_ID_* */
	uint64_t features;    /* model feature bits offered */
	unsigned num_queues;
	uint16_t queue_max;   /* maximum size of each queue */
	uint32_t config_size; /* bytes of device config space (may be 0) */

	/* Read [off, off + len) of config space; the core checked bounds. */
	void (*config_read)(struct virtio_dev *d, uint32_t off, void *buf,
			    uint32_t len);
	/* Optional; NULL makes config space read-only (writes are ignored). */
	void (*config_write)(struct virtio_dev *d, uint32_t off,
			     const void *buf, uint32_t len);
	/* Optional: check the driver's accepted features; 0 or -errno. */
	int (*features_ok)(struct virtio_dev *d, uint64_t features);
	/* Optional: a queue was started (its ring is usable). */
	void (*queue_started)(struct virtio_dev *d, unsigned q);
	/* The driver kicked queue q (data-path thread): serve its requests. */
	void (*queue_kick)(struct virtio_dev *d, unsigned q);
	/* Optional: host fds the model wants polled on its data-path thread. */
	int (*poll_fds)(struct virtio_dev *d, int *fds, unsigned max);
	void (*fd_ready)(struct virtio_dev *d, int fd, uint32_t events);
	/* Drop all in-flight state; the device returns to its initial state. */
	void (*reset)(struct virtio_dev *d);
};

/* How the device reaches the driver; implemented by each transport. */
struct virtio_transport;
struct virtio_transport_ops {
	void (*notify_queue)(struct virtio_transport *t, unsigned q);
	void (*notify_config)(struct virtio_transport *t);
	/* The device hit a corrupt ring: set DEVICE_NEEDS_RESET / vring err. */
	void (*queue_error)(struct virtio_transport *t, unsigned q);
};
struct virtio_transport {
	const struct virtio_transport_ops *ops;
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	struct virtio_transport *tp;
	struct gmem *mem;
	uint64_t features_offered;
	uint64_t features; /* accepted by the driver */
	uint8_t status;
	struct vq *vqs; /* ops->num_queues entries */
};

/*
 * Set up d for ops: allocates the queues. extra_features are transport or
 * board-specific ring features to offer (e.g. VIRTIO_F_RING_PACKED).
 * Returns 0 or -ENOMEM / -EINVAL. Pair with virtio_dev_destroy().
 */
int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		    uint64_t extra_features);
void virtio_dev_destroy(struct virtio_dev *d);

/* The transport connects itself and the guest memory. */
void virtio_dev_attach(struct virtio_dev *d, struct virtio_transport *tp,
		       struct gmem *mem);

uint64_t virtio_dev_features(const struct virtio_dev *d);
/*
 * Accept the driver's features. Returns 0, -EINVAL when a bit was not
 * offered or VIRTIO_F_VERSION_1 is missing, or the model's features_ok.
 */
int virtio_dev_set_features(struct virtio_dev *d, uint64_t features);

/* Status register; writing 0 resets the device. Returns 0 or -errno. */
int virtio_dev_set_status(struct virtio_dev *d, uint8_t status);
uint8_t virtio_dev_status(const struct virtio_dev *d);

/*
 * Config space access with bounds checked here. Returns 0, or -EINVAL when
 * [off, off + len) is not inside the model's config space (reads then
 * leave buf zeroed).
 */
int virtio_dev_config_read(struct virtio_dev *d, uint32_t off, void *buf,
			   uint32_t len);
int virtio_dev_config_write(struct virtio_dev *d, uint32_t off,
			    const void *buf, uint32_t len);

/* Queue lifecycle; q is checked. Returns as vq_start / 0 / -EINVAL. */
int virtio_dev_queue_start(struct virtio_dev *d, unsigned q,
			   const struct vq_layout *l, uint32_t base);
int virtio_dev_queue_stop(struct virtio_dev *d, unsigned q, uint32_t *base);

/*
 * Data path: run the model's kick handler for q, then flush and notify.
 * A queue found broken is reported once through tp->queue_error.
 */
void virtio_dev_kick(struct virtio_dev *d, unsigned q);

/*
 * Flush q's used entries and notify the driver if the ring asks for it.
 * For models that complete requests outside queue_kick (host fd events).
 */
void virtio_dev_complete(struct virtio_dev *d, unsigned q);

/* Full device reset: stop all queues, model reset, status 0. */
void virtio_dev_reset(struct virtio_dev *d);

#endif
