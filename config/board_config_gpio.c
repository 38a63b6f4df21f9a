// SPDX-License-Identifier: MIT
/*
 * The gpio device's board-file keys: its chip (a host chip or "sim"), the
 * lines it gives the guest, their names, the initial state of simulated
 * lines and their control socket, and the rules that span devices (a host
 * line belongs to one device; no two sockets share a path).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "board_config_priv.h"

#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

const char *const cfg_gpio_keys[] = {
	"type",	 "name",       "socket", "packed", "chip",    "lines",
	"names", "directions", "values", "irq",	   "control", NULL,
};

/* "/dev/gpiochip0" and "gpiochip0" are one chip. */
static const char *chip_id(const char *chip)
{
	return strncmp(chip, "/dev/", 5) ? chip : chip + 5;
}

/* With host checks on, a path or gpiochipN name must be a device node. */
static int check_host_chip(struct cfg_ctx *c, const config_setting_t *s,
			   const char *p, const char *chip, dev_t *rdev)
{
	char node[96];
	struct stat st;

	if (!*chip)
		return cfg_fail(c, s, p, "must not be empty");
	if (!c->opts->check_host)
		return 0;
	if (chip[0] == '/')
		snprintf(node, sizeof(node), "%s", chip);
	else if (!strncmp(chip, "gpiochip", 8))
		snprintf(node, sizeof(node), "/dev/%s", chip);
	else
		return 0; /* a label or number: resolved at start-up */
	if (stat(node, &st) < 0)
		return cfg_fail(c, s, p, "%s: %s", node, strerror(errno));
	if (!S_ISCHR(st.st_mode))
		return cfg_fail(c, s, p,
				"%s is not a character device (a GPIO chip "
				"such as /dev/gpiochip0)",
				node);
	*rdev = st.st_rdev;
	return 0;
}

static int parse_chip(struct cfg_ctx *c, const config_setting_t *dev,
		      const char *path, struct board_gpio *out)
{
	char p[CFG_PATH_MAX];
	config_setting_t *s;
	const char *chip;
	int ret = cfg_string(c, dev, path, "chip", true, &chip);

	if (ret)
		return ret;
	s = config_setting_get_member(dev, "chip");
	cfg_path_key(p, path, "chip");
	ret = cfg_src(c, s, &out->chip_src);
	if (ret)
		return ret;
	out->is_sim = !strcmp(chip, "sim");
	if (!out->is_sim &&
	    (ret = check_host_chip(c, s, p, chip, &out->chip_rdev)))
		return ret;
	return cfg_strdup(c, chip, &out->chip);
}

static int parse_lines(struct cfg_ctx *c, const config_setting_t *dev,
		       const char *path, struct board_gpio *out)
{
	char p[CFG_PATH_MAX], e[CFG_PATH_MAX];
	long long v[BOARD_GPIO_LINES_MAX];
	config_setting_t *s = config_setting_get_member(dev, "lines");
	unsigned n;
	int ret;

	cfg_path_key(p, path, "lines");
	if (s && out->is_sim && config_setting_type(s) != CONFIG_TYPE_INT)
		return cfg_fail(c, s, p,
				"for chip = \"sim\" this is the number of "
				"lines, e.g. lines = 8");
	if (out->is_sim) {
		ret = cfg_int(c, dev, path, "lines", true, 1,
			      BOARD_GPIO_LINES_MAX, false, &v[0]);
		if (ret)
			return ret;
		out->nlines = (unsigned)v[0];
		return cfg_src(c, s, &out->lines_src);
	}
	if (s && config_setting_type(s) == CONFIG_TYPE_INT)
		return cfg_fail(c, s, p,
				"must list the host chip's line offsets, e.g. "
				"lines = [ 0, 1, 5 ]");
	ret = cfg_int_array(c, dev, path, "lines", true, 0,
			    BOARD_GPIO_OFFSET_MAX, false, v,
			    BOARD_GPIO_LINES_MAX, &n);
	if (ret)
		return ret;
	if (n == 0)
		return cfg_fail(c, s, p, "must list at least one line");
	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = 0; j < i; j++)
			if (out->offsets[j] == v[i]) {
				cfg_path_index(e, p, i);
				return cfg_fail(
					c, config_setting_get_elem(s, i), e,
					"line %lld is listed twice", v[i]);
			}
		out->offsets[i] = (unsigned)v[i];
	}
	out->nlines = n;
	return cfg_src(c, s, &out->lines_src);
}

/* key as an array of exactly out->nlines strings; NULL s when absent. */
static int string_array(struct cfg_ctx *c, const config_setting_t *dev,
			const char *path, const char *key,
			const struct board_gpio *out, config_setting_t **s)
{
	char p[CFG_PATH_MAX];
	int t;

	*s = config_setting_get_member(dev, key);
	if (!*s)
		return 0;
	cfg_path_key(p, path, key);
	t = config_setting_type(*s);
	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
		return cfg_fail(c, *s, p,
				"must be an array [ ... ] of strings");
	if ((unsigned)config_setting_length(*s) != out->nlines)
		return cfg_fail(c, *s, p,
				"has %d entries; the device has %u lines",
				config_setting_length(*s), out->nlines);
	return 0;
}

