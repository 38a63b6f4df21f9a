// SPDX-License-Identifier: MIT
/*
 * Unit tests for board/cli_i2c.c: vhost-device-i2c's command line turned
 * into a board file that loads back to the board it describes (socket
 * suffixed, made absolute; bus by number or by sysfs name; decimal
 * addresses), and each refusal with its reason.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "board_config.h"
#include "cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Parse argv, load the board text back (no host checks); NULL on error. */
static struct board_config *load(int argc, char **argv, char **text)
{
	struct board_config_opts opts = {0};
	struct board_config *cfg = NULL;
	struct cli_result r;
	char err[512];

	assert_int_equal(cli_parse(&cli_i2c, argc, argv, &r), 0);
	assert_int_equal(board_config_load_string(&cfg, r.text, "printed",
						  &opts, err, sizeof(err)),
			 0);
	if (text)
		*text = r.text;
	else
		free(r.text);
	return cfg;
}

static void test_board_loads_back(void **state)
{
	char *argv[] = {
		"i2c", "--socket-path", "vi2c.sock",	"--socket-count",
		"1",   "--device-list", "1:32:80:119:3"};
	char cwd[PATH_MAX], want[PATH_MAX + 16], *text;
	struct board_config *cfg = load(ARGC(argv), argv, &text);
	const struct board_device *d;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/vi2c.sock0", cwd);
	assert_int_equal(cfg->nguests, 1);
	assert_string_equal(cfg->guests[0].domain, "guest0");
	assert_int_equal(cfg->guests[0].transport, BOARD_TRANSPORT_VHOST_USER);
	assert_int_equal(cfg->guests[0].ndevices, 1);
	d = &cfg->guests[0].devices[0];
	assert_string_equal(d->type, "i2c");
	assert_string_equal(d->name, "i2c0");
	assert_string_equal(d->socket, want);
	assert_true(d->packed);
	assert_string_equal(d->i2c.bus, "/dev/i2c-1");
	assert_false(d->i2c.is_sim);
	assert_false(d->i2c.shared);
	assert_int_equal(d->i2c.max_transfer, BOARD_I2C_MAX_TRANSFER_DEFAULT);
	assert_int_equal(d->i2c.naddresses, 4);
	assert_int_equal(d->i2c.addresses[0], 0x20);
	assert_int_equal(d->i2c.addresses[1], 0x50);
	assert_int_equal(d->i2c.addresses[2], 0x77);
	assert_int_equal(d->i2c.addresses[3], 0x03);
	/* What the user reads: the command line, and hex addresses. */
	assert_non_null(strstr(text, "# virtiobox i2c --socket-path "
				     "\"vi2c.sock\" --socket-count 1 "
				     "--device-list \"1:32:80:119:3\"\n"));
	assert_non_null(
		strstr(text, "addresses = [ 0x20, 0x50, 0x77, 0x03 ];"));
	free(text);
	board_config_free(cfg);
}

static void test_option_forms_and_defaults(void **state)
{
	/* -sVALUE, --long=VALUE, spaces vhost-device-i2c trims, no -c. */
	char *argv[] = {"i2c", "-s/run/x/ vi2c ", "--device-list= 7 : 80 ",
			"-v", "--print-board"};
	struct cli_result r;
	struct board_config *cfg;

	(void)state;
	assert_int_equal(cli_parse(&cli_i2c, ARGC(argv), argv, &r), 0);
	assert_true(r.verbose);
	assert_true(r.print_board);
	free(r.text);
	cfg = load(ARGC(argv), argv, NULL);
	assert_string_equal(cfg->guests[0].devices[0].socket, "/run/x/ vi2c0");
	assert_string_equal(cfg->guests[0].devices[0].i2c.bus, "/dev/i2c-7");
	assert_int_equal(cfg->guests[0].devices[0].i2c.addresses[0], 80);
	board_config_free(cfg);
}

static void test_quoted_socket_path(void **state)
{
	char *argv[] = {"i2c", "-s", "/tmp/a\"b\\c\td", "-l", "1:80"};
	struct board_config *cfg = load(ARGC(argv), argv, NULL);

	(void)state;
	assert_string_equal(cfg->guests[0].devices[0].socket,
			    "/tmp/a\"b\\c\td0");
	board_config_free(cfg);
}

