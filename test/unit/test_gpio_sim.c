// SPDX-License-Identifier: MIT
/* Unit tests for devices/gpio_sim.c: simulated lines behind gpio_lines.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "gpio_lines.h"

static int setup(void **state)
{
	struct gpio_sim_line_desc d[3] = {{GPIO_LINE_DIR_IN, 1},
					  {GPIO_LINE_DIR_OUT, 1},
					  {GPIO_LINE_DIR_IN, 0}};
	struct gpio_lines *l;

	assert_int_equal(gpio_sim_create(&l, 3, d), 0);
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	gpio_lines_destroy(*state);
	return 0;
}

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

static void test_create_errors(void **state)
{
	struct gpio_sim_line_desc bad_dir[1] = {{(enum gpio_line_dir)7, 0}};
	struct gpio_sim_line_desc bad_val[1] = {{GPIO_LINE_DIR_IN, 2}};
	struct gpio_sim_line_desc many[GPIO_LINES_MAX + 1] = {0};
	struct gpio_lines *l;

	(void)state;
	assert_int_equal(gpio_sim_create(&l, 0, many), -EINVAL);
	assert_int_equal(gpio_sim_create(&l, GPIO_LINES_MAX + 1, many),
			 -EINVAL);
	assert_int_equal(gpio_sim_create(&l, 1, bad_dir), -EINVAL);
	assert_int_equal(gpio_sim_create(&l, 1, bad_val), -EINVAL);
	assert_int_equal(gpio_sim_create(&l, GPIO_LINES_MAX, many), 0);
	assert_int_equal(l->n, GPIO_LINES_MAX);
	gpio_lines_destroy(l);
	gpio_lines_destroy(NULL);
}

static void test_initial_state(void **state)
{
	struct gpio_lines *l = *state;

	assert_string_equal(l->ops->kind, "sim");
	assert_int_equal(l->n, 3);
	assert_string_equal(gpio_lines_name(l, 0), "");
	assert_int_equal(gpio_lines_get_direction(l, 0), GPIO_LINE_DIR_IN);
	assert_int_equal(gpio_lines_get_direction(l, 1), GPIO_LINE_DIR_OUT);
	assert_int_equal(gpio_lines_get_value(l, 0), 1);
	assert_int_equal(gpio_lines_get_value(l, 1), 1);
	assert_int_equal(gpio_lines_get_value(l, 2), 0);
	assert_int_equal(gpio_lines_event_fd(l, 0), -1);
}

static void test_values_and_directions(void **state)
{
	struct gpio_lines *l = *state;
	enum gpio_line_dir dir;
	int level;

	assert_int_equal(gpio_lines_set_value(l, 0, 1), -EPERM);
	assert_int_equal(gpio_lines_set_value(l, 1, 0), 0);
	assert_int_equal(gpio_sim_peek(l, 1, &dir, &level), 0);
	assert_int_equal(dir, GPIO_LINE_DIR_OUT);
	assert_int_equal(level, 0);
	/* The outside level of an output shows once it is an input. */
	assert_int_equal(gpio_sim_drive(l, 1, 1), 0);
	assert_int_equal(gpio_lines_get_value(l, 1), 0);
	assert_int_equal(gpio_lines_set_direction(l, 1, GPIO_LINE_DIR_IN, 0),
			 0);
	assert_int_equal(gpio_lines_get_value(l, 1), 1);
	assert_int_equal(gpio_lines_set_direction(l, 2, GPIO_LINE_DIR_OUT, 1),
			 0);
	assert_int_equal(gpio_sim_peek(l, 2, &dir, &level), 0);
	assert_int_equal(dir, GPIO_LINE_DIR_OUT);
	assert_int_equal(level, 1);
	assert_int_equal(gpio_sim_drive(l, 3, 1), -EINVAL);
	assert_int_equal(gpio_sim_drive(l, 0, 2), -EINVAL);
	assert_int_equal(gpio_sim_peek(l, 3, &dir, &level), -EINVAL);
}

