// SPDX-License-Identifier: MIT
/*
 * virtio-mmio version 2 register model (core/virtio_mmio.c), register by
 * register against virtio 1.2 section 4.2.2, driven the way Linux's
 * virtio_mmio driver drives it: probe, feature windows, FEATURES_OK and
 * its refusal, queue setup on real rings (ring_driver in fake_gmem) served
 * by the device's data-path thread after QueueNotify, InterruptStatus /
 * ACK and raise_irq, Status 0, QueueReset, config space and its
 * generation, NEEDS_RESET for a corrupt ring or an unusable one, and every
 * undefined offset, size and alignment refused with no state change.
 */

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "ring_driver.h"
#include "virtio_mmio.h"

#define BIT(n)	   (1ULL << (n))
#define V1	   BIT(VIRTIO_F_VERSION_1)
#define PACKED	   BIT(VIRTIO_F_RING_PACKED)
#define EVENT_IDX  BIT(VIRTIO_RING_F_EVENT_IDX)
#define INDIRECT   BIT(VIRTIO_RING_F_INDIRECT_DESC)
#define RING_RESET BIT(VIRTIO_F_RING_RESET)
#define MODEL_F	   BIT(3)
#define NQ	   2
#define QMAX	   64
#define RING(q)	   (RING_DRIVER_MEM_RING + (uint64_t)(q)*0x10000)
#define DATA	   RING_DRIVER_MEM_DATA
#define QRESET	   0x0c0 /* QueueReset, virtio 1.2 */

#define S_ACK	VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV	VIRTIO_CONFIG_S_DRIVER
#define S_FOK	VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK	VIRTIO_CONFIG_S_DRIVER_OK
#define S_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define I_VRING VIRTIO_MMIO_INT_VRING
#define I_CONF	VIRTIO_MMIO_INT_CONFIG

/* ---- an echo model: copies the readable bytes to the writable side ------ */

struct echo {
	struct virtio_dev vdev;
	uint8_t config[8];
	atomic_int kicks, resets, started, stopping;
	int refuse; /* features_ok's answer */
};

static void echo_config_read(struct virtio_dev *d, uint32_t off, void *buf,
			     uint32_t len)
{
	memcpy(buf, container_of(d, struct echo, vdev)->config + off, len);
}

static void echo_config_write(struct virtio_dev *d, uint32_t off,
			      const void *buf, uint32_t len)
{
	memcpy(container_of(d, struct echo, vdev)->config + off, buf, len);
}

static int echo_features_ok(struct virtio_dev *d, uint64_t features)
{
	(void)features;
	return container_of(d, struct echo, vdev)->refuse;
}

static void echo_queue_started(struct virtio_dev *d, unsigned q)
{
	(void)q;
	atomic_fetch_add(&container_of(d, struct echo, vdev)->started, 1);
}

static void echo_queue_stopping(struct virtio_dev *d, unsigned q)
{
	(void)q;
	atomic_fetch_add(&container_of(d, struct echo, vdev)->stopping, 1);
}

static void echo_queue_kick(struct virtio_dev *d, unsigned q)
{
	struct echo *e = container_of(d, struct echo, vdev);
	struct vq_elem *el;

	atomic_fetch_add(&e->kicks, 1);
	while (vq_pop(&d->vqs[q], &el) == 1) {
		uint32_t n = el->rd_len < el->wr_len ? el->rd_len : el->wr_len;
		uint32_t done = 0;

		for (unsigned i = 0; i < el->rd_num && done < n; i++) {
			uint32_t c = el->rd_iov[i].iov_len;

			if (c > n - done)
				c = n - done;
			memcpy((uint8_t *)el->wr_iov[0].iov_base + done,
			       el->rd_iov[i].iov_base, c);
			done += c;
		}
		vq_push(&d->vqs[q], el, done);
	}
}

static void echo_reset(struct virtio_dev *d)
{
	atomic_fetch_add(&container_of(d, struct echo, vdev)->resets, 1);
}

#define ECHO_OPS                                                              \
	.name = "echo", .device_id = VIRTIO_ID_CONSOLE, .num_queues = NQ,     \
	.queue_max = QMAX, .config_size = 8, .config_read = echo_config_read, \
	.features_ok = echo_features_ok, .queue_started = echo_queue_started, \
	.queue_stopping = echo_queue_stopping, .queue_kick = echo_queue_kick, \
	.reset = echo_reset

static const struct virtio_dev_ops echo_ops = {
	ECHO_OPS,
	.features = MODEL_F,
	.config_write = echo_config_write,
};
/* Offers VIRTIO_F_RING_RESET, so QueueReset exists. */
static const struct virtio_dev_ops echo_rr_ops = {
	ECHO_OPS,
	.features = MODEL_F | RING_RESET,
	.config_write = echo_config_write,
};
/* Read-only config space. */
static const struct virtio_dev_ops echo_ro_ops = {
	ECHO_OPS,
	.features = MODEL_F,
};

/* ---- the transport's side: counts interrupts, wakes the test ------------ */

struct tdev {
	struct vmmio m;
	atomic_int irqs;
	int irq_fd;
};

