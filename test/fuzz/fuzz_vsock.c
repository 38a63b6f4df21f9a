// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the virtio-vsock model's packet parser and
 * connection state machine: the input is a hostile guest driving the tx
 * and rx queues, interleaved with a host that accepts, writes, half-closes
 * and closes real unix sockets. Steps of 8 bytes:
 *
 *   op % 8: 0-3 a tx packet: op, type, src/dst CID and port, flags,
 *               length and credit from the input (the CIDs and ports
 *               often right, hdr.len often matching its buffer)
 *           4   a tx buffer of the wrong shape (short, with a writable
 *               part, cut in segments)
 *           5   rx buffers, some too small for a header
 *           6   host side: accept, connect (STREAM to uds, or one
 *               SOCK_SEQPACKET message to uds.seqpacket; plain or as
 *               the sibling CID 4), write (on SEQPACKET a message, empty
 *               ones too), shutdown or close, then run the loop
 *           7   tx stop and restart, or a device reset and restart
 *
 * Checked beyond "no crash, no sanitizer report": every rx used length is
 * a header at least and at most the buffer (0 only for a buffer with no
 * room for data), its hdr.len matches, every
 * packet is addressed to the guest's CID, nothing past an rx buffer is
 * written (guard bytes follow each), and every mapping is undone once the
 * queues stop.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_gmem.h"
#include "log.h"
#include "loop.h"
#include "ring_driver.h"
#include "vsock.h"

#define RING   0x100000ull
#define TXDATA 0x200000ull
#define RXDATA 0x400000ull
#define SLOT   0x2000ull
#define GUARD  0x40u
#define QSIZE  32
#define FILL   0x5a
#define CID    3
#define HDR    44u
#define HOSTS  16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct fake_gmem mem;
	struct ring_driver q[3];
	struct vsock_dev *dev;
	struct loop *loop;
	struct virtio_transport tp;
	uint32_t rx_len[QSIZE];
	int lfd[2];
	int host[HOSTS];
	unsigned tx_slot;
};

static char dir[64], uds[96];

static void check_at(int cond, int line)
{
	if (!cond) {
		fprintf(stderr, "fuzz_vsock.c:%d: check failed\n", line);
		abort();
	}
}
#define check(cond) check_at(cond, __LINE__)

static void tp_notify(struct virtio_transport *t, unsigned q)
{
	(void)t;
	(void)q;
}

static const struct virtio_transport_ops tp_ops = {.notify_queue = tp_notify,
						   .queue_error = tp_notify};

static void quiet(enum log_level level, const char *line)
{
	(void)level;
	(void)line;
}

static struct virtio_dev *vd(struct run *r)
{
	return vsock_dev_virtio(r->dev);
}

static int listen_at(unsigned port, int type)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, type | SOCK_NONBLOCK, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", uds, port);
	unlink(a.sun_path);
	check(fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	      !listen(fd, 16));
	return fd;
}

static void start_queues(struct run *r)
{
	for (unsigned q = 0; q < 3; q++)
		check(!virtio_dev_queue_start(vd(r), q, &r->q[q].layout,
					      r->q[q].base));
}

static void setup(struct run *r)
{
	static const struct vsock_sibling sib = {.cid = 4,
						 .uds = "/nonexistent/sibling"};

	memset(r, 0, sizeof(*r));
	r->tp.ops = &tp_ops;
	for (unsigned i = 0; i < HOSTS; i++)
		r->host[i] = -1;
	check(!fake_gmem_init(&r->mem));
	check(!fake_gmem_add(&r->mem, RING, 0x100000, GMEM_READ | GMEM_WRITE));
	check(!fake_gmem_add(&r->mem, TXDATA, 0x200000,
			     GMEM_READ | GMEM_WRITE));
	check(!fake_gmem_add(&r->mem, RXDATA, QSIZE * SLOT,
			     GMEM_READ | GMEM_WRITE));
	for (unsigned q = 0; q < 3; q++)
		check(!ring_driver_init(
			&r->q[q], &r->mem,
			&(struct ring_driver_cfg){
				.features = 1ull << VIRTIO_RING_F_EVENT_IDX,
				.num = QSIZE,
				.ring = RING + q * 0x10000}));
	check(!vsock_dev_create(&r->dev,
				&(struct vsock_dev_params){.name = "fuzz",
							   .cid = CID,
							   .uds = uds,
							   .max_conns = 8,
							   .buf_size = 8192,
							   .siblings = &sib,
							   .nsiblings = 1},
				0));
	check(!loop_create(&r->loop));
	vd(r)->loop = r->loop;
	virtio_dev_attach(vd(r), &r->tp, &r->mem.gmem);
	check(!virtio_dev_set_features(
		vd(r), (1ull << VIRTIO_F_VERSION_1) |
			       (1ull << VIRTIO_RING_F_EVENT_IDX) |
			       (1ull << VIRTIO_VSOCK_F_SEQPACKET)));
	start_queues(r);
	r->lfd[0] = listen_at(0, SOCK_STREAM);
	r->lfd[1] = listen_at(1, SOCK_SEQPACKET);
}

