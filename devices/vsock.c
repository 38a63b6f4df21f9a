// SPDX-License-Identifier: MIT
/*
 * virtio-vsock device model, packet side: tx parsing and checks, the rx
 * pump, the event queue, and the device's lifecycle. See vsock.h; the host
 * sockets are in vsock_conn.c.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iov.h"
#include "vsock_int.h"

#define SEQ_FEATURE (1ull << VIRTIO_VSOCK_F_SEQPACKET)

static struct vsock_dev *to_vsock(struct virtio_dev *vd)
{
	return container_of(vd, struct vsock_dev, vdev);
}

void vsock_guest_log(struct vsock_dev *d, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg_ratelimited(&d->log_rl, LOG_LEVEL_WARN, "%s: %s", d->name, msg);
}

uint32_t vsock_peer_credit(const struct conn *c)
{
	uint32_t used = c->tx_cnt - c->peer_fwd_cnt;

	return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

/* ---- to the guest ---- */

void vsock_rst_queue(struct vsock_dev *d, const struct virtio_vsock_hdr *h)
{
	unsigned tail;

	if (d->rst_n == d->rst_cap) {
		/* Cannot happen: the tx path stops before the queue fills
		 * and each connection owes at most one. Say so anyway. */
		vsock_guest_log(d, "RST queue full: an RST is lost");
		return;
	}
	tail = (d->rst_head + d->rst_n) % d->rst_cap;
	d->rstq[tail] = *h;
	d->rst_n++;
	d->stats.rst_sent++;
}

/* The RST for a packet h the guest sent and no connection takes. */
static void rst_reply(struct vsock_dev *d, const struct virtio_vsock_hdr *h)
{
	struct virtio_vsock_hdr r = {
		.src_cid = h->dst_cid,
		.dst_cid = htole64(d->cid),
		.src_port = h->dst_port,
		.dst_port = h->src_port,
		.type = h->type,
		.op = htole16(VIRTIO_VSOCK_OP_RST),
	};

	if (le16toh(h->op) != VIRTIO_VSOCK_OP_RST)
		vsock_rst_queue(d, &r);
}

/* Take an rx buffer able to hold a header, or NULL. */
static struct vq_elem *rx_take(struct vsock_dev *d)
{
	struct vq *vq = &d->vdev.vqs[VSOCK_DEV_RXQ];
	struct vq_elem *e = d->spare;

	d->spare = NULL;
	while (e || vq_pop(vq, &e) == 1) {
		/* A truncated one (vq_elem_is_truncated) has holes: data
		 * written into it would land in the wrong places. */
		if (e->wr_len >= VSOCK_HDR_LEN && !e->rd_len &&
		    !vq_elem_is_truncated(e))
			return e;
		vsock_guest_log(d,
				"rx buffer of %u writable and %u readable "
				"bytes refused: it cannot hold a header, or "
				"has more segments than a buffer takes",
				e->wr_len, e->rd_len);
		vq_push(vq, e, 0);
		e = NULL;
	}
	return NULL;
}

/* Fill rx buffers while there is something for the guest. */
static void rx_fill(struct vsock_dev *d)
{
	struct vq *vq = &d->vdev.vqs[VSOCK_DEV_RXQ];
	struct vq_elem *e;

	while (d->rst_n || d->work_head) {
		uint32_t n = 0;

		e = rx_take(d);
		if (!e)
			return;
		if (d->rst_n) {
			iov_from_buf(e->wr_iov, e->wr_num, 0,
				     &d->rstq[d->rst_head], VSOCK_HDR_LEN);
			d->rst_head = (d->rst_head + 1) % d->rst_cap;
			d->rst_n--;
			n = VSOCK_HDR_LEN;
		}
		/* Each listed connection gets one try for this buffer. */
		for (unsigned t = 0; !n && d->work_head && t <= d->max_conns;
		     t++) {
			struct conn *c = d->work_head;

			d->work_head = c->next;
			if (!d->work_head)
				d->work_tail = NULL;
			c->listed = false;
			c->next = NULL;
			n = vsock_conn_produce(c, e);
			if (c->state != CONN_FREE)
				vsock_conn_list(c);
		}
		if (!n && e->wr_len > VSOCK_HDR_LEN) {
			d->spare = e; /* for the next packet */
			return;
		}
		if (!n) {
			/* Only a header fits and no header is due: data cannot
			 * use it, so it must not wait in front of buffers that
			 * data can use. */
			vsock_guest_log(d,
					"rx buffer of %u bytes returned "
					"unused: no room for data",
					e->wr_len);
			vq_push(vq, e, 0);
			return;
		}
		vq_push(vq, e, n);
	}
}

