// SPDX-License-Identifier: MIT
/*
 * vhost-user device-level requests: features, protocol features, owner,
 * config space, status, reset. Everything that reaches the device runs
 * with its data path paused.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <string.h>

#include "log.h"
#include "vhost_user_int.h"

#define BIT(n) (1ULL << (n))

#define PROTOCOL_OFFERED                                          \
	(BIT(VHU_PROTOCOL_F_MQ) | BIT(VHU_PROTOCOL_F_REPLY_ACK) | \
	 BIT(VHU_PROTOCOL_F_RESET_DEVICE) |                       \
	 BIT(VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | BIT(VHU_PROTOCOL_F_STATUS))

uint64_t vhu_protocol_offered(const struct vhu_server *s)
{
	/*
	 * CONFIG only with a config space: QEMU warns about it for every
	 * front-end that has none to ask for (vhost-user-i2c).
	 */
	return PROTOCOL_OFFERED |
	       (s->dev->ops->config_size ? BIT(VHU_PROTOCOL_F_CONFIG) : 0) |
	       (s->offer_xen_mmap ? BIT(VHU_PROTOCOL_F_XEN_MMAP) : 0);
}

int vhu_get_features(struct vhu_server *s, struct vhu_msg *m,
		     struct vhu_queue *q, struct vhu_reply *r)
{
	(void)m;
	(void)q;
	r->p.u64 = virtio_dev_features(s->dev) | BIT(VHU_F_PROTOCOL_FEATURES);
	return 0;
}

int vhu_set_features(struct vhu_server *s, struct vhu_msg *m,
		     struct vhu_queue *q, struct vhu_reply *r)
{
	uint64_t offered = virtio_dev_features(s->dev);
	uint64_t f = m->p.u64 & ~BIT(VHU_F_PROTOCOL_FEATURES);
	int ret;

	(void)q;
	(void)r;
	if (f & ~offered)
		/* QEMU passes guest-acked transport bits it never asked us
		 * about (e.g. RING_RESET): harmless, dropped. */
		vhu_log(s, LOG_LEVEL_INFO,
			"%s: ignoring features 0x%llx not offered", s->name,
			(unsigned long long)(f & ~offered));
	f &= offered;
	/*
	 * QEMU's default virtio-mmio is legacy (force-legacy=true): its
	 * driver never accepts VERSION_1, and QEMU has turned the legacy
	 * ring layout into SET_VRING_ADDR already.
	 */
	if (!(f & BIT(VIRTIO_F_VERSION_1)))
		vhu_log(s, LOG_LEVEL_INFO,
			"%s: front-end did not accept "
			"VIRTIO_F_VERSION_1: serving a legacy driver "
			"(split rings, little-endian guest)",
			s->name);
	dev_thread_pause(s->dt);
	ret = virtio_dev_set_features(s->dev, f);
	dev_thread_resume(s->dt);
	if (ret < 0 && !(f & BIT(VIRTIO_F_VERSION_1)))
		vhu_log(s, LOG_LEVEL_ERR,
			"%s: the %s device cannot serve this legacy "
			"driver (features 0x%llx): %s",
			s->name, s->dev->ops->name, (unsigned long long)f,
			strerror(-ret));
	if (ret == 0)
		s->acked_features = m->p.u64;
	return ret;
}

int vhu_get_protocol_features(struct vhu_server *s, struct vhu_msg *m,
			      struct vhu_queue *q, struct vhu_reply *r)
{
	(void)m;
	(void)q;
	r->p.u64 = vhu_protocol_offered(s);
	return 0;
}

int vhu_set_protocol_features(struct vhu_server *s, struct vhu_msg *m,
			      struct vhu_queue *q, struct vhu_reply *r)
{
	uint64_t extra = m->p.u64 & ~vhu_protocol_offered(s);

	(void)q;
	(void)r;
	if (extra)
		vhu_log(s, LOG_LEVEL_WARN,
			"%s: ignoring protocol features 0x%llx not offered",
			s->name, (unsigned long long)extra);
	s->protocol = m->p.u64 & vhu_protocol_offered(s);
	return 0;
}

int vhu_set_owner(struct vhu_server *s, struct vhu_msg *m, struct vhu_queue *q,
		  struct vhu_reply *r)
{
	(void)m;
	(void)q;
	(void)r;
	s->owner = true;
	return 0;
}

