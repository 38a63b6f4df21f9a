// SPDX-License-Identifier: MIT
/*
 * devices/gpio.c behind the real vhost-user server and its data-path
 * thread (test/unit/vhu_frontend.h plays QEMU 7.2's vhost-user-gpio, with
 * VIRTIO_GPIO_F_IRQ acked as a front-end that passes it would): requests
 * through kick and call eventfds, and interrupts from simulated lines
 * driven by this (another) thread, delivered by the device's one data-path
 * thread from the lines' event fds. Enabling interrupts on every line adds
 * no thread.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_gpio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "gpio.h"
#include "vhu_frontend.h"

#define NLINES	  8
#define REQ(q, i) (FE_DATA + 0x10000 * (q) + 0x100 * (i))

struct env {
	struct fe f;
	struct gpio_dev *dev;
	struct gpio_lines *lines;
	unsigned slot[FE_QUEUES];
};

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int setup(void **state)
{
	static struct env e;
	struct gpio_sim_line_desc desc[NLINES] = {[7] = {GPIO_LINE_DIR_OUT, 1}};
	struct vhu_server_opts opts = {.name = "test/gpio0",
				       .offer_packed = true};
	struct fe *f = &e.f;

	memset(&e, 0, sizeof(e));
	log_set_level(LOG_LEVEL_ERR);
	f->memfd = -1;
	for (unsigned q = 0; q < FE_QUEUES; q++)
		f->kick[q] = f->call[q] = f->err[q] = -1;
	assert_int_equal(gpio_sim_create(&e.lines, NLINES, desc), 0);
	assert_int_equal(
		gpio_dev_create(&e.dev,
				&(struct gpio_dev_params){.name = "test/gpio0",
							  .lines = e.lines},
				0),
		0);
	assert_int_equal(loop_create(&f->ctl), 0);
	assert_int_equal(vhu_server_create(&f->srv, f->ctl,
					   gpio_dev_virtio(e.dev), &opts),
			 0);
	fe_connect(f);
	*state = &e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	struct fe *f = &e->f;

	fe_disconnect(f);
	vhu_server_destroy(f->srv);
	gpio_dev_destroy(e->dev);
	loop_destroy(f->ctl);
	for (unsigned q = 0; q < FE_QUEUES; q++) {
		if (f->drv_up[q])
			ring_driver_destroy(&f->drv[q]);
		fe_close_fd(&f->kick[q]);
		fe_close_fd(&f->call[q]);
		fe_close_fd(&f->err[q]);
	}
	if (f->mem) {
		f->fgm.region[0].host = f->fgm_host;
		fake_gmem_destroy(&f->fgm);
		munmap(f->mem, FE_SIZE);
	}
	fe_close_fd(&f->memfd);
	return 0;
}

/* QEMU 7.2's order: fds and GET_CONFIG before SET_FEATURES. */
static void negotiate(struct env *e, uint64_t ring_features)
{
	struct fe *f = &e->f;
	uint64_t features = fe_get(f, VHU_GET_FEATURES);
	struct {
		struct vhu_config_hdr h;
		struct virtio_gpio_config c;
	} cfg = {.h = {0, 8, 0}};

	assert_true(features & FE_BIT(VIRTIO_GPIO_F_IRQ));
	assert_int_equal(fe_set_u64(f, VHU_SET_PROTOCOL_FEATURES,
				    fe_get(f, VHU_GET_PROTOCOL_FEATURES)),
			 0);
	assert_int_equal(fe_get(f, VHU_GET_QUEUE_NUM), 2);
	assert_int_equal(
		fe_msg(f, VHU_SET_OWNER, VHU_VERSION, NULL, 0, NULL, 0),
		FE_ACK_NONE);
	for (unsigned q = 0; q < FE_QUEUES; q++) {
		f->call[q] = fe_eventfd();
		f->err[q] = fe_eventfd();
		assert_int_equal(
			fe_vring_fd(f, VHU_SET_VRING_CALL, q, f->call[q]), 0);
		assert_int_equal(
			fe_vring_fd(f, VHU_SET_VRING_ERR, q, f->err[q]), 0);
	}
	fe_send(f, VHU_GET_CONFIG, VHU_VERSION, &cfg, sizeof(cfg), NULL, 0);
	fe_pump(f);
	assert_int_equal(fe_reply(f, VHU_GET_CONFIG, &cfg, sizeof(cfg)),
			 sizeof(cfg));
	assert_int_equal(le16toh(cfg.c.ngpio), NLINES);
	assert_int_equal(le32toh(cfg.c.gpio_names_size), 0);
	assert_int_equal(
		fe_set_u64(f, VHU_SET_FEATURES,
			   FE_V1 | FE_BIT(VIRTIO_GPIO_F_IRQ) | ring_features),
		0);
	assert_int_equal(fe_mem_table(f), 0);
	fe_ring_start(f, 0, ring_features);
	fe_ring_start(f, 1, ring_features);
}

