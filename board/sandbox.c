// SPDX-License-Identifier: MIT
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * What the control and data paths call, by name: one list for every
 * architecture (names this one lacks, e.g. open or poll on aarch64, are
 * skipped). Grouped by who needs them.
 */
static const char *const allowed[] = {
	/* memory: malloc, thread stacks, guest memory regions, Xen
	 * mappings and the hypercall buffers of libxencall */
	"brk",
	"mmap",
	"mmap2",
	"munmap",
	"mremap",
	"mprotect",
	"madvise",
	"mlock",
	"munlock",
	"msync",
	/* threads: pthread_create (clone3 answered ENOSYS below, so glibc
	 * falls back to clone, whose flags can be checked), joins, locks */
	"futex",
	"set_robust_list",
	"get_robust_list",
	"rseq",
	"exit",
	"exit_group",
	"gettid",
	"getpid",
	"sched_yield",
	"sched_getaffinity",
	"getcpu",
	"membarrier",
	"restart_syscall",
	/* signals: SIGBUS guards, the SIGSYS handler, signalfd */
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"sigaltstack",
	"signalfd",
	"signalfd4",
	/* time: log stamps, bounded pauses, timers */
	"clock_gettime",
	"clock_getres",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"time",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	/* event loops */
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"eventfd",
	"eventfd2",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"pipe2",
	/* fds: vhost-user messages and their fds, host devices, the log,
	 * the Xen nodes of guests found later, vsock host sockets */
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"preadv",
	"pwritev",
	"close",
	"lseek",
	"_llseek",
	"fcntl",
	"fcntl64",
	"dup",
	"dup2",
	"dup3",
	"ioctl",
	"open",
	"openat",
	"fstat",
	"fstat64",
	"newfstatat",
	"fstatat64",
	"statx",
	"stat",
	"lstat",
	"fstatfs",
	"statfs",
	"readlink",
	"readlinkat",
	"access",
	"faccessat",
	"faccessat2",
	"getdents64",
	"unlink",
	"unlinkat",
	"fsync",
	"fdatasync",
	"ftruncate",
	"chmod",
	"fchmod",
	"fchmodat",
	/* unix sockets (socket and socketpair: AF_UNIX only, below) */
	"connect",
	"accept",
	"accept4",
	"bind",
	"listen",
	"sendmsg",
	"recvmsg",
	"sendmmsg",
	"recvmmsg",
	"sendto",
	"recvfrom",
	"shutdown",
	"getsockopt",
	"setsockopt",
	"getsockname",
	"getpeername",
	/* identity and limits read by libraries */
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getgroups",
	"getrandom",
	"prlimit64",
	"getrlimit",
	"ugetrlimit",
	"uname",
	"sysinfo",
};

/* Syscall names by number for the SIGSYS handler, built before the
 * filter (libseccomp allocates); the handler only reads them. */
#define NAMES_MAX 1024
static const char *names[NAMES_MAX];
static int journal_prefix;

static char *put_str(char *p, const char *end, const char *s)
{
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

static char *put_num(char *p, const char *end, long v)
{
	char digits[24];
	int n = 0;
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;

	if (v < 0 && p < end)
		*p++ = '-';
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < (int)sizeof(digits));
	while (n && p < end)
		*p++ = digits[--n];
	return p;
}

/* Async-signal-safe: write and _exit only. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[160], *p = line, *end = line + sizeof(line) - 1;
	int nr = si->si_syscall;

	(void)sig;
	(void)uc;
	/* As log.c writes an error line, for the journal or not. */
	p = put_str(p, end,
		    journal_prefix ? "<3>error: " : "virtiobox: error: ");
	p = put_str(p, end, "sandbox: system call ");
	p = put_num(p, end, nr);
	p = put_str(p, end, " (");
	p = put_str(p, end,
		    nr >= 0 && nr < NAMES_MAX && names[nr] ? names[nr] : "?");
	p = put_str(p, end, ") is not allowed; stopping\n");
	if (write(STDERR_FILENO, line, (size_t)(p - line)) < 0) {
		/* nothing more can be said */
	}
	_exit(SANDBOX_EXIT_STATUS);
}

static void build_names(void)
{
	for (int nr = 0; nr < NAMES_MAX; nr++)
		if (!names[nr])
			names[nr] = seccomp_syscall_resolve_num_arch(
				SCMP_ARCH_NATIVE, nr);
}

static int add(scmp_filter_ctx ctx, const char *name, unsigned n,
	       const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	/* Absent on this architecture (or a pseudo number for it). */
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return 0;
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
}

/* A test of the first argument (libseccomp's SCMP_A0 leaves fields to
 * the compiler's zeroing, which -Wmissing-field-initializers flags). */
static struct scmp_arg_cmp a0(enum scmp_compare op, scmp_datum_t a,
			      scmp_datum_t b)
{
	return (struct scmp_arg_cmp){
		.arg = 0, .op = op, .datum_a = a, .datum_b = b};
}

