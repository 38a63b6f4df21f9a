// SPDX-License-Identifier: MIT
/*
 * virtiobox: virtio device back-ends for Xen guests (and any vhost-user
 * front-end), configured by a board file.
 */
#include <errno.h>
#include <gpiod.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "board.h"
#include "board_config.h"
#include "log.h"
#include "loop.h"
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

struct args {
	const char *cmd; /* "serve", "check", "info", "version", "help" */
	const char *file;
	const char *runtime_dir;
	bool verbose;
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
		fprintf(stderr, "virtiobox: %s\n", err);
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
	ret = loop_run(ctl); /* the loop logs the signal that stopped it */
	if (ret)
		log_err("control loop failed: %s", strerror(-ret));
	board_destroy(b);
	log_info("stopped");
	return ret ? 1 : 0;
}

static int cmd_serve(const struct args *a)
{
	struct board_config *cfg;
	struct loop *ctl;
	int ret;

	/* Before any thread exists, so every thread inherits the mask. */
	ret = loop_signals_block();
	if (ret) {
		log_err("cannot block signals: %s", strerror(-ret));
		return 1;
	}
	if (make_runtime_dir(a->runtime_dir) || load(a, &cfg))
		return 1;
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

int main(int argc, char **argv)
{
	struct args a = {0};
	int ret = parse_args(argc, argv, &a);

	if (ret || !strcmp(a.cmd, "help")) {
		usage(ret ? stderr : stdout);
		return ret;
	}
	if (a.verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	if (!strcmp(a.cmd, "version")) {
		printf("virtiobox 0.1 (libgpiod %s, libconfig %d.%d)\n",
		       gpiod_version_string(), LIBCONFIG_VER_MAJOR,
		       LIBCONFIG_VER_MINOR);
		return 0;
	}
	if (!strcmp(a.cmd, "info"))
		return cmd_info();
	if (!strcmp(a.cmd, "check"))
		return cmd_check(&a);
	return cmd_serve(&a);
}
