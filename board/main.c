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

/* Serve until SIGINT/SIGTERM. */
static int serve(const struct board_config *cfg, struct loop *ctl)
{
	struct board *b;
	int ret = loop_watch_signals(ctl);

	if (ret) {
		log_err("cannot watch signals: %s", strerror(-ret));
		return 1;
	}
	if (board_create(&b, cfg, ctl))
		return 1;
	log_info("ready: serving %u device(s) of %s", board_device_count(b),
		 cfg->file);
	notify_ready(cfg, board_device_count(b));
	ret = loop_run(ctl); /* the loop logs the signal that stopped it */
	if (ret)
		log_err("control loop failed: %s", strerror(-ret));
	notify("STOPPING=1\nSTATUS=stopping");
	board_destroy(b);
	log_info("stopped");
	return ret ? 1 : 0;
}

/* Serve a loaded board; frees it. */
static int serve_config(struct board_config *cfg)
{
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
	ret = serve(cfg, ctl);
	loop_destroy(ctl);
	board_config_free(cfg);
	return ret;
}

static int cmd_serve(const struct args *a)
{
	struct board_config *cfg;

	if (make_runtime_dir(a->runtime_dir) || load(a, &cfg))
		return 1;
	return serve_config(cfg);
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
	return serve_config(cfg);
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
