// SPDX-License-Identifier: MIT
/*
 * Unit tests for board/sandbox.c. The filter is installed for real, in a
 * forked child (a filter cannot be removed): what the data and control
 * paths call keeps working, on threads started before and after the
 * filter; a forbidden call (execve, fork, an AF_INET socket, setuid) stops
 * the child with SANDBOX_EXIT_STATUS and one stderr line naming the call.
 * The change of user and group: names and ids resolved from /etc/passwd
 * and /etc/group, and a dropped child that cannot become root again.
 *
 * Under qemu-user (scons unit-aarch64) seccomp is refused by the emulator:
 * those tests skip there; the aarch64 allow-list is exercised by the Xen
 * system tests, whose static virtiobox runs filtered in dom0.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "sandbox.h"

#define UNSUPPORTED 77 /* the child could not install the filter */

struct outcome {
	int status; /* exit status, or -signal */
	char err[512];
};

static int go_fd[2] = {-1, -1}; /* releases early_thread */

/* Started before the filter; makes a forbidden call after it. */
static void *early_thread(void *arg)
{
	char c;
	char *const argv[] = {"true", NULL};

	(void)arg;
	if (read(go_fd[0], &c, 1) == 1)
		execv("/bin/true", argv);
	return NULL;
}

/* Run body in a child under the filter. early: a thread started first. */
static void run(void (*body)(void), bool early, struct outcome *o)
{
	int out[2], st;
	pthread_t t;
	ssize_t n, len = 0;
	pid_t pid;

	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ret;

		dup2(out[1], STDERR_FILENO);
		if (early && (pipe(go_fd) ||
			      pthread_create(&t, NULL, early_thread, NULL)))
			_exit(3);
		ret = sandbox_seccomp_install(false);
		if (ret == -EINVAL || ret == -ENOSYS || ret == -EOPNOTSUPP)
			_exit(UNSUPPORTED);
		if (ret)
			_exit(2);
		if (early) {
			/* The early thread's execve ends us before this. */
			if (write(go_fd[1], "g", 1) == 1)
				sleep(5);
			_exit(25);
		}
		body();
		_exit(0);
	}
	close(out[1]);
	while ((n = read(out[0], o->err + len, sizeof(o->err) - 1 - len)) > 0)
		len += n;
	o->err[len] = '\0';
	close(out[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
	if (o->status == UNSUPPORTED)
		skip();
}

static void assert_refused(const struct outcome *o, const char *call)
{
	char want[64];

	snprintf(want, sizeof(want), "(%s) is not allowed; stopping\n", call);
	assert_int_equal(o->status, SANDBOX_EXIT_STATUS);
	assert_non_null(strstr(o->err, "virtiobox: error: sandbox: "
				       "system call "));
	assert_non_null(strstr(o->err, want));
}

static void *thread_body(void *arg)
{
	return arg;
}

/* What a device thread and the control loop do, in brief. */
static void allowed_body(void)
{
	struct itimerspec its = {.it_value.tv_nsec = 1000};
	struct epoll_event ev = {.events = EPOLLIN};
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	int sv[2], fd;
	uint64_t one = 1;
	pthread_t t;
	void *res = NULL;
	char *big = malloc(1 << 20);
	void *map = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (ep < 0 || efd < 0 || tfd < 0 || !big || map == MAP_FAILED)
		_exit(10);
	ev.data.fd = efd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) ||
	    write(efd, &one, sizeof(one)) != sizeof(one) ||
	    epoll_wait(ep, &ev, 1, 1000) != 1 ||
	    timerfd_settime(tfd, 0, &its, NULL) ||
	    read(tfd, &one, sizeof(one)) != sizeof(one))
		_exit(11);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    send(sv[0], "x", 1, MSG_NOSIGNAL) != 1)
		_exit(12);
	/* pthread_create: clone3 is answered ENOSYS, clone takes over. */
	if (pthread_create(&t, NULL, thread_body, big) ||
	    pthread_join(t, &res) || res != big)
		_exit(13);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0 || write(fd, "x", 1) != 1)
		_exit(14);
	munmap(map, 65536);
	free(big);
	close(fd);
}

