// SPDX-License-Identifier: MIT
/*
 * Event loop (core/loop.c): dispatch through embedded sources, removal of
 * pending sources inside a callback, stop from another thread, signals.
 */

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loop.h"

struct counter {
	struct loop_source src;
	int calls;
	uint32_t events;
	struct counter *victim; /* removed by this one's callback */
};

static void counter_ready(struct loop_source *s, uint32_t events)
{
	struct counter *c = container_of(s, struct counter, src);
	uint64_t v;

	c->calls++;
	c->events = events;
	assert_int_equal(read(s->fd, &v, sizeof(v)), sizeof(v));
	if (c->victim)
		loop_remove(&c->victim->src);
}

static void counter_open(struct counter *c)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(fd >= 0);
	*c = (struct counter){0};
	loop_source_init(&c->src, fd, counter_ready);
}

static void kick(struct counter *c)
{
	uint64_t one = 1;

	assert_int_equal(write(c->src.fd, &one, sizeof(one)), sizeof(one));
}

static void test_dispatch(void **state)
{
	struct loop *l;
	struct counter c;

	(void)state;
	assert_int_equal(loop_create(&l), 0);
	counter_open(&c);
	assert_false(loop_source_is_added(&c.src));
	assert_int_equal(loop_add(l, &c.src, EPOLLIN), 0);
	assert_true(loop_source_is_added(&c.src));
	assert_int_equal(loop_run_once(l, 0), 0);
	kick(&c);
	assert_int_equal(loop_run_once(l, 1000), 1);
	assert_int_equal(c.calls, 1);
	assert_true(c.events & EPOLLIN);
	loop_remove(&c.src);
	loop_remove(&c.src); /* no-op */
	kick(&c);
	assert_int_equal(loop_run_once(l, 0), 0);
	close(c.src.fd);
	loop_destroy(l);
}

static void test_add_errors(void **state)
{
	struct loop *l;
	struct counter c;
	struct loop_source bad, file;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(loop_create(&l), 0);
	counter_open(&c);
	assert_int_equal(loop_modify(&c.src, EPOLLIN), -ENOENT);
	assert_int_equal(loop_add(l, &c.src, EPOLLIN), 0);
	assert_int_equal(loop_add(l, &c.src, EPOLLIN), -EEXIST);
	assert_int_equal(loop_modify(&c.src, EPOLLIN | EPOLLOUT), 0);
	loop_source_init(&bad, 1000, counter_ready);
	assert_int_equal(loop_add(l, &bad, EPOLLIN), -EBADF);
	assert_false(loop_source_is_added(&bad));
	loop_source_init(&file, fd, counter_ready);
	assert_int_equal(loop_add(l, &file, EPOLLIN), -EPERM);
	loop_remove(&c.src);
	close(c.src.fd);
	close(fd);
	loop_destroy(l);
}

/* A callback removes a source whose event is already in the same batch. */
static void test_remove_pending(void **state)
{
	struct loop *l;
	struct counter a, b;

	(void)state;
	assert_int_equal(loop_create(&l), 0);
	counter_open(&a);
	counter_open(&b);
	a.victim = &b;
	b.victim = &a;
	assert_int_equal(loop_add(l, &a.src, EPOLLIN), 0);
	assert_int_equal(loop_add(l, &b.src, EPOLLIN), 0);
	kick(&a);
	kick(&b);
	/* Whichever runs first removes the other: exactly one call. */
	assert_int_equal(loop_run_once(l, 1000), 1);
	assert_int_equal(a.calls + b.calls, 1);
	loop_remove(&a.src);
	loop_remove(&b.src);
	close(a.src.fd);
	close(b.src.fd);
	loop_destroy(l);
}

static void *stopper(void *arg)
{
	usleep(20000);
	loop_stop(arg);
	return NULL;
}

static void test_stop_from_thread(void **state)
{
	struct loop *l;
	pthread_t t;

	(void)state;
	assert_int_equal(loop_create(&l), 0);
	assert_int_equal(pthread_create(&t, NULL, stopper, l), 0);
	assert_int_equal(loop_run(l), 0);
	pthread_join(t, NULL);
	/* A stop before run returns at once, and is consumed. */
	loop_stop(l);
	assert_int_equal(loop_run(l), 0);
	/* The wake-up it left behind is drained by the next dispatch. */
	assert_true(loop_run_once(l, 0) >= 0);
	assert_int_equal(loop_run_once(l, 0), 0);
	loop_destroy(l);
}

static void test_signals(void **state)
{
	struct loop *l;

	(void)state;
	assert_int_equal(loop_signals_block(), 0);
	assert_int_equal(loop_create(&l), 0);
	assert_int_equal(loop_watch_signals(l), 0);
	assert_int_equal(loop_watch_signals(l), 0); /* idempotent */
	assert_int_equal(loop_stop_signal(l), 0);
	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(loop_stop_signal(l), SIGTERM);
	loop_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_remove_pending),
		cmocka_unit_test(test_stop_from_thread),
		cmocka_unit_test(test_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
