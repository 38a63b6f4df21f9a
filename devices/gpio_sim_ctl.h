/* SPDX-License-Identifier: MIT */
/*
 * The control socket of simulated GPIO lines: a UNIX stream socket where a
 * test, a demo or a person drives the lines' inputs, so edges and levels
 * happen on demand. One command per line of text, one answer line each:
 *
 *   set LINE 0|1   drive the outside level of LINE   -> "ok"
 *   get LINE       what LINE shows outside            -> "in 0" / "out 1"
 *
 * Anything else is answered "error: <why>". LINE counts from 0, as the
 * guest numbers them. Up to GPIO_SIM_CTL_CLIENTS clients at a time.
 *
 * Threading: served on the loop given at creation (the control loop);
 * gpio_sim_drive does the locking against the device's data path.
 */
#ifndef VIRTIOBOX_DEVICES_GPIO_SIM_CTL_H
#define VIRTIOBOX_DEVICES_GPIO_SIM_CTL_H

#include "gpio_lines.h"

#define GPIO_SIM_CTL_CLIENTS 8

struct loop;
struct gpio_sim_ctl;

/*
 * Listen on path (a stale socket file there is replaced) and serve
 * commands for lines (made by gpio_sim_create, which must outlive the
 * socket) on l. Returns 0 and sets *out, -ENAMETOOLONG, or the socket's
 * -errno.
 */
int gpio_sim_ctl_create(struct gpio_sim_ctl **out, struct loop *l,
			const char *path, struct gpio_lines *lines);

/* Close every connection, remove the socket file. NULL is accepted. */
void gpio_sim_ctl_destroy(struct gpio_sim_ctl *c);

#endif
