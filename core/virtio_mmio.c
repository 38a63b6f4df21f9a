// SPDX-License-Identifier: MIT
/*
 * virtio-mmio version 2 register model. Every access is checked once
 * against the register table (offset, size, direction), then dispatched;
 * what reaches the device runs with its data path paused.
 */
#include "virtio_mmio.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BIT(n) (1ULL << (n))

/* virtio 1.2; not in the kernel headers of Debian 12. */
#ifndef VIRTIO_MMIO_QUEUE_RESET
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0
#endif

#define MAGIC	    0x74726976u /* "virt" */
#define VERSION	    2u
#define INT_DEFINED (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)

struct vmmio_queue {
	uint32_t num; /* QueueNum */
	bool ready;   /* QueueReady: the device queue runs */
	uint64_t desc, driver, device;
	int kick_fd; /* eventfd: QueueNotify → data-path thread */
};

enum { REG_R = 1, REG_W = 2, REG_RW = REG_R | REG_W };

struct reg {
	const char *name;
	uint8_t dir;	 /* 0: legacy, not in version 2 */
	bool ring_reset; /* exists only with VIRTIO_F_RING_RESET offered */
};

/* Control registers by offset / 4 (virtio 1.2, table 4.1). */
static const struct reg regs[VMMIO_CONFIG / 4] = {
	[VIRTIO_MMIO_MAGIC_VALUE / 4] = {"MagicValue", REG_R},
	[VIRTIO_MMIO_VERSION / 4] = {"Version", REG_R},
	[VIRTIO_MMIO_DEVICE_ID / 4] = {"DeviceID", REG_R},
	[VIRTIO_MMIO_VENDOR_ID / 4] = {"VendorID", REG_R},
	[VIRTIO_MMIO_DEVICE_FEATURES / 4] = {"DeviceFeatures", REG_R},
	[VIRTIO_MMIO_DEVICE_FEATURES_SEL / 4] = {"DeviceFeaturesSel", REG_W},
	[VIRTIO_MMIO_DRIVER_FEATURES / 4] = {"DriverFeatures", REG_W},
	[VIRTIO_MMIO_DRIVER_FEATURES_SEL / 4] = {"DriverFeaturesSel", REG_W},
	[VIRTIO_MMIO_GUEST_PAGE_SIZE / 4] = {"GuestPageSize", 0},
	[VIRTIO_MMIO_QUEUE_SEL / 4] = {"QueueSel", REG_W},
	[VIRTIO_MMIO_QUEUE_NUM_MAX / 4] = {"QueueNumMax", REG_R},
	[VIRTIO_MMIO_QUEUE_NUM / 4] = {"QueueNum", REG_W},
	[VIRTIO_MMIO_QUEUE_ALIGN / 4] = {"QueueAlign", 0},
	[VIRTIO_MMIO_QUEUE_PFN / 4] = {"QueuePFN", 0},
	[VIRTIO_MMIO_QUEUE_READY / 4] = {"QueueReady", REG_RW},
	[VIRTIO_MMIO_QUEUE_NOTIFY / 4] = {"QueueNotify", REG_W},
	[VIRTIO_MMIO_INTERRUPT_STATUS / 4] = {"InterruptStatus", REG_R},
	[VIRTIO_MMIO_INTERRUPT_ACK / 4] = {"InterruptACK", REG_W},
	[VIRTIO_MMIO_STATUS / 4] = {"Status", REG_RW},
	[VIRTIO_MMIO_QUEUE_DESC_LOW / 4] = {"QueueDescLow", REG_W},
	[VIRTIO_MMIO_QUEUE_DESC_HIGH / 4] = {"QueueDescHigh", REG_W},
	[VIRTIO_MMIO_QUEUE_AVAIL_LOW / 4] = {"QueueDriverLow", REG_W},
	[VIRTIO_MMIO_QUEUE_AVAIL_HIGH / 4] = {"QueueDriverHigh", REG_W},
	[VIRTIO_MMIO_QUEUE_USED_LOW / 4] = {"QueueDeviceLow", REG_W},
	[VIRTIO_MMIO_QUEUE_USED_HIGH / 4] = {"QueueDeviceHigh", REG_W},
	[VIRTIO_MMIO_SHM_SEL / 4] = {"SHMSel", REG_W},
	[VIRTIO_MMIO_SHM_LEN_LOW / 4] = {"SHMLenLow", REG_R},
	[VIRTIO_MMIO_SHM_LEN_HIGH / 4] = {"SHMLenHigh", REG_R},
	[VIRTIO_MMIO_SHM_BASE_LOW / 4] = {"SHMBaseLow", REG_R},
	[VIRTIO_MMIO_SHM_BASE_HIGH / 4] = {"SHMBaseHigh", REG_R},
	[VIRTIO_MMIO_QUEUE_RESET / 4] = {"QueueReset", REG_RW, true},
	[VIRTIO_MMIO_CONFIG_GENERATION / 4] = {"ConfigGeneration", REG_R},
};

