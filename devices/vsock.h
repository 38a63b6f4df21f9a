/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock device model (VIRTIO_ID_VSOCK 19): rx (0), tx (1) and
 * event (2) queues, config {le64 guest_cid}, STREAM and, with
 * VIRTIO_VSOCK_F_SEQPACKET, SEQPACKET sockets. Constants come from
 * <linux/virtio_vsock.h>, which has every one the model needs
 * (VIRTIO_VSOCK_F_SEQPACKET, VIRTIO_VSOCK_SEQ_EOM and _EOR included).
 *
 * Host side: hybrid vsock over unix sockets (vsock_host.h), compatible
 * with Firecracker and vhost-device-vsock:
 *   - a host program connects to the device's uds path and sends
 *     "CONNECT <port>\n"; the guest sees a REQUEST from CID 2 and a
 *     host port the device picks; when the guest accepts, the program
 *     gets "OK <host port>\n" and the socket carries the stream; when the
 *     guest refuses, the socket is closed;
 *   - the same over SOCK_SEQPACKET at the device's second listener,
 *     uds_seq (default "<uds>.seqpacket"): the CONNECT line is the first
 *     message, "OK <host port>\n" one message back, then one host message
 *     per guest message both ways; a zero-length host message is an empty
 *     guest message (SO_PASSCRED tells it from EOF);
 *   - a guest connecting to CID 2 port P reaches the listener at
 *     "<uds>_<P>" (SOCK_STREAM for STREAM, SOCK_SEQPACKET for SEQPACKET;
 *     boundaries are kept both ways: one host message per EOM);
 *   - sibling guests (same board group): a guest connecting to a sibling's
 *     CID reaches that sibling's uds (uds_seq for SEQPACKET) with
 *     "CONNECT <port> FROM <cid> <port>\n", which a device accepts only
 *     from its own process (SO_PEERCRED) and only for a CID of its group;
 *     the sibling's guest sees the caller's CID and port. Between siblings
 *     every SEQPACKET message carries one leading flags byte (EOR), since
 *     AF_UNIX does not carry MSG_EOR.
 *
 * Connections: REQUEST / RESPONSE / RST / SHUTDOWN (RCV and SEND each way:
 * half-close works in both directions, mapped to shutdown(SHUT_WR) and
 * EOF on the host socket) / RW / CREDIT_UPDATE / CREDIT_REQUEST. Credit
 * both ways: the guest may send buf_size bytes ahead of what the host
 * socket took (the rest waits in the connection's buffer, EPOLLOUT armed
 * only while it is not empty); the device reads a host socket only as far
 * as the guest's buf_alloc/fwd_cnt allow, so a slow reader on either
 * side stalls the writer through credit, never through unbounded
 * buffering.
 *
 * Receive buffers stay in the rx ring until there is something to put in
 * them; every host socket is polled on the device's data-path loop
 * (virtio_dev.loop), no thread per connection. Control packets to the
 * guest wait in a fixed queue; while it is nearly full, tx buffers stay
 * in the ring too (no packet is dropped for lack of rx buffers).
 *
 * Bad input: a packet for an unknown connection, of an unsupported type
 * or op, or malformed gets RST (never for an RST); a packet whose
 * src_cid is not the guest's CID, or whose hdr.len disagrees with its
 * buffer, is dropped with a rate-limited log line. Credit overrun by the
 * guest resets that connection. Reaching max_conns refuses new
 * connections with RST and a log line.
 *
 * Restart: when rx or tx stops with connections open, every connection is
 * closed on the host side and TRANSPORT_RESET is sent on the event queue
 * once the queues run again; a device reset closes them all too.
 */
#ifndef VIRTIOBOX_DEVICES_VSOCK_H
#define VIRTIOBOX_DEVICES_VSOCK_H

#include <stdint.h>

#include "virtio_dev.h"

#define VSOCK_DEV_QUEUE_MAX	  1024u
#define VSOCK_DEV_RXQ		  0u
#define VSOCK_DEV_TXQ		  1u
#define VSOCK_DEV_EVQ		  2u
#define VSOCK_DEV_CONNS_DEFAULT	  64u
#define VSOCK_DEV_CONNS_MAX	  4096u
#define VSOCK_DEV_BUF_DEFAULT	  (256u * 1024u)
#define VSOCK_DEV_BUF_MIN	  4096u
#define VSOCK_DEV_BUF_MAX	  (64u * 1024u * 1024u)
#define VSOCK_DEV_SIBLINGS_MAX	  64u
#define VSOCK_DEV_HOST_PORT_FIRST (1u << 30)   /* ports the device hands out */
#define VSOCK_DEV_CID_MIN	  3u	       /* 0-2 are reserved */
#define VSOCK_DEV_SEQ_SUFFIX	  ".seqpacket" /* default uds_seq: uds + it */

extern const struct virtio_dev_ops vsock_dev_ops;

struct vsock_dev;

struct vsock_sibling {
	uint64_t cid;
	const char *uds;     /* copied */
	const char *uds_seq; /* copied; NULL: uds VSOCK_DEV_SEQ_SUFFIX */
};

struct vsock_dev_params {
	const char *name; /* for log lines, e.g. "guest1/vsock0"; copied */
	uint64_t cid;	  /* >= VSOCK_DEV_CID_MIN, < 0xffffffff */
	const char *uds;  /* host listener path; copied */
	/* SOCK_SEQPACKET listener path; copied; NULL: uds
	 * VSOCK_DEV_SEQ_SUFFIX */
	const char *uds_seq;
	unsigned max_conns; /* 0: VSOCK_DEV_CONNS_DEFAULT */
	uint32_t buf_size;  /* per connection and direction; 0: default */
	/* Guests the guest may reach by CID (its group, itself excluded). */
	const struct vsock_sibling *siblings;
	unsigned nsiblings;
};

/* Counters, updated by the data-path thread. */
struct vsock_dev_stats {
	uint64_t conns_guest; /* connections the guest opened */
	uint64_t conns_host;  /* connections from the host or a sibling */
	uint64_t refused;     /* REQUESTs answered with RST */
	uint64_t rst_sent;    /* RSTs sent to the guest */
	uint64_t dropped;     /* packets dropped (wrong src_cid, bad length) */
	uint64_t malformed;   /* packets answered RST for a bad field */
	uint64_t bytes_to_host; /* payload the host sockets took */
	uint64_t bytes_to_guest;
};

/*
 * Create a device and bind its listeners at p->uds and p->uds_seq (a
 * stale socket file there is replaced; any other file is an error).
 * extra_features are ring features the transport offers. Returns 0 and sets
 * *out, -EINVAL (cid reserved, a limit out of range, uds too long for sun_path,
 * more than VSOCK_DEV_SIBLINGS_MAX siblings), -ENOMEM, or the -errno of
 * binding. Control thread.
 */
int vsock_dev_create(struct vsock_dev **out, const struct vsock_dev_params *p,
		     uint64_t extra_features);

/* Close every connection and the listeners (the socket files are removed);
 * its transport must be gone. NULL is accepted. */
void vsock_dev_destroy(struct vsock_dev *d);

/* The virtio device object to hand to a transport; lives as long as d. */
struct virtio_dev *vsock_dev_virtio(struct vsock_dev *d);

/* Open connections. Data-path thread or paused. */
unsigned vsock_dev_conn_count(const struct vsock_dev *d);

/* Copy the counters (exact from the data-path thread or paused). */
void vsock_dev_get_stats(const struct vsock_dev *d,
			 struct vsock_dev_stats *out);

#endif
