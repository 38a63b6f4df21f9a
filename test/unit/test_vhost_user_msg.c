// SPDX-License-Identifier: MIT
/*
 * vhost-user message layer (core/vhost_user_msg.c): the validation table
 * entry by entry (size, fds, queue index, layouts, version), decoding of
 * both region forms and of config payloads, receiving (fds, end of stream,
 * truncation, too many fds, messages assembled from pieces without
 * blocking) and replying (without blocking).
 */

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost_user_msg.h"
#include "vhu_frontend.h"

static const struct vhu_msg_ctx ctx2 = {.num_queues = 2};
static const struct vhu_msg_ctx ctx2_xen = {.num_queues = 2, .xen_mmap = true};

static int validate(struct vhu_msg *m, uint32_t req, uint32_t size,
		    unsigned nfds, const struct vhu_msg_ctx *ctx)
{
	const char *why = NULL;
	int ret;

	m->hdr = (struct vhu_hdr){req, VHU_VERSION, size};
	m->nfds = nfds;
	for (unsigned i = 0; i < nfds; i++)
		m->fds[i] = 100 + (int)i; /* never touched by validation */
	ret = vhu_msg_validate(m, ctx, &why);
	if (ret)
		assert_non_null(why);
	return ret;
}

static void test_table_sane(void **state)
{
	(void)state;
	for (uint32_t r = 0; r < VHU_REQUEST_MAX; r++) {
		const struct vhu_msg_type *t = vhu_msg_type(r);

		assert_non_null(t);
		assert_non_null(t->name);
		assert_true(t->min_size <= t->max_size);
		assert_true(t->max_size <= VHU_PAYLOAD_MAX);
		if (t->queue != VHU_QUEUE_NONE)
			assert_true(t->min_size >= 8);
	}
	assert_null(vhu_msg_type(VHU_REQUEST_MAX));
	assert_string_equal(vhu_msg_name(VHU_SET_MEM_TABLE), "SET_MEM_TABLE");
	assert_string_equal(vhu_msg_name(1234), "request 1234");
}

/* Every supported fixed-size request: its size passes, ±1 does not. */
static void test_fixed_sizes(void **state)
{
	(void)state;
	for (uint32_t r = 0; r < VHU_REQUEST_MAX; r++) {
		const struct vhu_msg_type *t = vhu_msg_type(r);
		struct vhu_msg m = {0};
		unsigned nfds =
			t->fds == VHU_FDS_ONE || t->fds == VHU_FDS_VRING;

		if (!t->supported || t->layout != VHU_LAYOUT_FIXED)
			continue;
		assert_int_equal(validate(&m, r, t->min_size, nfds, &ctx2), 0);
		assert_int_equal(validate(&m, r, t->min_size + 1, nfds, &ctx2),
				 -EPROTO);
		if (t->min_size)
			assert_int_equal(
				validate(&m, r, t->min_size - 1, nfds, &ctx2),
				-EPROTO);
	}
}

static void test_header(void **state)
{
	struct vhu_msg m = {0};
	const char *why;

	(void)state;
	m.hdr = (struct vhu_hdr){VHU_GET_FEATURES, 0, 0};
	assert_int_equal(vhu_msg_validate(&m, &ctx2, &why), -EPROTO);
	m.hdr.flags = 2;
	assert_int_equal(vhu_msg_validate(&m, &ctx2, &why), -EPROTO);
	m.hdr.flags = VHU_VERSION | VHU_FLAG_NEED_REPLY;
	assert_int_equal(vhu_msg_validate(&m, &ctx2, &why), 0);
	assert_true(m.need_reply);
	m.hdr.flags = VHU_VERSION;
	assert_int_equal(vhu_msg_validate(&m, &ctx2, &why), 0);
	assert_false(m.need_reply);
	m.hdr.size = VHU_PAYLOAD_MAX + 1;
	assert_int_equal(vhu_msg_validate(&m, &ctx2, &why), -EPROTO);
}

