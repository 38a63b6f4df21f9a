// SPDX-License-Identifier: MIT
/*
 * Unit tests for the vsock model's SEQPACKET paths that start outside the
 * guest: a host program on the device's SOCK_SEQPACKET listener
 * (uds.seqpacket), zero-length host messages (an empty message, not EOF),
 * and SEQPACKET between sibling guests with EOM and EOR kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "vsock_guest.h"

#define EOM VIRTIO_VSOCK_SEQ_EOM
#define EOR VIRTIO_VSOCK_SEQ_EOR

/* The host connects to guest port gport over SEQPACKET; the guest
 * accepts. Returns the host's fd; *hport is the device's host port. */
static int open_h2g_seq(struct guest *g, uint32_t gport, uint32_t *hport)
{
	struct virtio_vsock_hdr h;
	char line[32], want[32];
	int fd = host_connect_seq(g->cid);
	int n = snprintf(line, sizeof(line), "CONNECT %u\n", gport);

	assert_int_equal(send(fd, line, (size_t)n, 0), n);
	spin();
	expect_op(g, VIRTIO_VSOCK_OP_REQUEST, &h);
	assert_int_equal(le16toh(h.type), SEQ);
	assert_int_equal(le64toh(h.src_cid), 2);
	assert_int_equal(le32toh(h.dst_port), gport);
	*hport = le32toh(h.src_port);
	tx(g, H(g->cid, gport, 2, *hport, SEQ, VIRTIO_VSOCK_OP_RESPONSE), NULL,
	   0);
	/* The OK line is one message of its own. */
	memset(line, 0, sizeof(line));
	n = snprintf(want, sizeof(want), "OK %u\n", *hport);
	assert_int_equal(host_read(fd, line, sizeof(line)), n);
	assert_string_equal(line, want);
	return fd;
}

static void expect_rw(struct guest *g, int len, uint32_t flags,
		      const char *data)
{
	struct virtio_vsock_hdr h;
	char buf[4096];

	assert_int_equal(rx_get(g, &h, buf), len);
	assert_int_equal(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	assert_int_equal(le32toh(h.flags), flags);
	if (data)
		assert_memory_equal(buf, data, (size_t)len);
}

static void test_host_seqpacket_connect(void **state)
{
	static char big[6000];
	struct guest g;
	struct virtio_vsock_hdr h;
	char buf[8192];
	uint32_t hp;
	int fd;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 0);
	rx_post(&g, 32);
	fd = open_h2g_seq(&g, 1234, &hp);
	assert_true(hp >= VSOCK_DEV_HOST_PORT_FIRST);
	/* Host messages keep their boundaries, an empty one included. */
	assert_int_equal(send(fd, "abc", 3, 0), 3);
	assert_int_equal(send(fd, "", 0, 0), 0);
	memset(big, 'b', sizeof(big));
	assert_int_equal(send(fd, big, sizeof(big), 0), (int)sizeof(big));
	assert_int_equal(send(fd, "", 0, 0), 0);
	spin();
	expect_rw(&g, 3, EOM, "abc");
	expect_rw(&g, 0, EOM, NULL);
	expect_rw(&g, 4096, 0, big);
	expect_rw(&g, 6000 - 4096, EOM, big);
	expect_rw(&g, 0, EOM, NULL);
	expect_nothing(&g);
	assert_int_equal(vsock_dev_conn_count(g.dev), 1);
	/* Guest fragments up to EOM are one host message; an empty guest
	 * message is an empty host message. */
	h = H(3, 1234, 2, hp, SEQ, VIRTIO_VSOCK_OP_RW);
	tx(&g, h, "12", 2);
	h.flags = htole32(EOM);
	tx(&g, h, "345", 3);
	tx(&g, h, NULL, 0);
	tx(&g, h, "6", 1);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "12345", 5);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 1);
	assert_int_equal(vsock_dev_conn_count(g.dev), 1);
	/* An empty message and then the host's half-close: the message,
	 * then SHUTDOWN(SEND); the guest still sends. */
	assert_int_equal(send(fd, "", 0, 0), 0);
	shutdown(fd, SHUT_WR);
	spin();
	expect_rw(&g, 0, EOM, NULL);
	expect_op(&g, VIRTIO_VSOCK_OP_SHUTDOWN, &h);
	assert_int_equal(le32toh(h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND);
	expect_nothing(&g);
	h = H(3, 1234, 2, hp, SEQ, VIRTIO_VSOCK_OP_RW);
	h.flags = htole32(EOM);
	tx(&g, h, "late", 4);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 4);
	/* The guest closes: RST, EOF on the host. */
	h = H(3, 1234, 2, hp, SEQ, VIRTIO_VSOCK_OP_SHUTDOWN);
	h.flags = htole32(3);
	tx(&g, h, NULL, 0);
	expect_op(&g, VIRTIO_VSOCK_OP_RST, NULL);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	assert_int_equal(vsock_dev_conn_count(g.dev), 0);
	close(fd);
	guest_down(&g);
}