/* One request through kick and call; returns {status, value}. */
static uint16_t request(struct env *e, uint16_t type, uint16_t gpio,
			uint32_t value)
{
	struct fe *f = &e->f;
	struct virtio_gpio_request r = {htole16(type), htole16(gpio),
					htole32(value)};
	uint64_t a = REQ(0, e->slot[0]++ % 64);
	struct ring_seg s[2] = {{a, 8, false}, {a + 0x40, 2, true}};
	uint8_t res[2];
	uint16_t id;
	uint32_t len;
	int bid;

	assert_int_equal(fake_gmem_write(&f->fgm, a, &r, 8), 0);
	bid = ring_driver_add(&f->drv[0], s, 2, false);
	assert_true(bid >= 0);
	ring_driver_publish(&f->drv[0]);
	fe_signal(f->kick[0]);
	assert_true(fe_wait(f->call[0], 2000));
	assert_int_equal(ring_driver_get_used(&f->drv[0], &id, &len), 1);
	assert_int_equal(id, bid);
	assert_int_equal(len, 2);
	assert_int_equal(fake_gmem_read(&f->fgm, a + 0x40, res, 2), 0);
	return (uint16_t)(res[0] << 8 | res[1]);
}

/* Queue an eventq buffer for gpio and kick; returns its status address. */
static uint64_t irq_buffer(struct env *e, uint16_t gpio)
{
	struct fe *f = &e->f;
	uint16_t g = htole16(gpio);
	uint64_t a = REQ(1, e->slot[1]++ % 64);
	struct ring_seg s[2] = {{a, 2, false}, {a + 0x40, 1, true}};

	assert_int_equal(fake_gmem_write(&f->fgm, a, &g, 2), 0);
	assert_int_equal(fake_gmem_write(&f->fgm, a + 0x40, "\x7f", 1), 0);
	assert_true(ring_driver_add(&f->drv[1], s, 2, false) >= 0);
	ring_driver_publish(&f->drv[1]);
	fe_signal(f->kick[1]);
	return a + 0x40;
}

/* The status of the next used eventq buffer, or -1 if no call in ms. */
static int wait_irq(struct env *e, uint64_t status_at, int ms)
{
	struct fe *f = &e->f;
	uint16_t id;
	uint32_t len;
	uint8_t st;

	/* A call may be left from an entry already taken: look again. */
	while (ring_driver_get_used(&f->drv[1], &id, &len) != 1)
		if (!fe_wait(f->call[1], ms))
			return -1;
	assert_int_equal(len, 1);
	assert_int_equal(fake_gmem_read(&f->fgm, status_at, &st, 1), 0);
	return st;
}

static void test_requests(void **state)
{
	struct env *e = *state;

	negotiate(e, 0);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_DIRECTION, 7, 0),
			 VIRTIO_GPIO_DIRECTION_OUT);
	assert_int_equal(gpio_sim_drive(e->lines, 2, 1), 0);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_VALUE, 2, 0), 1);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_SET_VALUE, 7, 0), 0);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_VALUE, 7, 0), 0);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_VALUE, NLINES, 0),
			 VIRTIO_GPIO_STATUS_ERR << 8);
}

static void test_interrupts_on_the_data_path_thread(void **state)
{
	struct env *e = *state;
	int threads;
	uint64_t st;

	negotiate(e, FE_BIT(VIRTIO_F_RING_PACKED));
	threads = count_threads();
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(request(e, VIRTIO_GPIO_MSG_IRQ_TYPE, i,
					 VIRTIO_GPIO_IRQ_TYPE_EDGE_BOTH),
				 0);
	assert_int_equal(count_threads(), threads);

	st = irq_buffer(e, 3);
	assert_int_equal(wait_irq(e, st, 100), -1);
	assert_int_equal(gpio_sim_drive(e->lines, 3, 1), 0);
	assert_int_equal(wait_irq(e, st, 2000), VIRTIO_GPIO_IRQ_STATUS_VALID);
	/* Latched while masked, delivered on the next buffer. */
	assert_int_equal(gpio_sim_drive(e->lines, 3, 0), 0);
	st = irq_buffer(e, 3);
	assert_int_equal(wait_irq(e, st, 2000), VIRTIO_GPIO_IRQ_STATUS_VALID);

	/* Level high refires while the level persists. */
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_IRQ_TYPE, 5,
				 VIRTIO_GPIO_IRQ_TYPE_NONE),
			 0);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_IRQ_TYPE, 5,
				 VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH),
			 0);
	st = irq_buffer(e, 5);
	assert_int_equal(wait_irq(e, st, 100), -1);
	assert_int_equal(gpio_sim_drive(e->lines, 5, 1), 0);
	assert_int_equal(wait_irq(e, st, 2000), VIRTIO_GPIO_IRQ_STATUS_VALID);
	st = irq_buffer(e, 5);
	assert_int_equal(wait_irq(e, st, 2000), VIRTIO_GPIO_IRQ_STATUS_VALID);

	/* Disabling returns the held buffer with its own call. */
	assert_int_equal(gpio_sim_drive(e->lines, 5, 0), 0);
	st = irq_buffer(e, 5);
	assert_int_equal(wait_irq(e, st, 100), -1);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_IRQ_TYPE, 5,
				 VIRTIO_GPIO_IRQ_TYPE_NONE),
			 0);
	assert_int_equal(wait_irq(e, st, 2000), VIRTIO_GPIO_IRQ_STATUS_INVALID);
	assert_int_equal(count_threads(), threads);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_interrupts_on_the_data_path_thread, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
