// SPDX-License-Identifier: MIT
/*
 * Device core (core/virtio_dev.c) with a trivial "echo" model: feature
 * negotiation, status, config bounds, queue lifecycle, kick → used →
 * notify, corrupt ring → queue_error once, reset; and the kick loop
 * (asking for the next kick, buffers arriving during the handler, the
 * round limit, a model that leaves buffers in the ring) on split and
 * packed rings, with and without EVENT_IDX.
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
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <string.h>

#include "log.h"
#include "ring_driver.h"
#include "virtio_dev.h"

#define BIT(n)	(1ULL << (n))
#define V1	BIT(VIRTIO_F_VERSION_1)
#define MODEL_F BIT(0)
#define RING	0x100000ull
#define DATA	0x200000ull

/* ---- the echo model: copies each readable byte to the writable side --- */

struct echo {
	struct virtio_dev vdev;
	uint8_t config[8];
	int resets, started, stopping, kicks, config_writes;
	int refuse_features; /* features_ok error to return */
	/* Kick loop tests: */
	bool leave_ring;     /* take no buffers (an RX queue with no data) */
	int add_during_kick; /* handler calls that end with the driver
			      * adding a buffer (the lost-wake-up window) */
	int kicked_during;   /* ...for which the driver was asked to kick */
};

static int post_hello(void);
static bool driver_asked; /* the last post_hello's driver was asked to kick */

static void echo_config_read(struct virtio_dev *d, uint32_t off, void *buf,
			     uint32_t len)
{
	struct echo *e = container_of(d, struct echo, vdev);

	memcpy(buf, e->config + off, len);
}

static void echo_config_write(struct virtio_dev *d, uint32_t off,
			      const void *buf, uint32_t len)
{
	struct echo *e = container_of(d, struct echo, vdev);

	memcpy(e->config + off, buf, len);
	e->config_writes++;
}

static int echo_features_ok(struct virtio_dev *d, uint64_t features)
{
	struct echo *e = container_of(d, struct echo, vdev);

	(void)features;
	return e->refuse_features;
}

static void echo_queue_started(struct virtio_dev *d, unsigned q)
{
	(void)q;
	container_of(d, struct echo, vdev)->started++;
}

static void echo_queue_stopping(struct virtio_dev *d, unsigned q)
{
	(void)q;
	container_of(d, struct echo, vdev)->stopping++;
}

static void echo_queue_kick(struct virtio_dev *d, unsigned q)
{
	struct echo *e = container_of(d, struct echo, vdev);
	struct vq_elem *el;

	e->kicks++;
	if (e->leave_ring)
		return;
	while (vq_pop(&d->vqs[q], &el) == 1) {
		uint32_t n = el->rd_len < el->wr_len ? el->rd_len : el->wr_len;
		uint32_t done = 0;

		for (unsigned i = 0; i < el->rd_num && done < n; i++) {
			uint32_t c = el->rd_iov[i].iov_len;

			if (c > n - done)
				c = n - done;
			/* One writable segment in these tests. */
			memcpy((uint8_t *)el->wr_iov[0].iov_base + done,
			       el->rd_iov[i].iov_base, c);
			done += c;
		}
		vq_push(&d->vqs[q], el, done);
	}
	/* After our last vq_pop, before the core re-enables kicks. */
	if (e->add_during_kick > 0) {
		e->add_during_kick--;
		post_hello();
		e->kicked_during += driver_asked;
	}
}

static void echo_reset(struct virtio_dev *d)
{
	container_of(d, struct echo, vdev)->resets++;
}

static const struct virtio_dev_ops echo_ops = {
	.name = "echo",
	.device_id = VIRTIO_ID_CONSOLE,
	.features = MODEL_F,
	.num_queues = 2,
	.queue_max = 64,
	.config_size = sizeof(((struct echo *)0)->config),
	.config_read = echo_config_read,
	.config_write = echo_config_write,
	.features_ok = echo_features_ok,
	.queue_started = echo_queue_started,
	.queue_stopping = echo_queue_stopping,
	.queue_kick = echo_queue_kick,
	.reset = echo_reset,
};

