// SPDX-License-Identifier: MIT
#include "xen_ioreq.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
/* The libraries' headers define the types the raw xen/ headers use. */
/* clang-format off */
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xentoollog.h>
#include <xen/memory.h>
/* clang-format on */

#include "log.h"
#include "loop.h"
#include "xen_ioreq_slot.h"
#include "xen_target.h"

/* The synchronous ioreq page has one slot per vCPU. */
#define VCPUS_MAX (4096 / sizeof(struct ioreq))

struct xen_ioreq {
	uint16_t domid;
	char label[96];
	xentoollog_logger_stdiostream *xtl;
	xendevicemodel_handle *dm;
	xenforeignmemory_handle *fm;
	xenevtchn_handle *ev;
	xenforeignmemory_resource_handle *res;
	struct shared_iopage *page;
	ioservid_t id;
	bool created;

	unsigned nvcpus;
	evtchn_port_t port[VCPUS_MAX]; /* local port of vCPU i */

	/*
	 * Held by the IOREQ thread while it answers one slot, and by the
	 * control thread while it changes the table: a window removed is
	 * never called again. Never held across a wait on a device.
	 */
	pthread_mutex_t lock;
	struct xen_ioreq_table table;
	struct xen_ioreq_stats st;
	struct log_ratelimit rl; /* this guest's lines it can cause */

	struct loop *loop;
	struct loop_source evsrc;
	pthread_t thread;
	bool running;
};

static int fail(struct xen_ioreq *s, const char *step, int err)
{
	log_err("%s: %s: %s", s->label, step, strerror(err));
	return -err;
}

/*
 * Under XSM SILO (the default of Xen on Arm) or a FLASK policy without it,
 * Xen refuses event channels between two domUs, and with them the IOREQ
 * server's: an unbound port offered to the guest tells.
 */
static bool evtchn_refused(struct xen_ioreq *s)
{
	xenevtchn_port_or_error_t p =
		xenevtchn_bind_unbound_port(s->ev, s->domid);

	if (p >= 0) {
		xenevtchn_unbind(s->ev, (evtchn_port_t)p);
		return false;
	}
	return errno == EPERM || errno == EACCES;
}

/* A driver domain that is not the guest's device model, and why. */
static int not_privileged(struct xen_ioreq *s, const char *op, int err)
{
	if (evtchn_refused(s)) {
		log_err("%s: cannot %s: Xen refuses event channels between "
			"this domain and the guest: its XSM policy keeps domUs "
			"apart (SILO, the default of Xen on Arm, or a FLASK "
			"policy that does not allow it): boot Xen with "
			"xsm=dummy, or load a FLASK policy that lets this "
			"domain be the guest's device model: %s",
			s->label, op, strerror(err));
		return -err;
	}
	if (xen_target_privcmd_restricted() == 1) {
		log_err("%s: cannot %s: this domain's kernel restricts "
			"/dev/xen/privcmd to the domain its xenstore "
			"\"target\" "
			"node named at boot, and it named none (Linux's domU "
			"privcmd restriction): boot this driver domain with "
			"xen_privcmd.unrestricted=1; dom0 still has to run "
			"virtiobox xen-target <this domain> %u: %s",
			s->label, op, s->domid, strerror(err));
		return -err;
	}
	if (xen_target_flask() == 1) {
		log_err("%s: cannot %s: Xen's FLASK policy does not let this "
			"domain be the guest's device model: label this "
			"driver domain with a type it allows (with "
			"xen/flask/virtiobox.te in the policy, its xl config "
			"says seclabel = "
			"\"system_u:system_r:virtiobox_dd_t\"): %s",
			s->label, op, strerror(err));
		return -err;
	}
	log_err("%s: cannot %s: not privileged for this guest: this domain "
		"is not its device model (in dom0, after `xl create -p`: "
		"virtiobox xen-target <this domain> %u): %s",
		s->label, op, s->domid, strerror(err));
	return -err;
}

static void evtchn_ready(struct loop_source *src, uint32_t events)
{
	struct xen_ioreq *s = container_of(src, struct xen_ioreq, evsrc);
	xenevtchn_port_or_error_t port = xenevtchn_pending(s->ev);
	int answered = 0;
	unsigned i;

	(void)events;
	if (port < 0)
		return;
	xenevtchn_unmask(s->ev, (evtchn_port_t)port);
	for (i = 0; i < s->nvcpus && s->port[i] != (evtchn_port_t)port; i++)
		;
	if (i == s->nvcpus)
		return;
	pthread_mutex_lock(&s->lock);
	answered = xen_ioreq_slot_serve(&s->page->vcpu_ioreq[i], &s->table,
					&s->st, s->label, &s->rl);
	pthread_mutex_unlock(&s->lock);
	if (answered)
		xenevtchn_notify(s->ev, (evtchn_port_t)port);
}

