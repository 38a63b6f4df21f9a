// SPDX-License-Identifier: MIT
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"

#define LOOP_BATCH 32

struct loop {
	int epfd;
	atomic_bool stop;
	int stop_signal;
	struct loop_source wake; /* eventfd: loop_stop from other threads */
	struct loop_source sig;	 /* signalfd, or fd -1 */

	/* The batch being dispatched; loop_remove scrubs it. */
	struct epoll_event evs[LOOP_BATCH];
	int nevs, cur;
};

static void wake_ready(struct loop_source *s, uint32_t events)
{
	uint64_t v;

	(void)events;
	if (read(s->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_err("loop: reading the wake-up eventfd: %s",
			strerror(errno));
}

static void sig_ready(struct loop_source *s, uint32_t events)
{
	struct loop *l = container_of(s, struct loop, sig);
	struct signalfd_siginfo si;

	(void)events;
	if (read(s->fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("signal %u received, stopping", si.ssi_signo);
	l->stop_signal = (int)si.ssi_signo;
	loop_stop(l);
}

int loop_create(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));
	int fd, ret;

	if (!l)
		return -ENOMEM;
	loop_source_init(&l->sig, -1, sig_ready);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		ret = -errno;
		goto err_free;
	}
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		goto err_close_epoll;
	}
	loop_source_init(&l->wake, fd, wake_ready);
	ret = loop_add(l, &l->wake, EPOLLIN);
	if (ret < 0)
		goto err_close_wake;
	*out = l;
	return 0;

err_close_wake:
	close(fd);
err_close_epoll:
	close(l->epfd);
err_free:
	free(l);
	return ret;
}

void loop_destroy(struct loop *l)
{
	if (!l)
		return;
	loop_remove(&l->wake);
	close(l->wake.fd);
	if (l->sig.fd >= 0) {
		loop_remove(&l->sig);
		close(l->sig.fd);
	}
	close(l->epfd);
	free(l);
}

int loop_add(struct loop *l, struct loop_source *s, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = s};

	if (s->loop)
		return -EEXIST;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		return -errno;
	s->loop = l;
	return 0;
}

int loop_modify(struct loop_source *s, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = s};

	if (!s->loop)
		return -ENOENT;
	if (epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		return -errno;
	return 0;
}

void loop_remove(struct loop_source *s)
{
	struct loop *l = s->loop;

	if (!l)
		return;
	/* Fails only if the owner closed the fd first; the kernel then
	 * already forgot it. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->loop = NULL;
	/* The owner may free s after this: forget its pending events. */
	for (int i = l->cur + 1; i < l->nevs; i++)
		if (l->evs[i].data.ptr == s)
			l->evs[i].data.ptr = NULL;
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	int n = epoll_wait(l->epfd, l->evs, LOOP_BATCH, timeout_ms);
	int ran = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	l->nevs = n;
	for (l->cur = 0; l->cur < l->nevs; l->cur++) {
		struct loop_source *s = l->evs[l->cur].data.ptr;

		if (!s)
			continue;
		s->fn(s, l->evs[l->cur].events);
		ran++;
	}
	l->nevs = 0;
	l->cur = 0;
	return ran;
}

int loop_run(struct loop *l)
{
	while (!atomic_exchange(&l->stop, false)) {
		int ret = loop_run_once(l, -1);

		if (ret < 0) {
			log_err("loop: epoll_wait: %s", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	uint64_t one = 1;

	/* seq_cst store before the eventfd write: the woken thread's
	 * atomic_exchange in loop_run then sees the request. */
	atomic_store(&l->stop, true);
	if (write(l->wake.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_err("loop: waking the loop: %s", strerror(errno));
}

int loop_signals_block(void)
{
	sigset_t set;
	int ret;

	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	ret = pthread_sigmask(SIG_BLOCK, &set, NULL);
	return -ret;
}

int loop_watch_signals(struct loop *l)
{
	sigset_t set;
	int fd, ret;

	if (l->sig.fd >= 0)
		return 0;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	loop_source_init(&l->sig, fd, sig_ready);
	ret = loop_add(l, &l->sig, EPOLLIN);
	if (ret < 0) {
		close(fd);
		loop_source_init(&l->sig, -1, sig_ready);
	}
	return ret;
}

int loop_stop_signal(const struct loop *l)
{
	return l->stop_signal;
}
