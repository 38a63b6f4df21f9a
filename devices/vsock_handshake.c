// SPDX-License-Identifier: MIT
/*
 * virtio-vsock device model, handshakes: the guest's REQUESTs to the host
 * and to siblings, the host's CONNECT lines on the listener, and the OK
 * lines back. See vsock.h for the protocol.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsock_int.h"

#define ACCEPTS_PER_WAKE 16

/* ---- handshakes ---- */

/* Is cid a sibling? Its listener for type goes to *uds when asked. */
static bool sibling(const struct vsock_dev *d, uint64_t cid, uint16_t type,
		    const char **uds)
{
	for (unsigned i = 0; i < d->nsib; i++)
		if (d->sib[i].cid == cid) {
			if (uds)
				*uds = type == VIRTIO_VSOCK_TYPE_SEQPACKET
					       ? d->sib[i].uds_seq
					       : d->sib[i].uds;
			return true;
		}
	return false;
}

static void refuse(struct vsock_dev *d, const struct virtio_vsock_hdr *h,
		   const char *why, int err)
{
	struct virtio_vsock_hdr r = {
		.src_cid = h->dst_cid,
		.dst_cid = htole64(d->cid),
		.src_port = h->dst_port,
		.dst_port = h->src_port,
		.type = h->type,
		.op = htole16(VIRTIO_VSOCK_OP_RST),
	};

	d->stats.refused++;
	vsock_guest_log(d, "connection from port %u to %llu:%u refused: %s%s%s",
			le32toh(h->src_port),
			(unsigned long long)le64toh(h->dst_cid),
			le32toh(h->dst_port), why, err ? ": " : "",
			err ? strerror(err) : "");
	vsock_rst_queue(d, &r);
}

void vsock_guest_connect(struct vsock_dev *d, const struct virtio_vsock_hdr *h)
{
	uint64_t cid = le64toh(h->dst_cid);
	uint32_t port = le32toh(h->dst_port);
	uint16_t type = le16toh(h->type);
	const char *uds = NULL;
	char path[160], line[VSOCK_HOST_LINE_MAX];
	struct conn *c;
	int fd, len;

	if (cid == VSOCK_CID_HOST) {
		snprintf(path, sizeof(path), "%s_%" PRIu32, d->uds, port);
		uds = path;
	} else if (!sibling(d, cid, type, &uds)) {
		return refuse(d, h, "no such CID in the guest's group", 0);
	}
	if (d->nopen >= d->max_conns)
		return refuse(d, h, "max_conns reached", 0);
	fd = vsock_host_connect(uds, type == VIRTIO_VSOCK_TYPE_SEQPACKET
					     ? SOCK_SEQPACKET
					     : SOCK_STREAM);
	if (fd < 0)
		return refuse(d, h, uds, -fd);
	c = vsock_conn_alloc(d, fd, type);
	if (!c) {
		close(fd);
		return refuse(d, h, "out of memory", 0);
	}
	c->gport = le32toh(h->src_port);
	c->pcid = cid;
	c->pport = port;
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	d->stats.conns_guest++;
	if (cid == VSOCK_CID_HOST) {
		c->state = CONN_OPEN;
		c->pend = PEND_RESPONSE;
	} else {
		len = snprintf(line, sizeof(line),
			       "CONNECT %" PRIu32 " FROM %llu %" PRIu32 "\n",
			       port, (unsigned long long)d->cid, c->gport);
		c->framed = type == VIRTIO_VSOCK_TYPE_SEQPACKET;
		/* A fresh unix socket always has room for one line (one
		 * message on SEQPACKET). */
		if (send(fd, line, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) !=
		    len) {
			vsock_conn_free(d, c);
			return refuse(d, h, "the sibling did not take the line",
				      0);
		}
		c->state = CONN_SIB_WAIT;
	}
	vsock_conn_arm(c);
	vsock_conn_list(c);
}

void vsock_guest_response(struct conn *c)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "OK %" PRIu32 "\n", c->pport);

	if (send(c->src.fd, line, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    len)
		return vsock_conn_reset(c->dev, c, NULL);
	c->state = CONN_OPEN;
}

