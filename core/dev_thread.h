/* SPDX-License-Identifier: MIT */
/*
 * One data-path thread per device instance.
 *
 * The thread runs its own event loop (exposed to the model as dev->loop)
 * and serves:
 *   - each queue's kick eventfd      → virtio_dev_kick(dev, q)
 *   - a polled queue (no kick fd)    → virtio_dev_kick every millisecond
 *   - the model's host fds (poll_fds)→ dev->ops->fd_ready
 *   - a queue virtio_dev_kick left with buffers waiting (its round limit)
 *                                    → virtio_dev_kick again, after the
 *                                      events already pending
 * A blocking host call in one device therefore never stalls another, and
 * a queue the driver keeps busy does not starve the device's other queues.
 *
 * The control thread (vhost-user server, Xen transport) changes what the
 * data path uses -- queues, memory tables, notification fds, the device
 * state -- only between dev_thread_pause() and dev_thread_resume(). The
 * data thread is then parked at a known point (between two events, inside
 * the pause handler), so the control thread may touch the device as if it
 * were the data thread, and the data path itself needs no locks.
 * Pausing is a round trip through a socketpair; the syscalls on both sides
 * order memory like a lock would (see the barrier comments in the .c).
 *
 * Threading: create/destroy/pause/resume from the control thread only,
 * never from the data thread itself (that would deadlock; asserted).
 * set_kick/set_poll/kick_soon only while paused.
 */
#ifndef VIRTIOBOX_CORE_DEV_THREAD_H
#define VIRTIOBOX_CORE_DEV_THREAD_H

#include <stdbool.h>

#include "virtio_dev.h"

struct dev_thread;

#define DEV_THREAD_MODEL_FDS_MAX 16
#define DEV_THREAD_POLL_NS	 1000000 /* period of polled queues */

/*
 * Start dev's data-path thread (name shows in logs and as the thread name,
 * truncated to 15 characters). Sets dev->loop, polls the fds the model's
 * poll_fds returns. Returns 0 and sets *out, or -errno (with a log line).
 * Pair with dev_thread_destroy(), before the device is destroyed.
 */
int dev_thread_create(struct dev_thread **out, struct virtio_dev *dev,
		      const char *name);

/*
 * Stop and join the thread, stop polling every fd (closing none of them:
 * kick fds belong to the transport, model fds to the model), clear
 * dev->loop. NULL is accepted. Must not be called while paused.
 */
void dev_thread_destroy(struct dev_thread *t);

/*
 * Park the data thread and wait until it is parked, at most ms
 * milliseconds (ms < 0: as long as it takes). The data thread parks between
 * two events, and every event is bounded work (virtio_dev_kick's time
 * budget), so only a device stuck inside one host call (a wedged adapter)
 * misses a deadline. Returns 0 (paused: pair with dev_thread_resume), or
 * -ETIMEDOUT: not paused, and the data thread still owns the device, so
 * the caller must not touch it. The pause stays asked for: a later call
 * gets the late answer first (dev_thread_is_stuck until then; a call with
 * ms 0 just checks).
 * Pauses nest: while paused, another pause returns 0 at once and needs its
 * own resume; the thread goes on at the outermost resume.
 */
int dev_thread_pause_within(struct dev_thread *t, int ms);

/* dev_thread_pause_within(t, -1). */
void dev_thread_pause(struct dev_thread *t);

/* True between a pause and its resume. Control thread. */
bool dev_thread_is_paused(const struct dev_thread *t);

/* How many pauses the control thread holds (0: not paused). */
unsigned dev_thread_pause_depth(const struct dev_thread *t);

/* Resume until depth pauses are left (unwinding pauses abandoned by a
 * jump, see guard.h). Control thread. */
void dev_thread_unwind(struct dev_thread *t, unsigned depth);

/* A pause timed out and the data thread has not answered it yet: it is
 * still inside one event. Control thread. */
bool dev_thread_is_stuck(const struct dev_thread *t);

/*
 * Let the data thread go on (at the outermost resume of nested pauses). It
 * first serves the queues named by dev_thread_kick_soon() during the pause.
 */
void dev_thread_resume(struct dev_thread *t);

/*
 * While paused: serve queue q's kicks from fd (an eventfd the transport
 * owns and keeps open while it is set here), or stop serving them with
 * fd -1. Returns 0, -EINVAL (q out of range), or the epoll -errno (fd
 * not pollable); on error q has no kick fd.
 * A queue left with neither a kick fd nor polling (here or by
 * dev_thread_set_poll) is off: it is not served again, even when a serve
 * was pending for it (round limit, dev_thread_kick_soon), until a kick fd,
 * polling or dev_thread_kick_soon names it again.
 */
int dev_thread_set_kick(struct dev_thread *t, unsigned q, int fd);

/*
 * While paused: poll queue q every DEV_THREAD_POLL_NS instead of waiting
 * for kicks (vhost-user VRING_NOFD on a kick), or stop polling it.
 * Returns 0, -EINVAL, or -errno from the timer.
 */
int dev_thread_set_poll(struct dev_thread *t, unsigned q, bool on);

/*
 * While paused: serve q once after the resume, whether or not it was
 * kicked (buffers may have been made available while it was stopped).
 */
void dev_thread_kick_soon(struct dev_thread *t, unsigned q);

#endif
