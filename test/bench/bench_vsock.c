// SPDX-License-Identifier: MIT
/*
 * virtio-vsock benchmark, in one process: the driver side of real rings
 * (test/support/ring_driver) does what the Linux virtio vsock driver does
 * -- a header and a payload descriptor per tx packet, rx buffers of one
 * descriptor, credit from the device's buf_alloc/fwd_cnt, CREDIT_UPDATE
 * after each 64 KiB it consumed -- and the device side is the vsock model
 * (devices/vsock*.c) behind virtio_dev_kick and its data-path loop, with a
 * real unix socket to a host peer thread.
 *
 * Rows, for 4 KiB and 64 KiB writes: guest->host and host->guest MB/s,
 * the main thread's CPU seconds per GiB (driver and device together: what
 * a back-end thread would spend, plus the driver's share), and heap
 * allocations per packet in the timed window (test/support/alloc_count);
 * each against a baseline in the same run: the same bytes through a plain
 * unix socketpair in the same chunk size, with the same peer thread (the
 * physical limit here). Then connection setup: REQUEST .. RESPONSE ..
 * SHUTDOWN .. RST cycles per second against unix connect/accept/close.
 *
 * It prints numbers and asserts nothing about speed.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_vsock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alloc_count.h"
#include "loop.h"
#include "ring_driver.h"
#include "vsock.h"

#define QSIZE	 128
#define HDR	 44u
#define RING	 0x100000ull
#define TXDATA	 0x1000000ull /* QSIZE slots of 64 KiB + header */
#define RXDATA	 0x2000000ull
#define SLOT	 0x11000ull
#define GBUF	 (256u * 1024u) /* the guest's buf_alloc, Linux's default */
#define CID	 3
#define PORT	 5000
#define CONN_RUN 5000
/* Bytes per row: enough for steady figures (each row takes well under a
 * second here) and a bounded run; a row that stalls past ROW_LIMIT_S is
 * cut short and said so, never a hang. */
#define TOTAL_4K    (32ull << 20)
#define TOTAL_64K   (128ull << 20)
#define ROW_LIMIT_S 20.0
#define REPS	    3 /* each figure: the best of REPS runs, both sides */

struct bench {
	struct fake_gmem mem;
	struct ring_driver q[3];
	struct vsock_dev *dev;
	struct loop *loop;
	struct virtio_transport tp;
	char dir[64], uds[96], lpath[112];
	int lfd, fd; /* host listener, host end of the connection */
	uint32_t gport;
	uint32_t rx_size;	       /* rx buffer payload bytes */
	uint64_t rx_addr[QSIZE];       /* by buffer id */
	uint32_t peer_alloc, peer_fwd; /* the device's credit */
	uint32_t fwd, fwd_told;	       /* what the guest consumed */
	uint64_t packets;
};

static void tp_notify(struct virtio_transport *t, unsigned q)
{
	(void)t;
	(void)q;
}
static const struct virtio_transport_ops tp_ops = {.notify_queue = tp_notify};

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct virtio_dev *vd(struct bench *b)
{
	return vsock_dev_virtio(b->dev);
}

static struct virtio_vsock_hdr hdr(struct bench *b, uint16_t op, uint32_t len)
{
	return (struct virtio_vsock_hdr){
		.src_cid = htole64(CID),
		.dst_cid = htole64(2),
		.src_port = htole32(b->gport),
		.dst_port = htole32(PORT),
		.len = htole32(len),
		.type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
		.op = htole16(op),
		.buf_alloc = htole32(GBUF),
		.fwd_cnt = htole32(b->fwd),
	};
}

/* Queue one tx packet in slot i (payload already in guest memory). */
static void tx_add(struct bench *b, unsigned i, uint16_t op, uint32_t len)
{
	struct virtio_vsock_hdr h = hdr(b, op, len);
	uint64_t a = TXDATA + i * SLOT;
	struct ring_seg s[2] = {{a, HDR, false}, {a + HDR, len, false}};

	fake_gmem_write(&b->mem, a, &h, HDR);
	ring_driver_add(&b->q[1], s, len ? 2 : 1, false);
}

static void tx_flush(struct bench *b)
{
	uint16_t id;
	uint32_t len;

	ring_driver_publish(&b->q[1]);
	virtio_dev_kick(vd(b), VSOCK_DEV_TXQ);
	while (ring_driver_get_used(&b->q[1], &id, &len) == 1)
		;
}

static void rx_add(struct bench *b)
{
	struct ring_seg s = {0, HDR + b->rx_size, true};
	int id = ring_driver_add(&b->q[0], &s, 1, false);

	if (id < 0)
		return;
	b->rx_addr[id] = RXDATA + (uint64_t)id * SLOT;
	b->q[0].desc[b->q[0].last_head].addr = htole64(b->rx_addr[id]);
}

