// SPDX-License-Identifier: MIT
/* The drop-in command lines' shared option parser (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_spec *const specs[] = {&cli_i2c};

/* Every subcommand's own options, after its spec's. */
enum { COMMON_PRINT, COMMON_VERBOSE, COMMON_HELP, COMMON_N };

static const struct cli_opt common[] = {
	{0, "print-board", NULL,
	 "print the equivalent board file and exit (serve it with "
	 "virtiobox --board FILE)",
	 NULL},
	{'v', "verbose", NULL, "debug log lines too", NULL},
	{'h', "help", NULL, "this help", NULL},
};

const struct cli_spec *cli_find(const char *name)
{
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (!strcmp(specs[i]->name, name))
			return specs[i];
	return NULL;
}

static unsigned count(const struct cli_opt *opts)
{
	unsigned n = 0;

	while (opts[n].long_name)
		n++;
	return n;
}

/* opts[i] for i < n, then the common options. */
static const struct cli_opt *opt_at(const struct cli_spec *spec, unsigned n,
				    unsigned i)
{
	return i < n ? &spec->opts[i] : &common[i - n];
}

static void usage_opt(const struct cli_opt *o, FILE *out)
{
	if (o->short_name)
		fprintf(out, "  -%c, --%s", o->short_name, o->long_name);
	else
		fprintf(out, "  --%s", o->long_name);
	fprintf(out, "%s%s\n      %s\n", o->arg ? " " : "",
		o->arg ? o->arg : "", o->refused ? o->refused : o->help);
}

void cli_usage(const struct cli_spec *spec, FILE *out)
{
	unsigned n = count(spec->opts);

	fprintf(out,
		"usage: virtiobox %s OPTIONS\n"
		"Serves what %s would, with its options and defaults, as an "
		"in-memory board file.\noptions:\n",
		spec->name, spec->daemon);
	for (unsigned i = 0; i < n + COMMON_N; i++)
		if (!opt_at(spec, n, i)->refused)
			usage_opt(opt_at(spec, n, i), out);
	fprintf(out, "options of %s that virtiobox refuses:\n", spec->daemon);
	for (unsigned i = 0; i < n; i++)
		if (spec->opts[i].refused)
			usage_opt(&spec->opts[i], out);
}

/* The index of the option s names (after "-" or "--"), or -1. */
static int find_opt(const struct cli_spec *spec, unsigned n, const char *s,
		    size_t len, bool is_long)
{
	for (unsigned i = 0; i < n + COMMON_N; i++) {
		const struct cli_opt *o = opt_at(spec, n, i);

		if (is_long ? strlen(o->long_name) == len &&
				      !strncmp(o->long_name, s, len)
			    : o->short_name && o->short_name == s[0])
			return (int)i;
	}
	return -1;
}

static int usage_error(const struct cli_spec *spec, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One line on stderr; returns 2, the usage-error exit status. */
static int usage_error(const struct cli_spec *spec, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "virtiobox %s: %s (virtiobox %s --help)\n", spec->name,
		msg, spec->name);
	return 2;
}

/* One argument at argv[*i]: its option's value into values[]. */
static int parse_one(const struct cli_spec *spec, unsigned n, int argc,
		     char **argv, int *i, const char **values)
{
	const char *s = argv[*i], *name, *value = NULL;
	const struct cli_opt *o;
	bool is_long = s[1] == '-';
	size_t len;
	int idx;

	if (s[0] != '-' || !s[1] || !strcmp(s, "--"))
		return usage_error(spec, "unexpected argument '%s'", s);
	name = s + (is_long ? 2 : 1);
	len = is_long ? strcspn(name, "=") : 1;
	idx = find_opt(spec, n, name, len, is_long);
	if (idx < 0)
		return usage_error(spec, "unknown option '%s'", s);
	o = opt_at(spec, n, (unsigned)idx);
	if (o->refused)
		return usage_error(spec, "--%s is not implemented: %s",
				   o->long_name, o->refused);
	if (is_long && name[len] == '=')
		value = name + len + 1;
	else if (!is_long && name[1])
		value = name + 1;
	if (!o->arg && value)
		return usage_error(spec, "--%s takes no value", o->long_name);
	if (o->arg && !value) {
		if (*i + 1 >= argc)
			return usage_error(spec, "--%s needs a value (%s)",
					   o->long_name, o->arg);
		value = argv[++*i];
	}
	if (values[idx])
		return usage_error(spec, "--%s is given twice", o->long_name);
	values[idx] = o->arg ? value : "1";
	return 0;
}

static int build_text(const struct cli_spec *spec, const char **values,
		      struct cli_result *out)
{
	char err[512], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int ret;

	if (!f)
		return usage_error(spec, "%s", strerror(errno));
	ret = spec->build(values, f, err, sizeof(err));
	if (fclose(f) && !ret)
		ret = -ENOMEM;
	if (ret) {
		free(buf);
		return usage_error(spec, "%s",
				   ret == -ENOMEM ? "out of memory" : err);
	}
	out->text = buf;
	return 0;
}

int cli_parse(const struct cli_spec *spec, int argc, char **argv,
	      struct cli_result *out)
{
	unsigned n = count(spec->opts);
	const char **values = calloc(n + COMMON_N, sizeof(*values));
	int ret = 0;

	*out = (struct cli_result){0};
	if (!values)
		return usage_error(spec, "%s", "out of memory");
	for (int i = 1; !ret && i < argc; i++)
		ret = parse_one(spec, n, argc, argv, &i, values);
	if (!ret && values[n + COMMON_HELP]) {
		cli_usage(spec, stdout);
		ret = 1;
	}
	if (!ret) {
		out->print_board = values[n + COMMON_PRINT] != NULL;
		out->verbose = values[n + COMMON_VERBOSE] != NULL;
		ret = build_text(spec, values, out);
	}
	free(values);
	return ret;
}

void cli_put_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}