static void vsock_rx_kick(struct vsock_dev *d)
{
	d->in_rx = true;
	for (;;) {
		rx_fill(d);
		if (!d->tx_throttled ||
		    d->rst_cap - d->rst_n < VSOCK_RSTQ_TX + 1)
			break;
		d->tx_throttled = false;
		virtio_dev_kick(&d->vdev, VSOCK_DEV_TXQ);
		if (!d->rst_n && !d->work_head)
			break;
	}
	d->in_rx = false;
}

void vsock_pump(struct vsock_dev *d)
{
	if (d->in_rx || !d->running)
		return;
	/* The kick loop re-enables kicks correctly after buffers were taken
	 * outside a driver kick (EVENT_IDX), and completes the queue. */
	for (unsigned i = 0; i < VIRTIO_DEV_KICK_ROUNDS; i++)
		if (virtio_dev_kick(&d->vdev, VSOCK_DEV_RXQ) != 1)
			break;
}

/* ---- from the guest ---- */

static bool type_ok(struct vsock_dev *d, uint16_t type)
{
	return type == VIRTIO_VSOCK_TYPE_STREAM ||
	       (type == VIRTIO_VSOCK_TYPE_SEQPACKET &&
		(d->vdev.features & SEQ_FEATURE));
}

static void malformed(struct vsock_dev *d, const struct virtio_vsock_hdr *h,
		      struct conn *c, const char *why)
{
	d->stats.malformed++;
	vsock_guest_log(d, "packet op %u from port %u to %llu:%u refused: %s",
			le16toh(h->op), le32toh(h->src_port),
			(unsigned long long)le64toh(h->dst_cid),
			le32toh(h->dst_port), why);
	if (c)
		vsock_conn_reset(d, c, NULL);
	else
		rst_reply(d, h);
}

/* A packet on connection c (found by its addresses). */
static void conn_packet(struct vsock_dev *d, struct conn *c,
			const struct virtio_vsock_hdr *h,
			const struct vq_elem *e)
{
	uint16_t op = le16toh(h->op);
	uint32_t len = le32toh(h->len), flags = le32toh(h->flags);

	if (le16toh(h->type) != c->type)
		return malformed(d, h, c, "type differs from the connection's");
	if (op != VIRTIO_VSOCK_OP_RW && len)
		return malformed(d, h, c, "payload on a control packet");
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	c->credit_asked = false;
	switch (op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state != CONN_GUEST_WAIT)
			return malformed(d, h, c, "RESPONSE without REQUEST");
		vsock_guest_response(c);
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state != CONN_OPEN || c->guest_shut_send)
			return malformed(d, h, c, "data on a closed direction");
		if (flags & ~(uint32_t)(c->type == VIRTIO_VSOCK_TYPE_SEQPACKET
						? VIRTIO_VSOCK_SEQ_EOM |
							  VIRTIO_VSOCK_SEQ_EOR
						: 0))
			return malformed(d, h, c, "unknown RW flags");
		vsock_guest_rw(c, e, len, flags);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (flags & ~(uint32_t)(VIRTIO_VSOCK_SHUTDOWN_RCV |
					VIRTIO_VSOCK_SHUTDOWN_SEND))
			return malformed(d, h, c, "unknown SHUTDOWN flags");
		vsock_guest_shutdown(c, flags);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->pend |= PEND_CREDIT_UPDATE;
		break;
	default:
		return malformed(d, h, c, "unexpected op");
	}
	if (c->state != CONN_FREE) {
		vsock_conn_arm(c);
		vsock_conn_list(c);
	}
}

