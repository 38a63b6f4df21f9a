// SPDX-License-Identifier: MIT
/*
 * vhost-user server: socket, connection lifecycle, message dispatch and the
 * handler table. Device-level requests are in vhost_user_dev.c, per-queue
 * requests in vhost_user_vring.c, memory tables in vhost_user_mem.c,
 * message validation in vhost_user_msg.c.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guard.h"
#include "log.h"
#include "vhost_user_int.h"

#define BIT(n) (1ULL << (n))

/* ---- transport ops: data-path thread ---------------------------------- */

static void signal_fd(struct vhu_server *s, int fd, const char *what,
		      unsigned q)
{
	uint64_t one = 1;

	if (fd < 0)
		return;
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vhu_log(s, LOG_LEVEL_WARN, "%s: queue %u: %s fd: %s", s->name,
			q, what, strerror(errno));
}

static void tp_notify_queue(struct virtio_transport *t, unsigned q)
{
	struct vhu_server *s = container_of(t, struct vhu_server, tp);

	signal_fd(s, s->queues[q].call_fd, "call", q);
}

static void tp_queue_error(struct virtio_transport *t, unsigned q)
{
	struct vhu_server *s = container_of(t, struct vhu_server, tp);

	signal_fd(s, s->queues[q].err_fd, "err", q);
}

static void tp_notify_config(struct virtio_transport *t)
{
	struct vhu_server *s = container_of(t, struct vhu_server, tp);

	/* Needs the back-end request channel, which we do not offer. */
	vhu_log(s, LOG_LEVEL_INFO,
		"%s: config space changed; vhost-user front-ends see it "
		"at their next GET_CONFIG",
		s->name);
}

static const struct virtio_transport_ops vhu_transport_ops = {
	.notify_queue = tp_notify_queue,
	.notify_config = tp_notify_config,
	.queue_error = tp_queue_error,
};

static vhu_handler *const handlers[VHU_REQUEST_MAX] = {
	[VHU_GET_FEATURES] = vhu_get_features,
	[VHU_SET_FEATURES] = vhu_set_features,
	[VHU_SET_OWNER] = vhu_set_owner,
	[VHU_RESET_OWNER] = vhu_reset_owner,
	[VHU_SET_MEM_TABLE] = vhu_set_mem_table,
	[VHU_SET_VRING_NUM] = vhu_set_vring_num,
	[VHU_SET_VRING_ADDR] = vhu_set_vring_addr,
	[VHU_SET_VRING_BASE] = vhu_set_vring_base,
	[VHU_GET_VRING_BASE] = vhu_get_vring_base,
	[VHU_SET_VRING_KICK] = vhu_set_vring_kick,
	[VHU_SET_VRING_CALL] = vhu_set_vring_call,
	[VHU_SET_VRING_ERR] = vhu_set_vring_err,
	[VHU_GET_PROTOCOL_FEATURES] = vhu_get_protocol_features,
	[VHU_SET_PROTOCOL_FEATURES] = vhu_set_protocol_features,
	[VHU_GET_QUEUE_NUM] = vhu_get_queue_num,
	[VHU_SET_VRING_ENABLE] = vhu_set_vring_enable,
	[VHU_GET_CONFIG] = vhu_get_config,
	[VHU_SET_CONFIG] = vhu_set_config,
	[VHU_RESET_DEVICE] = vhu_reset_device,
	[VHU_GET_MAX_MEM_SLOTS] = vhu_get_max_mem_slots,
	[VHU_ADD_MEM_REG] = vhu_add_mem_reg,
	[VHU_REM_MEM_REG] = vhu_rem_mem_reg,
	[VHU_SET_STATUS] = vhu_set_status,
	[VHU_GET_STATUS] = vhu_get_status,
};

/* ---- dispatch ------------------------------------------------------------ */

/* Returns 0, -ENOBUFS (socket buffer full) or -EPIPE (cannot send). */
static int send_reply(struct vhu_server *s, const struct vhu_msg *m,
		      const struct vhu_msg_type *t, int ret)
{
	struct vhu_reply *r = &s->reply;

	switch (t ? t->reply : VHU_REPLY_ACK) {
	case VHU_REPLY_ACK:
		if (!m->need_reply)
			return 0;
		r->p.u64 = ret < 0; /* REPLY_ACK: zero on success */
		r->size = sizeof(r->p.u64);
		break;
	case VHU_REPLY_U64:
		if (ret < 0)
			r->p.u64 = 1; /* only refused requests fail here */
		r->size = sizeof(r->p.u64);
		break;
	case VHU_REPLY_STATE:
		if (ret < 0)
			r->p.state = (struct vhu_vring_state){m->queue, 0};
		r->size = sizeof(r->p.state);
		break;
	case VHU_REPLY_CONFIG:
		if (ret < 0)
			r->size = 0; /* the spec's way to say "error" */
		break;
	}
	/* Never waits: -ENOBUFS means the front-end does not read. */
	switch (vhu_msg_reply(s->conn.fd, m->hdr.request, &r->p, r->size)) {
	case 0:
		return 0;
	case -EAGAIN:
		return -ENOBUFS;
	default:
		return -EPIPE;
	}
}

