/* SPDX-License-Identifier: MIT */
/*
 * Shared by the vsock model's tests (test_vsock*.c): one test guest (its
 * memory, three rings driven by test/support/ring_driver and a device),
 * packets to and from it, and host sockets that are real unix sockets in
 * a temporary directory, served on a real loop (core/loop.c) as on the
 * device's data-path thread. Include after cmocka.h.
 */
#ifndef VIRTIOBOX_TEST_VSOCK_GUEST_H
#define VIRTIOBOX_TEST_VSOCK_GUEST_H

#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "ring_driver.h"
#include "vsock.h"

#define QSIZE  64
#define RXBUF  (44u + 4096u)
#define HDR    44u
#define STREAM VIRTIO_VSOCK_TYPE_STREAM
#define SEQ    VIRTIO_VSOCK_TYPE_SEQPACKET
#define GBUF   65536u /* the test guest's buf_alloc */

struct tp {
	struct virtio_transport t;
};
static inline void tp_notify(struct virtio_transport *t, unsigned q)
{
	(void)t;
	(void)q;
}
static inline void tp_error(struct virtio_transport *t, unsigned q)
{
	(void)t;
	(void)q;
}
static const struct virtio_transport_ops tp_ops = {.notify_queue = tp_notify,
						   .queue_error = tp_error};

/* One guest: its memory, three rings and a device. */
struct guest {
	uint64_t cid;
	struct fake_gmem mem;
	struct ring_driver q[3];
	struct vsock_dev *dev;
	struct tp tp;
	uint64_t rx_addr[QSIZE];
	unsigned tx_slot;
	uint32_t fwd_cnt; /* what the test guest read */
};

static char dir[64];
static struct loop *lp;
static unsigned log_lines;

static inline void count_lines(enum log_level level, const char *line)
{
	(void)level;
	(void)line;
	log_lines++;
}

static inline struct virtio_dev *vd(struct guest *g)
{
	return vsock_dev_virtio(g->dev);
}

static inline void path_of(char *buf, size_t len, uint64_t cid,
			   const char *suffix)
{
	snprintf(buf, len, "%s/g%llu.vsock%s", dir, (unsigned long long)cid,
		 suffix);
}

/* Ring features the test device offers; a guest takes those it names. */
#define RING_FEATURES \
	((1ull << VIRTIO_F_RING_PACKED) | (1ull << VIRTIO_RING_F_EVENT_IDX))

/* A guest whose driver accepted features. */
static inline void guest_up_features(struct guest *g, uint64_t cid,
				     const uint64_t *sibs, unsigned nsibs,
				     uint32_t buf_size, unsigned max_conns,
				     uint64_t features)
{
	struct vsock_sibling s[4];
	char uds[128], su[4][128];

	memset(g, 0, sizeof(*g));
	g->cid = cid;
	g->tp.t.ops = &tp_ops;
	for (unsigned i = 0; i < nsibs; i++) {
		path_of(su[i], sizeof(su[i]), sibs[i], "");
		s[i] = (struct vsock_sibling){.cid = sibs[i], .uds = su[i]};
	}
	path_of(uds, sizeof(uds), cid, "");
	assert_int_equal(fake_gmem_init(&g->mem), 0);
	assert_int_equal(fake_gmem_add(&g->mem, 0x100000, 0x100000,
				       GMEM_READ | GMEM_WRITE),
			 0);
	assert_int_equal(fake_gmem_add(&g->mem, 0x200000, 0x400000,
				       GMEM_READ | GMEM_WRITE),
			 0);
	for (unsigned q = 0; q < 3; q++)
		assert_int_equal(
			ring_driver_init(
				&g->q[q], &g->mem,
				&(struct ring_driver_cfg){
					.features = features & RING_FEATURES,
					.num = QSIZE,
					.ring = 0x100000 + q * 0x10000,
				}),
			0);
	assert_int_equal(vsock_dev_create(&g->dev,
					  &(struct vsock_dev_params){
						  .name = "test/vsock0",
						  .cid = cid,
						  .uds = uds,
						  .buf_size = buf_size,
						  .max_conns = max_conns,
						  .siblings = s,
						  .nsiblings = nsibs,
					  },
					  RING_FEATURES),
			 0);
	vsock_dev_virtio(g->dev)->kick_budget_ns = TEST_KICK_BUDGET_NS;
	vd(g)->loop = lp;
	virtio_dev_attach(vd(g), &g->tp.t, &g->mem.gmem);
	assert_int_equal(virtio_dev_set_features(vd(g), features), 0);
	for (unsigned q = 0; q < 3; q++)
		assert_int_equal(virtio_dev_queue_start(vd(g), q,
							&g->q[q].layout,
							g->q[q].base),
				 0);
}

