// SPDX-License-Identifier: MIT
/*
 * virtio-gpio device model: requests on lines, interrupts through held
 * eventq buffers. See gpio.h for the protocol and the checks.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_gpio.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpio.h"
#include "iov.h"
#include "log.h"
#include "loop.h"

#define REQ_LEN		((uint32_t)sizeof(struct virtio_gpio_request))
#define RES_LEN		((uint32_t)sizeof(struct virtio_gpio_response))
#define IRQ_REQ_LEN	((uint32_t)sizeof(struct virtio_gpio_irq_request))
#define IRQ_RES_LEN	((uint32_t)sizeof(struct virtio_gpio_irq_response))
#define NAME_MAX_LEN	63u
#define EVENTS_PER_WAKE 16 /* edges read per readiness, then the loop */

struct gpio_dev;

struct line {
	struct gpio_dev *dev;
	struct loop_source src; /* the line's event fd while it has events */
	uint8_t dir;		/* VIRTIO_GPIO_DIRECTION_* */
	uint8_t value;		/* last SET_VALUE: used when it turns output */
	uint8_t irq_type;	/* VIRTIO_GPIO_IRQ_TYPE_* */
	bool latched;		/* an edge came while masked */
	struct vq_elem *held;	/* eventq buffer: the interrupt is unmasked */
	uint8_t init_dir;	/* at creation, restored by reset */
	uint8_t init_value;
};

struct gpio_dev {
	struct virtio_dev vdev;
	struct gpio_lines *lines;
	char name[64];
	struct virtio_gpio_config config;
	uint32_t names_size;
	char *names;	    /* the GET_NAMES block, names_size bytes */
	bool events_pushed; /* eventq has used entries to flush */
	struct gpio_dev_stats stats;
	struct log_ratelimit log_rl;
	struct line *line; /* lines->n */
};

static struct gpio_dev *to_gpio(struct virtio_dev *vd)
{
	return container_of(vd, struct gpio_dev, vdev);
}

static unsigned line_index(const struct gpio_dev *d, const struct line *l)
{
	return (unsigned)(l - d->line);
}

/* Guest-caused events: rate-limited per device, so a guest cannot flood. */
static void guest_log(struct gpio_dev *d, const char *what, unsigned gpio,
		      const char *why)
{
	log_msg_ratelimited(&d->log_rl, LOG_LEVEL_WARN, "%s: %s, line %u: %s",
			    d->name, what, gpio, why);
}

/* ---- interrupts ---- */

static void event_push(struct gpio_dev *d, struct vq_elem *e, uint8_t status)
{
	iov_from_buf(e->wr_iov, e->wr_num, 0, &status, 1);
	vq_push(&d->vdev.vqs[GPIO_DEV_EVENTQ], e, 1);
	d->events_pushed = true;
	if (status == VIRTIO_GPIO_IRQ_STATUS_VALID)
		d->stats.irqs++;
	else
		d->stats.invalid++;
}

/* Return the line's held buffer, if any, with status. */
static void line_release(struct gpio_dev *d, struct line *l, uint8_t status)
{
	struct vq_elem *e = l->held;

	if (!e)
		return;
	l->held = NULL;
	event_push(d, e, status);
}

static bool is_level(uint8_t type)
{
	return type == VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH ||
	       type == VIRTIO_GPIO_IRQ_TYPE_LEVEL_LOW;
}

/* A level line is at its active level: fire if unmasked. */
static void level_check(struct gpio_dev *d, struct line *l, int level)
{
	int active = l->irq_type == VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH;

	if (level == active)
		line_release(d, l, VIRTIO_GPIO_IRQ_STATUS_VALID);
}

static void on_edge(struct gpio_dev *d, struct line *l, unsigned edge)
{
	unsigned want = l->irq_type & VIRTIO_GPIO_IRQ_TYPE_EDGE_BOTH;

	if (is_level(l->irq_type)) {
		level_check(d, l, edge == GPIO_LINE_EDGE_RISING);
		return;
	}
	/* VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING/FALLING equal our edge bits. */
	if (!(want & edge))
		return;
	if (l->held)
		line_release(d, l, VIRTIO_GPIO_IRQ_STATUS_VALID);
	else
		l->latched = true;
}

