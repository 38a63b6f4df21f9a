/* SPDX-License-Identifier: MIT */
/*
 * vhost-user messages as the server handles them: received (header,
 * payload, fds), validated once against a table indexed by request, and
 * decoded into typed payloads. Used by the server (core/vhost_user*.c),
 * its unit tests and the fuzz harness; not by device models.
 *
 * Validation checks shape only: version, payload size, fd count, queue
 * index range, and the variable layouts (memory tables, config). What the
 * values mean (overlapping regions, a queue size too big) is for the
 * handlers, which answer with an error reply instead of disconnecting.
 *
 * Threading: plain functions without state of their own (a message being
 * received lives in the caller's struct vhu_msg and struct vhu_msg_rx);
 * the server calls them on its control thread.
 */
#ifndef VIRTIOBOX_CORE_VHOST_USER_MSG_H
#define VIRTIOBOX_CORE_VHOST_USER_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost_user_wire.h"

/* A memory region in host form, whichever wire form it came in. */
struct vhu_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
	bool xen; /* the XEN_MMAP form: the two fields below are valid */
	uint32_t xen_mmap_flags;
	uint32_t domid;
};

struct vhu_msg {
	struct vhu_hdr hdr;
	union {
		uint64_t u64;
		struct vhu_vring_state state;
		struct vhu_vring_addr addr;
		uint8_t bytes[VHU_PAYLOAD_MAX];
	} p;
	/* Received fds, owned by the message: vhu_msg_close_fds() closes
	 * every entry not set to -1 by the handler that took it. */
	int fds[VHU_FDS_MAX];
	unsigned nfds;

	/* Filled by vhu_msg_validate(): */
	unsigned queue;	   /* resolved queue index, when the type has one */
	bool need_reply;   /* NEED_REPLY flag set */
	unsigned nregions; /* SET_MEM_TABLE, ADD/REM_MEM_REG */
	struct vhu_mem_region regions[VHU_MEM_REGIONS_MAX];
	struct vhu_config_hdr config; /* GET/SET_CONFIG ... */
	const uint8_t *config_data;   /* ... and its bytes, inside p */
};

/* What fds a request carries. */
enum vhu_fd_rule {
	VHU_FDS_NONE,	 /* none */
	VHU_FDS_ONE,	 /* exactly one */
	VHU_FDS_MAYBE,	 /* zero or one (closed unused: REM_MEM_REG) */
	VHU_FDS_VRING,	 /* one, or none with VHU_VRING_NOFD_MASK */
	VHU_FDS_REGIONS, /* one per memory region */
	VHU_FDS_ANY,	 /* unsupported requests: whatever came is closed */
};

/* Where a request names its queue. */
enum vhu_queue_rule {
	VHU_QUEUE_NONE,
	VHU_QUEUE_STATE, /* vring state / address: u32 index first */
	VHU_QUEUE_FILE,	 /* u64: bits 0-7 index, bit 8 NOFD */
};

/* What the back-end answers. */
enum vhu_reply_rule {
	VHU_REPLY_ACK,	  /* u64 status, only when NEED_REPLY is set */
	VHU_REPLY_U64,	  /* always a u64 */
	VHU_REPLY_STATE,  /* always a vring state */
	VHU_REPLY_CONFIG, /* always config header + data (size 0: error) */
};

enum vhu_layout {
	VHU_LAYOUT_FIXED,  /* min_size..max_size is the whole rule */
	VHU_LAYOUT_MEM,	   /* memory table, region form per XEN_MMAP */
	VHU_LAYOUT_SINGLE, /* one region, form per XEN_MMAP */
	VHU_LAYOUT_CONFIG, /* config header + size bytes */
};

struct vhu_msg_type {
	const char *name;
	bool supported; /* false: refused with an error, fds closed */
	uint32_t min_size, max_size;
	enum vhu_fd_rule fds;
	enum vhu_queue_rule queue;
	enum vhu_reply_rule reply;
	enum vhu_layout layout;
};

/* Indexed by enum vhu_request; entry 0 (VHU_NONE) is unsupported. */
extern const struct vhu_msg_type vhu_msg_types[VHU_REQUEST_MAX];

/* The table entry for a request, or NULL when the number is unknown. */
const struct vhu_msg_type *vhu_msg_type(uint32_t request);

/*
 * "SET_MEM_TABLE", or "request 77" for unknown numbers (a thread-local
 * buffer, valid until the next call on the same thread).
 */
const char *vhu_msg_name(uint32_t request);

/* What validation needs to know about the connection. */
struct vhu_msg_ctx {
	unsigned num_queues;
	bool xen_mmap; /* VHU_PROTOCOL_F_XEN_MMAP negotiated */
};

/*
 * Check m against its table entry and decode its variable parts.
 * Returns 0; -EOPNOTSUPP for an unknown or unsupported request whose shape
 * is otherwise fine (refuse it, keep the connection); or -EPROTO for a
 * malformed message (close the connection). *why says what was wrong.
 * Fds are not touched.
 */
int vhu_msg_validate(struct vhu_msg *m, const struct vhu_msg_ctx *ctx,
		     const char **why);

/*
 * How far the message being assembled has come. Zeroed: a new message
 * starts with the next byte. Kept by the caller beside its struct vhu_msg.
 */
struct vhu_msg_rx {
	uint32_t got; /* header and payload bytes in the message so far */
};

/*
 * Receive what a stream socket has of the message being assembled in m,
 * without blocking (MSG_DONTWAIT; the socket may be blocking or not), and
 * never past that message's end. Header bytes, then payload bytes, then
 * fds from SCM_RIGHTS as they come with any piece. Returns:
 *   1        m is complete (fds owned by m); rx is zeroed for the next one;
 *   -EAGAIN  the socket has no more for now: call again when it is
 *            readable; what came so far stays in m and rx (fds included);
 *   0        orderly end of stream before a message's first byte;
 *   -EPROTO  payload larger than VHU_PAYLOAD_MAX (known from the header,
 *            without waiting for it), more than VHU_FDS_MAX fds, fds cut
 *            off (MSG_CTRUNC), or end of stream mid-message;
 *   -errno   the socket error.
 * On 0 and on errors no fd stays open and rx is zeroed. To drop a partial
 * message (disconnect), vhu_msg_close_fds(m) and zero rx.
 */
int vhu_msg_recv(int fd, struct vhu_msg *m, struct vhu_msg_rx *rx);

/*
 * Send a reply to request with size payload bytes (flags: version |
 * REPLY), without blocking. Returns 0; -EAGAIN when the socket buffer
 * cannot take all of it (a front-end that does not read its replies; part
 * of it may be sent, so the stream is unusable: close it); -EINVAL for a
 * size over VHU_PAYLOAD_MAX; -EPIPE when the peer is gone; or -errno.
 */
int vhu_msg_reply(int fd, uint32_t request, const void *payload, uint32_t size);

/* Close every fd of m still owned by it. */
void vhu_msg_close_fds(struct vhu_msg *m);

#endif