static inline void guest_up(struct guest *g, uint64_t cid, const uint64_t *sibs,
			    unsigned nsibs, uint32_t buf_size,
			    unsigned max_conns)
{
	guest_up_features(g, cid, sibs, nsibs, buf_size, max_conns,
			  (1ull << VIRTIO_F_VERSION_1) |
				  (1ull << VIRTIO_VSOCK_F_SEQPACKET));
}

static inline void guest_down(struct guest *g)
{
	uint32_t base;

	for (unsigned q = 0; q < 3; q++)
		if (virtio_dev_queue_is_started(vd(g), q))
			virtio_dev_queue_stop(vd(g), q, &base);
	vsock_dev_destroy(g->dev);
	for (unsigned q = 0; q < 3; q++)
		ring_driver_destroy(&g->q[q]);
	fake_gmem_destroy(&g->mem);
}

static inline int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vb-vsock-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(loop_create(&lp), 0);
	log_set_hook(count_lines);
	log_lines = 0;
	return 0;
}

static inline int teardown(void **state)
{
	(void)state;
	loop_destroy(lp);
	rmdir(dir);
	log_set_hook(NULL);
	return 0;
}

static inline struct virtio_vsock_hdr H(uint64_t src, uint32_t sport,
					uint64_t dst, uint32_t dport,
					uint16_t type, uint16_t op) {
	return (struct virtio_vsock_hdr){
		.src_cid = htole64(src),
		.dst_cid = htole64(dst),
		.src_port = htole32(sport),
		.dst_port = htole32(dport),
		.type = htole16(type),
		.op = htole16(op),
		.buf_alloc = htole32(GBUF),
	};
}

static inline void
reclaim(struct ring_driver *d)
{
	uint16_t id;
	uint32_t len;

	while (ring_driver_get_used(d, &id, &len) == 1)
		;
}

/* The guest sends h with len payload bytes (h.len as given unless -1). */
static inline void tx_raw(struct guest *g, struct virtio_vsock_hdr h,
			  const void *data, uint32_t len, uint32_t buf_len)
{
	uint64_t a = 0x400000 + (uint64_t)(g->tx_slot++ % QSIZE) * 0x8000;
	struct ring_seg s[2] = {{a, HDR, false}, {a + HDR, buf_len, false}};

	h.fwd_cnt = htole32(g->fwd_cnt);
	assert_int_equal(fake_gmem_write(&g->mem, a, &h, HDR), 0);
	if (buf_len)
		assert_int_equal(fake_gmem_write(&g->mem, a + HDR, data,
						 len < buf_len ? len : buf_len),
				 0);
	assert_true(ring_driver_add(&g->q[1], s, buf_len ? 2 : 1, false) >= 0);
	ring_driver_publish(&g->q[1]);
	virtio_dev_kick(vd(g), VSOCK_DEV_TXQ);
	reclaim(&g->q[1]);
}

static inline void tx(struct guest *g, struct virtio_vsock_hdr h,
		      const void *data, uint32_t len)
{
	h.len = htole32(len);
	tx_raw(g, h, data, len, len);
}

