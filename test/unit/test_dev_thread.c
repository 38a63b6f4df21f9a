// SPDX-License-Identifier: MIT
/*
 * Data-path threads (core/dev_thread.c): kicks and model fds served on the
 * device's own thread, pause/resume, kick_soon, polled queues, a kick fd
 * that hangs up, a queue kept busy past virtio_dev_kick's round limit.
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
#include <linux/virtio_config.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dev_thread.h"
#include "log.h"
#include "ring_driver.h"

#define RING 0x100000ull

struct model {
	struct virtio_dev vdev;
	int host_fd;
	atomic_int kicks[2];
	atomic_int fd_events;
	atomic_bool
		feed; /* queue 0's handler plays a driver that never stops */
	pthread_t kick_thread;
};

static struct ring_driver drv;

/*
 * Both sides of queue 0 on the data thread: take back what was used, serve
 * every buffer, then add a new one after the last vq_pop (kicks are off:
 * only virtio_dev_kick's re-check and the "again" path can find it).
 */
static void feed_ring(struct virtio_dev *d)
{
	struct ring_seg seg = {.gaddr = RING + 0x8000, .len = 8, .write = true};
	struct vq_elem *e;
	uint16_t id;
	uint32_t len;

	while (ring_driver_get_used(&drv, &id, &len) == 1)
		;
	while (vq_pop(&d->vqs[0], &e) == 1)
		vq_push(&d->vqs[0], e, 0);
	if (ring_driver_add(&drv, &seg, 1, false) >= 0)
		ring_driver_publish(&drv);
}

static void m_kick(struct virtio_dev *d, unsigned q)
{
	struct model *m = container_of(d, struct model, vdev);

	m->kick_thread = pthread_self();
	atomic_fetch_add(&m->kicks[q], 1);
	if (q == 0 && atomic_load(&m->feed))
		feed_ring(d);
}

static void m_reset(struct virtio_dev *d)
{
	(void)d;
}

static int m_poll_fds(struct virtio_dev *d, int *fds, unsigned max)
{
	struct model *m = container_of(d, struct model, vdev);

	assert_true(max >= 1);
	fds[0] = m->host_fd;
	return 1;
}

static void m_fd_ready(struct virtio_dev *d, int fd, uint32_t events)
{
	struct model *m = container_of(d, struct model, vdev);
	uint64_t v;

	assert_int_equal(fd, m->host_fd);
	assert_true(events & EPOLLIN);
	assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
	atomic_fetch_add(&m->fd_events, 1);
}

static const struct virtio_dev_ops m_ops = {
	.name = "dt-test",
	.num_queues = 2,
	.queue_max = 16,
	.queue_kick = m_kick,
	.reset = m_reset,
	.poll_fds = m_poll_fds,
	.fd_ready = m_fd_ready,
};

static struct model model;
static struct fake_gmem mem;
static struct dev_thread *dt;

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_LEVEL_ERR);
	memset(&model, 0, sizeof(model));
	model.host_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(model.host_fd >= 0);
	assert_int_equal(fake_gmem_init(&mem), 0);
	assert_int_equal(
		fake_gmem_add(&mem, RING, 0x10000, GMEM_READ | GMEM_WRITE), 0);
	assert_int_equal(ring_driver_init(&drv, &mem,
					  &(struct ring_driver_cfg){
						  .num = 16, .ring = RING}),
			 0);
	assert_int_equal(virtio_dev_init(&model.vdev, &m_ops, 0), 0);
	virtio_dev_attach(&model.vdev, NULL, &mem.gmem);
	assert_int_equal(virtio_dev_set_features(&model.vdev,
						 1ULL << VIRTIO_F_VERSION_1),
			 0);
	assert_int_equal(
		virtio_dev_queue_start(&model.vdev, 0, &drv.layout, drv.base),
		0);
	assert_int_equal(dev_thread_create(&dt, &model.vdev, "dt-test"), 0);
	assert_non_null(model.vdev.loop);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dev_thread_destroy(dt);
	assert_null(model.vdev.loop);
	virtio_dev_destroy(&model.vdev);
	ring_driver_destroy(&drv);
	fake_gmem_destroy(&mem);
	close(model.host_fd);
	return 0;
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

