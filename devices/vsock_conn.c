// SPDX-License-Identifier: MIT
/*
 * virtio-vsock device model, connection side: one host unix socket per
 * connection, polled on the device's data-path loop; credit, half-close
 * and the hybrid-vsock handshakes. See vsock.h.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "iov.h"
#include "vsock_int.h"

/* ---- the table ---- */

struct conn *vsock_conn_find(struct vsock_dev *d, uint32_t gport, uint64_t pcid,
			     uint32_t pport)
{
	for (unsigned i = 0; i < d->max_conns; i++) {
		struct conn *c = &d->conns[i];

		if (c->state != CONN_FREE && c->state != CONN_HELLO &&
		    c->gport == gport && c->pcid == pcid && c->pport == pport)
			return c;
	}
	return NULL;
}

static void conn_ready(struct loop_source *s, uint32_t events);

struct conn *vsock_conn_alloc(struct vsock_dev *d, int fd, uint16_t type)
{
	bool seq = type == VIRTIO_VSOCK_TYPE_SEQPACKET;
	uint8_t *hbuf, *sbuf;

	for (unsigned i = 0; i < d->max_conns; i++) {
		struct conn *c = &d->conns[i];

		if (c->state != CONN_FREE)
			continue;
		/* Buffers per connection, never per packet. */
		hbuf = malloc(d->buf_size);
		sbuf = seq ? malloc(d->buf_size) : NULL;
		/* Credentials come with every SEQPACKET message, an empty
		 * one too, and never with EOF: that tells them apart. */
		if (!hbuf || (seq && !sbuf) ||
		    (seq && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &(int){1},
				       sizeof(int)))) {
			free(hbuf);
			free(sbuf);
			return NULL;
		}
		memset(&c->state, 0, sizeof(*c) - offsetof(struct conn, state));
		c->hbuf = hbuf;
		c->sbuf = sbuf;
		c->type = type;
		c->state = CONN_HELLO;
		loop_source_init(&c->src, fd, conn_ready);
		d->nopen++;
		return c;
	}
	return NULL;
}

void vsock_conn_free(struct vsock_dev *d, struct conn *c)
{
	struct conn **pp = &d->work_head, *prev = NULL;

	if (c->listed) {
		while (*pp != c) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		*pp = c->next;
		if (d->work_tail == c)
			d->work_tail = prev;
	}
	loop_remove(&c->src);
	if (c->src.fd >= 0)
		close(c->src.fd);
	free(c->hbuf);
	free(c->sbuf);
	c->hbuf = c->sbuf = NULL;
	c->state = CONN_FREE;
	c->listed = false;
	c->next = NULL;
	c->src.fd = -1;
	d->nopen--;
}

void vsock_hdr_fill(const struct conn *c, struct virtio_vsock_hdr *h,
		    uint16_t op, uint32_t len, uint32_t flags)
{
	const struct vsock_dev *d = c->dev;

	*h = (struct virtio_vsock_hdr){
		.src_cid = htole64(c->pcid),
		.dst_cid = htole64(d->cid),
		.src_port = htole32(c->pport),
		.dst_port = htole32(c->gport),
		.len = htole32(len),
		.type = htole16(c->type),
		.op = htole16(op),
		.flags = htole32(flags),
		.buf_alloc = htole32(d->buf_size),
		.fwd_cnt = htole32(c->fwd_cnt),
	};
}

void vsock_conn_reset(struct vsock_dev *d, struct conn *c, const char *why)
{
	struct virtio_vsock_hdr h;

	if (why)
		vsock_guest_log(d, "connection %u <-> %llu:%u reset: %s",
				c->gport, (unsigned long long)c->pcid, c->pport,
				why);
	if (c->state != CONN_HELLO) {
		vsock_hdr_fill(c, &h, VIRTIO_VSOCK_OP_RST, 0, 0);
		vsock_rst_queue(d, &h);
	}
	vsock_conn_free(d, c);
}

