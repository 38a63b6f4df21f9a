// SPDX-License-Identifier: MIT
#include "xs_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

struct xs_client {
	int fd;
	uint32_t req_id;
	unsigned events; /* watch events not yet reported */
};

static int connect_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int xs_client_open(struct xs_client **out)
{
	const char *env = getenv("XENSTORED_PATH");
	const char *socks[] = {env, "/run/xenstored/socket",
			       "/var/run/xenstored/socket"};
	struct xs_client *c;
	int fd = -ENOENT;

	for (unsigned i = 0; i < 3 && fd < 0; i++)
		if (socks[i])
			fd = connect_socket(socks[i]);
	if (fd < 0) {
		fd = open("/dev/xen/xenbus", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	*out = c;
	return 0;
}

void xs_client_close(struct xs_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

int xs_client_fd(const struct xs_client *c)
{
	return c->fd;
}

static int read_exact(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One whole message; *body is malloc'd with a NUL after the payload. */
static int read_msg(struct xs_client *c, struct xsd_sockmsg *hdr, char **body)
{
	int ret = read_exact(c->fd, hdr, sizeof(*hdr));

	if (ret)
		return ret;
	if (hdr->len > XENSTORE_PAYLOAD_MAX)
		return -EIO;
	*body = malloc(hdr->len + 1);
	if (!*body)
		return -ENOMEM;
	ret = read_exact(c->fd, *body, hdr->len);
	if (ret) {
		free(*body);
		return ret;
	}
	(*body)[hdr->len] = '\0';
	return 0;
}

static int error_of(const char *name)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (!strcmp(name, xsd_errors[i].errstring))
			return -xsd_errors[i].errnum;
	return -EIO;
}

static int write_all(int fd, struct iovec *iov, int n)
{
	while (n) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		while (n && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * Send type with the payload parts (each sent with its NUL when nul[i]),
 * wait for its reply; watch events in between are counted. Returns 0 and
 * *reply (the caller frees) with *len, or -errno.
 */
static int talk(struct xs_client *c, uint32_t type, const char *const *part,
		const bool *nul, int nparts, char **reply, unsigned *len)
{
	struct xsd_sockmsg hdr = {.type = type, .req_id = ++c->req_id};
	struct iovec iov[4] = {{&hdr, sizeof(hdr)}};
	char *body;
	int ret;

	for (int i = 0; i < nparts; i++) {
		iov[i + 1].iov_base = (void *)part[i];
		iov[i + 1].iov_len = strlen(part[i]) + (nul[i] ? 1 : 0);
		hdr.len += (uint32_t)iov[i + 1].iov_len;
	}
	if (hdr.len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	ret = write_all(c->fd, iov, nparts + 1);
	for (;;) {
		struct xsd_sockmsg in;

		if (ret || (ret = read_msg(c, &in, &body)))
			return ret;
		if (in.type == XS_WATCH_EVENT) {
			c->events++;
			free(body);
			continue;
		}
		if (in.type == XS_ERROR) {
			ret = error_of(body);
			free(body);
			return ret;
		}
		if (in.type != type || in.req_id != hdr.req_id) {
			free(body);
			return -EIO;
		}
		*reply = body;
		if (len)
			*len = in.len;
		return 0;
	}
}

int xs_client_read(struct xs_client *c, const char *path, char **val)
{
	const char *p[] = {path};
	const bool nul[] = {true};

	return talk(c, XS_READ, p, nul, 1, val, NULL);
}

int xs_client_write(struct xs_client *c, const char *path, const char *val)
{
	const char *p[] = {path, val};
	const bool nul[] = {true, false};
	char *reply;
	int ret = talk(c, XS_WRITE, p, nul, 2, &reply, NULL);

	if (!ret)
		free(reply);
	return ret;
}

int xs_client_rm(struct xs_client *c, const char *path)
{
	const char *p[] = {path};
	const bool nul[] = {true};
	char *reply;
	int ret = talk(c, XS_RM, p, nul, 1, &reply, NULL);

	if (!ret)
		free(reply);
	return ret;
}

int xs_client_directory(struct xs_client *c, const char *path, char ***names,
			unsigned *n)
{
	const char *p[] = {path};
	const bool nul[] = {true};
	unsigned len, count = 0;
	char *reply, **v, *s;
	int ret = talk(c, XS_DIRECTORY, p, nul, 1, &reply, &len);

	if (ret)
		return ret;
	for (unsigned i = 0; i < len; i++)
		count += reply[i] == '\0';
	/* The array and the strings in one allocation. */
	v = malloc(count * sizeof(*v) + len + 1);
	if (!v) {
		free(reply);
		return -ENOMEM;
	}
	s = (char *)(v + count);
	memcpy(s, reply, len + 1);
	free(reply);
	for (unsigned i = 0; i < count; i++) {
		v[i] = s;
		s += strlen(s) + 1;
	}
	*names = v;
	*n = count;
	return 0;
}

int xs_client_watch(struct xs_client *c, const char *path, const char *token)
{
	const char *p[] = {path, token};
	const bool nul[] = {true, true};
	char *reply;
	int ret = talk(c, XS_WATCH, p, nul, 2, &reply, NULL);

	if (!ret)
		free(reply);
	return ret;
}

int xs_client_is_introduced(struct xs_client *c, unsigned domid)
{
	char id[12];
	const char *p[] = {id};
	const bool nul[] = {true};
	char *reply;
	int ret;

	snprintf(id, sizeof(id), "%u", domid);
	ret = talk(c, XS_IS_DOMAIN_INTRODUCED, p, nul, 1, &reply, NULL);
	if (ret)
		return ret;
	ret = reply[0] == 'T';
	free(reply);
	return ret;
}

int xs_client_set_target(struct xs_client *c, unsigned domid, unsigned target)
{
	char a[12], b[12];
	const char *p[] = {a, b};
	const bool nul[] = {true, true};
	char *reply;
	int ret;

	snprintf(a, sizeof(a), "%u", domid);
	snprintf(b, sizeof(b), "%u", target);
	ret = talk(c, XS_SET_TARGET, p, nul, 2, &reply, NULL);
	if (!ret)
		free(reply);
	return ret;
}

int xs_client_find_domain(struct xs_client *c, const char *name,
			  unsigned *domid)
{
	char **doms = NULL, path[48], *val;
	unsigned n = 0, found = 0;
	int ret = xs_client_directory(c, "/local/domain", &doms, &n);

	if (ret)
		return ret;
	ret = -ENOENT;
	for (unsigned i = 0; i < n; i++) {
		char *end;
		unsigned long id = strtoul(doms[i], &end, 10);

		snprintf(path, sizeof(path), "/local/domain/%.20s/name",
			 doms[i]);
		if (*end || end == doms[i] || xs_client_read(c, path, &val))
			continue;
		if (!strcmp(val, name)) {
			found++;
			*domid = (unsigned)id;
		}
		free(val);
	}
	free(doms);
	return found == 1 ? 0 : found ? -EEXIST : ret;
}

int xs_client_events(struct xs_client *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	struct xsd_sockmsg in;
	char *body;
	int ret;

	/* The loop may report the fd readable after a request (another
	 * source's handler, in the same batch of events) has read what was
	 * there: then a blocking read would wait for the next message. */
	ret = poll(&p, 1, 0);
	if (ret < 0)
		return errno == EINTR ? 0 : -errno;
	if (!ret)
		return 0;
	ret = read_msg(c, &in, &body);
	if (ret)
		return ret;
	free(body);
	/* Requests are synchronous: nothing else arrives unasked. */
	if (in.type == XS_WATCH_EVENT)
		c->events++;
	return 0;
}

unsigned xs_client_take_events(struct xs_client *c)
{
	unsigned n = c->events;

	c->events = 0;
	return n;
}
