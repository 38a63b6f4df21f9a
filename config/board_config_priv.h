/* SPDX-License-Identifier: MIT */
/*
 * Private to config/: the loading context and the typed, located setting
 * readers shared by board_config.c and board_config_i2c.c. Every reader
 * that fails has written "FILE:LINE: KEY: message" into the context and
 * returns -EINVAL (or -ENOMEM).
 */
#ifndef VIRTIOBOX_CONFIG_BOARD_CONFIG_PRIV_H
#define VIRTIOBOX_CONFIG_BOARD_CONFIG_PRIV_H

#include <libconfig.h>
#include <stdbool.h>

#include "board_config.h"

#define CFG_PATH_MAX 192

struct cfg_ctx {
	struct board_config *board;
	const struct board_config_opts *opts;
	const char *fallback_file; /* for settings libconfig has no file for */
	char *err;
	size_t errlen;
};

/* Write the error about setting s (at path) and return -EINVAL. */
int cfg_fail(struct cfg_ctx *c, const config_setting_t *s, const char *path,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same, for a place recorded earlier. */
int cfg_fail_src(struct cfg_ctx *c, struct board_src src, const char *path,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Where s was written, with the file name interned in c->board. */
int cfg_src(struct cfg_ctx *c, const config_setting_t *s,
	    struct board_src *out);

/* "parent.key" (or "key" at the root) and "parent[i]" into buf. */
void cfg_path_key(char *buf, const char *parent, const char *key);
void cfg_path_index(char *buf, const char *parent, unsigned i);

/* Every member of group must be named in keys (NULL-terminated). */
int cfg_check_keys(struct cfg_ctx *c, const config_setting_t *group,
		   const char *path, const char *const *keys);

/*
 * Typed readers of group's member key. Return 0 when found and valid, 1
 * when absent and not required (out untouched), or the error. hex: print
 * the value and range in messages as 0x%02llx.
 */
int cfg_string(struct cfg_ctx *c, const config_setting_t *group,
	       const char *path, const char *key, bool required,
	       const char **out);
int cfg_int(struct cfg_ctx *c, const config_setting_t *group, const char *path,
	    const char *key, bool required, long long min, long long max,
	    bool hex, long long *out);
int cfg_bool(struct cfg_ctx *c, const config_setting_t *group, const char *path,
	     const char *key, bool required, bool *out);

/*
 * group's member key as a list ( ... ) of groups, non-empty. Returns 0 and
 * sets *out, 1 when absent and not required, or the error.
 */
int cfg_group_list(struct cfg_ctx *c, const config_setting_t *group,
		   const char *path, const char *key, bool required,
		   config_setting_t **out);

/*
 * group's member key as an array [ ... ] or list ( ... ) of integers in
 * min..max, at most max_n of them, into out[]. Returns 0 (sets *n), 1 when
 * absent and not required, or the error (naming the element at fault).
 */
int cfg_int_array(struct cfg_ctx *c, const config_setting_t *group,
		  const char *path, const char *key, bool required,
		  long long min, long long max, bool hex, long long *out,
		  unsigned max_n, unsigned *n);

/* A name made of letters, digits, '_', '-' and '.', 1..63 characters. */
bool cfg_is_name(const char *s);

/* Record "out of memory" and return -ENOMEM. */
int cfg_nomem(struct cfg_ctx *c);
/* strdup that records -ENOMEM in the context. */
int cfg_strdup(struct cfg_ctx *c, const char *s, char **out);

/* i2c device keys (board_config_i2c.c). */
extern const char *const cfg_i2c_keys[];
int cfg_i2c_parse(struct cfg_ctx *c, const config_setting_t *dev,
		  const char *path, struct board_i2c *out);
/* Cross-device rules: shared host buses, addresses given twice. */
int cfg_i2c_check_board(struct cfg_ctx *c);
void cfg_i2c_free(struct board_i2c *i2c);

/* gpio device keys (board_config_gpio.c). */
extern const char *const cfg_gpio_keys[];
int cfg_gpio_parse(struct cfg_ctx *c, const config_setting_t *dev,
		   const char *path, struct board_gpio *out);
/* Cross-device rules: a host line, or a control socket, used twice. */
int cfg_gpio_check_board(struct cfg_ctx *c);
void cfg_gpio_free(struct board_gpio *gpio);

/* A relative path joined to opts->runtime_dir, into a new string. */
int cfg_resolve_path(struct cfg_ctx *c, const char *path, char **out);

#endif
