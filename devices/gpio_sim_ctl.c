// SPDX-License-Identifier: MIT
/* The control socket of simulated GPIO lines (see gpio_sim_ctl.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gpio_sim_ctl.h"
#include "loop.h"

#define LINE_MAX_LEN 64

struct client {
	struct loop_source src;
	struct gpio_sim_ctl *ctl;
	size_t len;
	char buf[LINE_MAX_LEN];
};

struct gpio_sim_ctl {
	struct loop_source listen;
	struct loop *loop;
	struct gpio_lines *lines;
	struct client client[GPIO_SIM_CTL_CLIENTS];
	struct sockaddr_un addr;
};

static void client_close(struct client *c)
{
	loop_remove(&c->src);
	close(c->src.fd);
	c->src.fd = -1;
}

static void answer(struct client *c, const char *text)
{
	size_t len = strlen(text);

	/* A client that does not read its answers loses them. */
	if (send(c->src.fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	    errno != EAGAIN)
		client_close(c);
}

static void command(struct client *c, char *cmd)
{
	struct gpio_lines *lines = c->ctl->lines;
	char verb[8], out[48];
	unsigned line;
	int value, n = 0;
	enum gpio_line_dir dir;

	if (sscanf(cmd, "%7s %u %n", verb, &line, &n) < 2) {
		answer(c, "error: expected \"set LINE 0|1\" or \"get LINE\"\n");
		return;
	}
	if (line >= lines->n) {
		snprintf(out, sizeof(out), "error: no line %u (0..%u)\n", line,
			 lines->n - 1);
		answer(c, out);
	} else if (!strcmp(verb, "get") && !cmd[n]) {
		gpio_sim_peek(lines, line, &dir, &value);
		snprintf(out, sizeof(out), "%s %d\n",
			 dir == GPIO_LINE_DIR_OUT ? "out" : "in", value);
		answer(c, out);
	} else if (!strcmp(verb, "set") &&
		   (!strcmp(cmd + n, "0") || !strcmp(cmd + n, "1"))) {
		gpio_sim_drive(lines, line, cmd[n] - '0');
		answer(c, "ok\n");
	} else {
		answer(c, "error: expected \"set LINE 0|1\" or \"get LINE\"\n");
	}
}

static void client_ready(struct loop_source *s, uint32_t events)
{
	struct client *c = container_of(s, struct client, src);
	ssize_t n;
	char *nl;

	(void)events;
	n = recv(s->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len,
		 MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			client_close(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	while (c->src.fd >= 0 && (nl = strchr(c->buf, '\n'))) {
		*nl = '\0';
		if (nl > c->buf && nl[-1] == '\r')
			nl[-1] = '\0';
		command(c, c->buf);
		c->len -= (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len + 1);
	}
	if (c->src.fd >= 0 && c->len == sizeof(c->buf) - 1) {
		answer(c, "error: line too long\n");
		client_close(c);
	}
}

static void listen_ready(struct loop_source *s, uint32_t events)
{
	struct gpio_sim_ctl *ctl = container_of(s, struct gpio_sim_ctl, listen);
	int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)events;
	if (fd < 0)
		return;
	for (unsigned i = 0; i < GPIO_SIM_CTL_CLIENTS; i++) {
		struct client *c = &ctl->client[i];

		if (c->src.fd >= 0)
			continue;
		loop_source_init(&c->src, fd, client_ready);
		c->len = 0;
		if (loop_add(ctl->loop, &c->src, EPOLLIN) == 0)
			return;
		c->src.fd = -1;
		break;
	}
	close(fd); /* too many clients */
}

/* Replace a stale socket file; leave anything else alone. */
static int unlink_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	return unlink(path) < 0 ? -errno : 0;
}

int gpio_sim_ctl_create(struct gpio_sim_ctl **out, struct loop *l,
			const char *path, struct gpio_lines *lines)
{
	struct gpio_sim_ctl *c;
	int fd, ret;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(c->addr.sun_path)) {
		free(c);
		return -ENAMETOOLONG;
	}
	strcpy(c->addr.sun_path, path);
	for (unsigned i = 0; i < GPIO_SIM_CTL_CLIENTS; i++) {
		c->client[i].src.fd = -1;
		c->client[i].ctl = c;
	}
	c->loop = l;
	c->lines = lines;
	ret = unlink_stale(path);
	fd = ret ? -1 : socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!ret && fd < 0)
		ret = -errno;
	if (!ret &&
	    (bind(fd, (struct sockaddr *)&c->addr, sizeof(c->addr)) < 0 ||
	     listen(fd, 4) < 0))
		ret = -errno;
	if (!ret) {
		loop_source_init(&c->listen, fd, listen_ready);
		ret = loop_add(l, &c->listen, EPOLLIN);
	}
	if (ret) {
		if (fd >= 0)
			close(fd);
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

void gpio_sim_ctl_destroy(struct gpio_sim_ctl *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < GPIO_SIM_CTL_CLIENTS; i++)
		if (c->client[i].src.fd >= 0)
			client_close(&c->client[i]);
	loop_remove(&c->listen);
	close(c->listen.fd);
	unlink(c->addr.sun_path);
	free(c);
}
