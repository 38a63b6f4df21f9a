// SPDX-License-Identifier: MIT
/*
 * Unit tests for xen/xs_client.c against a fake xenstored on a UNIX
 * socket ($XENSTORED_PATH): request encoding, replies, errors, and watch
 * events that arrive before a reply (what the static libxenstore gets
 * wrong) or on their own.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "xs_client.h"

/* One scripted exchange: the request expected, then what is sent back. */
struct step {
	uint32_t type;
	const char *payload; /* expected, NUL-separated like on the wire */
	unsigned payload_len;
	bool event_first; /* send a watch event before the reply */
	uint32_t reply_type;
	const char *reply;
	unsigned reply_len;
};

static char sock_path[64];
static int listen_fd;
static pthread_t server;
static const struct step *script;
static unsigned nsteps;
static volatile bool server_ok;

static bool recv_exact(int fd, void *buf, size_t len)
{
	return recv(fd, buf, len, MSG_WAITALL) == (ssize_t)len;
}

static void send_msg(int fd, uint32_t type, uint32_t req_id, const char *p,
		     unsigned len)
{
	struct xsd_sockmsg h = {.type = type, .req_id = req_id, .len = len};

	if (write(fd, &h, sizeof(h)) != sizeof(h) ||
	    (len && write(fd, p, len) != (ssize_t)len))
		server_ok = false;
}

static const char event[] = "/local/domain/0/backend/virtio\0vb-backend";

static void *serve(void *arg)
{
	int fd = accept(listen_fd, NULL, NULL);

	(void)arg;
	server_ok = fd >= 0;
	for (unsigned i = 0; server_ok && i < nsteps; i++) {
		const struct step *s = &script[i];
		struct xsd_sockmsg h;
		char body[512];

		if (!s->type) { /* an unsolicited event */
			send_msg(fd, XS_WATCH_EVENT, 0, event, sizeof(event));
			continue;
		}
		if (!recv_exact(fd, &h, sizeof(h)) || h.len > sizeof(body) ||
		    !recv_exact(fd, body, h.len) || h.type != s->type ||
		    h.len != s->payload_len ||
		    memcmp(body, s->payload, h.len)) {
			server_ok = false;
			break;
		}
		if (s->event_first)
			send_msg(fd, XS_WATCH_EVENT, 0, event, sizeof(event));
		send_msg(fd, s->reply_type, h.req_id, s->reply, s->reply_len);
	}
	if (fd >= 0) {
		char c;

		/* Wait for the client to hang up, then close. */
		while (read(fd, &c, 1) > 0)
			;
		close(fd);
	}
	return NULL;
}