static inline void rx_post(struct guest *g, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct ring_seg s = {0, RXBUF, true};
		/* Buffer ids are the ring's; the address follows the id. */
		int id = ring_driver_add(&g->q[0], &s, 1, false);

		assert_true(id >= 0);
		g->rx_addr[id] = 0x200000 + (uint64_t)id * 0x2000;
		/* Rewrite the descriptor's address now the id is known. */
		if (g->q[0].packed)
			g->q[0].pdesc[g->q[0].last_head].addr =
				htole64(g->rx_addr[id]);
		else
			g->q[0].desc[g->q[0].last_head].addr =
				htole64(g->rx_addr[id]);
	}
	ring_driver_publish(&g->q[0]);
	virtio_dev_kick(vd(g), VSOCK_DEV_RXQ);
}

/* The next packet the device gave the guest: payload bytes, or -1. */
static inline int rx_get(struct guest *g, struct virtio_vsock_hdr *h,
			 void *data)
{
	uint16_t id;
	uint32_t len;

	if (ring_driver_get_used(&g->q[0], &id, &len) != 1)
		return -1;
	assert_true(len >= HDR);
	assert_int_equal(fake_gmem_read(&g->mem, g->rx_addr[id], h, HDR), 0);
	assert_int_equal(le32toh(h->len), len - HDR);
	if (data)
		assert_int_equal(fake_gmem_read(&g->mem, g->rx_addr[id] + HDR,
						data, len - HDR),
				 0);
	g->rx_addr[id] = 0;
	if (le16toh(h->op) == VIRTIO_VSOCK_OP_RW)
		g->fwd_cnt += len - HDR;
	return (int)(len - HDR);
}

static inline void spin(void)
{
	for (int i = 0; i < 20 && loop_run_once(lp, 20) > 0; i++)
		;
}

static inline void expect_op_at(struct guest *g, uint16_t op,
				struct virtio_vsock_hdr *h, int line)
{
	struct virtio_vsock_hdr tmp;
	uint8_t buf[4096];

	if (!h)
		h = &tmp;
	if (rx_get(g, h, buf) < 0)
		fail_msg("line %d: no packet, expected op %u", line, op);
	if (le16toh(h->op) != op)
		fail_msg("line %d: op %u, expected %u", line, le16toh(h->op),
			 op);
}
#define expect_op(g, op, h) expect_op_at(g, op, h, __LINE__)

static inline void expect_nothing(struct guest *g)
{
	struct virtio_vsock_hdr h;

	assert_int_equal(rx_get(g, &h, NULL), -1);
}

static inline int host_listen(uint64_t cid, uint32_t port, int type)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char sfx[16];
	int fd = socket(AF_UNIX, type, 0);

	snprintf(sfx, sizeof(sfx), "_%u", port);
	path_of(a.sun_path, sizeof(a.sun_path), cid, sfx);
	unlink(a.sun_path);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static inline void host_unlisten(int fd, uint64_t cid, uint32_t port)
{
	char p[128], sfx[16];

	snprintf(sfx, sizeof(sfx), "_%u", port);
	path_of(p, sizeof(p), cid, sfx);
	close(fd);
	unlink(p);
}

static inline int host_connect(uint64_t cid)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	path_of(a.sun_path, sizeof(a.sun_path), cid, "");
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* A host program on the guest's SEQPACKET listener (uds.seqpacket). */
static inline int host_connect_seq(uint64_t cid)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	path_of(a.sun_path, sizeof(a.sun_path), cid, VSOCK_DEV_SEQ_SUFFIX);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static inline ssize_t host_read(int fd, void *buf, size_t len)
{
	struct pollfd p = {fd, POLLIN, 0};

	if (poll(&p, 1, 500) != 1)
		return -ETIMEDOUT;
	return read(fd, buf, len);
}

/* Guest port 1000 connects to host port 5000 (listening at l). */
static inline int open_g2h(struct guest *g, int l, uint16_t type)
{
	int fd;

	tx(g, H(g->cid, 1000, 2, 5000, type, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	expect_op(g, VIRTIO_VSOCK_OP_RESPONSE, NULL);
	fd = accept(l, NULL, NULL);
	assert_true(fd >= 0);
	return fd;
}

#endif
