/* SPDX-License-Identifier: MIT */
/*
 * The sandbox virtiobox enters once its board is open (every socket bound,
 * every host device opened, every data thread started): a change of user
 * and group where the board asks for one, then a seccomp filter allowing
 * only the system calls the control and data paths make.
 *
 * A call outside the filter stops the process: the thread that made it
 * gets SIGSYS (SECCOMP_RET_TRAP), whose handler writes one line naming the
 * call ("virtiobox: error: sandbox: system call 59 (execve) is not
 * allowed; stopping") to
 * stderr and exits with SANDBOX_EXIT_STATUS. A kill rather than EPERM: a
 * call we did not expect means a path the allow-list has not seen, and
 * carrying on with a failed call there would hide it, or hide an attack.
 *
 * Threading: main thread, at start-up, while every other thread is
 * already running (the filter is synchronised to all of them).
 */
#ifndef VIRTIOBOX_BOARD_SANDBOX_H
#define VIRTIOBOX_BOARD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* 128 + SIGSYS, as a shell reports a death by that signal. */
#define SANDBOX_EXIT_STATUS 159

struct sandbox_ids {
	bool change; /* false: keep the current user and group */
	uid_t uid;
	gid_t gid;
};

/*
 * Resolve user and group (names from /etc/passwd and /etc/group, read
 * directly so a static binary needs no NSS; or decimal ids) into *out.
 * Either may be NULL: no user keeps the current one; no group with a user
 * is that user's primary group (a numeric user then needs a group). Both
 * NULL: out->change is false. Returns 0, or -EINVAL with err set.
 */
int sandbox_resolve_ids(const char *user, const char *group,
			struct sandbox_ids *out, char *err, size_t errlen);

/*
 * Become ids (supplementary groups: ids->gid only; capabilities are lost
 * with uid 0). Every thread changes (glibc's set*id broadcast). The open
 * fds and mappings stay: host devices opened as root keep working.
 * Returns 0 or -errno with err set.
 */
int sandbox_drop(const struct sandbox_ids *ids, char *err, size_t errlen);

/*
 * Install the filter on every thread of the process (TSYNC) and the SIGSYS
 * handler; no_new_privs is set. journal: the refusal line is written as
 * log.c writes for the journal (<3>error: ...). Returns 0 or -errno
 * (-EOPNOTSUPP, -EINVAL or -ENOSYS where the kernel, or an emulator such as
 * qemu-user, has no seccomp filters).
 */
int sandbox_seccomp_install(bool journal);

#endif
