// SPDX-License-Identifier: MIT
/*
 * The vsock device's board-file keys: the guest's CID, the host listener
 * paths (uds, and uds_seqpacket for SOCK_SEQPACKET, by default uds with
 * ".seqpacket" appended), the sibling group, and the per-guest limits;
 * and the rules
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
#define UDS_MAX	     (sizeof(((struct sockaddr_un *)0)->sun_path) - 1 - 11)
#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define SEQ_SUFFIX   ".seqpacket" /* fits in UDS_MAX's 11 bytes */

const char *const cfg_vsock_keys[] = {
	"type",		 "name",  "socket",	     "packed",	 "cid", "uds",
	"uds_seqpacket", "group", "max_connections", "buf_size", NULL,
};

static int parse_uds_seq(struct cfg_ctx *c, const config_setting_t *dev,
			 const char *path, struct board_vsock *out)
{
	char p[CFG_PATH_MAX];
	config_setting_t *s;
	const char *seq;
	int ret = cfg_string(c, dev, path, "uds_seqpacket", false, &seq);

	if (ret < 0)
		return ret;
	if (ret > 0) {
		out->uds_seq_src = out->uds_src;
		out->uds_seq = malloc(strlen(out->uds) + sizeof(SEQ_SUFFIX));
		if (!out->uds_seq)
			return -ENOMEM;
		strcpy(out->uds_seq, out->uds);
		strcat(out->uds_seq, SEQ_SUFFIX);
		return 0;
	}
	out->uds_seq_given = true;
	s = config_setting_get_member(dev, "uds_seqpacket");
	cfg_path_key(p, path, "uds_seqpacket");
	ret = cfg_src(c, s, &out->uds_seq_src);
	if (ret)
		return ret;
	if (!*seq)
		return cfg_fail(c, s, p, "must not be empty");
	ret = cfg_resolve_path(c, seq, &out->uds_seq);
	if (ret)
		return ret;
	if (strlen(out->uds_seq) > SUN_PATH_MAX)
		return cfg_fail(c, s, p,
				"%s is longer than %zu bytes (a unix socket "
				"path)",
				out->uds_seq, SUN_PATH_MAX);
	if (!strcmp(out->uds_seq, out->uds))
		return cfg_fail(c, s, p, "%s is the device's uds too",
				out->uds_seq);
	return 0;
}

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
		ret = parse_uds_seq(c, dev, path, out);
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
	free(v->uds_seq);
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

/* A vsock device's SEQPACKET listener against every other socket path. */
static int check_seq(struct cfg_ctx *c, unsigned gb, unsigned db)
{
	const struct board_config *bc = c->board;
	const struct board_vsock *v = &bc->guests[gb].devices[db].vsock;
	char p[CFG_PATH_MAX];

	for (unsigned g = 0; g < bc->nguests; g++)
		for (unsigned d = 0; d < bc->guests[g].ndevices; d++) {
			const struct board_device *a =
				&bc->guests[g].devices[d];
			const char *paths[3] = {a->socket};

			if (is_vsock(a) && &a->vsock != v) {
				paths[1] = a->vsock.uds;
				paths[2] = a->vsock.uds_seq;
			}
			for (unsigned i = 0; i < 3; i++) {
				if (!paths[i] || strcmp(paths[i], v->uds_seq))
					continue;
				snprintf(p, sizeof(p),
					 "guests[%u].devices[%u].%s", gb, db,
					 v->uds_seq_given ? "uds_seqpacket"
							  : "uds");
				return cfg_fail_src(c, v->uds_seq_src, p,
						    "the SEQPACKET listener %s "
						    "is also a socket of "
						    "guests[%u].devices[%u]",
						    v->uds_seq, g, d);
			}
		}
	return 0;
}

int cfg_vsock_check_board(struct cfg_ctx *c)
{
	/* uds clashes first: a repeated uds repeats its default uds_seq. */
	for (unsigned pass = 0; pass < 2; pass++)
		for (unsigned g = 0; g < c->board->nguests; g++)
			for (unsigned d = 0; d < c->board->guests[g].ndevices;
			     d++) {
				int ret;

				if (!is_vsock(&c->board->guests[g].devices[d]))
					continue;
				ret = pass ? check_seq(c, g, d)
					   : check_device(c, g, d);
				if (ret)
					return ret;
			}
	return 0;
}
