// SPDX-License-Identifier: MIT
/*
 * Unit tests for config/board_config_gpio.c: every gpio key's error path
 * names file, line and key (the message text is asserted), the rules that
 * span devices, and the values of valid gpio devices. "@" in an expected
 * message stands for the board file's path.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#define BOARD_CASES_DIR "/tmp/vb-test-gpio-XXXXXX"
#include "board_config_cases.h"

/* A vhost-user guest "g" around one gpio device (the device on line 3). */
#define VHU(dev)                                                     \
	"guests = ( { domain = \"g\"; transport = \"vhost-user\";\n" \
	"devices = (\n{ type = \"gpio\"; socket = \"s\"; " dev " } ); } );\n"
#define SIM(dev)  VHU("chip = \"sim\"; " dev)
#define HOST(dev) VHU("chip = \"/dev/null\"; " dev)
#define DEV3	  "@:3: guests[0].devices[0]"
#define SIM_ONLY                                                          \
	"applies only to chip = \"sim\" (a host line keeps the state it " \
	"has)"

static const struct err_case cases[] = {
	{"unknown_key", SIM("lines = 2; pull = 1;"),
	 DEV3 ".pull: unknown key (known here: type, name, socket, packed, "
	      "chip, lines, names, directions, values, irq, control)"},
	{"chip_missing", VHU("lines = 2;"),
	 DEV3 ".chip: required key is missing"},
	{"chip_not_string", VHU("chip = 0; lines = 2;"),
	 DEV3 ".chip: must be a string"},
	{"chip_empty", VHU("chip = \"\"; lines = [ 0 ];"),
	 DEV3 ".chip: must not be empty"},
	{"chip_missing_node", VHU("chip = \"gpiochip99\"; lines = [ 0 ];"),
	 DEV3 ".chip: /dev/gpiochip99: No such file or directory"},
	{"chip_not_chardev", VHU("chip = \"/tmp\"; lines = [ 0 ];"),
	 DEV3 ".chip: /tmp is not a character device (a GPIO chip such as "
	      "/dev/gpiochip0)"},
	{"lines_missing", SIM(""), DEV3 ".lines: required key is missing"},
	{"sim_lines_array", SIM("lines = [ 0, 1 ];"),
	 DEV3 ".lines: for chip = \"sim\" this is the number of lines, e.g. "
	      "lines = 8"},
	{"sim_lines_zero", SIM("lines = 0;"),
	 DEV3 ".lines: 0 is out of range 1..256"},
	{"sim_lines_too_many", SIM("lines = 257;"),
	 DEV3 ".lines: 257 is out of range 1..256"},
	{"host_lines_count", HOST("lines = 4;"),
	 DEV3 ".lines: must list the host chip's line offsets, e.g. lines = "
	      "[ 0, 1, 5 ]"},
	{"host_lines_empty", HOST("lines = [ ];"),
	 DEV3 ".lines: must list at least one line"},
	{"host_line_twice", HOST("lines = [ 3, 4, 3 ];"),
	 DEV3 ".lines[2]: line 3 is listed twice"},
	{"host_line_range", HOST("lines = [ 65536 ];"),
	 DEV3 ".lines[0]: 65536 is out of range 0..65535"},
	{"names_not_array", SIM("lines = 2; names = \"a\";"),
	 DEV3 ".names: must be an array [ ... ] of strings"},
	{"names_count", SIM("lines = 2; names = [ \"a\" ];"),
	 DEV3 ".names: has 1 entries; the device has 2 lines"},
	{"names_not_string", SIM("lines = 2; names = ( \"a\", 1 );"),
	 DEV3 ".names[1]: must be a string"},
	{"names_twice", SIM("lines = 3; names = [ \"a\", \"\", \"a\" ];"),
	 DEV3 ".names[2]: \"a\" is already the name of line 0"},
	{"names_non_ascii", SIM("lines = 1; names = [ \"caf\xc3\xa9\" ];"),
	 DEV3 ".names[0]: \"caf\xc3\xa9\" is not a line name (at most 63 "
	      "printable ASCII characters)"},
	{"names_too_long",
	 SIM("lines = 1; names = [ "
	     "\"0123456789012345678901234567890123456789012345678901234567890"
	     "123\" ];"),
	 DEV3 ".names[0]: "
	      "\"0123456789012345678901234567890123456789012345678901234567890"
	      "123\" is not a line name (at most 63 printable ASCII "
	      "characters)"},
	{"directions_count", SIM("lines = 2; directions = [ \"in\" ];"),
	 DEV3 ".directions: has 1 entries; the device has 2 lines"},
	{"directions_bad", SIM("lines = 2; directions = [ \"in\", \"up\" ];"),
	 DEV3 ".directions[1]: must be \"in\" or \"out\""},
	{"values_range", SIM("lines = 2; values = [ 0, 2 ];"),
	 DEV3 ".values[1]: 2 is out of range 0..1"},
	{"values_count", SIM("lines = 2; values = [ 1 ];"),
	 DEV3 ".values: has 1 entries; the device has 2 lines"},
	{"irq_not_bool", SIM("lines = 2; irq = 1;"),
	 DEV3 ".irq: must be true or false"},
	{"control_empty", SIM("lines = 2; control = \"\";"),
	 DEV3 ".control: must not be empty"},
	{"host_directions", HOST("lines = [ 0 ]; directions = [ \"in\" ];"),
	 DEV3 ".directions: " SIM_ONLY},
	{"host_values", HOST("lines = [ 0 ]; values = [ 1 ];"),
	 DEV3 ".values: " SIM_ONLY},
	{"host_control", HOST("lines = [ 0 ]; control = \"c\";"),
	 DEV3 ".control: " SIM_ONLY},
	/* rules across devices and guests */
	{"line_in_two_guests",
	 "guests = ( { domain = \"a\"; transport = \"vhost-user\";\n"
	 "devices = ( { type = \"gpio\"; socket = \"a\"; chip = \"/dev/null\"; "
	 "lines = [ 1, 2 ]; } ); },\n"
	 "{ domid = 7; transport = \"xen-mmio\"; devices = (\n"
	 "{ type = \"gpio\"; chip = \"null\"; lines = [ 0 ]; },\n"
	 "{ type = \"gpio\"; chip = \"/dev/null\";\n lines = [ 5,\n 2 ]; } ); "
	 "} );\n",
	 "@:6: guests[1].devices[1].lines: line 2 of /dev/null is already "
	 "given to guests[0].devices[0] \"gpio0\" (@:2); a host line belongs "
	 "to one device"},
	{"line_twice_in_one_guest",
	 "guests = ( { domain = \"a\"; transport = \"vhost-user\";\n"
	 "devices = ( { type = \"gpio\"; socket = \"a\"; chip = \"/dev/null\"; "
	 "lines = [ 1 ]; },\n"
	 "{ type = \"gpio\"; socket = \"b\"; chip = \"/dev/null\"; lines = "
	 "[ 1 ]; } ); } );\n",
	 "@:3: guests[0].devices[1].lines: line 1 of /dev/null is already "
	 "given to guests[0].devices[0] \"gpio0\" (@:2); a host line belongs "
	 "to one device"},
	{"control_is_a_device_socket",
	 "guests = ( { domain = \"a\"; transport = \"vhost-user\";\n"
	 "devices = ( { type = \"gpio\"; socket = \"a\"; chip = \"sim\"; "
	 "lines = 1;\n control = \"b\"; },\n"
	 "{ type = \"gpio\"; socket = \"b\"; chip = \"sim\"; lines = 1; } ); "
	 "} );\n",
	 "@:3: guests[0].devices[0].control: /run/vb/b is also a socket of "
	 "guests[0].devices[1]"},
	{"control_twice",
	 "guests = ( { domain = \"a\"; transport = \"vhost-user\";\n"
	 "devices = ( { type = \"gpio\"; socket = \"a\"; chip = \"sim\"; "
	 "lines = 1; control = \"c\"; },\n"
	 "{ type = \"gpio\"; socket = \"b\"; chip = \"sim\"; lines = 1;\n"
	 "control = \"c\"; } ); } );\n",
	 "@:2: guests[0].devices[0].control: /run/vb/c is also a socket of "
	 "guests[0].devices[1]"},
};

