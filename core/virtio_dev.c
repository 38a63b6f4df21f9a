// SPDX-License-Identifier: MIT
#include "virtio_dev.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define BIT(n) (1ULL << (n))

/* Ring and transport features the core offers for every model. */
#define CORE_FEATURES                                                      \
	(BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_RING_F_EVENT_IDX) | \
	 BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_ACCESS_PLATFORM))

int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		    uint64_t extra_features)
{
	unsigned i;
	int ret;

	memset(d, 0, sizeof(*d));
	if (!ops || !ops->num_queues ||
	    ops->num_queues > VIRTIO_DEV_QUEUES_MAX || !ops->queue_max ||
	    !ops->queue_kick || !ops->reset)
		return -EINVAL;
	if (ops->config_size && !ops->config_read)
		return -EINVAL;
	d->vqs = calloc(ops->num_queues, sizeof(*d->vqs));
	if (!d->vqs)
		return -ENOMEM;
	for (i = 0; i < ops->num_queues; i++) {
		ret = vq_init(&d->vqs[i], i, ops->queue_max);
		if (ret < 0)
			goto err_destroy_vqs;
		vq_set_holds_buffers(&d->vqs[i], ops->held_queues & (1u << i));
	}
	d->ops = ops;
	d->features_offered = ops->features | CORE_FEATURES | extra_features;
	d->kick_budget_ns = VIRTIO_DEV_KICK_BUDGET_NS;
	virtio_dev_set_name(d, ops->name);
	return 0;

err_destroy_vqs:
	while (i--)
		vq_destroy(&d->vqs[i]);
	free(d->vqs);
	d->vqs = NULL;
	return ret;
}

void virtio_dev_destroy(struct virtio_dev *d)
{
	if (!d->vqs)
		return;
	for (unsigned i = 0; i < d->ops->num_queues; i++)
		vq_destroy(&d->vqs[i]);
	free(d->vqs);
	d->vqs = NULL;
	log_ratelimit_fini(&d->log_rl);
}

void virtio_dev_set_name(struct virtio_dev *d, const char *name)
{
	snprintf(d->name, sizeof(d->name), "%s", name);
	log_ratelimit_init(&d->log_rl, d->name);
}

void virtio_dev_attach(struct virtio_dev *d, struct virtio_transport *tp,
		       struct gmem *mem)
{
	d->tp = tp;
	d->mem = mem;
}

uint64_t virtio_dev_features(const struct virtio_dev *d)
{
	return d->features_offered;
}

static bool any_queue_started(const struct virtio_dev *d)
{
	for (unsigned i = 0; i < d->ops->num_queues; i++)
		if (vq_is_started(&d->vqs[i]))
			return true;
	return false;
}

int virtio_dev_set_features(struct virtio_dev *d, uint64_t features)
{
	int ret;

	if (features & ~d->features_offered)
		return -EINVAL;
	/* A legacy driver: split rings, 32 feature bits, where allowed. */
	if (!(features & BIT(VIRTIO_F_VERSION_1)) &&
	    (!d->legacy_ok || features >> 32))
		return -EINVAL;
	if (d->features_accepted && features == d->features)
		return 0;
	/* Rings in use were started with the old ring format bits. */
	if (any_queue_started(d))
		return -EBUSY;
	if (d->ops->features_ok) {
		ret = d->ops->features_ok(d, features);
		if (ret < 0)
			return ret;
	}
	d->features = features;
	d->features_accepted = true;
	return 0;
}

int virtio_dev_set_status(struct virtio_dev *d, uint8_t status)
{
	uint8_t added = status & ~d->status;

	if (!status) {
		virtio_dev_reset(d);
		return 0;
	}
	/*
	 * FEATURES_OK is where a driver learns that its features were
	 * refused: the bit does not stick. DRIVER_OK without FEATURES_OK is
	 * accepted, because QEMU's vhost-user front-end sends exactly that.
	 */
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !d->features_accepted) {
		d->status = status & ~VIRTIO_CONFIG_S_FEATURES_OK;
		return -EINVAL;
	}
	d->status = status;
	return 0;
}

uint8_t virtio_dev_status(const struct virtio_dev *d)
{
	return d->status;
}

static bool config_range_ok(const struct virtio_dev *d, uint32_t off,
			    uint32_t len)
{
	return len && (uint64_t)off + len <= d->ops->config_size;
}

int virtio_dev_config_read(struct virtio_dev *d, uint32_t off, void *buf,
			   uint32_t len)
{
	memset(buf, 0, len);
	if (!config_range_ok(d, off, len))
		return -EINVAL;
	d->ops->config_read(d, off, buf, len);
	return 0;
}

int virtio_dev_config_write(struct virtio_dev *d, uint32_t off, const void *buf,
			    uint32_t len)
{
	if (!config_range_ok(d, off, len))
		return -EINVAL;
	if (!d->ops->config_write)
		return -EPERM;
	d->ops->config_write(d, off, buf, len);
	return 0;
}

