// SPDX-License-Identifier: MIT
/*
 * Unit tests for xen/xen_discover.c against an in-memory xenstored on a
 * UNIX socket ($XENSTORED_PATH): entries libxl writes are offered to the
 * client and answered with state 2; state 5, online 0, a removed entry and
 * a dead domain detach and answer 6; refused entries are not offered again
 * until they come back; deferred ones are offered at the next change.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "log.h"
#include "loop.h"
#include "xen_discover.h"

/* The fake store: path -> value, and which domains exist. */
#define NODES_MAX 128
static struct {
	char path[128], val[64];
	bool used;
} node[NODES_MAX];
static bool introduced[16];
static bool hidden[16]; /* its /local/domain/N is not ours to read */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int conn_fd = -1, listen_fd = -1;
static pthread_t server;
static char sock_path[64];

#define BE "/local/domain/0/backend/virtio"

static int find_node(const char *path)
{
	for (int i = 0; i < NODES_MAX; i++)
		if (node[i].used && !strcmp(node[i].path, path))
			return i;
	return -1;
}

static void set_node(const char *path, const char *val)
{
	int i = find_node(path);

	for (int j = 0; i < 0 && j < NODES_MAX; j++)
		if (!node[j].used)
			i = j;
	assert_true(i >= 0);
	node[i].used = true;
	snprintf(node[i].path, sizeof(node[i].path), "%s", path);
	snprintf(node[i].val, sizeof(node[i].val), "%s", val);
}

static void rm_tree(const char *prefix)
{
	size_t n = strlen(prefix);

	for (int i = 0; i < NODES_MAX; i++)
		if (node[i].used && !strncmp(node[i].path, prefix, n) &&
		    (node[i].path[n] == '/' || !node[i].path[n]))
			node[i].used = false;
}

static const char *get(const char *path)
{
	int i;
	const char *v;

	pthread_mutex_lock(&lock);
	i = find_node(path);
	v = i < 0 ? NULL : node[i].val;
	pthread_mutex_unlock(&lock);
	return v;
}

static void send_msg(uint32_t type, uint32_t req_id, const void *p,
		     unsigned len)
{
	struct xsd_sockmsg h = {.type = type, .req_id = req_id, .len = len};

	/* No client yet: it reads the store when it connects. A short write
	 * shows up as a failing client request, not here (server thread). */
	if (conn_fd < 0 || write(conn_fd, &h, sizeof(h)) != sizeof(h))
		return;
	if (len && write(conn_fd, p, len) != (ssize_t)len)
		return;
}

static void send_event(void)
{
	static const char ev[] = BE "\0vb-backend";

	send_msg(XS_WATCH_EVENT, 0, ev, sizeof(ev));
}

/* Children of path, NUL-separated, each once. */
static unsigned directory(const char *path, char *out, size_t max)
{
	size_t n = strlen(path), len = 0;

	for (int i = 0; i < NODES_MAX; i++) {
		const char *p = node[i].path, *child, *end;
		char name[64];
		bool dup = false;

		if (!node[i].used || strncmp(p, path, n) || p[n] != '/')
			continue;
		child = p + n + 1;
		end = strchr(child, '/');
		snprintf(name, sizeof(name), "%.*s",
			 (int)(end ? (size_t)(end - child) : strlen(child)),
			 child);
		for (size_t k = 0; k < len; k += strlen(out + k) + 1)
			dup |= !strcmp(out + k, name);
		if (!dup && len + strlen(name) + 1 <= max) {
			strcpy(out + len, name);
			len += strlen(name) + 1;
		}
	}
	return (unsigned)len;
}