/* A host that sends one empty message and closes: the guest gets the
 * message, then the end of both directions. */
static void test_host_seqpacket_empty_then_close(void **state)
{
	struct guest g;
	struct virtio_vsock_hdr h;
	uint32_t hp;
	int fd;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 0);
	rx_post(&g, 16);
	fd = open_h2g_seq(&g, 77, &hp);
	assert_int_equal(send(fd, "", 0, 0), 0);
	assert_int_equal(send(fd, "", 0, 0), 0);
	close(fd);
	spin();
	expect_rw(&g, 0, EOM, NULL);
	expect_rw(&g, 0, EOM, NULL);
	expect_op(&g, VIRTIO_VSOCK_OP_SHUTDOWN, &h);
	assert_int_equal(le32toh(h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND |
						   VIRTIO_VSOCK_SHUTDOWN_RCV);
	expect_nothing(&g);
	guest_down(&g);
}

/* CONNECT lines that are not one whole message; a driver without
 * VIRTIO_VSOCK_F_SEQPACKET. The host socket is closed; the guest hears
 * nothing. */
static void test_host_seqpacket_refused(void **state)
{
	static const char *const bad[] = {"CONNECT 5", "CONNECT 5\nabc",
					  "HELLO\n", ""};
	struct guest g;
	char buf[64];
	int fd;

	(void)state;
	guest_up(&g, 3, NULL, 0, 0, 0);
	rx_post(&g, 16);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = host_connect_seq(3);
		assert_int_equal(send(fd, bad[i], strlen(bad[i]), 0),
				 (int)strlen(bad[i]));
		spin();
		assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
		close(fd);
	}
	expect_nothing(&g);
	assert_int_equal(vsock_dev_conn_count(g.dev), 0);
	guest_down(&g);

	guest_up_features(&g, 3, NULL, 0, 0, 0, 1ull << VIRTIO_F_VERSION_1);
	rx_post(&g, 16);
	fd = host_connect_seq(3);
	assert_int_equal(send(fd, "CONNECT 5\n", 10, 0), 10);
	spin();
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	expect_nothing(&g);
	close(fd);
	guest_down(&g);
}

