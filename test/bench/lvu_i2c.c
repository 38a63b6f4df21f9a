// SPDX-License-Identifier: MIT
/*
 * The baseline of test/bench/bench_vhu_baseline.py: a virtio-i2c back-end
 * on QEMU's libvhost-user (built at bench time from Debian's qemu source
 * package, never committed), serving a simulated register chip with the
 * work virtiobox's i2c model does for a read or write request: the 8-byte
 * header read out of the readable segments, its flags and address checked
 * against the one chip, the register file read or written, the data and
 * the status byte copied into the writable segments, the element pushed,
 * and one notification decision per kick. libvhost-user offers split rings
 * only (no VIRTIO_F_RING_PACKED in QEMU 7.2's copy).
 *
 *   lvu_i2c SOCKET    listen on SOCKET, serve one front-end after another
 *
 * One thread, a poll loop over the fds libvhost-user asks to watch.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_i2c.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "libvhost-user.h"

#define CHIP	  0x1c
#define REGS	  16
#define WATCH_MAX 16

struct watch {
	int fd;
	int cond;
	vu_watch_cb cb;
	void *data;
};

static struct watch watches[WATCH_MAX];
static unsigned nwatches;
static uint8_t regs[REGS], reg_ptr;
static bool panicked;

static void set_watch(VuDev *dev, int fd, int cond, vu_watch_cb cb, void *data)
{
	(void)dev;
	for (unsigned i = 0; i < nwatches; i++)
		if (watches[i].fd == fd) {
			watches[i] = (struct watch){fd, cond, cb, data};
			return;
		}
	if (nwatches == WATCH_MAX)
		abort();
	watches[nwatches++] = (struct watch){fd, cond, cb, data};
}

static void remove_watch(VuDev *dev, int fd)
{
	(void)dev;
	for (unsigned i = 0; i < nwatches; i++)
		if (watches[i].fd == fd) {
			watches[i] = watches[--nwatches];
			return;
		}
}

static void panic_cb(VuDev *dev, const char *err)
{
	(void)dev;
	fprintf(stderr, "lvu_i2c: %s\n", err);
	panicked = true;
}

static size_t iov_len_total(const struct iovec *iov, unsigned n)
{
	size_t t = 0;

	for (unsigned i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Copy between buf and the byte sequence of iov from off; both ways. */
static void iov_copy(const struct iovec *iov, unsigned n, size_t off,
		     uint8_t *buf, size_t len, bool to_iov)
{
	for (unsigned i = 0; i < n && len; i++) {
		size_t seg = iov[i].iov_len, c;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		c = seg - off < len ? seg - off : len;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, buf, c);
		else
			memcpy(buf, (uint8_t *)iov[i].iov_base + off, c);
		buf += c;
		len -= c;
		off = 0;
	}
}

/* One request: returns the bytes written into the writable segments. */
static unsigned serve(VuVirtqElement *e)
{
	size_t out = iov_len_total(e->out_sg, e->out_num);
	size_t in = iov_len_total(e->in_sg, e->in_num);
	uint8_t status = VIRTIO_I2C_MSG_ERR, data[REGS];
	struct virtio_i2c_out_hdr h;
	uint32_t flags;
	uint16_t addr;

	if (out < sizeof(h) || in < 1)
		return 0;
	iov_copy(e->out_sg, e->out_num, 0, (uint8_t *)&h, sizeof(h), false);
	flags = le32toh(h.flags);
	addr = le16toh(h.addr);
	if ((flags &
	     ~(uint32_t)(VIRTIO_I2C_FLAGS_FAIL_NEXT | VIRTIO_I2C_FLAGS_M_RD)) ||
	    (addr & 1) || (addr >> 1) != CHIP) {
		/* not for the chip: status only */
	} else if (flags & VIRTIO_I2C_FLAGS_M_RD) {
		size_t len = in - 1;

		if (out == sizeof(h) && len <= REGS) {
			for (size_t i = 0; i < len; i++)
				data[i] = regs[reg_ptr++ % REGS];
			iov_copy(e->in_sg, e->in_num, 0, data, len, true);
			status = VIRTIO_I2C_MSG_OK;
		}
	} else if (in == 1 && out > sizeof(h) && out - sizeof(h) <= REGS) {
		size_t len = out - sizeof(h);

		iov_copy(e->out_sg, e->out_num, sizeof(h), data, len, false);
		reg_ptr = data[0] % REGS;
		for (size_t i = 1; i < len; i++)
			regs[reg_ptr++ % REGS] = data[i];
		status = VIRTIO_I2C_MSG_OK;
	}
	iov_copy(e->in_sg, e->in_num, in - 1, &status, 1, true);
	return (unsigned)in;
}

static void queue_handler(VuDev *dev, int qidx)
{
	VuVirtq *vq = vu_get_queue(dev, qidx);
	VuVirtqElement *e;

	while ((e = vu_queue_pop(dev, vq, sizeof(*e)))) {
		vu_queue_push(dev, vq, e, serve(e));
		free(e);
	}
	vu_queue_notify(dev, vq);
}

static uint64_t get_features(VuDev *dev)
{
	(void)dev;
	return 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX |
	       1ull << VIRTIO_RING_F_INDIRECT_DESC;
}

static void queue_set_started(VuDev *dev, int qidx, bool started)
{
	vu_set_queue_handler(dev, vu_get_queue(dev, qidx),
			     started ? queue_handler : NULL);
}

/* libvhost-user reads a hang-up as VHOST_USER_NONE and exits the process
 * by default: serve the next front-end instead. */
static bool hung_up;

static int process_msg(VuDev *dev, VhostUserMsg *msg, int *do_reply)
{
	(void)dev;
	(void)do_reply;
	if (msg->request != VHOST_USER_NONE)
		return 0;
	hung_up = true;
	return 1;
}

static const VuDevIface iface = {
	.get_features = get_features,
	.process_msg = process_msg,
	.queue_set_started = queue_set_started,
};

/* Serve one connected front-end until it hangs up. */
static void serve_connection(int sock)
{
	VuDev dev;

	nwatches = 0;
	panicked = hung_up = false;
	if (!vu_init(&dev, 1, sock, panic_cb, NULL, set_watch, remove_watch,
		     &iface)) {
		close(sock);
		return;
	}
	while (!panicked) {
		struct pollfd p[WATCH_MAX + 1];
		unsigned n = 0;

		p[n++] = (struct pollfd){sock, POLLIN, 0};
		for (unsigned i = 0; i < nwatches; i++)
			p[n++] = (struct pollfd){watches[i].fd,
						 (short)watches[i].cond, 0};
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && (!vu_dispatch(&dev) || hung_up))
			break;
		for (unsigned i = 1; i < n; i++) {
			if (!p[i].revents)
				continue;
			/* The watch may have been replaced by dispatch. */
			for (unsigned k = 0; k < nwatches; k++)
				if (watches[k].fd == p[i].fd) {
					watches[k].cb(&dev, p[i].revents,
						      watches[k].data);
					break;
				}
		}
	}
	vu_deinit(&dev);
	close(sock);
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int l;

	if (argc != 2) {
		fprintf(stderr, "usage: lvu_i2c SOCKET\n");
		return 2;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l, 1) < 0) {
		perror("lvu_i2c: listen");
		return 1;
	}
	for (;;) {
		int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);

		if (s < 0) {
			if (errno == EINTR)
				continue;
			perror("lvu_i2c: accept");
			return 1;
		}
		serve_connection(s);
	}
}