static void test_unknown_and_refused(void **state)
{
	struct vhu_msg m = {0};

	(void)state;
	assert_int_equal(validate(&m, 41, 0, 0, &ctx2), -EOPNOTSUPP);
	assert_int_equal(validate(&m, 0xffffffff, 16, 3, &ctx2), -EOPNOTSUPP);
	assert_int_equal(validate(&m, VHU_NONE, 0, 0, &ctx2), -EOPNOTSUPP);
	assert_int_equal(validate(&m, VHU_SET_LOG_BASE, 16, 1, &ctx2),
			 -EOPNOTSUPP);
	assert_int_equal(validate(&m, VHU_POSTCOPY_ADVISE, 0, 0, &ctx2),
			 -EOPNOTSUPP);
	assert_int_equal(validate(&m, VHU_VRING_KICK, 8, 0, &ctx2),
			 -EOPNOTSUPP);
	/* The version is checked before anything else. */
	m.hdr = (struct vhu_hdr){77, 0, 0};
	{
		const char *why;

		assert_int_equal(vhu_msg_validate(&m, &ctx2, &why), -EPROTO);
	}
}

static void test_fd_rules(void **state)
{
	struct vhu_msg m = {0};

	(void)state;
	assert_int_equal(validate(&m, VHU_GET_FEATURES, 0, 1, &ctx2), -EPROTO);
	/* ADD_MEM_REG: exactly one. */
	assert_int_equal(validate(&m, VHU_ADD_MEM_REG, 40, 0, &ctx2), -EPROTO);
	assert_int_equal(validate(&m, VHU_ADD_MEM_REG, 40, 2, &ctx2), -EPROTO);
	assert_int_equal(validate(&m, VHU_ADD_MEM_REG, 40, 1, &ctx2), 0);
	/* REM_MEM_REG: zero or one. */
	assert_int_equal(validate(&m, VHU_REM_MEM_REG, 40, 0, &ctx2), 0);
	assert_int_equal(validate(&m, VHU_REM_MEM_REG, 40, 1, &ctx2), 0);
	assert_int_equal(validate(&m, VHU_REM_MEM_REG, 40, 2, &ctx2), -EPROTO);
	/* Vring fds: one, or none with NOFD. */
	m.p.u64 = 1;
	assert_int_equal(validate(&m, VHU_SET_VRING_KICK, 8, 0, &ctx2),
			 -EPROTO);
	assert_int_equal(validate(&m, VHU_SET_VRING_KICK, 8, 1, &ctx2), 0);
	assert_int_equal(m.queue, 1);
	m.p.u64 = 1 | VHU_VRING_NOFD_MASK;
	assert_int_equal(validate(&m, VHU_SET_VRING_CALL, 8, 0, &ctx2), 0);
	assert_int_equal(validate(&m, VHU_SET_VRING_CALL, 8, 1, &ctx2),
			 -EPROTO);
}

static void test_queue_rules(void **state)
{
	struct vhu_msg m = {0};

	(void)state;
	m.p.state = (struct vhu_vring_state){1, 0};
	assert_int_equal(validate(&m, VHU_SET_VRING_NUM, 8, 0, &ctx2), 0);
	assert_int_equal(m.queue, 1);
	m.p.state.index = 2;
	assert_int_equal(validate(&m, VHU_SET_VRING_NUM, 8, 0, &ctx2), -EPROTO);
	m.p.state.index = 0xffffffff;
	assert_int_equal(validate(&m, VHU_GET_VRING_BASE, 8, 0, &ctx2),
			 -EPROTO);
	m.p.addr = (struct vhu_vring_addr){.index = 3};
	assert_int_equal(validate(&m, VHU_SET_VRING_ADDR, 40, 0, &ctx2),
			 -EPROTO);
	m.p.u64 = 2;
	assert_int_equal(validate(&m, VHU_SET_VRING_ERR, 8, 1, &ctx2), -EPROTO);
	m.p.u64 = 1ULL << 40 | 1; /* bits beyond index and NOFD */
	assert_int_equal(validate(&m, VHU_SET_VRING_ERR, 8, 1, &ctx2), -EPROTO);
}