static void t_raise_irq(struct vmmio *m)
{
	struct tdev *t = container_of(m, struct tdev, m);
	uint64_t one = 1;

	/* Data-path thread: no cmocka assertion here. */
	atomic_fetch_add(&t->irqs, 1);
	if (write(t->irq_fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static const struct vmmio_ops t_ops = {.raise_irq = t_raise_irq};

/* ---- fixture --------------------------------------------------------------
 */

static struct {
	struct fake_gmem mem;
	struct echo echo;
	struct tdev t;
	struct ring_driver drv[NQ];
	bool drv_up[NQ];
} F;

static struct vmmio *M(void)
{
	return &F.t.m;
}

static void fix_init(const struct virtio_dev_ops *ops, uint64_t extra)
{
	memset(&F, 0, sizeof(F));
	log_set_level(LOG_LEVEL_ERR);
	assert_int_equal(fake_gmem_init(&F.mem), 0);
	assert_int_equal(fake_gmem_add(&F.mem, RING_DRIVER_MEM_RING, 0x100000,
				       GMEM_READ | GMEM_WRITE),
			 0);
	assert_int_equal(
		fake_gmem_add(&F.mem, DATA, 0x100000, GMEM_READ | GMEM_WRITE),
		0);
	memcpy(F.echo.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(virtio_dev_init(&F.echo.vdev, ops, extra), 0);
	F.t.irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(F.t.irq_fd >= 0);
	assert_int_equal(
		vmmio_init(M(), &F.echo.vdev, &F.mem.gmem, &t_ops, "mmio-test"),
		0);
}

static int setup(void **state)
{
	(void)state;
	fix_init(&echo_ops, 0);
	return 0;
}

static int setup_packed(void **state)
{
	(void)state;
	fix_init(&echo_ops, PACKED);
	return 0;
}

static int setup_rr(void **state)
{
	(void)state;
	fix_init(&echo_rr_ops, 0);
	return 0;
}

static int setup_ro(void **state)
{
	(void)state;
	fix_init(&echo_ro_ops, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vmmio_destroy(M());
	/* Destroy reset the device and detached it. */
	assert_null(F.echo.vdev.tp);
	assert_int_equal(virtio_dev_status(&F.echo.vdev), 0);
	for (unsigned q = 0; q < NQ; q++) {
		assert_false(virtio_dev_queue_is_started(&F.echo.vdev, q));
		if (F.drv_up[q])
			ring_driver_destroy(&F.drv[q]);
	}
	virtio_dev_destroy(&F.echo.vdev);
	assert_int_equal(fake_gmem_live(&F.mem), 0);
	assert_int_equal(F.mem.bad_unmaps, 0);
	fake_gmem_destroy(&F.mem);
	close(F.t.irq_fd);
	log_set_hook(NULL);
	return 0;
}

/* ---- register access helpers ------------------------------------------------
 */

static uint32_t rd(uint32_t off)
{
	uint64_t v = 0xdeadbeefdeadULL;

	assert_int_equal(vmmio_read(M(), off, 4, &v), 0);
	assert_true(v <= UINT32_MAX);
	return (uint32_t)v;
}

static void wr(uint32_t off, uint32_t v)
{
	assert_int_equal(vmmio_write(M(), off, 4, v), 0);
}

static void wr_bad(uint32_t off, uint32_t v)
{
	assert_int_equal(vmmio_write(M(), off, 4, v), -EINVAL);
}

static void rd_bad(uint32_t off, unsigned size)
{
	uint64_t v = 0xdeadbeefULL;

	assert_int_equal(vmmio_read(M(), off, size, &v), -EINVAL);
	assert_int_equal(v, 0);
}

static void add_status(uint32_t bits)
{
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | bits);
}

/* ---- driver helpers: what Linux's virtio_mmio.c does ------------------------
 */

static void drv_probe(void)
{
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	wr(VIRTIO_MMIO_STATUS, 0);
	add_status(S_ACK);
	add_status(S_DRV);
}

static uint64_t dev_features(void)
{
	uint64_t f;

	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | rd(VIRTIO_MMIO_DEVICE_FEATURES);
}

static void put_driver_features(uint64_t f)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
}

/* Write f, set FEATURES_OK, and tell whether it stuck. */
static bool drv_features(uint64_t f)
{
	put_driver_features(f);
	add_status(S_FOK);
	return rd(VIRTIO_MMIO_STATUS) & S_FOK;
}

static void drv_ring(unsigned q, uint64_t ring_features, uint16_t num)
{
	if (F.drv_up[q])
		ring_driver_destroy(&F.drv[q]);
	assert_int_equal(ring_driver_init(&F.drv[q], &F.mem,
					  &(struct ring_driver_cfg){
						  .features = ring_features,
						  .num = num,
						  .ring = RING(q)}),
			 0);
	F.drv_up[q] = true;
}

static void put_addr(uint32_t low, uint64_t a)
{
	wr(low, (uint32_t)a);
	wr(low + 4, (uint32_t)(a >> 32));
}

/* Select q and write its size and ring addresses (vm_setup_vq's order). */
static void drv_queue_regs(unsigned q)
{
	const struct vq_layout *l = &F.drv[q].layout;

	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	wr(VIRTIO_MMIO_QUEUE_NUM, l->num);
	put_addr(VIRTIO_MMIO_QUEUE_DESC_LOW, l->desc);
	put_addr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, l->driver);
	put_addr(VIRTIO_MMIO_QUEUE_USED_LOW, l->device);
}

static void drv_queue(unsigned q, uint64_t ring_features, uint16_t num)
{
	drv_ring(q, ring_features, num);
	drv_queue_regs(q);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	assert_true(virtio_dev_queue_is_started(&F.echo.vdev, q));
}

/* The whole bring-up: features f, both queues, DRIVER_OK. */
static void drv_start(uint64_t f, uint16_t num)
{
	uint64_t ring = f & (PACKED | EVENT_IDX | INDIRECT);

	drv_probe();
	assert_true(drv_features(f));
	drv_queue(0, ring, num);
	drv_queue(1, ring, num);
	add_status(S_DOK);
}

static bool wait_irq(int ms)
{
	struct pollfd p = {.fd = F.t.irq_fd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, ms) != 1)
		return false;
	return read(F.t.irq_fd, &v, sizeof(v)) == sizeof(v);
}

static int post(unsigned q, const char *text)
{
	uint64_t in = DATA + q * 0x1000, out = in + 0x800;
	struct ring_seg segs[] = {
		{.gaddr = in, .len = (uint32_t)strlen(text)},
		{.gaddr = out, .len = 64, .write = true},
	};
	int id;

	assert_int_equal(fake_gmem_write(&F.mem, in, text, strlen(text)), 0);
	id = ring_driver_add(&F.drv[q], segs, 2, false);
	assert_true(id >= 0);
	ring_driver_publish(&F.drv[q]);
	return id;
}

/*
 * After an interrupt, as vm_interrupt does: InterruptStatus has the
 * used-buffer bit, the used entry is there, then ACK.
 */
static void expect_echo(unsigned q, int id, const char *text)
{
	uint64_t out = DATA + q * 0x1000 + 0x800;
	uint32_t isr, len;
	uint16_t uid;
	char buf[64];

	assert_true(wait_irq(2000));
	isr = rd(VIRTIO_MMIO_INTERRUPT_STATUS);
	assert_true(isr & I_VRING);
	assert_int_equal(ring_driver_get_used(&F.drv[q], &uid, &len), 1);
	assert_int_equal(uid, id);
	assert_int_equal(len, strlen(text));
	assert_int_equal(fake_gmem_read(&F.mem, out, buf, len), 0);
	assert_memory_equal(buf, text, len);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, isr);
	/* Ask for the next interrupt (used_event with EVENT_IDX). */
	ring_driver_irq_enable(&F.drv[q]);
}

