// SPDX-License-Identifier: MIT
/*
 * Unit tests for xen/xen_ioreq.c with the Xen libraries replaced by fakes
 * defined here (the executable's definitions take the place of the
 * libraries' for xen_ioreq.o): the set-up order and its error messages
 * (no IOREQ in Xen, no privilege, no /dev/xen node), one event channel per
 * vCPU, ioreqs answered on the IOREQ thread, windows claimed and given
 * back, interrupts, and every handle closed at the end. The real
 * hypervisor path runs in test/system/test_xen.py.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* clang-format off */
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/hvm/ioreq.h>
/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
#include <cmocka.h>
/* clang-format on */

#include "log.h"
#include "xen_ioreq.h"

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

#define DOMID	   5
#define REMOTE(v)  (20u + (v)) /* Xen's port of vCPU v */
#define LOCAL(r)   ((r) + 100u)
#define PROBE_PORT 99u /* an unbound port offered to the guest */

/* What the fake libraries saw, and what they are told to do. */
static struct {
	int dm_open_errno, create_errno, map_errno, bind_errno;
	int unbound_errno; /* EPERM: XSM keeps this domain and the guest apart
			    */
	int probes;	   /* unbound ports asked for */
	unsigned vcpus;
	int opens, closes;
	bool created, enabled;
	int destroyed, unmapped_res, unbound;
	unsigned ranges;
	uint64_t range_start, range_end;
	unsigned irq, irqs;
	int pipe[2]; /* the "hypervisor" writes a port to signal it */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned notified; /* last port notified */
	unsigned notifies;
} f;

/* The ioreq page: one slot per vCPU, a page long. */
static union {
	struct shared_iopage p;
	struct ioreq slot[4096 / sizeof(struct ioreq)];
} page_mem __attribute__((aligned(4096)));
static struct shared_iopage *page = &page_mem.p;
static char last_err[512];

static void keep(enum log_level level, const char *line)
{
	if (level == LOG_LEVEL_ERR)
		snprintf(last_err, sizeof(last_err), "%s", line);
}

xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger,
					   unsigned int open_flags)
{
	(void)logger;
	(void)open_flags;
	if (f.dm_open_errno) {
		errno = f.dm_open_errno;
		return NULL;
	}
	f.opens++;
	return (xendevicemodel_handle *)&f;
}

int xendevicemodel_close(xendevicemodel_handle *dmod)
{
	(void)dmod;
	f.closes++;
	return 0;
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *dmod,
				       domid_t domid, int handle_bufioreq,
				       ioservid_t *id)
{
	(void)dmod;
	assert_int_equal(domid, DOMID);
	assert_int_equal(handle_bufioreq, 0); /* HVM_IOREQSRV_BUFIOREQ_OFF */
	if (f.create_errno) {
		errno = f.create_errno;
		return -1;
	}
	f.created = true;
	*id = 3;
	return 0;
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *dmod,
					  domid_t domid, ioservid_t id,
					  int enabled)
{
	(void)dmod;
	(void)domid;
	assert_int_equal(id, 3);
	f.enabled = enabled;
	/* Xen names each vCPU's event channel in its slot now. */
	for (unsigned v = 0; v < f.vcpus; v++)
		page_mem.slot[v].vp_eport = REMOTE(v);
	return 0;
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dmod,
						domid_t domid, ioservid_t id,
						int is_mmio, uint64_t start,
						uint64_t end)
{
	(void)dmod;
	(void)domid;
	(void)id;
	assert_int_equal(is_mmio, 1);
	f.ranges++;
	f.range_start = start;
	f.range_end = end;
	return 0;
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *dmod,
						    domid_t domid,
						    ioservid_t id, int is_mmio,
						    uint64_t start,
						    uint64_t end)
{
	(void)dmod;
	(void)domid;
	(void)id;
	(void)is_mmio;
	assert_int_equal(start, f.range_start);
	assert_int_equal(end, f.range_end);
	f.ranges--;
	return 0;
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *dmod,
					domid_t domid, ioservid_t id)
{
	(void)dmod;
	(void)domid;
	(void)id;
	f.destroyed++;
	return 0;
}

int xendevicemodel_set_irq_level(xendevicemodel_handle *dmod, domid_t domid,
				 unsigned int irq, unsigned int level)
{
	(void)dmod;
	(void)domid;
	assert_int_equal(level, 1);
	f.irq = irq;
	f.irqs++;
	return 0;
}

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
					       unsigned open_flags)
{
	(void)logger;
	(void)open_flags;
	f.opens++;
	return (xenforeignmemory_handle *)&f;
}

int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
	(void)fmem;
	f.closes++;
	return 0;
}