static void test_mem_table_plain(void **state)
{
	struct vhu_msg m = {0};
	struct vhu_mem_hdr h = {2, 0};
	struct vhu_region r[2] = {{1, 2, 3, 4}, {5, 6, 7, 8}};

	(void)state;
	memcpy(m.p.bytes, &h, sizeof(h));
	memcpy(m.p.bytes + sizeof(h), r, sizeof(r));
	assert_int_equal(validate(&m, VHU_SET_MEM_TABLE, 72, 2, &ctx2), 0);
	assert_int_equal(m.nregions, 2);
	assert_int_equal(m.regions[1].gpa, 5);
	assert_int_equal(m.regions[1].size, 6);
	assert_int_equal(m.regions[1].uva, 7);
	assert_int_equal(m.regions[1].mmap_offset, 8);
	assert_false(m.regions[1].xen);
	assert_int_equal(validate(&m, VHU_SET_MEM_TABLE, 72, 1, &ctx2),
			 -EPROTO);
	assert_int_equal(validate(&m, VHU_SET_MEM_TABLE, 40, 2, &ctx2),
			 -EPROTO);
	/* The same bytes are not a Xen table. */
	assert_int_equal(validate(&m, VHU_SET_MEM_TABLE, 72, 2, &ctx2_xen),
			 -EPROTO);
	h.nregions = 9;
	memcpy(m.p.bytes, &h, sizeof(h));
	assert_int_equal(validate(&m, VHU_SET_MEM_TABLE, 8 + 9 * 32, 8, &ctx2),
			 -EPROTO);
	h.nregions = 0;
	memcpy(m.p.bytes, &h, sizeof(h));
	assert_int_equal(validate(&m, VHU_SET_MEM_TABLE, 8, 0, &ctx2), 0);
	assert_int_equal(m.nregions, 0);
}

static void test_mem_table_xen(void **state)
{
	struct vhu_msg m = {0};
	struct vhu_mem_hdr h = {1, 0};
	struct vhu_region_xen r = {0x1000, 0x2000, 0x3000, 0x4000, 0x102, 42};
	struct vhu_mem_single_hdr sh = {0};

	(void)state;
	memcpy(m.p.bytes, &h, sizeof(h));
	memcpy(m.p.bytes + sizeof(h), &r, sizeof(r));
	assert_int_equal(validate(&m, VHU_SET_MEM_TABLE, 48, 1, &ctx2_xen), 0);
	assert_true(m.regions[0].xen);
	assert_int_equal(m.regions[0].xen_mmap_flags, 0x102);
	assert_int_equal(m.regions[0].domid, 42);
	assert_int_equal(m.regions[0].mmap_offset, 0x4000);
	/* Single-region messages: 8 bytes of padding, one region. */
	memcpy(m.p.bytes, &sh, sizeof(sh));
	memcpy(m.p.bytes + sizeof(sh), &r, sizeof(r));
	assert_int_equal(validate(&m, VHU_ADD_MEM_REG, 48, 1, &ctx2_xen), 0);
	assert_int_equal(m.nregions, 1);
	assert_int_equal(m.regions[0].domid, 42);
	assert_int_equal(validate(&m, VHU_ADD_MEM_REG, 40, 1, &ctx2_xen),
			 -EPROTO);
	assert_int_equal(validate(&m, VHU_ADD_MEM_REG, 48, 1, &ctx2), -EPROTO);
	assert_int_equal(validate(&m, VHU_ADD_MEM_REG, 40, 1, &ctx2), 0);
	assert_false(m.regions[0].xen);
}

static void test_config_layout(void **state)
{
	struct vhu_msg m = {0};
	struct vhu_config_hdr c = {4, 3, 0};

	(void)state;
	memcpy(m.p.bytes, &c, sizeof(c));
	memcpy(m.p.bytes + sizeof(c), "abc", 3);
	assert_int_equal(validate(&m, VHU_SET_CONFIG, 15, 0, &ctx2), 0);
	assert_int_equal(m.config.offset, 4);
	assert_int_equal(m.config.size, 3);
	assert_memory_equal(m.config_data, "abc", 3);
	assert_int_equal(validate(&m, VHU_SET_CONFIG, 16, 0, &ctx2), -EPROTO);
	assert_int_equal(validate(&m, VHU_GET_CONFIG, 11, 0, &ctx2), -EPROTO);
	c.size = VHU_CONFIG_SIZE_MAX + 1;
	memcpy(m.p.bytes, &c, sizeof(c));
	assert_int_equal(validate(&m, VHU_GET_CONFIG, 12 + 257, 0, &ctx2),
			 -EPROTO);
}

/* ---- receiving and replying ---------------------------------------------- */