static void echo_on(unsigned q, const char *text)
{
	int id = post(q, text);

	wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
	expect_echo(q, id, text);
}

/* ---- identification -------------------------------------------------------
 */

static void test_ids(void **state)
{
	(void)state;
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	assert_int_equal(rd(VIRTIO_MMIO_VENDOR_ID), 0x1af4);
	/* Read-only: writes are refused and change nothing. */
	wr_bad(VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr_bad(VIRTIO_MMIO_VERSION, 1);
	wr_bad(VIRTIO_MMIO_DEVICE_ID, 0);
	wr_bad(VIRTIO_MMIO_VENDOR_ID, 0);
	assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
	/* Only aligned 32-bit accesses to control registers. */
	rd_bad(VIRTIO_MMIO_MAGIC_VALUE, 1);
	rd_bad(VIRTIO_MMIO_MAGIC_VALUE, 2);
	rd_bad(VIRTIO_MMIO_MAGIC_VALUE, 8);
	rd_bad(VIRTIO_MMIO_MAGIC_VALUE + 2, 4);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_non_null(vmmio_thread(M()));
}

/* ---- features
 * ------------------------------------------------------------------ */

static void test_device_features_windows(void **state)
{
	uint64_t offered = virtio_dev_features(&F.echo.vdev);

	(void)state;
	assert_int_equal(offered, MODEL_F | INDIRECT | EVENT_IDX | V1 |
					  BIT(VIRTIO_F_ACCESS_PLATFORM));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)offered);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), offered >> 32);
	/* VERSION_1 is bit 32: bit 0 of the upper window. */
	assert_true(rd(VIRTIO_MMIO_DEVICE_FEATURES) & 1);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, UINT32_MAX);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	assert_int_equal(dev_features(), offered);
	/* Write-only selector, read-only window. */
	rd_bad(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 4);
	wr_bad(VIRTIO_MMIO_DEVICE_FEATURES, 0);
}

static void test_packed_offered(void **state)
{
	(void)state;
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_true(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (PACKED >> 32));
}

static void test_driver_features_both_halves(void **state)
{
	(void)state;
	drv_probe();
	/* Low word first, then high: neither clobbers the other. */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(MODEL_F | EVENT_IDX));
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(V1 >> 32));
	/* Nothing reaches the device before FEATURES_OK. */
	assert_int_equal(F.echo.vdev.features, 0);
	add_status(S_FOK);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	assert_int_equal(F.echo.vdev.features, MODEL_F | EVENT_IDX | V1);
	/* Write-only registers. */
	rd_bad(VIRTIO_MMIO_DRIVER_FEATURES, 4);
	rd_bad(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4);
}

