// SPDX-License-Identifier: MIT
/*
 * Unit tests for devices/gpio.c: requests and interrupt buffers built by
 * the driver side of real rings (test/support/ring_driver), served through
 * virtio_dev_kick, against simulated lines (devices/gpio_sim.c) whose
 * edges arrive through their event fds on a real loop (core/loop.c), as
 * on the device's data-path thread. Every test runs on split and packed
 * rings.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_gpio.h>
#include <linux/virtio_ids.h>
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
#include "log.h"
#include "loop.h"
#include "ring_driver.h"

#define RING   0x100000ull
#define ERING  0x140000ull
#define DATA   0x200000ull
#define SLOT   0x100ull /* guest memory per buffer */
#define QSIZE  64
#define NLINES 8
#define OK     VIRTIO_GPIO_STATUS_OK
#define ERR    VIRTIO_GPIO_STATUS_ERR
#define VALID  VIRTIO_GPIO_IRQ_STATUS_VALID
#define INVAL  VIRTIO_GPIO_IRQ_STATUS_INVALID
#define FILL   0x7f /* what the device must overwrite, or leave alone */

/* Names for the block: line 1 has none, line 3's name repeats line 0's. */
#define NAMES_BLOCK "BTN\0\0LED\0\0E\0F\0G\0H"
#define NAMES_SIZE  (sizeof(NAMES_BLOCK)) /* with the final NUL */

struct tp {
	struct virtio_transport t;
	unsigned notified[2], errors;
};

static void tp_notify(struct virtio_transport *t, unsigned q)
{
	container_of(t, struct tp, t)->notified[q]++;
}

static void tp_error(struct virtio_transport *t, unsigned q)
{
	(void)q;
	container_of(t, struct tp, t)->errors++;
}

static const struct virtio_transport_ops tp_ops = {.notify_queue = tp_notify,
						   .queue_error = tp_error};