static void answer(const struct xsd_sockmsg *h, char *body)
{
	char out[1024], path[160];
	const char *err = NULL;
	unsigned len = 0;
	int i;

	snprintf(path, sizeof(path), "%s%.128s",
		 body[0] == '/' || body[0] == '@' ? "" : "/local/domain/0/",
		 body);
	switch (h->type) {
	case XS_READ:
		i = find_node(path);
		if (!strncmp(path, "/local/domain/", 14) &&
		    hidden[atoi(path + 14) & 15])
			err = "EACCES";
		else if (i < 0)
			err = "ENOENT";
		else
			len = (unsigned)strlen(strcpy(out, node[i].val));
		break;
	case XS_WRITE:
		set_node(path, body + strlen(body) + 1);
		len = 3;
		memcpy(out, "OK", 3);
		break;
	case XS_RM:
		rm_tree(path);
		len = 3;
		memcpy(out, "OK", 3);
		break;
	case XS_DIRECTORY:
		len = directory(path, out, sizeof(out));
		break;
	case XS_WATCH:
	case XS_IS_DOMAIN_INTRODUCED:
		len = 2;
		out[0] = h->type == XS_WATCH || introduced[atoi(body) & 15]
				 ? (h->type == XS_WATCH ? 'O' : 'T')
				 : 'F';
		out[1] = h->type == XS_WATCH ? 'K' : '\0';
		break;
	default:
		err = "EINVAL";
	}
	if (err)
		send_msg(XS_ERROR, h->req_id, err, (unsigned)strlen(err) + 1);
	else
		send_msg(h->type, h->req_id, out, len);
	if (h->type == XS_WATCH)
		send_event(); /* xenstored fires every new watch once */
}

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		struct xsd_sockmsg h;
		char body[XENSTORE_PAYLOAD_MAX + 1];

		if (recv(conn_fd, &h, sizeof(h), MSG_WAITALL) != sizeof(h) ||
		    h.len > XENSTORE_PAYLOAD_MAX ||
		    (h.len &&
		     recv(conn_fd, body, h.len, MSG_WAITALL) != (ssize_t)h.len))
			return NULL;
		body[h.len] = '\0';
		pthread_mutex_lock(&lock);
		answer(&h, body);
		pthread_mutex_unlock(&lock);
	}
}

static void *accept_one(void *arg)
{
	(void)arg;
	conn_fd = accept(listen_fd, NULL, NULL);
	return conn_fd < 0 ? NULL : serve(NULL);
}

/* What libxl writes for one `type=virtio,device22, transport=mmio`, with
 * the back-end in the domain whose backend/virtio is be. */
static void libxl_add_at(const char *be, unsigned domid, unsigned devid,
			 const char *name)
{
	char p[160], base[16], irq[8], dom[64];

	snprintf(dom, sizeof(dom), "/local/domain/%u/name", domid);
	snprintf(base, sizeof(base), "0x%x", 0x2000000 + devid * 0x200);
	snprintf(irq, sizeof(irq), "%u", 33 + devid);
	pthread_mutex_lock(&lock);
	introduced[domid & 15] = true;
	set_node(dom, name);
#define KEY(k, v)                                                   \
	snprintf(p, sizeof(p), "%s/%u/%u/%s", be, domid, devid, k); \
	set_node(p, v)
	KEY("online", "1");
	KEY("state", "1");
	KEY("base", base);
	KEY("irq", irq);
	KEY("type", "virtio,device22");
	KEY("grant_usage", devid ? "0" : "1");
#undef KEY
	send_event();
	pthread_mutex_unlock(&lock);
}

static void libxl_add(unsigned domid, unsigned devid, const char *name)
{
	libxl_add_at(BE, domid, devid, name);
}

static void change(const char *path, const char *val)
{
	pthread_mutex_lock(&lock);
	if (val)
		set_node(path, val);
	else
		rm_tree(path);
	send_event();
	pthread_mutex_unlock(&lock);
}

/* The client: records what it was offered and answers from a script. */
struct rec {
	struct xen_discover_client c;
	int answer; /* what attach returns */
	unsigned attached, detached, offered;
	struct xen_virtio_entry last;
	unsigned rank[4]; /* by devid */
	uint16_t det_domid;
	unsigned det_devid;
};

static int rec_attach(struct xen_discover_client *c,
		      const struct xen_virtio_entry *e)
{
	struct rec *r = container_of(c, struct rec, c);

	r->offered++;
	r->last = *e;
	if (e->devid < 4)
		r->rank[e->devid] = e->rank;
	if (!r->answer)
		r->attached++;
	return r->answer;
}