/* Each refusal leaves FEATURES_OK clear and the device's features alone. */
static void test_features_ok_refused(void **state)
{
	(void)state;
	drv_probe();
	assert_false(drv_features(MODEL_F)); /* no VERSION_1 */
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	assert_int_equal(F.echo.vdev.features, 0);

	drv_probe();
	assert_false(drv_features(V1 | BIT(5))); /* bit 5 not offered */
	assert_int_equal(F.echo.vdev.features, 0);

	drv_probe();
	F.echo.refuse = -EINVAL; /* the model says no */
	assert_false(drv_features(V1 | MODEL_F));
	assert_int_equal(F.echo.vdev.features, 0);
	F.echo.refuse = 0;

	drv_probe();
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2); /* bits 64..95: none offered */
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	assert_false(drv_features(V1));
	assert_int_equal(F.echo.vdev.features, 0);

	/* Zero above bit 63 is fine, and a reset forgets the refusal. */
	drv_probe();
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	assert_true(drv_features(V1));
	assert_int_equal(F.echo.vdev.features, V1);
	/* Linux's answer to a refusal: FAILED, the device stays usable. */
	drv_probe();
	assert_false(drv_features(MODEL_F));
	add_status(VIRTIO_CONFIG_S_FAILED);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS),
			 S_ACK | S_DRV | VIRTIO_CONFIG_S_FAILED);
}

/* ---- queues
 * ------------------------------------------------------------------ */

static void test_queue_registers(void **state)
{
	(void)state;
	drv_probe();
	assert_true(drv_features(V1));
	/* A queue that does not exist reads as "not available". */
	wr(VIRTIO_MMIO_QUEUE_SEL, NQ);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr_bad(VIRTIO_MMIO_QUEUE_NUM, 16);
	wr_bad(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	wr_bad(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_QUEUE_SEL, UINT32_MAX);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* Sizes: 1..QueueNumMax, a power of 2 for split rings. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	wr_bad(VIRTIO_MMIO_QUEUE_NUM, 0);
	wr_bad(VIRTIO_MMIO_QUEUE_NUM, QMAX + 1);
	wr_bad(VIRTIO_MMIO_QUEUE_NUM, 12);
	wr(VIRTIO_MMIO_QUEUE_NUM, QMAX);
	wr(VIRTIO_MMIO_QUEUE_NUM, 1);
	/* Write-only setup registers. */
	rd_bad(VIRTIO_MMIO_QUEUE_SEL, 4);
	rd_bad(VIRTIO_MMIO_QUEUE_NUM, 4);
	rd_bad(VIRTIO_MMIO_QUEUE_DESC_LOW, 4);
	rd_bad(VIRTIO_MMIO_QUEUE_USED_HIGH, 4);
	rd_bad(VIRTIO_MMIO_QUEUE_NOTIFY, 4);
	wr_bad(VIRTIO_MMIO_QUEUE_NUM_MAX, 8);
	/* A ready queue's setup cannot change. */
	drv_queue(0, 0, 16);
	wr_bad(VIRTIO_MMIO_QUEUE_NUM, 8);
	wr_bad(VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	wr_bad(VIRTIO_MMIO_QUEUE_DESC_HIGH, 1);
	wr_bad(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0);
	wr_bad(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 1);
	wr_bad(VIRTIO_MMIO_QUEUE_USED_LOW, 0);
	wr_bad(VIRTIO_MMIO_QUEUE_USED_HIGH, 1);
	wr_bad(VIRTIO_MMIO_QUEUE_READY, 2);
	wr(VIRTIO_MMIO_QUEUE_READY, 1); /* already: nothing happens */
	assert_int_equal(atomic_load(&F.echo.started), 1);
	add_status(S_DOK);
	echo_on(0, "still the same ring");
}

/* Split and packed, with and without EVENT_IDX: notify → served → IRQ. */
static void test_notify_served(void **state)
{
	uint64_t ring = *(uint64_t *)*state;

	drv_start(V1 | ring, 16);
	for (unsigned i = 0; i < 40; i++) { /* more than the ring size */
		char text[32];

		snprintf(text, sizeof(text), "request %u", i);
		echo_on(i % NQ, text);
	}
	assert_true(atomic_load(&F.t.irqs) >= 40);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

static void test_packed_any_size(void **state)
{
	(void)state;
	drv_probe();
	assert_true(drv_features(V1 | PACKED));
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 12); /* fine for packed rings */
	drv_queue(0, PACKED, 12);
	add_status(S_DOK);
	for (unsigned i = 0; i < 30; i++)
		echo_on(0, "packed, 12 entries");
}

static void test_interrupt_ack(void **state)
{
	int id;

	(void)state;
	drv_start(V1, 16);
	id = post(0, "one");
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(wait_irq(2000));
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), I_VRING);
	/* A config change adds its bit and its own interrupt. */
	dev_thread_pause(vmmio_thread(M()));
	virtio_dev_config_changed(&F.echo.vdev);
	dev_thread_resume(vmmio_thread(M()));
	assert_true(wait_irq(0));
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), I_VRING | I_CONF);
	assert_int_equal(atomic_load(&F.t.irqs), 2);
	/* Undefined bits: refused whole. */
	wr_bad(VIRTIO_MMIO_INTERRUPT_ACK, I_VRING | 4);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), I_VRING | I_CONF);
	/* ACK clears exactly what it names. */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, I_VRING);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), I_CONF);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, I_CONF);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	rd_bad(VIRTIO_MMIO_INTERRUPT_ACK, 4);
	wr_bad(VIRTIO_MMIO_INTERRUPT_STATUS, 0);
	{
		uint16_t uid;
		uint32_t len;

		assert_int_equal(ring_driver_get_used(&F.drv[0], &uid, &len),
				 1);
		assert_int_equal(uid, id);
	}
}