/*
 * Returns 0 to go on with the connection, -errno to close it (-ENOBUFS,
 * -EPIPE: the reply could not be sent).
 */
/*
 * Run a handler under a guard: a handler that reaches guest memory (a ring
 * while its queue stops, a used entry flushed) can find it shrunk by the
 * front-end. Then the device stops using that memory, pauses the handler
 * left open are closed, and the front-end is disconnected: its memory
 * table cannot be trusted any more. Runs with the data path paused.
 */
static int guarded(struct vhu_server *s, vhu_handler *h, struct vhu_msg *m,
		   struct vhu_queue *q)
{
	unsigned depth = dev_thread_pause_depth(s->dt);
	struct guard g;
	int ret;

	guard_push(&g);
	if (sigsetjmp(g.jb, 0) == 0) {
		ret = h(s, m, q, &s->reply);
		guard_pop(&g);
		return ret;
	}
	/* handle() holds a pause: drop the ones the handler abandoned. */
	dev_thread_unwind(s->dt, depth);
	virtio_dev_mem_fault(s->dev, g.addr);
	return -ECONNRESET;
}

/* What a disconnect undoes: device, queues, memory. Data path paused (or
 * gone). */
static void teardown_device(struct vhu_server *s)
{
	vhu_device_reset(s);
	for (unsigned i = 0; i < s->dev->ops->num_queues; i++)
		vhu_queue_clear(s, &s->queues[i], false);
	gmem_mmap_swap(&s->mem, &s->staging); /* staging is empty */
}

/*
 * Pause the data path for a control step, within the deadline; once the
 * device is stuck, only check whether it answered (no wait). -ETIMEDOUT:
 * not paused, and nothing of the device may be touched.
 */
static int pause_device(struct vhu_server *s)
{
	int ret = dev_thread_pause_within(
		s->dt, s->stuck ? 0 : (int)s->pause_deadline_ms);

	if (ret == -ETIMEDOUT) {
		if (!s->stuck)
			log_err("%s: the device's data path did not pause "
				"within "
				"%u ms (stuck in a host call?): declared "
				"stuck; "
				"its front-ends are refused until it answers, "
				"other devices are served",
				s->name, s->pause_deadline_ms);
		s->stuck = true;
		return ret;
	}
	if (s->stuck) {
		log_info("%s: the device answers again", s->name);
		s->stuck = false;
	}
	if (s->teardown_pending) {
		s->teardown_pending = false;
		teardown_device(s);
		vhu_mem_release_all(s, &s->staging);
	}
	return 0;
}

static int handle(struct vhu_server *s, struct vhu_msg *m)
{
	struct vhu_msg_ctx ctx = {
		.num_queues = s->dev->ops->num_queues,
		.xen_mmap = s->protocol & BIT(VHU_PROTOCOL_F_XEN_MMAP),
	};
	const struct vhu_msg_type *t = vhu_msg_type(m->hdr.request);
	const char *why = NULL;
	vhu_handler *h = NULL;
	int ret, sent;

	ret = vhu_msg_validate(m, &ctx, &why);
	log_debug("%s: %s (%u bytes, %u fds%s)", s->name,
		  vhu_msg_name(m->hdr.request), m->hdr.size, m->nfds,
		  m->need_reply ? ", reply" : "");
	if (ret == -EPROTO) {
		vhu_log(s, LOG_LEVEL_WARN,
			"%s: malformed %s (%u bytes, %u fds): %s", s->name,
			vhu_msg_name(m->hdr.request), m->hdr.size, m->nfds,
			why);
		vhu_msg_close_fds(m);
		return ret;
	}
	if (ret == 0)
		h = handlers[m->hdr.request];
	memset(&s->reply, 0, sizeof(s->reply));
	if (!h) {
		vhu_log(s, LOG_LEVEL_WARN, "%s: refusing %s: %s", s->name,
			vhu_msg_name(m->hdr.request),
			why ? why : "not supported by this back-end");
		ret = -EOPNOTSUPP;
	} else {
		struct vhu_queue *q = t->queue == VHU_QUEUE_NONE
					      ? NULL
					      : &s->queues[m->queue];

		/* Every step runs with the data path paused (handlers'
		 * own pauses nest), so none can wait on it longer than the
		 * deadline. */
		ret = pause_device(s);
		if (ret == 0) {
			ret = guarded(s, h, m, q);
			dev_thread_resume(s->dt);
		} else {
			ret = -ECONNRESET;
		}
		if (ret < 0 && ret != -ECONNRESET)
			vhu_log(s, LOG_LEVEL_WARN, "%s: %s failed: %s", s->name,
				t->name, strerror(-ret));
	}
	vhu_msg_close_fds(m);
	sent = send_reply(s, m, t, ret);
	if (sent < 0)
		return sent;
	return ret == -ECONNRESET ? ret : 0;
}