/* ---- a transport that counts --------------------------------------------- */

struct count_tp {
	struct virtio_transport tp;
	int notified[2], config, errors[2];
};

static void ct_notify_queue(struct virtio_transport *t, unsigned q)
{
	container_of(t, struct count_tp, tp)->notified[q]++;
}

static void ct_notify_config(struct virtio_transport *t)
{
	container_of(t, struct count_tp, tp)->config++;
}

static void ct_queue_error(struct virtio_transport *t, unsigned q)
{
	container_of(t, struct count_tp, tp)->errors[q]++;
}

static const struct virtio_transport_ops ct_ops = {
	.notify_queue = ct_notify_queue,
	.notify_config = ct_notify_config,
	.queue_error = ct_queue_error,
};

/* ---- fixture ------------------------------------------------------------- */

static struct echo echo;
static struct count_tp ct;
static struct fake_gmem mem;
static struct ring_driver drv;

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_LEVEL_ERR);
	memset(&echo, 0, sizeof(echo));
	memset(&ct, 0, sizeof(ct));
	ct.tp.ops = &ct_ops;
	assert_int_equal(fake_gmem_init(&mem), 0);
	assert_int_equal(
		fake_gmem_add(&mem, RING, 0x10000, GMEM_READ | GMEM_WRITE), 0);
	assert_int_equal(
		fake_gmem_add(&mem, DATA, 0x10000, GMEM_READ | GMEM_WRITE), 0);
	assert_int_equal(
		ring_driver_init(&drv, &mem,
				 &(struct ring_driver_cfg){.features = 0,
							   .num = 16,
							   .ring = RING}),
		0);
	assert_int_equal(virtio_dev_init(&echo.vdev, &echo_ops, 0), 0);
	echo.vdev.kick_budget_ns = TEST_KICK_BUDGET_NS;
	virtio_dev_attach(&echo.vdev, &ct.tp, &mem.gmem);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	virtio_dev_destroy(&echo.vdev);
	ring_driver_destroy(&drv);
	fake_gmem_destroy(&mem);
	return 0;
}

static void start_q0(void)
{
	assert_int_equal(virtio_dev_set_features(&echo.vdev, V1), 0);
	assert_int_equal(
		virtio_dev_queue_start(&echo.vdev, 0, &drv.layout, drv.base),
		0);
}

/* Post "hello" with an 8-byte writable buffer; returns the buffer id and
 * sets driver_asked. */
static int post_hello(void)
{
	struct ring_seg segs[] = {
		{.gaddr = DATA, .len = 5},
		{.gaddr = DATA + 0x100, .len = 8, .write = true},
	};
	int id;

	assert_int_equal(fake_gmem_write(&mem, DATA, "hello", 5), 0);
	id = ring_driver_add(&drv, segs, 2, false);
	assert_true(id >= 0);
	driver_asked = ring_driver_publish(&drv);
	return id;
}

/* ---- tests --------------------------------------------------------------- */

static void test_init_errors(void **state)
{
	struct virtio_dev d;
	struct virtio_dev_ops o = echo_ops;

	(void)state;
	assert_int_equal(virtio_dev_init(&d, NULL, 0), -EINVAL);
	o.num_queues = 0;
	assert_int_equal(virtio_dev_init(&d, &o, 0), -EINVAL);
	o.num_queues = VIRTIO_DEV_QUEUES_MAX + 1;
	assert_int_equal(virtio_dev_init(&d, &o, 0), -EINVAL);
	o = echo_ops;
	o.queue_max = 0;
	assert_int_equal(virtio_dev_init(&d, &o, 0), -EINVAL);
	o = echo_ops;
	o.queue_kick = NULL;
	assert_int_equal(virtio_dev_init(&d, &o, 0), -EINVAL);
	o = echo_ops;
	o.config_read = NULL;
	assert_int_equal(virtio_dev_init(&d, &o, 0), -EINVAL);
	o = echo_ops;
	o.queue_max = VQ_NUM_MAX + 1; /* vq_init refuses it */
	assert_int_equal(virtio_dev_init(&d, &o, 0), -EINVAL);
	virtio_dev_destroy(&d); /* after a failed init: harmless */
}

