// SPDX-License-Identifier: MIT
/* vhost-user per-queue requests: SET/GET_VRING_*, and ring start/stop. */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user_int.h"

static bool queue_is_enabled(const struct vhu_server *s,
			     const struct vhu_queue *q)
{
	/*
	 * Without VHOST_USER_F_PROTOCOL_FEATURES a ring starts enabled. An
	 * explicit SET_VRING_ENABLE is honoured either way: QEMU 7.2's
	 * vhost-user-gpio sends it without acking bit 30.
	 */
	if (q->enable_set)
		return q->enabled;
	return !(s->acked_features & (1ULL << VHU_F_PROTOCOL_FEATURES));
}

void vhu_queue_arm(struct vhu_server *s, struct vhu_queue *q)
{
	bool on = q->started && queue_is_enabled(s, q);
	int ret;

	ret = dev_thread_set_kick(s->dt, q->index,
				  on && !q->kick_nofd ? q->kick_fd : -1);
	if (ret < 0)
		vhu_log(s, LOG_LEVEL_WARN,
			"%s: queue %u: kick fd cannot be polled: %s", s->name,
			q->index, strerror(-ret));
	ret = dev_thread_set_poll(s->dt, q->index, on && q->kick_nofd);
	if (ret < 0)
		log_err("%s: queue %u: polling timer: %s", s->name, q->index,
			strerror(-ret));
	/* Buffers may have been queued while we were not looking. */
	if (on)
		dev_thread_kick_soon(s->dt, q->index);
}

void vhu_queue_stop(struct vhu_server *s, struct vhu_queue *q)
{
	uint32_t base;

	if (!q->started)
		return;
	if (virtio_dev_queue_stop(s->dev, q->index, &base) == 0)
		q->base = base;
	log_debug("%s: queue %u stopped at 0x%x", s->name, q->index, q->base);
	q->started = false;
	vhu_queue_arm(s, q);
}

/* Ring addresses in guest terms: IOVAs are guest addresses already. */
static int ring_gpa(const struct vhu_server *s, uint64_t a, uint64_t *gpa)
{
	if (s->dev->features & (1ULL << VIRTIO_F_ACCESS_PLATFORM)) {
		*gpa = a;
		return 0;
	}
	return gmem_mmap_uva_to_gpa(&s->mem, a, gpa);
}

