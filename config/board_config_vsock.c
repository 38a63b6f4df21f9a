// SPDX-License-Identifier: MIT
/*
 * The vsock device's board-file keys: the guest's CID, the host listener
 * path (uds), the sibling group, and the per-guest limits; and the rules
 * that span devices (one vsock device per guest, CIDs and uds paths unique
 * across the board, no uds that is another socket of the board).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "board_config_priv.h"

/* The device appends "_<port>" (up to 11 bytes) for guest connections. */
#define UDS_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1 - 11)

const char *const cfg_vsock_keys[] = {
	"type", "name",	 "socket",	    "packed",	"cid",
	"uds",	"group", "max_connections", "buf_size", NULL,
};

static int parse_uds(struct cfg_ctx *c, const config_setting_t *dev,
		     const char *path, struct board_vsock *out)
{
	char p[CFG_PATH_MAX];
	config_setting_t *s;
	const char *uds;
	int ret = cfg_string(c, dev, path, "uds", true, &uds);

	if (ret)
		return ret;
	s = config_setting_get_member(dev, "uds");
	cfg_path_key(p, path, "uds");
	ret = cfg_src(c, s, &out->uds_src);
	if (ret)
		return ret;
	if (!*uds)
		return cfg_fail(c, s, p, "must not be empty");
	ret = cfg_resolve_path(c, uds, &out->uds);
	if (ret)
		return ret;
	if (strlen(out->uds) > UDS_MAX)
		return cfg_fail(c, s, p,
				"%s is longer than %zu bytes (a unix socket "
				"path, with room for \"_<port>\")",
				out->uds, UDS_MAX);
	return 0;
}

static int parse_group(struct cfg_ctx *c, const config_setting_t *dev,
		       const char *path, struct board_vsock *out)
{
	char p[CFG_PATH_MAX];
	config_setting_t *s;
	const char *group;
	int ret = cfg_string(c, dev, path, "group", false, &group);

	if (ret)
		return ret > 0 ? 0 : ret;
	s = config_setting_get_member(dev, "group");
	cfg_path_key(p, path, "group");
	if (!cfg_is_name(group))
		return cfg_fail(c, s, p,
				"\"%s\" is not a name (letters, digits, '_', "
				"'-', '.'; 1 to 63 characters)",
				group);
	return cfg_strdup(c, group, &out->group);
}

int cfg_vsock_parse(struct cfg_ctx *c, const config_setting_t *dev,
		    const char *path, struct board_vsock *out)
{
	config_setting_t *s;
	long long v;
	int ret;

	out->max_conns = BOARD_VSOCK_CONNS_DEFAULT;
	out->buf_size = BOARD_VSOCK_BUF_DEFAULT;
	ret = cfg_int(c, dev, path, "cid", true, BOARD_VSOCK_CID_MIN,
		      BOARD_VSOCK_CID_MAX, false, &v);
	if (ret)
		return ret;
	out->cid = (uint64_t)v;
	s = config_setting_get_member(dev, "cid");
	ret = cfg_src(c, s, &out->cid_src);
	if (!ret)
		ret = parse_uds(c, dev, path, out);
	if (!ret)
		ret = parse_group(c, dev, path, out);
	if (ret)
		return ret;
	ret = cfg_int(c, dev, path, "max_connections", false, 1,
		      BOARD_VSOCK_CONNS_MAX, false, &v);
	if (ret < 0)
		return ret;
	if (ret == 0)
		out->max_conns = (unsigned)v;
	ret = cfg_int(c, dev, path, "buf_size", false, BOARD_VSOCK_BUF_MIN,
		      BOARD_VSOCK_BUF_MAX, false, &v);
	if (ret < 0)
		return ret;
	if (ret == 0)
		out->buf_size = (uint32_t)v;
	return 0;
}

void cfg_vsock_free(struct board_vsock *v)
{
	free(v->uds);
	free(v->group);
}

static bool is_vsock(const struct board_device *d)
{
	return !strcmp(d->type, "vsock");
}

/* Device b against every device declared before it. */
static int check_pair(struct cfg_ctx *c, const struct board_device *a,
		      unsigned ga, unsigned da, const struct board_device *b,
		      unsigned gb, unsigned db)
{
	char p[CFG_PATH_MAX];

	if (a->socket && !strcmp(a->socket, b->vsock.uds)) {
		snprintf(p, sizeof(p), "guests[%u].devices[%u].uds", gb, db);
		return cfg_fail_src(c, b->vsock.uds_src, p,
				    "%s is also the socket of "
				    "guests[%u].devices[%u]",
				    b->vsock.uds, ga, da);
	}
	if (!is_vsock(a))
		return 0;
	if (ga == gb) {
		snprintf(p, sizeof(p), "guests[%u].devices[%u].type", gb, db);
		return cfg_fail_src(c, b->src, p,
				    "a guest has one vsock device; "
				    "guests[%u].devices[%u] is one already",
				    ga, da);
	}
	if (a->vsock.cid == b->vsock.cid) {
		snprintf(p, sizeof(p), "guests[%u].devices[%u].cid", gb, db);
		return cfg_fail_src(c, b->vsock.cid_src, p,
				    "CID %llu is already the CID of "
				    "guests[%u].devices[%u] (%s:%u)",
				    (unsigned long long)b->vsock.cid, ga, da,
				    a->vsock.cid_src.file,
				    a->vsock.cid_src.line);
	}
	if (!strcmp(a->vsock.uds, b->vsock.uds)) {
		snprintf(p, sizeof(p), "guests[%u].devices[%u].uds", gb, db);
		return cfg_fail_src(c, b->vsock.uds_src, p,
				    "%s is already the uds of "
				    "guests[%u].devices[%u]",
				    b->vsock.uds, ga, da);
	}
	return 0;
}

/* A vsock device's uds against every other socket, both orders. */
static int check_device(struct cfg_ctx *c, unsigned gb, unsigned db)
{
	const struct board_config *bc = c->board;
	const struct board_device *b = &bc->guests[gb].devices[db];
	char p[CFG_PATH_MAX];

	for (unsigned g = 0; g < bc->nguests; g++)
		for (unsigned d = 0; d < bc->guests[g].ndevices; d++) {
			const struct board_device *a =
				&bc->guests[g].devices[d];
			bool before = g < gb || (g == gb && d < db);
			int ret;

			if (a == b)
				continue;
			if (before) {
				ret = check_pair(c, a, g, d, b, gb, db);
				if (ret)
					return ret;
			} else if (a->socket &&
				   !strcmp(a->socket, b->vsock.uds)) {
				snprintf(p, sizeof(p),
					 "guests[%u].devices[%u].uds", gb, db);
				return cfg_fail_src(c, b->vsock.uds_src, p,
						    "%s is also the socket of "
						    "guests[%u].devices[%u]",
						    b->vsock.uds, g, d);
			}
		}
	return 0;
}

int cfg_vsock_check_board(struct cfg_ctx *c)
{
	for (unsigned g = 0; g < c->board->nguests; g++)
		for (unsigned d = 0; d < c->board->guests[g].ndevices; d++) {
			int ret;

			if (!is_vsock(&c->board->guests[g].devices[d]))
				continue;
			ret = check_device(c, g, d);
			if (ret)
				return ret;
		}
	return 0;
}
