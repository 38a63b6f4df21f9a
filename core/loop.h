/* SPDX-License-Identifier: MIT */
/*
 * Event loop over epoll.
 *
 * A source is embedded in its owner's struct and handed to the loop; its
 * callback receives the source and reaches the owner with container_of():
 *
 *	struct conn { struct loop_source src; ... };
 *	static void conn_ready(struct loop_source *s, uint32_t events)
 *	{
 *		struct conn *c = container_of(s, struct conn, src);
 *		...
 *	}
 *	loop_source_init(&c->src, fd, conn_ready);
 *	loop_add(l, &c->src, EPOLLIN);
 *
 * The loop never owns or closes a source's fd. A callback may remove any
 * source (itself included) and free its owner: events already fetched for
 * a removed source are dropped, never delivered.
 *
 * Threading: a loop is run by one thread. loop_stop() may be called from
 * any thread. loop_add/loop_modify/loop_remove are called by the running
 * thread, or by another thread while the running thread is parked inside a
 * callback with a full barrier on both sides (see dev_thread_pause()).
 *
 * The program's control loop, in board/main.c:
 *
 *	loop_signals_block();           // first, before any thread exists
 *	loop_create(&ctl);
 *	loop_watch_signals(ctl);        // SIGINT/SIGTERM stop the loop
 *	... vhu_server_create(&s, ctl, dev, &opts) per device ...
 *	loop_run(ctl);                  // returns after SIGINT/SIGTERM
 *	... vhu_server_destroy(s), device destroy ...
 *	loop_destroy(ctl);
 */
#ifndef VIRTIOBOX_CORE_LOOP_H
#define VIRTIOBOX_CORE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

struct loop;
struct loop_source;

/* events: the EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits epoll reported. */
typedef void loop_fn(struct loop_source *src, uint32_t events);

struct loop_source {
	int fd;
	loop_fn *fn;
	/* private to the loop */
	struct loop *loop;
};

static inline void loop_source_init(struct loop_source *s, int fd, loop_fn *fn)
{
	s->fd = fd;
	s->fn = fn;
	s->loop = 0;
}

static inline bool loop_source_is_added(const struct loop_source *s)
{
	return s->loop != 0;
}

/* Returns 0 and sets *out, or -errno (epoll/eventfd creation). */
int loop_create(struct loop **out);

/* Every source must have been removed. NULL is accepted. */
void loop_destroy(struct loop *l);

/*
 * Watch s->fd for events (EPOLLIN, EPOLLOUT, ...; level-triggered).
 * Returns 0, -EEXIST when s is already added, or the epoll_ctl -errno.
 */
int loop_add(struct loop *l, struct loop_source *s, uint32_t events);

/* Change the watched events of an added source. Returns 0 or -errno. */
int loop_modify(struct loop_source *s, uint32_t events);

/* Stop watching s. No-op when s is not added. Safe inside any callback. */
void loop_remove(struct loop_source *s);

/*
 * Wait up to timeout_ms (-1: forever) and dispatch what is ready.
 * Returns the number of callbacks run, or -errno from epoll_wait
 * (EINTR is not an error: it returns 0).
 */
int loop_run_once(struct loop *l, int timeout_ms);

/*
 * Dispatch until loop_stop(). Returns 0, or -errno when epoll_wait failed.
 * A stop requested before loop_run makes it return at once; the request
 * is consumed, so the loop can be run again.
 */
int loop_run(struct loop *l);

/* Make loop_run return after the current callback. Any thread. */
void loop_stop(struct loop *l);

/*
 * Block SIGINT and SIGTERM and ignore SIGPIPE in the calling thread. Call
 * it in main() before creating any thread, so every thread inherits the
 * mask and the signals reach loop_watch_signals() only. Returns 0 or
 * -errno.
 */
int loop_signals_block(void);

/*
 * Stop l when SIGINT or SIGTERM arrives (through a signalfd the loop owns
 * until loop_destroy). Returns 0 or -errno.
 */
int loop_watch_signals(struct loop *l);

/* The signal that stopped the loop, or 0. */
int loop_stop_signal(const struct loop *l);

#endif