static void test_notify_bad_index(void **state)
{
	(void)state;
	drv_start(V1, 16);
	post(0, "never kicked");
	wr_bad(VIRTIO_MMIO_QUEUE_NOTIFY, NQ);
	wr_bad(VIRTIO_MMIO_QUEUE_NOTIFY, 0x10000); /* not a 16-bit index */
	assert_false(wait_irq(100));
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* The kick that comes serves it. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(wait_irq(2000));
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), I_VRING);
}

static void test_queue_ready_zero_stops(void **state)
{
	(void)state;
	drv_start(V1, 16);
	echo_on(0, "before");
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_false(virtio_dev_queue_is_started(&F.echo.vdev, 0));
	assert_int_equal(atomic_load(&F.echo.stopping), 1);
	/* No ring access while QueueReady is 0. */
	post(0, "after");
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_false(wait_irq(100));
	/* The other queue runs on. */
	echo_on(1, "queue 1");
	/* Setup may change again; a fresh ring starts. */
	drv_queue(0, 0, 32);
	echo_on(0, "fresh ring");
}

/* QueueReady = 1 on a ring the device cannot use: NEEDS_RESET. */
static void test_queue_ready_unusable(void **state)
{
	(void)state;
	drv_probe();
	/* Before FEATURES_OK. */
	drv_ring(0, 0, 16);
	drv_queue_regs(0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(VIRTIO_MMIO_STATUS) & S_RESET);
	assert_true(wait_irq(0));
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), I_CONF);
	/* Reset, then a ring outside guest memory. */
	drv_probe();
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_true(drv_features(V1));
	drv_queue_regs(0);
	put_addr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x7000000000ULL);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_false(virtio_dev_queue_is_started(&F.echo.vdev, 0));
	assert_true(rd(VIRTIO_MMIO_STATUS) & S_RESET);
	assert_true(wait_irq(0));
	/* The driver may not clear the device's bit. */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	assert_true(rd(VIRTIO_MMIO_STATUS) & S_RESET);
	/* A misaligned descriptor table. */
	drv_probe();
	assert_true(drv_features(V1));
	drv_queue_regs(0);
	put_addr(VIRTIO_MMIO_QUEUE_DESC_LOW, F.drv[0].layout.desc + 8);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(VIRTIO_MMIO_STATUS) & S_RESET);
	assert_int_equal(atomic_load(&F.echo.started), 0);
}

/* A corrupt ring: that queue broken, NEEDS_RESET, config IRQ; the rest on. */
static void test_needs_reset_corrupt_ring(void **state)
{
	(void)state;
	drv_start(V1, 16);
	ring_driver_split_post(&F.drv[0], 99); /* head >= queue size */
	ring_driver_publish(&F.drv[0]);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(wait_irq(2000));
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), I_CONF);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS),
			 S_ACK | S_DRV | S_FOK | S_DOK | S_RESET);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, I_CONF);
	/* Once per ring start: another kick adds nothing. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_false(wait_irq(100));
	echo_on(1, "queue 1 still works");
	/* The driver resets the device, and all is well again. */
	drv_start(V1, 16);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	echo_on(0, "healed");
}

/* ---- status and reset
 * --------------------------------------------------------- */

static void test_status_reset(void **state)
{
	(void)state;
	drv_start(V1 | EVENT_IDX, 16);
	post(0, "unacknowledged");
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(wait_irq(2000));
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	wr_bad(VIRTIO_MMIO_STATUS, 0x100);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), I_VRING);

	wr(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(F.echo.vdev.features, 0);
	assert_int_equal(atomic_load(&F.echo.resets), 2); /* probe + this */
	/* Selectors back to 0, every queue not ready. */
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES),
			 (uint32_t)virtio_dev_features(&F.echo.vdev));
	for (unsigned q = 0; q < NQ; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
		assert_false(virtio_dev_queue_is_started(&F.echo.vdev, q));
	}
	/* The device comes up again on new rings. */
	drv_start(V1, 8);
	echo_on(0, "after reset");
	echo_on(1, "after reset too");
}

/* vmmio_reset(): the guest went away; no interrupt for that. */
static void test_vmmio_reset(void **state)
{
	int irqs;

	(void)state;
	drv_start(V1, 16);
	echo_on(1, "hello");
	irqs = atomic_load(&F.t.irqs);
	vmmio_reset(M());
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_false(virtio_dev_queue_is_started(&F.echo.vdev, 1));
	assert_false(wait_irq(0));
	assert_int_equal(atomic_load(&F.t.irqs), irqs);
	drv_start(V1, 16);
	echo_on(1, "next guest");
}

/* ---- QueueReset
 * ---------------------------------------------------------------- */