/* SEQPACKET: the line is one whole message. */
static int read_line_seq(struct conn *c)
{
	ssize_t n = recv(c->src.fd, c->line, sizeof(c->line) - 1,
			 MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET; /* EOF, or an empty message: no line */
	if (n > (ssize_t)sizeof(c->line) - 1 ||
	    vsock_host_line_len(c->line, (size_t)n) != n)
		return -EINVAL;
	c->line[n - 1] = '\0';
	return 1;
}

/* Read one line without taking any byte past it. 1 got it, 0 not yet,
 * -errno (EOF: -ECONNRESET, no line: -EINVAL). */
static int read_line(struct conn *c)
{
	if (c->type == VIRTIO_VSOCK_TYPE_SEQPACKET)
		return read_line_seq(c);
	ssize_t n = recv(c->src.fd, c->line, sizeof(c->line) - 1,
			 MSG_PEEK | MSG_DONTWAIT);
	int len;

	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	len = vsock_host_line_len(c->line, (size_t)n);
	if (len <= 0)
		return len == 0 && n < (ssize_t)sizeof(c->line) - 1 ? 0
								    : -EINVAL;
	if (recv(c->src.fd, c->line, (size_t)len,
		 MSG_DONTWAIT | MSG_NOSIGNAL) != len)
		return -EIO;
	c->line[len - 1] = '\0';
	return 1;
}

static uint32_t host_port(struct vsock_dev *d)
{
	for (;;) {
		uint32_t p = d->next_port++;

		if (d->next_port == 0)
			d->next_port = VSOCK_DEV_HOST_PORT_FIRST;
		bool used = false;

		for (unsigned i = 0; i < d->max_conns; i++)
			used |= d->conns[i].state != CONN_FREE &&
				d->conns[i].pcid == VSOCK_CID_HOST &&
				d->conns[i].pport == p;
		if (!used)
			return p;
	}
}

void vsock_conn_hello(struct conn *c)
{
	struct vsock_dev *d = c->dev;
	uint64_t from = 0;
	uint32_t port, fport;
	int ret = read_line(c);

	if (ret == 0)
		return;
	if (ret < 0 ||
	    vsock_host_parse_connect(c->line, &port, &from, &fport)) {
		log_msg_ratelimited(&d->log_rl, LOG_LEVEL_WARN,
				    "%s: host connection closed: %s", d->name,
				    ret < 0 ? "no CONNECT line"
					    : "not a CONNECT line");
		return vsock_conn_free(d, c);
	}
	if (c->type == VIRTIO_VSOCK_TYPE_SEQPACKET &&
	    !(d->vdev.features & (1ull << VIRTIO_VSOCK_F_SEQPACKET))) {
		log_msg_ratelimited(&d->log_rl, LOG_LEVEL_WARN,
				    "%s: SEQPACKET connection closed: the "
				    "guest's driver did not accept "
				    "VIRTIO_VSOCK_F_SEQPACKET",
				    d->name);
		return vsock_conn_free(d, c);
	}
	if (from && (!sibling(d, from, c->type, NULL) ||
		     !vsock_host_peer_is_self(c->src.fd))) {
		log_msg_ratelimited(&d->log_rl, LOG_LEVEL_WARN,
				    "%s: connection from CID %llu refused: not "
				    "a sibling of this guest",
				    d->name, (unsigned long long)from);
		return vsock_conn_free(d, c);
	}
	c->gport = port;
	c->framed = from && c->type == VIRTIO_VSOCK_TYPE_SEQPACKET;
	c->pcid = from ? from : VSOCK_CID_HOST;
	c->pport = from ? fport : host_port(d);
	if (vsock_conn_find(d, c->gport, c->pcid, c->pport))
		return vsock_conn_free(d, c); /* that connection exists */
	c->state = CONN_GUEST_WAIT;
	c->pend = PEND_REQUEST;
	d->stats.conns_host++;
	vsock_conn_arm(c);
	vsock_conn_list(c);
}

void vsock_conn_sib_ok(struct conn *c)
{
	int ret = read_line(c);

	if (ret == 0)
		return;
	if (ret < 0 || strncmp(c->line, "OK ", 3)) {
		c->dev->stats.refused++;
		return vsock_conn_reset(c->dev, c, NULL);
	}
	c->state = CONN_OPEN;
	c->pend |= PEND_RESPONSE;
	vsock_conn_arm(c);
	vsock_conn_list(c);
}

static void accept_some(struct vsock_dev *d, int lfd, uint16_t type)
{
	for (unsigned i = 0; i < ACCEPTS_PER_WAKE; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		c = d->nopen < d->max_conns ? vsock_conn_alloc(d, fd, type)
					    : NULL;
		if (!c) {
			d->stats.refused++;
			log_msg_ratelimited(&d->log_rl, LOG_LEVEL_WARN,
					    "%s: host connection refused: "
					    "max_conns (%u) reached",
					    d->name, d->max_conns);
			close(fd);
			continue;
		}
		vsock_conn_arm(c);
	}
}

void vsock_listener_ready(struct loop_source *s, uint32_t events)
{
	struct vsock_dev *d = container_of(s, struct vsock_dev, lsrc);

	(void)events;
	accept_some(d, d->listen_fd, VIRTIO_VSOCK_TYPE_STREAM);
}

void vsock_seq_listener_ready(struct loop_source *s, uint32_t events)
{
	struct vsock_dev *d = container_of(s, struct vsock_dev, seq_lsrc);

	(void)events;
	accept_some(d, d->seq_listen_fd, VIRTIO_VSOCK_TYPE_SEQPACKET);
}