static void test_edges(void **state)
{
	struct gpio_lines *l = *state;
	unsigned edge;
	int fd;

	assert_int_equal(gpio_lines_set_events(l, 1, GPIO_LINE_EDGE_BOTH),
			 -EPERM);
	assert_int_equal(gpio_lines_set_events(l, 2, GPIO_LINE_EDGE_RISING), 0);
	fd = gpio_lines_event_fd(l, 2);
	assert_true(fd >= 0);
	assert_false(readable(fd));
	assert_int_equal(gpio_lines_read_event(l, 2, &edge), 0);
	assert_int_equal(gpio_sim_drive(l, 2, 1), 0);
	assert_true(readable(fd));
	assert_int_equal(gpio_sim_drive(l, 2, 1), 0); /* no change, no edge */
	assert_int_equal(gpio_sim_drive(l, 2, 0), 0); /* not wanted */
	assert_int_equal(gpio_sim_drive(l, 2, 1), 0);
	assert_int_equal(gpio_lines_read_event(l, 2, &edge), 1);
	assert_int_equal(edge, GPIO_LINE_EDGE_RISING);
	assert_true(readable(fd));
	assert_int_equal(gpio_lines_read_event(l, 2, &edge), 1);
	assert_false(readable(fd));
	assert_int_equal(gpio_lines_read_event(l, 2, &edge), 0);
	/* Events off: edges are dropped, the fd goes away. */
	assert_int_equal(gpio_sim_drive(l, 2, 0), 0);
	assert_int_equal(gpio_lines_set_events(l, 2, GPIO_LINE_EDGE_BOTH), 0);
	assert_int_equal(gpio_sim_drive(l, 2, 1), 0);
	assert_int_equal(gpio_sim_drive(l, 2, 0), 0);
	assert_int_equal(gpio_lines_read_event(l, 2, &edge), 1);
	assert_int_equal(edge, GPIO_LINE_EDGE_RISING);
	assert_int_equal(gpio_lines_read_event(l, 2, &edge), 1);
	assert_int_equal(edge, GPIO_LINE_EDGE_FALLING);
	assert_int_equal(gpio_lines_set_events(l, 2, 0), 0);
	assert_int_equal(gpio_lines_event_fd(l, 2), -1);
	assert_int_equal(gpio_sim_drive(l, 2, 1), 0);
	assert_int_equal(gpio_lines_read_event(l, 2, &edge), 0);
}

static void test_edge_queue_overflow_keeps_newest(void **state)
{
	struct gpio_lines *l = *state;
	unsigned edge, n = 0, last = 0;

	assert_int_equal(gpio_lines_set_events(l, 0, GPIO_LINE_EDGE_BOTH), 0);
	for (int i = 0; i < 102; i++)
		assert_int_equal(gpio_sim_drive(l, 0, i & 1), 0);
	while (gpio_lines_read_event(l, 0, &edge) == 1) {
		n++;
		last = edge;
	}
	assert_int_equal(n, 16);
	assert_int_equal(last, GPIO_LINE_EDGE_RISING); /* the final 0 -> 1 */
	assert_false(readable(gpio_lines_event_fd(l, 0)));
}

static void *driver_thread(void *arg)
{
	for (int i = 0; i < 2000; i++)
		gpio_sim_drive(arg, 0, i & 1);
	return NULL;
}

/* gpio_sim_drive from another thread while the lines are used (TSan/ASan
 * find misuse; the count checks nothing is torn). */
static void test_drive_from_another_thread(void **state)
{
	struct gpio_lines *l = *state;
	pthread_t t;
	unsigned edge, n = 0;

	assert_int_equal(gpio_lines_set_events(l, 0, GPIO_LINE_EDGE_BOTH), 0);
	assert_int_equal(pthread_create(&t, NULL, driver_thread, l), 0);
	for (int i = 0; i < 2000; i++) {
		int r = gpio_lines_read_event(l, 0, &edge);

		assert_true(r == 0 || r == 1);
		n += (unsigned)r;
		assert_true(gpio_lines_get_value(l, 0) >= 0);
	}
	pthread_join(t, NULL);
	while (gpio_lines_read_event(l, 0, &edge) == 1)
		n++;
	assert_true(n > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test_setup_teardown(test_initial_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_values_and_directions,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_edge_queue_overflow_keeps_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drive_from_another_thread,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
