/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio version 2 register model (virtio 1.2, section 4.2.2),
 * independent of how guest register accesses arrive. The Xen IOREQ
 * transport (xen/) feeds it the guest's loads and stores to a device window
 * and raises the interrupt line when asked; a test drives it directly.
 *
 * What it does: MagicValue, Version (2), DeviceID, VendorID, the feature
 * windows, the queue registers, QueueNotify (a write to the queue's kick
 * eventfd, served by the device's data-path thread), InterruptStatus/ACK,
 * Status (0 resets), QueueReset (only when the device offers
 * VIRTIO_F_RING_RESET), the shared-memory registers (no regions),
 * ConfigGeneration, and config space from 0x100 through the device core.
 * What it does not: the legacy (version 1) register layout (GuestPageSize,
 * QueueAlign, QueuePFN), VIRTIO_F_NOTIFICATION_DATA, shared memory regions.
 *
 * Threading: vmmio_read/write/reset run on one register thread (the IOREQ
 * loop of the guest). They never wait on the device's host I/O except
 * through a pause of its data path, which every access that reaches the
 * device (QueueReady, Status, QueueReset, FEATURES_OK, config space)
 * takes, as the vhost-user server does, and which is bounded the same
 * way: a device whose data path does not pause within pause_deadline_ms
 * (inside one wedged host call) is declared stuck; it then reports
 * DEVICE_NEEDS_RESET, accesses that need it are refused at once (logged,
 * reads give 0), and the guest's vCPUs and its other devices go on. Only
 * vmmio_destroy waits for a stuck device, as joining its thread must. The
 * data-path thread only sets InterruptStatus bits and calls raise_irq (used
 * buffers, a corrupt ring). init/destroy run on the control thread with no
 * register access in flight.
 */
#ifndef VIRTIOBOX_CORE_VIRTIO_MMIO_H
#define VIRTIOBOX_CORE_VIRTIO_MMIO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev_thread.h"
#include "log.h"
#include "virtio_dev.h"

#define VMMIO_WINDOW_SIZE 0x200u /* one device's register window */
#define VMMIO_CONFIG	  0x100u /* config space offset in the window */
/* The wait for a pause, as the vhost-user server's (VHU_PAUSE_DEADLINE_MS). */
#define VMMIO_PAUSE_DEADLINE_MS 1000u

/* The virtio spec's vendor ID for virtio devices (PCI, section 4.1.2). */
#define VMMIO_VENDOR_ID 0x1af4u

struct vmmio;
struct vmmio_queue; /* private to virtio_mmio.c */

struct vmmio_ops {
	/*
	 * Pulse the device's interrupt line (the guest DT says edge-rising).
	 * Called after InterruptStatus gained a bit: from the device's
	 * data-path thread (used buffers, a corrupt ring) or the register
	 * thread (config change, a queue that cannot start). Called for every
	 * event, also when the bit was already set: a driver may handle
	 * the queues before it acknowledges. Must not block.
	 */
	void (*raise_irq)(struct vmmio *m);
};

/*
 * Embeddable: the Xen transport embeds it and reaches its own state from
 * raise_irq with container_of. Members are private to virtio_mmio.c.
 */
struct vmmio {
	struct virtio_transport tp;
	const struct vmmio_ops *ops;
	struct virtio_dev *dev; /* NULL: not initialised (or init failed) */
	struct dev_thread *dt;
	char name[64];
	unsigned nqueues;
	struct vmmio_queue *queues; /* nqueues entries */
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;  /* DriverFeatures, both words */
	bool driver_features_high; /* a bit above 63 was written */
	uint32_t queue_sel;
	uint32_t shm_sel;
	atomic_uint isr;	 /* InterruptStatus; data and register thread */
	atomic_bool needs_reset; /* DEVICE_NEEDS_RESET, set by either thread */
	/* How long a register access waits for the data path to pause
	 * before the device is declared stuck; VMMIO_PAUSE_DEADLINE_MS from
	 * vmmio_init, the owner may change it before the first access. */
	unsigned pause_deadline_ms;
	bool stuck; /* missed a pause deadline, has not answered since */
	struct log_ratelimit rl; /* this device's guest-caused lines */
};

/*
 * Attach dev (virtio_dev_attach with this model as its transport and mem
 * as its guest memory), create its data-path thread (dev_thread_create,
 * named name; the name also starts every log line) and one kick eventfd
 * per queue. The registers start as after a reset. Returns 0, or -errno
 * (-ENOMEM, an eventfd or thread error) with nothing left attached,
 * allocated or open. ops and dev must outlive the model. Control thread.
 */
int vmmio_init(struct vmmio *m, struct virtio_dev *dev, struct gmem *mem,
	       const struct vmmio_ops *ops, const char *name);

/*
 * Stop the thread, reset the device (queues stopped, status 0), detach it,
 * close the fds. Accepts a model whose init failed, or a zeroed one.
 * Control thread; no register access may be in flight.
 */
void vmmio_destroy(struct vmmio *m);

/*
 * Guest register access at off (0 .. 0x1ff; config space from 0x100) of
 * size 1, 2, 4 or 8 bytes; *val / val are the little-endian register
 * contents as a number. Control registers (below 0x100) take 32-bit
 * aligned accesses only; config space takes 1, 2, 4 and 8 bytes, naturally
 * aligned, inside the device's config space. Register thread only.
 *
 * Returns 0, or -EINVAL for an access the spec does not define: a bad
 * offset, size or alignment, a legacy register, a read of a write-only or
 * a write to a read-only register, a queue register written while
 * QueueSel names no queue (reads of QueueNumMax, QueueReady and QueueReset
 * then give 0 without error: the spec's "queue not available"), a queue's
 * size or addresses written while it is ready, a QueueNum the ring format
 * cannot use (0, above QueueNumMax, split and not a power of 2), QueueReady or
 * QueueReset values other than the defined ones, QueueReset without
 * VIRTIO_F_RING_RESET negotiated, undefined InterruptACK bits, a
 * QueueNotify naming no queue, a write to read-only config space. Reads
 * then give 0, writes are ignored, and a log line (rate-limited per
 * device) names the device and the access.
 *
 * Device errors are not access errors: QueueReady = 1 with a ring the
 * device cannot use (outside guest memory, misaligned, features not
 * accepted) returns 0, leaves QueueReady 0, sets DEVICE_NEEDS_RESET and
 * raises a config interrupt, as a ring found corrupt later does. A driver
 * feature set the device refuses leaves FEATURES_OK clear (the spec's
 * refusal) and returns 0.
 */
int vmmio_read(struct vmmio *m, uint32_t off, unsigned size, uint64_t *val);
int vmmio_write(struct vmmio *m, uint32_t off, unsigned size, uint64_t val);

/*
 * The guest went away: full device reset (queues stopped, status 0,
 * registers as after Status = 0), without an interrupt. Register thread.
 */
void vmmio_reset(struct vmmio *m);

/*
 * The device's data-path thread, for callers that must pause it (e.g. to
 * invalidate a foreign-memory cache). Valid from a successful init until
 * destroy.
 */
struct dev_thread *vmmio_thread(struct vmmio *m);

#endif