/* The listener path: uds.seqpacket by default, or the one given. */
static void test_seqpacket_listener_path(void **state)
{
	struct vsock_dev *d;
	char uds[128], seq[128];
	struct stat st;

	(void)state;
	path_of(uds, sizeof(uds), 9, "");
	snprintf(seq, sizeof(seq), "%s/other.seq", dir);
	assert_int_equal(vsock_dev_create(&d,
					  &(struct vsock_dev_params){
						  .cid = 9,
						  .uds = uds,
						  .uds_seq = seq,
					  },
					  0),
			 0);
	assert_int_equal(stat(seq, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	vsock_dev_destroy(d);
	assert_int_equal(stat(seq, &st), -1);
	assert_int_equal(stat(uds, &st), -1);
	/* Both listeners on one path cannot be. */
	assert_int_equal(vsock_dev_create(&d,
					  &(struct vsock_dev_params){
						  .cid = 9,
						  .uds = uds,
						  .uds_seq = uds,
					  },
					  0),
			 -EINVAL);
}

static void test_sibling_seqpacket(void **state)
{
	uint64_t sib_a = 4, sib_b = 3;
	struct guest a, b, c;
	struct virtio_vsock_hdr h;
	static char big[5000];
	char buf[4096];
	uint32_t ap = 700;
	int fd;

	(void)state;
	guest_up(&a, 3, &sib_a, 1, 0, 0);
	guest_up(&b, 4, &sib_b, 1, 0, 0);
	guest_up(&c, 5, NULL, 0, 0, 0);
	rx_post(&a, 16);
	rx_post(&b, 16);
	rx_post(&c, 16);
	tx(&a, H(3, ap, 4, 90, SEQ, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	spin();
	expect_op(&b, VIRTIO_VSOCK_OP_REQUEST, &h);
	assert_int_equal(le16toh(h.type), SEQ);
	assert_int_equal(le64toh(h.src_cid), 3);
	assert_int_equal(le32toh(h.src_port), ap);
	tx(&b, H(4, 90, 3, ap, SEQ, VIRTIO_VSOCK_OP_RESPONSE), NULL, 0);
	spin();
	expect_op(&a, VIRTIO_VSOCK_OP_RESPONSE, &h);
	assert_int_equal(le16toh(h.type), SEQ);
	/* a -> b: fragments joined at EOM, EOR kept; then a message
	 * without EOR. */
	h = H(3, ap, 4, 90, SEQ, VIRTIO_VSOCK_OP_RW);
	tx(&a, h, "ab", 2);
	h.flags = htole32(EOM | EOR);
	tx(&a, h, "cd", 2);
	h.flags = htole32(EOM);
	tx(&a, h, "x", 1);
	tx(&a, h, NULL, 0);
	spin();
	expect_rw(&b, 4, EOM | EOR, "abcd");
	expect_rw(&b, 1, EOM, "x");
	expect_rw(&b, 0, EOM, NULL);
	/* b -> a: a message longer than an rx buffer, with EOR. */
	memset(big, 'B', sizeof(big));
	h = H(4, 90, 3, ap, SEQ, VIRTIO_VSOCK_OP_RW);
	h.flags = htole32(EOM | EOR);
	tx(&b, h, big, sizeof(big));
	spin();
	expect_rw(&a, 4096, 0, big);
	expect_rw(&a, (int)sizeof(big) - 4096, EOM | EOR, big);
	/* b closes: a is told, both ends finish. */
	h = H(4, 90, 3, ap, SEQ, VIRTIO_VSOCK_OP_SHUTDOWN);
	h.flags = htole32(3);
	tx(&b, h, NULL, 0);
	spin();
	expect_op(&b, VIRTIO_VSOCK_OP_RST, NULL);
	expect_op(&a, VIRTIO_VSOCK_OP_SHUTDOWN, NULL);
	/* Across groups: refused both ways, and a forged FROM on a's
	 * SEQPACKET listener is closed. */
	tx(&a, H(3, 1, 5, 90, SEQ, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	expect_op(&a, VIRTIO_VSOCK_OP_RST, NULL);
	tx(&c, H(5, 1, 3, 90, SEQ, VIRTIO_VSOCK_OP_REQUEST), NULL, 0);
	expect_op(&c, VIRTIO_VSOCK_OP_RST, NULL);
	fd = host_connect_seq(3);
	assert_int_equal(send(fd, "CONNECT 90 FROM 5 1\n", 20, 0), 20);
	spin();
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	close(fd);
	expect_nothing(&c);
	guest_down(&c);
	guest_down(&b);
	guest_down(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_seqpacket_connect),
		cmocka_unit_test(test_host_seqpacket_empty_then_close),
		cmocka_unit_test(test_host_seqpacket_refused),
		cmocka_unit_test(test_seqpacket_listener_path),
		cmocka_unit_test(test_sibling_seqpacket),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
