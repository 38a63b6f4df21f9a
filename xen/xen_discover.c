// SPDX-License-Identifier: MIT
#include "xen_discover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xen_target.h"
#include "xs_client.h"

/*
 * TRACK_WAITING: this domain may not yet read the guest's xenstore nodes,
 * i.e. it is not the guest's device model (XS_SET_TARGET goes with
 * XEN_DOMCTL_set_target, see xen_target.h); tried again every second.
 */
enum track_kind { TRACK_SERVED, TRACK_REFUSED, TRACK_WAITING };

struct track {
	uint16_t domid;
	unsigned devid;
	enum track_kind kind;
	bool seen; /* present in the current scan */
};

/* A closed entry a driver domain removes once libxl has seen Closed. */
struct pending_rm {
	uint16_t domid;
	unsigned devid;
	struct timespec due;
};

struct xen_discover {
	struct xen_discover_client *client;
	struct xs_client *xs;
	unsigned self;
	char root[64]; /* /local/domain/<self>/backend/virtio */
	struct loop_source src;
	struct loop_source retry; /* a timerfd, armed while some entry waits */
	bool retry_armed;
	struct track t[XEN_DISCOVER_ENTRIES_MAX];
	unsigned n;
	struct pending_rm rm[XEN_DISCOVER_ENTRIES_MAX];
	unsigned nrm;
	bool full_logged;
};

#define TOKEN_BACKEND "vb-backend"
#define TOKEN_RELEASE "vb-release"

/* A key as a NUL-terminated string (the caller frees), or NULL. */
static char *read_key(struct xen_discover *x, const char *fmt, uint16_t domid,
		      unsigned devid, const char *key)
{
	char path[160], *val;

	snprintf(path, sizeof(path), fmt, x->root, domid, devid, key);
	return xs_client_read(x->xs, path, &val) ? NULL : val;
}

#define ENTRY_FMT "%s/%u/%u/%s"

static bool key_is(struct xen_discover *x, uint16_t domid, unsigned devid,
		   const char *key, const char *want)
{
	char *v = read_key(x, ENTRY_FMT, domid, devid, key);
	bool is = v && !strcmp(v, want);

	free(v);
	return is;
}

static void write_state(struct xen_discover *x, uint16_t domid, unsigned devid,
			int state)
{
	char path[160], val[4];

	snprintf(path, sizeof(path), ENTRY_FMT, x->root, domid, devid, "state");
	snprintf(val, sizeof(val), "%d", state);
	int ret = xs_client_write(x->xs, path, val);

	if (ret)
		log_warn("xenstore: cannot write %s = %s: %s", path, val,
			 strerror(-ret));
}

/* Is a served entry still wanted? */
static bool still_wanted(struct xen_discover *x, const struct track *t,
			 bool *exists)
{
	char *state = read_key(x, ENTRY_FMT, t->domid, t->devid, "state");
	bool want;

	*exists = state != NULL;
	want = state && strcmp(state, "5") && strcmp(state, "6") &&
	       !key_is(x, t->domid, t->devid, "online", "0") &&
	       xs_client_is_introduced(x->xs, t->domid) != 0;
	free(state);
	return want;
}

/*
 * libxl removes the back-end entries itself only when the back-end is in
 * its own domain; for a driver domain it waits up to 10 s for them to go
 * (xl devd's job), after it has seen Closed: an entry removed before
 * libxl read its Closed fails that device's removal. Under emulation
 * libxl has been seen to take more than a second to look.
 */
#define RM_DELAY_S 3
static void queue_rm(struct xen_discover *x, uint16_t domid, unsigned devid)
{
	struct pending_rm *r;

	if (!x->self || x->nrm == XEN_DISCOVER_ENTRIES_MAX)
		return;
	for (unsigned i = 0; i < x->nrm; i++)
		if (x->rm[i].domid == domid && x->rm[i].devid == devid)
			return;
	r = &x->rm[x->nrm++];
	r->domid = domid;
	r->devid = devid;
	clock_gettime(CLOCK_MONOTONIC, &r->due);
	r->due.tv_sec += RM_DELAY_S;
}

static bool is_due(const struct timespec *due, const struct timespec *now)
{
	return now->tv_sec > due->tv_sec ||
	       (now->tv_sec == due->tv_sec && now->tv_nsec >= due->tv_nsec);
}

static void remove_due(struct xen_discover *x)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (unsigned i = x->nrm; i-- > 0;) {
		char path[96], **left = NULL;
		unsigned n = 1;

		if (!is_due(&x->rm[i].due, &now))
			continue;
		snprintf(path, sizeof(path), "%s/%u/%u", x->root,
			 x->rm[i].domid, x->rm[i].devid);
		xs_client_rm(x->xs, path);
		snprintf(path, sizeof(path), "%s/%u", x->root, x->rm[i].domid);
		if (!xs_client_directory(x->xs, path, &left, &n) && !n)
			xs_client_rm(x->xs, path);
		free(left);
		x->rm[i] = x->rm[--x->nrm];
	}
}

