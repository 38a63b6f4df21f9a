/* SPDX-License-Identifier: MIT */
/*
 * Private to devices/vsock*.c: the device state, shared between the
 * packet side (vsock.c: queues, headers, credit) and the connection side
 * (vsock_conn.c: host sockets). Data-path thread only, or paused.
 */
#ifndef VIRTIOBOX_DEVICES_VSOCK_INT_H
#define VIRTIOBOX_DEVICES_VSOCK_INT_H

#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "loop.h"
#include "vsock.h"
#include "vsock_host.h"

#define VSOCK_HDR_LEN	((uint32_t)sizeof(struct virtio_vsock_hdr))
#define VSOCK_CID_HOST	2u
#define VSOCK_SEQ_MSGS	32u /* complete guest messages waiting for the host */
#define VSOCK_RSTQ_TX	64u /* rst queue room the tx path needs to go on */
#define VSOCK_FRAME_EOR 1u  /* framed (sibling) SEQPACKET: the flags byte */

enum conn_state {
	CONN_FREE,
	CONN_HELLO,	 /* host socket accepted: waiting for CONNECT */
	CONN_SIB_WAIT,	 /* guest asked a sibling: waiting for its OK */
	CONN_GUEST_WAIT, /* REQUEST to the guest: waiting for RESPONSE */
	CONN_OPEN,
};

/* Control packets a connection owes the guest (conn.pend bits). */
#define PEND_REQUEST	   (1u << 0)
#define PEND_RESPONSE	   (1u << 1)
#define PEND_CREDIT_UPDATE (1u << 2)
#define PEND_CREDIT_REQ	   (1u << 3)
#define PEND_SHUTDOWN	   (1u << 4)

struct conn {
	struct vsock_dev *dev;
	struct loop_source src;
	enum conn_state state;
	uint16_t type;	/* VIRTIO_VSOCK_TYPE_* */
	uint32_t gport; /* the guest's port */
	uint64_t pcid;	/* the peer: VSOCK_CID_HOST or a sibling */
	uint32_t pport;
	uint32_t armed; /* epoll events asked for */
	uint32_t pend;
	uint32_t shut_flags; /* PEND_SHUTDOWN's flags */

	/* guest -> host: bytes taken from the guest but not yet by the
	 * socket (a ring for STREAM; linear, in messages, for SEQPACKET) */
	uint8_t *hbuf;
	uint32_t hhead, hlen;
	uint32_t msg_end[VSOCK_SEQ_MSGS]; /* SEQPACKET: ends within hbuf */
	uint8_t msg_eor[VSOCK_SEQ_MSGS];
	unsigned nmsg;
	uint32_t fwd_cnt, fwd_sent; /* bytes the socket took; last told */

	/* host -> guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	uint8_t *sbuf; /* SEQPACKET: one host message being delivered */
	uint32_t slen, soff;
	bool readable; /* the socket has data (or EOF) to read */
	bool host_eof; /* read returned 0 */
	bool host_hup; /* the peer closed both directions */
	bool guest_shut_send, guest_shut_rcv;
	bool wr_shut;	   /* shutdown(SHUT_WR) done */
	bool credit_asked; /* CREDIT_REQUEST sent, no packet since */
	/* SEQPACKET to a sibling's device: a flags byte leads each message */
	bool framed;
	bool s_eor; /* the message in sbuf ends a record */

	char line[VSOCK_HOST_LINE_MAX];
	struct conn *next; /* work list */
	bool listed;
};

struct vsock_dev {
	struct virtio_dev vdev;
	char name[64];
	uint64_t cid;
	char uds[108], uds_seq[108];
	struct virtio_vsock_config config;
	uint32_t buf_size;
	unsigned max_conns;
	struct vsock_sibling *sib;
	unsigned nsib;

	int listen_fd, seq_listen_fd;
	struct loop_source lsrc, seq_lsrc;
	bool running; /* rx and tx started */
	bool reset_pending;
	bool in_rx, tx_throttled;

	struct conn *conns; /* max_conns */
	unsigned nopen;
	uint32_t next_port;
	struct conn *work_head, *work_tail;

	struct virtio_vsock_hdr *rstq; /* RSTs for no connection */
	unsigned rst_head, rst_n, rst_cap;
	struct vq_elem *spare; /* an rx buffer popped and not filled */

	struct vsock_dev_stats stats;
	struct log_ratelimit log_rl;
};

void vsock_guest_log(struct vsock_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* vsock.c: packets to the guest */
void vsock_rst_queue(struct vsock_dev *d, const struct virtio_vsock_hdr *h);
void vsock_pump(struct vsock_dev *d);
uint32_t vsock_peer_credit(const struct conn *c);

/* vsock_handshake.c */
void vsock_conn_hello(struct conn *c);
void vsock_conn_sib_ok(struct conn *c);

/* vsock_conn.c */
struct conn *vsock_conn_find(struct vsock_dev *d, uint32_t gport, uint64_t pcid,
			     uint32_t pport);
struct conn *vsock_conn_alloc(struct vsock_dev *d, int fd, uint16_t type);
void vsock_conn_free(struct vsock_dev *d, struct conn *c);
void vsock_conn_reset(struct vsock_dev *d, struct conn *c, const char *why);
void vsock_conn_close_all(struct vsock_dev *d);
void vsock_conn_list(struct conn *c);
bool vsock_conn_has_work(const struct conn *c);
void vsock_conn_arm(struct conn *c);
void vsock_conn_check_close(struct conn *c);
void vsock_guest_connect(struct vsock_dev *d, const struct virtio_vsock_hdr *h);
void vsock_guest_response(struct conn *c);
void vsock_guest_rw(struct conn *c, const struct vq_elem *e, uint32_t len,
		    uint32_t flags);
void vsock_guest_shutdown(struct conn *c, uint32_t flags);
/* Fill rx buffer e with c's next packet; bytes written or 0. */
uint32_t vsock_conn_produce(struct conn *c, struct vq_elem *e);
void vsock_listener_ready(struct loop_source *s, uint32_t events);
void vsock_seq_listener_ready(struct loop_source *s, uint32_t events);
void vsock_hdr_fill(const struct conn *c, struct virtio_vsock_hdr *h,
		    uint16_t op, uint32_t len, uint32_t flags);

#endif
