// SPDX-License-Identifier: MIT
/*
 * The i2c device's board-file keys: its bus (a host adapter or "sim"), its
 * simulated chips, its allow-list, and the rules that span devices (a host
 * bus given to two devices must be shared by both; an address on a bus
 * belongs to one device).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "board_config_priv.h"

const char *const cfg_i2c_keys[] = {
	"type",	     "name",	     "socket", "packed", "bus",
	"addresses", "max_transfer", "shared", "chips",	 NULL,
};

static const char *const chip_keys[] = {"type", "address", "size", "init",
					NULL};

/*
 * A host bus must be a character device when host checks are on. Its
 * device number is kept whenever it can be read, so the one-address-one-
 * device rule sees through symlinks.
 */
static int check_host_bus(struct cfg_ctx *c, const config_setting_t *s,
			  const char *p, const char *bus, dev_t *rdev)
{
	struct stat st;

	if (bus[0] != '/')
		return cfg_fail(c, s, p,
				"\"%s\" is neither \"sim\" nor an absolute "
				"path such as \"/dev/i2c-1\"",
				bus);
	if (stat(bus, &st) == 0 && S_ISCHR(st.st_mode))
		*rdev = st.st_rdev;
	if (!c->opts->check_host)
		return 0;
	if (stat(bus, &st) < 0)
		return cfg_fail(c, s, p, "%s: %s", bus, strerror(errno));
	if (!S_ISCHR(st.st_mode))
		return cfg_fail(c, s, p,
				"%s is not a character device (an i2c-dev "
				"node such as /dev/i2c-1)",
				bus);
	return 0;
}

static int parse_bus(struct cfg_ctx *c, const config_setting_t *dev,
		     const char *path, struct board_i2c *out)
{
	char p[CFG_PATH_MAX];
	config_setting_t *s;
	const char *bus;
	int ret = cfg_string(c, dev, path, "bus", true, &bus);

	if (ret)
		return ret;
	s = config_setting_get_member(dev, "bus");
	cfg_path_key(p, path, "bus");
	ret = cfg_src(c, s, &out->bus_src);
	if (ret)
		return ret;
	out->is_sim = !strcmp(bus, "sim");
	if (!out->is_sim) {
		ret = check_host_bus(c, s, p, bus, &out->bus_rdev);
		if (ret)
			return ret;
	}
	return cfg_strdup(c, bus, &out->bus);
}

static int find_addr(const uint8_t *a, unsigned n, uint8_t addr)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i] == addr)
			return (int)i;
	return -1;
}

static int parse_addresses(struct cfg_ctx *c, const config_setting_t *dev,
			   const char *path, struct board_i2c *out)
{
	char p[CFG_PATH_MAX], e[CFG_PATH_MAX];
	long long v[BOARD_I2C_ADDR_MAX + 1];
	config_setting_t *s;
	unsigned n;
	int ret = cfg_int_array(c, dev, path, "addresses", !out->is_sim,
				BOARD_I2C_ADDR_MIN, BOARD_I2C_ADDR_MAX, true, v,
				BOARD_I2C_ADDR_MAX + 1, &n);

	if (ret)
		return ret; /* 1: absent on a sim bus, filled from the chips */
	s = config_setting_get_member(dev, "addresses");
	cfg_path_key(p, path, "addresses");
	if (n == 0)
		return cfg_fail(c, s, p, "must list at least one address");
	for (unsigned i = 0; i < n; i++) {
		if (find_addr(out->addresses, i, (uint8_t)v[i]) >= 0) {
			cfg_path_index(e, p, i);
			return cfg_fail(c, config_setting_get_elem(s, i), e,
					"0x%02llx is listed twice", v[i]);
		}
		out->addresses[i] = (uint8_t)v[i];
	}
	out->naddresses = n;
	return cfg_src(c, s, &out->addresses_src);
}

static int parse_chip_type(struct cfg_ctx *c, const config_setting_t *g,
			   const char *path, struct board_chip *out)
{
	char p[CFG_PATH_MAX];
	const char *type;
	int ret = cfg_string(c, g, path, "type", true, &type);

	if (ret)
		return ret;
	if (!strcmp(type, "24c02")) {
		out->kind = BOARD_CHIP_24C02;
		return 0;
	}
	if (!strcmp(type, "regs")) {
		out->kind = BOARD_CHIP_REGS;
		return 0;
	}
	cfg_path_key(p, path, "type");
	return cfg_fail(c, config_setting_get_member(g, "type"), p,
			"unknown chip type \"%s\" (known: 24c02, regs)", type);
}

