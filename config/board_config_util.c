// SPDX-License-Identifier: MIT
/*
 * Located, typed readers of libconfig settings for the board loader: each
 * failure becomes one "FILE:LINE: KEY: message" line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_config_priv.h"

static void vfail(struct cfg_ctx *c, const char *file, unsigned line,
		  const char *path, const char *fmt, va_list ap)
{
	int n;

	if (!c->errlen)
		return;
	/* The root group has no line: name the file alone. */
	if (line)
		n = snprintf(c->err, c->errlen, "%s:%u: %s: ", file, line,
			     path);
	else
		n = snprintf(c->err, c->errlen, "%s: %s: ", file, path);
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
}

static const char *setting_file(struct cfg_ctx *c, const config_setting_t *s)
{
	const char *f = config_setting_source_file(s);

	return f ? f : c->fallback_file;
}

int cfg_fail(struct cfg_ctx *c, const config_setting_t *s, const char *path,
	     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, setting_file(c, s), config_setting_source_line(s), path, fmt,
	      ap);
	va_end(ap);
	return -EINVAL;
}

int cfg_fail_src(struct cfg_ctx *c, struct board_src src, const char *path,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, src.file, src.line, path, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cfg_nomem(struct cfg_ctx *c)
{
	snprintf(c->err, c->errlen, "%s: out of memory", c->fallback_file);
	return -ENOMEM;
}

int cfg_strdup(struct cfg_ctx *c, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : cfg_nomem(c);
}

/* Settings of one file share one copy of its name. */
int cfg_src(struct cfg_ctx *c, const config_setting_t *s, struct board_src *out)
{
	struct board_config *b = c->board;
	const char *f = setting_file(c, s);
	char **files;

	out->line = config_setting_source_line(s);
	for (unsigned i = 0; i < b->nfiles; i++) {
		if (!strcmp(b->files[i], f)) {
			out->file = b->files[i];
			return 0;
		}
	}
	files = realloc(b->files, (b->nfiles + 1) * sizeof(*files));
	if (!files)
		return cfg_nomem(c);
	b->files = files;
	if (cfg_strdup(c, f, &files[b->nfiles]))
		return -ENOMEM;
	out->file = files[b->nfiles++];
	return 0;
}

/* buf = a + b + c, cut at CFG_PATH_MAX: still enough to find the key. */
static void path_join(char *buf, const char *a, const char *b, const char *c)
{
	const char *parts[3] = {a, b, c};
	size_t n = 0;

	for (unsigned i = 0; i < 3; i++) {
		size_t len = strlen(parts[i]);

		if (len > CFG_PATH_MAX - 1 - n)
			len = CFG_PATH_MAX - 1 - n;
		memcpy(buf + n, parts[i], len);
		n += len;
	}
	buf[n] = '\0';
}

void cfg_path_key(char *buf, const char *parent, const char *key)
{
	path_join(buf, parent, *parent ? "." : "", key);
}

void cfg_path_index(char *buf, const char *parent, unsigned i)
{
	char idx[16];

	snprintf(idx, sizeof(idx), "[%u]", i);
	path_join(buf, parent, idx, "");
}

static bool in_list(const char *name, const char *const *keys)
{
	for (; *keys; keys++)
		if (!strcmp(name, *keys))
			return true;
	return false;
}

int cfg_check_keys(struct cfg_ctx *c, const config_setting_t *group,
		   const char *path, const char *const *keys)
{
	char p[CFG_PATH_MAX], known[160] = "";
	config_setting_t *m;

	for (int i = 0; (m = config_setting_get_elem(group, i)); i++) {
		const char *name = config_setting_name(m);

		if (in_list(name, keys))
			continue;
		for (const char *const *k = keys; *k; k++) {
			size_t used = strlen(known);

			snprintf(known + used, sizeof(known) - used, "%s%s",
				 used ? ", " : "", *k);
		}
		cfg_path_key(p, path, name);
		return cfg_fail(c, m, p, "unknown key (known here: %s)", known);
	}
	return 0;
}

/* Look key up in group: 0 found, 1 absent and optional, or the error. */
static int member(struct cfg_ctx *c, const config_setting_t *group,
		  const char *path, const char *key, bool required,
		  config_setting_t **out)
{
	char p[CFG_PATH_MAX];

	*out = config_setting_get_member(group, key);
	if (*out)
		return 0;
	if (!required)
		return 1;
	cfg_path_key(p, path, key);
	return cfg_fail(c, group, p, "required key is missing");
}

int cfg_string(struct cfg_ctx *c, const config_setting_t *group,
	       const char *path, const char *key, bool required,
	       const char **out)
{
	char p[CFG_PATH_MAX];
	config_setting_t *s;
	int ret = member(c, group, path, key, required, &s);

	if (ret)
		return ret;
	cfg_path_key(p, path, key);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_fail(c, s, p, "must be a string");
	*out = config_setting_get_string(s);
	return 0;
}

static bool is_int(const config_setting_t *s)
{
	int t = config_setting_type(s);

	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static int check_int(struct cfg_ctx *c, const config_setting_t *s,
		     const char *p, long long min, long long max, bool hex,
		     long long *out)
{
	long long v;

	if (!is_int(s))
		return cfg_fail(c, s, p, "must be an integer");
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		if (hex)
			return cfg_fail(
				c, s, p,
				"0x%02llx is out of range 0x%02llx..0x%02llx",
				v, min, max);
		return cfg_fail(c, s, p, "%lld is out of range %lld..%lld", v,
				min, max);
	}
	*out = v;
	return 0;
}

int cfg_int(struct cfg_ctx *c, const config_setting_t *group, const char *path,
	    const char *key, bool required, long long min, long long max,
	    bool hex, long long *out)
{
	char p[CFG_PATH_MAX];
	config_setting_t *s;
	int ret = member(c, group, path, key, required, &s);

	if (ret)
		return ret;
	cfg_path_key(p, path, key);
	return check_int(c, s, p, min, max, hex, out);
}

int cfg_bool(struct cfg_ctx *c, const config_setting_t *group, const char *path,
	     const char *key, bool required, bool *out)
{
	char p[CFG_PATH_MAX];
	config_setting_t *s;
	int ret = member(c, group, path, key, required, &s);

	if (ret)
		return ret;
	cfg_path_key(p, path, key);
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cfg_fail(c, s, p, "must be true or false");
	*out = config_setting_get_bool(s);
	return 0;
}

int cfg_group_list(struct cfg_ctx *c, const config_setting_t *group,
		   const char *path, const char *key, bool required,
		   config_setting_t **out)
{
	char p[CFG_PATH_MAX], e[CFG_PATH_MAX];
	config_setting_t *s, *m;
	int ret = member(c, group, path, key, required, &s);

	if (ret)
		return ret;
	cfg_path_key(p, path, key);
	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return cfg_fail(c, s, p, "must be a list ( { ... }, ... )");
	if (config_setting_length(s) == 0)
		return cfg_fail(c, s, p, "must not be empty");
	for (int i = 0; (m = config_setting_get_elem(s, i)); i++) {
		if (config_setting_type(m) != CONFIG_TYPE_GROUP) {
			cfg_path_index(e, p, (unsigned)i);
			return cfg_fail(c, m, e, "must be a group { ... }");
		}
	}
	*out = s;
	return 0;
}

int cfg_int_array(struct cfg_ctx *c, const config_setting_t *group,
		  const char *path, const char *key, bool required,
		  long long min, long long max, bool hex, long long *out,
		  unsigned max_n, unsigned *n)
{
	char p[CFG_PATH_MAX], e[CFG_PATH_MAX];
	config_setting_t *s, *m;
	int ret = member(c, group, path, key, required, &s);
	int t;

	if (ret)
		return ret;
	cfg_path_key(p, path, key);
	t = config_setting_type(s);
	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
		return cfg_fail(c, s, p,
				"must be an array [ ... ] of integers");
	if ((unsigned)config_setting_length(s) > max_n)
		return cfg_fail(c, s, p, "has %d entries, at most %u allowed",
				config_setting_length(s), max_n);
	for (int i = 0; (m = config_setting_get_elem(s, i)); i++) {
		cfg_path_index(e, p, (unsigned)i);
		ret = check_int(c, m, e, min, max, hex, &out[i]);
		if (ret)
			return ret;
	}
	*n = (unsigned)config_setting_length(s);
	return 0;
}

bool cfg_is_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 63)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == len;
}