static void test_allowed_calls_work(void **state)
{
	struct outcome o;

	(void)state;
	run(allowed_body, false, &o);
	assert_string_equal(o.err, "");
	assert_int_equal(o.status, 0);
}

static void execve_body(void)
{
	char *const argv[] = {"true", NULL};

	execv("/bin/true", argv);
	_exit(20); /* execve failed without stopping us */
}

static void test_execve_refused(void **state)
{
	struct outcome o;

	(void)state;
	run(execve_body, false, &o);
	assert_refused(&o, "execve");
}

static void test_thread_started_before_is_filtered(void **state)
{
	struct outcome o;

	(void)state;
	run(NULL, true, &o);
	assert_refused(&o, "execve");
}

static void fork_body(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	_exit(21);
}

static void test_fork_refused(void **state)
{
	struct outcome o;

	(void)state;
	run(fork_body, false, &o);
	assert_refused(&o, "clone");
}

static void inet_body(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
	_exit(22);
}

static void test_inet_socket_refused(void **state)
{
	struct outcome o;

	(void)state;
	run(inet_body, false, &o);
	assert_refused(&o, "socket");
}

static void setuid_body(void)
{
	if (setuid(0) == 0)
		_exit(23);
	_exit(24);
}

static void test_setuid_refused(void **state)
{
	struct outcome o;

	(void)state;
	run(setuid_body, false, &o);
	assert_refused(&o, "setuid");
}

static void test_resolve_ids(void **state)
{
	struct sandbox_ids ids;
	char err[128];

	(void)state;
	assert_int_equal(sandbox_resolve_ids(NULL, NULL, &ids, err, 128), 0);
	assert_false(ids.change);
	assert_int_equal(sandbox_resolve_ids("root", NULL, &ids, err, 128), 0);
	assert_true(ids.change);
	assert_int_equal(ids.uid, 0);
	assert_int_equal(ids.gid, 0);
	/* A uid with a passwd entry takes its primary group. */
	assert_int_equal(sandbox_resolve_ids("0", NULL, &ids, err, 128), 0);
	assert_int_equal(ids.gid, 0);
	assert_int_equal(sandbox_resolve_ids("4242", "4343", &ids, err, 128),
			 0);
	assert_int_equal(ids.uid, 4242);
	assert_int_equal(ids.gid, 4343);
	assert_int_equal(sandbox_resolve_ids("root", "4343", &ids, err, 128),
			 0);
	assert_int_equal(ids.gid, 4343);
	/* A uid nobody has, without a group: which group is unknown. */
	assert_int_equal(sandbox_resolve_ids("4242", NULL, &ids, err, 128),
			 -EINVAL);
	assert_non_null(strstr(err, "give a group too"));
	assert_int_equal(
		sandbox_resolve_ids("no-such-user-x", NULL, &ids, err, 128),
		-EINVAL);
	assert_string_equal(err, "user \"no-such-user-x\": not in /etc/passwd");
	assert_int_equal(
		sandbox_resolve_ids(NULL, "no-such-group-x", &ids, err, 128),
		-EINVAL);
	assert_string_equal(err,
			    "group \"no-such-group-x\": not in /etc/group");
	assert_int_equal(sandbox_resolve_ids("12x", "1", &ids, err, 128),
			 -EINVAL);
}

static void test_drop(void **state)
{
	struct sandbox_ids ids = {.change = true, .uid = 4242, .gid = 4343};
	char err[128];
	int st;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gid_t groups[4];

		if (sandbox_drop(&ids, err, sizeof(err)))
			_exit(30);
		if (getuid() != 4242 || geteuid() != 4242 || getgid() != 4343 ||
		    getegid() != 4343)
			_exit(31);
		if (getgroups(4, groups) != 1 || groups[0] != 4343)
			_exit(32);
		if (setuid(0) == 0 || setgid(0) == 0)
			_exit(33);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_calls_work),
		cmocka_unit_test(test_execve_refused),
		cmocka_unit_test(test_thread_started_before_is_filtered),
		cmocka_unit_test(test_fork_refused),
		cmocka_unit_test(test_inet_socket_refused),
		cmocka_unit_test(test_setuid_refused),
		cmocka_unit_test(test_resolve_ids),
		cmocka_unit_test(test_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