/* Every used rx buffer: a header addressed to the guest, guards intact. */
static void check_rx(struct run *r)
{
	uint16_t id;
	uint32_t len;
	uint8_t guard[GUARD];

	while (ring_driver_get_used(&r->q[0], &id, &len) == 1) {
		uint64_t a = RXDATA + id * SLOT;
		struct virtio_vsock_hdr h;

		check(len <= r->rx_len[id]);
		if (r->rx_len[id] < HDR)
			/* Too small for a header: given back unused. */
			check(len == 0);
		if (len == 0) {
			/* Or a header exactly when no header was due. */
			check(r->rx_len[id] <= HDR);
			continue;
		}
		check(len >= HDR);
		check(!fake_gmem_read(&r->mem, a, &h, HDR));
		check(le32toh(h.len) == len - HDR);
		check(le64toh(h.dst_cid) == CID);
		check(!fake_gmem_read(&r->mem, a + r->rx_len[id], guard,
				      GUARD));
		for (unsigned i = 0; i < GUARD; i++)
			check(guard[i] == FILL);
	}
	while (ring_driver_get_used(&r->q[1], &id, &len) == 1)
		check(len == 0);
}

static void tx_packet(struct run *r, const uint8_t *s)
{
	static const uint8_t payload[4096];
	uint64_t a = TXDATA + (r->tx_slot++ % QSIZE) * SLOT;
	uint32_t len = (uint32_t)(s[7] & 0x3f) * 64;
	struct virtio_vsock_hdr h = {
		.src_cid = htole64(s[3] & 1 ? CID : s[3]),
		.dst_cid = htole64(s[3] & 2 ? 2 : (s[3] & 4 ? 4 : s[3] >> 3)),
		.src_port = htole32(s[4] % 4),
		/* Host-initiated connections have ports from 2^30. */
		.dst_port = htole32(s[5] & 0x80 ? VSOCK_DEV_HOST_PORT_FIRST +
							  s[5] % 4
						: s[5] % 3),
		.len = htole32(s[0] & 0x80 ? len + s[6] : len),
		.type = htole16(s[2] % 3),
		.op = htole16(s[1] % 9),
		.flags = htole32(s[6] % 8),
		.buf_alloc = htole32((uint32_t)s[6] << 8),
		.fwd_cnt = htole32((uint32_t)s[7] << 6),
	};
	struct ring_seg seg[2] = {{a, HDR, false}, {a + HDR, len, false}};

	check(!fake_gmem_write(&r->mem, a, &h, HDR));
	check(!fake_gmem_write(&r->mem, a + HDR, payload, len));
	if (ring_driver_add(&r->q[1], seg, len ? 2 : 1, false) < 0)
		return;
	ring_driver_publish(&r->q[1]);
	virtio_dev_kick(vd(r), VSOCK_DEV_TXQ);
}

static void tx_odd(struct run *r, const uint8_t *s)
{
	uint64_t a = TXDATA + (r->tx_slot++ % QSIZE) * SLOT;
	struct ring_seg seg[3] = {
		{a, s[1] % 64, false},
		{a + 64, s[2] % 64, s[3] & 1},
		{a + 128, s[4] % 64, true},
	};

	if (ring_driver_add(&r->q[1], seg, 1 + s[5] % 3, false) < 0)
		return;
	ring_driver_publish(&r->q[1]);
	virtio_dev_kick(vd(r), VSOCK_DEV_TXQ);
}

static void rx_buffers(struct run *r, const uint8_t *s)
{
	uint8_t fill[SLOT];

	memset(fill, FILL, sizeof(fill));
	for (unsigned i = 0; i < 1u + s[1] % 8; i++) {
		uint8_t b = s[2 + i % 6];
		/* Mostly room for data, sometimes a header exactly, sometimes
		 * less than a header. */
		uint32_t len = b & 1 ? 44 + (b & 2 ? 0 : b * 16u) : b % 64;
		struct ring_seg seg = {0, len, true};
		int id = ring_driver_add(&r->q[0], &seg, 1, false);

		if (id < 0)
			break;
		r->q[0].desc[r->q[0].last_head].addr =
			htole64(RXDATA + (uint64_t)id * SLOT);
		r->rx_len[id] = len;
		check(!fake_gmem_write(&r->mem, RXDATA + (uint64_t)id * SLOT,
				       fill, len + GUARD));
	}
	ring_driver_publish(&r->q[0]);
	virtio_dev_kick(vd(r), VSOCK_DEV_RXQ);
}

