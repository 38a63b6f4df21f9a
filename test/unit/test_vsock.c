// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/vsock.c and vsock_conn.c: packets built by the
 * driver side of real rings (test/support/ring_driver), host sockets that
 * are real unix sockets in a temporary directory, served on a real loop
 * (core/loop.c) as on the device's data-path thread.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "vsock_guest.h"

/* ---- tests ---- */

static void test_config_and_features(void **state)
{
	struct guest g;
	uint64_t cid;

	(void)state;
	guest_up(&g, 7, NULL, 0, 0, 0);
	assert_int_equal(vd(&g)->ops->device_id, VIRTIO_ID_VSOCK);
	assert_int_equal(vd(&g)->ops->num_queues, 3);
	assert_int_equal(virtio_dev_config_read(vd(&g), 0, &cid, 8), 0);
	assert_int_equal(le64toh(cid), 7);
	assert_true(virtio_dev_features(vd(&g)) &
		    (1ull << VIRTIO_VSOCK_F_SEQPACKET));
	guest_down(&g);
	/* Reserved CIDs and limits out of range are refused. */
	assert_int_equal(vsock_dev_create(&g.dev,
					  &(struct vsock_dev_params){
						  .cid = 2, .uds = "/tmp/x"},
					  0),
			 -EINVAL);
	assert_int_equal(
		vsock_dev_create(&g.dev,
				 &(struct vsock_dev_params){.cid = 3,
							    .uds = "/tmp/x",
							    .buf_size = 100},
				 0),
		-EINVAL);
}

static void test_guest_to_host_stream_half_close(void **state)
{
	struct guest g;
	struct virtio_vsock_hdr h;
	uint8_t buf[4096];
	int l, fd;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 0);
	l = host_listen(3, 5000, SOCK_STREAM);
	rx_post(&g, 16);
	fd = open_g2h(&g, l, STREAM);
	assert_int_equal(vsock_dev_conn_count(g.dev), 1);
	/* Nothing pending either way: the loop sleeps (no EPOLLOUT armed on
	 * an always-writable socket). */
	assert_int_equal(loop_run_once(lp, 20), 0);
	tx(&g, H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_RW), "hello", 5);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(write(fd, "world", 5), 5);
	spin();
	assert_int_equal(rx_get(&g, &h, buf), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(le32toh(h.src_cid), 2);
	assert_int_equal(le32toh(h.src_port), 5000);
	assert_int_equal(le32toh(h.dst_port), 1000);
	assert_int_equal(le32toh(h.buf_alloc), VSOCK_DEV_BUF_DEFAULT);
	assert_int_equal(le32toh(h.fwd_cnt), 5);
	/* The guest half-closes: EOF on the host, which still answers. */
	h = H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_SHUTDOWN);
	h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_SEND);
	tx(&g, h, NULL, 0);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	assert_int_equal(write(fd, "bye", 3), 3);
	spin();
	assert_int_equal(rx_get(&g, &h, buf), 3);
	assert_memory_equal(buf, "bye", 3);
	/* The host closes: SHUTDOWN with both flags, then the final RST. */
	close(fd);
	spin();
	expect_op(&g, VIRTIO_VSOCK_OP_SHUTDOWN, &h);
	assert_int_equal(le32toh(h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND |
						   VIRTIO_VSOCK_SHUTDOWN_RCV);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, NULL);
	assert_int_equal(vsock_dev_conn_count(g.dev), 0);
	host_unlisten(l, 3, 5000);
	guest_down(&g);
}