static void test_queue_reset(void **state)
{
	(void)state;
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_true(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (RING_RESET >> 32));
	drv_start(V1 | RING_RESET, 16);
	echo_on(0, "before");
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(QRESET), 0);
	wr_bad(QRESET, 0);
	wr_bad(QRESET, 2);
	assert_true(virtio_dev_queue_is_started(&F.echo.vdev, 0));

	wr(QRESET, 1);
	/* Complete at once: both read 0, the ring is let go. */
	assert_int_equal(rd(QRESET), 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_false(virtio_dev_queue_is_started(&F.echo.vdev, 0));
	assert_int_equal(atomic_load(&F.echo.stopping), 1);
	/* The device keeps its status; the other queue runs on. */
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	echo_on(1, "queue 1");
	/* Re-enabled with another size. */
	drv_queue(0, 0, 4);
	for (unsigned i = 0; i < 10; i++)
		echo_on(0, "after");
	/* A queue that does not exist. */
	wr(VIRTIO_MMIO_QUEUE_SEL, NQ);
	assert_int_equal(rd(QRESET), 0);
	wr_bad(QRESET, 1);
}

static void test_queue_reset_not_negotiated(void **state)
{
	(void)state;
	drv_start(V1, 16); /* offered, not accepted */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr_bad(QRESET, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	echo_on(0, "untouched");
}

/* Without VIRTIO_F_RING_RESET offered there is no register at 0x0c0. */
static void test_queue_reset_absent(void **state)
{
	(void)state;
	drv_start(V1, 16);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	rd_bad(QRESET, 4);
	wr_bad(QRESET, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
}

/* ---- shared memory: none ----------------------------------------------------
 */

static void test_shm(void **state)
{
	(void)state;
	for (uint32_t id = 0; id < 3; id++) {
		wr(VIRTIO_MMIO_SHM_SEL, id);
		assert_int_equal(rd(VIRTIO_MMIO_SHM_LEN_LOW), UINT32_MAX);
		assert_int_equal(rd(VIRTIO_MMIO_SHM_LEN_HIGH), UINT32_MAX);
		assert_int_equal(rd(VIRTIO_MMIO_SHM_BASE_LOW), UINT32_MAX);
		assert_int_equal(rd(VIRTIO_MMIO_SHM_BASE_HIGH), UINT32_MAX);
	}
	rd_bad(VIRTIO_MMIO_SHM_SEL, 4);
	wr_bad(VIRTIO_MMIO_SHM_LEN_LOW, 0);
	wr_bad(VIRTIO_MMIO_SHM_BASE_HIGH, 0);
}

/* ---- config space
 * -------------------------------------------------------------- */

static uint64_t cfg_rd(uint32_t off, unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(vmmio_read(M(), VMMIO_CONFIG + off, size, &v), 0);
	return v;
}

static void test_config(void **state)
{
	uint32_t gen;

	(void)state;
	/* Little-endian, every size. */
	assert_int_equal(cfg_rd(0, 1), 0x01);
	assert_int_equal(cfg_rd(7, 1), 0x08);
	assert_int_equal(cfg_rd(2, 2), 0x0403);
	assert_int_equal(cfg_rd(4, 4), 0x08070605);
	assert_int_equal(cfg_rd(0, 8), 0x0807060504030201ULL);
	assert_int_equal(vmmio_write(M(), VMMIO_CONFIG + 6, 2, 0xbeef), 0);
	assert_memory_equal(F.echo.config + 6, "\xef\xbe", 2);
	assert_int_equal(vmmio_write(M(), VMMIO_CONFIG, 8, 0x1122334455667788),
			 0);
	assert_memory_equal(F.echo.config, "\x88\x77\x66\x55\x44\x33\x22\x11",
			    8);
	/* Past the device's 8 bytes, or misaligned. */
	rd_bad(VMMIO_CONFIG + 8, 1);
	rd_bad(VMMIO_CONFIG + 4, 8);
	rd_bad(VMMIO_CONFIG + 1, 2);
	rd_bad(VMMIO_CONFIG + 2, 4);
	rd_bad(VMMIO_CONFIG + 4, 8);
	assert_int_equal(vmmio_write(M(), VMMIO_CONFIG + 7, 2, 0), -EINVAL);
	assert_int_equal(vmmio_write(M(), VMMIO_CONFIG + 8, 1, 0), -EINVAL);
	assert_memory_equal(F.echo.config, "\x88\x77\x66\x55\x44\x33\x22\x11",
			    8);

	/* ConfigGeneration moves with a change, and a config IRQ comes. */
	gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen);
	dev_thread_pause(vmmio_thread(M()));
	F.echo.config[0] = 0x42;
	virtio_dev_config_changed(&F.echo.vdev);
	dev_thread_resume(vmmio_thread(M()));
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	assert_true(wait_irq(0));
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), I_CONF);
	assert_int_equal(cfg_rd(0, 1), 0x42);
	wr_bad(VIRTIO_MMIO_CONFIG_GENERATION, 0);
}

static void test_config_read_only(void **state)
{
	(void)state;
	assert_int_equal(cfg_rd(0, 4), 0x04030201);
	assert_int_equal(vmmio_write(M(), VMMIO_CONFIG, 1, 0xff), -EINVAL);
	assert_int_equal(vmmio_write(M(), VMMIO_CONFIG, 4, 0), -EINVAL);
	assert_memory_equal(F.echo.config, "\x01\x02\x03\x04", 4);
}