/* Read used rx buffers, give them back; returns payload bytes seen. */
static uint64_t rx_drain(struct bench *b)
{
	uint64_t bytes = 0;
	uint16_t id;
	uint32_t len;
	unsigned n = 0;

	while (ring_driver_get_used(&b->q[0], &id, &len) == 1) {
		struct virtio_vsock_hdr *h =
			fake_gmem_ptr(&b->mem, b->rx_addr[id], HDR);

		b->peer_alloc = le32toh(h->buf_alloc);
		b->peer_fwd = le32toh(h->fwd_cnt);
		if (le16toh(h->op) == VIRTIO_VSOCK_OP_RW) {
			bytes += len - HDR;
			b->fwd += len - HDR;
			b->packets++;
		}
		n++;
	}
	while (n--)
		rx_add(b);
	if (bytes || ring_driver_num_free(&b->q[0]) < QSIZE) {
		ring_driver_publish(&b->q[0]);
		virtio_dev_kick(vd(b), VSOCK_DEV_RXQ);
	}
	return bytes;
}

static int setup(struct bench *b, uint32_t rx_size)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	memset(b, 0, sizeof(*b));
	b->rx_size = rx_size;
	b->tp.ops = &tp_ops;
	snprintf(b->dir, sizeof(b->dir), "/tmp/vb-bench-vsock-XXXXXX");
	if (!mkdtemp(b->dir))
		return -1;
	snprintf(b->uds, sizeof(b->uds), "%s/g.vsock", b->dir);
	snprintf(b->lpath, sizeof(b->lpath), "%s_%u", b->uds, PORT);
	if (fake_gmem_init(&b->mem) ||
	    fake_gmem_add(&b->mem, RING, 0x100000, GMEM_READ | GMEM_WRITE) ||
	    fake_gmem_add(&b->mem, TXDATA, QSIZE * SLOT,
			  GMEM_READ | GMEM_WRITE) ||
	    fake_gmem_add(&b->mem, RXDATA, QSIZE * SLOT,
			  GMEM_READ | GMEM_WRITE))
		return -1;
	for (unsigned q = 0; q < 3; q++)
		if (ring_driver_init(
			    &b->q[q], &b->mem,
			    &(struct ring_driver_cfg){
				    .features = 1ull << VIRTIO_RING_F_EVENT_IDX,
				    .num = QSIZE,
				    .ring = RING + q * 0x10000}))
			return -1;
	if (vsock_dev_create(&b->dev,
			     &(struct vsock_dev_params){.name = "bench",
							.cid = CID,
							.uds = b->uds},
			     0) ||
	    loop_create(&b->loop))
		return -1;
	vd(b)->loop = b->loop;
	virtio_dev_attach(vd(b), &b->tp, &b->mem.gmem);
	if (virtio_dev_set_features(vd(b),
				    (1ull << VIRTIO_F_VERSION_1) |
					    (1ull << VIRTIO_RING_F_EVENT_IDX)))
		return -1;
	for (unsigned q = 0; q < 3; q++)
		if (virtio_dev_queue_start(vd(b), q, &b->q[q].layout,
					   b->q[q].base))
			return -1;
	strcpy(a.sun_path, b->lpath);
	b->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(b->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(b->lfd, 128))
		return -1;
	for (unsigned i = 0; i < QSIZE - 1; i++)
		rx_add(b);
	ring_driver_publish(&b->q[0]);
	virtio_dev_kick(vd(b), VSOCK_DEV_RXQ);
	return 0;
}

static void teardown(struct bench *b)
{
	uint32_t base;

	for (unsigned q = 0; q < 3; q++)
		virtio_dev_queue_stop(vd(b), q, &base);
	vsock_dev_destroy(b->dev);
	loop_destroy(b->loop);
	for (unsigned q = 0; q < 3; q++)
		ring_driver_destroy(&b->q[q]);
	fake_gmem_destroy(&b->mem);
	close(b->lfd);
	unlink(b->lpath);
	rmdir(b->dir);
}

/* Guest port gport connects to the host; returns the host's fd. */
static int connect_once(struct bench *b)
{
	/* A new connection's counters start at 0 on both sides. */
	b->fwd = b->fwd_told = 0;
	b->peer_fwd = 0;
	b->packets = 0;
	tx_add(b, 0, VIRTIO_VSOCK_OP_REQUEST, 0);
	tx_flush(b);
	rx_drain(b);
	return accept(b->lfd, NULL, NULL);
}