static void test_features_offered(void **state)
{
	struct virtio_dev d;
	uint64_t want = MODEL_F | BIT(VIRTIO_RING_F_INDIRECT_DESC) |
			BIT(VIRTIO_RING_F_EVENT_IDX) | V1 |
			BIT(VIRTIO_F_ACCESS_PLATFORM);

	(void)state;
	assert_int_equal(virtio_dev_features(&echo.vdev), want);
	assert_int_equal(
		virtio_dev_init(&d, &echo_ops, BIT(VIRTIO_F_RING_PACKED)), 0);
	assert_int_equal(virtio_dev_features(&d),
			 want | BIT(VIRTIO_F_RING_PACKED));
	virtio_dev_destroy(&d);
}

static void test_set_features(void **state)
{
	struct virtio_dev *d = &echo.vdev;

	(void)state;
	/* Not offered. */
	assert_int_equal(
		virtio_dev_set_features(d, V1 | BIT(VIRTIO_F_RING_PACKED)),
		-EINVAL);
	/* Legacy drivers are refused. */
	assert_int_equal(virtio_dev_set_features(d, MODEL_F), -EINVAL);
	assert_int_equal(d->features, 0);
	/* The model may refuse. */
	echo.refuse_features = -ENOTSUP;
	assert_int_equal(virtio_dev_set_features(d, V1), -ENOTSUP);
	assert_int_equal(d->features, 0);
	echo.refuse_features = 0;
	assert_int_equal(virtio_dev_set_features(d, V1 | MODEL_F), 0);
	assert_int_equal(d->features, V1 | MODEL_F);
	/* While a ring runs: only the same features. */
	assert_int_equal(virtio_dev_queue_start(d, 0, &drv.layout, drv.base),
			 0);
	assert_int_equal(virtio_dev_set_features(d, V1 | MODEL_F), 0);
	assert_int_equal(virtio_dev_set_features(d, V1), -EBUSY);
	assert_int_equal(d->features, V1 | MODEL_F);
}

static void test_status(void **state)
{
	struct virtio_dev *d = &echo.vdev;
	uint8_t ack = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	(void)state;
	/* FEATURES_OK without accepted features does not stick. */
	assert_int_equal(
		virtio_dev_set_status(d, ack | VIRTIO_CONFIG_S_FEATURES_OK),
		-EINVAL);
	assert_int_equal(virtio_dev_status(d), ack);
	assert_int_equal(virtio_dev_set_features(d, V1), 0);
	assert_int_equal(
		virtio_dev_set_status(d, ack | VIRTIO_CONFIG_S_FEATURES_OK), 0);
	assert_int_equal(virtio_dev_status(d),
			 ack | VIRTIO_CONFIG_S_FEATURES_OK);
	/* Writing 0 resets. */
	assert_int_equal(virtio_dev_set_status(d, 0), 0);
	assert_int_equal(echo.resets, 1);
	assert_int_equal(virtio_dev_status(d), 0);
	assert_int_equal(d->features, 0);
	/* DRIVER_OK without FEATURES_OK: what QEMU's vhost-user sends. */
	assert_int_equal(
		virtio_dev_set_status(d, ack | VIRTIO_CONFIG_S_DRIVER_OK), 0);
	assert_int_equal(virtio_dev_status(d), ack | VIRTIO_CONFIG_S_DRIVER_OK);
}