struct env {
	uint64_t ring_features;
	bool no_irq; /* the driver does not accept VIRTIO_GPIO_F_IRQ */
	struct fake_gmem mem;
	struct ring_driver rq, eq;
	struct gpio_lines *lines;
	struct gpio_dev *dev;
	struct loop *loop;
	struct tp tp;
	unsigned nslots;
	int fds; /* open fds before setup */
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void quiet(enum log_level level, const char *line)
{
	(void)level;
	(void)line;
}

static unsigned log_lines;

static void count_lines(enum log_level level, const char *line)
{
	(void)level;
	(void)line;
	log_lines++;
}

static struct virtio_dev *vd(struct env *e)
{
	return gpio_dev_virtio(e->dev);
}

static int env_setup(void **state)
{
	static const char *const names[NLINES] = {"BTN", NULL, "LED", "BTN",
						  "E",	 "F",  "G",   "H"};
	struct gpio_sim_line_desc desc[NLINES] = {
		[4] = {GPIO_LINE_DIR_OUT, 0},
		[5] = {GPIO_LINE_DIR_OUT, 1},
	};
	struct env *e = *state;
	uint64_t extra = e->ring_features & (1ull << VIRTIO_F_RING_PACKED);
	uint64_t f = e->ring_features | (1ull << VIRTIO_F_VERSION_1);

	e->tp = (struct tp){.t.ops = &tp_ops};
	e->nslots = 0;
	e->fds = count_fds();
	assert_int_equal(gpio_sim_create(&e->lines, NLINES, desc), 0);
	assert_int_equal(fake_gmem_init(&e->mem), 0);
	assert_int_equal(
		fake_gmem_add(&e->mem, RING, 0x100000, GMEM_READ | GMEM_WRITE),
		0);
	assert_int_equal(
		fake_gmem_add(&e->mem, DATA, 0x100000, GMEM_READ | GMEM_WRITE),
		0);
	assert_int_equal(ring_driver_init(&e->rq, &e->mem,
					  &(struct ring_driver_cfg){
						  .features = e->ring_features,
						  .num = QSIZE,
						  .ring = RING}),
			 0);
	assert_int_equal(ring_driver_init(&e->eq, &e->mem,
					  &(struct ring_driver_cfg){
						  .features = e->ring_features,
						  .num = QSIZE,
						  .ring = ERING}),
			 0);
	assert_int_equal(gpio_dev_create(&e->dev,
					 &(struct gpio_dev_params){
						 .name = "test/gpio0",
						 .lines = e->lines,
						 .names = names,
					 },
					 extra),
			 0);
	gpio_dev_virtio(e->dev)->kick_budget_ns = TEST_KICK_BUDGET_NS;
	assert_int_equal(loop_create(&e->loop), 0);
	vd(e)->loop = e->loop; /* what dev_thread_create does */
	virtio_dev_attach(vd(e), &e->tp.t, &e->mem.gmem);
	if (!e->no_irq)
		f |= 1ull << VIRTIO_GPIO_F_IRQ;
	assert_int_equal(virtio_dev_set_features(vd(e), f), 0);
	assert_int_equal(
		virtio_dev_queue_start(vd(e), 0, &e->rq.layout, e->rq.base), 0);
	assert_int_equal(
		virtio_dev_queue_start(vd(e), 1, &e->eq.layout, e->eq.base), 0);
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;
	uint32_t base;

	/* As a transport does before destroying a device. */
	for (unsigned q = 0; q < 2; q++)
		if (virtio_dev_queue_is_started(vd(e), q))
			assert_int_equal(virtio_dev_queue_stop(vd(e), q, &base),
					 0);
	gpio_dev_destroy(e->dev);
	loop_destroy(e->loop);
	ring_driver_destroy(&e->rq);
	ring_driver_destroy(&e->eq);
	assert_int_equal(fake_gmem_live(&e->mem), 0);
	fake_gmem_destroy(&e->mem);
	/* Every event fd and the loop's fds are gone. */
	assert_int_equal(count_fds(), e->fds);
	return 0;
}

static uint64_t req_at(unsigned slot)
{
	return DATA + slot * SLOT;
}
static uint64_t res_at(unsigned slot)
{
	return DATA + slot * SLOT + 0x40;
}

/* A request of rd_len bytes (8 is right) and a response of wr_len bytes;
 * the response area and what follows it are filled with FILL. */
static unsigned add_req_sized(struct env *e, uint16_t type, uint16_t gpio,
			      uint32_t value, uint32_t rd_len, uint32_t wr_len,
			      int *id)
{
	struct virtio_gpio_request r = {htole16(type), htole16(gpio),
					htole32(value)};
	uint8_t fill[0x80];
	unsigned slot = e->nslots++;
	struct ring_seg s[2] = {{req_at(slot), rd_len, false},
				{res_at(slot), wr_len, true}};

	memset(fill, FILL, sizeof(fill));
	assert_int_equal(fake_gmem_write(&e->mem, req_at(slot), &r, sizeof(r)),
			 0);
	assert_int_equal(fake_gmem_write(&e->mem, res_at(slot), fill, 0x80), 0);
	*id = ring_driver_add(&e->rq, wr_len ? s : s, wr_len ? 2 : 1, false);
	assert_true(*id >= 0);
	return slot;
}

static void expect_used(struct ring_driver *drv, int id, uint32_t len)
{
	uint16_t uid;
	uint32_t ulen;

	assert_int_equal(ring_driver_get_used(drv, &uid, &ulen), 1);
	assert_int_equal(uid, id);
	assert_int_equal(ulen, len);
}

static void expect_none_used(struct ring_driver *drv)
{
	uint16_t uid;
	uint32_t ulen;

	assert_int_equal(ring_driver_get_used(drv, &uid, &ulen), 0);
}

static uint8_t byte_at(struct env *e, uint64_t a)
{
	uint8_t b;

	assert_int_equal(fake_gmem_read(&e->mem, a, &b, 1), 0);
	return b;
}

/* Send one well-formed request; returns the response {status, value}. */
static uint16_t request(struct env *e, uint16_t type, uint16_t gpio,
			uint32_t value)
{
	int id;
	unsigned slot = add_req_sized(e, type, gpio, value, 8, 2, &id);

	ring_driver_publish(&e->rq);
	virtio_dev_kick(vd(e), 0);
	expect_used(&e->rq, id, 2);
	assert_int_equal(byte_at(e, res_at(slot) + 2), FILL);
	return (uint16_t)(byte_at(e, res_at(slot)) << 8 |
			  byte_at(e, res_at(slot) + 1));
}

#define RES(status, value) ((uint16_t)((status) << 8 | (value)))

/* Queue an eventq buffer for gpio; returns its slot and id. */
static unsigned add_irq_sized(struct env *e, uint16_t gpio, uint32_t rd_len,
			      uint32_t wr_len, int *id)
{
	uint16_t g = htole16(gpio);
	unsigned slot = e->nslots++;
	struct ring_seg s[2] = {{req_at(slot), rd_len, false},
				{res_at(slot), wr_len, true}};

	assert_int_equal(fake_gmem_write(&e->mem, req_at(slot), &g, 2), 0);
	assert_int_equal(fake_gmem_write(&e->mem, res_at(slot), "\x7f\x7f", 2),
			 0);
	*id = ring_driver_add(&e->eq, s, 2, false);
	assert_true(*id >= 0);
	ring_driver_publish(&e->eq);
	virtio_dev_kick(vd(e), 1);
	return slot;
}

static unsigned add_irq(struct env *e, uint16_t gpio, int *id)
{
	return add_irq_sized(e, gpio, 2, 1, id);
}

/* Run the loop until nothing is ready: edges reach the device. */
static void pump(struct env *e)
{
	while (loop_run_once(e->loop, 0) > 0)
		;
}

static void drive(struct env *e, unsigned line, int v)
{
	assert_int_equal(gpio_sim_drive(e->lines, line, v), 0);
	pump(e);
}

static void expect_irq(struct env *e, int id, unsigned slot, uint8_t status)
{
	expect_used(&e->eq, id, 1);
	assert_int_equal(byte_at(e, res_at(slot)), status);
	assert_int_equal(byte_at(e, res_at(slot) + 1), FILL);
}

static struct gpio_dev_stats stats(struct env *e)
{
	struct gpio_dev_stats s;

