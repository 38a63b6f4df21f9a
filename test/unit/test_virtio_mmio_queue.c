// SPDX-License-Identifier: MIT
/*
 * virtio-mmio queue registers (core/virtio_mmio_queue.c) driven the way
 * Linux's virtio_mmio driver drives them: QueueSel/QueueNumMax/QueueNum
 * and the ring addresses, QueueReady starting split and packed rings that
 * the data-path thread serves after QueueNotify (with used-buffer
 * interrupts), QueueReady 0, rings the device cannot use and corrupt ones
 * (NEEDS_RESET, config interrupt), QueueReset, and a real device model
 * (virtio-i2c on a simulated EEPROM) served end to end.
 */

#include "vmmio_driver.h"

#include <endian.h>
#include <linux/virtio_i2c.h>
#include <time.h>

#include "i2c.h"

/* ---- queues -------------------------------------------------------------- */

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

/* A driver's interrupt handler: every used buffer, re-checked after
 * interrupts are enabled again (virtqueue_enable_cb's race). */
static unsigned handle_used(void)
{
	unsigned n = 0;
	uint32_t len;
	uint16_t id;

	for (unsigned q = 0; q < NQ; q++)
		do
			while (ring_driver_get_used(&F.drv[q], &id, &len) == 1)
				n++;
		while (ring_driver_irq_enable(&F.drv[q]) == 1);
	return n;
}

/*
 * Bursts on both queues while the driver works in the spec's order:
 * handle every used buffer, then acknowledge. The data path raises the
 * line for every event, so a buffer used between the two is never left
 * without an interrupt.
 */
static void test_interrupts_not_lost(void **state)
{
	uint64_t ring = *(uint64_t *)*state;
	unsigned posted = 0, done = 0;

	drv_start(V1 | ring, 16);
	while (done < 400) {
		uint32_t isr;

		for (unsigned q = 0; q < NQ && posted - done < 24; q++)
			for (unsigned i = 0;
			     i < 6 && ring_driver_num_free(&F.drv[q]) >= 2;
			     i++, posted++) {
				post(q, "burst");
				wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
			}
		assert_true(wait_irq(2000));
		isr = rd(VIRTIO_MMIO_INTERRUPT_STATUS);
		done += handle_used();
		wr(VIRTIO_MMIO_INTERRUPT_ACK, isr);
	}
	/* Everything posted came back; the last ACK may leave a bit set
	 * for buffers already handled, never an unannounced one. */
	while (done < posted) {
		assert_true(wait_irq(2000));
		wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS));
		done += handle_used();
	}
	assert_int_equal(done, posted);
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

/* ---- a device wedged inside one host call ---------------------------------
 */

static atomic_int wedged, wedge_entered;

/* The echo model, but queue 0's kick can hang as in a wedged adapter. */
static void wedge_kick(struct virtio_dev *d, unsigned q)
{
	if (q == 0 && atomic_load(&wedged)) {
		atomic_store(&wedge_entered, 1);
		while (atomic_load(&wedged))
			usleep(1000);
	}
	echo_queue_kick(d, q);
}

static const struct virtio_dev_ops wedge_ops = {
	.name = "echo",
	.device_id = VIRTIO_ID_CONSOLE,
	.num_queues = NQ,
	.queue_max = QMAX,
	.config_size = 8,
	.config_read = echo_config_read,
	.config_write = echo_config_write,
	.features_ok = echo_features_ok,
	.queue_started = echo_queue_started,
	.queue_stopping = echo_queue_stopping,
	.queue_kick = wedge_kick,
	.reset = echo_reset,
	.features = MODEL_F,
};

static int setup_wedge(void **state)
{
	(void)state;
	fix_init(&wedge_ops, 0);
	M()->pause_deadline_ms = 100;
	return 0;
}

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * A register access that must pause a device stuck inside one host call
 * waits for the deadline once, not for ever: the device is declared stuck
 * (DEVICE_NEEDS_RESET, a config interrupt), later accesses that need it
 * are refused at once, the others are answered, and once the host call
 * returns the next access finds the device answering again and the
 * driver's reset heals it.
 */