int vhu_queue_start(struct vhu_server *s, struct vhu_queue *q)
{
	struct vq_layout l = {.num = (uint16_t)q->num};
	int ret;

	if (q->started)
		return 0;
	if (!q->num || !q->addr_set)
		return -EINVAL;
	if (ring_gpa(s, q->addr.desc, &l.desc) < 0 ||
	    ring_gpa(s, q->addr.avail, &l.driver) < 0 ||
	    ring_gpa(s, q->addr.used, &l.device) < 0)
		return -EFAULT;
	ret = virtio_dev_queue_start(s->dev, q->index, &l, q->base);
	if (ret < 0)
		return ret;
	log_debug("%s: queue %u started: size %u, desc 0x%llx, base 0x%x",
		  s->name, q->index, q->num, (unsigned long long)l.desc,
		  q->base);
	q->started = true;
	vhu_queue_arm(s, q);
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vhu_queue_clear(struct vhu_server *s, struct vhu_queue *q,
		     bool keep_notify_fds)
{
	vhu_queue_stop(s, q);
	q->num = 0;
	q->base = 0;
	q->addr_set = false;
	memset(&q->addr, 0, sizeof(q->addr));
	q->kick_nofd = false;
	q->enable_set = false;
	q->enabled = false;
	vhu_queue_arm(s, q);
	close_fd(&q->kick_fd);
	if (!keep_notify_fds) {
		close_fd(&q->call_fd);
		close_fd(&q->err_fd);
	}
}

int vhu_set_vring_num(struct vhu_server *s, struct vhu_msg *m,
		      struct vhu_queue *q, struct vhu_reply *r)
{
	uint32_t num = m->p.state.num;

	(void)r;
	if (q->started)
		return -EBUSY;
	if (!num || num > s->dev->ops->queue_max)
		return -EINVAL;
	q->num = num;
	return 0;
}

int vhu_set_vring_addr(struct vhu_server *s, struct vhu_msg *m,
		       struct vhu_queue *q, struct vhu_reply *r)
{
	const struct vhu_vring_addr *a = &m->p.addr;

	(void)s;
	(void)r;
	if (q->started) {
		/* Only the flags (logging) may change on a running ring. */
		if (a->desc != q->addr.desc || a->avail != q->addr.avail ||
		    a->used != q->addr.used)
			return -EBUSY;
		q->addr.flags = a->flags;
		return 0;
	}
	q->addr = *a;
	q->addr_set = true;
	return 0;
}

int vhu_set_vring_base(struct vhu_server *s, struct vhu_msg *m,
		       struct vhu_queue *q, struct vhu_reply *r)
{
	(void)r;
	if (q->started)
		return -EBUSY;
	/*
	 * Split: a 16-bit index. Packed: all 32 bits, avail index and wrap
	 * bit in the low half, QEMU's used index and wrap bit in the high
	 * one (vq_start's encoding; checked against the ring size there).
	 * QEMU 7.2 masks the used index with 0x7ffff on GET_VRING_BASE, so
	 * its copy keeps the wrap bit inside, but it rebuilds the same 32
	 * bits for SET_VRING_BASE: the round trip is exact.
	 */
	if (!(s->dev->features & (1ULL << VIRTIO_F_RING_PACKED)) &&
	    m->p.state.num > 0xffff) {
		/* QEMU 7.2's vhost-user-gpio with packed=on: it never acks
		 * RING_PACKED to the back-end, yet the guest rings are packed.
		 */
		vhu_log(s, LOG_LEVEL_WARN,
			"%s: queue %u: base 0x%x is a packed-ring base, "
			"but VIRTIO_F_RING_PACKED was not acked (QEMU "
			"7.2's vhost-user-gpio does this with "
			"packed=on: use packed=off)",
			s->name, q->index, m->p.state.num);
		return -EINVAL;
	}
	q->base = m->p.state.num;
	return 0;
}

int vhu_get_vring_base(struct vhu_server *s, struct vhu_msg *m,
		       struct vhu_queue *q, struct vhu_reply *r)
{
	(void)m;
	dev_thread_pause(s->dt);
	vhu_queue_stop(s, q);
	dev_thread_resume(s->dt);
	/* A stopped ring starts again only with a new SET_VRING_KICK. */
	close_fd(&q->kick_fd);
	q->kick_nofd = false;
	r->p.state.index = q->index;
	r->p.state.num = q->base;
	r->size = sizeof(r->p.state);
	return 0;
}

/* Install fd (owned) in *slot with the data path paused; close the old. */
static void swap_fd(struct vhu_server *s, int *slot, int fd)
{
	int old;

	dev_thread_pause(s->dt);
	old = *slot;
	*slot = fd;
	dev_thread_resume(s->dt);
	if (old >= 0)
		close(old);
}

/*
 * Call and err fds are written from the data-path thread: made non-blocking
 * so a front-end that passes a pipe and never drains it stalls nothing (an
 * eventfd at its maximum, or a full pipe, already holds a pending signal).
 */
static int nonblocking(int fd)
{
	int fl = fd < 0 ? 0 : fcntl(fd, F_GETFL);

	if (fd >= 0 && fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	return fd;
}

/* The fd a VRING fd message brought (taken from m), or -1 with NOFD. */
static int take_vring_fd(struct vhu_msg *m)
{
	int fd;

	if (m->p.u64 & VHU_VRING_NOFD_MASK)
		return -1;
	fd = m->fds[0];
	m->fds[0] = -1;
	return fd;
}

int vhu_set_vring_kick(struct vhu_server *s, struct vhu_msg *m,
		       struct vhu_queue *q, struct vhu_reply *r)
{
	int fd = take_vring_fd(m), old, ret = 0;

	(void)r;
	dev_thread_pause(s->dt);
	old = q->kick_fd;
	q->kick_fd = fd;
	q->kick_nofd = fd < 0;
	if (q->started)
		vhu_queue_arm(s, q); /* same ring, new kick fd */
	else
		ret = vhu_queue_start(s, q);
	dev_thread_resume(s->dt);
	if (old >= 0)
		close(old);
	if (ret < 0)
		vhu_log(s, LOG_LEVEL_ERR, "%s: queue %u cannot start: %s",
			s->name, q->index,
			ret == -EPROTO
				? "features not negotiated (no SET_FEATURES)"
				: strerror(-ret));
	return ret;
}

int vhu_set_vring_call(struct vhu_server *s, struct vhu_msg *m,
		       struct vhu_queue *q, struct vhu_reply *r)
{
	(void)r;
	swap_fd(s, &q->call_fd, nonblocking(take_vring_fd(m)));
	return 0;
}

int vhu_set_vring_err(struct vhu_server *s, struct vhu_msg *m,
		      struct vhu_queue *q, struct vhu_reply *r)
{
	(void)r;
	swap_fd(s, &q->err_fd, nonblocking(take_vring_fd(m)));
	return 0;
}

int vhu_set_vring_enable(struct vhu_server *s, struct vhu_msg *m,
			 struct vhu_queue *q, struct vhu_reply *r)
{
	(void)r;
	if (m->p.state.num > 1)
		return -EINVAL;
	dev_thread_pause(s->dt);
	q->enable_set = true;
	q->enabled = m->p.state.num;
	vhu_queue_arm(s, q);
	dev_thread_resume(s->dt);
	return 0;
}