void vsock_conn_close_all(struct vsock_dev *d)
{
	for (unsigned i = 0; i < d->max_conns; i++)
		if (d->conns[i].state != CONN_FREE)
			vsock_conn_free(d, &d->conns[i]);
	d->work_head = d->work_tail = NULL;
}

bool vsock_conn_has_work(const struct conn *c)
{
	if (c->state == CONN_FREE)
		return false;
	if (c->pend & ~PEND_SHUTDOWN)
		return true;
	if (c->state != CONN_OPEN)
		return false;
	if ((c->readable || c->soff < c->slen) && vsock_peer_credit(c))
		return true;
	/* SHUTDOWN follows the data still to be delivered. */
	return (c->pend & PEND_SHUTDOWN) && !c->readable && c->soff >= c->slen;
}

void vsock_conn_list(struct conn *c)
{
	struct vsock_dev *d = c->dev;

	if (c->state == CONN_OPEN && c->readable && !vsock_peer_credit(c) &&
	    !c->credit_asked) {
		/* Stalled on the guest's credit: ask once for an update. */
		c->credit_asked = true;
		c->pend |= PEND_CREDIT_REQ;
	}
	if (c->listed || !vsock_conn_has_work(c))
		return;
	c->listed = true;
	c->next = NULL;
	if (d->work_tail)
		d->work_tail->next = c;
	else
		d->work_head = c;
	d->work_tail = c;
}

/* Bytes the socket could take now: a SEQPACKET message goes out whole,
 * so its fragments before EOM do not count. */
static bool out_pending(const struct conn *c)
{
	return c->type == VIRTIO_VSOCK_TYPE_SEQPACKET ? c->nmsg > 0
						      : c->hlen > 0;
}

/* Poll for what the connection can use: data to read only while it is
 * not known readable, room to write only while bytes wait. */
void vsock_conn_arm(struct conn *c)
{
	uint32_t ev = 0;

	if (c->state == CONN_HELLO || c->state == CONN_SIB_WAIT)
		ev = EPOLLIN;
	else if (c->state == CONN_OPEN) {
		if (!c->readable && !c->host_eof && !c->guest_shut_rcv)
			ev |= EPOLLIN;
		if (out_pending(c))
			ev |= EPOLLOUT;
	}
	if (ev == c->armed && loop_source_is_added(&c->src))
		return;
	c->armed = ev;
	if (!loop_source_is_added(&c->src)) {
		if (c->dev->vdev.loop)
			loop_add(c->dev->vdev.loop, &c->src, ev);
	} else {
		loop_modify(&c->src, ev);
	}
}

/* Both directions are done: the final RST. */
void vsock_conn_check_close(struct conn *c)
{
	bool g2h = c->guest_shut_send && !out_pending(c);
	bool h2g = c->host_eof || c->guest_shut_rcv;

	if (c->state != CONN_OPEN)
		return;
	if (g2h && !c->wr_shut) {
		shutdown(c->src.fd, SHUT_WR);
		c->wr_shut = true;
	}
	if (g2h && h2g && !(c->pend & PEND_SHUTDOWN))
		vsock_conn_reset(c->dev, c, NULL);
}

/* ---- guest -> host ---- */

/* writev without SIGPIPE: a closed peer is -EPIPE, whatever the process's
 * signal dispositions. */