static void test_host_to_guest_stream_half_close(void **state)
{
	struct guest g;
	struct virtio_vsock_hdr h, r;
	char buf[4096];
	int fd;
	uint32_t hport;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 0);
	rx_post(&g, 16);
	fd = host_connect(3);
	assert_int_equal(write(fd, "CONNECT 1234\n", 13), 13);
	spin();
	expect_op(&g, VIRTIO_VSOCK_OP_REQUEST, &h);
	assert_int_equal(le64toh(h.src_cid), 2);
	assert_int_equal(le32toh(h.dst_port), 1234);
	hport = le32toh(h.src_port);
	assert_true(hport >= VSOCK_DEV_HOST_PORT_FIRST);
	r = H(3, 1234, 2, hport, STREAM, VIRTIO_VSOCK_OP_RESPONSE);
	tx(&g, r, NULL, 0);
	memset(buf, 0, sizeof(buf));
	assert_true(host_read(fd, buf, sizeof(buf)) > 0);
	snprintf(buf + 100, 64, "OK %u\n", hport);
	assert_string_equal(buf, buf + 100);
	/* Host half-closes after sending: data, then SHUTDOWN SEND. */
	assert_int_equal(write(fd, "abc", 3), 3);
	shutdown(fd, SHUT_WR);
	spin();
	assert_int_equal(rx_get(&g, &h, buf), 3);
	expect_op(&g, VIRTIO_VSOCK_OP_SHUTDOWN, &h);
	assert_int_equal(le32toh(h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* The guest still sends; the host still reads. */
	tx(&g, H(3, 1234, 2, hport, STREAM, VIRTIO_VSOCK_OP_RW), "xyz", 3);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 3);
	/* The guest closes both ways: EOF on the host, and the RST. */
	h = H(3, 1234, 2, hport, STREAM, VIRTIO_VSOCK_OP_SHUTDOWN);
	h.flags = htole32(3);
	tx(&g, h, NULL, 0);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, NULL);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	assert_int_equal(vsock_dev_conn_count(g.dev), 0);
	close(fd);

	/* A guest that refuses: the host socket is closed, no OK. */
	fd = host_connect(3);
	assert_int_equal(write(fd, "CONNECT 99\n", 11), 11);
	spin();
	expect_op(&g, VIRTIO_VSOCK_OP_REQUEST, &h);
	tx(&g, H(3, 99, 2, le32toh(h.src_port), STREAM, VIRTIO_VSOCK_OP_RST),
	   NULL, 0);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* A host that sends garbage is closed without a word to the guest. */
	fd = host_connect(3);
	assert_int_equal(write(fd, "HELLO\n", 6), 6);
	spin();
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	expect_nothing(&g);
	close(fd);
	guest_down(&g);
}

static void test_rst_paths(void **state)
{
	struct guest g;
	struct virtio_vsock_hdr h;
	int l;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 0);
	rx_post(&g, 32);
	/* Nobody listens at <uds>_4000. */
	tx(&g, H(3, 1, 2, 4000, STREAM, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, &h);
	assert_int_equal(le32toh(h.dst_port), 1);
	assert_int_equal(le32toh(h.src_port), 4000);
	/* A CID that is neither the host nor a sibling. */
	tx(&g, H(3, 1, 9, 4000, STREAM, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, &h);
	assert_int_equal(le64toh(h.src_cid), 9);
	/* Data for a connection that does not exist. */
	tx(&g, H(3, 1, 2, 4000, STREAM, VIRTIO_VSOCK_OP_RW), "x", 1);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, NULL);
	tx(&g, H(3, 1, 2, 4000, STREAM, VIRTIO_VSOCK_OP_CREDIT_UPDATE), NULL,
	   0);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, NULL);
	/* An unknown socket type and an unknown op. */
	tx(&g, H(3, 1, 2, 4000, 7, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, NULL);
	l = host_listen(3, 5000, SOCK_STREAM);
	close(open_g2h(&g, l, STREAM));
	spin();
	/* (the host closed: SHUTDOWN both) */
	expect_op(&g, VIRTIO_VSOCK_OP_SHUTDOWN, NULL);
	tx(&g, H(3, 1000, 2, 5000, STREAM, 42), NULL, 0);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, NULL);
	assert_int_equal(vsock_dev_conn_count(g.dev), 0);
	/* An RST is never answered. */
	tx(&g, H(3, 1, 2, 4000, STREAM, VIRTIO_VSOCK_OP_RST), NULL, 0);
	expect_nothing(&g);
	host_unlisten(l, 3, 5000);
	guest_down(&g);
}

