// SPDX-License-Identifier: MIT
/*
 * Board file loader: the file, its guests and their devices' common keys.
 * The i2c keys live in board_config_i2c.c, the located readers in
 * board_config_util.c.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "board_config_priv.h"

#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static const char *const root_keys[] = {"name",	 "seccomp", "user",
					"group", "guests",  NULL};
static const char *const guest_keys[] = {
	"domain", "domid", "transport", "foreign_cache", "devices", NULL};

/* One row per device type the board file knows. */
struct dev_kind {
	const char *type;
	const char *const *keys;
	int (*parse)(struct cfg_ctx *c, const config_setting_t *dev,
		     const char *path, struct board_device *out);
};

static int parse_i2c(struct cfg_ctx *c, const config_setting_t *dev,
		     const char *path, struct board_device *out)
{
	return cfg_i2c_parse(c, dev, path, &out->i2c);
}

static int parse_gpio(struct cfg_ctx *c, const config_setting_t *dev,
		      const char *path, struct board_device *out)
{
	return cfg_gpio_parse(c, dev, path, &out->gpio);
}

static int parse_vsock(struct cfg_ctx *c, const config_setting_t *dev,
		       const char *path, struct board_device *out)
{
	return cfg_vsock_parse(c, dev, path, &out->vsock);
}

static const struct dev_kind dev_kinds[] = {
	{"i2c", cfg_i2c_keys, parse_i2c},
	{"gpio", cfg_gpio_keys, parse_gpio},
	{"vsock", cfg_vsock_keys, parse_vsock},
};

const char *board_transport_name(enum board_transport t)
{
	return t == BOARD_TRANSPORT_XEN_MMIO ? "xen-mmio" : "vhost-user";
}

const char *board_chip_kind_name(enum board_chip_kind k)
{
	return k == BOARD_CHIP_REGS ? "regs" : "24c02";
}

static int parse_type(struct cfg_ctx *c, const config_setting_t *dev,
		      const char *path, const struct dev_kind **kind,
		      struct board_device *out)
{
	char p[CFG_PATH_MAX];
	const char *type;
	int ret = cfg_string(c, dev, path, "type", true, &type);

	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(dev_kinds) / sizeof(dev_kinds[0]); i++) {
		if (!strcmp(type, dev_kinds[i].type)) {
			*kind = &dev_kinds[i];
			return cfg_strdup(c, type, &out->type);
		}
	}
	cfg_path_key(p, path, "type");
	return cfg_fail(c, config_setting_get_member(dev, "type"), p,
			"unknown device type \"%s\" (known: i2c, gpio, vsock)",
			type);
}

/* name = "..." or <type><n>, unique in the guest. */
static int parse_name(struct cfg_ctx *c, const config_setting_t *dev,
		      const char *path, const struct board_guest *g,
		      unsigned idx, struct board_device *out)
{
	char p[CFG_PATH_MAX], def[80];
	const char *name;
	unsigned same = 0;
	int ret = cfg_string(c, dev, path, "name", false, &name);

	if (ret < 0)
		return ret;
	if (ret == 1) {
		for (unsigned i = 0; i < idx; i++)
			same += !strcmp(g->devices[i].type, out->type);
		snprintf(def, sizeof(def), "%s%u", out->type, same);
		name = def;
	}
	cfg_path_key(p, path, "name");
	if (!cfg_is_name(name))
		return cfg_fail(c, config_setting_get_member(dev, "name"), p,
				"\"%s\" is not a name (1..63 letters, digits, "
				"'_', '-', '.')",
				name);
	for (unsigned i = 0; i < idx; i++)
		if (!strcmp(g->devices[i].name, name))
			return cfg_fail(
				c,
				ret ? dev
				    : config_setting_get_member(dev, "name"),
				p, "\"%s\" is already the name of devices[%u]",
				name, i);
	return cfg_strdup(c, name, &out->name);
}

int cfg_resolve_path(struct cfg_ctx *c, const char *sock, char **out)
{
	const char *dir = c->opts->runtime_dir;
	size_t len;

	if (sock[0] == '/' || !dir || !*dir)
		return cfg_strdup(c, sock, out);
	len = strlen(dir) + 1 + strlen(sock) + 1;
	*out = malloc(len);
	if (!*out)
		return cfg_nomem(c);
	snprintf(*out, len, "%s/%s", dir, sock);
	return 0;
}

static int resolve_socket(struct cfg_ctx *c, const config_setting_t *s,
			  const char *p, const char *sock, char **out)
{
	if (!*sock)
		return cfg_fail(c, s, p, "must not be empty");
	return cfg_resolve_path(c, sock, out);
}