static ssize_t send_iov(int fd, struct iovec *v, unsigned n)
{
	struct msghdr m = {.msg_iov = v, .msg_iovlen = n};

	return sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void credit_check(struct conn *c)
{
	uint32_t unsent = c->fwd_cnt - c->fwd_sent;

	if (unsent >= c->dev->buf_size / 4)
		c->pend |= PEND_CREDIT_UPDATE;
}

static void took(struct conn *c, uint32_t n)
{
	c->fwd_cnt += n;
	c->dev->stats.bytes_to_host += n;
	credit_check(c);
}

/* Write what waits in hbuf. Returns 0 or -errno (the socket failed). */
static int flush_stream(struct conn *c)
{
	uint32_t size = c->dev->buf_size;

	while (c->hlen) {
		uint32_t first =
			size - c->hhead < c->hlen ? size - c->hhead : c->hlen;
		struct iovec v[2] = {
			{c->hbuf + c->hhead, first},
			{c->hbuf, c->hlen - first},
		};
		ssize_t n = send_iov(c->src.fd, v, v[1].iov_len ? 2 : 1);

		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->hhead = (uint32_t)((c->hhead + (uint32_t)n) % size);
		c->hlen -= (uint32_t)n;
		took(c, (uint32_t)n);
	}
	c->hhead = 0;
	return 0;
}

static int flush_seq(struct conn *c)
{
	while (c->nmsg) {
		uint32_t len = c->msg_end[0];
		uint8_t flags = c->msg_eor[0] ? VSOCK_FRAME_EOR : 0;
		struct iovec v[2] = {{&flags, 1}, {c->hbuf, len}};
		/* AF_UNIX ignores MSG_EOR; a sibling gets it in the frame. */
		struct msghdr m = {.msg_iov = c->framed ? v : v + 1,
				   .msg_iovlen = c->framed ? 2 : 1};
		ssize_t n = sendmsg(c->src.fd, &m,
				    MSG_DONTWAIT | MSG_NOSIGNAL |
					    (c->msg_eor[0] ? MSG_EOR : 0));

		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		memmove(c->hbuf, c->hbuf + len, c->hlen - len);
		c->hlen -= len;
		c->nmsg--;
		for (unsigned i = 0; i < c->nmsg; i++) {
			c->msg_end[i] = c->msg_end[i + 1] - len;
			c->msg_eor[i] = c->msg_eor[i + 1];
		}
		took(c, len);
	}
	return 0;
}

static void flush(struct conn *c)
{
	int ret = c->type == VIRTIO_VSOCK_TYPE_SEQPACKET ? flush_seq(c)
							 : flush_stream(c);

	if (ret) {
		vsock_conn_reset(c->dev, c, NULL);
		return;
	}
	vsock_conn_check_close(c);
}

void vsock_guest_rw(struct conn *c, const struct vq_elem *e, uint32_t len,
		    uint32_t flags)
{
	struct vsock_dev *d = c->dev;
	uint32_t size = d->buf_size, off = 0;
	bool seq = c->type == VIRTIO_VSOCK_TYPE_SEQPACKET;

	if (len > size - c->hlen) {
		vsock_conn_reset(d, c, "the guest sent beyond its credit");
		return;
	}
	if (seq && (flags & VIRTIO_VSOCK_SEQ_EOM) && c->nmsg == VSOCK_SEQ_MSGS)
		return vsock_conn_reset(d, c, "too many messages waiting");
	if (!seq && c->hlen && flush_stream(c))
		return vsock_conn_reset(d, c, NULL);
	if (!seq && !c->hlen && len) {
		/* The common case: straight from guest memory. */
		struct iovec v[VQ_IOV_MAX];
		unsigned nv = iov_slice(e->rd_iov, e->rd_num, VSOCK_HDR_LEN,
					len, v, VQ_IOV_MAX);
		ssize_t n = send_iov(c->src.fd, v, nv);

		if (n < 0 && errno != EAGAIN)
			return vsock_conn_reset(d, c, NULL);
		off = n > 0 ? (uint32_t)n : 0;
		took(c, off);
	}
	if (off < len) {
		uint32_t tail = (c->hhead + c->hlen) % size;
		uint32_t first =
			len - off < size - tail ? len - off : size - tail;

		iov_to_buf(e->rd_iov, e->rd_num, VSOCK_HDR_LEN + off,
			   c->hbuf + tail, first);
		iov_to_buf(e->rd_iov, e->rd_num, VSOCK_HDR_LEN + off + first,
			   c->hbuf, len - off - first);
		c->hlen += len - off;
	}
	if (seq && (flags & VIRTIO_VSOCK_SEQ_EOM)) {
		c->msg_end[c->nmsg] = c->hlen;
		c->msg_eor[c->nmsg] = !!(flags & VIRTIO_VSOCK_SEQ_EOR);
		c->nmsg++;
		flush(c);
	}
}

void vsock_guest_shutdown(struct conn *c, uint32_t flags)
{
	if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND) {
		c->guest_shut_send = true;
		/* A message without its EOM never will have one. */
		if (c->type == VIRTIO_VSOCK_TYPE_SEQPACKET)
			c->hlen = c->nmsg ? c->msg_end[c->nmsg - 1] : 0;
	}
	if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV) {
		c->guest_shut_rcv = true;
		c->readable = false;
		c->slen = c->soff = 0;
	}
	vsock_conn_check_close(c);
}

