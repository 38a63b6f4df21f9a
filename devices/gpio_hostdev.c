// SPDX-License-Identifier: MIT
/*
 * Lines of a Linux GPIO chip through libgpiod 1.6 behind the gpio_lines
 * seam. Every assigned line is requested at creation (consumer
 * "virtiobox", direction as it is) and held until destruction, so another
 * host user cannot take it meanwhile; lines not assigned are never
 * requested. Direction changes go through GPIOHANDLE_SET_CONFIG
 * (gpiod_line_set_direction_*). The v1 character-device ABI that libgpiod
 * 1.6 speaks cannot add edge detection to a handle request, so turning
 * events on or off releases the line and requests it again at once, as an
 * event request or as an input; the event fd is made non-blocking so that
 * reading never stalls the data path.
 */
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpio_lines.h"
#include "virtio_dev.h" /* container_of */

#define CONSUMER "virtiobox"

struct host_line {
	struct gpiod_line *line;
	unsigned offset;
	bool events;
	enum gpio_line_dir dir; /* tracked: libgpiod's cached info is not */
};

struct hostdev {
	struct gpio_lines lines;
	struct gpiod_chip *chip;
	struct host_line line[];
};

static struct hostdev *to_hostdev(struct gpio_lines *l)
{
	return container_of(l, struct hostdev, lines);
}

static const char *hostdev_name(struct gpio_lines *l, unsigned i)
{
	const char *name = gpiod_line_name(to_hostdev(l)->line[i].line);

	return name ? name : "";
}

static int hostdev_get_direction(struct gpio_lines *l, unsigned i)
{
	return to_hostdev(l)->line[i].dir;
}