static void line_ready(struct loop_source *src, uint32_t events)
{
	struct line *l = container_of(src, struct line, src);
	struct gpio_dev *d = l->dev;
	unsigned i = line_index(d, l), edge;
	int ret = 0;

	(void)events;
	for (int k = 0; k < EVENTS_PER_WAKE; k++) {
		ret = gpio_lines_read_event(d->lines, i, &edge);
		if (ret <= 0)
			break;
		on_edge(d, l, edge);
	}
	if (ret < 0) {
		/* A failing fd would wake the loop forever: stop polling it. */
		log_msg_ratelimited(&d->log_rl, LOG_LEVEL_ERR,
				    "%s: line %u: reading edges failed: %s; "
				    "its interrupt is off",
				    d->name, i, strerror(-ret));
		loop_remove(&l->src);
	}
	if (d->events_pushed) {
		d->events_pushed = false;
		virtio_dev_complete(&d->vdev, GPIO_DEV_EVENTQ);
	}
}

static unsigned host_edges(uint8_t type)
{
	switch (type) {
	case VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING:
		return GPIO_LINE_EDGE_RISING;
	case VIRTIO_GPIO_IRQ_TYPE_EDGE_FALLING:
		return GPIO_LINE_EDGE_FALLING;
	case VIRTIO_GPIO_IRQ_TYPE_NONE:
		return 0;
	}
	/* Both edges, and levels: the level is followed through its edges. */
	return GPIO_LINE_EDGE_BOTH;
}

/* Turn the line's interrupt off: buffer back INVALID, latch dropped. */
static void irq_off(struct gpio_dev *d, struct line *l)
{
	line_release(d, l, VIRTIO_GPIO_IRQ_STATUS_INVALID);
	l->latched = false;
	if (l->irq_type != VIRTIO_GPIO_IRQ_TYPE_NONE)
		gpio_lines_set_events(d->lines, line_index(d, l), 0);
	l->irq_type = VIRTIO_GPIO_IRQ_TYPE_NONE;
	loop_remove(&l->src);
}

static int irq_on(struct gpio_dev *d, struct line *l, uint8_t type)
{
	unsigned i = line_index(d, l);
	int ret, fd;

	if (!d->vdev.loop)
		return -ENOTCONN;
	ret = gpio_lines_set_events(d->lines, i, host_edges(type));
	if (ret)
		return ret;
	fd = gpio_lines_event_fd(d->lines, i);
	loop_source_init(&l->src, fd, line_ready);
	ret = fd < 0 ? -EIO : loop_add(d->vdev.loop, &l->src, EPOLLIN);
	if (ret) {
		gpio_lines_set_events(d->lines, i, 0);
		return ret;
	}
	l->irq_type = type;
	return 0;
}

static bool is_irq_type(uint32_t v)
{
	return v == VIRTIO_GPIO_IRQ_TYPE_NONE ||
	       v == VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING ||
	       v == VIRTIO_GPIO_IRQ_TYPE_EDGE_FALLING ||
	       v == VIRTIO_GPIO_IRQ_TYPE_EDGE_BOTH ||
	       v == VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH ||
	       v == VIRTIO_GPIO_IRQ_TYPE_LEVEL_LOW;
}

/* ---- requestq ---- */

/* A decoded request and, when it is refused, why. */
struct req {
	uint16_t type, gpio;
	uint32_t value;
	const char *bad; /* layout or field error */
	int host;	 /* host -errno */
};