static void *ioreq_thread(void *arg)
{
	struct xen_ioreq *s = arg;
	int ret = loop_run(s->loop);

	if (ret)
		log_err("%s: IOREQ loop failed: %s", s->label, strerror(-ret));
	return NULL;
}

static int open_handles(struct xen_ioreq *s)
{
	xentoollog_logger *lg;

	/* Our own messages name the guest; the libraries' would not. */
	s->xtl = xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	lg = (xentoollog_logger *)s->xtl;
	s->dm = xendevicemodel_open(lg, 0);
	if (!s->dm)
		return fail(s,
			    "cannot open the device model interface "
			    "(/dev/xen/privcmd; needs root in dom0 or a "
			    "driver domain)",
			    errno);
	s->fm = xenforeignmemory_open(lg, 0);
	if (!s->fm)
		return fail(s,
			    "cannot open foreign memory (/dev/xen/privcmd; "
			    "needs root)",
			    errno);
	s->ev = xenevtchn_open(lg, 0);
	if (!s->ev)
		return fail(s,
			    "cannot open event channels (/dev/xen/evtchn; "
			    "needs root)",
			    errno);
	return 0;
}

static int create_server(struct xen_ioreq *s)
{
	if (!xendevicemodel_create_ioreq_server(
		    s->dm, s->domid, HVM_IOREQSRV_BUFIOREQ_OFF, &s->id)) {
		s->created = true;
		return 0;
	}
	if (errno == ENOSYS || errno == EOPNOTSUPP)
		return fail(s,
			    "cannot create an IOREQ server: this Xen was "
			    "built without IOREQ server support (it needs "
			    "CONFIG_IOREQ_SERVER, an EXPERT option Debian's "
			    "arm64 Xen leaves out); virtio-mmio devices "
			    "cannot be served",
			    errno);
	if (errno == EPERM || errno == EACCES)
		return not_privileged(s, "create an IOREQ server", errno);
	return fail(s, "cannot create an IOREQ server", errno);
}

static int map_page(struct xen_ioreq *s)
{
	void *addr = NULL;

	s->res = xenforeignmemory_map_resource(
		s->fm, s->domid, XENMEM_resource_ioreq_server, s->id,
		XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr,
		PROT_READ | PROT_WRITE, 0);
	if (!s->res && (errno == EPERM || errno == EACCES))
		return not_privileged(s, "map the IOREQ server's page", errno);
	if (!s->res)
		return fail(s, "cannot map the IOREQ server's page", errno);
	s->page = addr;
	return 0;
}

/*
 * Xen stores each vCPU's event channel in its slot when the server is
 * enabled; slots past the last vCPU stay zero (port 0 is never used).
 */
static int bind_vcpus(struct xen_ioreq *s)
{
	for (unsigned i = 0; i < VCPUS_MAX; i++) {
		uint32_t remote = s->page->vcpu_ioreq[i].vp_eport;
		xenevtchn_port_or_error_t p;

		if (!remote)
			break;
		p = xenevtchn_bind_interdomain(s->ev, s->domid, remote);
		if (p < 0)
			return fail(s, "cannot bind a vCPU's event channel",
				    errno);
		s->port[s->nvcpus++] = (evtchn_port_t)p;
	}
	if (!s->nvcpus)
		return fail(s, "the IOREQ page names no vCPU", EPROTO);
	return 0;
}

static int start_thread(struct xen_ioreq *s)
{
	int ret = loop_create(&s->loop);

	if (ret)
		return fail(s, "cannot create the IOREQ loop", -ret);
	loop_source_init(&s->evsrc, xenevtchn_fd(s->ev), evtchn_ready);
	ret = loop_add(s->loop, &s->evsrc, EPOLLIN);
	if (ret)
		return fail(s, "cannot poll the event channels", -ret);
	ret = pthread_create(&s->thread, NULL, ioreq_thread, s);
	if (ret)
		return fail(s, "cannot start the IOREQ thread", ret);
	s->running = true;
	return 0;
}

