// SPDX-License-Identifier: MIT
/*
 * Ring microbenchmark: a driver thread (test/support/ring_driver) and a
 * device thread (core/vq) exchange requests over one queue of 256 entries
 * in fake guest memory, for split and packed rings, chains of 1 and 3
 * descriptors, and batches of 1, 16 and 64 requests: the driver submits a
 * batch with one publish and waits for all of it; the device flushes used
 * entries once per batch.
 *
 * Guest memory is direct (fake_gmem with gmem.direct: no map_batch, as
 * vhost-user's fd-backed memory).
 *
 * Two notification modes:
 *   poll    both sides suppress notifications and spin; no syscalls.
 *   eventfd the device sleeps on a kick eventfd and the driver on a call
 *           eventfd whenever the ring says so (EVENT_IDX negotiated), with
 *           the enable/re-check protocol on both sides.
 *
 * Heap allocations are counted by test/support/alloc_count (malloc and
 * friends interposed in this binary); the table shows allocations per
 * request in the timed window (device and driver threads included), which
 * must be 0.
 *
 * Ratio columns compare with baselines measured in the same run: "x batch1"
 * is the row's throughput over the batch-1 row of the same format, notify
 * mode and chain length (what batching buys); "x split" is over the split
 * row of the same shape (what the packed format buys).
 *
 * Each two-thread row runs REPS times; requests/s is printed as min, median
 * and max over them (two spinning threads on a small machine measure the
 * scheduler too: the spread says how much).
 *
 * Single-thread mode, for callgrind (test/bench/bench_cost.py):
 *   bench_vq --single split|packed CHAIN BATCH ROUNDS
 * driver and device alternate in one thread, batch by batch; only the
 * device's part (bench_vq_device_round) is meant to be counted, a figure
 * that does not move with the machine's load.
 *
 * It prints numbers and asserts nothing about speed.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "alloc_count.h"
#include "ring_driver.h"
#include "vq.h"

#define QUEUE_SIZE 256
#define WARMUP_NS  20000000ll
#define RUN_NS	   100000000ll
#define REPS	   5

/* ---- one run ---- */

struct bench {
	struct ring_driver_fixture fx;
	unsigned chain, batch;
	bool eventfd_mode;
	int kick_fd, call_fd;
	atomic_bool stop;
	unsigned long kicks, irqs, stalls; /* kicks: driver; irqs: device */
	volatile uint8_t sink;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void fd_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

/* Sleep until fd is signalled; a timeout would be a lost wake-up. */
static void fd_wait(struct bench *b, int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, 1000) == 0) {
		b->stalls++;
		return;
	}
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		abort();
}

/*
 * Polling: spin, but yield now and then, so two spinning threads still make
 * progress when the machine has fewer free cores than that.
 */
static void idle(unsigned *spins)
{
	if (++*spins % 256 == 0)
		sched_yield();
}

static void device_flush(struct bench *b)
{
	if (vq_flush(&b->fx.vq) && b->eventfd_mode) {
		b->irqs++;
		fd_signal(b->call_fd);
	}
}

/* Serve everything available; flush once per batch. */
static unsigned device_serve(struct bench *b)
{
	struct vq_elem *e;
	unsigned n = 0, since = 0;

	while (vq_pop(&b->fx.vq, &e) == 1) {
		for (unsigned i = 0; i < e->rd_num; i++)
			b->sink ^= *(uint8_t *)e->rd_iov[i].iov_base;
		for (unsigned i = 0; i < e->wr_num; i++)
			*(uint8_t *)e->wr_iov[i].iov_base = 1;
		vq_push(&b->fx.vq, e, e->wr_len);
		n++;
		if (++since == b->batch) {
			device_flush(b);
			since = 0;
		}
	}
	if (since)
		device_flush(b);
	return n;
}

static void *device_thread(void *arg)
{
	struct bench *b = arg;
	unsigned spins = 0;

	vq_set_notify(&b->fx.vq, false);
	while (!atomic_load(&b->stop)) {
		if (device_serve(b))
			continue;
		if (!b->eventfd_mode) {
			idle(&spins);
			continue;
		}
		/* Re-check after enabling, or a kick could be lost. */
		if (vq_set_notify(&b->fx.vq, true) == 0)
			fd_wait(b, b->kick_fd);
		vq_set_notify(&b->fx.vq, false);
	}
	return NULL;
}