static void test_stuck_device(void **state)
{
	struct timespec t0;
	int id;

	(void)state;
	drv_start(V1, 16);
	atomic_store(&wedged, 1);
	atomic_store(&wedge_entered, 0);
	id = post(0, "wedged");
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	while (!atomic_load(&wedge_entered))
		usleep(1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr_bad(VIRTIO_MMIO_QUEUE_READY, 0); /* refused: stuck */
	assert_true(ms_since(&t0) >= 90);
	assert_true(ms_since(&t0) < 1000);
	assert_true(M()->stuck);
	assert_true(wait_irq(2000));
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), I_CONF);
	assert_true(rd(VIRTIO_MMIO_STATUS) & S_RESET);
	/* Once stuck: no more waiting, for any access that needs it. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	wr_bad(VIRTIO_MMIO_QUEUE_READY, 0);
	wr_bad(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK | S_DRV);
	rd_bad(VMMIO_CONFIG, 4);
	wr(VIRTIO_MMIO_STATUS, 0); /* a reset is not possible yet */
	assert_true(ms_since(&t0) < 50);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	/* What needs no pause is answered as usual. */
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, I_CONF);
	/* The host call returns; the data path parks on the pause still
	 * asked for, and the next access that needs the device takes it:
	 * the device answers again, the request completes, and the driver's
	 * reset heals the device. */
	atomic_store(&wedged, 0);
	for (int i = 0; vmmio_write(M(), VIRTIO_MMIO_QUEUE_READY, 4, 0); i++) {
		assert_true(i < 2000);
		usleep(1000);
	}
	expect_echo(0, id, "wedged");
	assert_false(M()->stuck);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	drv_start(V1, 16);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	echo_on(0, "healed");
	echo_on(1, "and the other queue");
}

/* ---- QueueReset ---------------------------------------------------------- */

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

/* ---- a real device model: virtio-i2c on a simulated EEPROM --------------- */

static uint64_t i2c_put(unsigned slot, uint8_t addr, uint32_t flags)
{
	struct virtio_i2c_out_hdr h = {.addr = htole16((uint16_t)(addr << 1)),
				       .flags = htole32(flags)};
	uint64_t at = DATA + slot * 0x100;

	assert_int_equal(fake_gmem_write(&F.mem, at, &h, sizeof(h)), 0);
	return at;
}

static uint8_t i2c_status(unsigned slot)
{
	uint8_t st = 0xee;

	assert_int_equal(
		fake_gmem_read(&F.mem, DATA + slot * 0x100 + 0xff, &st, 1), 0);
	return st;
}

static void i2c_add(uint64_t h, uint32_t len, bool rd_data)
{
	struct ring_seg segs[] = {
		{h, 8, false}, {h + 0x80, len, rd_data}, {h + 0xff, 1, true}};

	assert_true(ring_driver_add(&F.drv[0], segs, 3, false) >= 0);
}

