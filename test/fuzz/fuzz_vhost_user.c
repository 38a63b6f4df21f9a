// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the vhost-user server: the input is a message
 * stream, cut into chunks that each travel with a few real fds (memfd of
 * guest memory, eventfds), sent over a socketpair to one long-lived server
 * as a fresh front-end connection. Whatever arrives -- malformed headers,
 * bad memory tables, rings pointing at garbage -- the server must neither
 * crash nor leak: after the connection ends every fd it received is closed
 * (checked each run through /proc/self/fd) and ASan checks memory.
 *
 * Input format, repeated until the data runs out:
 *   u8  fds:  bits 0-1 how many fds ride with this chunk (0..3), bit 2
 *             selects eventfds instead of the guest-memory memfd
 *   u16 len:  chunk length (little endian), cut to what is left
 *   len bytes sent with one sendmsg
 * A message may span chunks, and a chunk may hold several messages.
 */
#include <dirent.h>
#include <linux/virtio_ids.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "vhost_user.h"

#define GUEST_SIZE  0x10000
#define FDS_PER_RUN 64 /* bounds the fds in flight on one socket */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A model that consumes whatever the ring offers. */
static void sink_kick(struct virtio_dev *d, unsigned q)
{
	struct vq_elem *e;

	for (int i = 0; i < 64 && vq_pop(&d->vqs[q], &e) == 1; i++)
		vq_push(&d->vqs[q], e, e->wr_len);
}

static void sink_config_read(struct virtio_dev *d, uint32_t off, void *buf,
			     uint32_t len)
{
	(void)d;
	memset(buf, (int)off, len);
}

static void sink_reset(struct virtio_dev *d)
{
	(void)d;
}

static const struct virtio_dev_ops sink_ops = {
	.name = "sink",
	.device_id = VIRTIO_ID_GPIO,
	.num_queues = 2,
	.queue_max = 64,
	.config_size = 16,
	.config_read = sink_config_read,
	.queue_kick = sink_kick,
	.reset = sink_reset,
};

static struct loop *ctl;
static struct virtio_dev dev;
static struct vhu_server *srv;
static int guest_fd = -1;

/*
 * The server's last log lines, printed if the run dies: a crash found by
 * the fuzzer usually depends on the thread timing and does not replay, so
 * the trace is often all there is. FUZZ_VHOST_USER_LOG=1 logs live instead.
 */
#define TRACE_LINES 64
static char trace[TRACE_LINES][160];
static atomic_uint trace_n;

static void trace_line(enum log_level level, const char *line)
{
	unsigned i = atomic_fetch_add(&trace_n, 1) % TRACE_LINES;

	(void)level;
	snprintf(trace[i], sizeof(trace[i]), "%s", line);
}

void __sanitizer_set_death_callback(void (*cb)(void));

static void trace_dump(void)
{
	unsigned n = atomic_load(&trace_n);

	for (unsigned i = 0; i < TRACE_LINES; i++)
		if (trace[(n + i) % TRACE_LINES][0])
			fprintf(stderr, "server log: %s\n",
				trace[(n + i) % TRACE_LINES]);
}

static void init_once(void)
{
	struct vhu_server_opts o = {
		.name = "fuzz", .offer_packed = true, .offer_xen_mmap = true};

	if (srv)
		return;
	log_set_level(LOG_LEVEL_DEBUG);
	if (!getenv("FUZZ_VHOST_USER_LOG")) {
		log_set_hook(trace_line);
		__sanitizer_set_death_callback(trace_dump);
	}
	if (loop_create(&ctl) < 0 || virtio_dev_init(&dev, &sink_ops, 0) < 0 ||
	    vhu_server_create(&srv, ctl, &dev, &o) < 0)
		abort();
	guest_fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	if (guest_fd < 0)
		abort();
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void send_chunk(int sock, const uint8_t *p, size_t len, unsigned nfds,
		       bool events)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 3)];
		struct cmsghdr align;
	} c;
	struct iovec iov = {(void *)p, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int fds[3];

	for (unsigned i = 0; i < nfds; i++)
		fds[i] = events ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)
				: guest_fd;
	if (nfds) {
		struct cmsghdr *h;

		mh.msg_control = c.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(h), fds, sizeof(int) * nfds);
	}
	/* The peer may have hung up already: that is fine. */
	(void)!sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	for (unsigned i = 0; events && i < nfds; i++)
		close(fds[i]);
}

static void drain(int sock)
{
	char buf[4096];

	while (recv(sock, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/*
 * Cut the input in chunks and send them all, then end the stream. The
 * server assembles messages from whatever pieces come, so chunks cut
 * messages anywhere, fds with any byte. Replies (a few hundred bytes per
 * message, one message per loop turn) are drained after every turn, so a
 * full reply buffer, which disconnects, does not happen by accident.
 */
static void feed(int sock, const uint8_t *data, size_t size)
{
	unsigned fds_left = FDS_PER_RUN;

	while (size >= 3) {
		unsigned nfds = data[0] & 3;
		bool events = data[0] & 4;
		size_t len = (size_t)data[1] | (size_t)data[2] << 8;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (!len)
			continue;
		if (nfds > fds_left)
			nfds = fds_left;
		fds_left -= nfds;
		send_chunk(sock, data, len, nfds, events);
		data += len;
		size -= len;
	}
	shutdown(sock, SHUT_WR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2], before;

	init_once();
	/* Fresh, zeroed guest memory every run. */
	if (ftruncate(guest_fd, 0) < 0 || ftruncate(guest_fd, GUEST_SIZE) < 0)
		abort();
	before = count_fds();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (vhu_server_serve_fd(srv, sv[0]) < 0)
		abort();
	feed(sv[1], data, size);
	while (vhu_server_is_connected(srv)) {
		if (loop_run_once(ctl, 1000) < 0)
			abort();
		drain(sv[1]);
	}
	close(sv[1]);
	/* Every fd the server received is closed with the connection. */
	if (count_fds() != before)
		abort();
	return 0;
}