static void send_with_fds(int sock, const void *buf, size_t len, const int *fds,
			  unsigned n)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {(void *)buf, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n) {
		struct cmsghdr *c;

		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	assert_int_equal(sendmsg(sock, &mh, 0), (ssize_t)len);
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
}

static void test_recv(void **state)
{
	struct vhu_hdr h = {VHU_SET_VRING_CALL, VHU_VERSION, 8};
	uint64_t v = 1;
	uint8_t out[sizeof(h) + sizeof(v)]; /* packed on the wire */
	struct vhu_msg m;
	struct vhu_msg_rx rx = {0};
	int sv[2], efd = eventfd(0, EFD_CLOEXEC);

	(void)state;
	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), &v, sizeof(v));
	pair(sv);
	send_with_fds(sv[1], &out, sizeof(out), &efd, 1);
	send_with_fds(sv[1], &out, sizeof(out), NULL, 0);
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), 1);
	assert_int_equal(m.hdr.request, VHU_SET_VRING_CALL);
	assert_int_equal(m.p.u64, 1);
	assert_int_equal(m.nfds, 1);
	assert_true(fcntl(m.fds[0], F_GETFD) & FD_CLOEXEC);
	vhu_msg_close_fds(&m);
	assert_int_equal(m.nfds, 0);
	/* The next message does not inherit the fd. */
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), 1);
	assert_int_equal(m.nfds, 0);
	/* Nothing more for now: come back later, on a blocking socket too. */
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), -EAGAIN);
	assert_int_equal(rx.got, 0);
	close(sv[1]);
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), 0);
	close(sv[0]);
	close(efd);
}

/* Send out[from, to) as one piece, with nfds fresh eventfds. */
static void piece(int sock, const uint8_t *out, size_t from, size_t to,
		  unsigned nfds)
{
	int fds[VHU_FDS_MAX] = {0};

	for (unsigned i = 0; i < nfds; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	send_with_fds(sock, out + from, to - from, fds, nfds);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
}

/*
 * A message in pieces: the fd with the first byte, the header and payload
 * cut anywhere; each piece short of the end is kept, not waited for.
 */
static void test_recv_pieces(void **state)
{
	struct vhu_hdr h = {VHU_SET_VRING_CALL, VHU_VERSION, 8};
	uint64_t v = 0x0101010101010101ull;
	uint8_t out[sizeof(h) + sizeof(v)];
	static const size_t cuts[] = {0, 1, 7, 12, 15, 20};
	struct vhu_msg m;
	struct vhu_msg_rx rx = {0};
	int sv[2], before = fe_count_fds();

	(void)state;
	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), &v, sizeof(v));
	pair(sv);
	for (unsigned i = 1; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		piece(sv[1], out, cuts[i - 1], cuts[i], i == 1);
		if (cuts[i] < sizeof(out)) {
			assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), -EAGAIN);
			assert_int_equal(rx.got, cuts[i]);
			assert_int_equal(m.nfds, 1);
		}
	}
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), 1);
	assert_int_equal(rx.got, 0);
	assert_int_equal(m.hdr.request, VHU_SET_VRING_CALL);
	assert_int_equal(m.p.u64, v);
	assert_int_equal(m.nfds, 1);
	vhu_msg_close_fds(&m);
	/* One byte at a time, fds with two different bytes. */
	for (size_t i = 0; i < sizeof(out); i++) {
		piece(sv[1], out, i, i + 1, i == 0 || i == 13);
		assert_int_equal(vhu_msg_recv(sv[0], &m, &rx),
				 i + 1 < sizeof(out) ? -EAGAIN : 1);
	}
	assert_int_equal(m.p.u64, v);
	assert_int_equal(m.nfds, 2);
	vhu_msg_close_fds(&m);
	/* A partial message dropped by its owner leaves nothing open. */
	piece(sv[1], out, 0, 3, 2);
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), -EAGAIN);
	vhu_msg_close_fds(&m);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(fe_count_fds(), before);
}

