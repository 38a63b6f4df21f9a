// SPDX-License-Identifier: MIT
#include "vhost_user_msg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define U64   sizeof(uint64_t)
#define STATE sizeof(struct vhu_vring_state)
#define ADDR  sizeof(struct vhu_vring_addr)
#define SINGLE_MIN \
	(sizeof(struct vhu_mem_single_hdr) + sizeof(struct vhu_region))
#define SINGLE_MAX \
	(sizeof(struct vhu_mem_single_hdr) + sizeof(struct vhu_region_xen))
#define CONFIG_MIN sizeof(struct vhu_config_hdr)
#define CONFIG_MAX (CONFIG_MIN + VHU_CONFIG_SIZE_MAX)

#define FIXED(n, size, fd_rule, queue_rule, reply_rule)                \
	{                                                              \
		.name = n, .supported = true, .min_size = size,        \
		.max_size = size, .fds = fd_rule, .queue = queue_rule, \
		.reply = reply_rule, .layout = VHU_LAYOUT_FIXED        \
	}
#define VARIABLE(n, min, max, fd_rule, reply_rule, lay)                   \
	{                                                                 \
		.name = n, .supported = true, .min_size = min,            \
		.max_size = max, .fds = fd_rule, .queue = VHU_QUEUE_NONE, \
		.reply = reply_rule, .layout = lay                        \
	}
/* Known, never offered: the front-end only sends them after negotiating a
 * protocol feature we do not offer. */
#define REFUSED(n, reply_rule)                                   \
	{                                                        \
		.name = n, .supported = false, .min_size = 0,    \
		.max_size = VHU_PAYLOAD_MAX, .fds = VHU_FDS_ANY, \
		.queue = VHU_QUEUE_NONE, .reply = reply_rule,    \
		.layout = VHU_LAYOUT_FIXED                       \
	}