static void test_hostile_packets_dropped(void **state)
{
	struct guest g;
	struct vsock_dev_stats st;
	struct virtio_vsock_hdr h;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 0);
	rx_post(&g, 8);
	log_lines = 0;
	/* Not the guest's CID: dropped, not answered. */
	tx(&g, H(4, 1, 2, 4000, STREAM, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	expect_nothing(&g);
	/* hdr.len says 100, the buffer holds 10. */
	h = H(3, 1, 2, 4000, STREAM, VIRTIO_VSOCK_OP_RW);
	h.len = htole32(100);
	tx_raw(&g, h, "0123456789", 10, 10);
	expect_nothing(&g);
	/* A buffer shorter than a header. */
	tx_raw(&g, h, NULL, 0, 0);
	vsock_dev_get_stats(g.dev, &st);
	assert_int_equal(st.dropped, 3);
	assert_true(log_lines >= 2);
	/* A control packet with payload is malformed: RST. */
	tx(&g, H(3, 1, 2, 4000, STREAM, VIRTIO_VSOCK_OP_REQUEST), "zz", 2);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, NULL);
	vsock_dev_get_stats(g.dev, &st);
	assert_int_equal(st.malformed, 1);
	guest_down(&g);
}

/* Take every rx packet (re-posting the buffers); the last fwd_cnt seen. */
static void drain_credit(struct guest *g, uint32_t *fwd)
{
	struct virtio_vsock_hdr h;
	unsigned n = 0;

	for (; rx_get(g, &h, NULL) >= 0; n++)
		*fwd = le32toh(h.fwd_cnt);
	if (n)
		rx_post(g, n);
}

static void test_credit_guest_to_host(void **state)
{
	static uint8_t big[4096];
	struct guest g;
	struct virtio_vsock_hdr h;
	uint8_t buf[8192];
	int l, fd;
	size_t got = 0;

	(void)state;
	guest_up(&g, 3, NULL, 0, 4096, 0);
	rx_post(&g, 16);
	l = host_listen(3, 5000, SOCK_STREAM);
	fd = open_g2h(&g, l, STREAM);
	/* Fill the host socket so the device must buffer. */
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	memset(big, 'a', sizeof(big));
	{
		bool rst = false;

		for (int i = 0; i < 1024 && vsock_dev_conn_count(g.dev); i++) {
			unsigned n = 0;

			tx(&g, H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_RW),
			   big, 1024);
			for (; rx_get(&g, &h, NULL) >= 0; n++)
				rst |= le16toh(h.op) == VIRTIO_VSOCK_OP_RST;
			rx_post(&g, n);
		}
		/* Credit overrun (more than buf_size waiting) resets it. */
		assert_int_equal(vsock_dev_conn_count(g.dev), 0);
		while (rx_get(&g, &h, NULL) >= 0)
			rst |= le16toh(h.op) == VIRTIO_VSOCK_OP_RST;
		assert_true(rst);
	}
	close(fd);

	/* Within credit: the device buffers, and tells the guest as the
	 * host reads. */
	fd = open_g2h(&g, l, STREAM);
	{
		int sz = 4096;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	uint32_t sent = 0, fwd = 0;
	for (int i = 0; i < 64; i++) {
		tx(&g, H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_RW), big,
		   1024);
		sent += 1024;
		drain_credit(&g, &fwd);
		/* The guest honours credit: never more than buf_size ahead. */
		while (sent - fwd > 4096 - 1024) {
			ssize_t n = host_read(fd, buf, sizeof(buf));

			assert_true(n > 0);
			got += (size_t)n;
			spin();
			drain_credit(&g, &fwd);
		}
	}
	assert_int_equal(vsock_dev_conn_count(g.dev), 1);
	/* Ask for credit: an update with everything the socket took. */
	tx(&g, H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_CREDIT_REQUEST),
	   NULL, 0);
	expect_op(&g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, &h);
	assert_int_equal(le32toh(h.buf_alloc), 4096);
	for (ssize_t n; got < sent && (n = host_read(fd, buf, sizeof(buf))) > 0;
	     spin())
		got += (size_t)n;
	assert_int_equal(got, sent);
	close(fd);
	host_unlisten(l, 3, 5000);
	guest_down(&g);
}