static void tx_packet(struct vsock_dev *d, const struct vq_elem *e)
{
	struct virtio_vsock_hdr h;
	struct conn *c;
	uint16_t op;

	if (e->rd_len < VSOCK_HDR_LEN || e->wr_len || vq_elem_is_truncated(e)) {
		d->stats.dropped++;
		vsock_guest_log(d,
				"tx buffer of %u readable and %u writable "
				"bytes dropped: not a packet (or more segments "
				"than a buffer takes)",
				e->rd_len, e->wr_len);
		return;
	}
	iov_to_buf(e->rd_iov, e->rd_num, 0, &h, VSOCK_HDR_LEN);
	if (le32toh(h.len) != e->rd_len - VSOCK_HDR_LEN) {
		d->stats.dropped++;
		vsock_guest_log(d,
				"packet dropped: len %u but %u payload bytes",
				le32toh(h.len), e->rd_len - VSOCK_HDR_LEN);
		return;
	}
	if (le64toh(h.src_cid) != d->cid) {
		d->stats.dropped++;
		vsock_guest_log(d,
				"packet dropped: src_cid %llu is not the "
				"guest's CID %llu",
				(unsigned long long)le64toh(h.src_cid),
				(unsigned long long)d->cid);
		return;
	}
	op = le16toh(h.op);
	c = vsock_conn_find(d, le32toh(h.src_port), le64toh(h.dst_cid),
			    le32toh(h.dst_port));
	if (op == VIRTIO_VSOCK_OP_RST) {
		if (c)
			vsock_conn_free(d, c);
		return;
	}
	if (!type_ok(d, le16toh(h.type)))
		return malformed(d, &h, c, "unsupported socket type");
	if (op == VIRTIO_VSOCK_OP_REQUEST) {
		if (c)
			return malformed(d, &h, c, "REQUEST on a connection");
		if (le32toh(h.len) || le32toh(h.flags))
			return malformed(d, &h, NULL, "REQUEST with payload");
		return vsock_guest_connect(d, &h);
	}
	if (!c) {
		/* The guest talks to a connection we do not have (closed on
		 * our side, or never made): RST tells it so. */
		rst_reply(d, &h);
		return;
	}
	conn_packet(d, c, &h, e);
}

static void vsock_tx_kick(struct vsock_dev *d)
{
	struct vq *vq = &d->vdev.vqs[VSOCK_DEV_TXQ];
	struct vq_elem *e;

	for (;;) {
		if (d->rst_cap - d->rst_n < VSOCK_RSTQ_TX) {
			/* Answers pile up faster than rx buffers come: leave
			 * the rest in the ring until rx drains the queue. */
			d->tx_throttled = true;
			break;
		}
		if (vq_pop(vq, &e) != 1)
			break;
		tx_packet(d, e);
		vq_push(vq, e, 0);
	}
	vsock_pump(d);
}

/* ---- event queue ---- */

static void send_transport_reset(struct vsock_dev *d)
{
	struct vq *vq = &d->vdev.vqs[VSOCK_DEV_EVQ];
	struct virtio_vsock_event ev = {
		.id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET)};
	struct vq_elem *e;

	if (!d->reset_pending || !d->running || vq_pop(vq, &e) != 1)
		return;
	if (e->wr_len < sizeof(ev)) {
		vsock_guest_log(d, "event buffer of %u bytes is too small",
				e->wr_len);
		vq_push(vq, e, 0);
		return;
	}
	iov_from_buf(e->wr_iov, e->wr_num, 0, &ev, sizeof(ev));
	vq_push(vq, e, sizeof(ev));
	d->reset_pending = false;
}

/* ---- device ops ---- */

static void vsock_queue_kick(struct virtio_dev *vd, unsigned q)
{
	struct vsock_dev *d = to_vsock(vd);

	if (q == VSOCK_DEV_RXQ)
		vsock_rx_kick(d);
	else if (q == VSOCK_DEV_TXQ)
		vsock_tx_kick(d);
	else
		send_transport_reset(d);
}

static void vsock_config_read(struct virtio_dev *vd, uint32_t off, void *buf,
			      uint32_t len)
{
	memcpy(buf, (const uint8_t *)&to_vsock(vd)->config + off, len);
}

static void set_running(struct vsock_dev *d, bool on)
{
	if (on == d->running)
		return;
	d->running = on;
	if (!on) {
		loop_remove(&d->lsrc);
		loop_remove(&d->seq_lsrc);
		return;
	}
	if (d->vdev.loop && loop_add(d->vdev.loop, &d->lsrc, EPOLLIN))
		log_err("%s: cannot poll the listener at %s", d->name, d->uds);
	if (d->vdev.loop && loop_add(d->vdev.loop, &d->seq_lsrc, EPOLLIN))
		log_err("%s: cannot poll the listener at %s", d->name,
			d->uds_seq);
}