	gpio_dev_get_stats(e->dev, &s);
	return s;
}

/* ---- config and plain requests ---- */

static void test_ops_and_config(void **state)
{
	struct env *e = *state;
	struct virtio_gpio_config c;
	uint8_t b[8];

	assert_int_equal(gpio_dev_ops.device_id, VIRTIO_ID_GPIO);
	assert_int_equal(gpio_dev_ops.num_queues, 2);
	assert_int_equal(gpio_dev_ops.config_size, 8);
	assert_true(virtio_dev_features(vd(e)) & (1ull << VIRTIO_GPIO_F_IRQ));
	assert_int_equal(virtio_dev_config_read(vd(e), 0, &c, sizeof(c)), 0);
	assert_int_equal(le16toh(c.ngpio), NLINES);
	assert_int_equal(c.padding[0] | c.padding[1], 0);
	assert_int_equal(le32toh(c.gpio_names_size), NAMES_SIZE);
	/* Past the 8-byte config: refused, nothing read. */
	memset(b, FILL, sizeof(b));
	assert_int_equal(virtio_dev_config_read(vd(e), 8, b, 1), -EINVAL);
	assert_int_equal(virtio_dev_config_read(vd(e), 4, b, 8), -EINVAL);
	assert_int_equal(b[0], 0);
	assert_int_equal(virtio_dev_config_write(vd(e), 0, b, 2), -EPERM);
}

static void test_get_names(void **state)
{
	struct env *e = *state;
	uint8_t got[NAMES_SIZE + 1];
	int id;
	unsigned slot = add_req_sized(e, VIRTIO_GPIO_MSG_GET_NAMES, 0, 0, 8,
				      1 + NAMES_SIZE, &id);

	ring_driver_publish(&e->rq);
	virtio_dev_kick(vd(e), 0);
	expect_used(&e->rq, id, 1 + NAMES_SIZE);
	assert_int_equal(
		fake_gmem_read(&e->mem, res_at(slot), got, sizeof(got)), 0);
	assert_int_equal(got[0], OK);
	/* Line 3 repeated line 0's name: it is sent unnamed. */
	assert_memory_equal(got + 1, NAMES_BLOCK, NAMES_SIZE);
	assert_int_equal(byte_at(e, res_at(slot) + 1 + NAMES_SIZE), FILL);
	assert_int_equal(e->tp.notified[0], 1);
}

static void test_get_names_bad_sizes(void **state)
{
	struct env *e = *state;
	int tiny, big, zero;
	unsigned st =
		add_req_sized(e, VIRTIO_GPIO_MSG_GET_NAMES, 0, 0, 8, 1, &tiny);
	unsigned sb = add_req_sized(e, VIRTIO_GPIO_MSG_GET_NAMES, 0, 0, 8,
				    2 + NAMES_SIZE, &big);
	unsigned sz =
		add_req_sized(e, VIRTIO_GPIO_MSG_GET_NAMES, 0, 0, 8, 0, &zero);

	ring_driver_publish(&e->rq);
	virtio_dev_kick(vd(e), 0);
	expect_used(&e->rq, tiny, 1);
	assert_int_equal(byte_at(e, res_at(st)), ERR);
	assert_int_equal(byte_at(e, res_at(st) + 1), FILL);
	expect_used(&e->rq, big, 2);
	assert_int_equal(byte_at(e, res_at(sb)), ERR);
	assert_int_equal(byte_at(e, res_at(sb) + 1), 0);
	assert_int_equal(byte_at(e, res_at(sb) + 2), FILL);
	expect_used(&e->rq, zero, 0);
	assert_int_equal(byte_at(e, res_at(sz)), FILL);
	assert_int_equal(stats(e).malformed, 3);
	/* gpio and value must be 0. */
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_NAMES, 1, 0) >> 8, ERR);
}