static void rec_detach(struct xen_discover_client *c, uint16_t domid,
		       unsigned devid)
{
	struct rec *r = container_of(c, struct rec, c);

	r->detached++;
	r->det_domid = domid;
	r->det_devid = devid;
}

static const struct xen_discover_ops rec_ops = {rec_attach, rec_detach};

static struct loop *ctl;
static struct rec rec;

static char last_warn[512];
static unsigned warns;

static void quiet(enum log_level level, const char *line)
{
	if (level != LOG_LEVEL_WARN)
		return;
	warns++;
	snprintf(last_warn, sizeof(last_warn), "%s", line);
}

static int setup(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	(void)state;
	memset(node, 0, sizeof(node));
	memset(introduced, 0, sizeof(introduced));
	memset(hidden, 0, sizeof(hidden));
	memset(&rec, 0, sizeof(rec));
	rec.c.ops = &rec_ops;
	set_node("/local/domain/0/domid", "0");
	snprintf(sock_path, sizeof(sock_path), "/tmp/vb-xsd-%d.sock",
		 (int)getpid());
	unlink(sock_path);
	strcpy(sa.sun_path, sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (void *)&sa, sizeof(sa)) ||
	    listen(listen_fd, 1))
		return -1;
	setenv("XENSTORED_PATH", sock_path, 1);
	log_set_hook(quiet);
	pthread_create(&server, NULL, accept_one, NULL);
	return loop_create(&ctl);
}

static int teardown(void **state)
{
	(void)state;
	loop_destroy(ctl);
	if (conn_fd < 0) { /* the client never came: unblock the accept */
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		strcpy(sa.sun_path, sock_path);
		connect(fd, (void *)&sa, sizeof(sa));
		close(fd);
	}
	if (conn_fd >= 0)
		shutdown(conn_fd, SHUT_RDWR);
	pthread_join(server, NULL);
	if (conn_fd >= 0)
		close(conn_fd);
	conn_fd = -1;
	close(listen_fd);
	unlink(sock_path);
	log_set_hook(NULL);
	return 0;
}

/* Let the control loop handle what the fake sent. */
static void settle(void)
{
	while (loop_run_once(ctl, 100) > 0)
		;
}

static void test_existing_and_new_entries(void **state)
{
	struct xen_discover *x;

	(void)state;
	libxl_add(5, 0, "guest1");
	assert_int_equal(xen_discover_create(&x, ctl, &rec.c), 0);
	assert_int_equal(xen_discover_self(x), 0);
	settle();
	assert_int_equal(rec.attached, 1);
	assert_int_equal(rec.last.domid, 5);
	assert_int_equal(rec.last.devid, 0);
	assert_string_equal(rec.last.domain, "guest1");
	assert_int_equal(rec.last.base, 0x2000000);
	assert_int_equal(rec.last.irq, 33);
	assert_int_equal(rec.last.device_id, 34);
	assert_true(rec.last.grant);
	assert_string_equal(get(BE "/5/0/state"), "2");
	/* A second device later: offered once, foreign memory. */
	libxl_add(5, 1, "guest1");
	settle();
	assert_int_equal(rec.attached, 2);
	assert_int_equal(rec.last.devid, 1);
	assert_false(rec.last.grant);
	assert_string_equal(get(BE "/5/1/state"), "2");
	/* More changes offer nothing again. */
	change("/local/domain/5/unrelated", "x");
	settle();
	assert_int_equal(rec.offered, 2);
	xen_discover_destroy(x);
	assert_int_equal(rec.detached, 2);
	assert_string_equal(get(BE "/5/0/state"), "6");
	assert_string_equal(get(BE "/5/1/state"), "6");
}