/* Closed: what libxl waits for when it removes a device. */
static void closed(struct xen_discover *x, uint16_t domid, unsigned devid)
{
	write_state(x, domid, devid, XEN_VIRTIO_STATE_CLOSED);
	queue_rm(x, domid, devid);
}

static void drop(struct xen_discover *x, unsigned i)
{
	x->t[i] = x->t[--x->n];
}

static void detach(struct xen_discover *x, unsigned i, bool exists)
{
	struct track t = x->t[i];

	drop(x, i);
	x->client->ops->detach(x->client, t.domid, t.devid);
	log_info("domain %u virtio device %u: no longer served", t.domid,
		 t.devid);
	if (exists)
		closed(x, t.domid, t.devid);
}

/* Served entries that went away. */
/*
 * A refused entry is ours all the same (libxl wrote it under our back-end
 * path): answer its Closing, or `xl destroy` waits 10 s for nobody.
 */
static void close_refused(struct xen_discover *x, struct track *t)
{
	char *state = read_key(x, ENTRY_FMT, t->domid, t->devid, "state");

	if (state && !strcmp(state, "5"))
		closed(x, t->domid, t->devid);
	free(state);
}

static void check_served(struct xen_discover *x)
{
	for (unsigned i = x->n; i-- > 0;) {
		bool exists;

		if (x->t[i].kind != TRACK_SERVED)
			close_refused(x, &x->t[i]);
		else if (!still_wanted(x, &x->t[i], &exists))
			detach(x, i, exists);
	}
}

/* Refused entries that are gone may be offered again if they come back. */
static void forget_unseen(struct xen_discover *x)
{
	for (unsigned i = x->n; i-- > 0;)
		if (x->t[i].kind != TRACK_SERVED && !x->t[i].seen)
			drop(x, i);
}

static struct track *find(struct xen_discover *x, uint16_t domid,
			  unsigned devid)
{
	for (unsigned i = 0; i < x->n; i++)
		if (x->t[i].domid == domid && x->t[i].devid == devid)
			return &x->t[i];
	return NULL;
}

/* The guest's name ("" when it has none); -EACCES when we may not read
 * it. */
static int read_name(struct xen_discover *x, struct xen_virtio_entry *e)
{
	char path[64], *name = NULL;
	int ret;

	snprintf(path, sizeof(path), "/local/domain/%u/name", e->domid);
	ret = xs_client_read(x->xs, path, &name);
	snprintf(e->domain, sizeof(e->domain), "%s", name ? name : "");
	free(name);
	return ret == -EACCES || ret == -EPERM ? -EACCES : 0;
}

static bool is_waiting(struct xen_discover *x, uint16_t domid)
{
	for (unsigned i = 0; i < x->n; i++)
		if (x->t[i].kind == TRACK_WAITING && x->t[i].domid == domid)
			return true;
	return false;
}

static bool may_read(struct xen_discover *x, uint16_t domid)
{
	struct xen_virtio_entry e = {.domid = domid};

	return !read_name(x, &e);
}

/* What dom0 must do before we can serve the guest; once per guest. */
static void say_waiting(struct xen_discover *x, uint16_t domid, unsigned devid)
{
	if (is_waiting(x, domid))
		return;
	log_warn("domain %u virtio device %u: not served yet: this domain "
		 "(%u) is not domain %u's device model (it may not read "
		 "/local/domain/%u in xenstore, and Xen refuses it the guest's "
		 "IOREQ server and memory). In dom0, after `xl create -p` "
		 "and before `xl unpause`, run: virtiobox xen-target %u %u "
		 "(checked again every second)",
		 domid, devid, x->self, domid, domid, x->self, domid);
}

static void track(struct xen_discover *x, uint16_t domid, unsigned devid,
		  enum track_kind kind)
{
	if (x->n == XEN_DISCOVER_ENTRIES_MAX) {
		if (!x->full_logged)
			log_err("xenstore: more than %u virtio devices: "
				"domain %u device %u and later ones are not "
				"tracked",
				XEN_DISCOVER_ENTRIES_MAX, domid, devid);
		x->full_logged = true;
		return;
	}
	x->t[x->n++] = (struct track){domid, devid, kind, true};
}

/* How many of the domain's entries below devid have this type. */
static unsigned rank_of(struct xen_discover *x, uint16_t domid, unsigned devid,
			const char *type)
{
	unsigned rank = 0;

	for (unsigned k = 0; type && k < devid; k++) {
		char *t = read_key(x, ENTRY_FMT, domid, k, "type");

		rank += t && !strcmp(t, type);
		free(t);
	}
	return rank;
}