static int parse_chip_size(struct cfg_ctx *c, const config_setting_t *g,
			   const char *path, struct board_chip *out)
{
	char p[CFG_PATH_MAX];
	long long v;
	int ret;

	if (out->kind == BOARD_CHIP_24C02) {
		out->size = 256;
		if (!config_setting_get_member(g, "size"))
			return 0;
		cfg_path_key(p, path, "size");
		return cfg_fail(c, config_setting_get_member(g, "size"), p,
				"a 24c02 has a fixed size of 256 bytes");
	}
	ret = cfg_int(c, g, path, "size", true, 1, BOARD_CHIP_SIZE_MAX, false,
		      &v);
	out->size = (uint16_t)v;
	return ret;
}

static int parse_chip(struct cfg_ctx *c, const config_setting_t *g,
		      const char *path, struct board_chip *out)
{
	long long v[BOARD_CHIP_SIZE_MAX], addr;
	unsigned n = 0;
	int ret = cfg_check_keys(c, g, path, chip_keys);

	if (!ret)
		ret = cfg_src(c, g, &out->src);
	if (!ret)
		ret = parse_chip_type(c, g, path, out);
	if (!ret)
		ret = cfg_int(c, g, path, "address", true, BOARD_I2C_ADDR_MIN,
			      BOARD_I2C_ADDR_MAX, true, &addr);
	if (!ret)
		ret = parse_chip_size(c, g, path, out);
	if (!ret)
		ret = cfg_int_array(c, g, path, "init", false, 0, 255, true, v,
				    out->size, &n);
	if (ret < 0)
		return ret;
	out->address = (uint8_t)addr;
	out->ninit = (uint16_t)n;
	for (unsigned i = 0; i < n; i++)
		out->init[i] = (uint8_t)v[i];
	return 0;
}

/* A chip's address must be on the allow-list, and only one chip per address. */
static int check_chip_address(struct cfg_ctx *c, const config_setting_t *g,
			      const char *path, struct board_i2c *out,
			      unsigned i, bool listed)
{
	char p[CFG_PATH_MAX];
	const struct board_chip *chip = &out->chips[i];
	const config_setting_t *s = config_setting_get_member(g, "address");

	cfg_path_key(p, path, "address");
	for (unsigned j = 0; j < i; j++)
		if (out->chips[j].address == chip->address)
			return cfg_fail(c, s, p,
					"0x%02x is already the address of "
					"chips[%u]",
					chip->address, j);
	if (!listed) {
		out->addresses[out->naddresses++] = chip->address;
		return 0;
	}
	if (find_addr(out->addresses, out->naddresses, chip->address) < 0)
		return cfg_fail(c, s, p,
				"0x%02x is not on this device's allow-list "
				"(addresses): the guest could never reach it",
				chip->address);
	return 0;
}