/* Request line h as req (a GPIOD_LINE_REQUEST_* type). */
static int request(struct host_line *h, int req, int value)
{
	struct gpiod_line_request_config cfg = {.consumer = CONSUMER,
						.request_type = req};
	int fd;

	if (gpiod_line_request(h->line, &cfg, value) < 0)
		return -errno;
	h->events = req >= GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE;
	if (req != GPIOD_LINE_REQUEST_DIRECTION_AS_IS)
		h->dir = GPIO_LINE_DIR_IN;
	if (!h->events)
		return 0;
	fd = gpiod_line_event_get_fd(h->line);
	if (fd < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Back to a plain input request after events (or a failed re-request). */
static int rerequest_input(struct host_line *h)
{
	gpiod_line_release(h->line);
	h->events = false;
	return request(h, GPIOD_LINE_REQUEST_DIRECTION_INPUT, 0);
}

static int hostdev_set_direction(struct gpio_lines *l, unsigned i,
				 enum gpio_line_dir dir, int value)
{
	struct host_line *h = &to_hostdev(l)->line[i];
	int ret;

	if (h->events || !gpiod_line_is_requested(h->line)) {
		ret = rerequest_input(h);
		if (ret)
			return ret;
	}
	if (dir == GPIO_LINE_DIR_OUT)
		ret = gpiod_line_set_direction_output(h->line, value);
	else
		ret = gpiod_line_set_direction_input(h->line);
	if (ret < 0)
		return -errno;
	h->dir = dir;
	return 0;
}

static int hostdev_get_value(struct gpio_lines *l, unsigned i)
{
	int v = gpiod_line_get_value(to_hostdev(l)->line[i].line);

	return v < 0 ? -errno : v;
}

static int hostdev_set_value(struct gpio_lines *l, unsigned i, int value)
{
	struct host_line *h = &to_hostdev(l)->line[i];

	if (h->dir != GPIO_LINE_DIR_OUT)
		return -EPERM;
	return gpiod_line_set_value(h->line, value) < 0 ? -errno : 0;
}

static int hostdev_set_events(struct gpio_lines *l, unsigned i, unsigned edges)
{
	struct host_line *h = &to_hostdev(l)->line[i];
	int req, ret;

	if (!edges)
		return h->events ? rerequest_input(h) : 0;
	if (h->dir == GPIO_LINE_DIR_OUT)
		return -EPERM;
	if (edges == GPIO_LINE_EDGE_RISING)
		req = GPIOD_LINE_REQUEST_EVENT_RISING_EDGE;
	else if (edges == GPIO_LINE_EDGE_FALLING)
		req = GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE;
	else
		req = GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES;
	gpiod_line_release(h->line);
	h->events = false;
	ret = request(h, req, 0);
	if (ret) {
		/* Keep the line: an input without events. */
		gpiod_line_release(h->line);
		h->events = false;
		request(h, GPIOD_LINE_REQUEST_DIRECTION_INPUT, 0);
	}
	return ret;
}

static int hostdev_event_fd(struct gpio_lines *l, unsigned i)
{
	struct host_line *h = &to_hostdev(l)->line[i];

	return h->events ? gpiod_line_event_get_fd(h->line) : -1;
}

static int hostdev_read_event(struct gpio_lines *l, unsigned i, unsigned *edge)
{
	struct host_line *h = &to_hostdev(l)->line[i];
	struct gpiod_line_event ev;

	if (!h->events)
		return 0;
	if (gpiod_line_event_read_fd(gpiod_line_event_get_fd(h->line), &ev) < 0)
		return errno == EAGAIN ? 0 : -errno;
	*edge = ev.event_type == GPIOD_LINE_EVENT_RISING_EDGE
			? GPIO_LINE_EDGE_RISING
			: GPIO_LINE_EDGE_FALLING;
	return 1;
}

static void hostdev_destroy(struct gpio_lines *l)
{
	struct hostdev *h = to_hostdev(l);

	/* Closing the chip releases every line still requested. */
	gpiod_chip_close(h->chip);
	free(h);
}

static const struct gpio_lines_ops hostdev_ops = {
	.kind = "hostdev",
	.name = hostdev_name,
	.get_direction = hostdev_get_direction,
	.set_direction = hostdev_set_direction,
	.get_value = hostdev_get_value,
	.set_value = hostdev_set_value,
	.set_events = hostdev_set_events,
	.event_fd = hostdev_event_fd,
	.read_event = hostdev_read_event,
	.destroy = hostdev_destroy,
};

static int check_offsets(const unsigned *offsets, unsigned n, unsigned nchip,
			 const char *chip, char *err, unsigned errlen)
{
	for (unsigned i = 0; i < n; i++) {
		if (offsets[i] >= nchip) {
			snprintf(err, errlen, "%s has no line %u (it has %u)",
				 chip, offsets[i], nchip);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++)
			if (offsets[j] == offsets[i]) {
				snprintf(err, errlen,
					 "%s line %u is listed twice", chip,
					 offsets[i]);
				return -EINVAL;
			}
	}
	return 0;
}

static int request_all(struct hostdev *h, const char *chip, char *err,
		       unsigned errlen)
{
	for (unsigned i = 0; i < h->lines.n; i++) {
		struct host_line *hl = &h->line[i];
		const char *user;
		int ret;

		hl->line = gpiod_chip_get_line(h->chip, hl->offset);
		if (hl->line)
			hl->dir = gpiod_line_direction(hl->line) ==
						  GPIOD_LINE_DIRECTION_OUTPUT
					  ? GPIO_LINE_DIR_OUT
					  : GPIO_LINE_DIR_IN;
		ret = hl->line ? request(hl, GPIOD_LINE_REQUEST_DIRECTION_AS_IS,
					 0)
			       : -errno;
		if (ret == -EBUSY) {
			user = hl->line ? gpiod_line_consumer(hl->line) : NULL;
			snprintf(err, errlen,
				 "%s line %u is busy (used by \"%s\")", chip,
				 hl->offset, user ? user : "?");
		} else if (ret) {
			snprintf(err, errlen,
				 "%s line %u: cannot request it: %s", chip,
				 hl->offset, strerror(-ret));
		}
		if (ret)
			return ret;
	}
	return 0;
}

int gpio_hostdev_open(struct gpio_lines **out, const char *chip,
		      const unsigned *offsets, unsigned n, char *err,
		      unsigned errlen)
{
	struct hostdev *h;
	int ret;

	if (errlen)
		err[0] = '\0';
	if (n == 0 || n > GPIO_LINES_MAX) {
		snprintf(err, errlen, "%s: %u lines (1..%u allowed)", chip, n,
			 GPIO_LINES_MAX);
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h) + n * sizeof(h->line[0]));
	if (!h)
		return -ENOMEM;
	h->chip = gpiod_chip_open_lookup(chip);
	if (!h->chip) {
		ret = errno ? -errno : -ENODEV;
		snprintf(err, errlen, "%s: cannot open the chip: %s", chip,
			 strerror(-ret));
		goto err_free;
	}
	ret = check_offsets(offsets, n, gpiod_chip_num_lines(h->chip), chip,
			    err, errlen);
	for (unsigned i = 0; i < n; i++)
		h->line[i].offset = offsets[i];
	h->lines.ops = &hostdev_ops;
	h->lines.n = n;
	if (!ret)
		ret = request_all(h, chip, err, errlen);
	if (ret)
		goto err_close;
	*out = &h->lines;
	return 0;

err_close:
	gpiod_chip_close(h->chip);
err_free:
	free(h);
	return ret;
}
