/* SPDX-License-Identifier: MIT */
/*
 * A small vhost-user front-end for the server's unit tests
 * (test_vhost_user*.c): it owns a server on a control loop that the test
 * runs on its own thread, talks to it over a socketpair, shares
 * memfd-backed guest memory with it (SCM_RIGHTS), and builds rings in that
 * memory with test/support/ring_driver.h. The device is a trivial "echo"
 * model whose data path runs on the server's data-path thread.
 *
 *	struct fe f;
 *	fe_init(&f, NULL);
 *	fe_negotiate(&f);          // QEMU 7.2's order up to SET_FEATURES
 *	fe_mem_table(&f);          // one memfd region, need_reply
 *	fe_ring_start(&f, 0, 0);   // split ring on queue 0
 *	fe_echo(&f, 0, "hello");   // kick → echo → call fd → used entry
 *	fe_fini(&f);
 *
 * Everything is static inline so each test program takes what it uses.
 */
#ifndef VIRTIOBOX_TEST_VHU_FRONTEND_H
#define VIRTIOBOX_TEST_VHU_FRONTEND_H

#include <dirent.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "ring_driver.h"
#include "vhost_user.h"
#include "vhost_user_wire.h"

#define FE_BIT(n)   (1ULL << (n))
#define FE_V1	    FE_BIT(VIRTIO_F_VERSION_1)
#define FE_GPA	    0x100000ull
#define FE_SIZE	    0x100000ull
#define FE_UVA	    0x7f1200000000ull
#define FE_RING(q)  (FE_GPA + (uint64_t)(q)*0x10000)
#define FE_DATA	    (FE_GPA + 0x80000)
#define FE_QUEUES   2
#define FE_NUM	    16
#define FE_ACK_NONE (-1) /* no reply came */

/* ---- the echo model ------------------------------------------------------ */

struct fe_echo {
	struct virtio_dev vdev;
	uint8_t config[8];
	atomic_int kicks;
	atomic_int resets;
};

static inline void fe_echo_config_read(struct virtio_dev *d, uint32_t off,
				       void *buf, uint32_t len)
{
	memcpy(buf, container_of(d, struct fe_echo, vdev)->config + off, len);
}

static inline void fe_echo_config_write(struct virtio_dev *d, uint32_t off,
					const void *buf, uint32_t len)
{
	memcpy(container_of(d, struct fe_echo, vdev)->config + off, buf, len);
}

static inline void fe_echo_kick(struct virtio_dev *d, unsigned q)
{
	struct fe_echo *e = container_of(d, struct fe_echo, vdev);
	struct vq_elem *el;

	atomic_fetch_add(&e->kicks, 1);
	while (vq_pop(&d->vqs[q], &el) == 1) {
		uint32_t n = el->rd_len < el->wr_len ? el->rd_len : el->wr_len;

		if (n && el->rd_num && el->wr_num) {
			if (n > el->rd_iov[0].iov_len)
				n = el->rd_iov[0].iov_len;
			if (n > el->wr_iov[0].iov_len)
				n = el->wr_iov[0].iov_len;
			memcpy(el->wr_iov[0].iov_base, el->rd_iov[0].iov_base,
			       n);
		}
		vq_push(&d->vqs[q], el, n);
	}
}

static inline void fe_echo_reset(struct virtio_dev *d)
{
	atomic_fetch_add(&container_of(d, struct fe_echo, vdev)->resets, 1);
}

static const struct virtio_dev_ops fe_echo_ops = {
	.name = "echo",
	.device_id = VIRTIO_ID_CONSOLE,
	.features = FE_BIT(0),
	.num_queues = FE_QUEUES,
	.queue_max = 64,
	.config_size = 8,
	.config_read = fe_echo_config_read,
	.config_write = fe_echo_config_write,
	.queue_kick = fe_echo_kick,
	.reset = fe_echo_reset,
};

/* ---- the front-end ------------------------------------------------------- */

struct fe {
	struct loop *ctl;
	struct fe_echo echo;
	struct vhu_server *srv;
	int sock; /* our end; -1 once closed */
	int memfd;
	uint8_t *mem; /* our mapping of the guest memory */
	struct fake_gmem fgm;
	uint8_t *fgm_host; /* fake_gmem's own buffer, restored before destroy */
	struct ring_driver drv[FE_QUEUES];
	bool drv_up[FE_QUEUES];
	int kick[FE_QUEUES], call[FE_QUEUES], err[FE_QUEUES];
};

static inline int fe_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static inline int fe_count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static inline int fe_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(fd >= 0);
	return fd;
}

/*
 * Does this platform report fds that did not fit (MSG_CTRUNC)? Linux does;
 * qemu-user (the aarch64 unit tests) silently drops them, so the tests of
 * that path are skipped there.
 */