static const char *check_fields(const struct gpio_dev *d, const struct req *r)
{
	switch (r->type) {
	case VIRTIO_GPIO_MSG_GET_NAMES:
		if (!d->names_size)
			return "the device has no line names";
		return r->gpio || r->value ? "gpio and value must be 0" : NULL;
	case VIRTIO_GPIO_MSG_GET_DIRECTION:
	case VIRTIO_GPIO_MSG_GET_VALUE:
		return r->value ? "value must be 0" : NULL;
	case VIRTIO_GPIO_MSG_SET_DIRECTION:
		return r->value > VIRTIO_GPIO_DIRECTION_IN ? "not a direction"
							   : NULL;
	case VIRTIO_GPIO_MSG_SET_VALUE:
		return r->value > 1 ? "value is neither 0 nor 1" : NULL;
	case VIRTIO_GPIO_MSG_IRQ_TYPE:
		if (!(d->vdev.features & (1ull << VIRTIO_GPIO_F_IRQ)))
			return "VIRTIO_GPIO_F_IRQ was not negotiated";
		return is_irq_type(r->value) ? NULL : "not an IRQ type";
	}
	return "unknown request type";
}

static int set_direction(struct gpio_dev *d, struct line *l, uint8_t dir)
{
	unsigned i = line_index(d, l);
	int ret;

	if (dir == VIRTIO_GPIO_DIRECTION_IN && l->dir == dir &&
	    l->irq_type != VIRTIO_GPIO_IRQ_TYPE_NONE)
		return 0; /* already an input with events: keep them */
	irq_off(d, l);
	if (dir == VIRTIO_GPIO_DIRECTION_OUT)
		ret = gpio_lines_set_direction(d->lines, i, GPIO_LINE_DIR_OUT,
					       l->value);
	else /* NONE leaves the pin high-impedance, as an input */
		ret = gpio_lines_set_direction(d->lines, i, GPIO_LINE_DIR_IN,
					       0);
	if (ret) {
		int now = gpio_lines_get_direction(d->lines, i);

		l->dir = now == GPIO_LINE_DIR_OUT ? VIRTIO_GPIO_DIRECTION_OUT
						  : VIRTIO_GPIO_DIRECTION_IN;
		return ret;
	}
	l->dir = dir;
	if (dir == VIRTIO_GPIO_DIRECTION_NONE)
		l->value = 0; /* the spec: forget everything about the line */
	return 0;
}

static int set_irq_type(struct gpio_dev *d, struct line *l, uint8_t type,
			const char **bad)
{
	if (type == l->irq_type)
		return 0;
	if (type != VIRTIO_GPIO_IRQ_TYPE_NONE &&
	    l->dir != VIRTIO_GPIO_DIRECTION_IN) {
		*bad = "the line is not an input";
		return 0;
	}
	irq_off(d, l);
	return type == VIRTIO_GPIO_IRQ_TYPE_NONE ? 0 : irq_on(d, l, type);
}

/* Carry out a checked request; fills *value, or r->bad / r->host. */
static void execute(struct gpio_dev *d, struct req *r, uint8_t *value)
{
	struct line *l = &d->line[r->gpio];
	int ret = 0;

	switch (r->type) {
	case VIRTIO_GPIO_MSG_GET_DIRECTION:
		*value = l->dir;
		break;
	case VIRTIO_GPIO_MSG_SET_DIRECTION:
		ret = set_direction(d, l, (uint8_t)r->value);
		break;
	case VIRTIO_GPIO_MSG_GET_VALUE:
		ret = gpio_lines_get_value(d->lines, r->gpio);
		if (ret >= 0) {
			*value = ret ? 1 : 0;
			ret = 0;
		}
		break;
	case VIRTIO_GPIO_MSG_SET_VALUE:
		l->value = (uint8_t)r->value;
		if (l->dir == VIRTIO_GPIO_DIRECTION_OUT)
			ret = gpio_lines_set_value(d->lines, r->gpio, l->value);
		break;
	case VIRTIO_GPIO_MSG_IRQ_TYPE:
		ret = set_irq_type(d, l, (uint8_t)r->value, &r->bad);
		break;
	}
	r->host = ret;
}