/* Deprecated; the spec recommends treating it as "disable all rings". */
int vhu_reset_owner(struct vhu_server *s, struct vhu_msg *m,
		    struct vhu_queue *q, struct vhu_reply *r)
{
	(void)m;
	(void)q;
	(void)r;
	dev_thread_pause(s->dt);
	for (unsigned i = 0; i < s->dev->ops->num_queues; i++) {
		s->queues[i].enable_set = true;
		s->queues[i].enabled = false;
		vhu_queue_arm(s, &s->queues[i]);
	}
	dev_thread_resume(s->dt);
	return 0;
}

int vhu_get_queue_num(struct vhu_server *s, struct vhu_msg *m,
		      struct vhu_queue *q, struct vhu_reply *r)
{
	(void)m;
	(void)q;
	r->p.u64 = s->dev->ops->num_queues;
	return 0;
}

int vhu_get_max_mem_slots(struct vhu_server *s, struct vhu_msg *m,
			  struct vhu_queue *q, struct vhu_reply *r)
{
	(void)s;
	(void)m;
	(void)q;
	r->p.u64 = GMEM_MMAP_REGIONS_MAX;
	return 0;
}

int vhu_get_config(struct vhu_server *s, struct vhu_msg *m, struct vhu_queue *q,
		   struct vhu_reply *r)
{
	uint8_t *data = r->p.bytes + sizeof(m->config);
	int ret;

	(void)q;
	dev_thread_pause(s->dt);
	ret = virtio_dev_config_read(s->dev, m->config.offset, data,
				     m->config.size);
	dev_thread_resume(s->dt);
	if (ret < 0)
		return ret; /* answered with an empty payload */
	memcpy(r->p.bytes, &m->config, sizeof(m->config));
	r->size = sizeof(m->config) + m->config.size;
	return 0;
}

int vhu_set_config(struct vhu_server *s, struct vhu_msg *m, struct vhu_queue *q,
		   struct vhu_reply *r)
{
	int ret;

	(void)q;
	(void)r;
	if (m->config.flags > VHU_CONFIG_F_MIGRATION)
		return -EINVAL;
	dev_thread_pause(s->dt);
	ret = virtio_dev_config_write(s->dev, m->config.offset, m->config_data,
				      m->config.size);
	dev_thread_resume(s->dt);
	return ret;
}

/* Data path paused: stop every ring (keeping its base), reset the device. */
void vhu_device_reset(struct vhu_server *s)
{
	for (unsigned i = 0; i < s->dev->ops->num_queues; i++)
		vhu_queue_stop(s, &s->queues[i]);
	virtio_dev_reset(s->dev);
}

int vhu_set_status(struct vhu_server *s, struct vhu_msg *m, struct vhu_queue *q,
		   struct vhu_reply *r)
{
	int ret = 0;

	(void)q;
	(void)r;
	if (m->p.u64 > 0xff)
		return -EINVAL;
	dev_thread_pause(s->dt);
	/*
	 * QEMU 7.2 sends status 0 before GET_VRING_BASE when it stops the
	 * device: the rings stop here and GET_VRING_BASE reports where.
	 */
	if (m->p.u64 == 0)
		vhu_device_reset(s);
	else
		ret = virtio_dev_set_status(s->dev, (uint8_t)m->p.u64);
	dev_thread_resume(s->dt);
	return ret;
}

int vhu_get_status(struct vhu_server *s, struct vhu_msg *m, struct vhu_queue *q,
		   struct vhu_reply *r)
{
	(void)m;
	(void)q;
	r->p.u64 = virtio_dev_status(s->dev);
	return 0;
}

int vhu_reset_device(struct vhu_server *s, struct vhu_msg *m,
		     struct vhu_queue *q, struct vhu_reply *r)
{
	(void)m;
	(void)q;
	(void)r;
	dev_thread_pause(s->dt);
	vhu_device_reset(s);
	/* Ring setup starts over; memory and call/err fds are connection
	 * state and stay. */
	for (unsigned i = 0; i < s->dev->ops->num_queues; i++)
		vhu_queue_clear(s, &s->queues[i], true);
	s->acked_features = 0;
	dev_thread_resume(s->dt);
	return 0;
}
