// SPDX-License-Identifier: MIT
/*
 * vhost-user connections (core/vhost_user.c): messages are assembled
 * without blocking, so a front-end that stalls mid-message does not delay
 * another server on the same control loop; a message may come one byte at
 * a time; a front-end that never reads its replies is disconnected, not
 * waited for. Kept apart from test_vhost_user.c (requests, lifecycle) to
 * keep both files short; the pieces themselves: test_vhost_user_msg.c.
 */

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <time.h>

#include "vhu_frontend.h"

static struct fe f;

static int setup(void **state)
{
	(void)state;
	fe_init(&f, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fe_fini(&f);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Lay out a whole request in out; returns its length on the wire. */
static size_t wire(uint8_t *out, uint32_t req, uint32_t flags, const void *p,
		   uint32_t size)
{
	struct vhu_hdr h = {req, flags, size};

	memcpy(out, &h, sizeof(h));
	if (size)
		memcpy(out + sizeof(h), p, size);
	return sizeof(h) + size;
}

/* Send len bytes as one piece, with fd (< 0: none). */
static void send_piece(int sock, const uint8_t *p, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {(void *)p, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* A second device, its server on f's control loop, its own front-end. */
struct second {
	struct fe_echo echo;
	struct fe g;
};

static void second_create(struct second *d)
{
	struct vhu_server_opts o = {.name = "second"};

	memset(d, 0, sizeof(*d));
	assert_int_equal(virtio_dev_init(&d->echo.vdev, &fe_echo_ops, 0), 0);
	assert_int_equal(vhu_server_create(&d->g.srv, f.ctl, &d->echo.vdev, &o),
			 0);
	d->g.ctl = f.ctl;
	fe_connect(&d->g);
}

static void second_destroy(struct second *d)
{
	fe_disconnect(&d->g);
	vhu_server_destroy(d->g.srv);
	virtio_dev_destroy(&d->echo.vdev);
}

/* The second front-end gets an answer at once, whatever f is doing. */
static void second_answers(struct second *d)
{
	int64_t t0 = now_ms();

	assert_true(fe_get(&d->g, VHU_GET_FEATURES) & FE_V1);
	/* A blocking server waited 2 s for f's message first. */
	assert_true(now_ms() - t0 < 1000);
}

/* ... and f is still served too. */
static void second_round_trip(struct second *d)
{
	second_answers(d);
	assert_true(fe_connected(&f));
}

/*
 * f sends half a header and stalls: the second server still answers; the
 * rest arrives and f's request completes. Then a request whose fd comes
 * with its first byte and whose payload comes in several pieces, the
 * second front-end served between every two.
 */
static void test_stalled_frontend(void **state)
{
	static const size_t cuts[] = {0, 1, 9, 12, 14, 17, 20};
	struct second d;
	uint8_t out[64];
	uint64_t v = 1; /* queue 1 */
	int before = fe_count_fds(), efd = fe_eventfd();
	size_t len = wire(out, VHU_GET_FEATURES, VHU_VERSION, NULL, 0);

	(void)state;
	second_create(&d);
	send_piece(f.sock, out, 6, -1);
	fe_pump(&f);
	second_round_trip(&d);
	assert_int_equal(fe_reply(&f, VHU_GET_FEATURES, &v, 8), FE_ACK_NONE);
	send_piece(f.sock, out + 6, len - 6, -1);
	fe_pump(&f);
	assert_int_equal(fe_reply(&f, VHU_GET_FEATURES, &v, 8), 8);
	assert_true(v & FE_V1);

	v = 1;
	len = wire(out, VHU_SET_VRING_CALL, VHU_VERSION | VHU_FLAG_NEED_REPLY,
		   &v, sizeof(v));
	assert_int_equal(len, cuts[6]);
	for (unsigned i = 1; i < 7; i++) {
		send_piece(f.sock, out + cuts[i - 1], cuts[i] - cuts[i - 1],
			   i == 1 ? efd : -1);
		fe_pump(&f);
		if (i < 6) {
			assert_int_equal(
				fe_reply(&f, VHU_SET_VRING_CALL, &v, 8),
				FE_ACK_NONE);
			second_round_trip(&d);
		}
	}
	/* Accepted: the fd arrived (the count is checked) and was kept. */
	assert_int_equal(fe_reply(&f, VHU_SET_VRING_CALL, &v, 8), 8);
	assert_int_equal(v, 0);
	second_destroy(&d);
	fe_disconnect(&f);
	close(efd);
	assert_int_equal(fe_count_fds(), before - 2); /* f's socket pair */
}

/* A memory table one byte at a time, its fd with the first: it works. */
static void test_one_byte_at_a_time(void **state)
{
	struct {
		struct vhu_mem_hdr h;
		struct vhu_region r;
	} t = {{1, 0}, {FE_GPA, FE_SIZE, FE_UVA, 0}};
	uint8_t out[64];
	size_t len;
	uint64_t v = 1;

	(void)state;
	fe_negotiate(&f);
	fe_mem_create(&f);
	len = wire(out, VHU_SET_MEM_TABLE, VHU_VERSION | VHU_FLAG_NEED_REPLY,
		   &t, sizeof(t));
	for (size_t i = 0; i < len; i++) {
		send_piece(f.sock, out + i, 1, i == 0 ? f.memfd : -1);
		fe_pump(&f);
		assert_true(fe_connected(&f));
		if (i + 1 < len)
			assert_int_equal(fe_reply(&f, VHU_SET_MEM_TABLE, &v, 8),
					 FE_ACK_NONE);
	}
	assert_int_equal(fe_reply(&f, VHU_SET_MEM_TABLE, &v, 8), 8);
	assert_int_equal(v, 0);
	fe_ring_start(&f, 0, 0);
	fe_echo(&f, 0, "byte by byte");
}

static char last_disconnect[256];

static void keep_disconnect(enum log_level level, const char *line)
{
	(void)level;
	if (strstr(line, "disconnected"))
		snprintf(last_disconnect, sizeof(last_disconnect), "%s", line);
}

/*
 * A front-end that sends requests and never reads the replies: once its
 * socket buffer is full the server disconnects it, with a reason, instead
 * of waiting (which would stall every server on the loop).
 */
static void test_replies_not_read(void **state)
{
	int sv[2], small = 4096, before = fe_count_fds();
	struct vhu_hdr h = {VHU_GET_FEATURES, VHU_VERSION, 0};
	int64_t t0 = now_ms();
	unsigned n;

	(void)state;
	fe_disconnect(&f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_int_equal(
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)),
		0);
	assert_int_equal(
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)),
		0);
	assert_int_equal(vhu_server_serve_fd(f.srv, sv[0]), 0);
	f.sock = sv[1];
	log_set_level(LOG_LEVEL_INFO);
	log_set_hook(keep_disconnect);
	for (n = 0; n < 10000 && fe_connected(&f); n++) {
		/* The server may be gone, or our own buffer full: both fine. */
		(void)!send(f.sock, &h, sizeof(h), MSG_NOSIGNAL | MSG_DONTWAIT);
		fe_pump(&f);
	}
	log_set_hook(NULL);
	log_set_level(LOG_LEVEL_ERR);
	assert_false(fe_connected(&f));
	assert_true(n > 1);
	assert_true(now_ms() - t0 < 1000);
	assert_non_null(strstr(last_disconnect, "replies not read"));
	fe_close_fd(&f.sock);
	assert_int_equal(fe_count_fds(), before - 2); /* f's socket pair */
}

/* ---- a slow device: each request takes slow_us in its host call ---------- */

static atomic_int slow_us;
static atomic_int slow_started, slow_served;

static void slow_kick(struct virtio_dev *d, unsigned q)
{
	struct vq_elem *el;

	while (vq_pop(&d->vqs[q], &el) == 1) {
		atomic_fetch_add(&slow_started, 1);
		usleep((useconds_t)atomic_load(&slow_us));
		atomic_fetch_add(&slow_served, 1);
		vq_push(&d->vqs[q], el, 0);
	}
}

static const struct virtio_dev_ops slow_ops = {
	.name = "slow",
	.device_id = VIRTIO_ID_CONSOLE,
	.features = FE_BIT(0),
	.num_queues = FE_QUEUES,
	.queue_max = 64,
	.config_size = 8,
	.config_read = fe_echo_config_read,
	.config_write = fe_echo_config_write,
	.queue_kick = slow_kick,
	.reset = fe_echo_reset,
};

/* f on the slow model, a pause deadline of deadline_ms, one ring. */
static void slow_frontend(unsigned deadline_ms)
{
	struct vhu_server_opts o = {.name = "slow",
				    .pause_deadline_ms = deadline_ms};

	fe_fini(&f);
	fe_init_ops(&f, &o, &slow_ops);
	fe_negotiate(&f);
	assert_int_equal(fe_mem_table(&f), 0);
	fe_ring_start(&f, 0, 0);
}

/* Queue n requests on f's ring 0 and kick once. */
static void slow_load(unsigned n)
{
	atomic_store(&slow_started, 0);
	atomic_store(&slow_served, 0);
	for (unsigned i = 0; i < n; i++)
		fe_post(&f, 0, "x");
	fe_signal(f.kick[0]);
	while (!atomic_load(&slow_started))
		usleep(1000);
}

/*
 * Eight requests of 40 ms each (320 ms of host I/O) behind one kick: a
 * control step of that device waits for one slice of the data path's work
 * (VIRTIO_DEV_KICK_BUDGET_NS plus one request), not for the whole ring, so
 * the shared control loop is back for the other devices at once. Before
 * the budget, the pause waited for the ring to drain.
 */
static void test_slow_device_pauses_within_a_slice(void **state)
{
	struct second d;
	int64_t t0, took;

	(void)state;
	slow_frontend(0);
	atomic_store(&slow_us, 40000);
	slow_load(8);
	second_create(&d);
	t0 = now_ms();
	assert_int_equal(fe_state(&f, VHU_SET_VRING_ENABLE, 1, 0), 0);
	took = now_ms() - t0;
	assert_true(atomic_load(&slow_served) < 8);
	assert_true(took < 150);
	second_round_trip(&d);
	second_destroy(&d);
	atomic_store(&slow_us, 0);
}

/*
 * A device wedged in one host call (3 s) misses the pause deadline: it is
 * declared stuck, its front-end is disconnected, a second device on the
 * same control loop is served meanwhile, a new front-end of the stuck
 * device is refused without waiting, and once the call returns the device
 * is cleaned up and serves again.
 */
static void test_wedged_device_is_declared_stuck(void **state)
{
	struct second d;
	int64_t t0, v;

	(void)state;
	slow_frontend(200);
	atomic_store(&slow_us, 3000000);
	slow_load(1);
	second_create(&d);
	t0 = now_ms();
	fe_send(&f, VHU_GET_VRING_BASE, VHU_VERSION,
		&(struct vhu_vring_state){0, 0}, sizeof(struct vhu_vring_state),
		NULL, 0);
	fe_pump(&f);
	assert_true(now_ms() - t0 < 1000);
	assert_false(fe_connected(&f));
	second_answers(&d);
	/* While stuck: refused at once. */
	fe_close_fd(&f.sock);
	fe_connect(&f);
	t0 = now_ms();
	fe_send(&f, VHU_GET_FEATURES, VHU_VERSION, NULL, 0, NULL, 0);
	fe_pump(&f);
	assert_true(now_ms() - t0 < 100);
	assert_false(fe_connected(&f));
	second_answers(&d);
	/*
	 * The call returns: once the data thread is back in its loop and has
	 * answered the pause, the next front-end is served. Between the call's
	 * end and that answer a front-end is still refused at once (a failed
	 * reply, here the u64 1, then the disconnect), so poll.
	 */
	atomic_store(&slow_us, 0);
	while (atomic_load(&slow_served) < 1)
		usleep(10000);
	t0 = now_ms();
	do {
		fe_close_fd(&f.sock);
		fe_connect(&f);
		v = fe_msg(&f, VHU_GET_FEATURES, VHU_VERSION, NULL, 0, NULL, 0);
	} while (v == FE_ACK_NONE && now_ms() - t0 < 2000 && !usleep(1000));
	assert_true(v != FE_ACK_NONE && (v & FE_V1));
	assert_true(fe_connected(&f));
	second_destroy(&d);
}

static atomic_int conn_lines, named_lines;

static void count_conn_lines(enum log_level level, const char *line)
{
	(void)level;
	if (strstr(line, "front-end connected") ||
	    strstr(line, "front-end disconnected"))
		atomic_fetch_add(&conn_lines, 1);
	/* Every line names the server (the board gives "guest/dev"). */
	if (!strncmp(line, "test: ", 6) || strstr(line, " test: "))
		atomic_fetch_add(&named_lines, 1);
}

/*
 * A front-end in a reconnect loop (30,000 lines/s before) gets the same
 * per-server limit as everything else it causes: the log stays readable
 * and other servers' lines are not suppressed with it.
 */
static void test_reconnect_loop_is_rate_limited(void **state)
{
	(void)state;
	atomic_store(&conn_lines, 0);
	log_set_level(LOG_LEVEL_INFO);
	log_set_hook(count_conn_lines);
	for (int i = 0; i < 200; i++) {
		fe_disconnect(&f);
		fe_connect(&f);
	}
	log_set_hook(NULL);
	log_set_level(LOG_LEVEL_ERR);
	assert_int_equal(atomic_load(&conn_lines), LOG_RATELIMIT_BURST);
	assert_true(atomic_load(&named_lines) >= LOG_RATELIMIT_BURST);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_stalled_frontend),
		T(test_one_byte_at_a_time),
		T(test_replies_not_read),
		T(test_reconnect_loop_is_rate_limited),
		T(test_slow_device_pauses_within_a_slice),
		T(test_wedged_device_is_declared_stuck),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