static inline bool fe_ctrunc_reported(void)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 3)];
		struct cmsghdr align;
	} out, in;
	int sv[2], fds[3] = {0, 0, 0}; /* one more than "in" has room for */
	char byte = 0;
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = out.buf,
			    .msg_controllen = sizeof(out.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	bool reported;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	assert_int_equal(sendmsg(sv[1], &mh, 0), 1);
	mh = (struct msghdr){.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = in.buf,
			     .msg_controllen = CMSG_SPACE(sizeof(int))};
	assert_int_equal(recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC), 1);
	reported = mh.msg_flags & MSG_CTRUNC;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
	close(sv[0]);
	close(sv[1]);
	return reported;
}

/* Run the server's control loop until it has nothing left to do. */
static inline void fe_pump(struct fe *f)
{
	while (loop_run_once(f->ctl, 0) > 0)
		;
}

/* Connect a new front-end socket to the server. */
static inline void fe_connect(struct fe *f)
{
	struct timeval tv = {.tv_sec = 2};
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_int_equal(
		setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(vhu_server_serve_fd(f->srv, sv[0]), 0);
	f->sock = sv[1];
}

/* A front-end connected to a server over an echo device with ops. */
static inline void fe_init_ops(struct fe *f, const struct vhu_server_opts *opts,
			       const struct virtio_dev_ops *ops)
{
	struct vhu_server_opts def = {.name = "test"};

	memset(f, 0, sizeof(*f));
	log_set_level(LOG_LEVEL_ERR);
	f->memfd = -1;
	for (unsigned q = 0; q < FE_QUEUES; q++)
		f->kick[q] = f->call[q] = f->err[q] = -1;
	assert_int_equal(loop_create(&f->ctl), 0);
	assert_int_equal(virtio_dev_init(&f->echo.vdev, ops, 0), 0);
	assert_int_equal(vhu_server_create(&f->srv, f->ctl, &f->echo.vdev,
					   opts ? opts : &def),
			 0);
	fe_connect(f);
}

static inline void fe_init(struct fe *f, const struct vhu_server_opts *opts)
{
	fe_init_ops(f, opts, &fe_echo_ops);
}

/* Close our end and let the server notice. */
static inline void fe_disconnect(struct fe *f)
{
	if (f->sock < 0)
		return;
	close(f->sock);
	f->sock = -1;
	fe_pump(f);
	assert_false(vhu_server_is_connected(f->srv));
}

static inline void fe_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static inline void fe_fini(struct fe *f)
{
	fe_disconnect(f);
	vhu_server_destroy(f->srv);
	virtio_dev_destroy(&f->echo.vdev);
	loop_destroy(f->ctl);
	for (unsigned q = 0; q < FE_QUEUES; q++) {
		if (f->drv_up[q])
			ring_driver_destroy(&f->drv[q]);
		fe_close_fd(&f->kick[q]);
		fe_close_fd(&f->call[q]);
		fe_close_fd(&f->err[q]);
	}
	if (f->mem) {
		f->fgm.region[0].host = f->fgm_host;
		fake_gmem_destroy(&f->fgm);
		munmap(f->mem, FE_SIZE);
	}
	fe_close_fd(&f->memfd);
}

/* ---- messages ------------------------------------------------------------ */

static inline void fe_send(struct fe *f, uint32_t req, uint32_t flags,
			   const void *p, uint32_t size, const int *fds,
			   unsigned nfds)
{
	struct {
		struct vhu_hdr h;
		uint8_t p[1024];
	} m = {.h = {req, flags, size}};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {&m, sizeof(m.h) + size};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	assert_true(size <= sizeof(m.p) && nfds <= 16);
	if (size)
		memcpy(m.p, p, size);
	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(f->sock, &mh, MSG_NOSIGNAL),
			 (ssize_t)iov.iov_len);
}

/*
 * Take the pending reply to req: returns its payload size, FE_ACK_NONE when
 * there is none (or the server hung up).
 */
