// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/gpio_hostdev.c: lines of a real Linux GPIO chip
 * through libgpiod. Without a chip only the open errors run; the rest
 * needs a gpio-sim chip (CONFIG_GPIO_SIM) and is run inside a guest of the
 * project kernel by test/integration/test_gpio_hostdev_sim.py, with
 *   VB_GPIO_SIM_CHIP   the chip's name (gpiochipN), at least 8 lines, line
 *                      2 named "SIM-TWO" in the gpio-sim configuration;
 *   VB_GPIO_SIM_SYSFS  its sysfs directory, holding sim_gpioN/{pull,value}
 *                      (/sys/devices/platform/gpio-sim.0/gpiochipN);
 *   VB_GPIO_SIM_LABEL  its label (gpio-sim.0-node0).
 * The last test runs the whole virtio-gpio model (devices/gpio.c) on those
 * lines: interrupts from real edges, delivered through its event fds.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_gpio.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "gpio.h"
#include "gpio_lines.h"
#include "loop.h"
#include "ring_driver.h"

static const char *chip(void)
{
	return getenv("VB_GPIO_SIM_CHIP");
}

/* Write pull-up/pull-down to the sim side of line, as a signal would. */
static void sim_pull(unsigned line, int up)
{
	char path[160];
	int fd;
	const char *v = up ? "pull-up" : "pull-down";

	snprintf(path, sizeof(path), "%s/sim_gpio%u/pull",
		 getenv("VB_GPIO_SIM_SYSFS"), line);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, v, strlen(v)), (ssize_t)strlen(v));
	close(fd);
}

/* What the chip drives on line, read on the sim side. */
static int sim_value(unsigned line)
{
	char path[160], c = '?';
	int fd;

	snprintf(path, sizeof(path), "%s/sim_gpio%u/value",
		 getenv("VB_GPIO_SIM_SYSFS"), line);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, &c, 1), 1);
	close(fd);
	return c - '0';
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

