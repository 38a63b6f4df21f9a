/* SPDX-License-Identifier: MIT */
/*
 * The running board: the object graph built from a loaded board file
 * (config/board_config.h). For each device of each guest it opens the host
 * resource (a /dev/i2c-N adapter, or a simulated bus with its chips),
 * creates the device model (devices/models.h) and the transport that
 * carries it (today: one vhost-user server per device). No global state:
 * everything hangs off one struct board.
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
 * loop). Refuses, before building anything, a board with a guest whose
 * transport cannot be served yet (xen-mmio): -ENOTSUP. Any other failure
 * (a host bus that cannot be opened, a socket that cannot be bound) undoes
 * what was built and returns its -errno. Each failure is logged once,
 * naming the board file, line and key at fault. cfg must outlive the
 * board. Returns 0 and sets *out.
 */
int board_create(struct board **out, const struct board_config *cfg,
		 struct loop *ctl);

/* Stop every transport, then destroy the devices. NULL is accepted. */
void board_destroy(struct board *b);

/* Devices the board serves. */
unsigned board_device_count(const struct board *b);

/*
 * Write a human-readable description of what cfg would serve (the
 * "virtiobox check" output). Returns the number of guests that cannot be
 * served by this version (xen-mmio ones).
 */
unsigned board_describe(const struct board_config *cfg, FILE *out);

#endif
