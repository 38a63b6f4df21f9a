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
 * Legacy drivers: a driver that does not accept VIRTIO_F_VERSION_1 is a
 * legacy (virtio 0.9.5) driver. It is served only where the transport says
 * so (legacy_ok: the vhost-user server, whose front-end already turned the
 * legacy ring layout into ring addresses), on split rings with the first
 * 32 feature bits, and only for little-endian guests: legacy rings and
 * config space are in the guest's byte order and the ring layer reads
 * them little-endian. A model that needs VIRTIO 1.x refuses such feature
 * sets in features_ok.
 *
 * Threading: control functions (features, status, config, queue start/stop,
 * reset) run on the control thread while the device's data path is paused
 * (the transport arranges that, see dev_thread_pause()); queue_kick,
 * fd_ready and virtio_dev_kick/complete run on the data-path thread.
 *
 * Changes from the first draft of this contract (device core engineer):
 *   - ops->queue_stopping: a model holding elements across kicks is told
 *     before the ring layer drops them;
 *   - virtio_dev.loop: the data-path loop, for models whose host fds come
 *     and go (vsock connections) and cannot be listed once by poll_fds;
 *   - virtio_dev_config_changed() and config_generation;
 *   - virtio_dev_queue_is_started();
 *   - at most VIRTIO_DEV_QUEUES_MAX queues;
 *   - precise error codes below (-EPROTO, -EBUSY, -EPERM);
 *   - virtio_dev_kick owns re-enabling driver kicks (and the re-check
 *     loop) for every model, and returns 1 when it must be called again.
 */
#ifndef VIRTIOBOX_CORE_VIRTIO_DEV_H
#define VIRTIOBOX_CORE_VIRTIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

#include "log.h"
#include "vq.h"

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

struct loop;
struct virtio_dev;

#define VIRTIO_DEV_QUEUES_MAX 64

struct virtio_dev_ops {
	const char *name;   /* "i2c", "gpio", "vsock" */
	uint32_t device_id; /* VIRTIO_ID_* */
	uint64_t features;  /* model feature bits offered */
	unsigned num_queues;
	uint16_t queue_max; /* maximum size of each queue */
	/* Bit q: the model keeps queue q's buffers across kicks (event and
	 * receive queues); see vq_set_holds_buffers. */
	uint32_t held_queues;
	uint32_t config_size; /* bytes of device config space (may be 0) */

	/* Required: queue_kick, reset, and config_read when config_size. */

	/* Read [off, off + len) of config space; the core checked bounds. */
	void (*config_read)(struct virtio_dev *d, uint32_t off, void *buf,
			    uint32_t len);
	/* Optional; NULL makes config space read-only (writes get -EPERM). */
	void (*config_write)(struct virtio_dev *d, uint32_t off,
			     const void *buf, uint32_t len);
	/*
	 * Optional: check the driver's accepted features; 0 or -errno.
	 * Without VIRTIO_F_VERSION_1 in features the driver is a legacy one
	 * (see above): refuse here if the model cannot serve it.
	 */
	int (*features_ok)(struct virtio_dev *d, uint64_t features);
	/* Optional: a queue was started (its ring is usable). */
	void (*queue_started)(struct virtio_dev *d, unsigned q);
	/*
	 * Optional: queue q is about to stop. Push (vq_push) or forget every
	 * element still held from q: the ring layer then flushes what was
	 * pushed and drops the rest. On a broken queue (vq_broken) forget
	 * them without writing to their buffers: guest memory may be gone
	 * (virtio_dev_mem_fault). Not called by virtio_dev_reset, which
	 * calls reset instead.
	 */
	void (*queue_stopping)(struct virtio_dev *d, unsigned q);
	/* The driver kicked queue q (data-path thread): serve its requests. */
	void (*queue_kick)(struct virtio_dev *d, unsigned q);
	/*
	 * Optional: host fds the model wants polled (EPOLLIN) on its data-path
	 * thread, asked once when the thread starts; returns how many it put
	 * in fds (at most max) or -errno. fd_ready is then called with the
	 * epoll events. Models whose fds change at run time add their own
	 * loop sources to d->loop instead (core/loop.h).
	 */
	int (*poll_fds)(struct virtio_dev *d, int *fds, unsigned max);
	void (*fd_ready)(struct virtio_dev *d, int fd, uint32_t events);
	/*
	 * Drop all in-flight state; the device returns to its initial state.
	 * Called with the data path paused, before the queues are reset.
	 */
	void (*reset)(struct virtio_dev *d);
};