static void vsock_queue_started(struct virtio_dev *vd, unsigned q)
{
	struct vsock_dev *d = to_vsock(vd);

	(void)q;
	set_running(d, virtio_dev_queue_is_started(vd, VSOCK_DEV_RXQ) &&
			       virtio_dev_queue_is_started(vd, VSOCK_DEV_TXQ));
	if (d->reset_pending && d->running &&
	    virtio_dev_queue_is_started(vd, VSOCK_DEV_EVQ))
		virtio_dev_kick(vd, VSOCK_DEV_EVQ);
}

/* Everything the device holds for the guest goes, connections included. */
static void drop_all(struct vsock_dev *d)
{
	if (d->nopen)
		d->reset_pending = true;
	vsock_conn_close_all(d);
	d->rst_n = 0;
	d->rst_head = 0;
	d->tx_throttled = false;
	set_running(d, false);
}

static void vsock_queue_stopping(struct virtio_dev *vd, unsigned q)
{
	struct vsock_dev *d = to_vsock(vd);

	/* The spare rx buffer is forgotten, never written: on a broken
	 * queue its memory may be gone, and vq_stop drops it either way. */
	if (q == VSOCK_DEV_RXQ)
		d->spare = NULL;
	if (q != VSOCK_DEV_EVQ)
		drop_all(d);
}

static void vsock_reset(struct virtio_dev *vd)
{
	struct vsock_dev *d = to_vsock(vd);

	d->spare = NULL;
	drop_all(d);
	/* The driver starts over: it has no connections to be told of. */
	d->reset_pending = false;
}

const struct virtio_dev_ops vsock_dev_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.features = SEQ_FEATURE,
	.num_queues = 3,
	.queue_max = VSOCK_DEV_QUEUE_MAX,
	/* rx buffers wait for host data, event buffers for a reset. */
	.held_queues = 1u << VSOCK_DEV_RXQ | 1u << VSOCK_DEV_EVQ,
	.config_size = sizeof(struct virtio_vsock_config),
	.config_read = vsock_config_read,
	.queue_started = vsock_queue_started,
	.queue_stopping = vsock_queue_stopping,
	.queue_kick = vsock_queue_kick,
	.reset = vsock_reset,
};

/* ---- creation ---- */

/* The SEQPACKET listener path of a device: uds_seq, or derived from uds. */
static int seq_path(char *out, size_t size, const char *uds,
		    const char *uds_seq)
{
	int n = uds_seq ? snprintf(out, size, "%s", uds_seq)
			: snprintf(out, size, "%s%s", uds,
				   VSOCK_DEV_SEQ_SUFFIX);

	return n > 0 && (size_t)n < size ? 0 : -EINVAL;
}

static int check_params(const struct vsock_dev_params *p)
{
	char seq[sizeof(((struct vsock_dev *)0)->uds_seq)];

	/* uds leaves room for "_<port>" (11 bytes) in sun_path. */
	if (p->cid < VSOCK_DEV_CID_MIN || p->cid >= 0xffffffffull || !p->uds ||
	    strlen(p->uds) + 11 >= sizeof(((struct vsock_dev *)0)->uds) ||
	    seq_path(seq, sizeof(seq), p->uds, p->uds_seq) ||
	    !strcmp(seq, p->uds) || p->max_conns > VSOCK_DEV_CONNS_MAX ||
	    (p->buf_size && (p->buf_size < VSOCK_DEV_BUF_MIN ||
			     p->buf_size > VSOCK_DEV_BUF_MAX)) ||
	    p->nsiblings > VSOCK_DEV_SIBLINGS_MAX)
		return -EINVAL;
	return 0;
}