/* A new entry: parse it and offer it to the client. */
static void offer(struct xen_discover *x, uint16_t domid, unsigned devid)
{
	struct xen_virtio_entry e = {.domid = domid, .devid = devid};
	char *base = read_key(x, ENTRY_FMT, domid, devid, "base");
	char *irq = read_key(x, ENTRY_FMT, domid, devid, "irq");
	char *type = read_key(x, ENTRY_FMT, domid, devid, "type");
	char *grant = read_key(x, ENTRY_FMT, domid, devid, "grant_usage");
	struct xen_virtio_strings s = {base, irq, type, grant};
	char why[160];
	int ret = xen_virtio_entry_parse(&e, &s, why, sizeof(why));

	e.rank = rank_of(x, domid, devid, type);
	free(base);
	free(irq);
	free(type);
	free(grant);
	if (read_name(x, &e)) {
		say_waiting(x, domid, devid);
		track(x, domid, devid, TRACK_WAITING);
		return;
	}
	if (ret) {
		log_warn("domain %u (%s) virtio device %u: not served: %s",
			 domid, e.domain, devid, why);
		track(x, domid, devid, TRACK_REFUSED);
		return;
	}
	ret = x->client->ops->attach(x->client, &e);
	if (ret == -EAGAIN)
		return;
	track(x, domid, devid, ret ? TRACK_REFUSED : TRACK_SERVED);
	if (!ret)
		write_state(x, domid, devid, XEN_VIRTIO_STATE_INITWAIT);
}

/* A device libxl is setting up (or that we served before a restart). */
static bool is_new(struct xen_discover *x, uint16_t domid, unsigned devid)
{
	char *state = read_key(x, ENTRY_FMT, domid, devid, "state");
	bool fresh = state && (!strcmp(state, "1") || !strcmp(state, "2")) &&
		     key_is(x, domid, devid, "online", "1");

	free(state);
	return fresh;
}

/*
 * Entries are offered only once every lower devid of the domain exists:
 * libxl numbers them 0..n-1 in xl.cfg order but may write them in any
 * order, and an entry's rank (which board device it gets) counts the
 * lower ones.
 */
#define DEVIDS_MAX 256

static void scan_domain(struct xen_discover *x, uint16_t domid)
{
	char path[96], **devs = NULL;
	unsigned n = 0, complete = 0;
	uint64_t present[DEVIDS_MAX / 64] = {0};

	snprintf(path, sizeof(path), "%s/%u", x->root, domid);
	xs_client_directory(x->xs, path, &devs, &n);
	for (unsigned i = 0; devs && i < n; i++) {
		unsigned devid;

		if (!xen_virtio_uint_parse(devs[i], DEVIDS_MAX - 1, &devid))
			present[devid / 64] |= 1ULL << (devid % 64);
	}
	while (complete < DEVIDS_MAX &&
	       (present[complete / 64] >> (complete % 64) & 1))
		complete++;
	for (unsigned i = 0; devs && i < n; i++) {
		unsigned devid;
		struct track *t;

		if (xen_virtio_uint_parse(devs[i], 0xffff, &devid))
			continue;
		t = find(x, domid, devid);
		if (t && t->kind == TRACK_WAITING && may_read(x, domid)) {
			drop(x, (unsigned)(t - x->t));
			t = NULL;
		}
		if (t)
			t->seen = true;
		else if (devid < complete && is_new(x, domid, devid))
			offer(x, domid, devid);
	}
	free(devs);
}

static void arm_retry(struct xen_discover *x)
{
	bool want = false;
	struct itimerspec its = {{0, 0}, {0, 0}};

	want = x->nrm > 0;
	for (unsigned i = 0; i < x->n && !want; i++)
		want = x->t[i].kind == TRACK_WAITING;
	if (want == x->retry_armed || x->retry.fd < 0)
		return;
	if (want)
		its = (struct itimerspec){{1, 0}, {1, 0}};
	if (!timerfd_settime(x->retry.fd, 0, &its, NULL))
		x->retry_armed = want;
}

void xen_discover_rescan(struct xen_discover *x)
{
	char **doms = NULL;
	unsigned n = 0;

	/* Detach first, so a rebooted guest's new entries find the devices
	 * its previous incarnation held free again. */
	check_served(x);
	for (unsigned i = 0; i < x->n; i++)
		x->t[i].seen = false;
	xs_client_directory(x->xs, x->root, &doms, &n);
	for (unsigned i = 0; doms && i < n; i++) {
		unsigned domid;

		if (!xen_virtio_uint_parse(doms[i], 0x7fef, &domid))
			scan_domain(x, (uint16_t)domid);
	}
	free(doms);
	forget_unseen(x);
	remove_due(x);
	arm_retry(x);
}