static void test_config_bounds(void **state)
{
	struct virtio_dev *d = &echo.vdev;
	uint8_t buf[16];

	(void)state;
	memcpy(echo.config, "ABCDEFGH", 8);
	assert_int_equal(virtio_dev_config_read(d, 2, buf, 4), 0);
	assert_memory_equal(buf, "CDEF", 4);
	assert_int_equal(virtio_dev_config_read(d, 0, buf, 8), 0);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(virtio_dev_config_read(d, 4, buf, 5), -EINVAL);
	assert_int_equal(buf[0], 0); /* zeroed */
	assert_int_equal(buf[4], 0);
	assert_int_equal(virtio_dev_config_read(d, 8, buf, 1), -EINVAL);
	assert_int_equal(virtio_dev_config_read(d, 0, buf, 0), -EINVAL);
	/* off + len wraps a 32-bit sum: still refused. */
	assert_int_equal(virtio_dev_config_read(d, UINT32_MAX, buf, 2),
			 -EINVAL);
	assert_int_equal(virtio_dev_config_write(d, UINT32_MAX - 1, "xy", 2),
			 -EINVAL);
	assert_int_equal(virtio_dev_config_write(d, 7, "xy", 2), -EINVAL);
	assert_int_equal(echo.config_writes, 0);
	assert_int_equal(virtio_dev_config_write(d, 6, "xy", 2), 0);
	assert_memory_equal(echo.config, "ABCDEFxy", 8);
}

static void test_config_read_only(void **state)
{
	struct virtio_dev d;
	struct virtio_dev_ops o = echo_ops;

	(void)state;
	o.config_write = NULL;
	assert_int_equal(virtio_dev_init(&d, &o, 0), 0);
	assert_int_equal(virtio_dev_config_write(&d, 0, "x", 1), -EPERM);
	virtio_dev_destroy(&d);
	o.config_size = 0;
	o.config_read = NULL;
	assert_int_equal(virtio_dev_init(&d, &o, 0), 0);
	assert_int_equal(virtio_dev_config_read(&d, 0, (uint8_t[1]){0}, 1),
			 -EINVAL);
	virtio_dev_destroy(&d);
}

static void test_config_changed(void **state)
{
	(void)state;
	virtio_dev_config_changed(&echo.vdev);
	virtio_dev_config_changed(&echo.vdev);
	assert_int_equal(echo.vdev.config_generation, 2);
	assert_int_equal(ct.config, 2);
}

static void test_queue_start_errors(void **state)
{
	struct virtio_dev *d = &echo.vdev;
	struct vq_layout bad = drv.layout;

	(void)state;
	assert_int_equal(virtio_dev_queue_start(d, 0, &drv.layout, 0), -EPROTO);
	assert_int_equal(virtio_dev_set_features(d, V1), 0);
	assert_int_equal(virtio_dev_queue_start(d, 2, &drv.layout, 0), -EINVAL);
	bad.desc = 0x900000; /* not guest memory */
	assert_int_equal(virtio_dev_queue_start(d, 0, &bad, 0), -EFAULT);
	assert_false(virtio_dev_queue_is_started(d, 0));
	assert_int_equal(echo.started, 0);
	assert_int_equal(virtio_dev_queue_start(d, 0, &drv.layout, drv.base),
			 0);
	assert_true(virtio_dev_queue_is_started(d, 0));
	assert_int_equal(echo.started, 1);
	assert_int_equal(virtio_dev_queue_start(d, 0, &drv.layout, drv.base),
			 -EBUSY);
	virtio_dev_attach(d, &ct.tp, NULL);
	assert_int_equal(virtio_dev_queue_start(d, 1, &drv.layout, drv.base),
			 -EINVAL);
	virtio_dev_attach(d, &ct.tp, &mem.gmem);
}

/*
 * A legacy driver (no VERSION_1), where the transport serves one: split
 * rings, feature bits 0..31 only, a feature set of 0 counts as accepted,
 * and the model may refuse.
 */