static int add_rules(scmp_filter_ctx ctx)
{
	/* Threads only: a fork or vfork has no CLONE_THREAD. */
	struct scmp_arg_cmp thread =
		a0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
	struct scmp_arg_cmp unix_only = a0(SCMP_CMP_EQ, AF_UNIX, 0);
	/* Signals to our own threads only (raise, pthread_kill, setxid). */
	struct scmp_arg_cmp self = a0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0);
	/* pthread_setname_np on the calling thread. */
	struct scmp_arg_cmp set_name = a0(SCMP_CMP_EQ, PR_SET_NAME, 0);
	struct scmp_arg_cmp get_name = a0(SCMP_CMP_EQ, PR_GET_NAME, 0);
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(allowed) / sizeof(*allowed); i++)
		ret = add(ctx, allowed[i], 0, NULL);
	if (!ret)
		ret = add(ctx, "clone", 1, &thread);
	if (!ret)
		ret = add(ctx, "socket", 1, &unix_only);
	if (!ret)
		ret = add(ctx, "socketpair", 1, &unix_only);
	if (!ret)
		ret = add(ctx, "tgkill", 1, &self);
	if (!ret)
		ret = add(ctx, "prctl", 1, &set_name);
	if (!ret)
		ret = add(ctx, "prctl", 1, &get_name);
	/* clone3's flags sit in memory a filter cannot read: make glibc
	 * fall back to clone. */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(clone3), 0);
	return ret;
}

int sandbox_seccomp_install(bool journal)
{
	struct sigaction sa = {.sa_sigaction = on_sigsys,
			       .sa_flags = SA_SIGINFO};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	sigset_t sys;
	int ret;

	if (!ctx)
		return -ENOMEM;
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	/* The kernel's own errno, not libseccomp's -ECANCELED. */
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	if (!ret)
		ret = add_rules(ctx);
	if (ret)
		goto out_release;
	journal_prefix = journal;
	build_names();
	sigemptyset(&sa.sa_mask);
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	/* A blocked SIGSYS from a filter kills silently: unblock it here;
	 * every thread started from now on inherits that. */
	if (sigaction(SIGSYS, &sa, NULL) < 0 ||
	    pthread_sigmask(SIG_UNBLOCK, &sys, NULL)) {
		ret = -errno;
		goto out_release;
	}
	ret = seccomp_load(ctx);
out_release:
	seccomp_release(ctx);
	return ret;
}

static int parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out >= (unsigned long)UINT_MAX ? -1 : 0;
}

/* The passwd entry named (or numbered) user; 0, or -ENOENT. */
static int find_user(const char *user, uid_t *uid, gid_t *gid, bool *has_gid)
{
	unsigned long id;
	bool numeric = parse_id(user, &id) == 0;
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	int ret = -ENOENT;

	*has_gid = false;
	while (f && (pw = fgetpwent(f)))
		if (numeric ? pw->pw_uid == id : !strcmp(pw->pw_name, user)) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			*has_gid = true;
			ret = 0;
			break;
		}
	if (f)
		fclose(f);
	if (ret && numeric) {
		*uid = (uid_t)id;
		ret = 0;
	}
	return ret;
}

static int find_group(const char *group, gid_t *gid)
{
	unsigned long id;
	FILE *f;
	struct group *gr;
	int ret = -ENOENT;

	if (parse_id(group, &id) == 0) {
		*gid = (gid_t)id;
		return 0;
	}
	f = fopen("/etc/group", "re");
	while (f && (gr = fgetgrent(f)))
		if (!strcmp(gr->gr_name, group)) {
			*gid = gr->gr_gid;
			ret = 0;
			break;
		}
	if (f)
		fclose(f);
	return ret;
}

int sandbox_resolve_ids(const char *user, const char *group,
			struct sandbox_ids *out, char *err, size_t errlen)
{
	bool has_gid = false;

	out->change = user || group;
	out->uid = getuid();
	out->gid = getgid();
	if (user && find_user(user, &out->uid, &out->gid, &has_gid)) {
		snprintf(err, errlen, "user \"%s\": not in /etc/passwd", user);
		return -EINVAL;
	}
	if (group && find_group(group, &out->gid)) {
		snprintf(err, errlen, "group \"%s\": not in /etc/group", group);
		return -EINVAL;
	}
	if (user && !group && !has_gid) {
		snprintf(err, errlen,
			 "user %s has no /etc/passwd entry: give a group too",
			 user);
		return -EINVAL;
	}
	return 0;
}

int sandbox_drop(const struct sandbox_ids *ids, char *err, size_t errlen)
{
	const char *what = NULL;

	if (!ids->change)
		return 0;
	/* Groups first: once the uid changes we may no longer set them. */
	if (setgroups(1, &ids->gid) < 0)
		what = "setgroups";
	else if (setgid(ids->gid) < 0)
		what = "setgid";
	else if (setuid(ids->uid) < 0)
		what = "setuid";
	if (what) {
		int ret = -errno;

		snprintf(err, errlen, "cannot become user %u group %u: %s: %s",
			 (unsigned)ids->uid, (unsigned)ids->gid, what,
			 strerror(-ret));
		return ret;
	}
	if (ids->uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "user %u could become root again",
			 (unsigned)ids->uid);
		return -EPERM;
	}
	return 0;
}