static bool is_line_name(const char *name)
{
	for (const char *k = name; *k; k++)
		if (*k < 0x20 || *k > 0x7e)
			return false;
	return strlen(name) <= BOARD_GPIO_NAME_MAX;
}

static int parse_names(struct cfg_ctx *c, const config_setting_t *dev,
		       const char *path, struct board_gpio *out)
{
	char p[CFG_PATH_MAX], e[CFG_PATH_MAX];
	config_setting_t *s, *m;
	int ret = string_array(c, dev, path, "names", out, &s);

	if (ret || !s)
		return ret;
	cfg_path_key(p, path, "names");
	for (unsigned i = 0; (m = config_setting_get_elem(s, i)); i++) {
		const char *name = config_setting_get_string(m);

		cfg_path_index(e, p, i);
		if (!name)
			return cfg_fail(c, m, e, "must be a string");
		if (!is_line_name(name))
			return cfg_fail(c, m, e,
					"\"%s\" is not a line name (at most "
					"%d printable ASCII characters)",
					name, BOARD_GPIO_NAME_MAX);
		for (unsigned j = 0; *name && j < i; j++)
			if (out->names[j] && !strcmp(out->names[j], name))
				return cfg_fail(c, m, e,
						"\"%s\" is already the name of "
						"line %u",
						name, j);
		if (*name && (ret = cfg_strdup(c, name, &out->names[i])))
			return ret;
	}
	return 0;
}

/* A key that only simulated lines take. */
static int sim_only(struct cfg_ctx *c, const config_setting_t *dev,
		    const char *path, const char *key)
{
	char p[CFG_PATH_MAX];
	config_setting_t *s = config_setting_get_member(dev, key);

	if (!s)
		return 0;
	cfg_path_key(p, path, key);
	return cfg_fail(c, s, p,
			"applies only to chip = \"sim\" (a host line keeps "
			"the state it has)");
}

static int parse_directions(struct cfg_ctx *c, const config_setting_t *dev,
			    const char *path, struct board_gpio *out)
{
	char p[CFG_PATH_MAX], e[CFG_PATH_MAX];
	config_setting_t *s, *m;
	int ret = string_array(c, dev, path, "directions", out, &s);

	if (ret || !s)
		return ret;
	cfg_path_key(p, path, "directions");
	for (unsigned i = 0; (m = config_setting_get_elem(s, i)); i++) {
		const char *dir = config_setting_get_string(m);

		cfg_path_index(e, p, i);
		if (dir && !strcmp(dir, "in"))
			out->outputs[i] = 0;
		else if (dir && !strcmp(dir, "out"))
			out->outputs[i] = 1;
		else
			return cfg_fail(c, m, e, "must be \"in\" or \"out\"");
	}
	return 0;
}

static int parse_values(struct cfg_ctx *c, const config_setting_t *dev,
			const char *path, struct board_gpio *out)
{
	char p[CFG_PATH_MAX];
	long long v[BOARD_GPIO_LINES_MAX];
	unsigned n;
	int ret = cfg_int_array(c, dev, path, "values", false, 0, 1, false, v,
				BOARD_GPIO_LINES_MAX, &n);

	if (ret)
		return ret < 0 ? ret : 0;
	if (n != out->nlines) {
		cfg_path_key(p, path, "values");
		return cfg_fail(c, config_setting_get_member(dev, "values"), p,
				"has %u entries; the device has %u lines", n,
				out->nlines);
	}
	for (unsigned i = 0; i < n; i++)
		out->values[i] = (uint8_t)v[i];
	return 0;
}

static int parse_control(struct cfg_ctx *c, const config_setting_t *dev,
			 const char *path, struct board_gpio *out)
{
	char p[CFG_PATH_MAX];
	config_setting_t *s = config_setting_get_member(dev, "control");
	const char *ctl;
	int ret = cfg_string(c, dev, path, "control", false, &ctl);

	if (ret)
		return ret < 0 ? ret : 0;
	cfg_path_key(p, path, "control");
	if (!*ctl)
		return cfg_fail(c, s, p, "must not be empty");
	ret = cfg_resolve_path(c, ctl, &out->control);
	if (!ret)
		ret = cfg_src(c, s, &out->control_src);
	if (!ret && strlen(out->control) > SUN_PATH_MAX)
		return cfg_fail(c, s, p,
				"%s is %zu bytes long; a UNIX socket path "
				"takes at most %zu",
				out->control, strlen(out->control),
				SUN_PATH_MAX);
	return ret;
}

