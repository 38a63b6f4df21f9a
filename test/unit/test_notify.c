// SPDX-License-Identifier: MIT
/*
 * Unit tests for board/notify.c: the sd_notify datagram reaches a real
 * AF_UNIX datagram socket, by path and by abstract name, intact and in one
 * datagram; no $NOTIFY_SOCKET means nothing to do; bad addresses fail.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "notify.h"

struct peer {
	char dir[64];
	char addr[108]; /* as $NOTIFY_SOCKET spells it */
	int fd;
};

/* A bound datagram socket, at a path or (abstract) at "@name". */
static void peer_open(struct peer *p, int abstract)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;

	p->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(p->fd >= 0);
	if (abstract) {
		snprintf(p->addr, sizeof(p->addr), "@vb-test-notify-%d",
			 (int)getpid());
		memcpy(sa.sun_path, p->addr, strlen(p->addr));
		sa.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				  strlen(p->addr));
		p->dir[0] = '\0';
	} else {
		snprintf(p->dir, sizeof(p->dir), "/tmp/vb-test-notify-XXXXXX");
		assert_non_null(mkdtemp(p->dir));
		snprintf(p->addr, sizeof(p->addr), "%s/notify", p->dir);
		strcpy(sa.sun_path, p->addr);
		len = sizeof(sa);
	}
	assert_int_equal(bind(p->fd, (struct sockaddr *)&sa, len), 0);
}

static void peer_close(struct peer *p)
{
	close(p->fd);
	if (p->dir[0]) {
		unlink(p->addr);
		rmdir(p->dir);
	}
}

/* The next datagram, NUL-terminated; fails the test if none is queued. */
static ssize_t peer_recv(struct peer *p, char *buf, size_t len)
{
	ssize_t n = recv(p->fd, buf, len - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	return n;
}

static void assert_nothing_queued(struct peer *p)
{
	char c;

	assert_int_equal(recv(p->fd, &c, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

static void test_path_socket(void **state)
{
	const char *msg = "READY=1\nSTATUS=serving 3 devices for 2 guests";
	struct peer p;
	char buf[256];

	(void)state;
	peer_open(&p, 0);
	assert_int_equal(notify_send_to(p.addr, msg), 1);
	assert_int_equal(peer_recv(&p, buf, sizeof(buf)), strlen(msg));
	assert_string_equal(buf, msg);
	/* Both assignments came in that one datagram. */
	assert_nothing_queued(&p);
	peer_close(&p);
}

static void test_abstract_socket(void **state)
{
	struct peer p;
	char buf[64];

	(void)state;
	peer_open(&p, 1);
	assert_int_equal(notify_send_to(p.addr, "STOPPING=1"), 1);
	peer_recv(&p, buf, sizeof(buf));
	assert_string_equal(buf, "STOPPING=1");
	peer_close(&p);
}

static void test_from_environment(void **state)
{
	struct peer p;
	char buf[64];

	(void)state;
	peer_open(&p, 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", p.addr, 1), 0);
	assert_int_equal(notify_send("READY=1"), 1);
	peer_recv(&p, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1");
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
	assert_int_equal(notify_send("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
	assert_nothing_queued(&p);
	peer_close(&p);
}

static void test_bad_addresses(void **state)
{
	char long_path[200];

	(void)state;
	assert_int_equal(notify_send_to("vsock:2:1234", "READY=1"),
			 -EAFNOSUPPORT);
	assert_int_equal(notify_send_to("relative/notify", "READY=1"),
			 -EAFNOSUPPORT);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(notify_send_to(long_path, "READY=1"), -ENAMETOOLONG);
	/* Nobody bound there: the manager is gone, sending fails cleanly. */
	assert_int_equal(notify_send_to("/nonexistent/vb-notify", "READY=1"),
			 -ENOENT);
	assert_int_equal(notify_send_to("@vb-test-notify-nobody", "READY=1"),
			 -ECONNREFUSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_from_environment),
		cmocka_unit_test(test_bad_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