const struct vhu_msg_type vhu_msg_types[VHU_REQUEST_MAX] = {
	[VHU_NONE] = REFUSED("NONE", VHU_REPLY_ACK),
	[VHU_GET_FEATURES] = FIXED("GET_FEATURES", 0, VHU_FDS_NONE,
				   VHU_QUEUE_NONE, VHU_REPLY_U64),
	[VHU_SET_FEATURES] = FIXED("SET_FEATURES", U64, VHU_FDS_NONE,
				   VHU_QUEUE_NONE, VHU_REPLY_ACK),
	[VHU_SET_OWNER] = FIXED("SET_OWNER", 0, VHU_FDS_NONE, VHU_QUEUE_NONE,
				VHU_REPLY_ACK),
	[VHU_RESET_OWNER] = FIXED("RESET_OWNER", 0, VHU_FDS_NONE,
				  VHU_QUEUE_NONE, VHU_REPLY_ACK),
	[VHU_SET_MEM_TABLE] = VARIABLE(
		"SET_MEM_TABLE", sizeof(struct vhu_mem_hdr), VHU_PAYLOAD_MAX,
		VHU_FDS_REGIONS, VHU_REPLY_ACK, VHU_LAYOUT_MEM),
	[VHU_SET_LOG_BASE] = REFUSED("SET_LOG_BASE", VHU_REPLY_ACK),
	[VHU_SET_LOG_FD] = REFUSED("SET_LOG_FD", VHU_REPLY_ACK),
	[VHU_SET_VRING_NUM] = FIXED("SET_VRING_NUM", STATE, VHU_FDS_NONE,
				    VHU_QUEUE_STATE, VHU_REPLY_ACK),
	[VHU_SET_VRING_ADDR] = FIXED("SET_VRING_ADDR", ADDR, VHU_FDS_NONE,
				     VHU_QUEUE_STATE, VHU_REPLY_ACK),
	[VHU_SET_VRING_BASE] = FIXED("SET_VRING_BASE", STATE, VHU_FDS_NONE,
				     VHU_QUEUE_STATE, VHU_REPLY_ACK),
	[VHU_GET_VRING_BASE] = FIXED("GET_VRING_BASE", STATE, VHU_FDS_NONE,
				     VHU_QUEUE_STATE, VHU_REPLY_STATE),
	[VHU_SET_VRING_KICK] = FIXED("SET_VRING_KICK", U64, VHU_FDS_VRING,
				     VHU_QUEUE_FILE, VHU_REPLY_ACK),
	[VHU_SET_VRING_CALL] = FIXED("SET_VRING_CALL", U64, VHU_FDS_VRING,
				     VHU_QUEUE_FILE, VHU_REPLY_ACK),
	[VHU_SET_VRING_ERR] = FIXED("SET_VRING_ERR", U64, VHU_FDS_VRING,
				    VHU_QUEUE_FILE, VHU_REPLY_ACK),
	[VHU_GET_PROTOCOL_FEATURES] =
		FIXED("GET_PROTOCOL_FEATURES", 0, VHU_FDS_NONE, VHU_QUEUE_NONE,
		      VHU_REPLY_U64),
	[VHU_SET_PROTOCOL_FEATURES] =
		FIXED("SET_PROTOCOL_FEATURES", U64, VHU_FDS_NONE,
		      VHU_QUEUE_NONE, VHU_REPLY_ACK),
	[VHU_GET_QUEUE_NUM] = FIXED("GET_QUEUE_NUM", 0, VHU_FDS_NONE,
				    VHU_QUEUE_NONE, VHU_REPLY_U64),
	[VHU_SET_VRING_ENABLE] = FIXED("SET_VRING_ENABLE", STATE, VHU_FDS_NONE,
				       VHU_QUEUE_STATE, VHU_REPLY_ACK),
	[VHU_SEND_RARP] = REFUSED("SEND_RARP", VHU_REPLY_ACK),
	[VHU_NET_SET_MTU] = REFUSED("NET_SET_MTU", VHU_REPLY_ACK),
	[VHU_SET_BACKEND_REQ_FD] = REFUSED("SET_BACKEND_REQ_FD", VHU_REPLY_ACK),
	[VHU_IOTLB_MSG] = REFUSED("IOTLB_MSG", VHU_REPLY_U64),
	[VHU_SET_VRING_ENDIAN] = REFUSED("SET_VRING_ENDIAN", VHU_REPLY_ACK),
	[VHU_GET_CONFIG] =
		VARIABLE("GET_CONFIG", CONFIG_MIN, CONFIG_MAX, VHU_FDS_NONE,
			 VHU_REPLY_CONFIG, VHU_LAYOUT_CONFIG),
	[VHU_SET_CONFIG] =
		VARIABLE("SET_CONFIG", CONFIG_MIN, CONFIG_MAX, VHU_FDS_NONE,
			 VHU_REPLY_ACK, VHU_LAYOUT_CONFIG),
	[VHU_CREATE_CRYPTO_SESSION] =
		REFUSED("CREATE_CRYPTO_SESSION", VHU_REPLY_ACK),
	[VHU_CLOSE_CRYPTO_SESSION] =
		REFUSED("CLOSE_CRYPTO_SESSION", VHU_REPLY_ACK),
	[VHU_POSTCOPY_ADVISE] = REFUSED("POSTCOPY_ADVISE", VHU_REPLY_ACK),
	[VHU_POSTCOPY_LISTEN] = REFUSED("POSTCOPY_LISTEN", VHU_REPLY_ACK),
	[VHU_POSTCOPY_END] = REFUSED("POSTCOPY_END", VHU_REPLY_U64),
	[VHU_GET_INFLIGHT_FD] = REFUSED("GET_INFLIGHT_FD", VHU_REPLY_ACK),
	[VHU_SET_INFLIGHT_FD] = REFUSED("SET_INFLIGHT_FD", VHU_REPLY_ACK),
	[VHU_GPU_SET_SOCKET] = REFUSED("GPU_SET_SOCKET", VHU_REPLY_ACK),
	[VHU_RESET_DEVICE] = FIXED("RESET_DEVICE", 0, VHU_FDS_NONE,
				   VHU_QUEUE_NONE, VHU_REPLY_ACK),
	[VHU_VRING_KICK] = REFUSED("VRING_KICK", VHU_REPLY_ACK),
	[VHU_GET_MAX_MEM_SLOTS] = FIXED("GET_MAX_MEM_SLOTS", 0, VHU_FDS_NONE,
					VHU_QUEUE_NONE, VHU_REPLY_U64),
	[VHU_ADD_MEM_REG] =
		VARIABLE("ADD_MEM_REG", SINGLE_MIN, SINGLE_MAX, VHU_FDS_ONE,
			 VHU_REPLY_ACK, VHU_LAYOUT_SINGLE),
	[VHU_REM_MEM_REG] =
		VARIABLE("REM_MEM_REG", SINGLE_MIN, SINGLE_MAX, VHU_FDS_MAYBE,
			 VHU_REPLY_ACK, VHU_LAYOUT_SINGLE),
	[VHU_SET_STATUS] = FIXED("SET_STATUS", U64, VHU_FDS_NONE,
				 VHU_QUEUE_NONE, VHU_REPLY_ACK),
	[VHU_GET_STATUS] = FIXED("GET_STATUS", 0, VHU_FDS_NONE, VHU_QUEUE_NONE,
				 VHU_REPLY_U64),
};

const struct vhu_msg_type *vhu_msg_type(uint32_t request)
{
	return request < VHU_REQUEST_MAX ? &vhu_msg_types[request] : NULL;
}

const char *vhu_msg_name(uint32_t request)
{
	static _Thread_local char unknown[24];

	if (request < VHU_REQUEST_MAX)
		return vhu_msg_types[request].name;
	snprintf(unknown, sizeof(unknown), "request %u", request);
	return unknown;
}

