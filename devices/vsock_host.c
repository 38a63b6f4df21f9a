// SPDX-License-Identifier: MIT
/* Host unix sockets of the vsock model; see vsock_host.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsock_host.h"

static int fill_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

int vsock_host_listen(const char *path, int type)
{
	struct sockaddr_un a;
	struct stat st;
	int fd, ret = fill_addr(&a, path);

	if (ret)
		return ret;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 128) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int vsock_host_connect(const char *path, int type)
{
	struct sockaddr_un a;
	int fd, ret = fill_addr(&a, path);

	if (ret)
		return ret;
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		/* A unix connect completes at once or not at all: a full
		 * backlog (EAGAIN) is a refusal like an absent listener. */
		ret = errno == EAGAIN ? -ECONNREFUSED : -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* A decimal number of at most max, ending at a space or the end. */
static int number(const char **s, uint64_t max, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return -EINVAL;
	}
	if (*p && *p != ' ')
		return -EINVAL;
	*s = p;
	*out = v;
	return 0;
}

int vsock_host_parse_connect(const char *line, uint32_t *port,
			     uint64_t *from_cid, uint32_t *from_port)
{
	const char *p = line;
	uint64_t v, cid, fp;

	if (strncmp(p, "CONNECT ", 8))
		return -EINVAL;
	p += 8;
	if (number(&p, UINT32_MAX, &v))
		return -EINVAL;
	*port = (uint32_t)v;
	*from_cid = 0;
	*from_port = 0;
	if (!*p)
		return 0;
	if (strncmp(p, " FROM ", 6))
		return -EINVAL;
	p += 6;
	if (number(&p, UINT32_MAX, &cid) || *p != ' ')
		return -EINVAL;
	p++;
	if (number(&p, UINT32_MAX, &fp) || *p || cid == 0)
		return -EINVAL;
	*from_cid = cid;
	*from_port = (uint32_t)fp;
	return 0;
}

int vsock_host_line_len(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);

	if (nl)
		return (int)(nl - buf) + 1;
	return len >= VSOCK_HOST_LINE_MAX ? -EINVAL : 0;
}

bool vsock_host_peer_is_self(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.pid == getpid();
}