/* Decode e's request and check its layout; r->bad says what is wrong. */
static void parse(const struct gpio_dev *d, const struct vq_elem *e,
		  struct req *r)
{
	struct virtio_gpio_request raw;
	uint32_t want;

	memset(r, 0, sizeof(*r));
	if (vq_elem_is_truncated(e)) {
		r->bad = "more buffer segments than a request takes";
		return;
	}
	if (e->rd_len != REQ_LEN) {
		r->bad = "request is not 8 bytes";
		return;
	}
	iov_to_buf(e->rd_iov, e->rd_num, 0, &raw, REQ_LEN);
	r->type = le16toh(raw.type);
	r->gpio = le16toh(raw.gpio);
	r->value = le32toh(raw.value);
	want = r->type == VIRTIO_GPIO_MSG_GET_NAMES ? 1 + d->names_size
						    : RES_LEN;
	if (e->wr_len != want)
		r->bad = r->type == VIRTIO_GPIO_MSG_GET_NAMES
				 ? "response is not 1 + gpio_names_size bytes"
				 : "response is not 2 bytes";
	else if (r->gpio >= d->lines->n)
		r->bad = "no such line";
	else
		r->bad = check_fields(d, r);
}

static void serve_request(struct gpio_dev *d, struct vq *vq, struct vq_elem *e)
{
	uint8_t res[RES_LEN] = {VIRTIO_GPIO_STATUS_ERR, 0};
	uint32_t len = e->wr_len < RES_LEN ? e->wr_len : RES_LEN;
	struct req r;

	d->stats.requests++;
	if (e->wr_len == 0) {
		d->stats.malformed++;
		guest_log(d, "malformed request", 0, "no response buffer");
		vq_push(vq, e, 0);
		return;
	}
	parse(d, e, &r);
	if (!r.bad && r.type == VIRTIO_GPIO_MSG_GET_NAMES) {
		res[0] = VIRTIO_GPIO_STATUS_OK;
		iov_from_buf(e->wr_iov, e->wr_num, 0, res, 1);
		iov_from_buf(e->wr_iov, e->wr_num, 1, d->names, d->names_size);
		vq_push(vq, e, e->wr_len);
		return;
	}
	if (!r.bad)
		execute(d, &r, &res[1]);
	if (r.bad) {
		d->stats.malformed++;
		guest_log(d, "request refused", r.gpio, r.bad);
		res[1] = 0;
	} else if (r.host) {
		d->stats.host_errors++;
		guest_log(d, "host refused a request", r.gpio,
			  strerror(-r.host));
		res[1] = 0;
	} else {
		res[0] = VIRTIO_GPIO_STATUS_OK;
	}
	iov_from_buf(e->wr_iov, e->wr_num, 0, res, len);
	vq_push(vq, e, len);
}

/* ---- eventq ---- */

static void serve_event(struct gpio_dev *d, struct vq_elem *e)
{
	struct virtio_gpio_irq_request raw;
	struct line *l;
	uint16_t gpio;
	int level;

	if (e->wr_len == 0) {
		d->stats.malformed++;
		guest_log(d, "malformed eventq buffer", 0, "no status byte");
		vq_push(&d->vdev.vqs[GPIO_DEV_EVENTQ], e, 0);
		return;
	}
	if (e->rd_len != IRQ_REQ_LEN || e->wr_len != IRQ_RES_LEN ||
	    vq_elem_is_truncated(e)) {
		d->stats.malformed++;
		guest_log(d, "malformed eventq buffer", 0,
			  "not a 2-byte request and a 1-byte status");
		event_push(d, e, VIRTIO_GPIO_IRQ_STATUS_INVALID);
		return;
	}
	iov_to_buf(e->rd_iov, e->rd_num, 0, &raw, IRQ_REQ_LEN);
	gpio = le16toh(raw.gpio);
	l = gpio < d->lines->n ? &d->line[gpio] : NULL;
	if (!l || l->held) {
		d->stats.malformed++;
		guest_log(d, "eventq buffer refused", gpio,
			  l ? "the line already has one" : "no such line");
		event_push(d, e, VIRTIO_GPIO_IRQ_STATUS_INVALID);
		return;
	}
	if (l->irq_type == VIRTIO_GPIO_IRQ_TYPE_NONE) {
		/* Unmasked before enabled: the spec returns it at once. */
		event_push(d, e, VIRTIO_GPIO_IRQ_STATUS_INVALID);
		return;
	}
	l->held = e;
	if (l->latched) {
		l->latched = false;
		line_release(d, l, VIRTIO_GPIO_IRQ_STATUS_VALID);
	} else if (is_level(l->irq_type)) {
		level = gpio_lines_get_value(d->lines, gpio);
		if (level >= 0)
			level_check(d, l, level);
	}
}