static void host_step(struct run *r, const uint8_t *s)
{
	static const char junk[1024];
	unsigned k = s[2] % HOSTS;
	int fd;

	for (unsigned l = 0; l < 2; l++)
		while ((fd = accept4(r->lfd[l], NULL, NULL, SOCK_NONBLOCK)) >=
		       0) {
			unsigned slot = 0;

			while (slot < HOSTS && r->host[slot] >= 0)
				slot++;
			if (slot == HOSTS) {
				close(fd);
				continue;
			}
			r->host[slot] = fd;
		}
	if (s[1] % 4 == 0 && r->host[k] < 0) {
		/* A host program connecting to the guest. */
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		char line[40];
		bool seq = s[3] & 4;
		int n = snprintf(line, sizeof(line),
				 s[3] & 1 ? "CONNECT %u\n"
					  : "CONNECT %u FROM 4 %u\n",
				 s[3] % 3, s[4] % 3);

		snprintf(a.sun_path, sizeof(a.sun_path), "%s%s", uds,
			 seq ? VSOCK_DEV_SEQ_SUFFIX : "");
		fd = socket(AF_UNIX,
			    (seq ? SOCK_SEQPACKET : SOCK_STREAM) |
				    SOCK_NONBLOCK,
			    0);
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)) &&
		    send(fd, line, (size_t)n, MSG_NOSIGNAL) == n)
			r->host[k] = fd;
		else
			close(fd);
	} else if (r->host[k] >= 0) {
		if (s[1] % 4 == 1)
			(void)!send(r->host[k], junk, s[4] * 4u, MSG_NOSIGNAL);
		else if (s[1] % 4 == 2)
			shutdown(r->host[k], SHUT_WR);
		else {
			close(r->host[k]);
			r->host[k] = -1;
		}
		(void)!read(r->host[k] >= 0 ? r->host[k] : -1, (char[64]){0},
			    64);
	}
	for (int i = 0; i < 4 && loop_run_once(r->loop, 0) > 0; i++)
		;
}

static void restart(struct run *r, const uint8_t *s)
{
	uint32_t base;

	if (s[1] & 1) {
		check(!virtio_dev_queue_stop(vd(r), VSOCK_DEV_TXQ, &base));
		check(!virtio_dev_queue_start(vd(r), VSOCK_DEV_TXQ,
					      &r->q[1].layout, base));
		return;
	}
	check_rx(r);
	virtio_dev_reset(vd(r));
	for (unsigned q = 0; q < 3; q++) {
		ring_driver_destroy(&r->q[q]);
		check(!ring_driver_init(
			&r->q[q], &r->mem,
			&(struct ring_driver_cfg){
				.features = 1ull << VIRTIO_RING_F_EVENT_IDX,
				.num = QSIZE,
				.ring = RING + q * 0x10000}));
	}
	check(!virtio_dev_set_features(
		vd(r), (1ull << VIRTIO_F_VERSION_1) |
			       (1ull << VIRTIO_RING_F_EVENT_IDX) |
			       (1ull << VIRTIO_VSOCK_F_SEQPACKET)));
	start_queues(r);
}

static void teardown(struct run *r)
{
	uint32_t base;

	check_rx(r);
	for (unsigned q = 0; q < 3; q++)
		if (virtio_dev_queue_is_started(vd(r), q))
			virtio_dev_queue_stop(vd(r), q, &base);
	check(fake_gmem_live(&r->mem) == 0);
	vsock_dev_destroy(r->dev);
	loop_destroy(r->loop);
	for (unsigned q = 0; q < 3; q++)
		ring_driver_destroy(&r->q[q]);
	fake_gmem_destroy(&r->mem);
	for (unsigned i = 0; i < HOSTS; i++)
		if (r->host[i] >= 0)
			close(r->host[i]);
	close(r->lfd[0]);
	close(r->lfd[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/vb-fuzz-vsock-XXXXXX");
		check(mkdtemp(dir) != NULL);
		snprintf(uds, sizeof(uds), "%s/g.vsock", dir);
	}
	log_set_hook(quiet);
	setup(&r);
	for (size_t i = 0; i + 8 <= size && i < 8 * 400; i += 8) {
		const uint8_t *s = data + i;

		switch (s[0] % 8) {
		case 4:
			tx_odd(&r, s);
			break;
		case 5:
			rx_buffers(&r, s);
			break;
		case 6:
			host_step(&r, s);
			break;
		case 7:
			restart(&r, s);
			break;
		default:
			tx_packet(&r, s);
		}
		check_rx(&r);
	}
	teardown(&r);
	return 0;
}