/* ---- interrupts and device errors: either thread ------------------------- */

static void interrupt(struct vmmio *m, unsigned bit)
{
	/*
	 * Release: what the event is about (used entries published by
	 * vq_flush, NEEDS_RESET, a config change) is ordered before the bit.
	 * Pairs with the acquire load of InterruptStatus in read_reg(), after
	 * which the register thread answers the guest.
	 */
	atomic_fetch_or_explicit(&m->isr, bit, memory_order_release);
	m->ops->raise_irq(m);
}

/* The spec's way to say "broken": NEEDS_RESET and a config interrupt. */
static void device_error(struct vmmio *m)
{
	/* Release: pairs with the acquire load in status(); the interrupt's
	 * own release orders it before the config bit too. */
	atomic_store_explicit(&m->needs_reset, true, memory_order_release);
	interrupt(m, VIRTIO_MMIO_INT_CONFIG);
}

static void tp_notify_queue(struct virtio_transport *t, unsigned q)
{
	(void)q; /* one interrupt line, one bit for every queue */
	interrupt(container_of(t, struct vmmio, tp), VIRTIO_MMIO_INT_VRING);
}

static void tp_notify_config(struct virtio_transport *t)
{
	interrupt(container_of(t, struct vmmio, tp), VIRTIO_MMIO_INT_CONFIG);
}

/* The device core logged the ring's fault already. */
static void tp_queue_error(struct virtio_transport *t, unsigned q)
{
	(void)q;
	device_error(container_of(t, struct vmmio, tp));
}

static const struct virtio_transport_ops vmmio_transport_ops = {
	.notify_queue = tp_notify_queue,
	.notify_config = tp_notify_config,
	.queue_error = tp_queue_error,
};

/* ---- queues: register thread, data path paused ----------------------------
 */

static unsigned qindex(const struct vmmio *m, const struct vmmio_queue *q)
{
	return (unsigned)(q - m->queues);
}

static struct vmmio_queue *selected(struct vmmio *m)
{
	return m->queue_sel < m->nqueues ? &m->queues[m->queue_sel] : NULL;
}

static void queue_defaults(struct vmmio *m, struct vmmio_queue *q)
{
	q->num = m->dev->ops->queue_max;
	q->ready = false;
	q->desc = q->driver = q->device = 0;
}

