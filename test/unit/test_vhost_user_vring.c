// SPDX-License-Identifier: MIT
/*
 * vhost-user per-queue requests (core/vhost_user_vring.c), valid and
 * invalid: SET_VRING_NUM/ADDR/BASE/KICK/CALL/ERR/ENABLE, GET_VRING_BASE
 * (split and packed encodings), VRING_NOFD (polling), ring enable rules
 * with and without VHOST_USER_F_PROTOCOL_FEATURES, IOVA ring addresses.
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
#include <unistd.h>

#include "vhu_frontend.h"

static struct fe f;

static int setup(void **state)
{
	(void)state;
	fe_init(&f, NULL);
	fe_negotiate(&f);
	assert_int_equal(fe_mem_table(&f), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fe_fini(&f);
	return 0;
}

/* NUM, BASE and ADDR for q from a fresh ring driver; no kick yet. */
static void ring_prepare(unsigned q, uint64_t ring_features, uint16_t start,
			 bool iova)
{
	struct ring_driver *d = &f.drv[q];
	uint64_t off = iova ? 0 : FE_UVA - FE_GPA;
	struct vhu_vring_addr a;

	if (f.drv_up[q])
		ring_driver_destroy(d);
	assert_int_equal(ring_driver_init(d, &f.fgm,
					  &(struct ring_driver_cfg){
						  .features = ring_features,
						  .num = FE_NUM,
						  .ring = FE_RING(q),
						  .start = start}),
			 0);
	f.drv_up[q] = true;
	a = (struct vhu_vring_addr){.index = q,
				    .desc = d->layout.desc + off,
				    .used = d->layout.device + off,
				    .avail = d->layout.driver + off};
	assert_int_equal(fe_state(&f, VHU_SET_VRING_NUM, q, FE_NUM), 0);
	assert_int_equal(fe_state(&f, VHU_SET_VRING_BASE, q, d->base), 0);
	assert_int_equal(fe_ack(&f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
			 0);
}

static int64_t kick_fd(unsigned q)
{
	if (f.kick[q] < 0)
		f.kick[q] = fe_eventfd();
	return fe_vring_fd(&f, VHU_SET_VRING_KICK, q, f.kick[q]);
}

static void expect_disconnect(uint32_t req, const void *p, uint32_t size,
			      const int *fds, unsigned nfds)
{
	fe_send(&f, req, VHU_VERSION, p, size, fds, nfds);
	fe_pump(&f);
	assert_false(fe_connected(&f));
}

static void test_num(void **state)
{
	(void)state;
	assert_int_equal(fe_state(&f, VHU_SET_VRING_NUM, 0, 0), 1);
	assert_int_equal(fe_state(&f, VHU_SET_VRING_NUM, 0, 65), 1); /* > max */
	assert_int_equal(fe_state(&f, VHU_SET_VRING_NUM, 1, 64), 0);
	fe_ring_start(&f, 0, 0);
	assert_int_equal(fe_state(&f, VHU_SET_VRING_NUM, 0, 8),
			 1); /* running */
	expect_disconnect(VHU_SET_VRING_NUM, &(struct vhu_vring_state){2, 8},
			  sizeof(struct vhu_vring_state), NULL, 0);
}

static void test_addr(void **state)
{
	struct vhu_vring_addr a;

	(void)state;
	fe_ring_start(&f, 0, 0);
	a = (struct vhu_vring_addr){
		.index = 0,
		.desc = FE_UVA + f.drv[0].layout.desc - FE_GPA,
		.used = FE_UVA + f.drv[0].layout.device - FE_GPA,
		.avail = FE_UVA + f.drv[0].layout.driver - FE_GPA,
		.flags = VHU_VRING_F_LOG};
	/* Only the flags may change while the ring runs. */
	assert_int_equal(fe_ack(&f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
			 0);
	a.desc += 0x1000;
	assert_int_equal(fe_ack(&f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
			 1);
	fe_echo(&f, 0, "still");
	expect_disconnect(VHU_SET_VRING_ADDR, &a, sizeof(a) - 8, NULL, 0);
}

static void test_addr_not_in_memory(void **state)
{
	struct vhu_vring_addr a = {
		.index = 1, .desc = 0x1000, .used = 0x2000, .avail = 0x3000};

	(void)state;
	assert_int_equal(fe_state(&f, VHU_SET_VRING_NUM, 1, FE_NUM), 0);
	assert_int_equal(fe_ack(&f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
			 0);
	assert_int_equal(kick_fd(1), 1); /* cannot start; stays connected */
	assert_true(fe_connected(&f));
	assert_false(virtio_dev_queue_is_started(&f.echo.vdev, 1));
	/* Nor without a size or an address. */
	assert_int_equal(kick_fd(0), 1);
}

static void test_base(void **state)
{
	(void)state;
	assert_int_equal(fe_state(&f, VHU_SET_VRING_BASE, 0, 0x10000), 1);
	assert_int_equal(fe_get_vring_base(&f, 1), 0);
	assert_int_equal(fe_state(&f, VHU_SET_VRING_BASE, 1, 77), 0);
	assert_int_equal(fe_get_vring_base(&f, 1), 77); /* never started */
	/* A ring starting mid-way through the index space. */
	ring_prepare(0, 0, 0xfffe, false);
	assert_int_equal(kick_fd(0), 0);
	assert_int_equal(fe_state(&f, VHU_SET_VRING_BASE, 0, 3),
			 1); /* running */
	fe_echo(&f, 0, "a");
	fe_echo(&f, 0, "b");
	fe_echo(&f, 0, "c"); /* the 16-bit index wraps */
	assert_int_equal(fe_get_vring_base(&f, 0), 1);
	assert_false(virtio_dev_queue_is_started(&f.echo.vdev, 0));
}

/*
 * Peer bug class: an indexed SET_VRING_BASE beyond the queue count (a
 * back-end indexing its queue array with the message's index unchecked).
 * Guaranteed instead: the message table resolves the index before any
 * handler runs; an index past the device's queues ends the connection,
 * nothing is written, and the next connection is served as usual.
 */
static void test_base_index_beyond_queues(void **state)
{
	(void)state;
	expect_disconnect(VHU_SET_VRING_BASE, &(struct vhu_vring_state){2, 9},
			  sizeof(struct vhu_vring_state), NULL, 0);
	close(f.sock);
	fe_connect(&f);
	expect_disconnect(VHU_SET_VRING_BASE,
			  &(struct vhu_vring_state){0xffffffffu, 9},
			  sizeof(struct vhu_vring_state), NULL, 0);
	close(f.sock);
	fe_connect(&f);
	fe_negotiate(&f);
	assert_int_equal(fe_mem_table(&f), 0);
	ring_prepare(1, 0, 0, false);
	assert_int_equal(kick_fd(1), 0);
	fe_echo(&f, 1, "served");
}

/*
 * Peer bug class: a guest reboot that breaks the used index (a back-end
 * that keeps its last used index across the stop and restart QEMU does
 * when the guest resets the device, so the rebooted driver, counting from
 * 0, never sees its completions). Guaranteed instead: GET_VRING_BASE stops
 * the ring and reports where it stood; the restarted ring counts from the
 * SET_VRING_BASE it is given: its first completion is used entry 0 with
 * used->idx 1.
 */
static void test_reboot_restarts_used_index(void **state)
{
	(void)state;
	ring_prepare(0, 0, 0, false);
	assert_int_equal(kick_fd(0), 0);
	fe_echo(&f, 0, "one");
	fe_echo(&f, 0, "two");
	fe_echo(&f, 0, "three");
	assert_int_equal(fe_get_vring_base(&f, 0), 3);
	assert_false(virtio_dev_queue_is_started(&f.echo.vdev, 0));
	/* The rebooted guest: a zeroed ring, the same memory, base 0. */
	ring_prepare(0, 0, 0, false);
	fe_close_fd(&f.kick[0]);
	assert_int_equal(kick_fd(0), 0);
	fe_echo(&f, 0, "after");
	assert_int_equal(le16toh(f.drv[0].used->idx), 1);
	assert_int_equal(fe_get_vring_base(&f, 0), 1);
}

/* A server offering packed rings, with packed negotiated. */
static void packed_fe(struct fe *g)
{
	static struct vhu_server_opts o = {.name = "packed",
					   .offer_packed = true};

	fe_init(g, &o);
	fe_negotiate(g);
	assert_int_equal(fe_set_u64(g, VHU_SET_FEATURES,
				    FE_V1 | FE_BIT(VIRTIO_F_RING_PACKED)),
			 0);
	assert_int_equal(fe_mem_table(g), 0);
}

/*
 * GET/SET_VRING_BASE on a packed ring, as QEMU reads and writes them
 * (virtio_queue_packed_{get,set}_last_avail_idx): bits 0-14 avail index,
 * bit 15 its wrap counter, bits 16-30 used index, bit 31 its wrap counter.
 */
#define PBASE(avail, used) ((uint32_t)(avail) | (uint32_t)(used) << 16)
#define PWRAP		   (1u << 15)

static void test_base_packed(void **state)
{
	struct fe g;
	uint32_t base;

	(void)state;
	packed_fe(&g);
	fe_ring_start(&g, 0, FE_BIT(VIRTIO_F_RING_PACKED));
	for (int i = 0; i < FE_NUM + 2; i++)
		fe_echo(&g, 0, "p");
	/* 18 buffers of 2 descriptors in a 16-slot ring: 36 slots used,
	 * position 4 after two wraps, wrap counters back to 1; nothing in
	 * flight, so used is where avail is. */
	base = fe_get_vring_base(&g, 0);
	assert_int_equal(base, PBASE(4 | PWRAP, 4 | PWRAP));
	/* Restarted from it, as QEMU does after a stop: the driver's ring
	 * goes on where it was. */
	fe_ring_send(&g, 0, base);
	fe_echo(&g, 0, "again");
	assert_int_equal(fe_get_vring_base(&g, 0), PBASE(6 | PWRAP, 6 | PWRAP));
	/* All 32 bits are kept until the ring starts; it checks them. */
	assert_int_equal(fe_state(&g, VHU_SET_VRING_BASE, 0,
				  PBASE(PWRAP, FE_NUM | PWRAP)),
			 0);
	assert_int_equal(fe_get_vring_base(&g, 0),
			 PBASE(PWRAP, FE_NUM | PWRAP)); /* never started */
	fe_fini(&g);
}

/* SET_VRING_BASE with the used index behind the avail one (a buffer was in
 * flight when the previous back-end stopped): completions go where the
 * driver looks for them. */
static void test_base_packed_used_behind(void **state)
{
	struct fe g;
	int lost;

	(void)state;
	packed_fe(&g);
	fe_ring_init(&g, 0, FE_BIT(VIRTIO_F_RING_PACKED));
	/* Slots 0-1: made available, taken by the old back-end, never
	 * completed. */
	lost = fe_post(&g, 0, "lost");
	fe_ring_send(&g, 0, PBASE(2 | PWRAP, 0 | PWRAP));
	/* The next request (slots 2-3) is completed in slot 0. */
	fe_echo(&g, 0, "found");
	assert_int_equal(fe_get_vring_base(&g, 0), PBASE(4 | PWRAP, 2 | PWRAP));
	(void)lost;
	fe_fini(&g);
}

static void test_kick_replace(void **state)
{
	int before, old;

	(void)state;
	fe_ring_start(&f, 0, 0);
	fe_echo(&f, 0, "one");
	before = fe_count_fds();
	old = f.kick[0];
	f.kick[0] = -1;
	assert_int_equal(kick_fd(0), 0); /* same ring, new fd */
	close(old);
	/* The server closed its copy of the old fd: one new, one gone. */
	assert_int_equal(fe_count_fds(), before + 1 - 1);
	fe_echo(&f, 0, "two");
}

static void test_kick_nofd_polls(void **state)
{
	int id;

	(void)state;
	ring_prepare(0, 0, 0, false);
	assert_int_equal(fe_vring_fd(&f, VHU_SET_VRING_KICK, 0, -1), 0);
	assert_int_equal(fe_state(&f, VHU_SET_VRING_ENABLE, 0, 1), 0);
	id = fe_post(&f, 0, "polled"); /* no kick at all */
	fe_expect_echo(&f, 0, id, "polled");
}

static void test_vring_fd_malformed(void **state)
{
	uint64_t v;
	int efd = fe_eventfd();

	(void)state;
	/* NOFD with an fd. */
	v = 0 | VHU_VRING_NOFD_MASK;
	expect_disconnect(VHU_SET_VRING_CALL, &v, 8, &efd, 1);
	close(f.sock);
	fe_connect(&f);
	/* No fd without NOFD. */
	v = 0;
	expect_disconnect(VHU_SET_VRING_KICK, &v, 8, NULL, 0);
	close(f.sock);
	fe_connect(&f);
	/* Unknown bits. */
	v = 1u << 9;
	expect_disconnect(VHU_SET_VRING_ERR, &v, 8, &efd, 1);
	close(f.sock);
	fe_connect(&f);
	/* Queue out of range. */
	v = 5;
	expect_disconnect(VHU_SET_VRING_KICK, &v, 8, &efd, 1);
	close(f.sock);
	f.sock = -1;
	close(efd);
}

static void test_start_needs_features(void **state)
{
	(void)state;
	assert_int_equal(fe_ack(&f, VHU_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	ring_prepare(0, 0, 0, false);
	assert_int_equal(kick_fd(0), 1); /* VIRTIO 1.x not negotiated */
	assert_int_equal(fe_set_u64(&f, VHU_SET_FEATURES, FE_V1), 0);
	fe_close_fd(&f.kick[0]);
	assert_int_equal(kick_fd(0), 0);
	assert_int_equal(fe_state(&f, VHU_SET_VRING_ENABLE, 0, 1), 0);
	fe_echo(&f, 0, "ok");
}

static void test_call_nofd(void **state)
{
	uint16_t id;
	uint32_t len;

	(void)state;
	fe_ring_start(&f, 0, 0);
	assert_int_equal(fe_vring_fd(&f, VHU_SET_VRING_CALL, 0, -1), 0);
	fe_post(&f, 0, "quiet");
	fe_signal(f.kick[0]);
	assert_false(fe_wait(f.call[0], 100)); /* no call fd any more */
	assert_int_equal(ring_driver_get_used(&f.drv[0], &id, &len), 1);
	/* A new call fd works. */
	assert_int_equal(fe_vring_fd(&f, VHU_SET_VRING_CALL, 0, f.call[0]), 0);
	fe_echo(&f, 0, "loud");
	assert_int_equal(fe_vring_fd(&f, VHU_SET_VRING_ERR, 0, -1), 0);
}

/* A call fd that is a pipe nobody drains must not stall the data path. */
static void test_call_full_pipe(void **state)
{
	int p[2], id;
	uint16_t uid;
	uint32_t len;
	char junk[4096] = {0};

	(void)state;
	fe_ring_start(&f, 0, 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fe_vring_fd(&f, VHU_SET_VRING_CALL, 0, p[1]), 0);
	/* Same file description: the server made it non-blocking. */
	assert_true(fcntl(p[1], F_GETFL) & O_NONBLOCK);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	for (int round = 0; round < 3; round++) {
		id = fe_post(&f, 0, "full");
		fe_signal(f.kick[0]);
		for (int ms = 0; ms < 2000; ms++) {
			if (ring_driver_get_used(&f.drv[0], &uid, &len) == 1)
				break;
			usleep(1000);
		}
		assert_int_equal(uid, id);
		assert_int_equal(len, 4);
	}
	/* The device still answers: a fresh call fd gets its signal. */
	assert_int_equal(fe_vring_fd(&f, VHU_SET_VRING_CALL, 0, f.call[0]), 0);
	fe_echo(&f, 0, "drained");
	close(p[0]);
	close(p[1]);
}

static void test_enable(void **state)
{
	(void)state;
	ring_prepare(0, 0, 0, false);
	assert_int_equal(kick_fd(0), 0);
	/* Without bit 30 acked the ring starts enabled. */
	fe_echo(&f, 0, "on");
	assert_int_equal(fe_state(&f, VHU_SET_VRING_ENABLE, 0, 2), 1);
	assert_int_equal(fe_state(&f, VHU_SET_VRING_ENABLE, 0, 0), 0);
	fe_post(&f, 0, "off");
	fe_signal(f.kick[0]);
	assert_false(fe_wait(f.call[0], 50));
	assert_int_equal(fe_state(&f, VHU_SET_VRING_ENABLE, 0, 1), 0);
	assert_true(fe_wait(f.call[0], 2000));
	expect_disconnect(VHU_SET_VRING_ENABLE, &(struct vhu_vring_state){9, 1},
			  sizeof(struct vhu_vring_state), NULL, 0);
}

/*
 * Peer bug class: a kick before SET_VRING_ENABLE served anyway (a back-end
 * that starts a ring on its kick fd alone). Guaranteed instead: with
 * VHOST_USER_F_PROTOCOL_FEATURES acked a ring starts disabled, a kick
 * before SET_VRING_ENABLE 1 touches nothing, and the request posted before
 * it is served once the ring is enabled.
 */
static void test_enable_protocol_features(void **state)
{
	int id;

	(void)state;
	assert_int_equal(fe_set_u64(&f, VHU_SET_FEATURES,
				    FE_V1 | FE_BIT(VHU_F_PROTOCOL_FEATURES)),
			 0);
	ring_prepare(0, 0, 0, false);
	assert_int_equal(kick_fd(0), 0);
	id = fe_post(&f, 0, "wait");
	fe_signal(f.kick[0]);
	assert_false(fe_wait(f.call[0], 50));
	assert_int_equal(fe_state(&f, VHU_SET_VRING_ENABLE, 0, 1), 0);
	fe_expect_echo(&f, 0, id, "wait");
}

/* With ACCESS_PLATFORM the ring addresses are IOVAs: guest addresses. */
static void test_iova_addresses(void **state)
{
	struct vhu_server_opts o = {.name = "xen", .offer_xen_mmap = true};

	(void)state;
	fe_fini(&f);
	fe_init(&f, &o);
	fe_negotiate(&f);
	assert_int_equal(fe_set_u64(&f, VHU_SET_FEATURES,
				    FE_V1 | FE_BIT(VIRTIO_F_ACCESS_PLATFORM)),
			 0);
	/* XEN_MMAP was negotiated: the 40-byte region form, flags 0 (plain). */
	fe_mem_create(&f);
	{
		struct {
			struct vhu_mem_hdr h;
			struct vhu_region_xen r;
		} t = {{1, 0}, {FE_GPA, FE_SIZE, FE_UVA, 0, 0, 0}};

		assert_int_equal(fe_ack(&f, VHU_SET_MEM_TABLE, &t, sizeof(t),
					&f.memfd, 1),
				 0);
	}
	ring_prepare(0, 0, 0, true);
	assert_int_equal(kick_fd(0), 0);
	fe_echo(&f, 0, "iova");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_num),
		T(test_addr),
		T(test_addr_not_in_memory),
		T(test_base),
		T(test_base_packed),
		T(test_base_packed_used_behind),
		T(test_base_index_beyond_queues),
		T(test_reboot_restarts_used_index),
		T(test_kick_replace),
		T(test_kick_nofd_polls),
		T(test_vring_fd_malformed),
		T(test_start_needs_features),
		T(test_call_nofd),
		T(test_call_full_pipe),
		T(test_enable),
		T(test_enable_protocol_features),
		T(test_iova_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
