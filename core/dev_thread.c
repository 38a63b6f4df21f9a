// SPDX-License-Identifier: MIT
#include "dev_thread.h"
#include "guard.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

/* Control → data thread requests; the data thread answers PAUSE with ACK. */
enum { REQ_PAUSE = 'P', REQ_RESUME = 'R', REQ_QUIT = 'Q', REQ_ACK = 'A' };

struct dt_kick {
	struct loop_source src;
	struct dev_thread *t;
	unsigned q;
};

struct dt_model_fd {
	struct loop_source src;
	struct dev_thread *t;
};

struct dev_thread {
	struct virtio_dev *dev;
	char name[64];
	struct loop *loop;
	pthread_t thread;
	unsigned pause_depth; /* nested pauses held by the control thread */
	bool pause_asked;     /* REQ_PAUSE sent, its ACK not read yet */

	int ctl_fd;		  /* control end of the socketpair, blocking */
	struct loop_source req;	  /* data end */
	struct loop_source timer; /* timerfd for polled queues */
	struct loop_source again; /* eventfd: queues to serve again */
	uint64_t polled;	  /* bit q: queue q is polled */
	uint64_t kick_soon;	  /* bit q: serve q after resume */
	uint64_t again_q;	  /* bit q: serve q again (round limit) */
	struct dt_kick kick[VIRTIO_DEV_QUEUES_MAX];
	struct dt_model_fd model[DEV_THREAD_MODEL_FDS_MAX];
	unsigned nmodel;
};

/*
 * One byte over the pause channel. Retried on EINTR: a signal (libFuzzer's
 * timers, a profiler) must not make a pause look answered.
 */