/* Every socket path of the board is different. */
static int check_socket_unique(struct cfg_ctx *c, const config_setting_t *s,
			       const char *p, const struct board_device *dev)
{
	const struct board_config *b = c->board;

	for (unsigned g = 0; g < b->nguests; g++) {
		for (unsigned d = 0; d < b->guests[g].ndevices; d++) {
			const struct board_device *o = &b->guests[g].devices[d];

			if (o == dev || !o->socket)
				continue;
			if (!strcmp(o->socket, dev->socket))
				return cfg_fail(
					c, s, p,
					"%s is also the socket of "
					"guests[%u].devices[%u] (%s:%u)",
					dev->socket, g, d, o->socket_src.file,
					o->socket_src.line);
		}
	}
	return 0;
}

static int parse_socket(struct cfg_ctx *c, const config_setting_t *dev,
			const char *path, enum board_transport t,
			struct board_device *out)
{
	char p[CFG_PATH_MAX];
	config_setting_t *s = config_setting_get_member(dev, "socket");
	const char *sock;
	int ret;

	cfg_path_key(p, path, "socket");
	if (t == BOARD_TRANSPORT_XEN_MMIO)
		return s ? cfg_fail(c, s, p,
				    "applies only to transport \"vhost-user\"")
			 : 0;
	ret = cfg_string(c, dev, path, "socket", true, &sock);
	if (!ret)
		ret = resolve_socket(c, s, p, sock, &out->socket);
	if (!ret)
		ret = cfg_src(c, s, &out->socket_src);
	if (ret)
		return ret;
	if (strlen(out->socket) > SOCKET_PATH_MAX)
		return cfg_fail(c, s, p,
				"%s is %zu bytes long; a UNIX socket path "
				"takes at most %zu",
				out->socket, strlen(out->socket),
				SOCKET_PATH_MAX);
	return check_socket_unique(c, s, p, out);
}

static int parse_device(struct cfg_ctx *c, const config_setting_t *dev,
			const char *path, const struct board_guest *g,
			unsigned idx, struct board_device *out)
{
	const struct dev_kind *kind = NULL;
	int ret = cfg_src(c, dev, &out->src);

	if (!ret)
		ret = parse_type(c, dev, path, &kind, out);
	if (!ret)
		ret = cfg_check_keys(c, dev, path, kind->keys);
	if (!ret)
		ret = parse_name(c, dev, path, g, idx, out);
	out->packed = true;
	if (!ret)
		ret = cfg_bool(c, dev, path, "packed", false, &out->packed);
	if (ret >= 0)
		ret = parse_socket(c, dev, path, g->transport, out);
	if (!ret)
		ret = kind->parse(c, dev, path, out);
	return ret < 0 ? ret : 0;
}

static int parse_transport(struct cfg_ctx *c, const config_setting_t *g,
			   const char *path, struct board_guest *out)
{
	char p[CFG_PATH_MAX];
	const char *t;
	int ret = cfg_string(c, g, path, "transport", true, &t);

	if (ret)
		return ret;
	if (!strcmp(t, "vhost-user")) {
		out->transport = BOARD_TRANSPORT_VHOST_USER;
		return 0;
	}
	if (!strcmp(t, "xen-mmio")) {
		out->transport = BOARD_TRANSPORT_XEN_MMIO;
		return 0;
	}
	cfg_path_key(p, path, "transport");
	return cfg_fail(c, config_setting_get_member(g, "transport"), p,
			"unknown transport \"%s\" (known: vhost-user, "
			"xen-mmio)",
			t);
}

/* domain names and domids identify one guest each. */
static int check_guest_unique(struct cfg_ctx *c, const config_setting_t *g,
			      const char *path, unsigned idx)
{
	const struct board_guest *out = &c->board->guests[idx];
	char p[CFG_PATH_MAX];

	for (unsigned i = 0; i < idx; i++) {
		const struct board_guest *o = &c->board->guests[i];

		if (out->domain && o->domain &&
		    !strcmp(out->domain, o->domain)) {
			cfg_path_key(p, path, "domain");
			return cfg_fail(
				c, config_setting_get_member(g, "domain"), p,
				"\"%s\" is already guests[%u]", out->domain, i);
		}
		if (out->domid >= 0 && out->domid == o->domid) {
			cfg_path_key(p, path, "domid");
			return cfg_fail(
				c, config_setting_get_member(g, "domid"), p,
				"%d is already guests[%u]", out->domid, i);
		}
	}
	return 0;
}

