/* SPDX-License-Identifier: MIT */
/*
 * Internals of the virtio-mmio register model, shared by
 * core/virtio_mmio.c (register table, device registers, config space,
 * lifetime) and core/virtio_mmio_queue.c (queue registers, QueueNotify,
 * queue start/stop). Not an API for anything else.
 *
 * Threading: register thread; functions marked "paused" run between
 * dev_thread_pause() and dev_thread_resume() of m->dt.
 */
#ifndef VIRTIOBOX_CORE_VIRTIO_MMIO_INT_H
#define VIRTIOBOX_CORE_VIRTIO_MMIO_INT_H

#include "virtio_mmio.h"

struct vmmio_queue {
	uint32_t num; /* QueueNum */
	bool ready;   /* QueueReady: the device queue runs */
	uint64_t desc, driver, device;
	int kick_fd; /* eventfd: QueueNotify → data-path thread */
};

/*
 * Pause the data path for a register access within m->pause_deadline_ms;
 * once the device is stuck, only check whether it answered. 0: paused
 * (pair with dev_thread_resume); -ETIMEDOUT: not paused, nothing of the
 * device may be touched. Missing the deadline declares the device stuck
 * (logged once, DEVICE_NEEDS_RESET and a config interrupt); its first
 * answer ends that.
 */
int vmmio_pause(struct vmmio *m);

/* Why an access needing the device is refused while it is stuck. */
#define VMMIO_STUCK "the device is stuck (its data path did not pause)"

/* DEVICE_NEEDS_RESET and a config interrupt (either thread). */
void vmmio_device_error(struct vmmio *m);

/* virtio_mmio_queue.c */
/* Allocate the queues and their kick eventfds. 0, -ENOMEM or -errno. */
int vmmio_queues_create(struct vmmio *m, unsigned n);
/* Close the eventfds and free the queues (accepts none allocated). */
void vmmio_queues_destroy(struct vmmio *m);
/* Paused: stop every queue and give its registers their reset values. */
void vmmio_queues_reset(struct vmmio *m);
/* The QueueSel'ed queue, or NULL when QueueSel names none. */
struct vmmio_queue *vmmio_selected(struct vmmio *m);
/*
 * Register writes (value v) for the selected queue; 0, or -EINVAL with
 * *why set. off is the register's offset where several share a handler.
 */
int vmmio_queue_num_write(struct vmmio *m, uint32_t v, const char **why);
int vmmio_queue_addr_write(struct vmmio *m, uint32_t off, uint32_t v,
			   const char **why);
int vmmio_queue_ready_write(struct vmmio *m, uint32_t v, const char **why);
int vmmio_queue_reset_write(struct vmmio *m, uint32_t v, const char **why);
int vmmio_notify_write(struct vmmio *m, uint32_t v, const char **why);

#endif