/* Wait up to 2 s for *v to reach at least want. */
static bool wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 2000; i++) {
		if (atomic_load(v) >= want)
			return true;
		usleep(1000);
	}
	return false;
}

static void test_model_fds(void **state)
{
	(void)state;
	signal_fd(model.host_fd);
	assert_true(wait_for(&model.fd_events, 1));
}

static void test_kick_on_data_thread(void **state)
{
	int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	(void)state;
	dev_thread_pause(dt);
	assert_int_equal(dev_thread_set_kick(dt, 0, kick), 0);
	assert_int_equal(dev_thread_set_kick(dt, 2, kick), -EINVAL);
	assert_int_equal(dev_thread_set_kick(dt, 1, 999), -EBADF);
	dev_thread_resume(dt);
	signal_fd(kick);
	assert_true(wait_for(&model.kicks[0], 1));
	assert_false(pthread_equal(model.kick_thread, pthread_self()));
	/* Paused: a kick waits for the resume. */
	dev_thread_pause(dt);
	signal_fd(kick);
	usleep(20000);
	assert_int_equal(atomic_load(&model.kicks[0]), 1);
	dev_thread_resume(dt);
	assert_true(wait_for(&model.kicks[0], 2));
	/* Unset: kicks are ignored. */
	dev_thread_pause(dt);
	assert_int_equal(dev_thread_set_kick(dt, 0, -1), 0);
	dev_thread_resume(dt);
	signal_fd(kick);
	usleep(20000);
	assert_int_equal(atomic_load(&model.kicks[0]), 2);
	close(kick);
}

static void test_kick_soon(void **state)
{
	(void)state;
	dev_thread_pause(dt);
	dev_thread_kick_soon(dt, 0);
	dev_thread_kick_soon(dt, 1); /* not started: the model is not called */
	dev_thread_kick_soon(dt, 9); /* ignored */
	dev_thread_resume(dt);
	assert_true(wait_for(&model.kicks[0], 1));
	/* Once only. */
	dev_thread_pause(dt);
	dev_thread_resume(dt);
	assert_int_equal(atomic_load(&model.kicks[0]), 1);
	assert_int_equal(atomic_load(&model.kicks[1]), 0);
}

static void test_poll(void **state)
{
	(void)state;
	dev_thread_pause(dt);
	assert_int_equal(dev_thread_set_poll(dt, 0, true), 0);
	assert_int_equal(dev_thread_set_poll(dt, 5, true), -EINVAL);
	dev_thread_resume(dt);
	assert_true(wait_for(&model.kicks[0], 5));
	dev_thread_pause(dt);
	assert_int_equal(dev_thread_set_poll(dt, 0, false), 0);
	dev_thread_resume(dt);
	{
		int n = atomic_load(&model.kicks[0]);

		usleep(20000);
		assert_true(atomic_load(&model.kicks[0]) <= n + 1);
	}
}

static void test_kick_hangup(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	dev_thread_pause(dt);
	assert_int_equal(dev_thread_set_kick(dt, 0, p[0]), 0);
	dev_thread_resume(dt);
	close(p[1]); /* EPOLLHUP forever: the source must go away */
	usleep(20000);
	dev_thread_pause(dt);
	dev_thread_resume(dt);
	assert_int_equal(atomic_load(&model.kicks[0]), 0);
	dev_thread_pause(dt);
	assert_int_equal(dev_thread_set_kick(dt, 0, -1), 0);
	dev_thread_resume(dt);
	close(p[0]);
}