/* ---- undefined accesses: refused, logged (rate-limited), no effect --------
 */

static const uint32_t readable[] = {
	VIRTIO_MMIO_MAGIC_VALUE,     VIRTIO_MMIO_VERSION,
	VIRTIO_MMIO_DEVICE_ID,	     VIRTIO_MMIO_VENDOR_ID,
	VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_QUEUE_NUM_MAX,
	VIRTIO_MMIO_QUEUE_READY,     VIRTIO_MMIO_INTERRUPT_STATUS,
	VIRTIO_MMIO_STATUS,	     VIRTIO_MMIO_SHM_LEN_LOW,
	VIRTIO_MMIO_SHM_LEN_HIGH,    VIRTIO_MMIO_SHM_BASE_LOW,
	VIRTIO_MMIO_SHM_BASE_HIGH,   VIRTIO_MMIO_CONFIG_GENERATION,
};
static const uint32_t writable[] = {
	VIRTIO_MMIO_DEVICE_FEATURES_SEL,
	VIRTIO_MMIO_DRIVER_FEATURES,
	VIRTIO_MMIO_DRIVER_FEATURES_SEL,
	VIRTIO_MMIO_QUEUE_SEL,
	VIRTIO_MMIO_QUEUE_NUM,
	VIRTIO_MMIO_QUEUE_READY,
	VIRTIO_MMIO_QUEUE_NOTIFY,
	VIRTIO_MMIO_INTERRUPT_ACK,
	VIRTIO_MMIO_STATUS,
	VIRTIO_MMIO_QUEUE_DESC_LOW,
	VIRTIO_MMIO_QUEUE_DESC_HIGH,
	VIRTIO_MMIO_QUEUE_AVAIL_LOW,
	VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
	VIRTIO_MMIO_QUEUE_USED_LOW,
	VIRTIO_MMIO_QUEUE_USED_HIGH,
	VIRTIO_MMIO_SHM_SEL,
};

static bool listed(const uint32_t *set, size_t n, uint32_t off)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == off)
			return true;
	return false;
}

/* The spec's table, independent of the implementation's. */
static bool defined(uint32_t off, unsigned size, bool write)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	if (off >= VMMIO_CONFIG)
		return off - VMMIO_CONFIG + size <= sizeof(F.echo.config) &&
		       (off - VMMIO_CONFIG) % size == 0;
	if (size != 4)
		return false;
	return write ? listed(writable, sizeof(writable) / 4, off)
		     : listed(readable, sizeof(readable) / 4, off);
}

struct snap {
	uint32_t status, isr, gen;
	uint64_t features;
	uint32_t dfsel, drfsel, qsel, shmsel;
	uint64_t drf;
	bool drf_high, needs_reset;
	int kicks, resets, started, stopping, irqs;
	bool running[NQ];
	uint8_t config[8];
};

static void snap(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	s->status = rd(VIRTIO_MMIO_STATUS);
	s->isr = rd(VIRTIO_MMIO_INTERRUPT_STATUS);
	s->gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);
	s->features = F.echo.vdev.features;
	s->dfsel = M()->device_features_sel;
	s->drfsel = M()->driver_features_sel;
	s->qsel = M()->queue_sel;
	s->shmsel = M()->shm_sel;
	s->drf = M()->driver_features;
	s->drf_high = M()->driver_features_high;
	s->needs_reset = atomic_load(&M()->needs_reset);
	s->kicks = atomic_load(&F.echo.kicks);
	s->resets = atomic_load(&F.echo.resets);
	s->started = atomic_load(&F.echo.started);
	s->stopping = atomic_load(&F.echo.stopping);
	s->irqs = atomic_load(&F.t.irqs);
	for (unsigned q = 0; q < NQ; q++)
		s->running[q] = virtio_dev_queue_is_started(&F.echo.vdev, q);
	memcpy(s->config, F.echo.config, sizeof(s->config));
}

static int lines;
static char first_line[256];

static void count_line(enum log_level level, const char *line)
{
	(void)level;
	if (!lines++)
		snprintf(first_line, sizeof(first_line), "%s", line);
}