static void driver_round(struct bench *b, unsigned long *done)
{
	struct ring_seg s[3] = {
		{RING_DRIVER_MEM_DATA, 16, false},
		{RING_DRIVER_MEM_DATA + 64, 64, false},
		{RING_DRIVER_MEM_DATA + 128, 16, true},
	};
	unsigned got = 0, spins = 0;
	uint16_t id;
	uint32_t len;

	for (unsigned i = 0; i < b->batch; i++)
		if (ring_driver_add(&b->fx.drv, b->chain == 1 ? s + 1 : s,
				    b->chain, false) < 0)
			abort();
	if (ring_driver_publish(&b->fx.drv) && b->eventfd_mode) {
		b->kicks++;
		fd_signal(b->kick_fd);
	}
	while (got < b->batch) {
		while (ring_driver_get_used(&b->fx.drv, &id, &len) == 1)
			got++;
		if (got == b->batch)
			break;
		if (!b->eventfd_mode) {
			idle(&spins);
			continue;
		}
		if (ring_driver_irq_enable(&b->fx.drv) == 0)
			fd_wait(b, b->call_fd);
		ring_driver_irq_disable(&b->fx.drv);
	}
	*done += got;
}

struct result {
	double rps, ns;
	double allocs, kicks, irqs;
	unsigned long requests, stalls;
};

static int bench_run(struct bench *b, uint64_t features, struct result *r)
{
	unsigned long done = 0, done0, allocs0, kicks0, irqs0;
	long long t0, start;
	pthread_t dev;
	int ret;

	ring_driver_fixture_direct = true;
	ret = ring_driver_fixture_init(&b->fx, features, QUEUE_SIZE);
	if (ret < 0)
		return ret;
	b->fx.mem.untracked = true;
	ring_driver_irq_disable(&b->fx.drv);
	atomic_store(&b->stop, false);
	b->kicks = b->irqs = b->stalls = 0;
	if (pthread_create(&dev, NULL, device_thread, b)) {
		ring_driver_fixture_destroy(&b->fx);
		return -EAGAIN;
	}
	start = now_ns();
	while (now_ns() - start < WARMUP_NS)
		driver_round(b, &done);
	done0 = done;
	allocs0 = alloc_count_get();
	kicks0 = b->kicks;
	irqs0 = b->irqs; /* racy read of a device counter: approximate */
	t0 = now_ns();
	while (now_ns() - t0 < RUN_NS)
		driver_round(b, &done);
	r->ns = (double)(now_ns() - t0) / (double)(done - done0);
	r->allocs = (double)(alloc_count_get() - allocs0);
	atomic_store(&b->stop, true);
	fd_signal(b->kick_fd);
	pthread_join(dev, NULL);
	r->requests = done - done0;
	r->rps = 1e9 / r->ns;
	r->allocs /= (double)r->requests;
	r->kicks = (double)(b->kicks - kicks0) / (double)r->requests;
	r->irqs = (double)(b->irqs - irqs0) / (double)r->requests;
	r->stalls = b->stalls;
	ring_driver_fixture_destroy(&b->fx);
	return 0;
}

/*
 * Baselines measured in the same run, for the ratio columns: the batch-1
 * row of the same format/notify/chain, and the split row of the same shape.
 */