void virtio_dev_config_changed(struct virtio_dev *d)
{
	atomic_fetch_add(&d->config_generation, 1);
	if (d->tp && d->tp->ops->notify_config)
		d->tp->ops->notify_config(d->tp);
}

int virtio_dev_queue_start(struct virtio_dev *d, unsigned q,
			   const struct vq_layout *l, uint32_t base)
{
	int ret;

	if (q >= d->ops->num_queues || !d->mem)
		return -EINVAL;
	if (!d->features_accepted)
		return -EPROTO;
	if (vq_is_started(&d->vqs[q]))
		return -EBUSY;
	ret = vq_start(&d->vqs[q], d->mem, d->features, l, base);
	if (ret < 0)
		return ret;
	d->queue_error_sent &= ~BIT(q);
	if (d->ops->queue_started)
		d->ops->queue_started(d, q);
	return 0;
}

int virtio_dev_queue_stop(struct virtio_dev *d, unsigned q, uint32_t *base)
{
	if (q >= d->ops->num_queues || !vq_is_started(&d->vqs[q]))
		return -EINVAL;
	if (d->ops->queue_stopping)
		d->ops->queue_stopping(d, q);
	*base = vq_stop(&d->vqs[q]);
	return 0;
}

bool virtio_dev_queue_is_started(const struct virtio_dev *d, unsigned q)
{
	return q < d->ops->num_queues && vq_is_started(&d->vqs[q]);
}

static void report_broken(struct virtio_dev *d, unsigned q)
{
	const char *why = NULL;
	int err = vq_broken(&d->vqs[q], &why);

	if (!err || (d->queue_error_sent & BIT(q)))
		return;
	d->queue_error_sent |= BIT(q);
	log_msg_ratelimited(&d->log_rl, LOG_LEVEL_ERR,
			    "%s: queue %u is broken: %s (%s)", d->name, q,
			    why ? why : "corrupt ring", strerror(-err));
	if (d->tp && d->tp->ops->queue_error)
		d->tp->ops->queue_error(d->tp, q);
}

void virtio_dev_complete(struct virtio_dev *d, unsigned q)
{
	if (q >= d->ops->num_queues || !vq_is_started(&d->vqs[q]))
		return;
	if (vq_flush(&d->vqs[q]) > 0 && d->tp && d->tp->ops->notify_queue)
		d->tp->ops->notify_queue(d->tp, q);
	report_broken(d, q);
}

int virtio_dev_kick(struct virtio_dev *d, unsigned q)
{
	struct vq *vq;
	int ret = 1;

	if (q >= d->ops->num_queues || !vq_is_started(&d->vqs[q]))
		return 0;
	vq = &d->vqs[q];
	/* Bounded work per call, so a pause (a control step) waits at most
	 * this long plus one request, however slow the host device. */
	vq_set_deadline(vq, vq_now_ns() + d->kick_budget_ns);
	for (unsigned round = 0; round < VIRTIO_DEV_KICK_ROUNDS; round++) {
		uint32_t popped = vq_pop_count(vq);

		/* We look at the ring ourselves until it is empty: a kick
		 * meanwhile would only wake us for what we serve anyway. */
		vq_set_notify(vq, false);
		d->ops->queue_kick(d, q);
		virtio_dev_complete(d, q);
		/* Out of time: kicks stay off, the caller serves us again. */
		if (vq_over_budget(vq))
			break;
		/*
		 * Ask for the next kick. 1 means buffers arrived while kicks
		 * were off (the driver did not kick for them and will not):
		 * serve them, unless the model left the ring alone this round
		 * (it keeps buffers there until it can use them).
		 */
		if (vq_set_notify(vq, true) != 1 ||
		    vq_pop_count(vq) == popped) {
			ret = 0;
			break;
		}
	}
	vq_set_deadline(vq, 0);
	return ret;
}

void virtio_dev_mem_fault(struct virtio_dev *d, const void *addr)
{
	log_msg_ratelimited(
		&d->log_rl, LOG_LEVEL_ERR,
		"%s: guest memory fault at %p: the front-end shrank "
		"or unmapped guest memory under the device; its "
		"queues stop until the driver resets it",
		d->name, addr);
	for (unsigned q = 0; q < d->ops->num_queues; q++) {
		if (!vq_is_started(&d->vqs[q]))
			continue;
		vq_mem_fault(&d->vqs[q]);
		report_broken(d, q);
	}
}

void virtio_dev_reset(struct virtio_dev *d)
{
	d->ops->reset(d);
	for (unsigned i = 0; i < d->ops->num_queues; i++)
		vq_reset(&d->vqs[i]);
	d->features = 0;
	d->features_accepted = false;
	d->status = 0;
	d->queue_error_sent = 0;
}