static void test_closing_offline_removed_dead(void **state)
{
	struct xen_discover *x;

	(void)state;
	assert_int_equal(xen_discover_create(&x, ctl, &rec.c), 0);
	libxl_add(5, 0, "g");
	libxl_add(5, 1, "g");
	libxl_add(6, 0, "h");
	libxl_add(7, 0, "i");
	settle();
	assert_int_equal(rec.attached, 4);
	change(BE "/5/0/state", "5"); /* libxl: Closing */
	settle();
	assert_int_equal(rec.detached, 1);
	assert_int_equal(rec.det_domid, 5);
	assert_int_equal(rec.det_devid, 0);
	assert_string_equal(get(BE "/5/0/state"), "6");
	change(BE "/5/1/online", "0");
	settle();
	assert_int_equal(rec.detached, 2);
	assert_int_equal(rec.det_devid, 1);
	assert_string_equal(get(BE "/5/1/state"), "6");
	change(BE "/6", NULL); /* entries removed */
	settle();
	assert_int_equal(rec.detached, 3);
	assert_int_equal(rec.det_domid, 6);
	assert_null(get(BE "/6/0/state"));
	pthread_mutex_lock(&lock);
	introduced[7] = false; /* died; libxl did not clean up */
	pthread_mutex_unlock(&lock);
	change("/local/domain/7", NULL);
	settle();
	assert_int_equal(rec.detached, 4);
	assert_int_equal(rec.det_domid, 7);
	xen_discover_destroy(x);
	assert_int_equal(rec.detached, 4);
	assert_int_equal(rec.offered, 4);
}

static void test_refused_and_deferred(void **state)
{
	struct xen_discover *x;

	(void)state;
	rec.answer = -ENOENT;
	assert_int_equal(xen_discover_create(&x, ctl, &rec.c), 0);
	libxl_add(5, 0, "stranger");
	settle();
	assert_int_equal(rec.offered, 1);
	assert_string_equal(get(BE "/5/0/state"), "1");
	change("/local/domain/5/x", "y");
	settle();
	assert_int_equal(rec.offered, 1); /* not offered again */
	change(BE "/5/0/state", "5");	  /* xl destroy: Closing, answered */
	settle();
	assert_string_equal(get(BE "/5/0/state"), "6");
	assert_int_equal(rec.detached, 0);
	change(BE "/5", NULL);
	settle();
	rec.answer = -EAGAIN;
	libxl_add(5, 0, "stranger"); /* back: offered again */
	settle();
	assert_int_equal(rec.offered, 2);
	rec.answer = 0;
	change("/local/domain/5/x", "z"); /* deferred: offered at a change */
	settle();
	assert_int_equal(rec.offered, 3);
	assert_int_equal(rec.attached, 1);
	assert_string_equal(get(BE "/5/0/state"), "2");
	xen_discover_destroy(x);
}

static void test_bad_entry_ignored(void **state)
{
	struct xen_discover *x;

	(void)state;
	assert_int_equal(xen_discover_create(&x, ctl, &rec.c), 0);
	libxl_add(5, 0, "g");
	change(BE "/5/1/online", "1");
	change(BE "/5/1/state", "1");
	change(BE "/5/1/irq", "0"); /* no transport=mmio */
	change(BE "/5/1/base", "0x0");
	change(BE "/5/1/type", "virtio,device22");
	settle();
	assert_int_equal(rec.offered, 1);
	assert_int_equal(rec.last.devid, 0);
	assert_string_equal(get(BE "/5/1/state"), "1");
	xen_discover_destroy(x);
}

/*
 * A driver domain before dom0 made it the guest's device model: it may
 * not read the guest's nodes. The entries wait (state stays 1, nothing
 * offered), one line says what to run, and a timer tries again until the
 * nodes are readable (virtiobox xen-target); a Closing is answered.
 */