/* How the device reaches the driver; implemented by each transport. */
struct virtio_transport;
struct virtio_transport_ops {
	/* Used buffers on q (data-path thread). */
	void (*notify_queue)(struct virtio_transport *t, unsigned q);
	/* Config space changed (any thread that holds the device). */
	void (*notify_config)(struct virtio_transport *t);
	/*
	 * The device hit a corrupt ring (or faulted on guest memory): set
	 * DEVICE_NEEDS_RESET / vring err. Called at most once per queue
	 * start, on the data-path thread when it finds the ring broken, or
	 * on the control thread with the data path paused (a ring that
	 * cannot restart after a memory table change, a fault in a control
	 * step). Must not block.
	 */
	void (*queue_error)(struct virtio_transport *t, unsigned q);
};
struct virtio_transport {
	const struct virtio_transport_ops *ops;
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	char name[64];		     /* "guest/dev" in log lines; ops->name */
	struct log_ratelimit log_rl; /* this device's guest-caused lines */
	struct virtio_transport *tp;
	struct gmem *mem;
	uint64_t features_offered;
	uint64_t features;	/* accepted by the driver */
	bool features_accepted; /* features is valid (it may be 0) */
	bool legacy_ok; /* set by the transport: legacy drivers served */
	uint8_t status;
	struct vq *vqs;	   /* ops->num_queues entries */
	struct loop *loop; /* data-path loop, set by dev_thread_create */
	atomic_uint config_generation;
	uint64_t queue_error_sent; /* bit q: queue_error reported for q */
	/* Time budget of one virtio_dev_kick; VIRTIO_DEV_KICK_BUDGET_NS from
	 * init. Unit tests that count kick rounds raise it: under emulation
	 * or sanitizers 10 ms is soon spent. */
	uint64_t kick_budget_ns;
};

/*
 * Set up d for ops: allocates the queues. extra_features are transport or
 * board-specific ring features to offer (e.g. VIRTIO_F_RING_PACKED).
 * Offered = ops->features | INDIRECT_DESC | EVENT_IDX | VERSION_1 |
 * ACCESS_PLATFORM | extra_features.
 * Returns 0, -ENOMEM, or -EINVAL (no or more than VIRTIO_DEV_QUEUES_MAX
 * queues, queue_max 0, a required op missing). Pair with
 * virtio_dev_destroy() (which accepts a device whose init failed).
 */
int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		    uint64_t extra_features);
void virtio_dev_destroy(struct virtio_dev *d);

/*
 * Name the device in its log lines ("guest/dev"; the model's type until
 * then). Control thread, before the data path runs.
 */
void virtio_dev_set_name(struct virtio_dev *d, const char *name);

/* The transport connects itself and the guest memory. */
void virtio_dev_attach(struct virtio_dev *d, struct virtio_transport *tp,
		       struct gmem *mem);

uint64_t virtio_dev_features(const struct virtio_dev *d);
/*
 * Accept the driver's features. Returns 0, -EINVAL when a bit was not
 * offered, or VIRTIO_F_VERSION_1 is missing and the transport does not
 * serve legacy drivers (legacy_ok), or a legacy feature set has bits above
 * 31 (RING_PACKED, ACCESS_PLATFORM: VIRTIO 1.x only), -EBUSY when the
 * features change while a queue is started, or the model's features_ok
 * error. On error the accepted features are unchanged.
 */
int virtio_dev_set_features(struct virtio_dev *d, uint64_t features);

/*
 * Status register; writing 0 resets the device (virtio_dev_reset).
 * Setting FEATURES_OK without accepted features (virtio_dev_set_features
 * not called or failed since the last reset) returns -EINVAL and leaves
 * FEATURES_OK clear, which
 * is how the driver learns of the refusal. DRIVER_OK is accepted without
 * FEATURES_OK (QEMU's vhost-user front-end skips it). Returns 0 or -EINVAL.
 */