/*
 * Peer bug class: a vsock credit-request hang (a device that stops sending
 * when the guest's credit runs out and never asks for more, or ignores the
 * guest's CREDIT_REQUEST, so both sides wait for ever). Guaranteed
 * instead: stalled on credit the device sends one CREDIT_REQUEST and
 * resumes on the CREDIT_UPDATE; a guest's CREDIT_REQUEST is answered with
 * a CREDIT_UPDATE (test_credit_guest_to_host).
 */
static void test_credit_host_to_guest(void **state)
{
	static char data[1000];
	struct guest g;
	struct virtio_vsock_hdr h;
	char buf[4096];
	int l, fd, n;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 0);
	rx_post(&g, 16);
	l = host_listen(3, 5000, SOCK_STREAM);
	h = H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_REQUEST);
	h.buf_alloc = htole32(100); /* a guest with 100 bytes of room */
	tx(&g, h, NULL, 0);
	expect_op(&g, VIRTIO_VSOCK_OP_RESPONSE, NULL);
	fd = accept(l, NULL, NULL);
	memset(data, 'q', sizeof(data));
	assert_int_equal(write(fd, data, sizeof(data)), (int)sizeof(data));
	spin();
	n = rx_get(&g, &h, buf);
	assert_int_equal(n, 100);
	/* Stalled on credit: one CREDIT_REQUEST, no more data. */
	expect_op(&g, VIRTIO_VSOCK_OP_CREDIT_REQUEST, NULL);
	spin();
	expect_nothing(&g);
	/* The guest read it all: credit for the next 100 bytes. */
	h = H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	h.buf_alloc = htole32(100);
	tx(&g, h, NULL, 0);
	spin();
	assert_int_equal(rx_get(&g, &h, buf), 100);
	assert_int_equal(le32toh(h.fwd_cnt), 0);
	close(fd);
	host_unlisten(l, 3, 5000);
	guest_down(&g);
}

static void test_rx_buffers_stay_in_ring(void **state)
{
	struct guest g;
	struct virtio_vsock_hdr h;
	char buf[4096];
	int l, fd;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 0);
	l = host_listen(3, 5000, SOCK_STREAM);
	/* No rx buffers: the RESPONSE waits, tx is served. */
	tx(&g, H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	expect_nothing(&g);
	rx_post(&g, 4);
	expect_op(&g, VIRTIO_VSOCK_OP_RESPONSE, NULL);
	fd = accept(l, NULL, NULL);
	/* Three buffers in the ring and nothing to say: none is used. */
	spin();
	expect_nothing(&g);
	assert_int_equal(ring_driver_num_free(&g.q[0]), QSIZE - 3);
	assert_int_equal(write(fd, "late", 4), 4);
	spin();
	assert_int_equal(rx_get(&g, &h, buf), 4);
	close(fd);
	host_unlisten(l, 3, 5000);
	guest_down(&g);
}