/* ---- host -> guest ---- */

/* Read into rx buffer e after the header; bytes, 0 at EOF, or -errno. */
static ssize_t read_stream(struct conn *c, struct vq_elem *e, uint32_t max)
{
	struct iovec v[VQ_IOV_MAX];
	unsigned nv = iov_slice(e->wr_iov, e->wr_num, VSOCK_HDR_LEN, max, v,
				VQ_IOV_MAX);
	ssize_t n = readv(c->src.fd, v, nv);

	return n < 0 ? -errno : n;
}

/* Did recvmsg get a message (credentials), not EOF? Closes any fds the
 * peer passed. */
static bool got_message(struct msghdr *m)
{
	bool creds = false;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm;
	     cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS)
			creds = true;
		if (cm->cmsg_type == SCM_RIGHTS)
			for (size_t i = 0;
			     i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			     i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(fd));
				close(fd);
			}
	}
	return creds;
}

/* A new host message into sbuf: 1 (c->slen bytes, maybe 0), 0 at EOF, or
 * -errno. */
static ssize_t read_seq(struct conn *c)
{
	uint8_t flags = 0;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred)) +
		       CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec v[2] = {{&flags, 1}, {c->sbuf, c->dev->buf_size}};
	struct msghdr m = {.msg_iov = c->framed ? v : v + 1,
			   .msg_iovlen = c->framed ? 2 : 1,
			   .msg_control = &ctl,
			   .msg_controllen = sizeof(ctl)};
	ssize_t n = recvmsg(c->src.fd, &m,
			    MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return -errno;
	if (!got_message(&m))
		return 0;
	if (c->framed) {
		/* Our own sibling sent it: a frame without its byte is
		 * not one, treat it as empty. */
		c->s_eor = n > 0 && (flags & VSOCK_FRAME_EOR);
		n = n > 0 ? n - 1 : 0;
	}
	if ((size_t)n > c->dev->buf_size) {
		vsock_guest_log(c->dev,
				"host message of %zd bytes cut to "
				"buf_size %u",
				n, c->dev->buf_size);
		n = c->dev->buf_size;
	}
	c->slen = (uint32_t)n;
	c->soff = 0;
	return 1;
}