static void test_directions(void **state)
{
	struct env *e = *state;
	enum gpio_line_dir dir;
	int level;

	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_DIRECTION, 0, 0),
			 RES(OK, VIRTIO_GPIO_DIRECTION_IN));
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_DIRECTION, 5, 0),
			 RES(OK, VIRTIO_GPIO_DIRECTION_OUT));
	/* Value first, then direction, as Linux does it. */
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_SET_VALUE, 0, 1),
			 RES(OK, 0));
	assert_int_equal(gpio_sim_peek(e->lines, 0, &dir, &level), 0);
	assert_int_equal(dir, GPIO_LINE_DIR_IN); /* stored, not driven yet */
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_SET_DIRECTION, 0,
				 VIRTIO_GPIO_DIRECTION_OUT),
			 RES(OK, 0));
	assert_int_equal(gpio_sim_peek(e->lines, 0, &dir, &level), 0);
	assert_int_equal(dir, GPIO_LINE_DIR_OUT);
	assert_int_equal(level, 1);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_DIRECTION, 0, 0),
			 RES(OK, VIRTIO_GPIO_DIRECTION_OUT));
	/* NONE forgets the line and leaves the pin an input. */
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_SET_DIRECTION, 0,
				 VIRTIO_GPIO_DIRECTION_NONE),
			 RES(OK, 0));
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_DIRECTION, 0, 0),
			 RES(OK, VIRTIO_GPIO_DIRECTION_NONE));
	assert_int_equal(gpio_sim_peek(e->lines, 0, &dir, &level), 0);
	assert_int_equal(dir, GPIO_LINE_DIR_IN);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_SET_DIRECTION, 0,
				 VIRTIO_GPIO_DIRECTION_OUT),
			 RES(OK, 0));
	assert_int_equal(gpio_sim_peek(e->lines, 0, &dir, &level), 0);
	assert_int_equal(level, 0); /* the stored value was forgotten */
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_SET_DIRECTION, 0,
				 VIRTIO_GPIO_DIRECTION_IN),
			 RES(OK, 0));
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_DIRECTION, 0, 0),
			 RES(OK, VIRTIO_GPIO_DIRECTION_IN));
}

static void test_values(void **state)
{
	struct env *e = *state;
	enum gpio_line_dir dir;
	int level;

	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_VALUE, 2, 0),
			 RES(OK, 0));
	assert_int_equal(gpio_sim_drive(e->lines, 2, 1), 0);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_VALUE, 2, 0),
			 RES(OK, 1));
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_VALUE, 5, 0),
			 RES(OK, 1));
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_SET_VALUE, 4, 1),
			 RES(OK, 0));
	assert_int_equal(gpio_sim_peek(e->lines, 4, &dir, &level), 0);
	assert_int_equal(level, 1);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_VALUE, 4, 0),
			 RES(OK, 1));
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_SET_VALUE, 4, 0),
			 RES(OK, 0));
	assert_int_equal(gpio_sim_peek(e->lines, 4, &dir, &level), 0);
	assert_int_equal(level, 0);
	/* Driving an output from outside changes nothing the guest sees. */
	assert_int_equal(gpio_sim_drive(e->lines, 4, 1), 0);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_VALUE, 4, 0),
			 RES(OK, 0));
	assert_int_equal(stats(e).requests, 7);
	assert_int_equal(stats(e).malformed, 0);
}

/* ---- bad requests ---- */

static void expect_err(struct env *e, uint16_t type, uint16_t gpio,
		       uint32_t value)
{
	assert_int_equal(request(e, type, gpio, value), RES(ERR, 0));
}

/*
 * Peer bug class: an out-of-range GPIO line (a back-end indexing its line
 * table with the request's gpio field unchecked). Guaranteed instead: a
 * line at or past ngpio (and every other bad field) gets
 * VIRTIO_GPIO_STATUS_ERR, is counted as malformed, and changes nothing.
 */