static inline int fe_reply(struct fe *f, uint32_t req, void *p, uint32_t max)
{
	struct vhu_hdr h;
	ssize_t n = recv(f->sock, &h, sizeof(h), MSG_DONTWAIT);

	if (n <= 0)
		return FE_ACK_NONE;
	assert_int_equal(n, sizeof(h));
	assert_int_equal(h.request, req);
	assert_int_equal(h.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_true(h.size <= max);
	if (h.size)
		assert_int_equal(recv(f->sock, p, h.size, MSG_WAITALL), h.size);
	return (int)h.size;
}

/* Send, let the server handle it, return the u64 reply or FE_ACK_NONE. */
static inline int64_t fe_msg(struct fe *f, uint32_t req, uint32_t flags,
			     const void *p, uint32_t size, const int *fds,
			     unsigned nfds)
{
	uint64_t v = 0;
	int n;

	fe_send(f, req, flags, p, size, fds, nfds);
	fe_pump(f);
	n = fe_reply(f, req, &v, sizeof(v));
	if (n == FE_ACK_NONE)
		return FE_ACK_NONE;
	assert_int_equal(n, sizeof(v));
	return (int64_t)v;
}

/* A request with NEED_REPLY: 0 success, 1 failure, FE_ACK_NONE. */
static inline int64_t fe_ack(struct fe *f, uint32_t req, const void *p,
			     uint32_t size, const int *fds, unsigned nfds)
{
	return fe_msg(f, req, VHU_VERSION | VHU_FLAG_NEED_REPLY, p, size, fds,
		      nfds);
}

static inline uint64_t fe_get(struct fe *f, uint32_t req)
{
	int64_t v = fe_msg(f, req, VHU_VERSION, NULL, 0, NULL, 0);

	assert_true(v != FE_ACK_NONE);
	return (uint64_t)v;
}

static inline int64_t fe_set_u64(struct fe *f, uint32_t req, uint64_t v)
{
	return fe_ack(f, req, &v, sizeof(v), NULL, 0);
}

static inline int64_t fe_state(struct fe *f, uint32_t req, uint32_t index,
			       uint32_t num)
{
	struct vhu_vring_state s = {index, num};

	return fe_ack(f, req, &s, sizeof(s), NULL, 0);
}

/* SET_VRING_KICK/CALL/ERR: fd < 0 sends VRING_NOFD. */
static inline int64_t fe_vring_fd(struct fe *f, uint32_t req, unsigned q,
				  int fd)
{
	uint64_t v = q | (fd < 0 ? VHU_VRING_NOFD_MASK : 0);

	return fe_ack(f, req, &v, sizeof(v), &fd, fd < 0 ? 0 : 1);
}

static inline uint32_t fe_get_vring_base(struct fe *f, unsigned q)
{
	struct vhu_vring_state s = {q, 0};

	fe_send(f, VHU_GET_VRING_BASE, VHU_VERSION, &s, sizeof(s), NULL, 0);
	fe_pump(f);
	assert_int_equal(fe_reply(f, VHU_GET_VRING_BASE, &s, sizeof(s)),
			 sizeof(s));
	assert_int_equal(s.index, q);
	return s.num;
}

static inline bool fe_connected(struct fe *f)
{
	return vhu_server_is_connected(f->srv);
}

/* ---- sequences ----------------------------------------------------------- */

/*
 * What QEMU 7.2's vhost-user-gpio does before SET_FEATURES: features,
 * protocol features, queue count, owner, call and err fds of every queue,
 * a config read.
 */
static inline void fe_negotiate(struct fe *f)
{
	uint64_t features = fe_get(f, VHU_GET_FEATURES);
	uint64_t proto;
	struct {
		struct vhu_config_hdr h;
		uint8_t data[8];
	} cfg = {.h = {0, 8, 0}};

	assert_true(features & FE_BIT(VHU_F_PROTOCOL_FEATURES));
	proto = fe_get(f, VHU_GET_PROTOCOL_FEATURES);
	assert_int_equal(fe_set_u64(f, VHU_SET_PROTOCOL_FEATURES, proto), 0);
	assert_int_equal(fe_get(f, VHU_GET_QUEUE_NUM), FE_QUEUES);
	assert_int_equal(
		fe_msg(f, VHU_SET_OWNER, VHU_VERSION, NULL, 0, NULL, 0),
		FE_ACK_NONE);
	assert_int_equal(fe_get(f, VHU_GET_FEATURES), features);
	for (unsigned q = 0; q < FE_QUEUES; q++) {
		f->call[q] = fe_eventfd();
		f->err[q] = fe_eventfd();
		assert_int_equal(
			fe_vring_fd(f, VHU_SET_VRING_CALL, q, f->call[q]), 0);
		assert_int_equal(
			fe_vring_fd(f, VHU_SET_VRING_ERR, q, f->err[q]), 0);
	}
	memcpy(f->echo.config, "CONFIG!!", 8);
	fe_send(f, VHU_GET_CONFIG, VHU_VERSION, &cfg, sizeof(cfg), NULL, 0);
	fe_pump(f);
	assert_int_equal(fe_reply(f, VHU_GET_CONFIG, &cfg, sizeof(cfg)),
			 sizeof(cfg));
	assert_memory_equal(cfg.data, "CONFIG!!", 8);
	/* QEMU 7.2 does not ack VHOST_USER_F_PROTOCOL_FEATURES here. */
	assert_int_equal(fe_set_u64(f, VHU_SET_FEATURES, FE_V1), 0);
}

/* Create the guest memory (once) and a fake_gmem view of it for rings. */
static inline void fe_mem_create(struct fe *f)
{
	if (f->mem)
		return;
	f->memfd = memfd_create("fe-guest", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, FE_SIZE), 0);
	f->mem = mmap(NULL, FE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      f->memfd, 0);
	assert_true(f->mem != MAP_FAILED);
	assert_int_equal(fake_gmem_init(&f->fgm), 0);
	assert_int_equal(
		fake_gmem_add(&f->fgm, FE_GPA, FE_SIZE, GMEM_READ | GMEM_WRITE),
		0);
	/* The ring driver writes where the server reads: the shared memfd. */
	f->fgm_host = f->fgm.region[0].host;
	f->fgm.region[0].host = f->mem;
}

