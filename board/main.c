// SPDX-License-Identifier: MIT
/*
 * virtiobox: virtio device back-ends for Xen guests (and any vhost-user
 * front-end), configured by a board file.
 */
#include <errno.h>
#include <gpiod.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "board.h"
#include "board_config.h"
#include "build_info.h"
#include "cli.h"
#include "cli_xen.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "sandbox.h"
#include "xen_caps.h"

#define RUNTIME_DIR_ENV "VIRTIOBOX_RUNTIME_DIR"

static void usage(FILE *out)
{
	fputs("usage: virtiobox --board FILE [OPTIONS]  serve every device the "
	      "board file declares\n"
	      "       virtiobox check FILE [OPTIONS]    validate FILE and "
	      "print what would be served\n"
	      "       virtiobox info                    what this domain "
	      "offers (Xen interfaces)\n"
	      "       virtiobox i2c OPTIONS             vhost-device-i2c's "
	      "command line (virtiobox i2c --help)\n"
	      "       virtiobox xen-target DRIVER-DOMAIN GUEST\n"
	      "                                         in dom0: let a "
	      "driver domain serve GUEST\n"
	      "       virtiobox --version\n"
	      "       virtiobox --help\n"
	      "options:\n"
	      "  --runtime-dir DIR   relative socket paths are created in DIR\n"
	      "                      (default: $" RUNTIME_DIR_ENV
	      ", else the working directory)\n"
	      "  --verbose           debug log lines too\n"
	      "  --user USER         serve as USER (name or uid) once the "
	      "board is open\n"
	      "  --group GROUP       and as GROUP (default: USER's group)\n"
	      "  --no-seccomp        no system call filter (default: one "
	      "once the\n"
	      "                      board is open; a call outside it stops "
	      "virtiobox)\n"
	      "SIGINT or SIGTERM stops the server; it then exits 0.\n",
	      out);
}

static int cmd_info(void)
{
	struct xen_caps caps;

	xen_caps_probe(&caps);
	printf("xen: %s\n", xen_caps_is_xen(&caps) ? "yes" : "no");
	printf("  event channels     %s\n", caps.evtchn ? "yes" : "no");
	printf("  grant mappings     %s\n", caps.gnttab ? "yes" : "no");
	printf("  foreign mappings   %s\n", caps.foreignmemory ? "yes" : "no");
	printf("  device model       %s\n", caps.devicemodel ? "yes" : "no");
	printf("  xenstore           %s\n", caps.xenstore ? "yes" : "no");
	printf("vhost-user XEN_MMAP: %s\n",
	       caps.gnttab && caps.foreignmemory
		       ? "offered (grant and foreign regions)"
		       : "not offered (needs /dev/xen/gntdev and "
			 "/dev/xen/privcmd)");
	return 0;
}

static int cmd_version(void)
{
	printf("virtiobox %s\n"
	       "commit: %s\n"
	       "built with: %s\n"
	       "build: %s, gcc %s\n"
	       "running with: libgpiod %s\n",
	       VIRTIOBOX_VERSION, VIRTIOBOX_COMMIT, VIRTIOBOX_BUILT_WITH,
	       VIRTIOBOX_TARGET, __VERSION__, gpiod_version_string());
	return 0;
}

struct args {
	const char *cmd; /* "serve", "check", "info", "version", "help" */
	const char *file;
	const char *runtime_dir;
	const char *user, *group; /* override the board's user and group */
	bool no_seccomp;
	bool verbose;
	bool journal; /* stderr is the journal: <N> priority prefixes */
};

/* Returns 0, or 2 (usage error) with a message printed. */
static int parse_args(int argc, char **argv, struct args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		bool has_value = i + 1 < argc;

		if ((!strcmp(s, "--board") || !strcmp(s, "check")) &&
		    has_value && !a->cmd) {
			a->cmd = s[0] == '-' ? "serve" : "check";
			a->file = argv[++i];
		} else if (!strcmp(s, "--runtime-dir") && has_value) {
			a->runtime_dir = argv[++i];
		} else if (!strcmp(s, "--user") && has_value) {
			a->user = argv[++i];
		} else if (!strcmp(s, "--group") && has_value) {
			a->group = argv[++i];
		} else if (!strcmp(s, "--no-seccomp")) {
			a->no_seccomp = true;
		} else if (!strcmp(s, "--verbose") || !strcmp(s, "-v")) {
			a->verbose = true;
		} else if (!a->cmd &&
			   (!strcmp(s, "info") || !strcmp(s, "--version"))) {
			a->cmd = s[0] == '-' ? "version" : "info";
		} else if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			a->cmd = "help";
		} else {
			fprintf(stderr, "virtiobox: unexpected argument '%s'\n",
				s);
			return 2;
		}
	}
	if (!a->runtime_dir)
		a->runtime_dir = getenv(RUNTIME_DIR_ENV);
	return a->cmd ? 0 : 2;
}

