// SPDX-License-Identifier: MIT
/* Unit tests for devices/vsock_host.c: handshake lines and unix sockets. */
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
#include <unistd.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "vsock_host.h"

static void test_parse_connect(void **state)
{
	uint32_t port, fport;
	uint64_t cid;

	(void)state;
	assert_int_equal(
		vsock_host_parse_connect("CONNECT 1234", &port, &cid, &fport),
		0);
	assert_int_equal(port, 1234);
	assert_int_equal(cid, 0);
	assert_int_equal(vsock_host_parse_connect("CONNECT 80 FROM 7 4096",
						  &port, &cid, &fport),
			 0);
	assert_int_equal(port, 80);
	assert_int_equal(cid, 7);
	assert_int_equal(fport, 4096);
	assert_int_equal(vsock_host_parse_connect("CONNECT 4294967295", &port,
						  &cid, &fport),
			 0);
	assert_int_equal(port, 4294967295u);
	static const char *const bad[] = {
		"",
		"CONNECT",
		"CONNECT ",
		"CONNECT x",
		"CONNECT 12x",
		"CONNECT 4294967296",
		"CONNECT -1",
		"connect 5",
		"CONNECT 5 ",
		"CONNECT 5 FROM",
		"CONNECT 5 FROM 3",
		"CONNECT 5 FROM 0 1",
		"CONNECT 5 FROM 3 1 2",
		"CONNECT 5 TO 3 1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
			vsock_host_parse_connect(bad[i], &port, &cid, &fport),
			-EINVAL);
}

static void test_line_len(void **state)
{
	char big[VSOCK_HOST_LINE_MAX];

	(void)state;
	assert_int_equal(vsock_host_line_len("CONNECT 5\nxyz", 13), 10);
	assert_int_equal(vsock_host_line_len("CONNECT 5", 9), 0);
	memset(big, 'a', sizeof(big));
	assert_int_equal(vsock_host_line_len(big, sizeof(big)), -EINVAL);
}

static void test_sockets(void **state)
{
	char dir[] = "/tmp/vb-vsock-host-XXXXXX", path[128];
	int l, c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/l", dir);
	/* Nobody listens yet. */
	assert_int_equal(vsock_host_connect(path, SOCK_STREAM), -ENOENT);
	l = vsock_host_listen(path, SOCK_STREAM);
	assert_true(l >= 0);
	c = vsock_host_connect(path, SOCK_STREAM);
	assert_true(c >= 0);
	assert_true(vsock_host_peer_is_self(c));
	close(c);
	close(l);
	/* A stale socket file is replaced. */
	l = vsock_host_listen(path, SOCK_STREAM);
	assert_true(l >= 0);
	close(l);
	/* Anything else is left alone. */
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(vsock_host_listen(path, SOCK_STREAM), -EEXIST);
	rmdir(path);
	/* A listener of the other type: the kernel says EPROTOTYPE. */
	l = vsock_host_listen(path, SOCK_STREAM);
	assert_int_equal(vsock_host_connect(path, SOCK_SEQPACKET), -EPROTOTYPE);
	close(l);
	unlink(path);
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(vsock_host_listen(path, SOCK_STREAM), -ENAMETOOLONG);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_connect),
		cmocka_unit_test(test_line_len),
		cmocka_unit_test(test_sockets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