static void test_open_errors(void **state)
{
	struct gpio_lines *l;
	unsigned off[2] = {0, 0};
	char err[160];

	(void)state;
	assert_int_equal(gpio_hostdev_open(&l, "/nonexistent/gpiochip9", off, 1,
					   err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "/nonexistent/gpiochip9: cannot open the "
				 "chip: No such file or directory");
	assert_int_equal(
		gpio_hostdev_open(&l, "/dev/null", off, 0, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err, "/dev/null: 0 lines (1..256 allowed)");
	if (!chip())
		return;
	assert_int_equal(
		gpio_hostdev_open(&l, chip(), off, 2, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "line 0 is listed twice"));
	off[0] = 4096;
	assert_int_equal(
		gpio_hostdev_open(&l, chip(), off, 1, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "has no line 4096"));
}

/* The chip by path, by name and by label: one chip. */
static void test_open_by_path_name_label(void **state)
{
	const char *label = getenv("VB_GPIO_SIM_LABEL");
	unsigned off = 7;
	struct gpio_lines *l, *l2;
	char path[64], err[160];

	(void)state;
	if (!chip() || !label)
		skip();
	snprintf(path, sizeof(path), "/dev/%s", chip());
	assert_int_equal(gpio_hostdev_open(&l, path, &off, 1, err, sizeof(err)),
			 0);
	assert_int_equal(
		gpio_hostdev_open(&l2, label, &off, 1, err, sizeof(err)),
		-EBUSY);
	gpio_lines_destroy(l);
	assert_int_equal(
		gpio_hostdev_open(&l2, label, &off, 1, err, sizeof(err)), 0);
	assert_int_equal(
		gpio_hostdev_open(&l, chip(), &off, 1, err, sizeof(err)),
		-EBUSY);
	gpio_lines_destroy(l2);
}

static void test_busy_line(void **state)
{
	unsigned a[2] = {1, 3}, b[2] = {4, 3};
	struct gpio_lines *l, *l2;
	char err[160], want[160];

	(void)state;
	if (!chip())
		skip();
	assert_int_equal(gpio_hostdev_open(&l, chip(), a, 2, err, sizeof(err)),
			 0);
	assert_int_equal(gpio_hostdev_open(&l2, chip(), b, 2, err, sizeof(err)),
			 -EBUSY);
	snprintf(want, sizeof(want),
		 "%s line 3 is busy (used by \"virtiobox\")", chip());
	assert_string_equal(err, want);
	gpio_lines_destroy(l);
	/* Released with the first set: the lines can be had again. */
	assert_int_equal(gpio_hostdev_open(&l2, chip(), b, 2, err, sizeof(err)),
			 0);
	gpio_lines_destroy(l2);
}

static void test_lines(void **state)
{
	unsigned off[3] = {0, 2, 5};
	struct gpio_lines *l;
	unsigned edge;
	char err[160];
	int fd;

	(void)state;
	if (!chip())
		skip();
	assert_int_equal(
		gpio_hostdev_open(&l, chip(), off, 3, err, sizeof(err)), 0);
	assert_string_equal(l->ops->kind, "hostdev");
	assert_int_equal(l->n, 3);
	assert_string_equal(gpio_lines_name(l, 0), "");
	assert_string_equal(gpio_lines_name(l, 1), "SIM-TWO");
	assert_int_equal(gpio_lines_get_direction(l, 0), GPIO_LINE_DIR_IN);
	/* Inputs follow the sim side's pull. */
	sim_pull(2, 1);
	assert_int_equal(gpio_lines_get_value(l, 1), 1);
	sim_pull(2, 0);
	assert_int_equal(gpio_lines_get_value(l, 1), 0);
	assert_int_equal(gpio_lines_set_value(l, 0, 1), -EPERM);
	/* Outputs drive the line: line 5 of the chip is guest line 2. */
	assert_int_equal(gpio_lines_set_direction(l, 2, GPIO_LINE_DIR_OUT, 1),
			 0);
	assert_int_equal(gpio_lines_get_direction(l, 2), GPIO_LINE_DIR_OUT);
	assert_int_equal(sim_value(5), 1);
	assert_int_equal(gpio_lines_set_value(l, 2, 0), 0);
	assert_int_equal(sim_value(5), 0);
	assert_int_equal(gpio_lines_get_value(l, 2), 0);
	assert_int_equal(gpio_lines_set_events(l, 2, GPIO_LINE_EDGE_BOTH),
			 -EPERM);
	assert_int_equal(gpio_lines_set_direction(l, 2, GPIO_LINE_DIR_IN, 0),
			 0);
	/* Edges through a non-blocking event fd. */
	assert_int_equal(gpio_lines_event_fd(l, 1), -1);
	assert_int_equal(gpio_lines_set_events(l, 1, GPIO_LINE_EDGE_BOTH), 0);
	fd = gpio_lines_event_fd(l, 1);
	assert_true(fd >= 0);
	assert_int_equal(gpio_lines_read_event(l, 1, &edge), 0);
	sim_pull(2, 1);
	assert_true(wait_readable(fd, 2000));
	assert_int_equal(gpio_lines_read_event(l, 1, &edge), 1);
	assert_int_equal(edge, GPIO_LINE_EDGE_RISING);
	assert_int_equal(gpio_lines_get_value(l, 1), 1);
	sim_pull(2, 0);
	assert_true(wait_readable(fd, 2000));
	assert_int_equal(gpio_lines_read_event(l, 1, &edge), 1);
	assert_int_equal(edge, GPIO_LINE_EDGE_FALLING);
	assert_int_equal(gpio_lines_read_event(l, 1, &edge), 0);
	/* Rising only: a falling edge does not wake it. */
	assert_int_equal(gpio_lines_set_events(l, 1, GPIO_LINE_EDGE_RISING), 0);
	fd = gpio_lines_event_fd(l, 1);
	sim_pull(2, 1);
	sim_pull(2, 0);
	assert_true(wait_readable(fd, 2000));
	assert_int_equal(gpio_lines_read_event(l, 1, &edge), 1);
	assert_int_equal(edge, GPIO_LINE_EDGE_RISING);
	assert_false(wait_readable(fd, 100));
	assert_int_equal(gpio_lines_set_events(l, 1, 0), 0);
	assert_int_equal(gpio_lines_event_fd(l, 1), -1);
	assert_int_equal(gpio_lines_get_direction(l, 1), GPIO_LINE_DIR_IN);
	gpio_lines_destroy(l);
}

/* ---- the device model on real lines ---- */

#define RING  0x100000ull
#define ERING 0x140000ull
#define DATA  0x200000ull

struct model {
	struct fake_gmem mem;
	struct ring_driver rq, eq;
	struct gpio_dev *dev;
	struct loop *loop;
	struct virtio_transport tp;
	unsigned slot;
};

static void tp_notify(struct virtio_transport *t, unsigned q)
{
	(void)t;
	(void)q;
}

static const struct virtio_transport_ops tp_ops = {.notify_queue = tp_notify,
						   .queue_error = tp_notify};

static uint8_t model_request(struct model *m, uint16_t type, uint16_t gpio,
			     uint32_t value)
{
	struct virtio_gpio_request r = {htole16(type), htole16(gpio),
					htole32(value)};
	uint64_t a = DATA + 0x100 * m->slot++;
	struct ring_seg s[2] = {{a, 8, false}, {a + 0x40, 2, true}};
	uint8_t res[2];
	uint16_t id;
	uint32_t len;

	assert_int_equal(fake_gmem_write(&m->mem, a, &r, 8), 0);
	assert_true(ring_driver_add(&m->rq, s, 2, false) >= 0);
	ring_driver_publish(&m->rq);
	virtio_dev_kick(gpio_dev_virtio(m->dev), 0);
	assert_int_equal(ring_driver_get_used(&m->rq, &id, &len), 1);
	assert_int_equal(len, 2);
	assert_int_equal(fake_gmem_read(&m->mem, a + 0x40, res, 2), 0);
	assert_int_equal(res[0], VIRTIO_GPIO_STATUS_OK);
	return res[1];
}

static uint64_t model_irq_buffer(struct model *m, uint16_t gpio)
{
	uint16_t g = htole16(gpio);
	uint64_t a = DATA + 0x100 * m->slot++;
	struct ring_seg s[2] = {{a, 2, false}, {a + 0x40, 1, true}};

	assert_int_equal(fake_gmem_write(&m->mem, a, &g, 2), 0);
	assert_int_equal(fake_gmem_write(&m->mem, a + 0x40, "\x7f", 1), 0);
	assert_true(ring_driver_add(&m->eq, s, 2, false) >= 0);
	ring_driver_publish(&m->eq);
	virtio_dev_kick(gpio_dev_virtio(m->dev), 1);
	return a + 0x40;
}

/* Run the loop until an eventq buffer comes back; returns its status or
 * -1 when none came within ms. */
static int model_wait_irq(struct model *m, uint64_t status_at, int ms)
{
	uint16_t id;
	uint32_t len;
	uint8_t st;

	for (int t = 0; t < ms / 10; t++) {
		if (ring_driver_get_used(&m->eq, &id, &len) == 1) {
			assert_int_equal(len, 1);
			assert_int_equal(
				fake_gmem_read(&m->mem, status_at, &st, 1), 0);
			return st;
		}
		loop_run_once(m->loop, 10);
	}
	return -1;
}

static void test_model_on_real_lines(void **state)
{
	static const char *const names[2] = {"BUTTON", NULL};
	unsigned off[2] = {6, 2};
	struct gpio_lines *l;
	struct virtio_dev *vd;
	struct model m = {.tp.ops = &tp_ops};
	char err[160];
	uint64_t st;
	uint32_t base;

	(void)state;
	if (!chip())
		skip();
	sim_pull(6, 0);
	sim_pull(2, 0);
	assert_int_equal(
		gpio_hostdev_open(&l, chip(), off, 2, err, sizeof(err)), 0);
	assert_int_equal(fake_gmem_init(&m.mem), 0);
	assert_int_equal(
		fake_gmem_add(&m.mem, RING, 0x100000, GMEM_READ | GMEM_WRITE),
		0);
	assert_int_equal(
		fake_gmem_add(&m.mem, DATA, 0x100000, GMEM_READ | GMEM_WRITE),
		0);
	assert_int_equal(ring_driver_init(&m.rq, &m.mem,
					  &(struct ring_driver_cfg){
						  .num = 64, .ring = RING}),
			 0);
	assert_int_equal(ring_driver_init(&m.eq, &m.mem,
					  &(struct ring_driver_cfg){
						  .num = 64, .ring = ERING}),
			 0);
	assert_int_equal(gpio_dev_create(&m.dev,
					 &(struct gpio_dev_params){
						 .lines = l, .names = names},
					 0),
			 0);
	assert_int_equal(loop_create(&m.loop), 0);
	vd = gpio_dev_virtio(m.dev);
	vd->kick_budget_ns = TEST_KICK_BUDGET_NS;
	vd->loop = m.loop;
	virtio_dev_attach(vd, &m.tp, &m.mem.gmem);
	assert_int_equal(virtio_dev_set_features(
				 vd, (1ull << VIRTIO_F_VERSION_1) |
					     (1ull << VIRTIO_GPIO_F_IRQ)),
			 0);
	assert_int_equal(virtio_dev_queue_start(vd, 0, &m.rq.layout, m.rq.base),
			 0);
	assert_int_equal(virtio_dev_queue_start(vd, 1, &m.eq.layout, m.eq.base),
			 0);

	/* Edge rising on chip line 6 (guest line 0). */
	assert_int_equal(model_request(&m, VIRTIO_GPIO_MSG_IRQ_TYPE, 0,
				       VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING),
			 0);
	st = model_irq_buffer(&m, 0);
	assert_int_equal(model_wait_irq(&m, st, 100), -1);
	sim_pull(6, 1);
	assert_int_equal(model_wait_irq(&m, st, 2000),
			 VIRTIO_GPIO_IRQ_STATUS_VALID);
	/* Level high on chip line 2 (guest line 1): fires while high. */
	assert_int_equal(model_request(&m, VIRTIO_GPIO_MSG_IRQ_TYPE, 1,
				       VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH),
			 0);
	st = model_irq_buffer(&m, 1);
	assert_int_equal(model_wait_irq(&m, st, 100), -1);
	sim_pull(2, 1);
	assert_int_equal(model_wait_irq(&m, st, 2000),
			 VIRTIO_GPIO_IRQ_STATUS_VALID);
	st = model_irq_buffer(&m, 1);
	assert_int_equal(model_wait_irq(&m, st, 100),
			 VIRTIO_GPIO_IRQ_STATUS_VALID);
	sim_pull(2, 0);
	st = model_irq_buffer(&m, 1);
	assert_int_equal(model_wait_irq(&m, st, 200), -1);
	/* Disabling returns the held buffer at once. */
	assert_int_equal(model_request(&m, VIRTIO_GPIO_MSG_IRQ_TYPE, 1,
				       VIRTIO_GPIO_IRQ_TYPE_NONE),
			 0);
	assert_int_equal(model_wait_irq(&m, st, 10),
			 VIRTIO_GPIO_IRQ_STATUS_INVALID);
	/* And plain values still work on the event-less line. */
	sim_pull(2, 1);
	assert_int_equal(model_request(&m, VIRTIO_GPIO_MSG_GET_VALUE, 1, 0), 1);

	assert_int_equal(virtio_dev_queue_stop(vd, 0, &base), 0);
	assert_int_equal(virtio_dev_queue_stop(vd, 1, &base), 0);
	gpio_dev_destroy(m.dev);
	loop_destroy(m.loop);
	ring_driver_destroy(&m.rq);
	ring_driver_destroy(&m.eq);
	assert_int_equal(fake_gmem_live(&m.mem), 0);
	fake_gmem_destroy(&m.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_by_path_name_label),
		cmocka_unit_test(test_busy_line),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_model_on_real_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
