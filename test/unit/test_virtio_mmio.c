// SPDX-License-Identifier: MIT
/*
 * virtio-mmio version 2 register model (core/virtio_mmio.c), register by
 * register against virtio 1.2 section 4.2.2: identification, the feature
 * windows and FEATURES_OK (with its refusals), InterruptStatus/ACK, Status
 * 0 and vmmio_reset, shared memory, config space and its generation,
 * every undefined offset, size and alignment refused with no state change,
 * and init/destroy without leaks. Queue registers and the data path:
 * test_virtio_mmio_queue.c.
 */

#include "vmmio_driver.h"

#include <dirent.h>
#include <sys/resource.h>

/* ---- identification ------------------------------------------------------ */

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

/* ---- features ------------------------------------------------------------ */

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

/*
 * The spec's order is "handle, then acknowledge": a buffer used while the
 * bit is still set must pulse the line again, or the ACK would swallow it.
 */
static void test_irq_every_event(void **state)
{
	uint32_t len;
	uint16_t id;
	int a, b;

	(void)state;
	drv_start(V1, 16);
	a = post(0, "first");
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(wait_irq(2000));
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), I_VRING);
	assert_int_equal(ring_driver_get_used(&F.drv[0], &id, &len), 1);
	assert_int_equal(id, a);
	ring_driver_irq_enable(&F.drv[0]);
	/* Not acknowledged yet: the next buffer still raises the line. */
	b = post(0, "second");
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(wait_irq(2000));
	assert_int_equal(atomic_load(&F.t.irqs), 2);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, I_VRING);
	assert_int_equal(ring_driver_get_used(&F.drv[0], &id, &len), 1);
	assert_int_equal(id, b);
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

/* ---- status and reset ---------------------------------------------------- */

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

/* ---- shared memory: none ------------------------------------------------- */

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

/* ---- config space -------------------------------------------------------- */

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

/* ---- undefined accesses: refused, logged (rate-limited), no effect ------- */

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

/* ---- lifetime ------------------------------------------------------------ */

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
		F.echo.vdev.legacy_ok =
			true; /* as a vhost-user server left it */
		assert_int_equal(vmmio_init(&m, &F.echo.vdev, &F.mem.gmem,
					    &t_ops, "again"),
				 0);
		assert_ptr_equal(F.echo.vdev.tp, &m.tp);
		/* Version 2 is VIRTIO 1.x: no legacy drivers. */
		assert_false(F.echo.vdev.legacy_ok);
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

/* ---- main ---------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ids),
		T(test_device_features_windows),
		TP(test_packed_offered),
		T(test_driver_features_both_halves),
		T(test_features_ok_refused),
		T(test_interrupt_ack),
		T(test_irq_every_event),
		T(test_status_reset),
		T(test_vmmio_reset),
		T(test_shm),
		T(test_config),
		TO(test_config_read_only),
		T(test_undefined_accesses),
		T(test_legacy_registers),
		T(test_init_destroy_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
