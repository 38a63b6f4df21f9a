/* SPDX-License-Identifier: MIT */
/*
 * The running board: the object graph built from a loaded board file
 * (config/board_config.h). For each device of each guest it opens the host
 * resource (a /dev/i2c-N adapter, or a simulated bus with its chips),
 * creates the device model (devices/models.h) and the transport that
 * carries it: one vhost-user server per device of a vhost-user guest, and
 * for the xen-mmio guests virtiobox itself as their virtio-mmio transport
 * through Xen IOREQ (board_xen.h), found through xenstore. No global
 * state: everything hangs off one struct board.
 *
 * Threading: control thread only. The devices' data paths run on threads
 * the transports start and stop.
 */
#ifndef VIRTIOBOX_BOARD_BOARD_H
#define VIRTIOBOX_BOARD_BOARD_H

#include <stdio.h>

#include "board_config.h"

struct board;
struct loop;

/*
 * Build every device of cfg and start serving it on ctl (the control
 * loop); xen-mmio guests are served whenever xenstore shows them, now or
 * later. A failure (a host bus that cannot be opened, a socket that cannot
 * be bound, xenstore out of reach with xen-mmio guests) undoes what was
 * built and returns its -errno. Each failure is logged once, naming the
 * board file, line and key at fault (or the Xen interface). cfg must
 * outlive the board. Returns 0 and sets *out.
 */
int board_create(struct board **out, const struct board_config *cfg,
		 struct loop *ctl);

/* Stop every transport, then destroy the devices. NULL is accepted. */
void board_destroy(struct board *b);

/* Devices the board serves. */
unsigned board_device_count(const struct board *b);

/*
 * Write a human-readable description of what cfg would serve (the
 * "virtiobox check" output), xl.cfg lines of xen-mmio guests included.
 * Returns the number of devices described.
 */
unsigned board_describe(const struct board_config *cfg, FILE *out);

#endif