static void test_legacy_features(void **state)
{
	struct virtio_dev *d = &echo.vdev;
	uint8_t ack = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	uint16_t id;
	uint32_t len;
	char out[8] = {0};
	int posted;

	(void)state;
	assert_false(d->legacy_ok); /* off unless the transport says so */
	assert_int_equal(virtio_dev_set_features(d, MODEL_F), -EINVAL);
	d->legacy_ok = true;
	/* Bits above 31 exist only in VIRTIO 1.x. */
	assert_int_equal(virtio_dev_set_features(
				 d, MODEL_F | BIT(VIRTIO_F_ACCESS_PLATFORM)),
			 -EINVAL);
	assert_false(d->features_accepted);
	echo.refuse_features = -ENOTSUP; /* a model that needs VIRTIO 1.x */
	assert_int_equal(virtio_dev_set_features(d, MODEL_F), -ENOTSUP);
	assert_int_equal(virtio_dev_queue_start(d, 0, &drv.layout, drv.base),
			 -EPROTO);
	echo.refuse_features = 0;
	/* No feature at all is still a negotiated feature set. */
	assert_int_equal(virtio_dev_set_features(d, 0), 0);
	assert_true(d->features_accepted);
	assert_int_equal(
		virtio_dev_set_status(d, ack | VIRTIO_CONFIG_S_DRIVER_OK), 0);
	assert_int_equal(virtio_dev_set_features(d, MODEL_F), 0);
	assert_int_equal(virtio_dev_queue_start(d, 0, &drv.layout, drv.base),
			 0);
	posted = post_hello();
	assert_int_equal(virtio_dev_kick(d, 0), 0);
	assert_int_equal(ring_driver_get_used(&drv, &id, &len), 1);
	assert_int_equal(id, posted);
	assert_int_equal(len, 5);
	assert_int_equal(fake_gmem_read(&mem, DATA + 0x100, out, 5), 0);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(ct.notified[0], 1);
	/* A reset forgets the feature set. */
	virtio_dev_reset(d);
	assert_false(d->features_accepted);
	assert_int_equal(virtio_dev_queue_start(d, 0, &drv.layout, drv.base),
			 -EPROTO);
}

static void test_kick_echo(void **state)
{
	uint16_t id;
	uint32_t len;
	char out[8] = {0};
	int posted;

	(void)state;
	start_q0();
	posted = post_hello();
	assert_int_equal(virtio_dev_kick(&echo.vdev, 0), 0);
	assert_int_equal(echo.kicks, 1);
	assert_int_equal(ct.notified[0], 1);
	assert_int_equal(ring_driver_get_used(&drv, &id, &len), 1);
	assert_int_equal(id, posted);
	assert_int_equal(len, 5);
	assert_int_equal(fake_gmem_read(&mem, DATA + 0x100, out, 5), 0);
	assert_memory_equal(out, "hello", 5);
	/* Nothing new: no notification. */
	virtio_dev_kick(&echo.vdev, 0);
	assert_int_equal(ct.notified[0], 1);
	/* Kicks of stopped or absent queues reach no model. */
	virtio_dev_kick(&echo.vdev, 1);
	virtio_dev_kick(&echo.vdev, 7);
	virtio_dev_complete(&echo.vdev, 7);
	assert_int_equal(echo.kicks, 2);
	assert_int_equal(ct.errors[0] + ct.errors[1], 0);
}

static void test_queue_stop(void **state)
{
	uint32_t base = 99;

	(void)state;
	assert_int_equal(virtio_dev_queue_stop(&echo.vdev, 0, &base), -EINVAL);
	start_q0();
	post_hello();
	virtio_dev_kick(&echo.vdev, 0);
	assert_int_equal(virtio_dev_queue_stop(&echo.vdev, 0, &base), 0);
	assert_int_equal(echo.stopping, 1);
	assert_int_equal(base, 1); /* one buffer consumed */
	assert_false(virtio_dev_queue_is_started(&echo.vdev, 0));
	assert_int_equal(virtio_dev_queue_stop(&echo.vdev, 5, &base), -EINVAL);
	/* Restart where it stopped. */
	assert_int_equal(
		virtio_dev_queue_start(&echo.vdev, 0, &drv.layout, base), 0);
}