static bool send_byte(int fd, char c)
{
	ssize_t n;

	do
		n = send(fd, &c, 1, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

static bool recv_byte(int fd, char *c)
{
	ssize_t n;

	do
		n = recv(fd, c, 1, 0);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

/*
 * Serve q. When virtio_dev_kick stops at its round limit with buffers
 * still waiting (no kick will come for them), q is served again from the
 * "again" eventfd: after the events already pending, so a queue the
 * driver keeps full cannot starve the other queues and fds.
 */
static void serve(struct dev_thread *t, unsigned q)
{
	uint64_t one = 1;
	struct guard g;
	int again;

	guard_push(&g);
	if (sigsetjmp(g.jb, 0) == 0) {
		again = virtio_dev_kick(t->dev, q);
		guard_pop(&g);
	} else {
		virtio_dev_mem_fault(t->dev, g.addr);
		return;
	}
	if (again <= 0)
		return;
	if (!t->again_q && write(t->again.fd, &one, sizeof(one)) < 0)
		log_msg_ratelimited(&t->dev->log_rl, LOG_LEVEL_WARN,
				    "%s: queue %u: again fd: %s", t->name, q,
				    strerror(errno));
	t->again_q |= 1ULL << q;
}

/* Serve every queue of a bit mask, once. */
static void serve_mask(struct dev_thread *t, uint64_t pending)
{
	for (unsigned q = 0; pending; q++, pending >>= 1)
		if (pending & 1)
			serve(t, q);
}

static void serve_kick_soon(struct dev_thread *t)
{
	uint64_t pending = t->kick_soon;

	t->kick_soon = 0;
	serve_mask(t, pending);
}

static void again_ready(struct loop_source *s, uint32_t events)
{
	struct dev_thread *t = container_of(s, struct dev_thread, again);
	uint64_t v, pending = t->again_q;

	(void)events;
	/* Cleared before serving: a queue deferred again re-arms it. */
	if (read(s->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_msg_ratelimited(&t->dev->log_rl, LOG_LEVEL_WARN,
				    "%s: again fd: %s", t->name,
				    strerror(errno));
	t->again_q = 0;
	serve_mask(t, pending);
}

/* Data thread: park until the control thread resumes us. */
static void park(struct dev_thread *t)
{
	char c = REQ_ACK;

	/*
	 * Release: everything this thread wrote so far must be visible to
	 * the control thread once it reads the ack. The send is a syscall
	 * (a full barrier in practice); the fence documents and enforces the
	 * ordering at the language level. Pairs with the acquire fence after
	 * the control thread's recv in dev_thread_pause().
	 */
	atomic_thread_fence(memory_order_release);
	if (!send_byte(t->req.fd, c))
		log_err("%s: acknowledging a pause: %s", t->name,
			strerror(errno));
	if (!recv_byte(t->req.fd, &c) || c != REQ_RESUME) {
		log_err("%s: control side gone while paused", t->name);
		loop_stop(t->loop);
		return;
	}
	/* Acquire: see what the control thread changed while we were
	 * parked. Pairs with the release fence in dev_thread_resume(). */
	atomic_thread_fence(memory_order_acquire);
	serve_kick_soon(t);
}

static void req_ready(struct loop_source *s, uint32_t events)
{
	struct dev_thread *t = container_of(s, struct dev_thread, req);
	char c = 0;
	bool got = recv_byte(s->fd, &c);

	(void)events;
	if (got && c == REQ_PAUSE) {
		park(t);
		return;
	}
	/* REQ_QUIT, end of file or error: leave the loop. */
	loop_stop(t->loop);
}

static void kick_ready(struct loop_source *s, uint32_t events)
{
	struct dt_kick *k = container_of(s, struct dt_kick, src);
	uint64_t v;

	if (events & EPOLLIN) {
		/* Clear the eventfd counter before serving, so a kick that
		 * arrives while we serve wakes us again. */
		if (read(s->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_msg_ratelimited(&k->t->dev->log_rl, LOG_LEVEL_WARN,
					    "%s: queue %u kick fd: %s",
					    k->t->name, k->q, strerror(errno));
		serve(k->t, k->q);
		return;
	}
	/* Hang-up without data: a writer-less pipe would wake us forever. */
	log_msg_ratelimited(&k->t->dev->log_rl, LOG_LEVEL_WARN,
			    "%s: queue %u kick fd hung up, ignoring it",
			    k->t->name, k->q);
	loop_remove(s);
}

static void timer_ready(struct loop_source *s, uint32_t events)
{
	struct dev_thread *t = container_of(s, struct dev_thread, timer);
	uint64_t expirations;

	(void)events;
	if (read(s->fd, &expirations, sizeof(expirations)) < 0)
		return;
	serve_mask(t, t->polled);
}

static void model_fd_ready(struct loop_source *s, uint32_t events)
{
	struct dt_model_fd *m = container_of(s, struct dt_model_fd, src);
	struct virtio_dev *d = m->t->dev;
	struct guard g;

	if (!d->ops->fd_ready)
		return;
	/* Host events complete requests: guest memory, guarded as in serve. */
	guard_push(&g);
	if (sigsetjmp(g.jb, 0) == 0) {
		d->ops->fd_ready(d, s->fd, events);
		guard_pop(&g);
	} else {
		virtio_dev_mem_fault(d, g.addr);
	}
}

static int watch_model_fds(struct dev_thread *t)
{
	int fds[DEV_THREAD_MODEL_FDS_MAX];
	int n, ret;

	if (!t->dev->ops->poll_fds)
		return 0;
	n = t->dev->ops->poll_fds(t->dev, fds, DEV_THREAD_MODEL_FDS_MAX);
	if (n < 0)
		return n;
	for (int i = 0; i < n && i < DEV_THREAD_MODEL_FDS_MAX; i++) {
		struct dt_model_fd *m = &t->model[t->nmodel];

		m->t = t;
		loop_source_init(&m->src, fds[i], model_fd_ready);
		ret = loop_add(t->loop, &m->src, EPOLLIN);
		if (ret < 0)
			return ret;
		t->nmodel++;
	}
	return 0;
}

static void *thread_main(void *arg)
{
	struct dev_thread *t = arg;

	loop_run(t->loop);
	return NULL;
}

static int open_channels(struct dev_thread *t)
{
	int sv[2], fd, ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	t->ctl_fd = sv[0];
	loop_source_init(&t->req, sv[1], req_ready);
	ret = loop_add(t->loop, &t->req, EPOLLIN);
	if (ret < 0)
		goto err_close_pair;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		goto err_remove_req;
	}
	loop_source_init(&t->again, fd, again_ready);
	ret = loop_add(t->loop, &t->again, EPOLLIN);
	if (ret < 0)
		goto err_close_again;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		goto err_remove_again;
	}
	loop_source_init(&t->timer, fd, timer_ready);
	return 0;

err_remove_again:
	loop_remove(&t->again);
err_close_again:
	close(t->again.fd);
err_remove_req:
	loop_remove(&t->req);
err_close_pair:
	close(sv[0]);
	close(sv[1]);
	return ret;
}

static void close_channels(struct dev_thread *t)
{
	loop_remove(&t->timer);
	close(t->timer.fd);
	loop_remove(&t->again);
	close(t->again.fd);
	loop_remove(&t->req);
	close(t->req.fd);
	close(t->ctl_fd);
}

static void unwatch_all(struct dev_thread *t)
{
	for (unsigned i = 0; i < t->nmodel; i++)
		loop_remove(&t->model[i].src);
	t->nmodel = 0;
	for (unsigned q = 0; q < VIRTIO_DEV_QUEUES_MAX; q++)
		loop_remove(&t->kick[q].src);
}

int dev_thread_create(struct dev_thread **out, struct virtio_dev *dev,
		      const char *name)
{
	struct dev_thread *t;
	char tname[16];
	int ret = guard_init();

	if (ret < 0) {
		log_err("%s: cannot install the SIGBUS handler: %s", name,
			strerror(-ret));
		return ret;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->dev = dev;
	snprintf(t->name, sizeof(t->name), "%s", name);
	for (unsigned q = 0; q < VIRTIO_DEV_QUEUES_MAX; q++) {
		t->kick[q].t = t;
		t->kick[q].q = q;
		loop_source_init(&t->kick[q].src, -1, kick_ready);
	}
	ret = loop_create(&t->loop);
	if (ret < 0)
		goto err_free;
	ret = open_channels(t);
	if (ret < 0)
		goto err_destroy_loop;
	dev->loop = t->loop;
	ret = watch_model_fds(t);
	if (ret < 0) {
		log_err("%s: polling the device's host fds: %s", name,
			strerror(-ret));
		goto err_unwatch;
	}
	ret = -pthread_create(&t->thread, NULL, thread_main, t);
	if (ret < 0)
		goto err_unwatch;
	snprintf(tname, sizeof(tname), "%s", name);
	pthread_setname_np(t->thread, tname);
	*out = t;
	return 0;

err_unwatch:
	unwatch_all(t);
	dev->loop = NULL;
	close_channels(t);
err_destroy_loop:
	loop_destroy(t->loop);
err_free:
	if (ret != -ENOMEM)
		log_err("%s: starting the data-path thread: %s", name,
			strerror(-ret));
	free(t);
	return ret;
}

void dev_thread_destroy(struct dev_thread *t)
{
	if (!t)
		return;
	assert(!t->pause_depth);
	/* A data thread stuck in its host I/O is waited for: it owns the
	 * device until it returns (see dev_thread_pause_within). */
	if (!send_byte(t->ctl_fd, REQ_QUIT))
		log_err("%s: asking the data thread to quit: %s", t->name,
			strerror(errno));
	pthread_join(t->thread, NULL);
	unwatch_all(t);
	t->dev->loop = NULL;
	close_channels(t);
	loop_destroy(t->loop);
	free(t);
}

int dev_thread_pause_within(struct dev_thread *t, int ms)
{
	struct pollfd p = {.fd = t->ctl_fd, .events = POLLIN};
	char c = 0;
	int n;

	assert(!pthread_equal(pthread_self(), t->thread));
	if (t->pause_depth) {
		t->pause_depth++;
		return 0;
	}
	/* A pause that timed out is still asked for: its ACK comes here. */
	if (!t->pause_asked) {
		if (!send_byte(t->ctl_fd, REQ_PAUSE)) {
			/* Only if the thread died: nothing runs there. */
			log_err("%s: pausing the data thread: %s", t->name,
				strerror(errno));
			goto paused;
		}
		t->pause_asked = true;
	}
	if (ms >= 0) {
		do
			n = poll(&p, 1, ms);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			return -ETIMEDOUT;
	}
	if (!recv_byte(t->ctl_fd, &c) || c != REQ_ACK)
		log_err("%s: pausing the data thread: no answer", t->name);
	t->pause_asked = false;
paused:
	/* Acquire: pairs with the release fence in park(). */
	atomic_thread_fence(memory_order_acquire);
	t->pause_depth = 1;
	return 0;
}

void dev_thread_pause(struct dev_thread *t)
{
	(void)dev_thread_pause_within(t, -1);
}

bool dev_thread_is_paused(const struct dev_thread *t)
{
	return t->pause_depth > 0;
}

unsigned dev_thread_pause_depth(const struct dev_thread *t)
{
	return t->pause_depth;
}

void dev_thread_unwind(struct dev_thread *t, unsigned depth)
{
	while (t->pause_depth > depth)
		dev_thread_resume(t);
}

bool dev_thread_is_stuck(const struct dev_thread *t)
{
	return t->pause_asked;
}

void dev_thread_resume(struct dev_thread *t)
{
	assert(t->pause_depth);
	if (--t->pause_depth)
		return;
	/* Release: our changes before the data thread's next event. Pairs
	 * with the acquire fence in park(). */
	atomic_thread_fence(memory_order_release);
	if (!send_byte(t->ctl_fd, REQ_RESUME))
		log_err("%s: resuming the data thread: %s", t->name,
			strerror(errno));
}

/*
 * A queue with neither a kick fd nor polling is off (disabled, stopped,
 * its owner gone): a serve still pending for it from the round limit or a
 * kick_soon would serve a ring the driver no longer offers.
 */
static void forget_if_off(struct dev_thread *t, unsigned q)
{
	if (t->kick[q].src.fd >= 0 || (t->polled & (1ULL << q)))
		return;
	t->again_q &= ~(1ULL << q);
	t->kick_soon &= ~(1ULL << q);
}

int dev_thread_set_kick(struct dev_thread *t, unsigned q, int fd)
{
	struct dt_kick *k;
	int ret;

	if (q >= t->dev->ops->num_queues)
		return -EINVAL;
	k = &t->kick[q];
	loop_remove(&k->src);
	loop_source_init(&k->src, fd, kick_ready);
	if (fd < 0) {
		forget_if_off(t, q);
		return 0;
	}
	ret = loop_add(t->loop, &k->src, EPOLLIN);
	if (ret < 0) {
		loop_source_init(&k->src, -1, kick_ready);
		forget_if_off(t, q);
	}
	return ret;
}

int dev_thread_set_poll(struct dev_thread *t, unsigned q, bool on)
{
	struct itimerspec its = {0};
	uint64_t before = t->polled;

	if (q >= t->dev->ops->num_queues)
		return -EINVAL;
	if (on) {
		t->polled |= 1ULL << q;
	} else {
		t->polled &= ~(1ULL << q);
		forget_if_off(t, q);
	}
	if (!before == !t->polled)
		return 0;
	if (t->polled) {
		its.it_value.tv_nsec = DEV_THREAD_POLL_NS;
		its.it_interval.tv_nsec = DEV_THREAD_POLL_NS;
	}
	if (timerfd_settime(t->timer.fd, 0, &its, NULL) < 0) {
		t->polled = before;
		return -errno;
	}
	if (t->polled)
		return loop_add(t->loop, &t->timer, EPOLLIN);
	loop_remove(&t->timer);
	return 0;
}

void dev_thread_kick_soon(struct dev_thread *t, unsigned q)
{
	if (q < t->dev->ops->num_queues)
		t->kick_soon |= 1ULL << q;
}