static int load(const struct args *a, struct board_config **cfg)
{
	struct board_config_opts opts = {.runtime_dir = a->runtime_dir,
					 .check_host = true};
	char err[512];

	if (board_config_load(cfg, a->file, &opts, err, sizeof(err))) {
		/* The located message as it is: FILE:LINE: KEY: message. */
		fprintf(stderr, a->journal ? "<3>%s\n" : "virtiobox: %s\n",
			err);
		return 1;
	}
	return 0;
}

static int cmd_check(const struct args *a)
{
	struct board_config *cfg;

	if (load(a, &cfg))
		return 1;
	board_describe(cfg, stdout);
	board_config_free(cfg);
	return 0;
}

/* The runtime directory holds the sockets: make it if it is missing. */
static int make_runtime_dir(const char *dir)
{
	if (!dir || !*dir || mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	log_err("cannot create the runtime directory %s: %s", dir,
		strerror(errno));
	return 1;
}

/* What serve does besides the board: the sandbox it enters. */
struct serve_opts {
	bool seccomp;
	const char *user, *group;
	bool journal;
};

/* Tell the service manager (systemd, Type=notify), if there is one. */
static void notify(const char *state)
{
	int ret = notify_send(state);

	if (ret < 0)
		log_warn("cannot notify the service manager at "
			 "NOTIFY_SOCKET=%s: %s",
			 getenv("NOTIFY_SOCKET"), strerror(-ret));
}

/* READY=1 once every socket listens and every host device is open. */
static void notify_ready(const struct board_config *cfg, unsigned devices)
{
	char state[128];

	snprintf(state, sizeof(state),
		 "READY=1\nSTATUS=serving %u device%s for %u guest%s", devices,
		 devices == 1 ? "" : "s", cfg->nguests,
		 cfg->nguests == 1 ? "" : "s");
	notify(state);
}

static bool has_xen_guests(const struct board_config *cfg)
{
	for (unsigned g = 0; g < cfg->nguests; g++)
		if (cfg->guests[g].transport == BOARD_TRANSPORT_XEN_MMIO)
			return true;
	return false;
}

/*
 * Xen guests found later open these again: after a change of user they
 * must still open, or the first new guest would fail where start-up
 * could have said why.
 */
static int check_xen_nodes(const struct sandbox_ids *ids)
{
	static const char *const nodes[] = {
		"/dev/xen/privcmd", "/dev/xen/evtchn", "/dev/xen/gntdev",
		"/dev/xen/hypercall"};

	for (size_t i = 0; i < sizeof(nodes) / sizeof(*nodes); i++) {
		if (access(nodes[i], F_OK))
			continue;
		if (access(nodes[i], R_OK | W_OK)) {
			log_err("user %u group %u cannot open %s (Xen guests "
				"found later need it): %s",
				(unsigned)ids->uid, (unsigned)ids->gid,
				nodes[i], strerror(errno));
			return 1;
		}
	}
	return 0;
}

/* Change user, then filter system calls: the board is open. */
static int enter_sandbox(const struct board_config *cfg,
			 const struct serve_opts *o)
{
	struct sandbox_ids ids;
	char err[256];
	int ret =
		sandbox_resolve_ids(o->user, o->group, &ids, err, sizeof(err));

	if (!ret)
		ret = sandbox_drop(&ids, err, sizeof(err));
	if (ret) {
		log_err("sandbox: %s", err);
		return 1;
	}
	if (ids.change && has_xen_guests(cfg) && check_xen_nodes(&ids))
		return 1;
	if (!o->seccomp)
		return 0;
	ret = sandbox_seccomp_install(o->journal);
	if (ret) {
		log_err("sandbox: cannot install the system call filter: %s "
			"(--no-seccomp or seccomp = false serves without it)",
			strerror(-ret));
		return 1;
	}
	return 0;
}

/* Serve until SIGINT/SIGTERM. */
static int serve(const struct board_config *cfg, const struct serve_opts *o,
		 struct loop *ctl)
{
	struct board *b;
	int ret = loop_watch_signals(ctl);

	if (ret) {
		log_err("cannot watch signals: %s", strerror(-ret));
		return 1;
	}
	if (board_create(&b, cfg, ctl))
		return 1;
	if (enter_sandbox(cfg, o)) {
		board_destroy(b);
		return 1;
	}
	log_info("ready: serving %u device(s) of %s%s", board_device_count(b),
		 cfg->file, o->seccomp ? "" : " (no system call filter)");
	notify_ready(cfg, board_device_count(b));
	ret = loop_run(ctl); /* the loop logs the signal that stopped it */
	if (ret)
		log_err("control loop failed: %s", strerror(-ret));
	notify("STOPPING=1\nSTATUS=stopping");
	board_destroy(b);
	log_info("stopped");
	return ret ? 1 : 0;
}

/* Serve a loaded board; frees it. a's sandbox options override the
 * board's (a --user alone also replaces the board's group). */
static int serve_config(struct board_config *cfg, const struct args *a)
{
	struct serve_opts o = {.seccomp = cfg->seccomp,
			       .user = cfg->user,
			       .group = cfg->group};
	struct loop *ctl;
	int ret;

	/* Before any thread exists, so every thread inherits the mask. */
	ret = loop_signals_block();
	if (ret) {
		log_err("cannot block signals: %s", strerror(-ret));
		board_config_free(cfg);
		return 1;
	}
	ret = loop_create(&ctl);
	if (ret) {
		log_err("cannot create the control loop: %s", strerror(-ret));
		board_config_free(cfg);
		return 1;
	}
	o.journal = a->journal;
	o.seccomp = o.seccomp && !a->no_seccomp;
	if (a->user) {
		o.user = a->user;
		o.group = NULL;
	}
	if (a->group)
		o.group = a->group;
	ret = serve(cfg, &o, ctl);
	loop_destroy(ctl);
	board_config_free(cfg);
	return ret;
}

static int cmd_serve(const struct args *a)
{
	struct board_config *cfg;

	if (make_runtime_dir(a->runtime_dir) || load(a, &cfg))
		return 1;
	return serve_config(cfg, a);
}

/* "virtiobox i2c ...": another daemon's command line as a board. */
static int cmd_dropin(const struct cli_spec *spec, int argc, char **argv,
		      bool journal)
{
	struct board_config_opts opts = {0};
	struct board_config *cfg;
	struct cli_result r;
	char name[64], err[512];
	int ret = cli_parse(spec, argc, argv, &r);

	if (ret)
		return ret == 1 ? 0 : 2;
	if (r.verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	/* A board printed to be served elsewhere need not match this host. */
	opts.check_host = !r.print_board;
	snprintf(name, sizeof(name), "virtiobox %s", spec->name);
	ret = board_config_load_string(&cfg, r.text, name, &opts, err,
				       sizeof(err));
	if (ret) {
		/* The line is the one of the board --print-board shows. */
		fprintf(stderr, journal ? "<3>%s\n" : "virtiobox: %s\n", err);
		free(r.text);
		return 1;
	}
	if (r.print_board) {
		fputs(r.text, stdout);
		board_config_free(cfg);
		free(r.text);
		return 0;
	}
	free(r.text);
	return serve_config(cfg, &(struct args){.journal = journal});
}

int main(int argc, char **argv)
{
	const struct cli_spec *dropin = argc > 1 ? cli_find(argv[1]) : NULL;
	struct args a = {0};
	int ret;

	a.journal =
		log_is_journal_stream(STDERR_FILENO, getenv("JOURNAL_STREAM"));
	log_set_journal(a.journal);
	if (argc > 1 && !strcmp(argv[1], "xen-target"))
		return cli_xen_target(argc - 1, argv + 1);
	if (dropin)
		return cmd_dropin(dropin, argc - 1, argv + 1, a.journal);
	ret = parse_args(argc, argv, &a);

	if (ret || !strcmp(a.cmd, "help")) {
		usage(ret ? stderr : stdout);
		return ret;
	}
	if (a.verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	if (!strcmp(a.cmd, "version"))
		return cmd_version();
	if (!strcmp(a.cmd, "info"))
		return cmd_info();
	if (!strcmp(a.cmd, "check"))
		return cmd_check(&a);
	return cmd_serve(&a);
}
