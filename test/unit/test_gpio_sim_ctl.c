// SPDX-License-Identifier: MIT
/* Unit tests for devices/gpio_sim_ctl.c: the simulated lines' socket. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "gpio_lines.h"
#include "gpio_sim_ctl.h"
#include "loop.h"

struct env {
	char dir[64], path[96];
	struct loop *loop;
	struct gpio_lines *lines;
	struct gpio_sim_ctl *ctl;
};

static int setup(void **state)
{
	static struct env e;
	struct gpio_sim_line_desc d[4] = {[3] = {GPIO_LINE_DIR_OUT, 1}};

	snprintf(e.dir, sizeof(e.dir), "/tmp/vb-simctl-XXXXXX");
	assert_non_null(mkdtemp(e.dir));
	snprintf(e.path, sizeof(e.path), "%s/ctl.sock", e.dir);
	assert_int_equal(loop_create(&e.loop), 0);
	assert_int_equal(gpio_sim_create(&e.lines, 4, d), 0);
	assert_int_equal(gpio_sim_ctl_create(&e.ctl, e.loop, e.path, e.lines),
			 0);
	*state = &e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	struct stat st;

	gpio_sim_ctl_destroy(e->ctl);
	assert_int_equal(stat(e->path, &st), -1); /* socket file removed */
	gpio_lines_destroy(e->lines);
	loop_destroy(e->loop);
	rmdir(e->dir);
	return 0;
}

static int connect_to(struct env *e)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", e->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	while (loop_run_once(e->loop, 0) > 0) /* accept */
		;
	return fd;
}

/* Send text, serve it, return the answer (NUL-terminated, static). */
static const char *ask(struct env *e, int fd, const char *text)
{
	static char buf[256];
	ssize_t n;

	assert_int_equal(send(fd, text, strlen(text), 0),
			 (ssize_t)strlen(text));
	while (loop_run_once(e->loop, 0) > 0)
		;
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_set_and_get(void **state)
{
	struct env *e = *state;
	int fd = connect_to(e);

	assert_string_equal(ask(e, fd, "get 0\n"), "in 0\n");
	assert_string_equal(ask(e, fd, "set 0 1\n"), "ok\n");
	assert_int_equal(gpio_lines_get_value(e->lines, 0), 1);
	assert_string_equal(ask(e, fd, "get 0\n"), "in 1\n");
	assert_string_equal(ask(e, fd, "get 3\n"), "out 1\n");
	/* Two commands in one write, and a CRLF line. */
	assert_string_equal(ask(e, fd, "set 1 1\nget 1\r\n"), "ok\nin 1\n");
	close(fd);
}

static void test_bad_commands(void **state)
{
	struct env *e = *state;
	int fd = connect_to(e);
	char longline[100];

	assert_string_equal(ask(e, fd, "get 4\n"), "error: no line 4 (0..3)\n");
	assert_string_equal(
		ask(e, fd, "set 0 2\n"),
		"error: expected \"set LINE 0|1\" or \"get LINE\"\n");
	assert_string_equal(
		ask(e, fd, "get 0 1\n"),
		"error: expected \"set LINE 0|1\" or \"get LINE\"\n");
	assert_string_equal(
		ask(e, fd, "blink\n"),
		"error: expected \"set LINE 0|1\" or \"get LINE\"\n");
	assert_string_equal(ask(e, fd, "set -1 1\n"),
			    "error: no line 4294967295 (0..3)\n");
	assert_int_equal(gpio_lines_get_value(e->lines, 0), 0);
	/* A line longer than the buffer ends the connection. */
	memset(longline, 'x', sizeof(longline));
	longline[sizeof(longline) - 1] = '\0';
	assert_string_equal(ask(e, fd, longline), "error: line too long\n");
	assert_true(recv(fd, longline, 1, 0) <= 0); /* closed (or reset) */
	close(fd);
	/* The socket still serves others. */
	fd = connect_to(e);
	assert_string_equal(ask(e, fd, "get 3\n"), "out 1\n");
	close(fd);
}

static void test_too_many_clients(void **state)
{
	struct env *e = *state;
	int fds[GPIO_SIM_CTL_CLIENTS + 1];
	char c;

	for (unsigned i = 0; i <= GPIO_SIM_CTL_CLIENTS; i++)
		fds[i] = connect_to(e);
	assert_int_equal(recv(fds[GPIO_SIM_CTL_CLIENTS], &c, 1, 0), 0);
	assert_string_equal(ask(e, fds[0], "get 0\n"), "in 0\n");
	for (unsigned i = 0; i <= GPIO_SIM_CTL_CLIENTS; i++)
		close(fds[i]);
	while (loop_run_once(e->loop, 0) > 0)
		;
	fds[0] = connect_to(e);
	assert_string_equal(ask(e, fds[0], "get 0\n"), "in 0\n");
	close(fds[0]);
}

static void test_path_errors(void **state)
{
	struct env *e = *state;
	struct gpio_sim_ctl *c;
	char p[200];

	memset(p, 'a', sizeof(p));
	p[0] = '/';
	p[sizeof(p) - 1] = '\0';
	assert_int_equal(gpio_sim_ctl_create(&c, e->loop, p, e->lines),
			 -ENAMETOOLONG);
	/* A regular file in the way is left alone. */
	snprintf(p, sizeof(p), "%s/file", e->dir);
	fclose(fopen(p, "w"));
	assert_int_equal(gpio_sim_ctl_create(&c, e->loop, p, e->lines),
			 -EEXIST);
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_and_get, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_commands, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_many_clients, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_path_errors, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
