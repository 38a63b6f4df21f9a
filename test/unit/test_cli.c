// SPDX-License-Identifier: MIT
/*
 * Unit tests for board/cli.c, the drop-in command lines' parser, on a
 * made-up subcommand: the option forms, the common options, refusals by
 * name, usage errors, the usage text, string quoting.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct cli_opt opts[] = {
	{'p', "path", "PATH", "a path", NULL},
	{'f', "flag", NULL, "a flag", NULL},
	{0, "long-only", "N", "a number", NULL},
	{'x', "extra", "V", NULL, "the fake daemon's option we refuse"},
	{0},
};

static const char *seen[4];
static int builds;

/* Writes what it got, so the test sees the values through the text. */
static int build(const char *const *values, FILE *out, char *err, size_t errlen)
{
	builds++;
	memcpy(seen, values, sizeof(seen));
	if (values[2] && !strcmp(values[2], "bad")) {
		snprintf(err, errlen, "--long-only: bad");
		return -EINVAL;
	}
	fprintf(out, "path=%s flag=%s", values[0] ? values[0] : "-",
		values[1] ? values[1] : "-");
	return 0;
}

static const struct cli_spec spec = {"fake", "fake-daemon", opts, build};

static int parse(int argc, char **argv, struct cli_result *r)
{
	builds = 0;
	memset(seen, 0, sizeof(seen));
	return cli_parse(&spec, argc, argv, r);
}

static void test_option_forms(void **state)
{
	char *a1[] = {"fake", "-p", "one", "-f", "--long-only", "3"};
	char *a2[] = {"fake", "-ptwo", "--long-only=4"};
	char *a3[] = {"fake", "--path=", "--print-board", "--verbose"};
	struct cli_result r;

	(void)state;
	assert_int_equal(parse(ARGC(a1), a1, &r), 0);
	assert_string_equal(r.text, "path=one flag=1");
	assert_string_equal(seen[2], "3");
	assert_false(r.print_board);
	assert_false(r.verbose);
	free(r.text);
	assert_int_equal(parse(ARGC(a2), a2, &r), 0);
	assert_string_equal(r.text, "path=two flag=-");
	assert_string_equal(seen[2], "4");
	free(r.text);
	assert_int_equal(parse(ARGC(a3), a3, &r), 0);
	assert_string_equal(seen[0], "");
	assert_true(r.print_board);
	assert_true(r.verbose);
	free(r.text);
}

static void test_help(void **state)
{
	char *argv[] = {"fake", "-p", "x", "-h"};
	struct cli_result r;

	(void)state;
	assert_int_equal(parse(ARGC(argv), argv, &r), 1);
	assert_int_equal(builds, 0);
	assert_null(r.text);
}

static void test_usage_errors(void **state)
{
	char *refused[] = {"fake", "--extra", "1"};
	char *refused_short[] = {"fake", "-x1"};
	char *unknown[] = {"fake", "--pat", "x"};
	char *unknown_short[] = {"fake", "-q"};
	char *twice[] = {"fake", "-p", "x", "--path=y"};
	char *missing[] = {"fake", "--path"};
	char *flag_value[] = {"fake", "--flag=1"};
	char *positional[] = {"fake", "x"};
	char *dashes[] = {"fake", "--"};
	char *bad_value[] = {"fake", "--long-only", "bad"};
	struct cli_result r;

	(void)state;
	assert_int_equal(parse(ARGC(refused), refused, &r), 2);
	assert_int_equal(parse(ARGC(refused_short), refused_short, &r), 2);
	assert_int_equal(parse(ARGC(unknown), unknown, &r), 2);
	assert_int_equal(parse(ARGC(unknown_short), unknown_short, &r), 2);
	assert_int_equal(parse(ARGC(twice), twice, &r), 2);
	assert_int_equal(parse(ARGC(missing), missing, &r), 2);
	assert_int_equal(parse(ARGC(flag_value), flag_value, &r), 2);
	assert_int_equal(parse(ARGC(positional), positional, &r), 2);
	assert_int_equal(parse(ARGC(dashes), dashes, &r), 2);
	assert_int_equal(builds, 0);
	assert_int_equal(parse(ARGC(bad_value), bad_value, &r), 2);
	assert_int_equal(builds, 1);
	assert_null(r.text);
}

static void test_usage_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	char *refused;

	(void)state;
	assert_non_null(f);
	cli_usage(&spec, f);
	fclose(f);
	assert_non_null(strstr(buf, "usage: virtiobox fake OPTIONS\n"));
	assert_non_null(strstr(buf, "  -p, --path PATH\n      a path\n"));
	assert_non_null(strstr(buf, "  --long-only N\n      a number\n"));
	assert_non_null(strstr(buf, "  --print-board\n"));
	assert_non_null(strstr(buf, "  -v, --verbose\n"));
	assert_non_null(strstr(buf, "  -h, --help\n"));
	refused =
		strstr(buf, "options of fake-daemon that virtiobox refuses:\n");
	assert_non_null(refused);
	/* Refused options are listed after that line only. */
	assert_true(strstr(buf, "--extra") > refused);
	assert_non_null(strstr(refused, "  -x, --extra V\n      the fake "
					"daemon's option we refuse\n"));
	free(buf);
}

static void test_find(void **state)
{
	(void)state;
	assert_ptr_equal(cli_find("i2c"), &cli_i2c);
	assert_null(cli_find("fake"));
	assert_null(cli_find(""));
}

static void test_put_string(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	cli_put_string(f, "a \"b\" \\c\n");
	fclose(f);
	assert_string_equal(buf, "\"a \\\"b\\\" \\\\c\\x0a\"");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_option_forms),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_usage_text),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_put_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
