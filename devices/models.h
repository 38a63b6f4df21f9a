/* SPDX-License-Identifier: MIT */
/*
 * The explicit table of device models: one row per devices/<model>.c, each
 * naming the model's const ops table. No constructor registration: adding
 * a model means adding a row here (and its board-file keys in config/).
 */
#ifndef VIRTIOBOX_DEVICES_MODELS_H
#define VIRTIOBOX_DEVICES_MODELS_H

#include "virtio_dev.h"

struct model {
	const char *type; /* the board file's device "type" */
	const struct virtio_dev_ops *ops;
};

/* Every model, in a fixed order; models_count() rows. */
extern const struct model models_table[];
unsigned models_count(void);

/* The model whose type is type, or NULL. Any thread. */
const struct model *models_find(const char *type);

#endif