static void test_waits_for_device_model(void **state)
{
	struct xen_discover *x;

	(void)state;
	assert_int_equal(xen_discover_create(&x, ctl, &rec.c), 0);
	pthread_mutex_lock(&lock);
	hidden[5] = true;
	pthread_mutex_unlock(&lock);
	warns = 0;
	libxl_add(5, 0, "guest1");
	libxl_add(5, 1, "guest1");
	settle();
	assert_int_equal(rec.offered, 0);
	assert_string_equal(get(BE "/5/0/state"), "1");
	assert_int_equal(warns, 1); /* once per guest */
	assert_non_null(strstr(last_warn, "domain 5 virtio device 0: not "
					  "served yet: this domain (0) is not "
					  "domain 5's device model"));
	assert_non_null(strstr(last_warn, "virtiobox xen-target 0 5"));
	/* Retried by the timer: still hidden, nothing new said. */
	while (loop_run_once(ctl, 1300) > 0 && warns == 1 && !rec.offered)
		break;
	assert_int_equal(warns, 1);
	assert_int_equal(rec.offered, 0);
	/* dom0 ran xen-target: served within a second, with no change. */
	pthread_mutex_lock(&lock);
	hidden[5] = false;
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 30 && rec.attached < 2; i++)
		loop_run_once(ctl, 100);
	assert_int_equal(rec.attached, 2);
	assert_string_equal(rec.last.domain, "guest1");
	assert_string_equal(get(BE "/5/0/state"), "2");
	assert_string_equal(get(BE "/5/1/state"), "2");
	/* Another guest never made ours, destroyed: its Closing answered. */
	pthread_mutex_lock(&lock);
	hidden[6] = true;
	pthread_mutex_unlock(&lock);
	libxl_add(6, 0, "guest2");
	settle();
	change(BE "/6/0/state", "5");
	settle();
	assert_string_equal(get(BE "/6/0/state"), "6");
	assert_int_equal(rec.offered, 2);
	xen_discover_destroy(x);
}

/*
 * In a driver domain libxl waits for the back-end to remove its entries
 * (xl devd's job there): a closed entry goes 3 s after Closed, its
 * domain's directory with its last entry.
 */
static void test_driver_domain_removes_closed(void **state)
{
#define DD "/local/domain/3/backend/virtio"
	struct xen_discover *x;

	(void)state;
	/* The fake answers relative paths from domain 0's nodes. */
	set_node("/local/domain/0/domid", "3");
	assert_int_equal(xen_discover_create(&x, ctl, &rec.c), 0);
	assert_int_equal(xen_discover_self(x), 3);
	libxl_add_at(DD, 5, 0, "guest1");
	libxl_add_at(DD, 5, 1, "guest1");
	settle();
	assert_int_equal(rec.attached, 2);
	assert_string_equal(get(DD "/5/0/state"), "2");
	change(DD "/5/0/state", "5");
	change(DD "/5/1/online", "0");
	settle();
	assert_int_equal(rec.detached, 2);
	assert_string_equal(get(DD "/5/0/state"), "6"); /* libxl reads it */
	assert_string_equal(get(DD "/5/1/state"), "6");
	for (int i = 0; i < 50 && get(DD "/5/1/state"); i++)
		loop_run_once(ctl, 100);
	assert_null(get(DD "/5/0/state"));
	assert_null(get(DD "/5/1/online"));
	xen_discover_destroy(x);
	assert_int_equal(rec.detached, 2);
#undef DD
}

/*
 * libxl numbers a guest's entries in xl.cfg order but may write them in
 * any order: an entry waits until every lower devid exists, and its rank
 * counts the lower ones of its type (what the board matches by).
 */
static void test_entries_ranked_in_devid_order(void **state)
{
	struct xen_discover *x;

	(void)state;
	assert_int_equal(xen_discover_create(&x, ctl, &rec.c), 0);
	libxl_add(5, 2, "guest1");
	libxl_add(5, 1, "guest1");
	settle();
	assert_int_equal(rec.offered, 0);
	assert_string_equal(get(BE "/5/2/state"), "1");
	change(BE "/5/1/type", "virtio,device29"); /* gpio */
	libxl_add(5, 0, "guest1");
	settle();
	assert_int_equal(rec.attached, 3);
	assert_int_equal(rec.rank[0], 0);
	assert_int_equal(rec.rank[1], 0); /* the first gpio */
	assert_int_equal(rec.rank[2], 1); /* the second i2c */
	assert_string_equal(get(BE "/5/2/state"), "2");
	xen_discover_destroy(x);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_existing_and_new_entries),
		T(test_closing_offline_removed_dead),
		T(test_refused_and_deferred),
		T(test_bad_entry_ignored),
		T(test_waits_for_device_model),
		T(test_driver_domain_removes_closed),
		T(test_entries_ranked_in_devid_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
