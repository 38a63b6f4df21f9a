// SPDX-License-Identifier: MIT
/*
 * virtio-mmio version 2 register model. Every access is checked once
 * against the register table (offset, size, direction), then dispatched;
 * what reaches the device runs with its data path paused.
 */
#include "virtio_mmio_int.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIT(n) (1ULL << (n))

/* virtio 1.2; not in the kernel headers of Debian 12. */
#ifndef VIRTIO_MMIO_QUEUE_RESET
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0
#endif

#define MAGIC	    0x74726976u /* "virt" */
#define VERSION	    2u
#define INT_DEFINED (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)

/* Register flags: direction, and whether VIRTIO_F_RING_RESET must be
 * offered for it to exist. Neither R nor W: legacy, not in version 2. */
enum { REG_R = 1, REG_W = 2, REG_RW = REG_R | REG_W, REG_RING_RESET = 4 };

struct reg {
	const char *name;
	uint8_t flags;
};

/* Control registers by offset / 4 (virtio 1.2, table 4.1). */
#define REG(off, n, f) [(off) / 4] = {.name = (n), .flags = (f)}
static const struct reg regs[VMMIO_CONFIG / 4] = {
	REG(VIRTIO_MMIO_MAGIC_VALUE, "MagicValue", REG_R),
	REG(VIRTIO_MMIO_VERSION, "Version", REG_R),
	REG(VIRTIO_MMIO_DEVICE_ID, "DeviceID", REG_R),
	REG(VIRTIO_MMIO_VENDOR_ID, "VendorID", REG_R),
	REG(VIRTIO_MMIO_DEVICE_FEATURES, "DeviceFeatures", REG_R),
	REG(VIRTIO_MMIO_DEVICE_FEATURES_SEL, "DeviceFeaturesSel", REG_W),
	REG(VIRTIO_MMIO_DRIVER_FEATURES, "DriverFeatures", REG_W),
	REG(VIRTIO_MMIO_DRIVER_FEATURES_SEL, "DriverFeaturesSel", REG_W),
	REG(VIRTIO_MMIO_GUEST_PAGE_SIZE, "GuestPageSize", 0),
	REG(VIRTIO_MMIO_QUEUE_SEL, "QueueSel", REG_W),
	REG(VIRTIO_MMIO_QUEUE_NUM_MAX, "QueueNumMax", REG_R),
	REG(VIRTIO_MMIO_QUEUE_NUM, "QueueNum", REG_W),
	REG(VIRTIO_MMIO_QUEUE_ALIGN, "QueueAlign", 0),
	REG(VIRTIO_MMIO_QUEUE_PFN, "QueuePFN", 0),
	REG(VIRTIO_MMIO_QUEUE_READY, "QueueReady", REG_RW),
	REG(VIRTIO_MMIO_QUEUE_NOTIFY, "QueueNotify", REG_W),
	REG(VIRTIO_MMIO_INTERRUPT_STATUS, "InterruptStatus", REG_R),
	REG(VIRTIO_MMIO_INTERRUPT_ACK, "InterruptACK", REG_W),
	REG(VIRTIO_MMIO_STATUS, "Status", REG_RW),
	REG(VIRTIO_MMIO_QUEUE_DESC_LOW, "QueueDescLow", REG_W),
	REG(VIRTIO_MMIO_QUEUE_DESC_HIGH, "QueueDescHigh", REG_W),
	REG(VIRTIO_MMIO_QUEUE_AVAIL_LOW, "QueueDriverLow", REG_W),
	REG(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, "QueueDriverHigh", REG_W),
	REG(VIRTIO_MMIO_QUEUE_USED_LOW, "QueueDeviceLow", REG_W),
	REG(VIRTIO_MMIO_QUEUE_USED_HIGH, "QueueDeviceHigh", REG_W),
	REG(VIRTIO_MMIO_SHM_SEL, "SHMSel", REG_W),
	REG(VIRTIO_MMIO_SHM_LEN_LOW, "SHMLenLow", REG_R),
	REG(VIRTIO_MMIO_SHM_LEN_HIGH, "SHMLenHigh", REG_R),
	REG(VIRTIO_MMIO_SHM_BASE_LOW, "SHMBaseLow", REG_R),
	REG(VIRTIO_MMIO_SHM_BASE_HIGH, "SHMBaseHigh", REG_R),
	REG(VIRTIO_MMIO_QUEUE_RESET, "QueueReset", REG_RW | REG_RING_RESET),
	REG(VIRTIO_MMIO_CONFIG_GENERATION, "ConfigGeneration", REG_R),
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
void vmmio_device_error(struct vmmio *m)
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
	vmmio_device_error(container_of(t, struct vmmio, tp));
}