int cfg_gpio_parse(struct cfg_ctx *c, const config_setting_t *dev,
		   const char *path, struct board_gpio *out)
{
	int ret = parse_chip(c, dev, path, out);

	out->irq = true;
	if (!ret)
		ret = parse_lines(c, dev, path, out);
	if (!ret)
		ret = parse_names(c, dev, path, out);
	if (!ret) {
		ret = cfg_bool(c, dev, path, "irq", false, &out->irq);
		ret = ret < 0 ? ret : 0;
	}
	if (ret || !out->is_sim) {
		if (!ret)
			ret = sim_only(c, dev, path, "directions");
		if (!ret)
			ret = sim_only(c, dev, path, "values");
		if (!ret)
			ret = sim_only(c, dev, path, "control");
		return ret;
	}
	ret = parse_directions(c, dev, path, out);
	if (!ret)
		ret = parse_values(c, dev, path, out);
	if (!ret)
		ret = parse_control(c, dev, path, out);
	return ret;
}

void cfg_gpio_free(struct board_gpio *gpio)
{
	free(gpio->chip);
	free(gpio->control);
	for (unsigned i = 0; i < BOARD_GPIO_LINES_MAX; i++)
		free(gpio->names[i]);
}

static bool is_host_gpio(const struct board_device *d)
{
	return !strcmp(d->type, "gpio") && !d->gpio.is_sim;
}

/* By device number when both nodes were checked, so a symlink to a chip is
 * that chip; else by name ("/dev/gpiochip0" and "gpiochip0" are one). */
static bool same_chip(const struct board_gpio *a, const struct board_gpio *b)
{
	if (a->chip_rdev && b->chip_rdev)
		return a->chip_rdev == b->chip_rdev;
	return !strcmp(chip_id(a->chip), chip_id(b->chip));
}

/* A line of device b already given to device a (both host gpio)? */
static int line_clash(struct cfg_ctx *c, const struct board_device *a,
		      unsigned ga, unsigned da, const struct board_device *b,
		      unsigned gb, unsigned db)
{
	char p[CFG_PATH_MAX];

	if (!same_chip(&a->gpio, &b->gpio))
		return 0;
	for (unsigned i = 0; i < b->gpio.nlines; i++)
		for (unsigned j = 0; j < a->gpio.nlines; j++) {
			if (a->gpio.offsets[j] != b->gpio.offsets[i])
				continue;
			snprintf(p, sizeof(p), "guests[%u].devices[%u].lines",
				 gb, db);
			return cfg_fail_src(
				c, b->gpio.lines_src, p,
				"line %u of %s is already given to "
				"guests[%u].devices[%u] \"%s\" (%s:%u); a host "
				"line belongs to one device",
				b->gpio.offsets[i], b->gpio.chip, ga, da,
				a->name, a->gpio.lines_src.file,
				a->gpio.lines_src.line);
		}
	return 0;
}

/* A control socket must not be any other socket of the board. */
static int control_clash(struct cfg_ctx *c, const struct board_device *b,
			 unsigned gb, unsigned db)
{
	const struct board_config *bc = c->board;
	char p[CFG_PATH_MAX];

	snprintf(p, sizeof(p), "guests[%u].devices[%u].control", gb, db);
	for (unsigned g = 0; g < bc->nguests; g++)
		for (unsigned d = 0; d < bc->guests[g].ndevices; d++) {
			const struct board_device *o =
				&bc->guests[g].devices[d];
			bool ctl = !strcmp(o->type, "gpio") &&
				   o->gpio.control && o != b;

			if ((o->socket &&
			     !strcmp(o->socket, b->gpio.control)) ||
			    (ctl && !strcmp(o->gpio.control, b->gpio.control)))
				return cfg_fail_src(c, b->gpio.control_src, p,
						    "%s is also a socket of "
						    "guests[%u].devices[%u]",
						    b->gpio.control, g, d);
		}
	return 0;
}

static int check_device(struct cfg_ctx *c, unsigned gb, unsigned db)
{
	const struct board_device *b = &c->board->guests[gb].devices[db];

	if (b->gpio.control)
		return control_clash(c, b, gb, db);
	if (!is_host_gpio(b))
		return 0;
	for (unsigned g = 0; g <= gb; g++) {
		const struct board_guest *ga = &c->board->guests[g];
		unsigned end = g == gb ? db : ga->ndevices;

		for (unsigned d = 0; d < end; d++) {
			int ret;

			if (!is_host_gpio(&ga->devices[d]))
				continue;
			ret = line_clash(c, &ga->devices[d], g, d, b, gb, db);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int cfg_gpio_check_board(struct cfg_ctx *c)
{
	for (unsigned g = 0; g < c->board->nguests; g++)
		for (unsigned d = 0; d < c->board->guests[g].ndevices; d++) {
			int ret;

			if (strcmp(c->board->guests[g].devices[d].type, "gpio"))
				continue;
			ret = check_device(c, g, d);
			if (ret)
				return ret;
		}
	return 0;
}