static void close_once(struct bench *b, int fd)
{
	struct virtio_vsock_hdr h = hdr(b, VIRTIO_VSOCK_OP_SHUTDOWN, 0);
	uint64_t a = TXDATA;
	struct ring_seg s = {a, HDR, false};

	h.flags =
		htole32(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	fake_gmem_write(&b->mem, a, &h, HDR);
	ring_driver_add(&b->q[1], &s, 1, false);
	tx_flush(b);
	rx_drain(b); /* the RST */
	close(fd);
}

/* ---- the host peer ---- */

struct peer {
	int fd;
	uint64_t total;
	uint32_t chunk;
	bool write;
	uint64_t done;
};

static void *peer_run(void *arg)
{
	struct peer *p = arg;
	static char buf[1 << 20];

	while (p->done < p->total) {
		size_t want = p->total - p->done < p->chunk
				      ? (size_t)(p->total - p->done)
				      : p->chunk;
		ssize_t n = p->write ? send(p->fd, buf, want, MSG_NOSIGNAL)
				     : recv(p->fd, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		p->done += (uint64_t)n;
	}
	return NULL;
}

struct result {
	double secs, cpu;
	uint64_t bytes, packets;
	unsigned long allocs;
	bool stalled; /* cut short at ROW_LIMIT_S */
};

static bool late(double t0)
{
	return now(CLOCK_MONOTONIC) - t0 > ROW_LIMIT_S;
}

static void print_row(const char *what, uint32_t chunk, const struct result *r,
		      const struct result *base)
{
	double mbs = r->bytes / r->secs / 1e6,
	       bmbs = base->bytes / base->secs / 1e6;
	double gib = r->bytes / (double)(1u << 30);

	printf("%-12s %6u KiB %10.0f %10.0f %6.0f %% %9.2f %9.2f %9.3f%s\n",
	       what, chunk / 1024, mbs, bmbs, 100 * mbs / bmbs, r->cpu / gib,
	       base->cpu / (base->bytes / (double)(1u << 30)),
	       r->packets ? (double)r->allocs / (double)r->packets : 0.0,
	       r->stalled ? "  STALLED: cut short" : "");
}

static void g2h(struct bench *b, uint32_t chunk, uint64_t total,
		struct result *r)
{
	struct peer p = {.total = total, .chunk = 1 << 20};
	uint64_t sent = 0;
	uint32_t fwd;
	pthread_t t;
	double t0, c0;
	unsigned long a0;

	*r = (struct result){0};
	b->gport = 1000 + chunk;
	p.fd = connect_once(b);
	b->peer_alloc = VSOCK_DEV_BUF_DEFAULT;
	pthread_create(&t, NULL, peer_run, &p);
	a0 = alloc_count_get();
	t0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_THREAD_CPUTIME_ID);
	while (sent < total && !(r->stalled = late(t0))) {
		unsigned n = 0;

		while (n < QSIZE / 2 && sent < total &&
		       b->peer_alloc - (uint32_t)(sent - b->peer_fwd) >=
			       chunk) {
			tx_add(b, n++, VIRTIO_VSOCK_OP_RW, chunk);
			sent += chunk;
		}
		if (n) {
			tx_flush(b);
			b->packets += n;
		}
		fwd = b->peer_fwd;
		rx_drain(b);
		/* Out of credit and none came back: wait for the socket. */
		if (!n && fwd == b->peer_fwd)
			loop_run_once(b->loop, 1);
	}
	while (p.done < sent && !(r->stalled = late(t0)))
		if (loop_run_once(b->loop, 10) < 0)
			break;
	r->cpu = now(CLOCK_THREAD_CPUTIME_ID) - c0;
	if (p.done < total)
		shutdown(p.fd, SHUT_RDWR); /* cut short: end the peer */
	pthread_join(t, NULL);
	r->secs = now(CLOCK_MONOTONIC) - t0;
	r->allocs = alloc_count_get() - a0;
	r->bytes = p.done;
	r->packets = b->packets;
	close_once(b, p.fd);
}

static void h2g(struct bench *b, uint32_t chunk, uint64_t total,
		struct result *r)
{
	struct peer p = {.total = total, .chunk = chunk, .write = true};
	uint64_t got = 0;
	pthread_t t;
	double t0, c0;
	unsigned long a0;

	*r = (struct result){0};
	b->gport = 2000 + chunk;
	p.fd = connect_once(b);
	b->packets = 0;
	pthread_create(&t, NULL, peer_run, &p);
	a0 = alloc_count_get();
	t0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_THREAD_CPUTIME_ID);
	while (got < total && !(r->stalled = late(t0))) {
		uint64_t n = rx_drain(b);

		/* Wait for the socket only when the device had nothing. */
		loop_run_once(b->loop, n ? 0 : 10);
		got += n;
		if (b->fwd - b->fwd_told >= 64 * 1024) {
			tx_add(b, 0, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
			tx_flush(b);
			b->fwd_told = b->fwd;
		}
	}
	r->cpu = now(CLOCK_THREAD_CPUTIME_ID) - c0;
	r->secs = now(CLOCK_MONOTONIC) - t0;
	r->allocs = alloc_count_get() - a0;
	r->bytes = got;
	r->packets = b->packets;
	if (got < total)
		shutdown(p.fd, SHUT_RDWR);
	pthread_join(t, NULL);
	close_once(b, p.fd);
}

/* The same bytes through a socketpair; write: the main thread writes. */
static void baseline(uint32_t chunk, uint64_t total, bool main_writes,
		     struct result *r)
{
	static char buf[1 << 16];
	int sv[2];
	struct peer p = {.total = total,
			 .chunk = main_writes ? 1 << 20 : chunk,
			 .write = !main_writes};
	uint64_t done = 0;
	pthread_t t;
	double t0, c0;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	p.fd = sv[1];
	pthread_create(&t, NULL, peer_run, &p);
	t0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_THREAD_CPUTIME_ID);
	while (done < total) {
		ssize_t n = main_writes ? write(sv[0], buf, chunk)
					: read(sv[0], buf, chunk);

		if (n <= 0)
			break;
		done += (uint64_t)n;
	}
	r->cpu = now(CLOCK_THREAD_CPUTIME_ID) - c0;
	pthread_join(t, NULL);
	r->secs = now(CLOCK_MONOTONIC) - t0;
	r->bytes = done;
	r->packets = 0;
	close(sv[0]);
	close(sv[1]);
}