/* ---- device ops ---- */

static void gpio_queue_kick(struct virtio_dev *vd, unsigned q)
{
	struct gpio_dev *d = to_gpio(vd);
	struct vq *vq = &vd->vqs[q];
	struct vq_elem *e;

	while (vq_pop(vq, &e) == 1) {
		if (q == GPIO_DEV_REQUESTQ)
			serve_request(d, vq, e);
		else
			serve_event(d, e);
	}
	/* Requests can return eventq buffers (INVALID on disable). The core
	 * completes the kicked queue; the other one is ours to flush. */
	if (d->events_pushed) {
		d->events_pushed = false;
		if (q != GPIO_DEV_EVENTQ)
			virtio_dev_complete(vd, GPIO_DEV_EVENTQ);
	}
}

static void gpio_config_read(struct virtio_dev *vd, uint32_t off, void *buf,
			     uint32_t len)
{
	memcpy(buf, (const uint8_t *)&to_gpio(vd)->config + off, len);
}

static void gpio_queue_stopping(struct virtio_dev *vd, unsigned q)
{
	struct gpio_dev *d = to_gpio(vd);

	if (q != GPIO_DEV_EVENTQ)
		return;
	/* Give the buffers back rather than lose them: a driver that sees
	 * INVALID on an enabled line queues its buffer again. */
	for (unsigned i = 0; i < d->lines->n; i++)
		line_release(d, &d->line[i], VIRTIO_GPIO_IRQ_STATUS_INVALID);
	d->events_pushed = false;
}

static void gpio_reset(struct virtio_dev *vd)
{
	struct gpio_dev *d = to_gpio(vd);

	for (unsigned i = 0; i < d->lines->n; i++) {
		struct line *l = &d->line[i];
		enum gpio_line_dir dir =
			l->init_dir == VIRTIO_GPIO_DIRECTION_OUT
				? GPIO_LINE_DIR_OUT
				: GPIO_LINE_DIR_IN;

		/* The queues are reset next: held buffers go with them. */
		l->held = NULL;
		irq_off(d, l);
		gpio_lines_set_direction(d->lines, i, dir, l->init_value);
		l->dir = l->init_dir;
		l->value = l->init_value;
	}
	d->events_pushed = false;
}

const struct virtio_dev_ops gpio_dev_ops = {
	.name = "gpio",
	.device_id = VIRTIO_ID_GPIO,
	.features = 1ull << VIRTIO_GPIO_F_IRQ,
	.num_queues = 2,
	.queue_max = GPIO_DEV_QUEUE_MAX,
	/* An eventq buffer waits for its line's interrupt. */
	.held_queues = 1u << GPIO_DEV_EVENTQ,
	.config_size = sizeof(struct virtio_gpio_config),
	.config_read = gpio_config_read,
	.queue_stopping = gpio_queue_stopping,
	.queue_kick = gpio_queue_kick,
	.reset = gpio_reset,
};

/* ---- creation ---- */

static bool name_taken(const char *block, size_t used, const char *name)
{
	for (size_t off = 0; off < used; off += strlen(block + off) + 1)
		if (!strcmp(block + off, name))
			return true;
	return false;
}