static void decode_region(struct vhu_mem_region *r, const uint8_t *p, bool xen)
{
	struct vhu_region_xen w = {0};

	memcpy(&w, p,
	       xen ? sizeof(struct vhu_region_xen) : sizeof(struct vhu_region));
	r->gpa = w.gpa;
	r->size = w.size;
	r->uva = w.uva;
	r->mmap_offset = w.mmap_offset;
	r->xen = xen;
	r->xen_mmap_flags = w.xen_mmap_flags;
	r->domid = w.domid;
}

static int decode_mem(struct vhu_msg *m, bool xen, const char **why)
{
	size_t stride =
		xen ? sizeof(struct vhu_region_xen) : sizeof(struct vhu_region);
	struct vhu_mem_hdr h;

	memcpy(&h, m->p.bytes, sizeof(h));
	if (h.nregions > VHU_MEM_REGIONS_MAX) {
		*why = "more than 8 memory regions";
		return -EPROTO;
	}
	if (m->hdr.size != sizeof(h) + h.nregions * stride) {
		*why = "payload size does not match the region count";
		return -EPROTO;
	}
	m->nregions = h.nregions;
	for (unsigned i = 0; i < h.nregions; i++)
		decode_region(&m->regions[i],
			      m->p.bytes + sizeof(h) + i * stride, xen);
	return 0;
}

static int decode_single(struct vhu_msg *m, bool xen, const char **why)
{
	size_t stride =
		xen ? sizeof(struct vhu_region_xen) : sizeof(struct vhu_region);

	if (m->hdr.size != sizeof(struct vhu_mem_single_hdr) + stride) {
		*why = xen ? "payload size is not a XEN_MMAP region's"
			   : "payload size is not a memory region's";
		return -EPROTO;
	}
	m->nregions = 1;
	decode_region(&m->regions[0],
		      m->p.bytes + sizeof(struct vhu_mem_single_hdr), xen);
	return 0;
}

static int decode_config(struct vhu_msg *m, const char **why)
{
	memcpy(&m->config, m->p.bytes, sizeof(m->config));
	if (m->config.size > VHU_CONFIG_SIZE_MAX ||
	    m->hdr.size != sizeof(m->config) + m->config.size) {
		*why = "config size does not match the payload size";
		return -EPROTO;
	}
	m->config_data = m->p.bytes + sizeof(m->config);
	return 0;
}

static int decode(struct vhu_msg *m, const struct vhu_msg_type *t,
		  const struct vhu_msg_ctx *ctx, const char **why)
{
	switch (t->layout) {
	case VHU_LAYOUT_MEM:
		return decode_mem(m, ctx->xen_mmap, why);
	case VHU_LAYOUT_SINGLE:
		return decode_single(m, ctx->xen_mmap, why);
	case VHU_LAYOUT_CONFIG:
		return decode_config(m, why);
	case VHU_LAYOUT_FIXED:
		break;
	}
	return 0;
}

static int check_fds(const struct vhu_msg *m, const struct vhu_msg_type *t,
		     const char **why)
{
	unsigned want;

	switch (t->fds) {
	case VHU_FDS_NONE:
		want = 0;
		break;
	case VHU_FDS_ONE:
		want = 1;
		break;
	case VHU_FDS_MAYBE:
		want = m->nfds ? 1 : 0;
		break;
	case VHU_FDS_VRING:
		want = (m->p.u64 & VHU_VRING_NOFD_MASK) ? 0 : 1;
		break;
	case VHU_FDS_REGIONS:
		want = m->nregions;
		break;
	case VHU_FDS_ANY:
	default:
		return 0;
	}
	if (m->nfds != want) {
		*why = "wrong number of file descriptors";
		return -EPROTO;
	}
	return 0;
}

static int resolve_queue(struct vhu_msg *m, const struct vhu_msg_type *t,
			 const struct vhu_msg_ctx *ctx, const char **why)
{
	uint64_t index;

	switch (t->queue) {
	case VHU_QUEUE_STATE:
		index = m->p.state.index;
		break;
	case VHU_QUEUE_FILE:
		if (m->p.u64 &
		    ~(uint64_t)(VHU_VRING_INDEX_MASK | VHU_VRING_NOFD_MASK)) {
			*why = "unknown bits in a vring fd message";
			return -EPROTO;
		}
		index = m->p.u64 & VHU_VRING_INDEX_MASK;
		break;
	case VHU_QUEUE_NONE:
	default:
		return 0;
	}
	if (index >= ctx->num_queues) {
		*why = "queue index out of range";
		return -EPROTO;
	}
	m->queue = (unsigned)index;
	return 0;
}