static void test_bad_fields(void **state)
{
	struct env *e = *state;
	uint64_t before;

	expect_err(e, 0, 0, 0);
	expect_err(e, 7, 0, 0);
	expect_err(e, 0xffff, 0, 0);
	expect_err(e, VIRTIO_GPIO_MSG_GET_VALUE, NLINES, 0);
	expect_err(e, VIRTIO_GPIO_MSG_SET_VALUE, 0xffff, 1);
	expect_err(e, VIRTIO_GPIO_MSG_GET_VALUE, 0, 1);
	expect_err(e, VIRTIO_GPIO_MSG_GET_DIRECTION, 0, 2);
	expect_err(e, VIRTIO_GPIO_MSG_SET_VALUE, 4, 2);
	expect_err(e, VIRTIO_GPIO_MSG_SET_VALUE, 4, 0x100);
	expect_err(e, VIRTIO_GPIO_MSG_SET_DIRECTION, 0, 3);
	for (uint32_t t = 5; t < 0x10; t++)
		if (t != VIRTIO_GPIO_IRQ_TYPE_LEVEL_LOW)
			expect_err(e, VIRTIO_GPIO_MSG_IRQ_TYPE, 0, t);
	expect_err(e, VIRTIO_GPIO_MSG_IRQ_TYPE, 0, 0x10);
	/* The driver must not ask for an interrupt on an output line. */
	expect_err(e, VIRTIO_GPIO_MSG_IRQ_TYPE, 4,
		   VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING);
	before = stats(e).malformed;
	assert_true(before >= 20);
	/* Nothing changed on the way. */
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_VALUE, 5, 0),
			 RES(OK, 1));
	assert_int_equal(stats(e).malformed, before);
}

/* A guest sending bad requests in a loop cannot flood the log. */
static void test_refusals_are_rate_limited(void **state)
{
	struct env *e = *state;

	log_lines = 0;
	log_set_hook(count_lines);
	for (int i = 0; i < 40; i++)
		expect_err(e, VIRTIO_GPIO_MSG_GET_VALUE, NLINES + 1, 0);
	log_set_hook(quiet);
	assert_true(log_lines >= 1);
	assert_true(log_lines <= LOG_RATELIMIT_BURST + 1);
	assert_int_equal(stats(e).malformed, 40);
}

static void test_bad_layouts(void **state)
{
	struct env *e = *state;
	int shrt, longr, res1, res3, nores;
	unsigned s1 =
		add_req_sized(e, VIRTIO_GPIO_MSG_GET_VALUE, 0, 0, 7, 2, &shrt);
	unsigned s2 =
		add_req_sized(e, VIRTIO_GPIO_MSG_GET_VALUE, 0, 0, 9, 2, &longr);
	unsigned s3 =
		add_req_sized(e, VIRTIO_GPIO_MSG_GET_VALUE, 0, 0, 8, 1, &res1);
	unsigned s4 =
		add_req_sized(e, VIRTIO_GPIO_MSG_GET_VALUE, 0, 0, 8, 3, &res3);
	unsigned s5 =
		add_req_sized(e, VIRTIO_GPIO_MSG_SET_VALUE, 4, 1, 8, 0, &nores);
	enum gpio_line_dir dir;
	int level;

	ring_driver_publish(&e->rq);
	virtio_dev_kick(vd(e), 0);
	expect_used(&e->rq, shrt, 2);
	assert_int_equal(byte_at(e, res_at(s1)), ERR);
	expect_used(&e->rq, longr, 2);
	assert_int_equal(byte_at(e, res_at(s2)), ERR);
	expect_used(&e->rq, res1, 1);
	assert_int_equal(byte_at(e, res_at(s3)), ERR);
	assert_int_equal(byte_at(e, res_at(s3) + 1), FILL);
	expect_used(&e->rq, res3, 2);
	assert_int_equal(byte_at(e, res_at(s4)), ERR);
	assert_int_equal(byte_at(e, res_at(s4) + 2), FILL);
	/* No room for a status: used length 0, and not carried out. */
	expect_used(&e->rq, nores, 0);
	assert_int_equal(byte_at(e, res_at(s5)), FILL);
	assert_int_equal(gpio_sim_peek(e->lines, 4, &dir, &level), 0);
	assert_int_equal(level, 0);
	expect_none_used(&e->rq);
	assert_int_equal(stats(e).malformed, 5);
	assert_int_equal(e->tp.errors, 0);
}

/* A request split over two readable descriptors is one request. */
static void test_split_request(void **state)
{
	struct env *e = *state;
	struct virtio_gpio_request r = {htole16(VIRTIO_GPIO_MSG_GET_VALUE),
					htole16(5), 0};
	struct ring_seg s[3] = {{req_at(0), 4, false},
				{req_at(0) + 0x20, 4, false},
				{res_at(0), 2, true}};
	int id;

	assert_int_equal(fake_gmem_write(&e->mem, req_at(0), &r, 4), 0);
	assert_int_equal(fake_gmem_write(&e->mem, req_at(0) + 0x20,
					 (uint8_t *)&r + 4, 4),
			 0);
	id = ring_driver_add(&e->rq, s, 3, false);
	ring_driver_publish(&e->rq);
	virtio_dev_kick(vd(e), 0);
	expect_used(&e->rq, id, 2);
	assert_int_equal(byte_at(e, res_at(0)), OK);
	assert_int_equal(byte_at(e, res_at(0) + 1), 1);
}