static void test_corrupt_ring(void **state)
{
	(void)state;
	start_q0();
	ring_driver_split_post(&drv, 200); /* head >= queue size */
	ring_driver_publish(&drv);
	virtio_dev_kick(&echo.vdev, 0);
	assert_int_equal(ct.errors[0], 1);
	assert_true(vq_broken(&echo.vdev.vqs[0], NULL) < 0);
	/* Reported once, however often the driver kicks. */
	virtio_dev_kick(&echo.vdev, 0);
	virtio_dev_complete(&echo.vdev, 0);
	assert_int_equal(ct.errors[0], 1);
	assert_int_equal(ct.errors[1], 0);
}

static void test_reset(void **state)
{
	struct virtio_dev *d = &echo.vdev;

	(void)state;
	start_q0();
	assert_int_equal(virtio_dev_set_status(d, VIRTIO_CONFIG_S_DRIVER_OK),
			 0);
	virtio_dev_reset(d);
	assert_int_equal(echo.resets, 1);
	assert_false(virtio_dev_queue_is_started(d, 0));
	assert_int_equal(d->features, 0);
	assert_int_equal(virtio_dev_status(d), 0);
	/* reset, not queue_stopping, tells the model. */
	assert_int_equal(echo.stopping, 0);
}

/* ---- the kick loop, per ring format (cmocka state: ring features) ---- */

/* Start queue 0 again on a fresh ring of the given format. */
static void start_ring(void **state)
{
	uint64_t ring_features = *(const uint64_t *)*state;
	uint64_t packed = ring_features & BIT(VIRTIO_F_RING_PACKED);

	ring_driver_destroy(&drv);
	assert_int_equal(ring_driver_init(&drv, &mem,
					  &(struct ring_driver_cfg){
						  .features = ring_features,
						  .num = 16,
						  .ring = RING}),
			 0);
	virtio_dev_destroy(&echo.vdev);
	assert_int_equal(virtio_dev_init(&echo.vdev, &echo_ops, packed), 0);
	echo.vdev.kick_budget_ns = TEST_KICK_BUDGET_NS;
	virtio_dev_attach(&echo.vdev, &ct.tp, &mem.gmem);
	assert_int_equal(
		virtio_dev_set_features(&echo.vdev, V1 | ring_features), 0);
	assert_int_equal(
		virtio_dev_queue_start(&echo.vdev, 0, &drv.layout, drv.base),
		0);
}

/* Take every used entry; returns how many there were. */
static int reap(void)
{
	uint16_t id;
	uint32_t len;
	int n = 0, ret;

	while ((ret = ring_driver_get_used(&drv, &id, &len)) == 1) {
		assert_int_equal(len, 5);
		n++;
	}
	assert_int_equal(ret, 0);
	return n;
}

static void test_kick_asks_for_the_next_kick(void **state)
{
	start_ring(state);
	/*
	 * After serving, the device must want to hear about new buffers. With
	 * EVENT_IDX nothing but the device moves avail_event: a model that
	 * forgot to would silence the driver for good after one request.
	 */
	for (int i = 0; i < 40; i++) { /* 2.5 laps of a 16-entry ring */
		post_hello();
		assert_true(driver_asked);
		assert_int_equal(virtio_dev_kick(&echo.vdev, 0), 0);
		assert_int_equal(reap(), 1);
		/* As the driver's interrupt handler does (used_event). */
		assert_int_equal(ring_driver_irq_enable(&drv), 0);
	}
	assert_int_equal(echo.kicks, 40);
	assert_int_equal(ct.notified[0], 40);
}

static void test_kick_buffer_during_handler(void **state)
{
	start_ring(state);
	post_hello();
	assert_true(driver_asked);
	/* The driver adds one after the model's last vq_pop: kicks are off
	 * then, so it does not kick, and the core must serve it anyway. */
	echo.add_during_kick = 1;
	assert_int_equal(virtio_dev_kick(&echo.vdev, 0), 0);
	assert_int_equal(echo.kicked_during, 0);
	assert_int_equal(echo.kicks, 2);
	assert_int_equal(reap(), 2);
	/* And the driver is asked for the next kick afterwards. */
	post_hello();
	assert_true(driver_asked);
	assert_int_equal(virtio_dev_kick(&echo.vdev, 0), 0);
	assert_int_equal(reap(), 1);
	assert_int_equal(echo.kicks, 3);
}

