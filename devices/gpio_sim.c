// SPDX-License-Identifier: MIT
/*
 * Simulated GPIO lines behind the gpio_lines seam. Each line has a
 * direction, the value it drives as an output, and the level driven onto
 * it from outside (gpio_sim_drive), which it senses as an input. Edges of
 * an input line with events are queued per line (a few, the oldest are
 * dropped when the guest does not keep up, as a host chip's kfifo does) and
 * signalled through the line's own eventfd, so the device polls it exactly
 * like a libgpiod line request fd.
 *
 * gpio_sim_drive comes from other threads (the control socket is served on
 * the control loop), so the state is behind one mutex; nothing here blocks
 * for longer than a few stores.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gpio_lines.h"
#include "virtio_dev.h" /* container_of */

#define EDGE_QUEUE 16u

struct sim_line {
	enum gpio_line_dir dir;
	int out;	/* value driven as an output */
	int level;	/* level driven from outside */
	unsigned edges; /* GPIO_LINE_EDGE_* reported; 0: no events */
	int efd;	/* eventfd while edges != 0, else -1 */
	unsigned head, count;
	uint8_t queue[EDGE_QUEUE];
};

struct sim {
	struct gpio_lines lines;
	pthread_mutex_t lock;
	struct sim_line line[];
};

static struct sim *to_sim(struct gpio_lines *l)
{
	return container_of(l, struct sim, lines);
}

static const char *sim_name(struct gpio_lines *l, unsigned i)
{
	(void)l;
	(void)i;
	return "";
}

static int sim_get_direction(struct gpio_lines *l, unsigned i)
{
	struct sim *s = to_sim(l);
	int dir;

	pthread_mutex_lock(&s->lock);
	dir = s->line[i].dir;
	pthread_mutex_unlock(&s->lock);
	return dir;
}

/* With the lock held. */
static void events_off(struct sim_line *ln)
{
	if (ln->efd >= 0)
		close(ln->efd);
	ln->efd = -1;
	ln->edges = 0;
	ln->head = ln->count = 0;
}

static int sim_set_direction(struct gpio_lines *l, unsigned i,
			     enum gpio_line_dir dir, int value)
{
	struct sim *s = to_sim(l);
	struct sim_line *ln = &s->line[i];

	pthread_mutex_lock(&s->lock);
	events_off(ln);
	ln->dir = dir;
	if (dir == GPIO_LINE_DIR_OUT)
		ln->out = value ? 1 : 0;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int sim_get_value(struct gpio_lines *l, unsigned i)
{
	struct sim *s = to_sim(l);
	struct sim_line *ln = &s->line[i];
	int v;

	pthread_mutex_lock(&s->lock);
	v = ln->dir == GPIO_LINE_DIR_OUT ? ln->out : ln->level;
	pthread_mutex_unlock(&s->lock);
	return v;
}

static int sim_set_value(struct gpio_lines *l, unsigned i, int value)
{
	struct sim *s = to_sim(l);
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->line[i].dir == GPIO_LINE_DIR_OUT)
		s->line[i].out = value ? 1 : 0;
	else
		ret = -EPERM;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int sim_set_events(struct gpio_lines *l, unsigned i, unsigned edges)
{
	struct sim *s = to_sim(l);
	struct sim_line *ln = &s->line[i];
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	events_off(ln);
	if (edges && ln->dir != GPIO_LINE_DIR_IN) {
		ret = -EPERM;
	} else if (edges) {
		ln->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (ln->efd < 0)
			ret = -errno;
		else
			ln->edges = edges & GPIO_LINE_EDGE_BOTH;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int sim_event_fd(struct gpio_lines *l, unsigned i)
{
	struct sim *s = to_sim(l);
	int fd;

	pthread_mutex_lock(&s->lock);
	fd = s->line[i].efd;
	pthread_mutex_unlock(&s->lock);
	return fd;
}

static int sim_read_event(struct gpio_lines *l, unsigned i, unsigned *edge)
{
	struct sim *s = to_sim(l);
	struct sim_line *ln = &s->line[i];
	uint64_t v;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (ln->count) {
		*edge = ln->queue[ln->head];
		ln->head = (ln->head + 1) % EDGE_QUEUE;
		ln->count--;
		ret = 1;
	}
	/* The eventfd stays readable exactly while edges are queued. */
	if (ln->efd >= 0 && !ln->count && read(ln->efd, &v, sizeof(v)) < 0 &&
	    errno != EAGAIN)
		ret = -errno;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static void sim_destroy(struct gpio_lines *l)
{
	struct sim *s = to_sim(l);

	for (unsigned i = 0; i < l->n; i++)
		events_off(&s->line[i]);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct gpio_lines_ops sim_ops = {
	.kind = "sim",
	.name = sim_name,
	.get_direction = sim_get_direction,
	.set_direction = sim_set_direction,
	.get_value = sim_get_value,
	.set_value = sim_set_value,
	.set_events = sim_set_events,
	.event_fd = sim_event_fd,
	.read_event = sim_read_event,
	.destroy = sim_destroy,
};

int gpio_sim_create(struct gpio_lines **out, unsigned n,
		    const struct gpio_sim_line_desc *desc)
{
	struct sim *s;

	if (n == 0 || n > GPIO_LINES_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if ((desc[i].dir != GPIO_LINE_DIR_IN &&
		     desc[i].dir != GPIO_LINE_DIR_OUT) ||
		    (desc[i].value != 0 && desc[i].value != 1))
			return -EINVAL;
	s = calloc(1, sizeof(*s) + n * sizeof(s->line[0]));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	for (unsigned i = 0; i < n; i++) {
		s->line[i].dir = desc[i].dir;
		s->line[i].efd = -1;
		if (desc[i].dir == GPIO_LINE_DIR_OUT)
			s->line[i].out = desc[i].value;
		else
			s->line[i].level = desc[i].value;
	}
	s->lines.ops = &sim_ops;
	s->lines.n = n;
	*out = &s->lines;
	return 0;
}

/* With the lock held: queue edge and wake the poller. */
static void queue_edge(struct sim_line *ln, unsigned edge)
{
	uint64_t one = 1;

	if (!(ln->edges & edge))
		return;
	if (ln->count == EDGE_QUEUE) {
		ln->head = (ln->head + 1) % EDGE_QUEUE;
		ln->count--;
	}
	ln->queue[(ln->head + ln->count) % EDGE_QUEUE] = (uint8_t)edge;
	ln->count++;
	/* Cannot fail: the counter is far from its maximum. */
	(void)!write(ln->efd, &one, sizeof(one));
}

int gpio_sim_drive(struct gpio_lines *l, unsigned i, int value)
{
	struct sim *s;
	struct sim_line *ln;

	if (!l || l->ops != &sim_ops || i >= l->n || (value != 0 && value != 1))
		return -EINVAL;
	s = to_sim(l);
	ln = &s->line[i];
	pthread_mutex_lock(&s->lock);
	if (ln->level != value && ln->dir == GPIO_LINE_DIR_IN)
		queue_edge(ln, value ? GPIO_LINE_EDGE_RISING
				     : GPIO_LINE_EDGE_FALLING);
	ln->level = value;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int gpio_sim_peek(struct gpio_lines *l, unsigned i, enum gpio_line_dir *dir,
		  int *level)
{
	struct sim *s;

	if (!l || l->ops != &sim_ops || i >= l->n)
		return -EINVAL;
	s = to_sim(l);
	pthread_mutex_lock(&s->lock);
	*dir = s->line[i].dir;
	*level = s->line[i].dir == GPIO_LINE_DIR_OUT ? s->line[i].out
						     : s->line[i].level;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