static void test_irq_type_needs_feature(void **state)
{
	struct env *e = *state;

	expect_err(e, VIRTIO_GPIO_MSG_IRQ_TYPE, 0,
		   VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_GET_VALUE, 5, 0),
			 RES(OK, 1));
}

/* ---- interrupts ---- */

static void set_type(struct env *e, unsigned line, uint8_t type)
{
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_IRQ_TYPE, line, type),
			 RES(OK, 0));
}

static void test_edge_rising(void **state)
{
	struct env *e = *state;
	int id;
	unsigned slot;

	set_type(e, 0, VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING);
	slot = add_irq(e, 0, &id);
	expect_none_used(&e->eq); /* held until the line fires */
	drive(e, 0, 1);
	expect_irq(e, id, slot, VALID);
	assert_true(e->tp.notified[1] >= 1);
	/* Masked now: a falling edge is not wanted, a rising one latches. */
	drive(e, 0, 0);
	slot = add_irq(e, 0, &id);
	expect_none_used(&e->eq);
	drive(e, 0, 1);
	expect_irq(e, id, slot, VALID);
	drive(e, 0, 0);
	drive(e, 0, 1); /* latched while masked */
	slot = add_irq(e, 0, &id);
	expect_irq(e, id, slot, VALID);
	assert_int_equal(stats(e).irqs, 3);
}

static void test_edge_falling_and_both(void **state)
{
	struct env *e = *state;
	int id;
	unsigned slot;

	set_type(e, 1, VIRTIO_GPIO_IRQ_TYPE_EDGE_FALLING);
	slot = add_irq(e, 1, &id);
	drive(e, 1, 1);
	expect_none_used(&e->eq);
	drive(e, 1, 0);
	expect_irq(e, id, slot, VALID);
	set_type(e, 2, VIRTIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	slot = add_irq(e, 2, &id);
	drive(e, 2, 1);
	expect_irq(e, id, slot, VALID);
	slot = add_irq(e, 2, &id);
	drive(e, 2, 0);
	expect_irq(e, id, slot, VALID);
	/* Enabled but masked: the edge waits for the buffer. */
	drive(e, 2, 1);
	expect_none_used(&e->eq);
	slot = add_irq(e, 2, &id);
	expect_irq(e, id, slot, VALID);
}

static void test_level_high_refires(void **state)
{
	struct env *e = *state;
	int id;
	unsigned slot;

	set_type(e, 3, VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH);
	slot = add_irq(e, 3, &id);
	expect_none_used(&e->eq);
	drive(e, 3, 1);
	expect_irq(e, id, slot, VALID);
	/* Still high: every re-queued buffer fires at once. */
	for (int i = 0; i < 3; i++) {
		slot = add_irq(e, 3, &id);
		expect_irq(e, id, slot, VALID);
	}
	drive(e, 3, 0);
	slot = add_irq(e, 3, &id);
	expect_none_used(&e->eq);
	drive(e, 3, 1);
	expect_irq(e, id, slot, VALID);
	/* A level is never latched: high and low again while masked. */
	drive(e, 3, 0);
	slot = add_irq(e, 3, &id);
	expect_none_used(&e->eq);
	assert_int_equal(stats(e).irqs, 5);
}

static void test_level_low(void **state)
{
	struct env *e = *state;
	int id;
	unsigned slot;

	drive(e, 6, 1);
	set_type(e, 6, VIRTIO_GPIO_IRQ_TYPE_LEVEL_LOW);
	slot = add_irq(e, 6, &id);
	expect_none_used(&e->eq);
	drive(e, 6, 0);
	expect_irq(e, id, slot, VALID);
	slot = add_irq(e, 6, &id);
	expect_irq(e, id, slot, VALID);
	drive(e, 6, 1);
	slot = add_irq(e, 6, &id);
	expect_none_used(&e->eq);
	drive(e, 6, 1);
	expect_none_used(&e->eq);
	/* Already low when enabled: fires as soon as the buffer comes. */
	drive(e, 7, 0);
	set_type(e, 7, VIRTIO_GPIO_IRQ_TYPE_LEVEL_LOW);
	slot = add_irq(e, 7, &id);
	expect_irq(e, id, slot, VALID);
}

static void test_disable_returns_invalid(void **state)
{
	struct env *e = *state;
	unsigned before;
	int id;
	unsigned slot;

	set_type(e, 0, VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING);
	slot = add_irq(e, 0, &id);
	expect_none_used(&e->eq);
	before = e->tp.notified[1];
	/* Returned within the request that disabled it, and notified. */
	set_type(e, 0, VIRTIO_GPIO_IRQ_TYPE_NONE);
	expect_irq(e, id, slot, INVAL);
	assert_int_equal(e->tp.notified[1], before + 1);
	/* Disabled: edges are neither delivered nor latched. */
	drive(e, 0, 1);
	drive(e, 0, 0);
	set_type(e, 0, VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING);
	slot = add_irq(e, 0, &id);
	expect_none_used(&e->eq);
	drive(e, 0, 1);
	expect_irq(e, id, slot, VALID);
	assert_int_equal(stats(e).invalid, 1);
}

static void test_type_change_returns_invalid(void **state)
{
	struct env *e = *state;
	int id;
	unsigned slot;

	set_type(e, 1, VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING);
	slot = add_irq(e, 1, &id);
	set_type(e, 1, VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH);
	expect_irq(e, id, slot, INVAL);
	slot = add_irq(e, 1, &id);
	drive(e, 1, 1);
	expect_irq(e, id, slot, VALID);
	/* Setting the same type again keeps the buffer. */
	drive(e, 1, 0);
	slot = add_irq(e, 1, &id);
	set_type(e, 1, VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH);
	expect_none_used(&e->eq);
	/* Turning the line into an output disables its interrupt. */
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_SET_DIRECTION, 1,
				 VIRTIO_GPIO_DIRECTION_OUT),
			 RES(OK, 0));
	expect_irq(e, id, slot, INVAL);
	expect_err(e, VIRTIO_GPIO_MSG_IRQ_TYPE, 1,
		   VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH);
}