/* A kick left in the eventfd must not serve the next ring. */
static void drain_kick(struct vmmio *m, struct vmmio_queue *q)
{
	uint64_t v;

	if (read(q->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("%s: queue %u: kick eventfd: %s", m->name,
			 qindex(m, q), strerror(errno));
}

static void queue_stop(struct vmmio *m, struct vmmio_queue *q)
{
	uint32_t base;

	if (!q->ready)
		return;
	dev_thread_set_kick(m->dt, qindex(m, q), -1);
	/* No base to keep: a ring the driver enables again is a fresh one. */
	virtio_dev_queue_stop(m->dev, qindex(m, q), &base);
	drain_kick(m, q);
	q->ready = false;
}

static int queue_start(struct vmmio *m, struct vmmio_queue *q)
{
	struct vq_layout l = {.num = (uint16_t)q->num,
			      .desc = q->desc,
			      .driver = q->driver,
			      .device = q->device};
	unsigned i = qindex(m, q);
	uint32_t base;
	int ret;

	ret = virtio_dev_queue_start(m->dev, i, &l,
				     vq_base_fresh(m->dev->features));
	if (ret < 0)
		return ret;
	ret = dev_thread_set_kick(m->dt, i, q->kick_fd);
	if (ret < 0) {
		virtio_dev_queue_stop(m->dev, i, &base);
		return ret;
	}
	/* Buffers may have been made available before QueueReady. */
	dev_thread_kick_soon(m->dt, i);
	q->ready = true;
	return 0;
}

/* Data path paused: the device and every register as after a reset. */
static void reset_paused(struct vmmio *m)
{
	for (unsigned i = 0; i < m->nqueues; i++) {
		dev_thread_set_kick(m->dt, i, -1);
		drain_kick(m, &m->queues[i]);
		queue_defaults(m, &m->queues[i]);
	}
	virtio_dev_reset(m->dev);
	m->device_features_sel = m->driver_features_sel = 0;
	m->driver_features = 0;
	m->driver_features_high = false;
	m->queue_sel = m->shm_sel = 0;
	/* Relaxed: the data path is paused and its queues are reset, so
	 * nothing sets these concurrently; resume publishes them. */
	atomic_store_explicit(&m->isr, 0, memory_order_relaxed);
	atomic_store_explicit(&m->needs_reset, false, memory_order_relaxed);
}

/* ---- register reads --------------------------------------------------------
 */

static uint32_t status(struct vmmio *m)
{
	/* Acquire: pairs with the release store in device_error(). */
	bool broken =
		atomic_load_explicit(&m->needs_reset, memory_order_acquire);

	return virtio_dev_status(m->dev) |
	       (broken ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
}

static uint32_t read_reg(struct vmmio *m, uint32_t off)
{
	struct vmmio_queue *q = selected(m);
	uint64_t f;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return m->dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VMMIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		f = virtio_dev_features(m->dev);
		if (m->device_features_sel > 1)
			return 0;
		return (uint32_t)(f >> (32 * m->device_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		/* 0 is the spec's "queue not available". */
		return q ? m->dev->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		/* Acquire: pairs with the release in interrupt(), so what
		 * the bit announces is visible before the guest is
		 * answered. */
		return atomic_load_explicit(&m->isr, memory_order_acquire);
	case VIRTIO_MMIO_STATUS:
		return status(m);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return UINT32_MAX; /* no shared memory region: all ones */
	case VIRTIO_MMIO_QUEUE_RESET:
		return 0; /* a queue reset completes within the write */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		/*
		 * Acquire: a generation read after config reads (each taken
		 * with the data path paused) sees every bump made before
		 * them. Pairs with the increment in
		 * virtio_dev_config_changed().
		 */
		return atomic_load_explicit(&m->dev->config_generation,
					    memory_order_acquire);
	}
	return 0; /* unreachable: check_access() knows every register */
}

/* ---- register writes
 * --------------------------------------------------------- */

static const char *features_refusal(struct vmmio *m, uint64_t f, int ret)
{
	if (m->driver_features_high)
		return "feature bits above 63 accepted";
	if (f & ~virtio_dev_features(m->dev))
		return "features accepted that were not offered";
	if (!(f & BIT(VIRTIO_F_VERSION_1)))
		return "VIRTIO_F_VERSION_1 not accepted "
		       "(virtio-mmio version 2 is VIRTIO 1.x only)";
	return ret == -EBUSY ? "a queue is running" : "refused by the device";
}

/* FEATURES_OK newly set (paused): 0 when the device took the features. */
static int accept_features(struct vmmio *m)
{
	uint64_t f = m->driver_features;
	int ret = m->driver_features_high ? -EINVAL
					  : virtio_dev_set_features(m->dev, f);

	if (ret < 0)
		log_msg_ratelimited(&m->rl, LOG_LEVEL_WARN,
				    "%s: driver features 0x%llx refused: %s",
				    m->name, (unsigned long long)f,
				    features_refusal(m, f, ret));
	return ret;
}

static void reset(struct vmmio *m)
{
	dev_thread_pause(m->dt);
	reset_paused(m);
	dev_thread_resume(m->dt);
}

static int write_status(struct vmmio *m, uint32_t v, const char **why)
{
	uint8_t old = virtio_dev_status(m->dev), st;

	if (v > 0xff) {
		*why = "status above 0xff";
		return -EINVAL;
	}
	st = (uint8_t)v & ~VIRTIO_CONFIG_S_NEEDS_RESET; /* the device's bit */
	if (!v) {
		reset(m);
		return 0;
	}
	dev_thread_pause(m->dt);
	if ((st & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(old & VIRTIO_CONFIG_S_FEATURES_OK) && accept_features(m) < 0)
		st &= ~VIRTIO_CONFIG_S_FEATURES_OK; /* the spec's refusal */
	virtio_dev_set_status(m->dev, st);
	dev_thread_resume(m->dt);
	return 0;
}

static int write_driver_features(struct vmmio *m, uint32_t v)
{
	unsigned sel = m->driver_features_sel;

	if (sel > 1) {
		/* Nothing is offered up there: remembered for FEATURES_OK. */
		m->driver_features_high |= v != 0;
		return 0;
	}
	m->driver_features &= ~((uint64_t)UINT32_MAX << (32 * sel));
	m->driver_features |= (uint64_t)v << (32 * sel);
	return 0;
}

/* The selected queue, if the driver may change its setup now. */
static struct vmmio_queue *setup_queue(struct vmmio *m, const char **why)
{
	struct vmmio_queue *q = selected(m);

	if (!q)
		*why = "QueueSel names no queue";
	else if (q->ready)
		*why = "queue setup changed while QueueReady is 1";
	else
		return q;
	return NULL;
}

static int write_queue_num(struct vmmio *m, uint32_t v, const char **why)
{
	struct vmmio_queue *q = setup_queue(m, why);
	bool packed = m->dev->features & BIT(VIRTIO_F_RING_PACKED);

	if (!q)
		return -EINVAL;
	if (!v || v > m->dev->ops->queue_max)
		*why = "queue size outside 1..QueueNumMax";
	else if (!packed && (v & (v - 1)))
		*why = "split ring size not a power of 2";
	else {
		q->num = v;
		return 0;
	}
	return -EINVAL;
}

static int write_queue_addr(struct vmmio *m, uint32_t off, uint32_t v,
			    const char **why)
{
	struct vmmio_queue *q = setup_queue(m, why);
	uint64_t *a;
	unsigned shift = off & 4 ? 32 : 0;

	if (!q)
		return -EINVAL;
	if (off < VIRTIO_MMIO_QUEUE_AVAIL_LOW)
		a = &q->desc;
	else if (off < VIRTIO_MMIO_QUEUE_USED_LOW)
		a = &q->driver;
	else
		a = &q->device;
	*a = (*a & ~((uint64_t)UINT32_MAX << shift)) | (uint64_t)v << shift;
	return 0;
}

static const char *start_error(int ret)
{
	if (ret == -EPROTO)
		return "features not accepted (FEATURES_OK)";
	if (ret == -EINVAL)
		return "ring size or alignment unusable";
	if (ret == -EFAULT)
		return "ring outside guest memory";
	return strerror(-ret);
}

static int write_queue_ready(struct vmmio *m, uint32_t v, const char **why)
{
	struct vmmio_queue *q = selected(m);
	int ret = 0;

	if (!q || v > 1) {
		*why = q ? "QueueReady takes 0 or 1"
			 : "QueueSel names no queue";
		return -EINVAL;
	}
	if (v == q->ready)
		return 0;
	dev_thread_pause(m->dt);
	if (v)
		ret = queue_start(m, q);
	else
		queue_stop(m, q);
	dev_thread_resume(m->dt);
	if (ret < 0) {
		log_msg_ratelimited(
			&m->rl, LOG_LEVEL_ERR,
			"%s: queue %u cannot start (size %u, desc 0x%llx, "
			"driver 0x%llx, device 0x%llx): %s",
			m->name, qindex(m, q), q->num,
			(unsigned long long)q->desc,
			(unsigned long long)q->driver,
			(unsigned long long)q->device, start_error(ret));
		device_error(m);
	}
	return 0;
}

static int write_queue_reset(struct vmmio *m, uint32_t v, const char **why)
{
	struct vmmio_queue *q = selected(m);

	if (!(m->dev->features & BIT(VIRTIO_F_RING_RESET)))
		*why = "VIRTIO_F_RING_RESET not negotiated";
	else if (!q)
		*why = "QueueSel names no queue";
	else if (v != 1)
		*why = "QueueReset takes 1";
	else {
		dev_thread_pause(m->dt);
		queue_stop(m, q);
		queue_defaults(m, q);
		dev_thread_resume(m->dt);
		return 0;
	}
	return -EINVAL;
}

static int write_notify(struct vmmio *m, uint32_t v, const char **why)
{
	uint64_t one = 1;

	/* Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index. */
	if (v >= m->nqueues) {
		*why = "QueueNotify names no queue";
		return -EINVAL;
	}
	/*
	 * No fence: the guest ordered its ring writes before this store
	 * (its barrier before the notify), the eventfd round trip orders
	 * us with the data thread, and the ring layer's acquire after
	 * reading the avail index pairs with the driver's barrier.
	 * EAGAIN: the counter is full, so a kick is pending anyway.
	 */
	if (write(m->queues[v].kick_fd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		log_msg_ratelimited(&m->rl, LOG_LEVEL_WARN,
				    "%s: queue %u: kick eventfd: %s", m->name,
				    v, strerror(errno));
	return 0;
}

static int write_ack(struct vmmio *m, uint32_t v, const char **why)
{
	if (v & ~INT_DEFINED) {
		*why = "undefined InterruptACK bits";
		return -EINVAL;
	}
	/*
	 * Acq_rel: a bit set concurrently by the data path is either
	 * cleared here, with the event it announces visible to the guest
	 * after the answer (acquire), or set after, with its own interrupt.
	 */
	atomic_fetch_and_explicit(&m->isr, ~v, memory_order_acq_rel);
	return 0;
}

static int write_reg(struct vmmio *m, uint32_t off, uint32_t v,
		     const char **why)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->device_features_sel = v;
		return 0;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		return write_driver_features(m, v);
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->driver_features_sel = v;
		return 0;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = v;
		return 0;
	case VIRTIO_MMIO_QUEUE_NUM:
		return write_queue_num(m, v, why);
	case VIRTIO_MMIO_QUEUE_READY:
		return write_queue_ready(m, v, why);
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		return write_notify(m, v, why);
	case VIRTIO_MMIO_INTERRUPT_ACK:
		return write_ack(m, v, why);
	case VIRTIO_MMIO_STATUS:
		return write_status(m, v, why);
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return write_queue_addr(m, off, v, why);
	case VIRTIO_MMIO_SHM_SEL:
		m->shm_sel = v;
		return 0;
	case VIRTIO_MMIO_QUEUE_RESET:
		return write_queue_reset(m, v, why);
	}
	return 0; /* unreachable: check_access() knows every register */
}

/* ---- config space -------------------------------------------------------- */

static int config_access(struct vmmio *m, uint32_t off, unsigned size,
			 uint64_t *val, bool write, const char **why)
{
	uint8_t b[8];
	int ret;

	for (unsigned i = 0; i < size; i++)
		b[i] = (uint8_t)(*val >> (8 * i)); /* little-endian */
	dev_thread_pause(m->dt);
	if (write)
		ret = virtio_dev_config_write(m->dev, off - VMMIO_CONFIG, b,
					      size);
	else
		ret = virtio_dev_config_read(m->dev, off - VMMIO_CONFIG, b,
					     size);
	dev_thread_resume(m->dt);
	if (ret < 0) {
		*why = ret == -EPERM ? "config space is read-only"
				     : "outside the device's config space";
		return -EINVAL;
	}
	if (!write) {
		*val = 0;
		for (unsigned i = 0; i < size; i++)
			*val |= (uint64_t)b[i] << (8 * i);
	}
	return 0;
}

/* ---- access checks and entry points ----------------------------------------
 */

/*
 * Is [off, off + size) a defined access in direction dir? *reg is the
 * control register at off (also when refused, for the log line), if any.
 */
static int check_access(const struct vmmio *m, uint32_t off, unsigned size,
			unsigned dir, const struct reg **reg, const char **why)
{
	bool ring_reset =
		virtio_dev_features(m->dev) & BIT(VIRTIO_F_RING_RESET);
	const struct reg *r = NULL;

	if (off < VMMIO_CONFIG && size == 4 && !(off % 4) && regs[off / 4].name)
		r = &regs[off / 4];
	*reg = r;
	*why = NULL;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		*why = "access size not 1, 2, 4 or 8";
	else if (off >= VMMIO_WINDOW_SIZE || size > VMMIO_WINDOW_SIZE - off)
		*why = "outside the register window";
	else if (off >= VMMIO_CONFIG) {
		if ((off - VMMIO_CONFIG) % size)
			*why = "config access not naturally aligned";
	} else if (size != 4 || off % 4)
		*why = "control registers take aligned 32-bit accesses";
	else if (!r || (r->ring_reset && !ring_reset))
		*why = "no register at this offset";
	else if (!r->dir)
		*why = "legacy (version 1) register; this device is "
		       "virtio-mmio version 2";
	else if (!(r->dir & dir))
		*why = dir == REG_R ? "write-only register"
				    : "read-only register";
	return *why ? -EINVAL : 0;
}

static void refuse(struct vmmio *m, const char *what, uint32_t off,
		   unsigned size, uint64_t val, const struct reg *r,
		   const char *why)
{
	char v[32] = "";

	if (*what == 'w')
		snprintf(v, sizeof(v), ", value 0x%llx",
			 (unsigned long long)val);
	log_msg_ratelimited(&m->rl, LOG_LEVEL_WARN,
			    "%s: guest %s of %s (0x%03x, %u bytes%s) refused: "
			    "%s",
			    m->name, what,
			    off >= VMMIO_CONFIG ? "config space"
			    : r && r->name	? r->name
						: "an undefined offset",
			    off, size, v, why);
}

int vmmio_read(struct vmmio *m, uint32_t off, unsigned size, uint64_t *val)
{
	const struct reg *r;
	const char *why = NULL;
	int ret = check_access(m, off, size, REG_R, &r, &why);

	*val = 0;
	if (ret == 0 && off >= VMMIO_CONFIG)
		ret = config_access(m, off, size, val, false, &why);
	else if (ret == 0)
		*val = read_reg(m, off);
	if (ret < 0) {
		*val = 0;
		refuse(m, "read", off, size, 0, r, why);
	}
	return ret;
}

int vmmio_write(struct vmmio *m, uint32_t off, unsigned size, uint64_t val)
{
	const struct reg *r;
	const char *why = NULL;
	int ret = check_access(m, off, size, REG_W, &r, &why);

	if (ret == 0 && size < 8)
		val &= (1ULL << (8 * size)) - 1;
	if (ret == 0 && off >= VMMIO_CONFIG)
		ret = config_access(m, off, size, &val, true, &why);
	else if (ret == 0)
		ret = write_reg(m, off, (uint32_t)val, &why);
	if (ret < 0)
		refuse(m, "write", off, size, val, r, why);
	return ret;
}

void vmmio_reset(struct vmmio *m)
{
	reset(m);
}

struct dev_thread *vmmio_thread(struct vmmio *m)
{
	return m->dt;
}

/* ---- lifetime
 * ---------------------------------------------------------------- */

static void close_kicks(struct vmmio *m)
{
	for (unsigned i = 0; i < m->nqueues; i++)
		if (m->queues[i].kick_fd >= 0)
			close(m->queues[i].kick_fd);
	free(m->queues);
	m->queues = NULL;
	m->nqueues = 0;
}

int vmmio_init(struct vmmio *m, struct virtio_dev *dev, struct gmem *mem,
	       const struct vmmio_ops *ops, const char *name)
{
	int ret;

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->tp.ops = &vmmio_transport_ops;
	m->ops = ops;
	m->queues = calloc(dev->ops->num_queues, sizeof(*m->queues));
	if (!m->queues)
		return -ENOMEM;
	m->nqueues = dev->ops->num_queues;
	for (unsigned i = 0; i < m->nqueues; i++)
		m->queues[i].kick_fd = -1;
	for (unsigned i = 0; i < m->nqueues; i++) {
		m->queues[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->queues[i].kick_fd < 0) {
			ret = -errno;
			log_err("%s: kick eventfd: %s", m->name,
				strerror(-ret));
			goto err_close;
		}
	}
	m->dev = dev;
	for (unsigned i = 0; i < m->nqueues; i++)
		queue_defaults(m, &m->queues[i]);
	virtio_dev_attach(dev, &m->tp, mem);
	ret = dev_thread_create(&m->dt, dev, m->name);
	if (ret < 0)
		goto err_detach;
	return 0;

err_detach:
	virtio_dev_attach(dev, NULL, NULL);
	m->dev = NULL;
err_close:
	close_kicks(m);
	return ret;
}

void vmmio_destroy(struct vmmio *m)
{
	if (!m->dev)
		return;
	reset(m);
	dev_thread_destroy(m->dt);
	m->dt = NULL;
	virtio_dev_attach(m->dev, NULL, NULL);
	m->dev = NULL;
	close_kicks(m);
}
