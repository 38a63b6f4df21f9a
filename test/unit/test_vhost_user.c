// SPDX-License-Identifier: MIT
/*
 * vhost-user server (core/vhost_user.c, core/vhost_user_dev.c) driven by
 * an in-test front-end (vhu_frontend.h): QEMU 7.2's message order end to
 * end with the data path, device-level requests valid and invalid,
 * refused and malformed messages, the listening socket, and front-ends
 * restarting in a loop without leaking fds, mappings or memory.
 * Per-queue requests: test_vhost_user_vring.c; memory tables:
 * test_vhost_user_mem.c; the validation table: test_vhost_user_msg.c.
 */

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "guard.h"
#include "vhu_frontend.h"

#define PROTO_BASE                                                             \
	(FE_BIT(VHU_PROTOCOL_F_MQ) | FE_BIT(VHU_PROTOCOL_F_REPLY_ACK) |        \
	 FE_BIT(VHU_PROTOCOL_F_CONFIG) | FE_BIT(VHU_PROTOCOL_F_RESET_DEVICE) | \
	 FE_BIT(VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                          \
	 FE_BIT(VHU_PROTOCOL_F_STATUS))

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

/* The whole QEMU 7.2 sequence, the data path, and the stop. */
static void test_qemu72_sequence(void **state)
{
	(void)state;
	fe_negotiate(&f);
	assert_int_equal(fe_mem_table(&f), 0);
	fe_ring_start(&f, 0, 0);
	fe_ring_start(&f, 1, 0);
	assert_int_equal(fe_set_u64(&f, VHU_SET_STATUS,
				    VIRTIO_CONFIG_S_ACKNOWLEDGE |
					    VIRTIO_CONFIG_S_DRIVER |
					    VIRTIO_CONFIG_S_DRIVER_OK),
			 0);
	fe_echo(&f, 0, "hello");
	fe_echo(&f, 1, "world");
	fe_echo(&f, 0, "again");
	/* QEMU 7.2 stops: status 0, rings disabled, then their bases. */
	assert_int_equal(fe_set_u64(&f, VHU_SET_STATUS, 0), 0);
	assert_int_equal(fe_state(&f, VHU_SET_VRING_ENABLE, 0, 0), 0);
	assert_int_equal(fe_get_vring_base(&f, 0), 2);
	assert_int_equal(fe_get_vring_base(&f, 1), 1);
	assert_true(atomic_load(&f.echo.resets) >= 1);
}

static void test_features(void **state)
{
	uint64_t offered = fe_get(&f, VHU_GET_FEATURES);

	(void)state;
	/* No ACCESS_PLATFORM for QEMU: it refuses it without IOTLB support. */
	assert_int_equal(offered, FE_BIT(0) | FE_V1 |
					  FE_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
					  FE_BIT(VIRTIO_RING_F_EVENT_IDX) |
					  FE_BIT(VHU_F_PROTOCOL_FEATURES));
	/* A legacy driver (QEMU's default virtio-mmio) is served. */
	assert_true(f.echo.vdev.legacy_ok);
	assert_int_equal(fe_set_u64(&f, VHU_SET_FEATURES, FE_BIT(0)), 0);
	assert_true(fe_connected(&f));
	assert_int_equal(f.echo.vdev.features, FE_BIT(0));
	assert_true(f.echo.vdev.features_accepted);
	/* Bits we never offered (QEMU passes RING_RESET through): dropped. */
	assert_int_equal(fe_set_u64(&f, VHU_SET_FEATURES,
				    FE_V1 | FE_BIT(VIRTIO_F_RING_RESET) |
					    FE_BIT(VHU_F_PROTOCOL_FEATURES)),
			 0);
	assert_int_equal(f.echo.vdev.features, FE_V1);
	/* Wrong size: malformed, the connection closes. */
	fe_send(&f, VHU_SET_FEATURES, VHU_VERSION, "abcd", 4, NULL, 0);
	fe_pump(&f);
	assert_false(fe_connected(&f));
}

static void test_features_packed_offer(void **state)
{
	struct fe g;
	struct vhu_server_opts o = {
		.name = "packed", .offer_packed = true, .offer_xen_mmap = true};

	(void)state;
	fe_init(&g, &o);
	assert_true(fe_get(&g, VHU_GET_FEATURES) &
		    FE_BIT(VIRTIO_F_RING_PACKED));
	/* Xen front-ends use grant addresses: ACCESS_PLATFORM is offered. */
	assert_true(fe_get(&g, VHU_GET_FEATURES) &
		    FE_BIT(VIRTIO_F_ACCESS_PLATFORM));
	assert_int_equal(fe_get(&g, VHU_GET_PROTOCOL_FEATURES),
			 PROTO_BASE | FE_BIT(VHU_PROTOCOL_F_XEN_MMAP));
	/* Packed rings are VIRTIO 1.x: not for a legacy driver. */
	assert_int_equal(fe_set_u64(&g, VHU_SET_FEATURES,
				    FE_BIT(0) | FE_BIT(VIRTIO_F_RING_PACKED)),
			 1);
	assert_false(g.echo.vdev.features_accepted);
	fe_fini(&g);
}

/*
 * QEMU 7.2's default virtio-mmio is legacy: the driver never accepts
 * VERSION_1. The same sequence and data path as test_qemu72_sequence.
 */
static void test_legacy_front_end(void **state)
{
	(void)state;
	fe_negotiate(&f);
	/* The legacy feature set replaces fe_negotiate's (no ring runs). */
	assert_int_equal(fe_set_u64(&f, VHU_SET_FEATURES, FE_BIT(0)), 0);
	assert_int_equal(fe_mem_table(&f), 0);
	fe_ring_start(&f, 0, 0);
	fe_ring_start(&f, 1, 0);
	assert_int_equal(fe_set_u64(&f, VHU_SET_STATUS,
				    VIRTIO_CONFIG_S_ACKNOWLEDGE |
					    VIRTIO_CONFIG_S_DRIVER |
					    VIRTIO_CONFIG_S_DRIVER_OK),
			 0);
	assert_int_equal(f.echo.vdev.features, FE_BIT(0));
	fe_echo(&f, 0, "legacy");
	fe_echo(&f, 1, "driver");
	fe_echo(&f, 0, "served");
	assert_int_equal(fe_set_u64(&f, VHU_SET_STATUS, 0), 0);
	assert_int_equal(fe_get_vring_base(&f, 0), 2);
	assert_int_equal(fe_get_vring_base(&f, 1), 1);
}

static const struct virtio_dev_ops echo_no_config_ops = {
	.name = "echo",
	.device_id = VIRTIO_ID_CONSOLE,
	.features = FE_BIT(0),
	.num_queues = FE_QUEUES,
	.queue_max = 64,
	.queue_kick = fe_echo_kick,
	.reset = fe_echo_reset,
};

/* PROTOCOL_F_CONFIG only for a device with a config space. */
static void test_protocol_config_only_with_config_space(void **state)
{
	struct fe g;
	struct {
		struct vhu_config_hdr h;
		uint8_t data[4];
	} cfg = {.h = {0, 4, 0}};

	(void)state;
	assert_true(fe_get(&f, VHU_GET_PROTOCOL_FEATURES) &
		    FE_BIT(VHU_PROTOCOL_F_CONFIG));
	fe_init_ops(&g, NULL, &echo_no_config_ops);
	assert_int_equal(fe_get(&g, VHU_GET_PROTOCOL_FEATURES),
			 PROTO_BASE & ~FE_BIT(VHU_PROTOCOL_F_CONFIG));
	/* A GET_CONFIG anyway: answered empty (the spec's error). */
	fe_send(&g, VHU_GET_CONFIG, VHU_VERSION, &cfg, sizeof(cfg), NULL, 0);
	fe_pump(&g);
	assert_int_equal(fe_reply(&g, VHU_GET_CONFIG, &cfg, sizeof(cfg)), 0);
	assert_true(fe_connected(&g));
	fe_fini(&g);
}

static void test_protocol_features(void **state)
{
	(void)state;
	assert_int_equal(fe_get(&f, VHU_GET_PROTOCOL_FEATURES), PROTO_BASE);
	/* Unknown bits are ignored, not fatal. */
	assert_int_equal(fe_set_u64(&f, VHU_SET_PROTOCOL_FEATURES, ~0ULL), 0);
	assert_true(fe_connected(&f));
	/* An fd where none belongs: malformed, and the fd is closed. */
	{
		int before = fe_count_fds(), efd = fe_eventfd();
		uint64_t v = 0;

		fe_send(&f, VHU_SET_PROTOCOL_FEATURES, VHU_VERSION, &v, 8, &efd,
			1);
		close(efd);
		fe_pump(&f);
		assert_false(fe_connected(&f));
		fe_close_fd(&f.sock);
		/* Gone: the socketpair's two ends, and the fd we sent. */
		assert_int_equal(fe_count_fds(), before - 2);
	}
}

static void test_owner(void **state)
{
	(void)state;
	assert_int_equal(fe_ack(&f, VHU_SET_OWNER, NULL, 0, NULL, 0), 0);
	assert_int_equal(fe_ack(&f, VHU_SET_OWNER, NULL, 0, NULL, 0), 0);
	/* RESET_OWNER disables every ring. */
	fe_negotiate(&f);
	assert_int_equal(fe_mem_table(&f), 0);
	fe_ring_start(&f, 0, 0);
	fe_echo(&f, 0, "before");
	assert_int_equal(fe_ack(&f, VHU_RESET_OWNER, NULL, 0, NULL, 0), 0);
	fe_post(&f, 0, "after");
	fe_signal(f.kick[0]);
	assert_false(fe_wait(f.call[0], 50));
	/* Re-enabled, the waiting buffer is served without a new kick. */
	assert_int_equal(fe_state(&f, VHU_SET_VRING_ENABLE, 0, 1), 0);
	assert_true(fe_wait(f.call[0], 2000));
}

static void test_queue_num_and_slots(void **state)
{
	(void)state;
	assert_int_equal(fe_get(&f, VHU_GET_QUEUE_NUM), FE_QUEUES);
	assert_int_equal(fe_get(&f, VHU_GET_MAX_MEM_SLOTS), 32);
	/* A payload on a request that has none: malformed. */
	fe_send(&f, VHU_GET_QUEUE_NUM, VHU_VERSION, "12345678", 8, NULL, 0);
	fe_pump(&f);
	assert_false(fe_connected(&f));
}

struct cfg_msg {
	struct vhu_config_hdr h;
	uint8_t data[VHU_CONFIG_SIZE_MAX];
};

static int get_config(uint32_t off, uint32_t size, uint8_t *out)
{
	struct cfg_msg c = {.h = {off, size, 0}};
	int n;

	fe_send(&f, VHU_GET_CONFIG, VHU_VERSION, &c, sizeof(c.h) + size, NULL,
		0);
	fe_pump(&f);
	n = fe_reply(&f, VHU_GET_CONFIG, &c, sizeof(c));
	if (n > 0) {
		assert_int_equal(n, sizeof(c.h) + size);
		assert_int_equal(c.h.offset, off);
		assert_int_equal(c.h.size, size);
		memcpy(out, c.data, size);
	}
	return n;
}

static void test_config(void **state)
{
	uint8_t buf[8];
	struct cfg_msg c = {.h = {4, 4, VHU_CONFIG_F_WRITABLE}, .data = "wxyz"};

	(void)state;
	memcpy(f.echo.config, "ABCDEFGH", 8);
	assert_int_equal(get_config(2, 4, buf), sizeof(c.h) + 4);
	assert_memory_equal(buf, "CDEF", 4);
	/* Out of range: the spec's empty reply, connection kept. */
	assert_int_equal(get_config(6, 4, buf), 0);
	assert_int_equal(get_config(0, 0, buf), 0);
	assert_true(fe_connected(&f));
	assert_int_equal(
		fe_ack(&f, VHU_SET_CONFIG, &c, sizeof(c.h) + 4, NULL, 0), 0);
	assert_memory_equal(f.echo.config, "ABCDwxyz", 8);
	c.h.offset = 6;
	assert_int_equal(
		fe_ack(&f, VHU_SET_CONFIG, &c, sizeof(c.h) + 4, NULL, 0), 1);
	c.h.offset = 0;
	c.h.flags = 2; /* unknown flag */
	assert_int_equal(
		fe_ack(&f, VHU_SET_CONFIG, &c, sizeof(c.h) + 4, NULL, 0), 1);
	c.h.flags = VHU_CONFIG_F_MIGRATION;
	assert_int_equal(
		fe_ack(&f, VHU_SET_CONFIG, &c, sizeof(c.h) + 4, NULL, 0), 0);
	/* The config size field must match the payload. */
	c.h.size = 5;
	fe_send(&f, VHU_SET_CONFIG, VHU_VERSION, &c, sizeof(c.h) + 4, NULL, 0);
	fe_pump(&f);
	assert_false(fe_connected(&f));
}

static void test_config_too_big(void **state)
{
	struct cfg_msg c = {.h = {0, VHU_CONFIG_SIZE_MAX + 1, 0}};

	(void)state;
	fe_send(&f, VHU_GET_CONFIG, VHU_VERSION, &c, sizeof(c), NULL, 0);
	fe_pump(&f);
	assert_false(fe_connected(&f));
}

static void test_status(void **state)
{
	uint8_t drv = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	(void)state;
	assert_int_equal(fe_get(&f, VHU_GET_STATUS), 0);
	assert_int_equal(fe_set_u64(&f, VHU_SET_STATUS, drv), 0);
	assert_int_equal(fe_get(&f, VHU_GET_STATUS), drv);
	/* FEATURES_OK before SET_FEATURES: refused, does not stick. */
	assert_int_equal(fe_set_u64(&f, VHU_SET_STATUS,
				    drv | VIRTIO_CONFIG_S_FEATURES_OK),
			 1);
	assert_int_equal(fe_get(&f, VHU_GET_STATUS), drv);
	assert_int_equal(fe_set_u64(&f, VHU_SET_STATUS, 0x100), 1);
	assert_int_equal(fe_set_u64(&f, VHU_SET_FEATURES, FE_V1), 0);
	assert_int_equal(fe_set_u64(&f, VHU_SET_STATUS,
				    drv | VIRTIO_CONFIG_S_FEATURES_OK),
			 0);
	assert_int_equal(fe_set_u64(&f, VHU_SET_STATUS, 0), 0);
	assert_int_equal(fe_get(&f, VHU_GET_STATUS), 0);
	assert_int_equal(f.echo.vdev.features, 0);
}

static void test_reset_device(void **state)
{
	(void)state;
	fe_negotiate(&f);
	assert_int_equal(fe_mem_table(&f), 0);
	fe_ring_start(&f, 0, 0);
	fe_echo(&f, 0, "one");
	assert_int_equal(fe_ack(&f, VHU_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	assert_false(virtio_dev_queue_is_started(&f.echo.vdev, 0));
	assert_int_equal(f.echo.vdev.features, 0);
	/* Memory and call fds survive; the ring is set up again. */
	ring_driver_destroy(&f.drv[0]);
	f.drv_up[0] = false;
	fe_close_fd(&f.kick[0]);
	assert_int_equal(fe_set_u64(&f, VHU_SET_FEATURES, FE_V1), 0);
	fe_ring_start(&f, 0, 0);
	fe_echo(&f, 0, "two");
}

static void test_unknown_and_refused(void **state)
{
	int before = fe_count_fds(), efd = fe_eventfd();
	uint64_t v = 0;
	struct vhu_vring_state st = {0, 0};

	(void)state;
	/* Unknown request: an error reply if asked, never a disconnect. */
	assert_int_equal(fe_ack(&f, 99, "xyz", 3, &efd, 1), 1);
	assert_int_equal(fe_msg(&f, 99, VHU_VERSION, NULL, 0, NULL, 0),
			 FE_ACK_NONE);
	assert_int_equal(fe_ack(&f, VHU_NONE, NULL, 0, NULL, 0), 1);
	/* Known, not offered: refused; its fds are closed. */
	assert_int_equal(fe_ack(&f, VHU_SET_LOG_BASE, &v, 8, &efd, 1), 1);
	assert_int_equal(
		fe_msg(&f, VHU_SET_LOG_FD, VHU_VERSION, NULL, 0, &efd, 1),
		FE_ACK_NONE);
	/* A refused request with its own reply still gets one. */
	assert_int_equal(fe_msg(&f, VHU_IOTLB_MSG, VHU_VERSION, &v, 8, NULL, 0),
			 1);
	assert_int_equal(fe_ack(&f, VHU_VRING_KICK, &st, sizeof(st), NULL, 0),
			 1);
	assert_true(fe_connected(&f));
	close(efd);
	assert_int_equal(fe_count_fds(), before);
}

static void test_malformed_headers(void **state)
{
	struct vhu_hdr h = {VHU_GET_FEATURES, 0x2, 0}; /* version 2 */

	(void)state;
	assert_int_equal(send(f.sock, &h, sizeof(h), 0), sizeof(h));
	fe_pump(&f);
	assert_false(fe_connected(&f));
	close(f.sock);
	/* A payload larger than any message. */
	fe_connect(&f);
	h = (struct vhu_hdr){99, VHU_VERSION, VHU_PAYLOAD_MAX + 1};
	assert_int_equal(send(f.sock, &h, sizeof(h), 0), sizeof(h));
	fe_pump(&f);
	assert_false(fe_connected(&f));
	close(f.sock);
	/* A header cut short by the end of the stream. */
	fe_connect(&f);
	assert_int_equal(send(f.sock, &h, 6, 0), 6);
	shutdown(f.sock, SHUT_WR);
	fe_pump(&f);
	assert_false(fe_connected(&f));
	close(f.sock);
	/* A payload cut short. */
	fe_connect(&f);
	h = (struct vhu_hdr){VHU_SET_FEATURES, VHU_VERSION, 8};
	assert_int_equal(send(f.sock, &h, sizeof(h), 0), sizeof(h));
	assert_int_equal(send(f.sock, "abc", 3, 0), 3);
	shutdown(f.sock, SHUT_WR);
	fe_pump(&f);
	assert_false(fe_connected(&f));
	close(f.sock);
	f.sock = -1;
}

static void test_too_many_fds(void **state)
{
	int before = fe_count_fds(), fds[12];
	uint64_t v = 0;

	(void)state;
	if (!fe_ctrunc_reported())
		skip();
	for (unsigned i = 0; i < 12; i++)
		fds[i] = fe_eventfd();
	fe_send(&f, VHU_SET_LOG_FD, VHU_VERSION, &v, 0, fds, 12);
	for (unsigned i = 0; i < 12; i++)
		close(fds[i]);
	fe_pump(&f);
	assert_false(fe_connected(&f));
	fe_close_fd(&f.sock);
	assert_int_equal(fe_count_fds(), before - 2);
}

static void test_busy(void **state)
{
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_int_equal(vhu_server_serve_fd(f.srv, sv[0]), -EBUSY);
	assert_int_equal(fcntl(sv[0], F_GETFD), -1); /* taken and closed */
	close(sv[1]);
	assert_true(fe_connected(&f));
}

/* The corrupt ring reaches the front-end through the err eventfd. */
static char broken_line[256];

static void keep_broken(enum log_level level, const char *line)
{
	(void)level;
	if (strstr(line, "is broken"))
		snprintf(broken_line, sizeof(broken_line), "%s", line);
}

static void test_queue_error(void **state)
{
	(void)state;
	fe_negotiate(&f);
	assert_int_equal(fe_mem_table(&f), 0);
	fe_ring_start(&f, 0, 0);
	broken_line[0] = '\0';
	log_set_hook(keep_broken);
	ring_driver_split_post(&f.drv[0], 200); /* head >= queue size */
	ring_driver_publish(&f.drv[0]);
	fe_signal(f.kick[0]);
	assert_true(fe_wait(f.err[0], 2000));
	assert_false(fe_wait(f.err[1], 0));
	log_set_hook(NULL);
	/* Named as the board names the device, not by its model type. */
	assert_string_equal(broken_line, "test: queue 0 is broken: head 200 >= "
					 "queue size 16 (Invalid argument)");
}

/*
 * The front-end shrinks the guest memory file under the live mapping (an
 * unsealable memfd: nothing can forbid it), then kicks. The access faults:
 * before core/guard.c that SIGBUS killed every device of every guest. Now
 * the device's queues break (err fd), the process lives on, answers the
 * front-end, and stops the faulted queue without touching its ring.
 */
static void test_shrunk_guest_memory_breaks_only_the_device(void **state)
{
	(void)state;
	/* cmocka installs its own SIGBUS handler around each test. */
	assert_int_equal(guard_init(), 0);
	fe_negotiate(&f);
	assert_int_equal(fe_mem_table(&f), 0);
	fe_ring_start(&f, 0, 0);
	fe_ring_start(&f, 1, 0);
	fe_echo(&f, 0, "before");
	fe_post(&f, 0, "after");
	assert_int_equal(ftruncate(f.memfd, 0), 0);
	fe_signal(f.kick[0]);
	assert_true(fe_wait(f.err[0], 2000));
	assert_true(fe_wait(f.err[1], 2000));
	assert_false(fe_wait(f.call[0], 0));
	/* Still serving the control plane, queues stop cleanly. */
	assert_true(fe_get(&f, VHU_GET_FEATURES) & FE_V1);
	fe_get_vring_base(&f, 0);
	fe_get_vring_base(&f, 1);
	assert_true(fe_connected(&f));
	/* Our own teardown touches the memory again. */
	assert_int_equal(ftruncate(f.memfd, FE_SIZE), 0);
}

/* One front-end lifetime; the guest memory (f.memfd) is reused. */
static void one_frontend(int i)
{
	fe_connect(&f);
	fe_negotiate(&f);
	assert_int_equal(fe_mem_table(&f), 0);
	fe_ring_start(&f, 0, 0);
	fe_ring_start(&f, 1, 0);
	fe_echo(&f, 0, "ping");
	if (i % 2) /* half the time the front-end stops a ring first */
		assert_int_equal(fe_get_vring_base(&f, 1), 0);
	fe_disconnect(&f);
	for (unsigned q = 0; q < FE_QUEUES; q++) {
		ring_driver_destroy(&f.drv[q]);
		f.drv_up[q] = false;
		fe_close_fd(&f.kick[q]);
		fe_close_fd(&f.call[q]);
		fe_close_fd(&f.err[q]);
	}
}

/* Front-ends come and go; no fd, mapping or memory leaks (ASan). */
static void test_restart_loop(void **state)
{
	int fds, maps;

	(void)state;
	fe_disconnect(&f);
	one_frontend(0); /* warm-up: allocator pools, the memfd */
	fds = fe_count_fds();
	maps = fe_count_maps();
	for (int i = 1; i <= 20; i++) {
		one_frontend(i);
		assert_int_equal(fe_count_fds(), fds);
		assert_int_equal(fe_count_maps(), maps);
	}
	assert_true(atomic_load(&f.echo.resets) >= 21);
}

/* A second device with its own server on a listening socket. */
struct sock_dev {
	struct fe_echo echo;
	struct vhu_server *srv;
};

static int sock_dev_create(struct sock_dev *d, const char *path)
{
	struct vhu_server_opts o = {.name = "sock", .socket_path = path};
	int ret;

	memset(d, 0, sizeof(*d));
	assert_int_equal(virtio_dev_init(&d->echo.vdev, &fe_echo_ops, 0), 0);
	ret = vhu_server_create(&d->srv, f.ctl, &d->echo.vdev, &o);
	if (ret < 0)
		virtio_dev_destroy(&d->echo.vdev);
	return ret;
}

static void sock_dev_destroy(struct sock_dev *d)
{
	vhu_server_destroy(d->srv);
	virtio_dev_destroy(&d->echo.vdev);
}

static void test_socket_path(void **state)
{
	char dir[] = "/tmp/vhu-test-XXXXXX", path[128], longp[200];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct sock_dev d, d2;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dev.sock", dir);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A stale socket file from an earlier run is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(sock_dev_create(&d, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Someone serves it: a second server does not steal it. */
	assert_int_equal(sock_dev_create(&d2, path), -EADDRINUSE);
	/* Front-ends one after the other on the same socket. */
	for (int round = 0; round < 3; round++) {
		struct fe g = {.ctl = f.ctl, .srv = d.srv};

		g.sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(
			connect(g.sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
		fe_pump(&g);
		assert_true(vhu_server_is_connected(d.srv));
		assert_true(fe_get(&g, VHU_GET_FEATURES) & FE_V1);
		close(g.sock);
		fe_pump(&g);
		assert_false(vhu_server_is_connected(d.srv));
	}
	sock_dev_destroy(&d);
	assert_int_equal(stat(path, &st), -1); /* removed */
	/* Not a socket: left alone. */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	assert_int_equal(sock_dev_create(&d2, path), -EEXIST);
	assert_int_equal(unlink(path), 0);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(sock_dev_create(&d2, longp), -ENAMETOOLONG);
	rmdir(dir);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_qemu72_sequence),
		T(test_features),
		T(test_features_packed_offer),
		T(test_legacy_front_end),
		T(test_protocol_config_only_with_config_space),
		T(test_protocol_features),
		T(test_owner),
		T(test_queue_num_and_slots),
		T(test_config),
		T(test_config_too_big),
		T(test_status),
		T(test_reset_device),
		T(test_unknown_and_refused),
		T(test_malformed_headers),
		T(test_too_many_fds),
		T(test_busy),
		T(test_queue_error),
		T(test_shrunk_guest_memory_breaks_only_the_device),
		T(test_restart_loop),
		T(test_socket_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