/* Linux's virtio_i2c on this model: set the pointer, read it back. */
static void test_i2c_model(void **state)
{
	static const uint8_t allow[] = {0x50};
	struct i2c_sim_chip_desc chip = {.kind = I2C_SIM_24C02,
					 .addr = 0x50,
					 .init = (const uint8_t *)"hello",
					 .ninit = 5};
	struct i2c_dev_params p = {
		.name = "i2c-mmio", .addresses = allow, .naddresses = 1};
	struct i2c_dev *i2c;
	uint64_t v, h0, h1, h2;
	char got[4];
	uint16_t uid;
	uint32_t len;

	(void)state;
	vmmio_destroy(M()); /* the fixture's echo model steps aside */
	assert_int_equal(i2c_sim_create(&p.bus), 0);
	assert_int_equal(i2c_sim_add_chip(p.bus, &chip), 0);
	assert_int_equal(i2c_dev_create(&i2c, &p, 0), 0);
	assert_int_equal(vmmio_init(M(), i2c_dev_virtio(i2c), &F.mem.gmem,
				    &t_ops, "i2c-mmio"),
			 0);

	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_I2C_ADAPTER);
	wr(VIRTIO_MMIO_STATUS, 0);
	add_status(S_ACK | S_DRV);
	/* The Linux driver needs ZERO_LENGTH_REQUEST; the model offers it. */
	assert_true(dev_features() & BIT(VIRTIO_I2C_F_ZERO_LENGTH_REQUEST));
	assert_true(drv_features(V1 | BIT(VIRTIO_I2C_F_ZERO_LENGTH_REQUEST)));
	/* No config space. */
	assert_int_equal(vmmio_read(M(), VMMIO_CONFIG, 1, &v), -EINVAL);
	drv_ring(0, 0, 16);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), I2C_DEV_QUEUE_MAX);
	wr(VIRTIO_MMIO_QUEUE_NUM, 16);
	put_addr(VIRTIO_MMIO_QUEUE_DESC_LOW, F.drv[0].layout.desc);
	put_addr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, F.drv[0].layout.driver);
	put_addr(VIRTIO_MMIO_QUEUE_USED_LOW, F.drv[0].layout.device);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	add_status(S_DOK);

	/* One transaction (write pointer 1, FAIL_NEXT; read 4), then an
	 * address off the allow-list. */
	h0 = i2c_put(0, 0x50, VIRTIO_I2C_FLAGS_FAIL_NEXT);
	assert_int_equal(fake_gmem_write(&F.mem, h0 + 0x80, "\x01", 1), 0);
	h1 = i2c_put(1, 0x50, VIRTIO_I2C_FLAGS_M_RD);
	h2 = i2c_put(2, 0x51, VIRTIO_I2C_FLAGS_M_RD);
	i2c_add(h0, 1, false);
	i2c_add(h1, 4, true);
	i2c_add(h2, 1, true);
	ring_driver_publish(&F.drv[0]);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (unsigned n = 0; n < 3;) {
		if (ring_driver_get_used(&F.drv[0], &uid, &len) == 1) {
			n++;
			continue;
		}
		assert_true(wait_irq(2000));
		assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & I_VRING);
		wr(VIRTIO_MMIO_INTERRUPT_ACK, I_VRING);
	}
	assert_int_equal(i2c_status(0), VIRTIO_I2C_MSG_OK);
	assert_int_equal(i2c_status(1), VIRTIO_I2C_MSG_OK);
	assert_int_equal(i2c_status(2), VIRTIO_I2C_MSG_ERR);
	assert_int_equal(fake_gmem_read(&F.mem, h1 + 0x80, got, 4), 0);
	assert_memory_equal(got, "ello", 4);

	vmmio_destroy(M());
	i2c_dev_destroy(i2c);
	/* The teardown's model, back in place. */
	assert_int_equal(
		vmmio_init(M(), &F.echo.vdev, &F.mem.gmem, &t_ops, "mmio-test"),
		0);
}

/* ---- main ---------------------------------------------------------------- */

int main(void)
{
	static uint64_t split = 0, split_event_idx = EVENT_IDX,
			split_indirect = INDIRECT, packed = PACKED,
			packed_event_idx = PACKED | EVENT_IDX;
	const struct CMUnitTest tests[] = {
		T(test_queue_registers),
		R(test_notify_served, setup, split),
		R(test_notify_served, setup, split_event_idx),
		R(test_notify_served, setup, split_indirect),
		R(test_notify_served, setup_packed, packed),
		R(test_notify_served, setup_packed, packed_event_idx),
		TP(test_packed_any_size),
		R(test_interrupts_not_lost, setup, split),
		R(test_interrupts_not_lost, setup, split_event_idx),
		R(test_interrupts_not_lost, setup_packed, packed_event_idx),
		T(test_notify_bad_index),
		T(test_queue_ready_zero_stops),
		T(test_queue_ready_unusable),
		T(test_needs_reset_corrupt_ring),
		cmocka_unit_test_setup_teardown(test_stuck_device, setup_wedge,
						teardown),
		TR(test_queue_reset),
		TR(test_queue_reset_not_negotiated),
		T(test_queue_reset_absent),
		T(test_i2c_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