static void test_recv_errors(void **state)
{
	struct vhu_hdr big = {99, VHU_VERSION, VHU_PAYLOAD_MAX + 1};
	struct vhu_hdr h = {VHU_SET_FEATURES, VHU_VERSION, 8};
	struct vhu_msg m;
	struct vhu_msg_rx rx = {0};
	/* First: where fds are dropped silently (qemu-user), this leaks one. */
	bool ctrunc = fe_ctrunc_reported();
	int sv[2], fds[VHU_FDS_MAX + 1], before;

	(void)state;
	for (unsigned i = 0; i <= VHU_FDS_MAX; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	before = fe_count_fds();
	/* Too many fds: none stays open here (where the platform says so). */
	if (ctrunc) {
		pair(sv);
		send_with_fds(sv[1], &h, sizeof(h), fds, VHU_FDS_MAX + 1);
		assert_int_equal(send(sv[1], "12345678", 8, 0), 8);
		assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), -EPROTO);
		assert_int_equal(m.nfds, 0);
		assert_int_equal(rx.got, 0);
		close(sv[0]);
		close(sv[1]);
	}
	/* Too many fds over several pieces of one message. */
	pair(sv);
	send_with_fds(sv[1], &h, 1, fds, VHU_FDS_MAX);
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), -EAGAIN);
	send_with_fds(sv[1], (uint8_t *)&h + 1, 1, fds, 1);
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), -EPROTO);
	assert_int_equal(m.nfds, 0);
	assert_int_equal(rx.got, 0);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(fe_count_fds(), before);
	/* Payload larger than any message: refused without waiting for it. */
	pair(sv);
	assert_int_equal(send(sv[1], &big, sizeof(big), 0), sizeof(big));
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), -EPROTO);
	close(sv[0]);
	close(sv[1]);
	/* Truncated header, then truncated payload. */
	pair(sv);
	assert_int_equal(send(sv[1], &h, 5, 0), 5);
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), -EAGAIN);
	close(sv[1]);
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), -EPROTO);
	assert_int_equal(rx.got, 0);
	close(sv[0]);
	pair(sv);
	send_with_fds(sv[1], &h, sizeof(h), fds, 1);
	close(sv[1]);
	assert_int_equal(vhu_msg_recv(sv[0], &m, &rx), -EPROTO);
	assert_int_equal(m.nfds, 0);
	close(sv[0]);
	for (unsigned i = 0; i <= VHU_FDS_MAX; i++)
		close(fds[i]);
}

static void test_reply(void **state)
{
	uint8_t in[sizeof(struct vhu_hdr) + 8];
	struct vhu_hdr h;
	uint64_t v = 0x1234, got;
	int sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(vhu_msg_reply(sv[0], VHU_GET_FEATURES, &v, 8), 0);
	assert_int_equal(recv(sv[1], in, sizeof(in), MSG_WAITALL), sizeof(in));
	memcpy(&h, in, sizeof(h));
	memcpy(&got, in + sizeof(h), sizeof(got));
	assert_int_equal(h.request, VHU_GET_FEATURES);
	assert_int_equal(h.flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(h.size, 8);
	assert_int_equal(got, 0x1234);
	assert_int_equal(vhu_msg_reply(sv[0], 1, NULL, VHU_PAYLOAD_MAX + 1),
			 -EINVAL);
	close(sv[1]);
	assert_int_equal(vhu_msg_reply(sv[0], VHU_GET_FEATURES, &v, 8), -EPIPE);
	close(sv[0]);
}

/* A peer that does not read: -EAGAIN once the buffer is full, no wait. */
static void test_reply_not_read(void **state)
{
	int sv[2], size = 4096, ret = 0;
	uint64_t v = 0;
	unsigned n;

	(void)state;
	pair(sv);
	assert_int_equal(
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)),
		0);
	for (n = 0; n < 100000 && ret == 0; n++)
		ret = vhu_msg_reply(sv[0], VHU_GET_FEATURES, &v, 8);
	assert_int_equal(ret, -EAGAIN);
	assert_true(n > 1);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_sane),
		cmocka_unit_test(test_fixed_sizes),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_unknown_and_refused),
		cmocka_unit_test(test_fd_rules),
		cmocka_unit_test(test_queue_rules),
		cmocka_unit_test(test_mem_table_plain),
		cmocka_unit_test(test_mem_table_xen),
		cmocka_unit_test(test_config_layout),
		cmocka_unit_test(test_recv),
		cmocka_unit_test(test_recv_pieces),
		cmocka_unit_test(test_recv_errors),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_reply_not_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