static void test_seqpacket_boundaries(void **state)
{
	static char msg[6000];
	struct guest g;
	struct virtio_vsock_hdr h;
	char buf[8192];
	int l, fd, n;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 0);
	rx_post(&g, 16);
	l = host_listen(3, 5000, SOCK_SEQPACKET);
	fd = open_g2h(&g, l, SEQ);
	/* Two fragments, EOM on the second: one host message. */
	tx(&g, H(3, 1000, 2, 5000, SEQ, VIRTIO_VSOCK_OP_RW), "abc", 3);
	/* A fragment without EOM is not sendable: no EPOLLOUT busy loop. */
	assert_int_equal(loop_run_once(lp, 20), 0);
	h = H(3, 1000, 2, 5000, SEQ, VIRTIO_VSOCK_OP_RW);
	h.flags = htole32(VIRTIO_VSOCK_SEQ_EOM | VIRTIO_VSOCK_SEQ_EOR);
	tx(&g, h, "defg", 4);
	h.flags = htole32(VIRTIO_VSOCK_SEQ_EOM);
	tx(&g, h, "hi", 2);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "abcdefg", 7);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 2);
	/* A host message larger than an rx buffer: EOM on its last part. */
	memset(msg, 'm', sizeof(msg));
	assert_int_equal(send(fd, msg, sizeof(msg), 0), (int)sizeof(msg));
	assert_int_equal(send(fd, "z", 1, 0), 1);
	spin();
	n = rx_get(&g, &h, buf);
	assert_int_equal(n, 4096);
	assert_int_equal(le32toh(h.flags), 0);
	n = rx_get(&g, &h, buf);
	assert_int_equal(n, 6000 - 4096);
	assert_int_equal(le32toh(h.flags), VIRTIO_VSOCK_SEQ_EOM);
	n = rx_get(&g, &h, buf);
	assert_int_equal(n, 1);
	assert_int_equal(le32toh(h.flags), VIRTIO_VSOCK_SEQ_EOM);
	/* STREAM flags on a SEQPACKET connection's data and back: RST. */
	h = H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_RW);
	tx(&g, h, "x", 1);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, NULL);
	assert_int_equal(vsock_dev_conn_count(g.dev), 0);
	close(fd);
	host_unlisten(l, 3, 5000);
	guest_down(&g);
}