static struct xs_client *start(const struct step *s, unsigned n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct xs_client *c = NULL;

	snprintf(sock_path, sizeof(sock_path), "/tmp/vb-xs-%d.sock",
		 (int)getpid());
	unlink(sock_path);
	strcpy(sa.sun_path, sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(listen_fd >= 0);
	assert_int_equal(bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	assert_int_equal(listen(listen_fd, 1), 0);
	script = s;
	nsteps = n;
	assert_int_equal(pthread_create(&server, NULL, serve, NULL), 0);
	setenv("XENSTORED_PATH", sock_path, 1);
	assert_int_equal(xs_client_open(&c), 0);
	return c;
}

static void finish(struct xs_client *c)
{
	xs_client_close(c);
	pthread_join(server, NULL);
	close(listen_fd);
	unlink(sock_path);
	assert_true(server_ok);
}

#define S(lit) lit, sizeof(lit) - 1 /* a literal with its inner NULs */

static void test_read_write_directory(void **state)
{
	static const struct step steps[] = {
		{XS_READ, S("domid\0"), false, XS_READ, S("0")},
		{XS_WRITE, S("/a/state\0002"), false, XS_WRITE, S("OK\0")},
		{XS_DIRECTORY, S("/b\0"), false, XS_DIRECTORY, S("0\0001\0")},
		{XS_DIRECTORY, S("/empty\0"), false, XS_DIRECTORY, S("")},
		{XS_IS_DOMAIN_INTRODUCED, S("5\0"), false,
		 XS_IS_DOMAIN_INTRODUCED, S("T\0")},
		{XS_IS_DOMAIN_INTRODUCED, S("6\0"), false,
		 XS_IS_DOMAIN_INTRODUCED, S("F\0")},
	};
	struct xs_client *c = start(steps, 6);
	char *val = NULL, **names = NULL;
	unsigned n = 9;

	(void)state;
	assert_int_equal(xs_client_read(c, "domid", &val), 0);
	assert_string_equal(val, "0");
	free(val);
	assert_int_equal(xs_client_write(c, "/a/state", "2"), 0);
	assert_int_equal(xs_client_directory(c, "/b", &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "0");
	assert_string_equal(names[1], "1");
	free(names);
	assert_int_equal(xs_client_directory(c, "/empty", &names, &n), 0);
	assert_int_equal(n, 0);
	free(names);
	assert_int_equal(xs_client_is_introduced(c, 5), 1);
	assert_int_equal(xs_client_is_introduced(c, 6), 0);
	assert_int_equal(xs_client_take_events(c), 0);
	finish(c);
}

static void test_errors(void **state)
{
	static const struct step steps[] = {
		{XS_READ, S("/nope\0"), false, XS_ERROR, S("ENOENT\0")},
		{XS_WRITE, S("/ro\0x"), false, XS_ERROR, S("EACCES\0")},
		{XS_READ, S("/odd\0"), false, XS_ERROR, S("EWHATEVER\0")},
	};
	struct xs_client *c = start(steps, 3);
	char *val = NULL;

	(void)state;
	assert_int_equal(xs_client_read(c, "/nope", &val), -ENOENT);
	assert_null(val);
	assert_int_equal(xs_client_write(c, "/ro", "x"), -EACCES);
	assert_int_equal(xs_client_read(c, "/odd", &val), -EIO);
	finish(c);
}

/* Two watches in a row: the first one's event comes before the second
 * one's reply. */
static void test_event_before_reply(void **state)
{
	static const struct step steps[] = {
		{XS_WATCH, S("/x\0t1\0"), false, XS_WATCH, S("OK\0")},
		{XS_WATCH, S("@releaseDomain\0t2\0"), true, XS_WATCH,
		 S("OK\0")},
		{XS_READ, S("/y\0"), true, XS_READ, S("v")},
	};
	struct xs_client *c = start(steps, 3);
	char *val = NULL;

	(void)state;
	assert_int_equal(xs_client_watch(c, "/x", "t1"), 0);
	assert_int_equal(xs_client_watch(c, "@releaseDomain", "t2"), 0);
	assert_int_equal(xs_client_read(c, "/y", &val), 0);
	assert_string_equal(val, "v");
	free(val);
	assert_int_equal(xs_client_take_events(c), 2);
	assert_int_equal(xs_client_take_events(c), 0);
	/* The loop may still report the fd readable for the events the
	 * read consumed: nothing is there, and nothing waits (a blocking
	 * read hung the control loop; SIGALRM ends the test if it does). */
	alarm(10);
	assert_int_equal(xs_client_events(c), 0);
	alarm(0);
	assert_int_equal(xs_client_take_events(c), 0);
	finish(c);
}

/* Wait until the client's fd is readable, as the control loop does. */
static void readable(struct xs_client *c)
{
	struct pollfd p = {.fd = xs_client_fd(c), .events = POLLIN};

	assert_int_equal(poll(&p, 1, 10000), 1);
}

static void test_unsolicited_event_and_hangup(void **state)
{
	static const struct step steps[] = {
		{XS_WATCH, S("/x\0t\0"), false, XS_WATCH, S("OK\0")},
		{0, NULL, 0, false, 0, NULL, 0},
	};
	struct xs_client *c = start(steps, 2);

	(void)state;
	assert_int_equal(xs_client_watch(c, "/x", "t"), 0);
	readable(c); /* as the control loop calls it */
	assert_int_equal(xs_client_events(c), 0);
	assert_int_equal(xs_client_take_events(c), 1);
	/* The server is done; closing our end lets it hang up. */
	shutdown(xs_client_fd(c), SHUT_WR);
	readable(c);
	assert_true(xs_client_events(c) < 0);
	finish(c);
}

/* What virtiobox xen-target asks xenstore. */
static void test_set_target_and_find_domain(void **state)
{
	static const struct step steps[] = {
		{XS_SET_TARGET, S("1\0002\0"), false, XS_SET_TARGET, S("OK\0")},
		{XS_SET_TARGET, S("1\0003\0"), false, XS_ERROR, S("EACCES\0")},
		{XS_DIRECTORY, S("/local/domain\0"), false, XS_DIRECTORY,
		 S("0\0001\0002\0junk\0")},
		{XS_READ, S("/local/domain/0/name\0"), false, XS_READ,
		 S("Domain-0")},
		{XS_READ, S("/local/domain/1/name\0"), false, XS_READ, S("dd")},
		{XS_READ, S("/local/domain/2/name\0"), false, XS_ERROR,
		 S("EACCES\0")},
		{XS_DIRECTORY, S("/local/domain\0"), false, XS_DIRECTORY,
		 S("0\0001\0")},
		{XS_READ, S("/local/domain/0/name\0"), false, XS_READ,
		 S("Domain-0")},
		{XS_READ, S("/local/domain/1/name\0"), false, XS_READ, S("dd")},
		{XS_DIRECTORY, S("/local/domain\0"), false, XS_DIRECTORY,
		 S("4\0005\0")},
		{XS_READ, S("/local/domain/4/name\0"), false, XS_READ, S("g")},
		{XS_READ, S("/local/domain/5/name\0"), false, XS_READ, S("g")},
	};
	struct xs_client *c = start(steps, 12);
	unsigned id = 99;

	(void)state;
	assert_int_equal(xs_client_set_target(c, 1, 2), 0);
	assert_int_equal(xs_client_set_target(c, 1, 3), -EACCES);
	assert_int_equal(xs_client_find_domain(c, "dd", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(xs_client_find_domain(c, "guest", &id), -ENOENT);
	assert_int_equal(xs_client_find_domain(c, "g", &id), -EEXIST);
	finish(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write_directory),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_event_before_reply),
		cmocka_unit_test(test_unsolicited_event_and_hangup),
		cmocka_unit_test(test_set_target_and_find_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