xenforeignmemory_resource_handle *
xenforeignmemory_map_resource(xenforeignmemory_handle *fmem, domid_t domid,
			      unsigned int type, unsigned int id,
			      unsigned long frame, unsigned long nr_frames,
			      void **paddr, int prot, int flags)
{
	(void)fmem;
	(void)prot;
	(void)flags;
	assert_int_equal(domid, DOMID);
	assert_int_equal(type, 0); /* XENMEM_resource_ioreq_server */
	assert_int_equal(id, 3);
	assert_int_equal(frame, 1); /* frame_ioreq(0) */
	assert_int_equal(nr_frames, 1);
	if (f.map_errno) {
		errno = f.map_errno;
		return NULL;
	}
	*paddr = page;
	return (xenforeignmemory_resource_handle *)page;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
				    xenforeignmemory_resource_handle *fres)
{
	(void)fmem;
	(void)fres;
	f.unmapped_res++;
	return 0;
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger,
				 unsigned open_flags)
{
	(void)logger;
	(void)open_flags;
	if (pipe(f.pipe))
		return NULL;
	f.opens++;
	return (xenevtchn_handle *)&f;
}

int xenevtchn_close(xenevtchn_handle *xce)
{
	(void)xce;
	close(f.pipe[0]);
	close(f.pipe[1]);
	f.closes++;
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
	(void)xce;
	return f.pipe[0];
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce,
						     uint32_t domid,
						     evtchn_port_t remote_port)
{
	(void)xce;
	assert_int_equal(domid, DOMID);
	if (f.bind_errno) {
		errno = f.bind_errno;
		return -1;
	}
	return (xenevtchn_port_or_error_t)LOCAL(remote_port);
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *xce,
						      uint32_t domid)
{
	(void)xce;
	assert_int_equal(domid, DOMID);
	f.probes++;
	if (f.unbound_errno) {
		errno = f.unbound_errno;
		return -1;
	}
	return PROBE_PORT;
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
	(void)xce;
	if (port == PROBE_PORT) /* unbound again at once, not a vCPU's */
		return 0;
	f.unbound++;
	return 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
	uint32_t port;

	(void)xce;
	if (read(f.pipe[0], &port, sizeof(port)) != sizeof(port))
		return -1;
	return (xenevtchn_port_or_error_t)port;
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
	(void)xce;
	(void)port;
	return 0;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	(void)xce;
	pthread_mutex_lock(&f.lock);
	f.notified = port;
	f.notifies++;
	pthread_cond_broadcast(&f.cond);
	pthread_mutex_unlock(&f.lock);
	return 0;
}

/* A window answering reads with 0x1000 + offset and recording writes. */
struct win {
	struct xen_ioreq_window w;
	uint32_t wrote_off;
	uint64_t wrote_val;
};

static int win_read(struct xen_ioreq_window *w, uint32_t off, unsigned size,
		    uint64_t *val)
{
	(void)w;
	(void)size;
	*val = 0x1000 + off;
	return 0;
}

static int win_write(struct xen_ioreq_window *w, uint32_t off, unsigned size,
		     uint64_t val)
{
	struct win *x = container_of(w, struct win, w);

	(void)size;
	x->wrote_off = off;
	x->wrote_val = val;
	return 0;
}

static const struct xen_ioreq_window_ops win_ops = {win_read, win_write, NULL};

static int setup(void **state)
{
	(void)state;
	memset(&f, 0, sizeof(f));
	memset(&page_mem, 0, sizeof(page_mem));
	pthread_mutex_init(&f.lock, NULL);
	pthread_cond_init(&f.cond, NULL);
	f.vcpus = 2;
	last_err[0] = '\0';
	log_set_hook(keep);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_hook(NULL);
	/* Every handle opened was closed. */
	assert_int_equal(f.opens, f.closes);
	return 0;
}

/* The guest's vCPU v accesses addr; returns once the server answered. */
static uint64_t guest_access(unsigned v, uint64_t addr, int dir, uint64_t data)
{
	volatile struct ioreq *r = &page_mem.slot[v];
	uint32_t port = LOCAL(REMOTE(v));
	unsigned before;

	pthread_mutex_lock(&f.lock);
	before = f.notifies;
	pthread_mutex_unlock(&f.lock);
	r->addr = addr;
	r->data = data;
	r->size = 4;
	r->count = 1;
	r->dir = dir;
	r->data_is_ptr = 0;
	r->type = IOREQ_TYPE_COPY;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r->state = STATE_IOREQ_READY;
	assert_int_equal(write(f.pipe[1], &port, sizeof(port)), sizeof(port));
	pthread_mutex_lock(&f.lock);
	while (f.notifies == before)
		pthread_cond_wait(&f.cond, &f.lock);
	assert_int_equal(f.notified, port);
	pthread_mutex_unlock(&f.lock);
	assert_int_equal(r->state, STATE_IORESP_READY);
	return r->data;
}