/* ---- connection lifecycle ------------------------------------------------ */

static void disconnect(struct vhu_server *s, const char *why)
{
	log_msg_ratelimited(&s->conn_rl, LOG_LEVEL_INFO,
			    "%s: front-end disconnected: %s", s->name, why);
	loop_remove(&s->conn);
	close(s->conn.fd);
	s->conn.fd = -1;
	/* A message cut off by the disconnect: its fds go with it. */
	vhu_msg_close_fds(&s->msg);
	s->rx = (struct vhu_msg_rx){0};
	if (pause_device(s) == 0) {
		teardown_device(s);
		dev_thread_resume(s->dt);
		vhu_mem_release_all(s, &s->staging);
	} else {
		/* The data path still uses the memory: keep it until then. */
		s->teardown_pending = true;
	}
	s->acked_features = 0;
	s->protocol = 0;
	s->owner = false;
	if (s->listen.fd >= 0 && loop_add(s->ctl, &s->listen, EPOLLIN) < 0)
		log_err("%s: cannot listen for the next front-end", s->name);
}

static const char *handle_error(int ret)
{
	switch (ret) {
	case -ENOBUFS:
		return "replies not read (socket buffer full)";
	case -EPIPE:
		return "cannot send a reply";
	default:
		return "protocol error";
	}
}

/*
 * Readable: take what has come of the current message without waiting; a
 * partial one waits for the next wake-up, so a front-end that stalls
 * mid-message costs the other servers on this loop nothing. One message
 * per wake-up: the loop is level-triggered and calls again if more is
 * queued, so a chatty front-end cannot starve the others either.
 */
static void conn_ready(struct loop_source *src, uint32_t events)
{
	struct vhu_server *s = container_of(src, struct vhu_server, conn);
	int ret;

	(void)events;
	ret = vhu_msg_recv(src->fd, &s->msg, &s->rx);
	if (ret == -EAGAIN)
		return;
	if (ret == 0) {
		disconnect(s, "connection closed by the front-end");
		return;
	}
	if (ret < 0) {
		disconnect(s, ret == -EPROTO ? "malformed message"
					     : strerror(-ret));
		return;
	}
	ret = handle(s, &s->msg);
	if (ret < 0)
		disconnect(s, handle_error(ret));
}

static int start_conn(struct vhu_server *s, int fd)
{
	int ret;

	/* Every recvmsg and send on fd says MSG_DONTWAIT, so whether the
	 * socket itself blocks (--fd=N hands us either) does not matter.
	 * s->msg and s->rx are empty: zeroed at creation and by disconnect. */
	loop_source_init(&s->conn, fd, conn_ready);
	ret = loop_add(s->ctl, &s->conn, EPOLLIN);
	if (ret < 0)
		goto err_close;
	/* One front-end at a time: the next one waits in the backlog. */
	loop_remove(&s->listen);
	log_msg_ratelimited(&s->conn_rl, LOG_LEVEL_INFO,
			    "%s: front-end connected", s->name);
	return 0;

err_close:
	log_err("%s: cannot serve a front-end: %s", s->name, strerror(-ret));
	close(fd);
	s->conn.fd = -1;
	return ret;
}

static void listen_ready(struct loop_source *src, uint32_t events)
{
	struct vhu_server *s = container_of(src, struct vhu_server, listen);
	int fd;

	(void)events;
	fd = accept4(src->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			vhu_log(s, LOG_LEVEL_ERR, "%s: accept on %s: %s",
				s->name, s->path, strerror(errno));
		return;
	}
	start_conn(s, fd);
}

int vhu_server_serve_fd(struct vhu_server *s, int fd)
{
	if (s->conn.fd >= 0) {
		close(fd);
		return -EBUSY;
	}
	return start_conn(s, fd);
}

bool vhu_server_is_connected(const struct vhu_server *s)
{
	return s->conn.fd >= 0;
}

/* ---- socket and server --------------------------------------------------- */

/*
 * Remove a socket file left by a previous run; refuse to touch anything
 * else, or a socket someone still listens on.
 */
static int clear_stale(const char *name, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, ret;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s: %s exists and is not a socket; not replacing it",
			name, sa->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (ret == 0) {
		log_err("%s: another process serves %s", name, sa->sun_path);
		return -EADDRINUSE;
	}
	return unlink(sa->sun_path) < 0 ? -errno : 0;
}