static void watch_ready(struct loop_source *src, uint32_t events)
{
	struct xen_discover *x = container_of(src, struct xen_discover, src);
	int ret = xs_client_events(x->xs);

	(void)events;
	if (ret) {
		log_err("xenstore: connection lost (%s): Xen guests are no "
			"longer discovered",
			strerror(-ret));
		loop_remove(&x->src);
		return;
	}
	/* Changes seen while comparing are compared again at once: they
	 * have been read off the connection and will not wake the loop. */
	for (unsigned i = 0; i < 8 && xs_client_take_events(x->xs); i++)
		xen_discover_rescan(x);
}

static void retry_ready(struct loop_source *src, uint32_t events)
{
	struct xen_discover *x = container_of(src, struct xen_discover, retry);
	uint64_t ticks;

	(void)events;
	if (read(src->fd, &ticks, sizeof(ticks)) < 0)
		return;
	xen_discover_rescan(x);
}

static int add_retry(struct xen_discover *x, struct loop *ctl)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int ret;

	loop_source_init(&x->retry, fd, retry_ready);
	if (fd < 0) {
		ret = -errno;
		log_err("cannot create a timer: %s", strerror(errno));
		return ret;
	}
	ret = loop_add(ctl, &x->retry, EPOLLIN);
	if (ret) {
		log_err("cannot poll a timer: %s", strerror(-ret));
		close(fd);
		x->retry.fd = -1;
	}
	return ret;
}

static void remove_retry(struct xen_discover *x)
{
	if (x->retry.fd < 0)
		return;
	if (loop_source_is_added(&x->retry))
		loop_remove(&x->retry);
	close(x->retry.fd);
	x->retry.fd = -1;
}

static int read_self(struct xen_discover *x)
{
	unsigned self;
	char *v = NULL;
	int ret;

	xs_client_read(x->xs, "domid", &v);
	ret = xen_virtio_uint_parse(v, 0x7fef, &self);
	free(v);
	if (ret) {
		log_err("xenstore: cannot read our own domid (\"domid\" of "
			"this domain); dom0 needs xen-init-dom0 to have run");
		return -ENOENT;
	}
	x->self = self;
	snprintf(x->root, sizeof(x->root), "/local/domain/%u/backend/virtio",
		 self);
	return 0;
}

int xen_discover_create(struct xen_discover **out, struct loop *ctl,
			struct xen_discover_client *c)
{
	struct xen_discover *x = calloc(1, sizeof(*x));
	int ret;

	if (!x)
		return -ENOMEM;
	x->client = c;
	ret = xs_client_open(&x->xs);
	if (ret) {
		log_err("cannot connect to xenstore: %s (is xenstored running "
			"and /proc/xen mounted?)",
			strerror(-ret));
		free(x);
		return ret;
	}
	ret = read_self(x);
	if (!ret &&
	    ((ret = xs_client_watch(x->xs, x->root, TOKEN_BACKEND)) ||
	     (ret = xs_client_watch(x->xs, "@releaseDomain", TOKEN_RELEASE))))
		log_err("xenstore: cannot watch %s: %s", x->root,
			strerror(-ret));
	if (!ret) {
		loop_source_init(&x->src, xs_client_fd(x->xs), watch_ready);
		ret = loop_add(ctl, &x->src, EPOLLIN);
		if (ret)
			log_err("cannot poll xenstore watches: %s",
				strerror(-ret));
	}
	if (!ret) {
		ret = add_retry(x, ctl);
		if (ret)
			loop_remove(&x->src);
	}
	if (ret) {
		xs_client_close(x->xs);
		free(x);
		return ret;
	}
	log_info("xenstore: domain %u, watching %s", x->self, x->root);
	if (x->self && xen_target_privcmd_restricted() == 1)
		log_warn("this driver domain's kernel restricts "
			 "/dev/xen/privcmd "
			 "(no xenstore \"target\" at boot): no guest can be "
			 "served until it is booted with "
			 "xen_privcmd.unrestricted=1");
	xs_client_take_events(x->xs); /* the watches' first events */
	xen_discover_rescan(x);
	*out = x;
	return 0;
}

void xen_discover_destroy(struct xen_discover *x)
{
	if (!x)
		return;
	for (unsigned i = x->n; i-- > 0;) {
		if (x->t[i].kind == TRACK_SERVED) {
			char *state = read_key(x, ENTRY_FMT, x->t[i].domid,
					       x->t[i].devid, "state");

			detach(x, i, state != NULL);
			free(state);
		}
	}
	loop_remove(&x->src);
	remove_retry(x);
	xs_client_close(x->xs);
	free(x);
}

unsigned xen_discover_self(const struct xen_discover *x)
{
	return x->self;
}
