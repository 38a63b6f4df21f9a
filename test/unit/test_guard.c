// SPDX-License-Identifier: MIT
/*
 * Unit tests for core/guard.c: a SIGBUS from guest memory that shrank under
 * its mapping comes back to the guard, as often as it happens, innermost
 * guard first; outside every guard it still kills (our own bugs must not
 * be hidden). cmocka installs its own SIGBUS handler around each test:
 * every test calls guard_init() first, which puts ours back.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "guard.h"

struct shrunk {
	int fd;
	volatile uint8_t *p;
	size_t len;
};

/*
 * Two pages of an unsealable memfd, or of a tmpfs file when tmpfs is set
 * (the two kinds of guest memory file nobody can seal), mapped, then shrunk
 * to nothing.
 */
static void shrunk_map_of(struct shrunk *s, bool tmpfs)
{
	s->len = 2 * (size_t)sysconf(_SC_PAGESIZE);
	if (tmpfs) {
		char path[] = "/dev/shm/vbguard-XXXXXX";

		s->fd = mkstemp(path);
		assert_true(s->fd >= 0);
		unlink(path);
	} else {
		s->fd = memfd_create("guard-test", MFD_CLOEXEC);
	}
	assert_true(s->fd >= 0);
	assert_int_equal(ftruncate(s->fd, (off_t)s->len), 0);
	s->p = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	assert_true(s->p != MAP_FAILED);
	s->p[0] = 1; /* fine while the file is there */
	assert_int_equal(ftruncate(s->fd, 0), 0);
}

static void shrunk_map(struct shrunk *s)
{
	shrunk_map_of(s, false);
}

static void shrunk_unmap(struct shrunk *s)
{
	munmap((void *)s->p, s->len);
	close(s->fd);
}

static void test_fault_returns_to_the_guard(void **state)
{
	struct shrunk s;
	struct guard g;
	volatile int caught = 0;

	(void)state;
	assert_int_equal(guard_init(), 0);
	shrunk_map(&s);
	/* Twice: the handler (SA_NODEFER) leaves SIGBUS unblocked. */
	for (int i = 0; i < 2; i++) {
		guard_push(&g);
		if (sigsetjmp(g.jb, 0) == 0) {
			(void)s.p[i * 64];
			guard_pop(&g);
			fail_msg("reading shrunk memory did not fault");
		} else {
			caught++;
			assert_ptr_equal(g.addr, (void *)(s.p + i * 64));
		}
	}
	assert_int_equal(caught, 2);
	/* A write faults the same way. */
	guard_push(&g);
	if (sigsetjmp(g.jb, 0) == 0) {
		s.p[4096] = 7;
		guard_pop(&g);
		fail_msg("writing shrunk memory did not fault");
	}
	assert_ptr_equal(g.addr, (void *)(s.p + 4096));
	shrunk_unmap(&s);
}

static void test_tmpfs_file_fault_returns_to_the_guard(void **state)
{
	struct shrunk s;
	struct guard g;
	volatile int caught = 0;

	(void)state;
	assert_int_equal(guard_init(), 0);
	shrunk_map_of(&s, true);
	guard_push(&g);
	if (sigsetjmp(g.jb, 0) == 0) {
		(void)s.p[100];
		guard_pop(&g);
	} else {
		caught = 1;
	}
	assert_int_equal(caught, 1);
	assert_ptr_equal(g.addr, (void *)(s.p + 100));
	shrunk_unmap(&s);
}

static void test_innermost_guard_catches(void **state)
{
	struct shrunk s;
	struct guard outer, inner;
	volatile int where = 0;

	(void)state;
	assert_int_equal(guard_init(), 0);
	shrunk_map(&s);
	guard_push(&outer);
	if (sigsetjmp(outer.jb, 0) == 0) {
		guard_push(&inner);
		if (sigsetjmp(inner.jb, 0) == 0) {
			(void)s.p[8];
			guard_pop(&inner);
		} else {
			where = 1;
		}
		/* The inner guard is gone: the outer one catches the next. */
		(void)s.p[16];
		guard_pop(&outer);
	} else {
		assert_int_equal(where, 1);
		where = 2;
	}
	assert_int_equal(where, 2);
	assert_ptr_equal(outer.addr, (void *)(s.p + 16));
	shrunk_unmap(&s);
}

/* No guard, no rescue: the process dies of SIGBUS as before. */
static void test_unguarded_fault_still_kills(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shrunk s;

		guard_init();
		shrunk_map(&s);
		(void)s.p[0];
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_returns_to_the_guard),
		cmocka_unit_test(test_tmpfs_file_fault_returns_to_the_guard),
		cmocka_unit_test(test_innermost_guard_catches),
		cmocka_unit_test(test_unguarded_fault_still_kills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
