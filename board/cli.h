/* SPDX-License-Identifier: MIT */
/*
 * Drop-in command lines: "virtiobox <subcommand> OPTIONS" takes the options
 * of another vhost-user daemon (vhost-device-i2c, ...) and turns them into
 * the text of an equivalent board file, which main.c then loads and serves
 * like any board file. What is served and what --print-board prints are
 * therefore one and the same board.
 *
 * Each subcommand is one const struct cli_spec: its options (including
 * the daemon's options virtiobox refuses, each with its reason) and a
 * builder that writes the board text. Every subcommand also takes
 * --print-board, -v/--verbose and -h/--help.
 *
 * Threading: control thread, at start-up.
 */
#ifndef VIRTIOBOX_BOARD_CLI_H
#define VIRTIOBOX_BOARD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct cli_opt {
	char short_name;       /* 0: long form only */
	const char *long_name; /* NULL ends a table */
	const char *arg; /* the value's name in usage ("PATH"); NULL: a flag */
	const char *help;
	/* Non-NULL: the daemon has this option and virtiobox refuses it;
	 * the reason, printed with the refusal. */
	const char *refused;
};

struct cli_spec {
	const char *name; /* the subcommand, "i2c" */
	const char
		*daemon; /* whose command line it takes, "vhost-device-i2c" */
	const struct cli_opt *opts;
	/*
	 * Write the board file for values[i], the value of opts[i] ("1" for
	 * a flag given) or NULL when absent. Returns 0, or -EINVAL (-ENOMEM)
	 * with a message naming the option at fault in err.
	 */
	int (*build)(const char *const *values, FILE *out, char *err,
		     size_t errlen);
};

struct cli_result {
	char *text; /* the board file; owned by the caller (free) */
	bool print_board;
	bool verbose;
};

/* The subcommand called name, or NULL. */
const struct cli_spec *cli_find(const char *name);

/* Usage of one subcommand. */
void cli_usage(const struct cli_spec *spec, FILE *out);

/*
 * Parse argv (argv[0] is the subcommand) and build the board text.
 * Options are accepted as -s V, -sV, --long V and --long=V. Returns 0 with
 * *out filled, 1 when --help was printed on stdout, or 2 after printing a
 * usage error (an unknown or refused option, a missing value, an option
 * given twice, a value the builder rejects) on stderr.
 */
int cli_parse(const struct cli_spec *spec, int argc, char **argv,
	      struct cli_result *out);

/* Write s as a libconfig string literal, quotes and escapes included. */
void cli_put_string(FILE *out, const char *s);

/* The vhost-device-i2c subcommand (cli_i2c.c). */
extern const struct cli_spec cli_i2c;

/*
 * An i2c bus as vhost-device-i2c names it: a decimal adapter number N
 * (/dev/i2c-N) or an adapter's name as in <sysfs>/i2c-N/name, sysfs being
 * /sys/bus/i2c/devices normally. Writes the node's path into path.
 * Returns 0, -ENOENT (no adapter has that name), -EEXIST (two do), or
 * another -errno with the message in err.
 */
int cli_i2c_resolve_bus(const char *sysfs, const char *bus, char *path,
			size_t pathlen, char *err, size_t errlen);

#endif