static uint32_t produce_data(struct conn *c, struct vq_elem *e)
{
	uint32_t room = e->wr_len - VSOCK_HDR_LEN,
		 credit = vsock_peer_credit(c);
	uint32_t max = room < credit ? room : credit, flags = 0;
	struct virtio_vsock_hdr h;
	ssize_t n;

	if (!max)
		return 0;
	if (c->type == VIRTIO_VSOCK_TYPE_SEQPACKET) {
		if (c->soff >= c->slen) {
			n = read_seq(c);
			if (n <= 0)
				goto end;
		}
		n = c->slen - c->soff < max ? c->slen - c->soff : max;
		iov_from_buf(e->wr_iov, e->wr_num, VSOCK_HDR_LEN,
			     c->sbuf + c->soff, (size_t)n);
		c->soff += (uint32_t)n;
		/* An empty message is one packet: len 0 with EOM (Linux
		 * gives the reader a 0-byte message). */
		if (c->soff == c->slen)
			flags = VIRTIO_VSOCK_SEQ_EOM |
				(c->s_eor ? VIRTIO_VSOCK_SEQ_EOR : 0);
	} else {
		n = read_stream(c, e, max);
		if (n <= 0)
			goto end;
	}
	c->tx_cnt += (uint32_t)n;
	c->dev->stats.bytes_to_guest += (uint64_t)n;
	vsock_hdr_fill(c, &h, VIRTIO_VSOCK_OP_RW, (uint32_t)n, flags);
	iov_from_buf(e->wr_iov, e->wr_num, 0, &h, VSOCK_HDR_LEN);
	return VSOCK_HDR_LEN + (uint32_t)n;
end:
	c->readable = false;
	if (n == -EAGAIN) {
		vsock_conn_arm(c);
		return 0;
	}
	if (n < 0) {
		vsock_conn_reset(c->dev, c, NULL);
		return 0;
	}
	c->host_eof = true;
	c->pend |= PEND_SHUTDOWN;
	c->shut_flags = VIRTIO_VSOCK_SHUTDOWN_SEND |
			(c->host_hup ? VIRTIO_VSOCK_SHUTDOWN_RCV : 0);
	return 0;
}

static uint32_t ctl(struct conn *c, struct vq_elem *e, uint32_t bit,
		    uint16_t op, uint32_t flags)
{
	struct virtio_vsock_hdr h;

	c->pend &= ~bit;
	vsock_hdr_fill(c, &h, op, 0, flags);
	iov_from_buf(e->wr_iov, e->wr_num, 0, &h, VSOCK_HDR_LEN);
	return VSOCK_HDR_LEN;
}

uint32_t vsock_conn_produce(struct conn *c, struct vq_elem *e)
{
	uint32_t n = 0;

	if (c->pend & PEND_REQUEST)
		n = ctl(c, e, PEND_REQUEST, VIRTIO_VSOCK_OP_REQUEST, 0);
	else if (c->pend & PEND_RESPONSE)
		n = ctl(c, e, PEND_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE, 0);
	else if (c->pend & PEND_CREDIT_REQ)
		n = ctl(c, e, PEND_CREDIT_REQ, VIRTIO_VSOCK_OP_CREDIT_REQUEST,
			0);
	else if (c->pend & PEND_CREDIT_UPDATE)
		n = ctl(c, e, PEND_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_UPDATE,
			0);
	else if (c->state == CONN_OPEN && (c->readable || c->soff < c->slen))
		n = produce_data(c, e);
	if (!n && c->state == CONN_OPEN && (c->pend & PEND_SHUTDOWN) &&
	    !c->readable && c->soff >= c->slen) {
		n = ctl(c, e, PEND_SHUTDOWN, VIRTIO_VSOCK_OP_SHUTDOWN,
			c->shut_flags);
		vsock_conn_check_close(c);
	}
	if (n && c->state != CONN_FREE) {
		/* Every packet carries our credit. */
		c->fwd_sent = c->fwd_cnt;
		c->pend &= ~PEND_CREDIT_UPDATE;
	}
	return n;
}

static void conn_ready(struct loop_source *s, uint32_t events)
{
	struct conn *c = container_of(s, struct conn, src);
	struct vsock_dev *d = c->dev;

	if (c->state == CONN_HELLO)
		vsock_conn_hello(c);
	else if (c->state == CONN_SIB_WAIT)
		vsock_conn_sib_ok(c);
	else if (c->state == CONN_OPEN) {
		if (events & EPOLLHUP)
			c->host_hup = true;
		if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
		    !c->guest_shut_rcv && !c->host_eof)
			c->readable = true;
		if (events & (EPOLLOUT | EPOLLERR) && out_pending(c))
			flush(c);
		if (c->state == CONN_OPEN) {
			vsock_conn_arm(c);
			vsock_conn_list(c);
		}
	}
	vsock_pump(d);
}