static void test_bad_event_buffers(void **state)
{
	struct env *e = *state;
	int id, id2;
	unsigned slot, slot2;

	/* No IRQ type on the line: returned at once. */
	slot = add_irq(e, 2, &id);
	expect_irq(e, id, slot, INVAL);
	slot = add_irq(e, NLINES, &id);
	expect_irq(e, id, slot, INVAL);
	slot = add_irq(e, 0xffff, &id);
	expect_irq(e, id, slot, INVAL);
	slot = add_irq_sized(e, 0, 1, 1, &id);
	expect_irq(e, id, slot, INVAL);
	slot = add_irq_sized(e, 0, 3, 1, &id);
	expect_irq(e, id, slot, INVAL);
	slot = add_irq_sized(e, 0, 2, 2, &id);
	expect_used(&e->eq, id, 1);
	assert_int_equal(byte_at(e, res_at(slot)), INVAL);
	assert_int_equal(byte_at(e, res_at(slot) + 1), FILL);
	/* A second buffer for a line that holds one. */
	set_type(e, 0, VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING);
	slot = add_irq(e, 0, &id);
	slot2 = add_irq(e, 0, &id2);
	expect_irq(e, id2, slot2, INVAL);
	drive(e, 0, 1);
	expect_irq(e, id, slot, VALID);
	assert_int_equal(stats(e).invalid, 7);
}

static void test_event_buffer_without_status(void **state)
{
	struct env *e = *state;
	uint16_t g = htole16(0);
	struct ring_seg s = {req_at(0), 2, false};
	int id;

	assert_int_equal(fake_gmem_write(&e->mem, req_at(0), &g, 2), 0);
	id = ring_driver_add(&e->eq, &s, 1, false);
	ring_driver_publish(&e->eq);
	virtio_dev_kick(vd(e), 1);
	expect_used(&e->eq, id, 0);
}