static void test_kick_round_limit(void **state)
{
	start_ring(state);
	post_hello();
	/* A driver that keeps adding: the core stops after its round limit
	 * and says so, with the last buffer still waiting. */
	echo.add_during_kick = 1000;
	assert_int_equal(virtio_dev_kick(&echo.vdev, 0), 1);
	assert_int_equal(echo.kicks, VIRTIO_DEV_KICK_ROUNDS);
	assert_int_equal(reap(), VIRTIO_DEV_KICK_ROUNDS);
	assert_int_equal(echo.kicked_during, 0);
	/* Called again (what dev_thread does): nothing was lost. */
	echo.add_during_kick = 0;
	assert_int_equal(virtio_dev_kick(&echo.vdev, 0), 0);
	assert_int_equal(reap(), 1);
	assert_int_equal(echo.kicks, VIRTIO_DEV_KICK_ROUNDS + 1);
	post_hello();
	assert_true(driver_asked);
}

static void test_kick_model_leaves_buffers(void **state)
{
	start_ring(state);
	post_hello();
	/* A model that keeps buffers in the ring until it can use them is
	 * called once, not spun: the re-check sees buffers, but it took none.
	 */
	echo.leave_ring = true;
	assert_int_equal(virtio_dev_kick(&echo.vdev, 0), 0);
	assert_int_equal(echo.kicks, 1);
	assert_int_equal(reap(), 0);
	/* When it takes them, they are all there. */
	echo.leave_ring = false;
	post_hello();
	assert_int_equal(virtio_dev_kick(&echo.vdev, 0), 0);
	assert_int_equal(reap(), 2);
}

static void test_kick_broken_ring_stops(void **state)
{
	uint64_t ring_features = *(const uint64_t *)*state;

	start_ring(state);
	if (ring_features & BIT(VIRTIO_F_RING_PACKED))
		ring_driver_packed_post(
			&drv,
			&(struct vring_packed_desc){
				.addr = DATA, .len = 5, .id = 200},
			1);
	else
		ring_driver_split_post(&drv, 200);
	ring_driver_publish(&drv);
	/* Reported once; the loop does not go round on a broken ring. */
	echo.add_during_kick = 1000;
	assert_int_equal(virtio_dev_kick(&echo.vdev, 0), 0);
	assert_int_equal(echo.kicks, 1);
	assert_int_equal(ct.errors[0], 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define R(f, feat)                                        \
	{                                                 \
#f " " #feat, f, setup, teardown, &(feat) \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_errors),
		T(test_features_offered),
		T(test_set_features),
		T(test_legacy_features),
		T(test_status),
		T(test_config_bounds),
		T(test_config_read_only),
		T(test_config_changed),
		T(test_queue_start_errors),
		T(test_kick_echo),
		T(test_queue_stop),
		T(test_corrupt_ring),
		T(test_reset),
	};

	/* Ring features per run (cmocka's state is not const). */
	static uint64_t split = 0,
			split_event_idx = BIT(VIRTIO_RING_F_EVENT_IDX),
			packed = BIT(VIRTIO_F_RING_PACKED),
			packed_event_idx = BIT(VIRTIO_F_RING_PACKED) |
					   BIT(VIRTIO_RING_F_EVENT_IDX);
#define RINGS(f) \
	R(f, split), R(f, split_event_idx), R(f, packed), R(f, packed_event_idx)
	const struct CMUnitTest kick_loop[] = {
		RINGS(test_kick_asks_for_the_next_kick),
		RINGS(test_kick_buffer_during_handler),
		RINGS(test_kick_round_limit),
		RINGS(test_kick_model_leaves_buffers),
		RINGS(test_kick_broken_ring_stops),
	};
#undef RINGS

	return cmocka_run_group_tests(tests, NULL, NULL) |
	       cmocka_run_group_tests(kick_loop, NULL, NULL);
}