/* A symlink to a chip is that chip: compared by device number. */
static void test_chip_alias(void **state)
{
	struct board_config *b = NULL;
	char link[128], text[512], err[512], want[512];

	(void)state;
	snprintf(link, sizeof(link), "%s/chip-alias", dir);
	assert_int_equal(symlink("/dev/null", link), 0);
	snprintf(text, sizeof(text),
		 "guests = ( { domain = \"a\"; transport = \"vhost-user\";\n"
		 "devices = ( { type = \"gpio\"; socket = \"a\"; chip = "
		 "\"/dev/null\"; lines = [ 4 ]; },\n"
		 "{ type = \"gpio\"; socket = \"b\"; chip = \"%s\"; lines = "
		 "[ 4 ]; } ); } );\n",
		 link);
	assert_int_equal(load(text, &b, err, sizeof(err)), -EINVAL);
	unlink(link);
	snprintf(want, sizeof(want),
		 "%s:3: guests[0].devices[1].lines: line 4 of %s is already "
		 "given to guests[0].devices[0] \"gpio0\" (%s:2); a host line "
		 "belongs to one device",
		 file, link, file);
	assert_string_equal(err, want);
	assert_null(b);
}

static void test_sim_values(void **state)
{
	struct board_config *b;
	const struct board_gpio *g;
	char err[256];

	(void)state;
	assert_int_equal(
		load(SIM("lines = 3; names = [ \"BTN\", \"\", \"LED\" ];\n"
			 "directions = [ \"in\", \"in\", \"out\" ];\n"
			 "values = [ 1, 0, 1 ]; control = \"g.ctl\"; "
			 "irq = false;"),
		     &b, err, sizeof(err)),
		0);
	assert_string_equal(err, "");
	g = &b->guests[0].devices[0].gpio;
	assert_string_equal(b->guests[0].devices[0].name, "gpio0");
	assert_true(g->is_sim);
	assert_false(g->irq);
	assert_int_equal(g->nlines, 3);
	assert_string_equal(g->names[0], "BTN");
	assert_null(g->names[1]);
	assert_string_equal(g->names[2], "LED");
	assert_int_equal(g->outputs[0] | g->outputs[1], 0);
	assert_int_equal(g->outputs[2], 1);
	assert_int_equal(g->values[0], 1);
	assert_int_equal(g->values[1], 0);
	assert_string_equal(g->control, "/run/vb/g.ctl");
	assert_int_equal(g->control_src.line, 5);
	board_config_free(b);
}