static void conn_rate(struct bench *b)
{
	double t0 = now(CLOCK_MONOTONIC), vs, us;
	unsigned long a0 = alloc_count_get(), allocs;
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	for (unsigned i = 0; i < CONN_RUN; i++) {
		b->gport = 100000 + i;
		close_once(b, connect_once(b));
	}
	vs = now(CLOCK_MONOTONIC) - t0;
	allocs = alloc_count_get() - a0;
	strcpy(a.sun_path, b->lpath);
	t0 = now(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < CONN_RUN; i++) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);

		connect(c, (struct sockaddr *)&a, sizeof(a));
		close(accept(b->lfd, NULL, NULL));
		close(c);
	}
	us = now(CLOCK_MONOTONIC) - t0;
	printf("%-12s %10.0f /s %10.0f /s %6.0f %%   %.1f allocations per "
	       "connection (its buffer; STREAM needs one)\n",
	       "connect", CONN_RUN / vs, CONN_RUN / us, 100 * us / vs,
	       (double)allocs / CONN_RUN);
}

static double mbs_of(const struct result *r)
{
	return r->secs > 0 ? r->bytes / r->secs : 0;
}

/* The best of REPS runs of one direction and of its baseline. */
static void row(struct bench *b, const char *what, uint32_t chunk,
		uint64_t total, bool to_host)
{
	struct result r, base, best = {0}, best_base = {0};

	for (unsigned k = 0; k < REPS; k++) {
		if (to_host)
			g2h(b, chunk, total, &r);
		else
			h2g(b, chunk, total, &r);
		baseline(chunk, r.bytes, to_host, &base);
		if (mbs_of(&r) > mbs_of(&best))
			best = r;
		if (mbs_of(&base) > mbs_of(&best_base))
			best_base = base;
		if (r.stalled)
			break;
	}
	print_row(what, chunk, &best, &best_base);
}

int main(void)
{
	static const uint32_t chunks[] = {4096, 65536};
	struct bench b;

	if (!alloc_count_is_active()) {
		fprintf(stderr, "bench_vsock: the allocation counter is not "
				"linked in (test/support/alloc_count.c)\n");
		return 1;
	}
	printf("virtio-vsock: STREAM through the model and a unix socket, "
	       "split ring with EVENT_IDX, queue %u, buf_size %u; baseline = "
	       "the same bytes through a unix socketpair\n",
	       QSIZE, VSOCK_DEV_BUF_DEFAULT);
	printf("%-12s %10s %10s %10s %8s %9s %9s %9s\n", "direction", "write",
	       "MB/s", "base MB/s", "of base", "cpu s/GiB", "base s/GiB",
	       "alloc/pkt");
	for (unsigned i = 0; i < 2; i++) {
		uint32_t c = chunks[i];
		uint64_t total = c == 4096 ? TOTAL_4K : TOTAL_64K;

		if (setup(&b, c)) {
			printf("setup failed\n");
			return 1;
		}
		row(&b, "guest->host", c, total, true);
		row(&b, "host->guest", c, total, false);
		teardown(&b);
	}
	if (setup(&b, 4096))
		return 1;
	conn_rate(&b);
	teardown(&b);
	printf("cpu = the main thread (ring driver + device model + loop); the "
	       "host peer thread is the same in both; each row the best of %u "
	       "runs of %llu MiB (4 KiB) or %llu MiB (64 KiB) on each side\n",
	       REPS, TOTAL_4K >> 20, TOTAL_64K >> 20);
	return 0;
}