/* foreign_cache: xen-mmio only; 0 (absent) is the transport's default. */
static int parse_foreign_cache(struct cfg_ctx *c, const config_setting_t *g,
			       const char *path, struct board_guest *out)
{
	char p[CFG_PATH_MAX];
	long long slots = 0;
	int ret = cfg_int(c, g, path, "foreign_cache", false, 1,
			  BOARD_XEN_FOREIGN_CACHE_MAX, false, &slots);

	if (ret < 0)
		return ret;
	if (ret == 0 && out->transport == BOARD_TRANSPORT_VHOST_USER) {
		cfg_path_key(p, path, "foreign_cache");
		return cfg_fail(c,
				config_setting_get_member(g, "foreign_cache"),
				p, "applies only to transport \"xen-mmio\"");
	}
	out->foreign_cache = (unsigned)slots;
	return 0;
}

static int parse_identity(struct cfg_ctx *c, const config_setting_t *g,
			  const char *path, unsigned idx,
			  struct board_guest *out)
{
	char p[CFG_PATH_MAX];
	const char *domain = NULL;
	long long domid = -1;
	int ret = cfg_string(c, g, path, "domain", false, &domain);
	bool vhu = out->transport == BOARD_TRANSPORT_VHOST_USER;

	if (ret >= 0)
		ret = cfg_int(c, g, path, "domid", false, 1, BOARD_DOMID_MAX,
			      false, &domid);
	if (ret < 0)
		return ret;
	cfg_path_key(p, path, "domain");
	if (domain && !cfg_is_name(domain))
		return cfg_fail(c, config_setting_get_member(g, "domain"), p,
				"\"%s\" is not a name (1..63 letters, digits, "
				"'_', '-', '.')",
				domain);
	if (!domain && (vhu || domid < 0))
		return cfg_fail(c, g, p,
				vhu ? "required key is missing (it names a "
				      "vhost-user guest)"
				    : "required key is missing (give domain, "
				      "domid or both)");
	if (vhu && domid >= 0) {
		cfg_path_key(p, path, "domid");
		return cfg_fail(c, config_setting_get_member(g, "domid"), p,
				"applies only to transport \"xen-mmio\"");
	}
	out->domid = (int)domid;
	if (domain && cfg_strdup(c, domain, &out->domain))
		return -ENOMEM;
	return check_guest_unique(c, g, path, idx);
}

