/* SPDX-License-Identifier: MIT */
/*
 * The driver side of the virtio-mmio register model for its unit tests
 * (test_virtio_mmio.c, test_virtio_mmio_queue.c): an "echo" device model,
 * a transport that counts interrupts, fake guest memory with rings from
 * ring_driver, and helpers that access registers the way Linux's
 * virtio_mmio driver does (probe, feature windows, queue setup, notify,
 * interrupt handling). Everything is static so each test program takes
 * what it uses.
 */
#ifndef VIRTIOBOX_TEST_VMMIO_DRIVER_H
#define VIRTIOBOX_TEST_VMMIO_DRIVER_H

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
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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

/* ---- an echo model: copies the readable bytes to the writable side ------- */

struct echo {
	struct virtio_dev vdev;
	uint8_t config[8];
	atomic_int kicks, resets, started, stopping;
	int refuse; /* features_ok's answer */
};

static inline void echo_config_read(struct virtio_dev *d, uint32_t off,
				    void *buf, uint32_t len)
{
	memcpy(buf, container_of(d, struct echo, vdev)->config + off, len);
}

static inline void echo_config_write(struct virtio_dev *d, uint32_t off,
				     const void *buf, uint32_t len)
{
	memcpy(container_of(d, struct echo, vdev)->config + off, buf, len);
}

static inline int echo_features_ok(struct virtio_dev *d, uint64_t features)
{
	(void)features;
	return container_of(d, struct echo, vdev)->refuse;
}

static inline void echo_queue_started(struct virtio_dev *d, unsigned q)
{
	(void)q;
	atomic_fetch_add(&container_of(d, struct echo, vdev)->started, 1);
}

static inline void echo_queue_stopping(struct virtio_dev *d, unsigned q)
{
	(void)q;
	atomic_fetch_add(&container_of(d, struct echo, vdev)->stopping, 1);
}

static inline void echo_queue_kick(struct virtio_dev *d, unsigned q)
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

static inline void echo_reset(struct virtio_dev *d)
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

/* ---- the transport's side: counts interrupts, wakes the test ------------- */

struct tdev {
	struct vmmio m;
	atomic_int irqs;
	int irq_fd;
};

static inline void t_raise_irq(struct vmmio *m)
{
	struct tdev *t = container_of(m, struct tdev, m);
	uint64_t one = 1;

	/* Data-path thread: no cmocka assertion here. */
	atomic_fetch_add(&t->irqs, 1);
	if (write(t->irq_fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static const struct vmmio_ops t_ops = {.raise_irq = t_raise_irq};

/* ---- fixture ------------------------------------------------------------- */

static struct {
	struct fake_gmem mem;
	struct echo echo;
	struct tdev t;
	struct ring_driver drv[NQ];
	bool drv_up[NQ];
} F;

static inline struct vmmio *M(void)
{
	return &F.t.m;
}

static inline void fix_init(const struct virtio_dev_ops *ops, uint64_t extra)
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

static inline int setup(void **state)
{
	(void)state;
	fix_init(&echo_ops, 0);
	return 0;
}

static inline int setup_packed(void **state)
{
	(void)state;
	fix_init(&echo_ops, PACKED);
	return 0;
}

static inline int setup_rr(void **state)
{
	(void)state;
	fix_init(&echo_rr_ops, 0);
	return 0;
}

static inline int setup_ro(void **state)
{
	(void)state;
	fix_init(&echo_ro_ops, 0);
	return 0;
}

static inline int teardown(void **state)
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

/* ---- register access helpers --------------------------------------------- */

static inline uint32_t rd(uint32_t off)
{
	uint64_t v = 0xdeadbeefdeadULL;

	assert_int_equal(vmmio_read(M(), off, 4, &v), 0);
	assert_true(v <= UINT32_MAX);
	return (uint32_t)v;
}

static inline void wr(uint32_t off, uint32_t v)
{
	assert_int_equal(vmmio_write(M(), off, 4, v), 0);
}

static inline void wr_bad(uint32_t off, uint32_t v)
{
	assert_int_equal(vmmio_write(M(), off, 4, v), -EINVAL);
}

static inline void rd_bad(uint32_t off, unsigned size)
{
	uint64_t v = 0xdeadbeefULL;

	assert_int_equal(vmmio_read(M(), off, size, &v), -EINVAL);
	assert_int_equal(v, 0);
}

static inline void add_status(uint32_t bits)
{
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | bits);
}

/* ---- driver helpers: what Linux's virtio_mmio.c does --------------------- */

static inline void drv_probe(void)
{
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	wr(VIRTIO_MMIO_STATUS, 0);
	add_status(S_ACK);
	add_status(S_DRV);
}

static inline uint64_t dev_features(void)
{
	uint64_t f;

	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | rd(VIRTIO_MMIO_DEVICE_FEATURES);
}

static inline void put_driver_features(uint64_t f)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
}

/* Write f, set FEATURES_OK, and tell whether it stuck. */
static inline bool drv_features(uint64_t f)
{
	put_driver_features(f);
	add_status(S_FOK);
	return rd(VIRTIO_MMIO_STATUS) & S_FOK;
}

static inline void drv_ring(unsigned q, uint64_t ring_features, uint16_t num)
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

static inline void put_addr(uint32_t low, uint64_t a)
{
	wr(low, (uint32_t)a);
	wr(low + 4, (uint32_t)(a >> 32));
}

/* Select q and write its size and ring addresses (vm_setup_vq's order). */
static inline void drv_queue_regs(unsigned q)
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

static inline void drv_queue(unsigned q, uint64_t ring_features, uint16_t num)
{
	drv_ring(q, ring_features, num);
	drv_queue_regs(q);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	assert_true(virtio_dev_queue_is_started(&F.echo.vdev, q));
}

/* The whole bring-up: features f, both queues, DRIVER_OK. */
static inline void drv_start(uint64_t f, uint16_t num)
{
	uint64_t ring = f & (PACKED | EVENT_IDX | INDIRECT);

	drv_probe();
	assert_true(drv_features(f));
	drv_queue(0, ring, num);
	drv_queue(1, ring, num);
	add_status(S_DOK);
}

static inline bool wait_irq(int ms)
{
	struct pollfd p = {.fd = F.t.irq_fd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, ms) != 1)
		return false;
	return read(F.t.irq_fd, &v, sizeof(v)) == sizeof(v);
}

static inline int post(unsigned q, const char *text)
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
static inline void expect_echo(unsigned q, int id, const char *text)
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

static inline void echo_on(unsigned q, const char *text)
{
	int id = post(q, text);

	wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
	expect_echo(q, id, text);
}

/* cmocka entries: the fixture per device flavour; R runs f on ring. */
#define T(f)  cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TP(f) cmocka_unit_test_setup_teardown(f, setup_packed, teardown)
#define TR(f) cmocka_unit_test_setup_teardown(f, setup_rr, teardown)
#define TO(f) cmocka_unit_test_setup_teardown(f, setup_ro, teardown)
#define R(f, s, ring)                               \
	{                                           \
#f "/" #ring, f, s, teardown, &ring \
	}

#endif
