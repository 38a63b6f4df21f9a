/* SPDX-License-Identifier: MIT */
/*
 * systemd's service notification protocol (sd_notify(3)) without
 * libsystemd, which a static binary cannot link: one datagram of
 * newline-separated VAR=value assignments ("READY=1\nSTATUS=...") sent to
 * the AF_UNIX socket named by $NOTIFY_SOCKET, either a path ("/run/...")
 * or an abstract-namespace name written with a leading '@'.
 *
 * Threading: any thread; no state is kept between calls.
 */
#ifndef VIRTIOBOX_BOARD_NOTIFY_H
#define VIRTIOBOX_BOARD_NOTIFY_H

/*
 * Send state to $NOTIFY_SOCKET. Returns 1 when sent, 0 when the variable
 * is unset or empty (not started by a Type=notify service: nothing to
 * do), or -errno: -EAFNOSUPPORT for an address that is neither a path nor
 * '@', -ENAMETOOLONG, or what socket()/sendmsg() failed with.
 */
int notify_send(const char *state);

/* As notify_send, to addr (the same syntax as $NOTIFY_SOCKET). */
int notify_send_to(const char *addr, const char *state);

#endif
