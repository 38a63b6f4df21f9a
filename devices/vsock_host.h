/* SPDX-License-Identifier: MIT */
/*
 * Host unix sockets for the vsock model (the hybrid-vsock protocol's
 * host half): the listener, connections to "<uds>_<port>" and to a
 * sibling's uds, and the text handshake lines. Every socket is
 * non-blocking and close-on-exec. Any thread.
 */
#ifndef VIRTIOBOX_DEVICES_VSOCK_HOST_H
#define VIRTIOBOX_DEVICES_VSOCK_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSOCK_HOST_LINE_MAX 64 /* longest handshake line, '\n' included */

/*
 * Listen with a socket of type (SOCK_STREAM, SOCK_SEQPACKET) at path. A socket
 * file already there is removed first (a stale one from an earlier run); any
 * other kind of file is left alone and -EEXIST returned. Returns a listening
 * fd, or -errno
 * (-ENAMETOOLONG when path does not fit sun_path).
 */
int vsock_host_listen(const char *path, int type);

/*
 * Connect to path with a socket of type (SOCK_STREAM, SOCK_SEQPACKET),
 * without blocking. Returns the fd, or -errno: -ECONNREFUSED (nobody
 * listens, or the backlog is full), -ENOENT, -EPROTOTYPE (the listener
 * is of the other type), -ENAMETOOLONG, ...
 */
int vsock_host_connect(const char *path, int type);

/*
 * Parse a handshake line (without its '\n'): "CONNECT <port>" or
 * "CONNECT <port> FROM <cid> <port>". Ports and CIDs are decimal, 32
 * bits. Returns 0 with *from_cid 0 for the first form, 0 with the caller
 * in *from_cid / *from_port for the second, -EINVAL otherwise.
 */
int vsock_host_parse_connect(const char *line, uint32_t *port,
			     uint64_t *from_cid, uint32_t *from_port);

/*
 * Find a complete line in buf[0, len): returns its length with the '\n',
 * 0 when none yet, -EINVAL when len reached VSOCK_HOST_LINE_MAX without one.
 */
int vsock_host_line_len(const char *buf, size_t len);

/* True when the peer of connected unix socket fd is this process. */
bool vsock_host_peer_is_self(int fd);

#endif
