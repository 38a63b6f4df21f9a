/* SPDX-License-Identifier: MIT */
/*
 * A small xenstore client speaking the wire protocol (xen/io/xs_wire.h)
 * itself, for the control loop: requests are synchronous, watch events
 * may arrive at any time (also between a request and its reply) and are
 * only counted, since the caller compares the whole tree after a change.
 *
 * Why not libxenstore: its static archive (what the static aarch64 build
 * links) is built without its reader thread, and then a request whose
 * reply comes after a watch event fails with EINVAL -- a second xs_watch
 * already does -- and its watch fd is never signalled.
 *
 * Connects to xenstored's socket (dom0: $XENSTORED_PATH, else
 * /run/xenstored/socket, /var/run/xenstored/socket), else the xenbus
 * device (/dev/xen/xenbus, a driver domain). Relative paths are relative
 * to our own /local/domain/<domid>.
 *
 * Threading: one thread at a time per client.
 */
#ifndef VIRTIOBOX_XEN_XS_CLIENT_H
#define VIRTIOBOX_XEN_XS_CLIENT_H

#include <stdbool.h>

struct xs_client;

/* Returns 0 and sets *out, or -errno of the last connection tried. */
int xs_client_open(struct xs_client **out);
/* NULL is accepted. */
void xs_client_close(struct xs_client *c);

/* Readable when xenstore sent something (a watch event). */
int xs_client_fd(const struct xs_client *c);

/*
 * Read path: 0 and *val (NUL-terminated, the caller frees), or -errno
 * (-ENOENT for a missing node, xenstored's error otherwise, -EIO for a
 * broken connection).
 */
int xs_client_read(struct xs_client *c, const char *path, char **val);

/* Write val to path. Returns 0 or -errno. */
int xs_client_write(struct xs_client *c, const char *path, const char *val);

/* Remove path and everything below it. Returns 0 or -errno. */
int xs_client_rm(struct xs_client *c, const char *path);

/*
 * The children of path: 0, *names (*n strings, one allocation the caller
 * frees with free(*names)), or -errno.
 */
int xs_client_directory(struct xs_client *c, const char *path, char ***names,
			unsigned *n);

/* Watch path (or "@releaseDomain"). Returns 0 or -errno. */
int xs_client_watch(struct xs_client *c, const char *path, const char *token);

/* Does xenstore still know domain domid? 1, 0, or -errno. */
int xs_client_is_introduced(struct xs_client *c, unsigned domid);

/*
 * Give domid xenstore access to target's nodes as if it were target
 * (XS_SET_TARGET, what libxl does for a stub domain; dom0 only). 0 or
 * -errno.
 */
int xs_client_set_target(struct xs_client *c, unsigned domid, unsigned target);

/*
 * The domain whose /local/domain/<id>/name is name: 0 and *domid,
 * -ENOENT (none), -EEXIST (more than one) or the directory's -errno.
 * Domains whose name we may not read are skipped.
 */
int xs_client_find_domain(struct xs_client *c, const char *name,
			  unsigned *domid);

/*
 * Call when the fd is readable: reads one message (a watch event is
 * counted), or none if a request read it meanwhile (never blocks).
 * Returns 0, or -errno when the connection is gone.
 */
int xs_client_events(struct xs_client *c);

/* Watch events counted since the last call (also those that arrived
 * while waiting for replies); resets the count. */
unsigned xs_client_take_events(struct xs_client *c);

#endif