static void test_serves_every_vcpu(void **state)
{
	struct xen_ioreq *s;
	struct win a = {{&win_ops, 0x2000000, 0x200}, 0, 0};
	struct win b = {{&win_ops, 0x2000100, 0x200}, 0, 0};
	struct xen_ioreq_stats st;

	(void)state;
	assert_int_equal(xen_ioreq_create(&s, DOMID, "g (domain 5)"), 0);
	assert_true(f.created && f.enabled);
	assert_int_equal(xen_ioreq_vcpus(s), 2);
	assert_int_equal(xen_ioreq_add(s, &a.w), 0);
	assert_int_equal(f.ranges, 1);
	assert_int_equal(f.range_start, 0x2000000);
	assert_int_equal(f.range_end, 0x20001ff);
	assert_int_equal(xen_ioreq_add(s, &b.w), -EEXIST); /* overlaps a */
	assert_int_equal(f.ranges, 1);

	assert_int_equal(guest_access(0, 0x2000070, IOREQ_READ, 0), 0x1070);
	assert_int_equal(guest_access(1, 0x2000070, IOREQ_READ, 0), 0x1070);
	guest_access(1, 0x2000050, IOREQ_WRITE, 7);
	assert_int_equal(a.wrote_off, 0x50);
	assert_int_equal(a.wrote_val, 7);

	xen_ioreq_remove(s, &a.w);
	assert_int_equal(f.ranges, 0);
	/* A late access to a removed window is answered, not served. */
	assert_int_equal(guest_access(0, 0x2000070, IOREQ_READ, 0), 0xffffffff);
	assert_int_equal(xen_ioreq_set_irq(s, 33), 0);
	assert_int_equal(f.irq, 33);
	xen_ioreq_get_stats(s, &st);
	assert_int_equal(st.reads, 2);
	assert_int_equal(st.writes, 1);
	assert_int_equal(st.unclaimed, 1);
	xen_ioreq_destroy(s);
	assert_int_equal(f.destroyed, 1);
	assert_int_equal(f.unmapped_res, 1);
	assert_int_equal(f.unbound, 2);
}

static void test_no_ioreq_in_xen(void **state)
{
	struct xen_ioreq *s = NULL;

	(void)state;
	f.create_errno = ENOSYS;
	assert_int_equal(xen_ioreq_create(&s, DOMID, "g (domain 5)"), -ENOSYS);
	assert_null(s);
	assert_non_null(strstr(last_err, "g (domain 5): cannot create an "
					 "IOREQ server: this Xen was built "
					 "without IOREQ server support"));
	assert_non_null(strstr(last_err, "CONFIG_IOREQ_SERVER"));
	assert_int_equal(f.destroyed, 0);
}

static void test_not_privileged(void **state)
{
	struct xen_ioreq *s = NULL;

	(void)state;
	f.create_errno = EPERM;
	assert_int_equal(xen_ioreq_create(&s, DOMID, "g (domain 5)"), -EPERM);
	assert_non_null(strstr(last_err, "g (domain 5): cannot create an "
					 "IOREQ server: not privileged for "
					 "this guest"));
	assert_non_null(strstr(last_err, "virtiobox xen-target <this domain> "
					 "5"));
	/* A server created but its page refused: the same words, the
	 * server given back. */
	f.create_errno = 0;
	f.map_errno = EPERM;
	assert_int_equal(xen_ioreq_create(&s, DOMID, "g (domain 5)"), -EPERM);
	assert_non_null(strstr(last_err, "cannot map the IOREQ server's page: "
					 "not privileged for this guest"));
	assert_non_null(strstr(last_err, "virtiobox xen-target"));
	assert_int_equal(f.destroyed, 1);
	f.map_errno = 0;
	/* XSM SILO: the same refusal, but the probe names the policy. */
	f.create_errno = EPERM;
	f.unbound_errno = EPERM;
	assert_int_equal(xen_ioreq_create(&s, DOMID, "g (domain 5)"), -EPERM);
	assert_non_null(strstr(last_err, "g (domain 5): cannot create an "
					 "IOREQ server: Xen refuses event "
					 "channels between this domain and "
					 "the guest"));
	assert_non_null(strstr(last_err, "SILO"));
	assert_non_null(strstr(last_err, "xsm=dummy"));
	assert_int_equal(f.probes, 3);
}

static void test_no_privcmd(void **state)
{
	struct xen_ioreq *s = NULL;

	(void)state;
	f.dm_open_errno = ENOENT;
	assert_int_equal(xen_ioreq_create(&s, DOMID, "g (domain 5)"), -ENOENT);
	assert_non_null(strstr(last_err, "/dev/xen/privcmd"));
}

static void test_later_failures_undo(void **state)
{
	struct xen_ioreq *s = NULL;

	(void)state;
	f.map_errno = EFAULT;
	assert_int_equal(xen_ioreq_create(&s, DOMID, "g"), -EFAULT);
	assert_non_null(strstr(last_err, "cannot map the IOREQ server's page"));
	assert_int_equal(f.destroyed, 1); /* the server created is gone */
	f.map_errno = 0;
	f.bind_errno = EBUSY;
	assert_int_equal(xen_ioreq_create(&s, DOMID, "g"), -EBUSY);
	assert_int_equal(f.destroyed, 2);
	assert_int_equal(f.unmapped_res, 1);
	f.bind_errno = 0;
	f.vcpus = 0; /* a page naming no vCPU */
	memset(&page_mem, 0, sizeof(page_mem));
	assert_int_equal(xen_ioreq_create(&s, DOMID, "g"), -EPROTO);
	assert_int_equal(f.destroyed, 3);
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_serves_every_vcpu),   T(test_no_ioreq_in_xen),
		T(test_not_privileged),	     T(test_no_privcmd),
		T(test_later_failures_undo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