/* The builder's message for these values. */
static const char *refusal(const char *sock, const char *count,
			   const char *list)
{
	static char err[512];
	const char *values[8] = {sock, count, list};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int ret;

	assert_non_null(f);
	err[0] = '\0';
	ret = cli_i2c.build(values, f, err, sizeof(err));
	fclose(f);
	free(buf);
	assert_int_equal(ret, -EINVAL);
	return err;
}

static void test_refusals(void **state)
{
	(void)state;
	assert_string_equal(refusal(NULL, NULL, "1:32"),
			    "--socket-path is required");
	assert_string_equal(refusal("s", NULL, NULL),
			    "--device-list is required");
	assert_string_equal(refusal(" ", NULL, "1:32"),
			    "--socket-path is empty");
	assert_string_equal(
		refusal("s", "0", "1:32"),
		"--socket-count: \"0\" is not a count of 1 or more");
	assert_string_equal(
		refusal("s", "x", "1:32"),
		"--socket-count: \"x\" is not a count of 1 or more");
	assert_non_null(strstr(refusal("s", "2", "1:32"),
			       "--socket-count 2: vhost-device-i2c gives every "
			       "guest the same chips"));
	assert_non_null(strstr(refusal("s", NULL, "1:32,2:33"),
			       "--device-list names 2 buses"));
	assert_string_equal(refusal("s", NULL, "1:4d"),
			    "--device-list: \"4d\" is not a decimal address");
	assert_string_equal(refusal("s", NULL, "1::32"),
			    "--device-list: \"\" is not a decimal address");
	assert_string_equal(refusal("s", NULL, "1:32:32"),
			    "--device-list: address 32 is listed twice");
	assert_non_null(strstr(refusal("s", NULL, "1:120"),
			       "address 120 is out of range 3..119"));
	assert_non_null(strstr(refusal("s", NULL, "1:2"),
			       "address 2 is out of range 3..119"));
	assert_string_equal(refusal("s", NULL, "1"),
			    "--device-list: bus \"1\" lists no client address");
	assert_string_equal(refusal("s", NULL, ":32"),
			    "--device-list: the bus has no name");
	assert_non_null(
		strstr(refusal("/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			       NULL, "1:32"),
		       "longer than the 107 bytes"));
}

static void test_refused_option(void **state)
{
	char *argv[] = {"i2c", "-s", "x", "-l", "1:32", "-V"};
	struct cli_result r;

	(void)state;
	assert_int_equal(cli_parse(&cli_i2c, ARGC(argv), argv, &r), 2);
	assert_null(r.text);
}

static char sysfs[64];

static void put_name(const char *entry, const char *name)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", sysfs, entry);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s/name", sysfs, entry);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", name);
	fclose(f);
}

static void test_resolve_bus(void **state)
{
	char path[64], err[256], cmd[96];

	(void)state;
	snprintf(sysfs, sizeof(sysfs), "/tmp/vb-test-sysfs-XXXXXX");
	assert_non_null(mkdtemp(sysfs));
	put_name("i2c-0", "i915 gmbus dpd");
	put_name("i2c-3", "SMBus stub driver");
	put_name("3-0050", "i915 gmbus dpd"); /* a client, not an adapter */
	put_name("i2c-7", "twin");
	put_name("i2c-8", "twin");

	assert_int_equal(cli_i2c_resolve_bus(sysfs, "i915 gmbus dpd", path,
					     sizeof(path), err, sizeof(err)),
			 0);
	assert_string_equal(path, "/dev/i2c-0");
	assert_int_equal(cli_i2c_resolve_bus(sysfs, "SMBus stub driver", path,
					     sizeof(path), err, sizeof(err)),
			 0);
	assert_string_equal(path, "/dev/i2c-3");
	assert_int_equal(cli_i2c_resolve_bus(sysfs, "12", path, sizeof(path),
					     err, sizeof(err)),
			 0);
	assert_string_equal(path, "/dev/i2c-12");
	assert_int_equal(cli_i2c_resolve_bus(sysfs, "twin", path, sizeof(path),
					     err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "both have that name"));
	assert_int_equal(cli_i2c_resolve_bus(sysfs, "nobody", path,
					     sizeof(path), err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "bus \"nobody\": no adapter in"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", sysfs);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(cli_i2c_resolve_bus(sysfs, "nobody", path,
					     sizeof(path), err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "cannot list adapters"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_board_loads_back),
		cmocka_unit_test(test_option_forms_and_defaults),
		cmocka_unit_test(test_quoted_socket_path),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_refused_option),
		cmocka_unit_test(test_resolve_bus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