static int parse_chips(struct cfg_ctx *c, const config_setting_t *dev,
		       const char *path, struct board_i2c *out, bool listed)
{
	char p[CFG_PATH_MAX], e[CFG_PATH_MAX];
	config_setting_t *list, *g;
	int ret = cfg_group_list(c, dev, path, "chips", true, &list);

	if (ret)
		return ret;
	cfg_path_key(p, path, "chips");
	out->chips = calloc((size_t)config_setting_length(list),
			    sizeof(*out->chips));
	if (!out->chips)
		return cfg_nomem(c);
	if (!listed && (ret = cfg_src(c, list, &out->addresses_src)))
		return ret;
	for (int i = 0; (g = config_setting_get_elem(list, i)); i++) {
		cfg_path_index(e, p, (unsigned)i);
		ret = parse_chip(c, g, e, &out->chips[i]);
		out->nchips = (unsigned)i + 1;
		if (!ret)
			ret = check_chip_address(c, g, e, out, (unsigned)i,
						 listed);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_options(struct cfg_ctx *c, const config_setting_t *dev,
			 const char *path, struct board_i2c *out)
{
	char p[CFG_PATH_MAX];
	long long v = BOARD_I2C_MAX_TRANSFER_DEFAULT;
	int ret = cfg_int(c, dev, path, "max_transfer", false, 1,
			  BOARD_I2C_MAX_TRANSFER_LIMIT, false, &v);

	if (ret < 0)
		return ret;
	out->max_transfer = (uint32_t)v;
	ret = cfg_bool(c, dev, path, "shared", false, &out->shared);
	if (ret < 0)
		return ret;
	if (ret == 0 && out->is_sim) {
		cfg_path_key(p, path, "shared");
		return cfg_fail(c, config_setting_get_member(dev, "shared"), p,
				"applies only to host buses: a \"sim\" bus "
				"belongs to its device alone");
	}
	return 0;
}

int cfg_i2c_parse(struct cfg_ctx *c, const config_setting_t *dev,
		  const char *path, struct board_i2c *out)
{
	char p[CFG_PATH_MAX];
	int ret = parse_bus(c, dev, path, out);

	if (!ret)
		ret = parse_options(c, dev, path, out);
	if (!ret)
		ret = parse_addresses(c, dev, path, out);
	if (ret < 0)
		return ret;
	if (out->is_sim)
		return parse_chips(c, dev, path, out, ret == 0);
	if (config_setting_get_member(dev, "chips")) {
		cfg_path_key(p, path, "chips");
		return cfg_fail(c, config_setting_get_member(dev, "chips"), p,
				"applies only to bus = \"sim\"");
	}
	return 0;
}

void cfg_i2c_free(struct board_i2c *i2c)
{
	free(i2c->bus);
	free(i2c->chips);
}

static const char *guest_label(const struct board_guest *g, char *buf,
			       size_t len)
{
	if (g->domain)
		snprintf(buf, len, "guest \"%s\"", g->domain);
	else
		snprintf(buf, len, "guest domid %d", g->domid);
	return buf;
}

/* Device b (guests[gb].devices[db]) against an earlier device a on a bus. */
static int check_pair(struct cfg_ctx *c, const struct board_guest *ga,
		      const struct board_device *a, unsigned gb, unsigned db)
{
	const struct board_device *b = &c->board->guests[gb].devices[db];
	char p[CFG_PATH_MAX], who[96], alias[CFG_PATH_MAX] = "";

	guest_label(ga, who, sizeof(who));
	if (strcmp(a->i2c.bus, b->i2c.bus))
		snprintf(alias, sizeof(alias), " (the adapter of %s)",
			 a->i2c.bus);
	if (!a->i2c.shared || !b->i2c.shared) {
		snprintf(p, sizeof(p), "guests[%u].devices[%u].bus", gb, db);
		return cfg_fail_src(c, b->i2c.bus_src, p,
				    "%s%s is also the bus of %s device \"%s\" "
				    "(%s:%u); set shared = true on both "
				    "devices to share it",
				    b->i2c.bus, alias, who, a->name,
				    a->i2c.bus_src.file, a->i2c.bus_src.line);
	}
	for (unsigned i = 0; i < b->i2c.naddresses; i++) {
		uint8_t addr = b->i2c.addresses[i];

		if (find_addr(a->i2c.addresses, a->i2c.naddresses, addr) < 0)
			continue;
		snprintf(p, sizeof(p), "guests[%u].devices[%u].addresses", gb,
			 db);
		return cfg_fail_src(c, b->i2c.addresses_src, p,
				    "0x%02x on %s%s is also given to %s device "
				    "\"%s\" (%s:%u); a shared bus still gives "
				    "each address to one device",
				    addr, b->i2c.bus, alias, who, a->name,
				    a->i2c.addresses_src.file,
				    a->i2c.addresses_src.line);
	}
	return 0;
}

/* One adapter: the same device number, or the same path when unknown. */
static bool same_bus(const struct board_i2c *a, const struct board_i2c *b)
{
	if (a->bus_rdev && b->bus_rdev)
		return a->bus_rdev == b->bus_rdev;
	return !strcmp(a->bus, b->bus);
}

/* Compare device (gb, db) with every host-bus i2c device before it. */
static int check_against_earlier(struct cfg_ctx *c, unsigned gb, unsigned db)
{
	const struct board_device *b = &c->board->guests[gb].devices[db];

	for (unsigned g = 0; g <= gb; g++) {
		const struct board_guest *ga = &c->board->guests[g];
		unsigned end = g == gb ? db : ga->ndevices;

		for (unsigned d = 0; d < end; d++) {
			const struct board_device *a = &ga->devices[d];
			int ret;

			if (strcmp(a->type, "i2c") || a->i2c.is_sim ||
			    !same_bus(&a->i2c, &b->i2c))
				continue;
			ret = check_pair(c, ga, a, gb, db);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int cfg_i2c_check_board(struct cfg_ctx *c)
{
	for (unsigned g = 0; g < c->board->nguests; g++) {
		const struct board_guest *guest = &c->board->guests[g];

		for (unsigned d = 0; d < guest->ndevices; d++) {
			const struct board_device *dev = &guest->devices[d];
			int ret;

			if (strcmp(dev->type, "i2c") || dev->i2c.is_sim)
				continue;
			ret = check_against_earlier(c, g, d);
			if (ret)
				return ret;
		}
	}
	return 0;
}