static void test_siblings_and_isolation(void **state)
{
	uint64_t sib_a = 4, sib_b = 3;
	struct guest a, b, c;
	struct virtio_vsock_hdr h;
	char buf[4096];
	uint32_t aport = 777;
	int fd;

	(void)state;
	guest_up(&a, 3, &sib_a, 1, 0, 0);
	guest_up(&b, 4, &sib_b, 1, 0, 0);
	guest_up(&c, 5, NULL, 0, 0, 0);
	rx_post(&a, 16);
	rx_post(&b, 16);
	rx_post(&c, 16);
	/* a -> b by CID: b's guest sees a's CID and port. */
	tx(&a, H(3, aport, 4, 80, STREAM, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	spin();
	expect_op(&b, VIRTIO_VSOCK_OP_REQUEST, &h);
	assert_int_equal(le64toh(h.src_cid), 3);
	assert_int_equal(le32toh(h.src_port), aport);
	assert_int_equal(le32toh(h.dst_port), 80);
	tx(&b, H(4, 80, 3, aport, STREAM, VIRTIO_VSOCK_OP_RESPONSE), NULL, 0);
	spin();
	expect_op(&a, VIRTIO_VSOCK_OP_RESPONSE, &h);
	assert_int_equal(le64toh(h.src_cid), 4);
	tx(&a, H(3, aport, 4, 80, STREAM, VIRTIO_VSOCK_OP_RW), "ping", 4);
	spin();
	assert_int_equal(rx_get(&b, &h, buf), 4);
	assert_memory_equal(buf, "ping", 4);
	tx(&b, H(4, 80, 3, aport, STREAM, VIRTIO_VSOCK_OP_RW), "pong!", 5);
	spin();
	assert_int_equal(rx_get(&a, &h, buf), 5);
	assert_memory_equal(buf, "pong!", 5);
	/* a closes: b is told, and both ends finish with RST. */
	h = H(3, aport, 4, 80, STREAM, VIRTIO_VSOCK_OP_SHUTDOWN);
	h.flags = htole32(3);
	tx(&a, h, NULL, 0);
	spin();
	expect_op(&a, VIRTIO_VSOCK_OP_RST, NULL);
	expect_op(&b, VIRTIO_VSOCK_OP_SHUTDOWN, NULL);

	/* c is in no group: a cannot reach it, nor c reach a. */
	tx(&a, H(3, 1, 5, 80, STREAM, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	expect_op(&a, VIRTIO_VSOCK_OP_RST, NULL);
	tx(&c, H(5, 1, 3, 80, STREAM, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	expect_op(&c, VIRTIO_VSOCK_OP_RST, NULL);
	/* Claiming to be c on a's socket does not work either. */
	fd = host_connect(3);
	assert_int_equal(write(fd, "CONNECT 80 FROM 5 1\n", 20), 20);
	spin();
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	expect_nothing(&a);
	close(fd);
	guest_down(&c);
	guest_down(&b);
	guest_down(&a);
}

static void test_max_conns_and_restart(void **state)
{
	struct guest g;
	struct virtio_vsock_hdr h;
	struct ring_seg s = {0x300000, 4, true};
	char buf[64];
	uint32_t base, ev;
	uint16_t id;
	uint32_t len;
	int l, fd;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 1);
	rx_post(&g, 16);
	l = host_listen(3, 5000, SOCK_STREAM);
	fd = open_g2h(&g, l, STREAM);
	tx(&g, H(3, 1001, 2, 5000, STREAM, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, &h);
	assert_int_equal(le32toh(h.dst_port), 1001);
	/* The established one is untouched. */
	tx(&g, H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_RW), "ok", 2);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 2);
	/* An event buffer waits in the ring; then tx stops (a front-end
	 * stopping the rings) with the connection open. */
	assert_true(ring_driver_add(&g.q[2], &s, 1, false) >= 0);
	ring_driver_publish(&g.q[2]);
	virtio_dev_kick(vd(&g), VSOCK_DEV_EVQ);
	assert_int_equal(ring_driver_get_used(&g.q[2], &id, &len), 0);
	assert_int_equal(virtio_dev_queue_stop(vd(&g), VSOCK_DEV_TXQ, &base),
			 0);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	assert_int_equal(vsock_dev_conn_count(g.dev), 0);
	assert_int_equal(virtio_dev_queue_start(vd(&g), VSOCK_DEV_TXQ,
						&g.q[1].layout, base),
			 0);
	assert_int_equal(ring_driver_get_used(&g.q[2], &id, &len), 1);
	assert_int_equal(len, 4);
	assert_int_equal(fake_gmem_read(&g.mem, 0x300000, &ev, 4), 0);
	assert_int_equal(le32toh(ev), VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	close(fd);
	host_unlisten(l, 3, 5000);
	guest_down(&g);
}

/* No event buffer when the device restarts: the event waits for one. */
static void test_event_queue_starved(void **state)
{
	struct guest g;
	struct ring_seg s = {0x300000, 4, true};
	char buf[8];
	uint32_t base, ev;
	uint16_t id;
	uint32_t len;
	int l, fd;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 0);
	rx_post(&g, 8);
	l = host_listen(3, 5000, SOCK_STREAM);
	fd = open_g2h(&g, l, STREAM);
	assert_int_equal(virtio_dev_queue_stop(vd(&g), VSOCK_DEV_RXQ, &base),
			 0);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	assert_int_equal(virtio_dev_queue_start(vd(&g), VSOCK_DEV_RXQ,
						&g.q[0].layout, base),
			 0);
	assert_int_equal(ring_driver_get_used(&g.q[2], &id, &len), 0);
	/* Guest traffic goes on meanwhile: the old connection is gone. */
	tx(&g, H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_RW), "x", 1);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, NULL);
	assert_true(ring_driver_add(&g.q[2], &s, 1, false) >= 0);
	ring_driver_publish(&g.q[2]);
	virtio_dev_kick(vd(&g), VSOCK_DEV_EVQ);
	assert_int_equal(ring_driver_get_used(&g.q[2], &id, &len), 1);
	assert_int_equal(len, 4);
	assert_int_equal(fake_gmem_read(&g.mem, 0x300000, &ev, 4), 0);
	assert_int_equal(le32toh(ev), VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	/* Once only. */
	assert_true(ring_driver_add(&g.q[2], &s, 1, false) >= 0);
	ring_driver_publish(&g.q[2]);
	virtio_dev_kick(vd(&g), VSOCK_DEV_EVQ);
	assert_int_equal(ring_driver_get_used(&g.q[2], &id, &len), 0);
	close(fd);
	host_unlisten(l, 3, 5000);
	guest_down(&g);
}

/* Data both ways over many laps of the rings, split or packed (the Xen
 * transport offers packed rings; QEMU's front-ends do not). */
static void streams_on(uint64_t ring)
{
	static char data[1000], buf[65536];
	struct guest g;
	struct virtio_vsock_hdr h;
	size_t got = 0, total = 300 * sizeof(data), sent = 0;
	int l, fd, n, len;

	guest_up_features(&g, 3, NULL, 0, 0, 0,
			  (1ull << VIRTIO_F_VERSION_1) | ring);
	assert_int_equal(g.q[0].packed, !!ring);
	rx_post(&g, QSIZE / 2);
	l = host_listen(3, 5000, SOCK_STREAM);
	fd = open_g2h(&g, l, STREAM);
	memset(data, 'd', sizeof(data));
	for (int i = 0; i < 300; i++) {
		tx(&g, H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_RW), data,
		   sizeof(data));
		while ((n = (int)recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			got += (size_t)n;
		for (n = 0; rx_get(&g, &h, NULL) >= 0; n++)
			;
		rx_post(&g, (unsigned)n);
	}
	while (got < total && (n = (int)host_read(fd, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	assert_int_equal(got, total);
	for (got = 0; got < total;) {
		while (sent < total &&
		       send(fd, buf, sizeof(data), MSG_DONTWAIT) > 0)
			sent += sizeof(data);
		spin();
		for (n = 0; (len = rx_get(&g, &h, NULL)) >= 0; n++)
			if (le16toh(h.op) == VIRTIO_VSOCK_OP_RW)
				got += (size_t)len;
		rx_post(&g, (unsigned)n);
		tx(&g,
		   H(3, 1000, 2, 5000, STREAM, VIRTIO_VSOCK_OP_CREDIT_UPDATE),
		   NULL, 0);
		assert_true(n > 0 || got == total);
	}
	assert_int_equal(got, total);
	assert_int_equal(vsock_dev_conn_count(g.dev), 1);
	close(fd);
	host_unlisten(l, 3, 5000);
	guest_down(&g);
}

static void test_streams_split_and_packed(void **state)
{
	(void)state;
	streams_on(0);
	streams_on(1ull << VIRTIO_F_RING_PACKED);
	streams_on((1ull << VIRTIO_F_RING_PACKED) |
		   (1ull << VIRTIO_RING_F_EVENT_IDX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_and_features),
		cmocka_unit_test(test_guest_to_host_stream_half_close),
		cmocka_unit_test(test_host_to_guest_stream_half_close),
		cmocka_unit_test(test_rst_paths),
		cmocka_unit_test(test_hostile_packets_dropped),
		cmocka_unit_test(test_credit_guest_to_host),
		cmocka_unit_test(test_credit_host_to_guest),
		cmocka_unit_test(test_rx_buffers_stay_in_ring),
		cmocka_unit_test(test_seqpacket_boundaries),
		cmocka_unit_test(test_siblings_and_isolation),
		cmocka_unit_test(test_max_conns_and_restart),
		cmocka_unit_test(test_event_queue_starved),
		cmocka_unit_test(test_streams_split_and_packed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