int virtio_dev_set_status(struct virtio_dev *d, uint8_t status);
uint8_t virtio_dev_status(const struct virtio_dev *d);

/*
 * Config space access with bounds checked here. Returns 0, or -EINVAL when
 * len is 0 or [off, off + len) is not inside the model's config space
 * (reads then leave buf zeroed); writes to a model without config_write
 * return -EPERM.
 */
int virtio_dev_config_read(struct virtio_dev *d, uint32_t off, void *buf,
			   uint32_t len);
int virtio_dev_config_write(struct virtio_dev *d, uint32_t off, const void *buf,
			    uint32_t len);

/*
 * Start queue q on ring l at base (vq_start's encoding) with the accepted
 * features. Returns 0, -EINVAL (q out of range, no memory attached),
 * -EPROTO (no features accepted since the last reset), -EBUSY
 * (already started), or vq_start's error.
 */
int virtio_dev_queue_start(struct virtio_dev *d, unsigned q,
			   const struct vq_layout *l, uint32_t base);
/*
 * Stop queue q (model's queue_stopping, then vq_stop) and set *base to
 * vq_stop's base (vq_start's encoding: packed carries the used position in
 * bits 16-31). Returns 0 or -EINVAL (q out of range or not started).
 */
int virtio_dev_queue_stop(struct virtio_dev *d, unsigned q, uint32_t *base);
bool virtio_dev_queue_is_started(const struct virtio_dev *d, unsigned q);

/*
 * Data path: serve queue q after a kick (or a poll). In rounds of: driver
 * kicks off, the model's queue_kick, flush and notify, then ask for the
 * next kick (vq_set_notify(true): with EVENT_IDX this moves avail_event up
 * to the ring's position, without which the driver never kicks again).
 * Buffers that became available while kicks were off will not kick, so
 * when the re-check finds some, and the model took buffers in the round
 * (a model may leave buffers in the ring on purpose, e.g. receive buffers
 * waiting for host data: it is not called in a loop for those), another
 * round follows, up to VIRTIO_DEV_KICK_ROUNDS. Models therefore never
 * touch notification suppression themselves.
 * Each call also has a time budget, VIRTIO_DEV_KICK_BUDGET_NS: once it is
 * spent, vq_pop gives the model nothing more (as if the ring were empty;
 * models keep what they hold, e.g. an open i2c run) and the call ends with
 * kicks still off.
 * Returns 1 when the round limit or the budget left buffers waiting: no
 * kick will come for them, so the caller must call it again, after its
 * other pending work so one busy queue cannot starve the rest and a pause
 * is answered (dev_thread does); 0 otherwise (also for a queue out of
 * range, stopped or broken). A queue found broken is reported once through
 * tp->queue_error.
 */
#define VIRTIO_DEV_KICK_ROUNDS 4
/* Time one call may spend (vq_set_deadline): a pause waits no longer,
 * plus one request. */
#define VIRTIO_DEV_KICK_BUDGET_NS (10 * 1000 * 1000ull)
int virtio_dev_kick(struct virtio_dev *d, unsigned q);

/*
 * Flush q's used entries and notify the driver if the ring asks for it.
 * For models that complete requests outside queue_kick (host fd events).
 */
void virtio_dev_complete(struct virtio_dev *d, unsigned q);

/*
 * The model's config space changed (data-path thread or paused):
 * bump config_generation and tell the transport.
 */
void virtio_dev_config_changed(struct virtio_dev *d);

/*
 * Guest memory faulted while this device used it (guard.h; addr is the
 * faulting address, for the log): every started queue is marked
 * vq_mem_fault and reported broken through tp->queue_error; nothing of the
 * device touches guest memory again until the driver resets it or the
 * transport gives it new memory. Models see it as broken queues: a model's
 * queue_stopping on such a queue forgets what it holds without writing to
 * it. Data-path thread, or the control thread with the data path paused.
 */
void virtio_dev_mem_fault(struct virtio_dev *d, const void *addr);

/* Full device reset: model reset, all queues reset, features and status 0. */
void virtio_dev_reset(struct virtio_dev *d);

#endif