static void test_stop_returns_held_buffers(void **state)
{
	struct env *e = *state;
	uint32_t base;
	int id;
	unsigned slot;

	set_type(e, 0, VIRTIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	slot = add_irq(e, 0, &id);
	assert_int_equal(virtio_dev_queue_stop(vd(e), 1, &base), 0);
	expect_irq(e, id, slot, INVAL);
	/* Edges after the stop reach no buffer, and nothing breaks. */
	drive(e, 0, 1);
	assert_int_equal(virtio_dev_queue_start(vd(e), 1, &e->eq.layout, base),
			 0);
	slot = add_irq(e, 0, &id);
	expect_irq(e, id, slot, VALID); /* the edge was latched */
}

static void test_reset(void **state)
{
	struct env *e = *state;
	enum gpio_line_dir dir;
	int id, level;

	set_type(e, 0, VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING);
	add_irq(e, 0, &id);
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_SET_VALUE, 4, 1),
			 RES(OK, 0));
	assert_int_equal(request(e, VIRTIO_GPIO_MSG_SET_DIRECTION, 5,
				 VIRTIO_GPIO_DIRECTION_IN),
			 RES(OK, 0));
	virtio_dev_reset(vd(e));
	/* Lines are back as they were created; no event fd is polled. */
	assert_int_equal(gpio_sim_peek(e->lines, 4, &dir, &level), 0);
	assert_int_equal(dir, GPIO_LINE_DIR_OUT);
	assert_int_equal(level, 0);
	assert_int_equal(gpio_sim_peek(e->lines, 5, &dir, &level), 0);
	assert_int_equal(dir, GPIO_LINE_DIR_OUT);
	assert_int_equal(level, 1);
	assert_int_equal(gpio_lines_event_fd(e->lines, 0), -1);
	assert_int_equal(gpio_sim_drive(e->lines, 0, 1), 0);
	assert_int_equal(loop_run_once(e->loop, 0), 0);
	assert_int_equal(fake_gmem_live(&e->mem), 0);
}

static int no_irq_setup(void **state)
{
	struct env *e = *state;

	e->no_irq = true;
	env_setup(state);
	e->no_irq = false;
	return 0;
}

/* ---- creation ---- */

static void test_create_errors(void **state)
{
	static const char *const long_name[1] = {
		"0123456789012345678901234567890123456789012345678901234567890"
		"123"};
	struct gpio_sim_line_desc desc[1] = {{GPIO_LINE_DIR_IN, 0}};
	struct gpio_lines *l;
	struct gpio_dev *d;

	(void)state;
	assert_int_equal(gpio_dev_create(&d, &(struct gpio_dev_params){0}, 0),
			 -EINVAL);
	assert_int_equal(gpio_sim_create(&l, 1, desc), 0);
	assert_int_equal(
		gpio_dev_create(&d,
				&(struct gpio_dev_params){.lines = l,
							  .names = long_name},
				0),
		-EINVAL);
	/* Without names the device offers none; without IRQ, no F_IRQ. */
	assert_int_equal(gpio_dev_create(&d,
					 &(struct gpio_dev_params){
						 .lines = l, .no_irq = true},
					 0),
			 0);
	assert_false(virtio_dev_features(gpio_dev_virtio(d)) &
		     (1ull << VIRTIO_GPIO_F_IRQ));
	{
		struct virtio_gpio_config c;

		assert_int_equal(virtio_dev_config_read(gpio_dev_virtio(d), 0,
							&c, sizeof(c)),
				 0);
		assert_int_equal(le32toh(c.gpio_names_size), 0);
		assert_int_equal(le16toh(c.ngpio), 1);
	}
	gpio_dev_destroy(d); /* and the lines with it */
}

#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
static const struct CMUnitTest tests[] = {
	T(test_ops_and_config),
	T(test_get_names),
	T(test_get_names_bad_sizes),
	T(test_directions),
	T(test_values),
	T(test_bad_fields),
	T(test_bad_layouts),
	T(test_refusals_are_rate_limited),
	T(test_split_request),
	cmocka_unit_test_setup_teardown(test_irq_type_needs_feature,
					no_irq_setup, env_teardown),
	T(test_edge_rising),
	T(test_edge_falling_and_both),
	T(test_level_high_refires),
	T(test_level_low),
	T(test_disable_returns_invalid),
	T(test_type_change_returns_invalid),
	T(test_bad_event_buffers),
	T(test_event_buffer_without_status),
	T(test_stop_returns_held_buffers),
	T(test_reset),
	cmocka_unit_test(test_create_errors),
};

static int group_split(void **state)
{
	static struct env e = {.ring_features = 1ull
						<< VIRTIO_RING_F_EVENT_IDX};

	log_set_hook(quiet);
	*state = &e;
	return 0;
}

static int group_packed(void **state)
{
	static struct env e = {.ring_features =
				       (1ull << VIRTIO_F_RING_PACKED) |
				       (1ull << VIRTIO_RING_F_EVENT_IDX)};

	log_set_hook(quiet);
	*state = &e;
	return 0;
}

int main(void)
{
	int fails = 0;

	fails += cmocka_run_group_tests_name("gpio split ring", tests,
					     group_split, NULL);
	fails += cmocka_run_group_tests_name("gpio packed ring", tests,
					     group_packed, NULL);
	return fails;
}