static int copy_siblings(struct vsock_dev *d, const struct vsock_dev_params *p)
{
	d->sib = calloc(p->nsiblings ? p->nsiblings : 1, sizeof(*d->sib));
	if (!d->sib)
		return -ENOMEM;
	for (unsigned i = 0; i < p->nsiblings; i++) {
		const struct vsock_sibling *s = &p->siblings[i];
		char seq[sizeof(d->uds_seq)];

		if (seq_path(seq, sizeof(seq), s->uds, s->uds_seq))
			return -EINVAL;
		d->sib[i].cid = s->cid;
		d->sib[i].uds = strdup(s->uds);
		d->sib[i].uds_seq = strdup(seq);
		d->nsib++;
		if (!d->sib[i].uds || !d->sib[i].uds_seq)
			return -ENOMEM;
	}
	return 0;
}

static void free_siblings(struct vsock_dev *d)
{
	for (unsigned i = 0; d->sib && i < d->nsib; i++) {
		free((char *)d->sib[i].uds);
		free((char *)d->sib[i].uds_seq);
	}
	free(d->sib);
}

int vsock_dev_create(struct vsock_dev **out, const struct vsock_dev_params *p,
		     uint64_t extra_features)
{
	struct vsock_dev *d;
	int ret = check_params(p);

	if (ret)
		return ret;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->listen_fd = d->seq_listen_fd = -1;
	snprintf(d->name, sizeof(d->name), "%s", p->name ? p->name : "vsock");
	log_ratelimit_init(&d->log_rl, d->name);
	snprintf(d->uds, sizeof(d->uds), "%s", p->uds);
	seq_path(d->uds_seq, sizeof(d->uds_seq), p->uds, p->uds_seq);
	d->cid = p->cid;
	d->config.guest_cid = htole64(p->cid);
	d->max_conns = p->max_conns ? p->max_conns : VSOCK_DEV_CONNS_DEFAULT;
	d->buf_size = p->buf_size ? p->buf_size : VSOCK_DEV_BUF_DEFAULT;
	d->next_port = VSOCK_DEV_HOST_PORT_FIRST;
	d->rst_cap = d->max_conns + 2 * VSOCK_RSTQ_TX;
	d->conns = calloc(d->max_conns, sizeof(*d->conns));
	d->rstq = calloc(d->rst_cap, sizeof(*d->rstq));
	ret = d->conns && d->rstq ? copy_siblings(d, p) : -ENOMEM;
	if (ret)
		goto err_free;
	ret = virtio_dev_init(&d->vdev, &vsock_dev_ops, extra_features);
	if (ret)
		goto err_free;
	d->listen_fd = vsock_host_listen(d->uds, SOCK_STREAM);
	if (d->listen_fd < 0) {
		ret = d->listen_fd;
		goto err_dev;
	}
	d->seq_listen_fd = vsock_host_listen(d->uds_seq, SOCK_SEQPACKET);
	if (d->seq_listen_fd < 0) {
		ret = d->seq_listen_fd;
		goto err_listen;
	}
	loop_source_init(&d->lsrc, d->listen_fd, vsock_listener_ready);
	loop_source_init(&d->seq_lsrc, d->seq_listen_fd,
			 vsock_seq_listener_ready);
	for (unsigned i = 0; i < d->max_conns; i++)
		d->conns[i].dev = d;
	*out = d;
	return 0;

err_listen:
	close(d->listen_fd);
	unlink(d->uds);
err_dev:
	virtio_dev_destroy(&d->vdev);
err_free:
	log_ratelimit_fini(&d->log_rl);
	free_siblings(d);
	free(d->rstq);
	free(d->conns);
	free(d);
	return ret;
}

void vsock_dev_destroy(struct vsock_dev *d)
{
	if (!d)
		return;
	vsock_conn_close_all(d);
	loop_remove(&d->lsrc);
	loop_remove(&d->seq_lsrc);
	close(d->listen_fd);
	close(d->seq_listen_fd);
	unlink(d->uds);
	unlink(d->uds_seq);
	virtio_dev_destroy(&d->vdev);
	free_siblings(d);
	log_ratelimit_fini(&d->log_rl);
	free(d->rstq);
	free(d->conns);
	free(d);
}

struct virtio_dev *vsock_dev_virtio(struct vsock_dev *d)
{
	return &d->vdev;
}

unsigned vsock_dev_conn_count(const struct vsock_dev *d)
{
	return d->nopen;
}

void vsock_dev_get_stats(const struct vsock_dev *d, struct vsock_dev_stats *out)
{
	*out = d->stats;
}