int xen_ioreq_create(struct xen_ioreq **out, uint16_t domid, const char *label)
{
	struct xen_ioreq *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->domid = domid;
	snprintf(s->label, sizeof(s->label), "%s", label);
	pthread_mutex_init(&s->lock, NULL);
	ret = open_handles(s);
	if (!ret)
		ret = create_server(s);
	if (!ret)
		ret = map_page(s);
	if (!ret &&
	    xendevicemodel_set_ioreq_server_state(s->dm, domid, s->id, 1))
		ret = fail(s, "cannot enable the IOREQ server", errno);
	if (!ret)
		ret = bind_vcpus(s);
	if (!ret)
		ret = start_thread(s);
	if (ret) {
		xen_ioreq_destroy(s);
		return ret;
	}
	log_info("%s: IOREQ server %u, %u vCPU(s)", s->label, s->id, s->nvcpus);
	*out = s;
	return 0;
}

void xen_ioreq_destroy(struct xen_ioreq *s)
{
	if (!s)
		return;
	if (s->running) {
		loop_stop(s->loop);
		pthread_join(s->thread, NULL);
	}
	if (s->loop) {
		loop_remove(&s->evsrc);
		loop_destroy(s->loop);
	}
	for (unsigned i = 0; i < s->nvcpus; i++)
		xenevtchn_unbind(s->ev, s->port[i]);
	/* A dead guest's server is gone already (ESRCH): nothing to say. */
	if (s->created &&
	    xendevicemodel_destroy_ioreq_server(s->dm, s->domid, s->id) &&
	    errno != ESRCH)
		log_warn("%s: cannot destroy IOREQ server %u: %s", s->label,
			 s->id, strerror(errno));
	if (s->res)
		xenforeignmemory_unmap_resource(s->fm, s->res);
	if (s->ev)
		xenevtchn_close(s->ev);
	if (s->fm)
		xenforeignmemory_close(s->fm);
	if (s->dm)
		xendevicemodel_close(s->dm);
	if (s->xtl)
		xtl_logger_destroy((xentoollog_logger *)s->xtl);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static bool overlaps(const struct xen_ioreq_window *a,
		     const struct xen_ioreq_window *b)
{
	return a->base < b->base + b->size && b->base < a->base + a->size;
}

int xen_ioreq_add(struct xen_ioreq *s, struct xen_ioreq_window *w)
{
	int ret = 0;

	if (!w->size || w->base + w->size < w->base)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->table.n && !ret; i++)
		if (overlaps(s->table.w[i], w))
			ret = -EEXIST;
	if (!ret && s->table.n == XEN_IOREQ_WINDOWS_MAX)
		ret = -ENOSPC;
	if (!ret)
		s->table.w[s->table.n++] = w;
	pthread_mutex_unlock(&s->lock);
	if (ret)
		return ret;
	if (xendevicemodel_map_io_range_to_ioreq_server(
		    s->dm, s->domid, s->id, 1, w->base,
		    w->base + w->size - 1)) {
		ret = -errno;
		log_err("%s: cannot claim MMIO 0x%llx-0x%llx: %s", s->label,
			(unsigned long long)w->base,
			(unsigned long long)(w->base + w->size - 1),
			strerror(errno));
		xen_ioreq_remove(s, w);
	}
	return ret;
}

void xen_ioreq_remove(struct xen_ioreq *s, struct xen_ioreq_window *w)
{
	unsigned i;

	/* A dead guest has no ranges left to give back. */
	xendevicemodel_unmap_io_range_from_ioreq_server(
		s->dm, s->domid, s->id, 1, w->base, w->base + w->size - 1);
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->table.n && s->table.w[i] != w; i++)
		;
	if (i < s->table.n) {
		s->table.w[i] = s->table.w[s->table.n - 1];
		s->table.n--;
	}
	pthread_mutex_unlock(&s->lock);
}

int xen_ioreq_set_irq(struct xen_ioreq *s, unsigned irq)
{
	int err;

	if (!xendevicemodel_set_irq_level(s->dm, s->domid, irq, 1))
		return 0;
	err = errno;
	log_msg_ratelimited(&s->rl, LOG_LEVEL_WARN,
			    "%s: cannot raise interrupt %u: %s", s->label, irq,
			    strerror(err));
	return -err;
}

void xen_ioreq_get_stats(struct xen_ioreq *s, struct xen_ioreq_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->st;
	pthread_mutex_unlock(&s->lock);
}

unsigned xen_ioreq_vcpus(const struct xen_ioreq *s)
{
	return s->nvcpus;
}