static int listen_on(struct vhu_server *s, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("%s: socket path %s is too long (at most %zu bytes)",
			s->name, path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ret = clear_stale(s->name, &sa);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 4) < 0) {
		ret = -errno;
		log_err("%s: cannot listen on %s: %s", s->name, path,
			strerror(-ret));
		goto err_close;
	}
	loop_source_init(&s->listen, fd, listen_ready);
	ret = loop_add(s->ctl, &s->listen, EPOLLIN);
	if (ret < 0)
		goto err_unlink;
	memcpy(s->path, sa.sun_path, sizeof(s->path));
	log_info("%s: waiting for a vhost-user front-end on %s", s->name, path);
	return 0;

err_unlink:
	unlink(path);
err_close:
	close(fd);
	s->listen.fd = -1;
	return ret;
}

static void queues_init(struct vhu_server *s)
{
	for (unsigned i = 0; i < s->dev->ops->num_queues; i++) {
		struct vhu_queue *q = &s->queues[i];

		q->index = i;
		q->kick_fd = q->call_fd = q->err_fd = -1;
	}
}

/* The server object for dev, not yet attached, threaded or listening. */
static struct vhu_server *server_alloc(struct loop *ctl, struct virtio_dev *dev,
				       const struct vhu_server_opts *opts)
{
	struct vhu_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->queues = calloc(dev->ops->num_queues, sizeof(*s->queues));
	if (!s->queues) {
		free(s);
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s",
		 opts->name ? opts->name : "vhost-user");
	s->pause_deadline_ms = opts->pause_deadline_ms ? opts->pause_deadline_ms
						       : VHU_PAUSE_DEADLINE_MS;
	log_ratelimit_init(&s->log_rl, s->name);
	log_ratelimit_init(&s->conn_rl, s->name);
	s->tp.ops = &vhu_transport_ops;
	s->ctl = ctl;
	s->dev = dev;
	s->offer_xen_mmap = opts->offer_xen_mmap;
	s->mapper = opts->xen_mapper;
	gmem_mmap_init(&s->mem);
	gmem_mmap_init(&s->staging);
	loop_source_init(&s->listen, -1, listen_ready);
	loop_source_init(&s->conn, -1, conn_ready);
	queues_init(s);
	return s;
}

int vhu_server_create(struct vhu_server **out, struct loop *ctl,
		      struct virtio_dev *dev,
		      const struct vhu_server_opts *opts)
{
	struct vhu_server *s = server_alloc(ctl, dev, opts);
	int ret;

	if (!s)
		return -ENOMEM;
	/* The transport decides whether the packed layout is offered. */
	if (opts->offer_packed)
		dev->features_offered |= BIT(VIRTIO_F_RING_PACKED);
	else
		dev->features_offered &= ~BIT(VIRTIO_F_RING_PACKED);
	/*
	 * ACCESS_PLATFORM only for Xen front-ends (grant addresses): QEMU
	 * refuses a back-end that offers it without the IOTLB machinery
	 * ("IOMMU support requires reply-ack and slave-req").
	 */
	if (!opts->offer_xen_mmap)
		dev->features_offered &= ~BIT(VIRTIO_F_ACCESS_PLATFORM);
	/* Legacy drivers too: QEMU's virtio-mmio is legacy by default. */
	dev->legacy_ok = true;
	virtio_dev_set_name(dev, s->name);
	virtio_dev_attach(dev, &s->tp, &s->mem.gmem);
	ret = dev_thread_create(&s->dt, dev, s->name);
	if (ret < 0)
		goto err_detach;
	if (opts->socket_path) {
		ret = listen_on(s, opts->socket_path);
		if (ret < 0)
			goto err_stop_thread;
	}
	*out = s;
	return 0;

err_stop_thread:
	dev_thread_destroy(s->dt);
err_detach:
	virtio_dev_attach(dev, NULL, NULL);
	free(s->queues);
	free(s);
	return ret;
}

void vhu_server_destroy(struct vhu_server *s)
{
	if (!s)
		return;
	if (s->conn.fd >= 0)
		disconnect(s, "server shutting down");
	if (s->listen.fd >= 0) {
		loop_remove(&s->listen);
		close(s->listen.fd);
		unlink(s->path);
	}
	if (s->teardown_pending) {
		/* Shutting down waits for a stuck device, as joining its
		 * thread would. */
		dev_thread_pause(s->dt);
		s->teardown_pending = false;
		teardown_device(s);
		dev_thread_resume(s->dt);
		vhu_mem_release_all(s, &s->staging);
	}
	dev_thread_destroy(s->dt);
	virtio_dev_attach(s->dev, NULL, NULL);
	log_ratelimit_fini(&s->log_rl);
	log_ratelimit_fini(&s->conn_rl);
	free(s->queues);
	free(s);
}