static void test_undefined_accesses(void **state)
{
	static const unsigned sizes[] = {0, 1, 2, 3, 4, 5, 8, 16};
	static const uint64_t values[] = {0, 1, UINT32_MAX, UINT64_MAX};
	struct snap before, after;
	unsigned refused = 0;

	(void)state;
	/* A running device with queue 1 set up but not ready. */
	drv_probe();
	assert_true(drv_features(V1));
	drv_queue(0, 0, 16);
	drv_ring(1, 0, 8);
	drv_queue_regs(1);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	add_status(S_DOK);
	echo_on(0, "before");
	snap(&before);

	log_set_level(LOG_LEVEL_WARN);
	lines = 0;
	log_set_hook(count_line);
	for (uint32_t off = 0; off < VMMIO_WINDOW_SIZE + 8; off++) {
		for (unsigned s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
			unsigned size = sizes[s];
			uint64_t v = 0xdeadbeef;

			if (!defined(off, size, false)) {
				assert_int_equal(vmmio_read(M(), off, size, &v),
						 -EINVAL);
				assert_int_equal(v, 0);
				refused++;
			}
			if (defined(off, size, true))
				continue;
			for (unsigned i = 0; i < 4; i++) {
				assert_int_equal(
					vmmio_write(M(), off, size, values[i]),
					-EINVAL);
				refused++;
			}
		}
	}
	/* Far outside the window. */
	rd_bad(UINT32_MAX - 3, 4);
	assert_int_equal(vmmio_write(M(), UINT32_MAX, 1, 0), -EINVAL);
	log_set_hook(NULL);
	log_set_level(LOG_LEVEL_ERR);

	snap(&after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_false(wait_irq(0));
	assert_true(refused > 4000);
	/* Logged, naming the device, and rate-limited. */
	assert_true(lines >= 1 && lines <= LOG_RATELIMIT_BURST + 1);
	assert_non_null(strstr(first_line,
			       "mmio-test: guest read of "
			       "MagicValue (0x000, 0 bytes) refused"));
	/* Queue 1's setup survived: it starts as written. */
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	echo_on(1, "queue 1 as set up");
	echo_on(0, "queue 0 as before");
}

/* Legacy (version 1) registers are named in the refusal. */
static void test_legacy_registers(void **state)
{
	(void)state;
	log_set_level(LOG_LEVEL_WARN);
	lines = 0;
	log_set_hook(count_line);
	wr_bad(VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096);
	log_set_hook(NULL);
	log_set_level(LOG_LEVEL_ERR);
	assert_int_equal(lines, 1);
	assert_string_equal(first_line,
			    "mmio-test: guest write of GuestPageSize (0x028, 4 "
			    "bytes, value 0x1000) refused: legacy (version 1) "
			    "register; this device is virtio-mmio version 2");
	wr_bad(VIRTIO_MMIO_QUEUE_ALIGN, 4096);
	wr_bad(VIRTIO_MMIO_QUEUE_PFN, 0x100);
	rd_bad(VIRTIO_MMIO_QUEUE_PFN, 4);
}

/* ---- lifetime
 * ----------------------------------------------------------------- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_init_destroy_fds(void **state)
{
	struct vmmio z, m;
	struct rlimit old, lim;
	int before, fd, ret;

	(void)state;
	memset(&z, 0, sizeof(z));
	vmmio_destroy(&z); /* never initialised */

	/* The fixture's model is attached; take it off to reuse it. */
	vmmio_destroy(M());
	before = count_fds();
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(vmmio_init(&m, &F.echo.vdev, &F.mem.gmem,
					    &t_ops, "again"),
				 0);
		assert_ptr_equal(F.echo.vdev.tp, &m.tp);
		vmmio_destroy(&m);
		vmmio_destroy(&m); /* twice is harmless */
	}
	assert_int_equal(count_fds(), before);

	/* The second kick eventfd fails: nothing is left behind. */
	fd = eventfd(0, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)fd + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	ret = vmmio_init(&m, &F.echo.vdev, &F.mem.gmem, &t_ops, "no fds");
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(ret, -EMFILE);
	assert_null(F.echo.vdev.tp);
	vmmio_destroy(&m); /* accepts a failed init */
	assert_int_equal(count_fds(), before);

	/* The fixture's teardown destroys it once more. */
	assert_int_equal(
		vmmio_init(M(), &F.echo.vdev, &F.mem.gmem, &t_ops, "mmio-test"),
		0);
}

/* ---- main
 * ------------------------------------------------------------------------ */

#define T(f)  cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TP(f) cmocka_unit_test_setup_teardown(f, setup_packed, teardown)
#define TR(f) cmocka_unit_test_setup_teardown(f, setup_rr, teardown)
#define TO(f) cmocka_unit_test_setup_teardown(f, setup_ro, teardown)
#define R(f, s, ring)                               \
	{                                           \
#f "/" #ring, f, s, teardown, &ring \
	}

int main(void)
{
	static uint64_t split = 0, split_event_idx = EVENT_IDX,
			split_indirect = INDIRECT, packed = PACKED,
			packed_event_idx = PACKED | EVENT_IDX;
	const struct CMUnitTest tests[] = {
		T(test_ids),
		T(test_device_features_windows),
		TP(test_packed_offered),
		T(test_driver_features_both_halves),
		T(test_features_ok_refused),
		T(test_queue_registers),
		R(test_notify_served, setup, split),
		R(test_notify_served, setup, split_event_idx),
		R(test_notify_served, setup, split_indirect),
		R(test_notify_served, setup_packed, packed),
		R(test_notify_served, setup_packed, packed_event_idx),
		TP(test_packed_any_size),
		T(test_interrupt_ack),
		T(test_notify_bad_index),
		T(test_queue_ready_zero_stops),
		T(test_queue_ready_unusable),
		T(test_needs_reset_corrupt_ring),
		T(test_status_reset),
		T(test_vmmio_reset),
		TR(test_queue_reset),
		TR(test_queue_reset_not_negotiated),
		T(test_queue_reset_absent),
		T(test_shm),
		T(test_config),
		TO(test_config_read_only),
		T(test_undefined_accesses),
		T(test_legacy_registers),
		T(test_init_destroy_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