static void test_host_values(void **state)
{
	struct board_config *b;
	const struct board_gpio *g;
	char err[256];

	(void)state;
	/* A label cannot be checked before start-up: it is accepted. */
	assert_int_equal(
		load("guests = ( { domain = \"g\"; transport = "
		     "\"vhost-user\";\n"
		     "devices = (\n{ type = \"gpio\"; socket = \"s\"; chip = "
		     "\"/dev/null\"; lines = [ 7, 3 ]; },\n"
		     "{ type = \"gpio\"; socket = \"t\"; chip = \"my-label\"; "
		     "lines = [ 7 ]; } ); } );\n",
		     &b, err, sizeof(err)),
		0);
	g = &b->guests[0].devices[0].gpio;
	assert_false(g->is_sim);
	assert_true(g->irq);
	assert_string_equal(g->chip, "/dev/null");
	assert_int_equal(g->nlines, 2);
	assert_int_equal(g->offsets[0], 7);
	assert_int_equal(g->offsets[1], 3);
	assert_null(g->control);
	assert_int_equal(g->lines_src.line, 3);
	assert_string_equal(b->guests[0].devices[1].name, "gpio1");
	board_config_free(b);
}

int main(void)
{
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[NCASES + 3];
	unsigned n = 0;

	for (unsigned i = 0; i < NCASES; i++)
		tests[n++] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = test_error_case,
			.initial_state = (void *)&cases[i],
		};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_chip_alias);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sim_values);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_host_values);
	return _cmocka_run_group_tests("board_config_gpio", tests, n,
				       group_setup, group_teardown);
}