struct baselines {
	double batch1;
	double split[2][2][3]; /* [eventfd][chain index][batch index] */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One row of the table, REPS runs. Returns 0 or -errno; *rps gets the
 * median throughput. */
static int row(struct bench *b, bool packed, bool eventfd_mode, unsigned chain,
	       unsigned batch, double *rps)
{
	uint64_t f = (1ull << VIRTIO_RING_F_EVENT_IDX) |
		     (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
		     (packed ? 1ull << VIRTIO_F_RING_PACKED : 0);
	struct result r, sum = {0};
	double runs[REPS];
	int ret;

	b->chain = chain;
	b->batch = batch;
	b->eventfd_mode = eventfd_mode;
	for (int k = 0; k < REPS; k++) {
		ret = bench_run(b, f, &r);
		if (ret < 0)
			return ret;
		runs[k] = r.rps;
		sum.kicks += r.kicks / REPS;
		sum.irqs += r.irqs / REPS;
		sum.allocs += r.allocs / REPS;
		sum.stalls += r.stalls;
	}
	qsort(runs, REPS, sizeof(runs[0]), cmp_double);
	printf("%-7s %5u %5u  %-7s %10.0f %10.0f %10.0f %10.3f %9.3f %11.3g",
	       packed ? "packed" : "split", chain, batch,
	       eventfd_mode ? "eventfd" : "poll", runs[0], runs[REPS / 2],
	       runs[REPS - 1], sum.kicks, sum.irqs, sum.allocs);
	*rps = runs[REPS / 2];
	if (sum.stalls)
		printf("\n        %lu wake-ups timed out (lost notification?)",
		       sum.stalls);
	return 0;
}

/* ---- single-thread mode ---- */

/* What callgrind counts: the device serving one published batch. */
__attribute__((noinline)) unsigned bench_vq_device_round(struct bench *b);
__attribute__((noinline)) unsigned bench_vq_device_round(struct bench *b)
{
	return device_serve(b);
}

static int single(int argc, char **argv)
{
	static struct bench b;
	unsigned long done = 0, rounds, allocs;
	uint64_t f = (1ull << VIRTIO_RING_F_EVENT_IDX) |
		     (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	struct ring_seg s[3] = {
		{RING_DRIVER_MEM_DATA, 16, false},
		{RING_DRIVER_MEM_DATA + 64, 64, false},
		{RING_DRIVER_MEM_DATA + 128, 16, true},
	};

	if (argc != 6)
		return 2;
	if (strcmp(argv[2], "packed") == 0)
		f |= 1ull << VIRTIO_F_RING_PACKED;
	b.chain = (unsigned)atoi(argv[3]);
	b.batch = (unsigned)atoi(argv[4]);
	rounds = strtoul(argv[5], NULL, 10);
	if ((b.chain != 1 && b.chain != 3) || !b.batch || b.batch > 64)
		return 2;
	ring_driver_fixture_direct = true;
	if (ring_driver_fixture_init(&b.fx, f, QUEUE_SIZE) < 0)
		return 1;
	b.fx.mem.untracked = true;
	ring_driver_irq_disable(&b.fx.drv);
	vq_set_notify(&b.fx.vq, false);
	allocs = alloc_count_get();
	for (unsigned long k = 0; k < rounds + 100; k++) {
		uint16_t id;
		uint32_t len;

		for (unsigned i = 0; i < b.batch; i++)
			if (ring_driver_add(&b.fx.drv, b.chain == 1 ? s + 1 : s,
					    b.chain, false) < 0)
				abort();
		ring_driver_publish(&b.fx.drv);
		/* The first 100 rounds warm up, uncounted. */
		if (k < 100 ? device_serve(&b) != b.batch
			    : bench_vq_device_round(&b) != b.batch)
			abort();
		while (ring_driver_get_used(&b.fx.drv, &id, &len) == 1)
			done += k >= 100;
	}
	printf("SINGLE ring=%s chain=%u batch=%u requests=%lu allocs=%lu\n",
	       argv[2], b.chain, b.batch, done, alloc_count_get() - allocs);
	ring_driver_fixture_destroy(&b.fx);
	return done == rounds * b.batch ? 0 : 1;
}

static double ratio(double v, double base)
{
	return base > 0 ? v / base : 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	struct baselines base = {0};
	static const unsigned chains[] = {1, 3}, batches[] = {1, 16, 64};
	int ret = 0;

	if (!alloc_count_is_active()) {
		fprintf(stderr, "bench_vq: the allocation counter is not "
				"linked in (test/support/alloc_count.c)\n");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "--single") == 0)
		return single(argc, argv);
	b.kick_fd = eventfd(0, 0);
	b.call_fd = eventfd(0, 0);
	if (b.kick_fd < 0 || b.call_fd < 0) {
		perror("bench_vq: eventfd");
		return 1;
	}
	printf("ring microbenchmark: queue size %d, %d runs of %.1f s per row, "
	       "driver and device on two threads, EVENT_IDX negotiated, "
	       "direct memory\n",
	       QUEUE_SIZE, REPS, RUN_NS / 1e9);
	printf("%-7s %5s %5s  %-7s %10s %10s %10s %10s %9s %11s %9s %9s\n",
	       "format", "chain", "batch", "notify", "min req/s", "median",
	       "max", "kicks/req", "irqs/req", "allocs/req", "x batch1",
	       "x split");
	/* Split rows come first, so every packed row has its split baseline;
	 * within a shape, batch 1 comes first. */
	for (int i = 0; i < 2 * 2 * 2 * 3 && ret == 0; i++) {
		bool packed = i / 12, efd = i / 6 % 2;
		unsigned ci = i / 3 % 2, bi = i % 3;
		double rps = 0;

		ret = row(&b, packed, efd, chains[ci], batches[bi], &rps);
		if (ret < 0)
			break;
		if (bi == 0)
			base.batch1 = rps;
		if (!packed)
			base.split[efd][ci][bi] = rps;
		printf(" %9.2f %9.2f\n", ratio(rps, base.batch1),
		       ratio(rps, base.split[efd][ci][bi]));
		fflush(stdout);
	}
	if (ret < 0)
		fprintf(stderr, "bench_vq: setup failed: %s\n", strerror(-ret));
	close(b.kick_fd);
	close(b.call_fd);
	return ret < 0;
}