/* Build the GET_NAMES block: each line's name and a NUL, in line order. */
static int build_names(struct gpio_dev *d, const struct gpio_dev_params *p)
{
	unsigned n = d->lines->n;
	size_t used = 0, named = 0;

	d->names = malloc(n * (NAME_MAX_LEN + 1));
	if (!d->names)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		const char *name = p->names ? p->names[i] : NULL;
		size_t len;

		if (!name || !*name)
			name = gpio_lines_name(d->lines, i);
		len = strlen(name);
		if (len > NAME_MAX_LEN)
			return -EINVAL;
		if (len && name_taken(d->names, used, name)) {
			log_warn("%s: line %u: name \"%s\" is already used by "
				 "an earlier line; the guest sees it unnamed",
				 d->name, i, name);
			len = 0;
		}
		memcpy(d->names + used, name, len);
		/* Names are 7-bit ASCII for the guest. */
		for (size_t k = 0; k < len; k++)
			if ((unsigned char)d->names[used + k] > 0x7e)
				d->names[used + k] = '?';
		d->names[used + len] = '\0';
		used += len + 1;
		named += len;
	}
	d->names_size = named ? (uint32_t)used : 0;
	return 0;
}

static int init_lines(struct gpio_dev *d)
{
	for (unsigned i = 0; i < d->lines->n; i++) {
		struct line *l = &d->line[i];
		int dir = gpio_lines_get_direction(d->lines, i);
		int value = gpio_lines_get_value(d->lines, i);

		if (dir < 0 || value < 0)
			return dir < 0 ? dir : value;
		l->dev = d;
		loop_source_init(&l->src, -1, line_ready);
		l->dir = dir == GPIO_LINE_DIR_OUT ? VIRTIO_GPIO_DIRECTION_OUT
						  : VIRTIO_GPIO_DIRECTION_IN;
		l->value = l->dir == VIRTIO_GPIO_DIRECTION_OUT ? (uint8_t)value
							       : 0;
		l->init_dir = l->dir;
		l->init_value = l->value;
	}
	return 0;
}

int gpio_dev_create(struct gpio_dev **out, const struct gpio_dev_params *p,
		    uint64_t extra_features)
{
	struct gpio_dev *d;
	int ret;

	if (!p->lines || p->lines->n == 0 || p->lines->n > GPIO_LINES_MAX)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->lines = p->lines;
	snprintf(d->name, sizeof(d->name), "%s", p->name ? p->name : "gpio");
	log_ratelimit_init(&d->log_rl, d->name);
	d->line = calloc(p->lines->n, sizeof(*d->line));
	ret = d->line ? init_lines(d) : -ENOMEM;
	if (!ret)
		ret = build_names(d, p);
	if (ret)
		goto err_free;
	ret = virtio_dev_init(&d->vdev, &gpio_dev_ops, extra_features);
	if (ret)
		goto err_free;
	if (p->no_irq)
		d->vdev.features_offered &= ~(1ull << VIRTIO_GPIO_F_IRQ);
	d->config.ngpio = htole16((uint16_t)p->lines->n);
	d->config.gpio_names_size = htole32(d->names_size);
	*out = d;
	return 0;

err_free:
	free(d->names);
	free(d->line);
	free(d);
	return ret;
}

void gpio_dev_destroy(struct gpio_dev *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->lines->n; i++)
		loop_remove(&d->line[i].src);
	virtio_dev_destroy(&d->vdev);
	gpio_lines_destroy(d->lines);
	log_ratelimit_fini(&d->log_rl);
	free(d->names);
	free(d->line);
	free(d);
}

struct virtio_dev *gpio_dev_virtio(struct gpio_dev *d)
{
	return &d->vdev;
}

struct gpio_lines *gpio_dev_lines(struct gpio_dev *d)
{
	return d->lines;
}

void gpio_dev_get_stats(const struct gpio_dev *d, struct gpio_dev_stats *out)
{
	*out = d->stats;
}