static const struct virtio_transport_ops vmmio_transport_ops = {
	.notify_queue = tp_notify_queue,
	.notify_config = tp_notify_config,
	.queue_error = tp_queue_error,
};

/* Data path paused: the device and every register as after a reset. */
static void reset_paused(struct vmmio *m)
{
	vmmio_queues_reset(m);
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

/* ---- register reads ------------------------------------------------------ */

static uint32_t status(struct vmmio *m)
{
	/* Acquire: pairs with the release store in vmmio_device_error(). */
	bool broken =
		atomic_load_explicit(&m->needs_reset, memory_order_acquire);

	return virtio_dev_status(m->dev) |
	       (broken ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
}

static uint32_t read_reg(struct vmmio *m, uint32_t off)
{
	struct vmmio_queue *q = vmmio_selected(m);
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

/* ---- register writes ----------------------------------------------------- */

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

int vmmio_pause(struct vmmio *m)
{
	int ret = dev_thread_pause_within(
		m->dt, m->stuck ? 0 : (int)m->pause_deadline_ms);

	if (ret == -ETIMEDOUT) {
		if (!m->stuck) {
			log_err("%s: the device's data path did not pause "
				"within %u ms (stuck in a host call?): "
				"declared stuck; it reports DEVICE_NEEDS_RESET "
				"and its register writes are refused until it "
				"answers, the guest's other devices are served",
				m->name, m->pause_deadline_ms);
			vmmio_device_error(m);
		}
		m->stuck = true;
		return ret;
	}
	if (m->stuck) {
		log_info("%s: the device answers again", m->name);
		m->stuck = false;
	}
	return 0;
}

/* bounded: as a register access (a stuck device is not reset). */
static void reset(struct vmmio *m, bool bounded)
{
	if (!bounded)
		dev_thread_pause(m->dt);
	else if (vmmio_pause(m))
		return;
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
		reset(m, true);
		return 0;
	}
	if (vmmio_pause(m)) {
		*why = VMMIO_STUCK;
		return -EINVAL;
	}
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
		return vmmio_queue_num_write(m, v, why);
	case VIRTIO_MMIO_QUEUE_READY:
		return vmmio_queue_ready_write(m, v, why);
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		return vmmio_notify_write(m, v, why);
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
		return vmmio_queue_addr_write(m, off, v, why);
	case VIRTIO_MMIO_SHM_SEL:
		m->shm_sel = v;
		return 0;
	case VIRTIO_MMIO_QUEUE_RESET:
		return vmmio_queue_reset_write(m, v, why);
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
	if (vmmio_pause(m)) {
		*why = VMMIO_STUCK;
		return -EINVAL;
	}
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

/* ---- access checks and entry points -------------------------------------- */

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

	if (off < VMMIO_CONFIG && !(off % 4) && regs[off / 4].name)
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
	else if (!r || ((r->flags & REG_RING_RESET) && !ring_reset))
		*why = "no register at this offset";
	else if (!(r->flags & REG_RW))
		*why = "legacy (version 1) register; this device is "
		       "virtio-mmio version 2";
	else if (!(r->flags & dir))
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
	reset(m, true);
}

struct dev_thread *vmmio_thread(struct vmmio *m)
{
	return m->dt;
}

/* ---- lifetime ------------------------------------------------------------ */

int vmmio_init(struct vmmio *m, struct virtio_dev *dev, struct gmem *mem,
	       const struct vmmio_ops *ops, const char *name)
{
	int ret;

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	log_ratelimit_init(&m->rl, m->name);
	virtio_dev_set_name(dev, m->name);
	m->tp.ops = &vmmio_transport_ops;
	m->ops = ops;
	m->dev = dev;
	m->pause_deadline_ms = VMMIO_PAUSE_DEADLINE_MS;
	dev->legacy_ok = false; /* virtio-mmio version 2 is VIRTIO 1.x */
	ret = vmmio_queues_create(m, dev->ops->num_queues);
	if (ret < 0) {
		log_err("%s: kick eventfds: %s", m->name, strerror(-ret));
		goto err_free_queues;
	}
	virtio_dev_attach(dev, &m->tp, mem);
	ret = dev_thread_create(&m->dt, dev, m->name);
	if (ret < 0)
		goto err_detach;
	return 0;

err_detach:
	virtio_dev_attach(dev, NULL, NULL);
err_free_queues:
	vmmio_queues_destroy(m);
	m->dev = NULL;
	return ret;
}

void vmmio_destroy(struct vmmio *m)
{
	if (!m->dev)
		return;
	reset(m, false); /* waits for a stuck device, as joining it would */
	dev_thread_destroy(m->dt);
	m->dt = NULL;
	virtio_dev_attach(m->dev, NULL, NULL);
	m->dev = NULL;
	vmmio_queues_destroy(m);
	log_ratelimit_fini(&m->rl);
}
