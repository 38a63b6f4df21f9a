/* SPDX-License-Identifier: MIT */
/*
 * virtio-gpio device model (VIRTIO_ID_GPIO 41): requestq (0) and eventq
 * (1), VIRTIO_GPIO_F_IRQ, config {le16 ngpio; u8 padding[2]; le32
 * gpio_names_size}.
 *
 * The guest sees the lines of one struct gpio_lines, numbered 0..n-1 (the
 * host offsets behind them are the board's business), named by the board
 * file or else by the host.
 *
 * requestq: each chain is an 8-byte device-readable request {le16 type;
 * le16 gpio; le32 value} and a device-writable response of exactly 2 bytes
 * {status, value}, or 1 + gpio_names_size bytes for GET_NAMES. Every field
 * is checked: type, gpio < ngpio (0 for GET_NAMES), value 0 where the spec
 * says 0, 0/1 for SET_VALUE, a direction for SET_DIRECTION, an IRQ type for
 * SET_IRQ_TYPE (only with VIRTIO_GPIO_F_IRQ negotiated, only on an input
 * line). A request that fails any check, or that the host refuses, gets
 * status VIRTIO_GPIO_STATUS_ERR in a {ERR, 0} response cut to the
 * buffer's size; a chain with no writable byte is completed with used
 * length 0. Nothing beyond the response buffer is ever written.
 *
 * eventq: a chain {le16 gpio} + {u8 status} unmasks line gpio. It is held
 * until the line's interrupt fires (status VALID) or the guest disables
 * the interrupt, changes its type, or takes the line out of input
 * (status INVALID, at once). A buffer for a line without an IRQ type, a
 * second buffer for a line, or a malformed one is returned INVALID at
 * once. Edge types latch an edge seen while masked and deliver it when the
 * buffer arrives; level types never latch, and fire as soon as a buffer is
 * queued while the line is at its active level, so a level that persists
 * fires again on every re-queue. Edges come from the lines' event fds,
 * polled on the device's data-path loop (virtio_dev.loop): no thread per
 * line, no allocation per request or event.
 */
#ifndef VIRTIOBOX_DEVICES_GPIO_H
#define VIRTIOBOX_DEVICES_GPIO_H

#include <stdbool.h>
#include <stdint.h>

#include "gpio_lines.h"
#include "virtio_dev.h"

#define GPIO_DEV_QUEUE_MAX 1024u
#define GPIO_DEV_REQUESTQ  0u
#define GPIO_DEV_EVENTQ	   1u

extern const struct virtio_dev_ops gpio_dev_ops;

struct gpio_dev;

struct gpio_dev_params {
	const char *name; /* for log lines, e.g. "guest1/gpio0"; copied */
	struct gpio_lines *lines;
	/* lines->n names, or NULL; a NULL or "" entry takes the host's name.
	 * Copied. Names must be unique: a repeated one is dropped (logged). */
	const char *const *names;
	bool no_irq; /* do not offer VIRTIO_GPIO_F_IRQ */
};

/* Counters, updated by the data-path thread. */
struct gpio_dev_stats {
	uint64_t requests;    /* requestq chains completed */
	uint64_t malformed;   /* requests refused for their layout or fields */
	uint64_t host_errors; /* requests the host lines refused */
	uint64_t irqs;	      /* eventq buffers returned VALID */
	uint64_t invalid;     /* eventq buffers returned INVALID */
};

/*
 * Create a device serving p->lines. extra_features are ring features the
 * transport offers (e.g. 1ULL << VIRTIO_F_RING_PACKED). On success the
 * device owns the lines and destroys them with itself; on failure the
 * caller keeps them. Returns 0 and sets *out, -EINVAL (no lines, more than
 * GPIO_LINES_MAX, a name over 63 bytes), -ENOMEM, or the -errno of reading
 * a line's initial state. Control thread.
 */
int gpio_dev_create(struct gpio_dev **out, const struct gpio_dev_params *p,
		    uint64_t extra_features);

/* Destroy the device and its lines; its transport must be gone. NULL ok. */
void gpio_dev_destroy(struct gpio_dev *d);

/* The virtio device object to hand to a transport; lives as long as d. */
struct virtio_dev *gpio_dev_virtio(struct gpio_dev *d);

/* The lines the device serves (for a control socket); lives as long as d. */
struct gpio_lines *gpio_dev_lines(struct gpio_dev *d);

/*
 * Copy the counters. Exact when called from the data-path thread or while
 * it is paused; otherwise a recent snapshot.
 */
void gpio_dev_get_stats(const struct gpio_dev *d, struct gpio_dev_stats *out);

#endif