int vhu_msg_validate(struct vhu_msg *m, const struct vhu_msg_ctx *ctx,
		     const char **why)
{
	const struct vhu_msg_type *t = vhu_msg_type(m->hdr.request);
	int ret;

	m->queue = 0;
	m->nregions = 0;
	m->config_data = NULL;
	m->need_reply = m->hdr.flags & VHU_FLAG_NEED_REPLY;
	if ((m->hdr.flags & VHU_FLAG_VERSION_MASK) != VHU_VERSION) {
		*why = "unknown protocol version";
		return -EPROTO;
	}
	if (m->hdr.size > VHU_PAYLOAD_MAX) {
		*why = "payload too large";
		return -EPROTO;
	}
	if (!t || !t->supported) {
		*why = t ? "request not supported" : "unknown request";
		return -EOPNOTSUPP;
	}
	if (m->hdr.size < t->min_size || m->hdr.size > t->max_size) {
		*why = "wrong payload size";
		return -EPROTO;
	}
	ret = decode(m, t, ctx, why);
	if (ret == 0)
		ret = check_fds(m, t, why);
	if (ret == 0)
		ret = resolve_queue(m, t, ctx, why);
	return ret;
}

void vhu_msg_close_fds(struct vhu_msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
}

/*
 * Take the fds of every SCM_RIGHTS block into m (closing what does not
 * fit). Returns 0, or -EPROTO when some did not fit or were cut off.
 */
static int take_fds(struct vhu_msg *m, struct msghdr *mh)
{
	int ret = (mh->msg_flags & MSG_CTRUNC) ? -EPROTO : 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (m->nfds < VHU_FDS_MAX) {
				m->fds[m->nfds++] = fd;
			} else {
				close(fd);
				ret = -EPROTO;
			}
		}
	}
	return ret;
}

/*
 * Where the next byte of m goes and how many are still missing: the rest
 * of the header, then the rest of the payload it announces (at most
 * VHU_PAYLOAD_MAX, checked by the caller). 0: the message is complete.
 */
static size_t next_piece(struct vhu_msg *m, const struct vhu_msg_rx *rx,
			 void **at)
{
	if (rx->got < sizeof(m->hdr)) {
		*at = (uint8_t *)&m->hdr + rx->got;
		return sizeof(m->hdr) - rx->got;
	}
	*at = m->p.bytes + (rx->got - sizeof(m->hdr));
	return m->hdr.size - (rx->got - sizeof(m->hdr));
}

/*
 * One recvmsg of at most len bytes, without waiting, taking any fds.
 * Returns the byte count, 0 at end of stream, -EAGAIN, -EPROTO or -errno.
 */
static ssize_t recv_piece(int fd, struct vhu_msg *m, void *at, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHU_FDS_MAX)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {at, len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	ssize_t n;
	int ret;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* Fds that came with this piece belong to m, even with n == 0. */
	ret = take_fds(m, &mh);
	return ret < 0 ? ret : n;
}

int vhu_msg_recv(int fd, struct vhu_msg *m, struct vhu_msg_rx *rx)
{
	ssize_t n = 0;

	if (rx->got == 0) {
		memset(&m->hdr, 0, sizeof(m->hdr));
		memset(&m->p, 0, sizeof(m->p));
		m->nfds = 0;
	}
	for (;;) {
		void *at;
		size_t len;

		if (rx->got >= sizeof(m->hdr) &&
		    m->hdr.size > VHU_PAYLOAD_MAX) {
			n = -EPROTO; /* refused without waiting for it */
			goto err_drop;
		}
		len = next_piece(m, rx, &at);
		if (len == 0)
			break; /* header and payload complete */
		n = recv_piece(fd, m, at, len);
		if (n == -EAGAIN)
			return -EAGAIN; /* the rest comes later */
		if (n <= 0)
			goto err_drop;
		rx->got += (uint32_t)n;
	}
	rx->got = 0;
	return 1;

err_drop:
	if (n == 0 && rx->got)
		n = -EPROTO; /* end of stream mid-message */
	vhu_msg_close_fds(m);
	rx->got = 0;
	return (int)n;
}

int vhu_msg_reply(int fd, uint32_t request, const void *payload, uint32_t size)
{
	struct {
		struct vhu_hdr hdr;
		uint8_t p[VHU_PAYLOAD_MAX];
	} out;
	size_t len = sizeof(out.hdr) + size, sent = 0;

	if (size > sizeof(out.p))
		return -EINVAL;
	out.hdr.request = request;
	out.hdr.flags = VHU_VERSION | VHU_FLAG_REPLY;
	out.hdr.size = size;
	if (size)
		memcpy(out.p, payload, size);
	while (sent < len) {
		/* Never wait: a front-end that does not read its replies must
		 * not stall the control thread every server shares. */
		ssize_t n = send(fd, (char *)&out + sent, len - sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		sent += (size_t)n;
	}
	return 0;
}