static void test_busy_queue_does_not_starve(void **state)
{
	struct ring_driver drv1;
	int kick0 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int kick1 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int n;

	(void)state;
	assert_int_equal(
		ring_driver_init(&drv1, &mem,
				 &(struct ring_driver_cfg){
					 .num = 16, .ring = RING + 0x4000}),
		0);
	dev_thread_pause(dt);
	assert_int_equal(
		virtio_dev_queue_start(&model.vdev, 1, &drv1.layout, drv1.base),
		0);
	assert_int_equal(dev_thread_set_kick(dt, 0, kick0), 0);
	assert_int_equal(dev_thread_set_kick(dt, 1, kick1), 0);
	/* One buffer to start with; from then on each round adds one. */
	feed_ring(&model.vdev);
	atomic_store(&model.feed, true);
	dev_thread_resume(dt);
	signal_fd(kick0);
	/* One kick, served far past one call's round limit. */
	assert_true(wait_for(&model.kicks[0], 10 * VIRTIO_DEV_KICK_ROUNDS));
	/* Meanwhile the other queue is served when kicked... */
	signal_fd(kick1);
	assert_true(wait_for(&model.kicks[1], 1));
	/* ...and the busy one still is. */
	n = atomic_load(&model.kicks[0]);
	assert_true(wait_for(&model.kicks[0], n + VIRTIO_DEV_KICK_ROUNDS));
	/* A driver that stops adding: the queue goes quiet. */
	atomic_store(&model.feed, false);
	usleep(20000);
	n = atomic_load(&model.kicks[0]);
	usleep(20000);
	assert_int_equal(atomic_load(&model.kicks[0]), n);
	dev_thread_pause(dt);
	assert_int_equal(dev_thread_set_kick(dt, 0, -1), 0);
	assert_int_equal(dev_thread_set_kick(dt, 1, -1), 0);
	dev_thread_resume(dt);
	close(kick0);
	close(kick1);
	ring_driver_destroy(&drv1);
}

/*
 * A queue disabled while a serve is pending for it (the round limit's
 * "again", or a kick_soon given before the disable) is not served again:
 * SET_VRING_ENABLE 0 and RESET_OWNER must stop the data path touching the
 * ring. Re-enabled, it is served as before.
 */
static void test_disabled_queue_is_not_served_again(void **state)
{
	int kick0 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int n;

	(void)state;
	dev_thread_pause(dt);
	assert_int_equal(dev_thread_set_kick(dt, 0, kick0), 0);
	feed_ring(&model.vdev);
	atomic_store(&model.feed, true);
	dev_thread_resume(dt);
	signal_fd(kick0);
	assert_true(wait_for(&model.kicks[0], 3 * VIRTIO_DEV_KICK_ROUNDS));
	/* Paused while busy: most likely an "again" is pending now. */
	dev_thread_pause(dt);
	atomic_store(&model.feed, false);
	dev_thread_kick_soon(dt, 0);
	assert_int_equal(dev_thread_set_kick(dt, 0, -1), 0);
	assert_int_equal(dev_thread_set_poll(dt, 0, false), 0);
	n = atomic_load(&model.kicks[0]);
	dev_thread_resume(dt);
	usleep(30000);
	assert_int_equal(atomic_load(&model.kicks[0]), n);
	/* On again: a kick_soon serves it once more. */
	dev_thread_pause(dt);
	assert_int_equal(dev_thread_set_kick(dt, 0, kick0), 0);
	dev_thread_kick_soon(dt, 0);
	dev_thread_resume(dt);
	assert_true(wait_for(&model.kicks[0], n + 1));
	dev_thread_pause(dt);
	assert_int_equal(dev_thread_set_kick(dt, 0, -1), 0);
	dev_thread_resume(dt);
	close(kick0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_model_fds),
		T(test_kick_on_data_thread),
		T(test_kick_soon),
		T(test_poll),
		T(test_kick_hangup),
		T(test_busy_queue_does_not_starve),
		T(test_disabled_queue_is_not_served_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