/* SET_MEM_TABLE with the one memfd region (need_reply). */
static inline int64_t fe_mem_table(struct fe *f)
{
	struct {
		struct vhu_mem_hdr h;
		struct vhu_region r;
	} t = {{1, 0}, {FE_GPA, FE_SIZE, FE_UVA, 0}};

	fe_mem_create(f);
	return fe_ack(f, VHU_SET_MEM_TABLE, &t, sizeof(t), &f->memfd, 1);
}

/* Lay out a fresh ring for q in guest memory (nothing sent yet). */
static inline void fe_ring_init(struct fe *f, unsigned q,
				uint64_t ring_features)
{
	fe_mem_create(f);
	assert_int_equal(ring_driver_init(&f->drv[q], &f->fgm,
					  &(struct ring_driver_cfg){
						  .features = ring_features,
						  .num = FE_NUM,
						  .ring = FE_RING(q)}),
			 0);
	f->drv_up[q] = true;
}

/* Send NUM, BASE (base as given), ADDR, KICK and ENABLE for q's ring. */
static inline void fe_ring_send(struct fe *f, unsigned q, uint32_t base)
{
	struct ring_driver *d = &f->drv[q];
	struct vhu_vring_addr a = {.index = q,
				   .desc = FE_UVA + d->layout.desc - FE_GPA,
				   .used = FE_UVA + d->layout.device - FE_GPA,
				   .avail = FE_UVA + d->layout.driver - FE_GPA};

	assert_int_equal(fe_state(f, VHU_SET_VRING_NUM, q, FE_NUM), 0);
	assert_int_equal(fe_state(f, VHU_SET_VRING_BASE, q, base), 0);
	assert_int_equal(fe_ack(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
			 0);
	if (f->kick[q] < 0)
		f->kick[q] = fe_eventfd();
	assert_int_equal(fe_vring_fd(f, VHU_SET_VRING_KICK, q, f->kick[q]), 0);
	assert_int_equal(fe_state(f, VHU_SET_VRING_ENABLE, q, 1), 0);
}

/* Lay out a ring for q, send NUM/BASE/ADDR/KICK and ENABLE. */
static inline void fe_ring_start(struct fe *f, unsigned q,
				 uint64_t ring_features)
{
	fe_ring_init(f, q, ring_features);
	fe_ring_send(f, q, f->drv[q].base);
}

static inline void fe_signal(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

/* Wait up to ms for fd to be signalled and clear it. */
static inline bool fe_wait(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, ms) != 1)
		return false;
	return read(fd, &v, sizeof(v)) == sizeof(v);
}

/* Post text with a writable buffer on q without kicking; returns the id. */
static inline int fe_post(struct fe *f, unsigned q, const char *text)
{
	uint64_t in = FE_DATA + q * 0x1000, out = in + 0x800;
	struct ring_seg segs[] = {
		{.gaddr = in, .len = (uint32_t)strlen(text)},
		{.gaddr = out, .len = 64, .write = true},
	};
	int id;

	assert_int_equal(fake_gmem_write(&f->fgm, in, text, strlen(text)), 0);
	id = ring_driver_add(&f->drv[q], segs, 2, false);
	assert_true(id >= 0);
	ring_driver_publish(&f->drv[q]);
	return id;
}

/* Expect the echo of text for buffer id on q (after a call). */
static inline void fe_expect_echo(struct fe *f, unsigned q, int id,
				  const char *text)
{
	uint64_t out = FE_DATA + q * 0x1000 + 0x800;
	char buf[64];
	uint16_t uid;
	uint32_t len;

	assert_true(fe_wait(f->call[q], 2000));
	assert_int_equal(ring_driver_get_used(&f->drv[q], &uid, &len), 1);
	assert_int_equal(uid, id);
	assert_int_equal(len, strlen(text));
	assert_int_equal(fake_gmem_read(&f->fgm, out, buf, len), 0);
	assert_memory_equal(buf, text, len);
}

/* One request through the data path: post, kick, wait for the call. */
static inline void fe_echo(struct fe *f, unsigned q, const char *text)
{
	int id = fe_post(f, q, text);

	fe_signal(f->kick[q]);
	fe_expect_echo(f, q, id, text);
}

#endif
