/* SPDX-License-Identifier: MIT */
/*
 * Host GPIO line seam: the lines one virtio-gpio device (devices/gpio.c)
 * gives its guest, numbered 0..n-1 whatever their host offsets are. One
 * const struct gpio_lines_ops per kind:
 *   - devices/gpio_hostdev.c: lines of a Linux GPIO chip through libgpiod
 *     1.6, each requested at creation with consumer "virtiobox";
 *   - devices/gpio_sim.c: simulated lines whose input levels are driven
 *     from outside (gpio_sim_drive, the control socket of
 *     devices/gpio_sim_ctl.c), for boards without hardware and for tests.
 *
 * Interrupts without a thread per line: a line with edge events enabled
 * has an event fd (gpio_lines_event_fd) that becomes readable when an edge
 * is waiting; the device polls it on its data-path loop and reads the edges
 * with gpio_lines_read_event, which never blocks.
 *
 * Threading: a set of lines is used by one thread at a time (the owning
 * device's data-path thread, or the control thread while that data path is
 * paused); gpio_sim_drive and gpio_sim_peek may be called from any thread.
 */
#ifndef VIRTIOBOX_DEVICES_GPIO_LINES_H
#define VIRTIOBOX_DEVICES_GPIO_LINES_H

#include <stdbool.h>
#include <stdint.h>

#define GPIO_LINES_MAX 256u /* lines one device may give a guest */

enum gpio_line_dir {
	GPIO_LINE_DIR_IN,
	GPIO_LINE_DIR_OUT,
};

/* Edge bits, for gpio_lines_set_events and gpio_lines_read_event. */
#define GPIO_LINE_EDGE_RISING  0x1u
#define GPIO_LINE_EDGE_FALLING 0x2u
#define GPIO_LINE_EDGE_BOTH    (GPIO_LINE_EDGE_RISING | GPIO_LINE_EDGE_FALLING)

struct gpio_lines;

struct gpio_lines_ops {
	const char *kind; /* "hostdev", "sim" */
	/* Line i's host name, "" when it has none; lives as long as l. */
	const char *(*name)(struct gpio_lines *l, unsigned i);
	/* Line i's direction now: GPIO_LINE_DIR_* or -errno. */
	int (*get_direction)(struct gpio_lines *l, unsigned i);
	/*
	 * Make line i an input, or an output driving value (0/1). Turns its
	 * edge events off. Returns 0 or -errno (the line is then unchanged,
	 * or an input if the host could not restore it).
	 */
	int (*set_direction)(struct gpio_lines *l, unsigned i,
			     enum gpio_line_dir dir, int value);
	/* The level line i senses (input) or drives (output): 0, 1, -errno. */
	int (*get_value)(struct gpio_lines *l, unsigned i);
	/* Drive output line i to value (0/1). Returns 0 or -errno. */
	int (*set_value)(struct gpio_lines *l, unsigned i, int value);
	/*
	 * Report edges (GPIO_LINE_EDGE_* bits) of input line i from now on;
	 * 0 turns events off. Edges not yet read are dropped. Returns 0,
	 * -EPERM when the line is an output, or the host's -errno (the line
	 * is then an input without events).
	 */
	int (*set_events)(struct gpio_lines *l, unsigned i, unsigned edges);
	/* The fd to poll (EPOLLIN) for line i's edges, or -1 without events.
	 * Owned by l; valid until the next set_direction/set_events of i. */
	int (*event_fd)(struct gpio_lines *l, unsigned i);
	/*
	 * Take one waiting edge of line i into *edge (one GPIO_LINE_EDGE_*
	 * bit). Returns 1 got one, 0 none waiting (never blocks), -errno.
	 */
	int (*read_event)(struct gpio_lines *l, unsigned i, unsigned *edge);
	void (*destroy)(struct gpio_lines *l);
};

/* Embedded in each kind's own struct; reached with container_of. */
struct gpio_lines {
	const struct gpio_lines_ops *ops;
	unsigned n; /* lines 0..n-1 */
};

static inline const char *gpio_lines_name(struct gpio_lines *l, unsigned i)
{
	return l->ops->name(l, i);
}
static inline int gpio_lines_get_direction(struct gpio_lines *l, unsigned i)
{
	return l->ops->get_direction(l, i);
}
static inline int gpio_lines_set_direction(struct gpio_lines *l, unsigned i,
					   enum gpio_line_dir dir, int value)
{
	return l->ops->set_direction(l, i, dir, value);
}
static inline int gpio_lines_get_value(struct gpio_lines *l, unsigned i)
{
	return l->ops->get_value(l, i);
}
static inline int gpio_lines_set_value(struct gpio_lines *l, unsigned i,
				       int value)
{
	return l->ops->set_value(l, i, value);
}
static inline int gpio_lines_set_events(struct gpio_lines *l, unsigned i,
					unsigned edges)
{
	return l->ops->set_events(l, i, edges);
}
static inline int gpio_lines_event_fd(struct gpio_lines *l, unsigned i)
{
	return l->ops->event_fd(l, i);
}
static inline int gpio_lines_read_event(struct gpio_lines *l, unsigned i,
					unsigned *edge)
{
	return l->ops->read_event(l, i, edge);
}

/* Destroy l (NULL is ignored): host lines are released. */
static inline void gpio_lines_destroy(struct gpio_lines *l)
{
	if (l)
		l->ops->destroy(l);
}

/* ---- simulated lines (devices/gpio_sim.c) ---- */

struct gpio_sim_line_desc {
	enum gpio_line_dir dir; /* initial direction */
	int value; /* initial output value, or the level driven on the input */
};

/*
 * Create n simulated lines (1..GPIO_LINES_MAX) set up as desc[0..n)
 * says. Returns 0 and sets *out, -EINVAL (n, a direction or a value out
 * of range), -ENOMEM, or the eventfd -errno.
 */
int gpio_sim_create(struct gpio_lines **out, unsigned n,
		    const struct gpio_sim_line_desc *desc);

/*
 * Drive the outside level of line i to value (0/1), as a signal wired to
 * the pin would. An input line then senses it, and an edge is reported if
 * the line has events for it; an output line keeps driving its own value
 * (the level applies once it becomes an input). Returns 0, or -EINVAL (not
 * a sim, i out of range, value not 0/1). Any thread.
 */
int gpio_sim_drive(struct gpio_lines *l, unsigned i, int value);

/*
 * What line i shows from outside: its direction, and the level on the pin
 * (an output's value, else the driven level). Returns 0 or -EINVAL. Any
 * thread.
 */
int gpio_sim_peek(struct gpio_lines *l, unsigned i, enum gpio_line_dir *dir,
		  int *level);

/* ---- Linux GPIO chips through libgpiod (devices/gpio_hostdev.c) ---- */

/*
 * Open chip (a path such as /dev/gpiochip0, a name such as gpiochip0, a
 * number or a label: gpiod_chip_open_lookup) and request offsets[0..n)
 * with consumer "virtiobox", each keeping the direction and value it has.
 * On failure err says what failed, naming the chip and line (e.g.
 * "gpiochip0 line 3 is busy (used by \"foo\")"). Returns 0 and sets *out,
 * -EINVAL (n 0 or over GPIO_LINES_MAX, an offset listed twice or past the
 * chip's last line), -EBUSY (a line is in use on the host), or the
 * host's -errno.
 */
int gpio_hostdev_open(struct gpio_lines **out, const char *chip,
		      const unsigned *offsets, unsigned n, char *err,
		      unsigned errlen);

#endif
