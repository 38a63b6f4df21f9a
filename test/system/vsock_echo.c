// SPDX-License-Identifier: MIT
/*
 * dom0 side of test_xen.py's vsock test (built static for aarch64 by the
 * test): listen on unix socket PATH (SOCK_STREAM), accept one connection,
 * read it to EOF into FILE, then send every byte back and close. The
 * caller checksums FILE. Or, as a host program of the hybrid-vsock
 * protocol: connect to UDS, send "CONNECT PORT\n" (again, for up to 60 s,
 * until the guest listens and the answer is "OK <port>\n"), send IN,
 * half-close, and write what comes back to OUT.
 *   vsock_echo PATH FILE
 *   vsock_echo connect UDS PORT IN OUT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX (64 * 1024 * 1024)

static char buf[MAX];

static int addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -1;
	strcpy(a->sun_path, path);
	return 0;
}

/* A connection the guest accepted, or -1. */
static int hello(const struct sockaddr_un *a, const char *port)
{
	char line[64];
	size_t n = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof(*a)) ||
	    dprintf(fd, "CONNECT %s\n", port) < 0)
		goto fail;
	while (n < sizeof(line) - 1 && (n == 0 || line[n - 1] != '\n')) {
		if (read(fd, line + n, 1) != 1)
			goto fail;
		n++;
	}
	line[n] = '\0';
	if (strncmp(line, "OK ", 3))
		goto fail;
	printf("vsock_echo: %s", line);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int connect_mode(char **argv)
{
	struct sockaddr_un a;
	size_t len, off = 0;
	int fd = -1;
	FILE *f = fopen(argv[4], "r");

	if (!f || addr(&a, argv[2]))
		return 2;
	len = fread(buf, 1, MAX, f);
	fclose(f);
	for (int i = 0; i < 600 && fd < 0; i++) {
		fd = hello(&a, argv[3]);
		if (fd < 0)
			usleep(100 * 1000);
	}
	if (fd < 0) {
		fprintf(stderr, "vsock_echo: no OK from %s\n", argv[2]);
		return 1;
	}
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n <= 0)
			return 1;
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	f = fopen(argv[5], "w");
	for (;;) {
		ssize_t n = read(fd, buf, MAX);

		if (n < 0 || !f)
			return 1;
		if (n == 0)
			break;
		fwrite(buf, 1, (size_t)n, f);
	}
	return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un a;
	size_t got = 0, sent = 0;
	int lfd, fd;
	FILE *f;

	if (argc == 6 && !strcmp(argv[1], "connect"))
		return connect_mode(argv);
	if (argc != 3 || addr(&a, argv[1]))
		return 2;
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 1)) {
		fprintf(stderr, "vsock_echo: %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	printf("vsock_echo: listening at %s\n", argv[1]);
	fflush(stdout);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return 1;
	for (;;) {
		ssize_t n = read(fd, buf + got, MAX - got);

		if (n < 0) {
			fprintf(stderr, "vsock_echo: read: %s\n",
				strerror(errno));
			return 1;
		}
		if (n == 0 || (got += (size_t)n) == MAX)
			break;
	}
	f = fopen(argv[2], "w");
	if (!f || fwrite(buf, 1, got, f) != got || fclose(f))
		return 1;
	while (sent < got) {
		ssize_t n = write(fd, buf + sent, got - sent);

		if (n <= 0) {
			fprintf(stderr, "vsock_echo: write: %s\n",
				strerror(errno));
			return 1;
		}
		sent += (size_t)n;
	}
	close(fd);
	printf("vsock_echo: %zu bytes in, %zu back\n", got, sent);
	return 0;
}
