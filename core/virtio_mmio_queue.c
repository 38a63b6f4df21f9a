// SPDX-License-Identifier: MIT
/*
 * virtio-mmio queue registers: QueueNum, the ring addresses, QueueReady
 * (ring start and stop with the data path paused), QueueReset and
 * QueueNotify (a kick eventfd the data-path thread serves).
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio_mmio_int.h"

#define BIT(n) (1ULL << (n))

static unsigned qindex(const struct vmmio *m, const struct vmmio_queue *q)
{
	return (unsigned)(q - m->queues);
}

struct vmmio_queue *vmmio_selected(struct vmmio *m)
{
	return m->queue_sel < m->nqueues ? &m->queues[m->queue_sel] : NULL;
}

static void queue_defaults(struct vmmio *m, struct vmmio_queue *q)
{
	q->num = m->dev->ops->queue_max;
	q->ready = false;
	q->desc = q->driver = q->device = 0;
}

/* A kick left in the eventfd must not serve the next ring. */
static void drain_kick(struct vmmio *m, struct vmmio_queue *q)
{
	uint64_t v;

	if (read(q->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("%s: queue %u: kick eventfd: %s", m->name,
			 qindex(m, q), strerror(errno));
}

static void queue_stop(struct vmmio *m, struct vmmio_queue *q)
{
	uint32_t base;

	if (!q->ready)
		return;
	dev_thread_set_kick(m->dt, qindex(m, q), -1);
	/* No base to keep: a ring the driver enables again is a fresh one. */
	virtio_dev_queue_stop(m->dev, qindex(m, q), &base);
	drain_kick(m, q);
	q->ready = false;
}

static int queue_start(struct vmmio *m, struct vmmio_queue *q)
{
	struct vq_layout l = {.num = (uint16_t)q->num,
			      .desc = q->desc,
			      .driver = q->driver,
			      .device = q->device};
	unsigned i = qindex(m, q);
	uint32_t base;
	int ret;

	ret = virtio_dev_queue_start(m->dev, i, &l,
				     vq_base_fresh(m->dev->features));
	if (ret < 0)
		return ret;
	ret = dev_thread_set_kick(m->dt, i, q->kick_fd);
	if (ret < 0) {
		virtio_dev_queue_stop(m->dev, i, &base);
		return ret;
	}
	/* Buffers may have been made available before QueueReady. */
	dev_thread_kick_soon(m->dt, i);
	q->ready = true;
	return 0;
}

/* The selected queue, if the driver may change its setup now. */
static struct vmmio_queue *setup_queue(struct vmmio *m, const char **why)
{
	struct vmmio_queue *q = vmmio_selected(m);

	if (!q)
		*why = "QueueSel names no queue";
	else if (q->ready)
		*why = "queue setup changed while QueueReady is 1";
	else
		return q;
	return NULL;
}

int vmmio_queue_num_write(struct vmmio *m, uint32_t v, const char **why)
{
	struct vmmio_queue *q = setup_queue(m, why);
	bool packed = m->dev->features & BIT(VIRTIO_F_RING_PACKED);

	if (!q)
		return -EINVAL;
	if (!v || v > m->dev->ops->queue_max)
		*why = "queue size outside 1..QueueNumMax";
	else if (!packed && (v & (v - 1)))
		*why = "split ring size not a power of 2";
	else {
		q->num = v;
		return 0;
	}
	return -EINVAL;
}

int vmmio_queue_addr_write(struct vmmio *m, uint32_t off, uint32_t v,
			   const char **why)
{
	struct vmmio_queue *q = setup_queue(m, why);
	uint64_t *a;
	unsigned shift = off & 4 ? 32 : 0;

	if (!q)
		return -EINVAL;
	if (off < VIRTIO_MMIO_QUEUE_AVAIL_LOW)
		a = &q->desc;
	else if (off < VIRTIO_MMIO_QUEUE_USED_LOW)
		a = &q->driver;
	else
		a = &q->device;
	*a = (*a & ~((uint64_t)UINT32_MAX << shift)) | (uint64_t)v << shift;
	return 0;
}

static const char *start_error(int ret)
{
	if (ret == -EPROTO)
		return "features not accepted (FEATURES_OK)";
	if (ret == -EINVAL)
		return "ring size or alignment unusable";
	if (ret == -EFAULT)
		return "ring outside guest memory";
	return strerror(-ret);
}

int vmmio_queue_ready_write(struct vmmio *m, uint32_t v, const char **why)
{
	struct vmmio_queue *q = vmmio_selected(m);
	int ret = 0;

	if (!q || v > 1) {
		*why = q ? "QueueReady takes 0 or 1"
			 : "QueueSel names no queue";
		return -EINVAL;
	}
	if (v == q->ready)
		return 0;
	if (vmmio_pause(m)) {
		*why = VMMIO_STUCK;
		return -EINVAL;
	}
	if (v)
		ret = queue_start(m, q);
	else
		queue_stop(m, q);
	dev_thread_resume(m->dt);
	if (ret < 0) {
		log_msg_ratelimited(
			&m->rl, LOG_LEVEL_ERR,
			"%s: queue %u cannot start (size %u, desc 0x%llx, "
			"driver 0x%llx, device 0x%llx): %s",
			m->name, qindex(m, q), q->num,
			(unsigned long long)q->desc,
			(unsigned long long)q->driver,
			(unsigned long long)q->device, start_error(ret));
		vmmio_device_error(m);
	}
	return 0;
}

int vmmio_queue_reset_write(struct vmmio *m, uint32_t v, const char **why)
{
	struct vmmio_queue *q = vmmio_selected(m);

	if (!(m->dev->features & BIT(VIRTIO_F_RING_RESET)))
		*why = "VIRTIO_F_RING_RESET not negotiated";
	else if (!q)
		*why = "QueueSel names no queue";
	else if (v != 1)
		*why = "QueueReset takes 1";
	else if (vmmio_pause(m))
		*why = VMMIO_STUCK;
	else {
		queue_stop(m, q);
		queue_defaults(m, q);
		dev_thread_resume(m->dt);
		return 0;
	}
	return -EINVAL;
}

int vmmio_notify_write(struct vmmio *m, uint32_t v, const char **why)
{
	uint64_t one = 1;

	/* Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index. */
	if (v >= m->nqueues) {
		*why = "QueueNotify names no queue";
		return -EINVAL;
	}
	/*
	 * No fence: the guest ordered its ring writes before this store
	 * (its barrier before the notify), the eventfd round trip orders
	 * us with the data thread, and the ring layer's acquire after
	 * reading the avail index pairs with the driver's barrier.
	 * EAGAIN: the counter is full, so a kick is pending anyway.
	 */
	if (write(m->queues[v].kick_fd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		log_msg_ratelimited(&m->rl, LOG_LEVEL_WARN,
				    "%s: queue %u: kick eventfd: %s", m->name,
				    v, strerror(errno));
	return 0;
}

int vmmio_queues_create(struct vmmio *m, unsigned n)
{
	m->queues = calloc(n, sizeof(*m->queues));
	if (!m->queues)
		return -ENOMEM;
	m->nqueues = n;
	for (unsigned i = 0; i < n; i++)
		m->queues[i].kick_fd = -1;
	for (unsigned i = 0; i < n; i++) {
		m->queues[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->queues[i].kick_fd < 0)
			return -errno; /* the caller destroys */
		queue_defaults(m, &m->queues[i]);
	}
	return 0;
}

void vmmio_queues_destroy(struct vmmio *m)
{
	for (unsigned i = 0; i < m->nqueues; i++)
		if (m->queues[i].kick_fd >= 0)
			close(m->queues[i].kick_fd);
	free(m->queues);
	m->queues = NULL;
	m->nqueues = 0;
}

void vmmio_queues_reset(struct vmmio *m)
{
	for (unsigned i = 0; i < m->nqueues; i++) {
		dev_thread_set_kick(m->dt, i, -1);
		drain_kick(m, &m->queues[i]);
		queue_defaults(m, &m->queues[i]);
	}
}