static int parse_devices(struct cfg_ctx *c, const config_setting_t *g,
			 const char *path, struct board_guest *out)
{
	char p[CFG_PATH_MAX], e[CFG_PATH_MAX];
	config_setting_t *list, *d;
	int n, ret = cfg_group_list(c, g, path, "devices", true, &list);

	if (ret)
		return ret;
	n = config_setting_length(list);
	cfg_path_key(p, path, "devices");
	if (out->transport == BOARD_TRANSPORT_XEN_MMIO &&
	    n > BOARD_XEN_MMIO_DEVICES_MAX)
		return cfg_fail(c, list, p,
				"has %d devices; a Xen guest has room for at "
				"most %d virtio-mmio devices",
				n, BOARD_XEN_MMIO_DEVICES_MAX);
	out->devices = calloc((size_t)n, sizeof(*out->devices));
	if (!out->devices)
		return cfg_nomem(c);
	for (int i = 0; (d = config_setting_get_elem(list, i)); i++) {
		cfg_path_index(e, p, (unsigned)i);
		out->ndevices = (unsigned)i + 1;
		ret = parse_device(c, d, e, out, (unsigned)i, &out->devices[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_guest(struct cfg_ctx *c, const config_setting_t *g,
		       const char *path, unsigned idx)
{
	struct board_guest *out = &c->board->guests[idx];
	int ret = cfg_check_keys(c, g, path, guest_keys);

	out->domid = -1;
	if (!ret)
		ret = cfg_src(c, g, &out->src);
	if (!ret)
		ret = parse_transport(c, g, path, out);
	if (!ret)
		ret = parse_identity(c, g, path, idx, out);
	if (!ret)
		ret = parse_foreign_cache(c, g, path, out);
	if (!ret)
		ret = parse_devices(c, g, path, out);
	return ret;
}

/* The sandbox keys; ids are resolved when the sandbox is entered. */
static int parse_sandbox(struct cfg_ctx *c, const config_setting_t *root)
{
	static const char *const ids[] = {"user", "group"};
	struct board_config *b = c->board;
	char **out[] = {&b->user, &b->group};
	const char *v;
	int ret;

	b->seccomp = true;
	ret = cfg_bool(c, root, "", "seccomp", false, &b->seccomp);
	for (unsigned i = 0; ret >= 0 && i < 2; i++) {
		ret = cfg_string(c, root, "", ids[i], false, &v);
		if (ret == 0 && !*v)
			return cfg_fail(c,
					config_setting_get_member(root, ids[i]),
					ids[i], "must not be empty");
		if (ret == 0 && cfg_strdup(c, v, out[i]))
			return -ENOMEM;
	}
	return ret < 0 ? ret : 0;
}

static int parse_root(struct cfg_ctx *c, const config_setting_t *root)
{
	struct board_config *b = c->board;
	config_setting_t *guests, *g;
	const char *name;
	char p[CFG_PATH_MAX];
	int ret = cfg_check_keys(c, root, "", root_keys);

	if (!ret)
		ret = cfg_string(c, root, "", "name", false, &name);
	if (ret == 0 && cfg_strdup(c, name, &b->name))
		return -ENOMEM;
	if (ret < 0)
		return ret;
	ret = parse_sandbox(c, root);
	if (ret)
		return ret;
	ret = cfg_group_list(c, root, "", "guests", true, &guests);
	if (ret)
		return ret;
	b->guests = calloc((size_t)config_setting_length(guests),
			   sizeof(*b->guests));
	if (!b->guests)
		return cfg_nomem(c);
	for (int i = 0; (g = config_setting_get_elem(guests, i)); i++) {
		cfg_path_index(p, "guests", (unsigned)i);
		b->nguests = (unsigned)i + 1;
		ret = parse_guest(c, g, p, (unsigned)i);
		if (ret)
			return ret;
	}
	ret = cfg_i2c_check_board(c);
	if (!ret)
		ret = cfg_gpio_check_board(c);
	return ret ? ret : cfg_vsock_check_board(c);
}

/* Validate a parsed libconfig tree into a new board. */
static int build(config_t *cfg, const char *file,
		 const struct board_config_opts *opts, char *err, size_t errlen,
		 struct board_config **out)
{
	struct board_config_opts none = {0};
	struct cfg_ctx c = {
		.opts = opts ? opts : &none,
		.fallback_file = file,
		.err = err,
		.errlen = errlen,
	};
	int ret;

	c.board = calloc(1, sizeof(*c.board));
	if (!c.board)
		return cfg_nomem(&c);
	ret = cfg_strdup(&c, file, &c.board->file);
	if (!ret)
		ret = parse_root(&c, config_root_setting(cfg));
	if (ret) {
		board_config_free(c.board);
		return ret;
	}
	*out = c.board;
	return 0;
}

static int syntax_error(const config_t *cfg, const char *file, char *err,
			size_t errlen)
{
	const char *f = config_error_file(cfg);

	snprintf(err, errlen, "%s:%d: syntax: %s", f ? f : file,
		 config_error_line(cfg), config_error_text(cfg));
	return -EINVAL;
}

int board_config_load(struct board_config **out, const char *path,
		      const struct board_config_opts *opts, char *err,
		      size_t errlen)
{
	char *dir_copy;
	config_t cfg;
	FILE *f;
	int ret;

	if (errlen)
		err[0] = '\0';
	/* libconfig loses errno: open once here to say why it fails. */
	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(-ret));
		return ret;
	}
	fclose(f);
	dir_copy = strdup(path);
	if (!dir_copy)
		return -ENOMEM;
	config_init(&cfg);
	/* @include "x.conf" is relative to the board file. */
	config_set_include_dir(&cfg, dirname(dir_copy));
	if (config_read_file(&cfg, path))
		ret = build(&cfg, path, opts, err, errlen, out);
	else
		ret = syntax_error(&cfg, path, err, errlen);
	config_destroy(&cfg);
	free(dir_copy);
	return ret;
}

int board_config_load_string(struct board_config **out, const char *text,
			     const char *name,
			     const struct board_config_opts *opts, char *err,
			     size_t errlen)
{
	config_t cfg;
	int ret;

	if (errlen)
		err[0] = '\0';
	config_init(&cfg);
	if (config_read_string(&cfg, text))
		ret = build(&cfg, name, opts, err, errlen, out);
	else
		ret = syntax_error(&cfg, name, err, errlen);
	config_destroy(&cfg);
	return ret;
}

void board_config_free(struct board_config *c)
{
	if (!c)
		return;
	for (unsigned g = 0; g < c->nguests; g++) {
		struct board_guest *guest = &c->guests[g];

		for (unsigned d = 0; d < guest->ndevices; d++) {
			struct board_device *dev = &guest->devices[d];

			free(dev->type);
			free(dev->name);
			free(dev->socket);
			cfg_i2c_free(&dev->i2c);
			cfg_gpio_free(&dev->gpio);
			cfg_vsock_free(&dev->vsock);
		}
		free(guest->devices);
		free(guest->domain);
	}
	free(c->guests);
	for (unsigned i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c->name);
	free(c->user);
	free(c->group);
	free(c->file);
	free(c);
}
