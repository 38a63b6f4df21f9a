// SPDX-License-Identifier: MIT
/*
 * Unit tests for config/board_config*.c: every error path names file, line
 * and key (the message text is asserted), and the defaults of a valid board.
 * Each case is written to a board file in a temporary directory; "@" in an
 * expected message stands for that file's path.
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

#define BOARD_CASES_DIR "/tmp/vb-test-board-XXXXXX"
#include "board_config_cases.h"

/* A vhost-user guest "g" around one device's keys (the device on line 3). */
#define VHU(dev)                                                     \
	"guests = ( { domain = \"g\"; transport = \"vhost-user\";\n" \
	"devices = (\n{ type = \"i2c\"; " dev " } ); } );\n"
#define SIM_CHIPS "chips = ( { type = \"24c02\"; address = 0x50; } );"
#define SIM(dev)  VHU("socket = \"s\"; bus = \"sim\"; " dev)
#define HOST(dev) VHU("socket = \"s\"; bus = \"/dev/null\"; " dev)
#define DEV3	  "@:3: guests[0].devices[0]"

static const struct err_case cases[] = {
	/* the file and its syntax */
	{"syntax", "guests = ( {\n domain = ; } );\n",
	 "@:2: syntax: syntax error"},
	{"root_unknown_key", "name = \"x\";\nfoo = 1;\n",
	 "@:2: foo: unknown key (known here: name, seccomp, user, group, "
	 "guests)"},
	{"seccomp_type", "seccomp = 1;\nguests = ();\n",
	 "@:1: seccomp: must be true or false"},
	{"user_type", "user = 1000;\nguests = ();\n",
	 "@:1: user: must be a string"},
	{"user_empty", "user = \"\";\nguests = ();\n",
	 "@:1: user: must not be empty"},
	{"group_empty", "group = \"\";\nguests = ();\n",
	 "@:1: group: must not be empty"},
	{"root_name_type", "name = 5;\nguests = ();\n",
	 "@:1: name: must be a string"},
	{"guests_missing", "name = \"x\";\n",
	 "@: guests: required key is missing"},
	{"guests_not_list", "guests = 5;\n",
	 "@:1: guests: must be a list ( { ... }, ... )"},
	{"guests_empty", "guests = ( );\n", "@:1: guests: must not be empty"},
	{"guest_not_group", "guests = ( 1 );\n",
	 "@:1: guests[0]: must be a group { ... }"},
	/* guests */
	{"guest_unknown_key", "guests = ( { domain = \"g\";\n cpus = 2; } );\n",
	 "@:2: guests[0].cpus: unknown key (known here: domain, domid, "
	 "transport, foreign_cache, devices)"},
	{"vhu_foreign_cache",
	 "guests = ( { transport = \"vhost-user\"; domain = \"g\";\n"
	 " foreign_cache = 8; } );\n",
	 "@:2: guests[0].foreign_cache: applies only to transport "
	 "\"xen-mmio\""},
	{"foreign_cache_range",
	 "guests = ( { transport = \"xen-mmio\"; domid = 3;\n"
	 " foreign_cache = 4097; } );\n",
	 "@:2: guests[0].foreign_cache: 4097 is out of range 1..4096"},
	{"transport_missing", "guests = ( { domain = \"g\"; } );\n",
	 "@:1: guests[0].transport: required key is missing"},
	{"transport_unknown",
	 "guests = ( { domain = \"g\";\n transport = \"pci\"; } );\n",
	 "@:2: guests[0].transport: unknown transport \"pci\" (known: "
	 "vhost-user, xen-mmio)"},
	{"domain_bad_name",
	 "guests = ( { transport = \"vhost-user\";\n domain = \"a b\"; } );\n",
	 "@:2: guests[0].domain: \"a b\" is not a name (1..63 letters, "
	 "digits, '_', '-', '.')"},
	{"vhu_domain_missing",
	 "guests = ( { transport = \"vhost-user\"; } );\n",
	 "@:1: guests[0].domain: required key is missing (it names a "
	 "vhost-user guest)"},
	{"xen_identity_missing",
	 "guests = ( { transport = \"xen-mmio\"; } );\n",
	 "@:1: guests[0].domain: required key is missing (give domain, domid "
	 "or both)"},
	{"vhu_domid",
	 "guests = ( { transport = \"vhost-user\"; domain = \"g\";\n"
	 " domid = 3; } );\n",
	 "@:2: guests[0].domid: applies only to transport \"xen-mmio\""},
	{"domid_type",
	 "guests = ( { transport = \"xen-mmio\";\n domid = \"3\"; } );\n",
	 "@:2: guests[0].domid: must be an integer"},
	{"domid_range",
	 "guests = ( { transport = \"xen-mmio\";\n domid = 0; } );\n",
	 "@:2: guests[0].domid: 0 is out of range 1..32751"},
	{"domain_twice",
	 "guests = ( { transport = \"xen-mmio\"; domain = \"g\";\n"
	 "devices = ( { type = \"i2c\"; bus = \"sim\"; " SIM_CHIPS " } ); },\n"
	 "{ transport = \"xen-mmio\";\n domain = \"g\"; } );\n",
	 "@:4: guests[1].domain: \"g\" is already guests[0]"},
	{"domid_twice",
	 "guests = ( { transport = \"xen-mmio\"; domid = 4;\n"
	 "devices = ( { type = \"i2c\"; bus = \"sim\"; " SIM_CHIPS " } ); },\n"
	 "{ transport = \"xen-mmio\";\n domid = 4; } );\n",
	 "@:4: guests[1].domid: 4 is already guests[0]"},
	{"devices_missing",
	 "guests = ( { transport = \"xen-mmio\"; domid = 4; } );\n",
	 "@:1: guests[0].devices: required key is missing"},
	{"xen_too_many_devices",
	 "guests = ( { transport = \"xen-mmio\"; domid = 4;\n devices = ( "
	 "{},{},{},{},{},{},{},{},{},{},{},{} ); } );\n",
	 "@:2: guests[0].devices: has 12 devices; a Xen guest has room for "
	 "at most 11 virtio-mmio devices"},
	/* devices */
	{"device_type_missing",
	 "guests = ( { domain = \"g\"; transport = \"vhost-user\";\n"
	 "devices = (\n{ name = \"x\"; } ); } );\n",
	 DEV3 ".type: required key is missing"},
	{"device_type_unknown",
	 "guests = ( { domain = \"g\"; transport = \"vhost-user\";\n"
	 "devices = (\n{ type = \"spi\"; } ); } );\n",
	 DEV3 ".type: unknown device type \"spi\" (known: i2c, gpio, vsock)"},
	{"device_unknown_key", SIM("irq = 5;"),
	 DEV3 ".irq: unknown key (known here: type, name, socket, packed, "
	      "bus, addresses, max_transfer, shared, chips)"},
	{"device_bad_name", SIM("name = \"\";"),
	 DEV3 ".name: \"\" is not a name (1..63 letters, digits, '_', '-', "
	      "'.')"},
	{"device_name_twice",
	 "guests = ( { domain = \"g\"; transport = \"xen-mmio\";\n"
	 "devices = ( { type = \"i2c\"; bus = \"sim\"; " SIM_CHIPS " },\n"
	 "{ type = \"i2c\"; name = \"i2c0\"; } ); } );\n",
	 "@:3: guests[0].devices[1].name: \"i2c0\" is already the name of "
	 "devices[0]"},
	{"device_default_name_taken",
	 "guests = ( { domain = \"g\"; transport = \"xen-mmio\";\n"
	 "devices = ( { type = \"i2c\"; name = \"i2c1\"; bus = "
	 "\"sim\"; " SIM_CHIPS " },\n{ type = \"i2c\"; } ); } );\n",
	 "@:3: guests[0].devices[1].name: \"i2c1\" is already the name of "
	 "devices[0]"},
	{"packed_type", SIM("packed = 1;"),
	 DEV3 ".packed: must be true or false"},
	{"socket_missing", VHU("bus = \"sim\";"),
	 DEV3 ".socket: required key is missing"},
	{"socket_type", VHU("socket = 1;"), DEV3 ".socket: must be a string"},
	{"socket_empty", VHU("socket = \"\";"),
	 DEV3 ".socket: must not be empty"},
	{"socket_too_long",
	 VHU("socket = \""
	     "0123456789012345678901234567890123456789"
	     "0123456789012345678901234567890123456789"
	     "0123456789012345678901234567890\";"),
	 DEV3 ".socket: /run/vb/012345678901234567890123456789012345678901234"
	      "5678901234567890123456789012345678901234567890123456789012345"
	      "67890 is 119 bytes long; a UNIX socket path takes at most 107"},
	{"socket_twice",
	 "guests = ( { domain = \"g\"; transport = \"vhost-user\";\n"
	 "devices = ( { type = \"i2c\"; socket = \"a.sock\"; bus = "
	 "\"sim\"; " SIM_CHIPS
	 " },\n{ type = \"i2c\"; socket = \"/run/vb/a.sock\"; } ); } );\n",
	 "@:3: guests[0].devices[1].socket: /run/vb/a.sock is also the socket "
	 "of guests[0].devices[0] (@:2)"},
	{"socket_on_xen",
	 "guests = ( { domid = 3; transport = \"xen-mmio\";\n"
	 "devices = (\n{ type = \"i2c\"; socket = \"s\"; } ); } );\n",
	 DEV3 ".socket: applies only to transport \"vhost-user\""},
	/* i2c */
	{"bus_missing", VHU("socket = \"s\";"),
	 DEV3 ".bus: required key is missing"},
	{"bus_relative", VHU("socket = \"s\"; bus = \"i2c-1\";"),
	 DEV3 ".bus: \"i2c-1\" is neither \"sim\" nor an absolute path such "
	      "as \"/dev/i2c-1\""},
	{"bus_absent", VHU("socket = \"s\"; bus = \"/nonexistent/i2c-7\";"),
	 DEV3 ".bus: /nonexistent/i2c-7: No such file or directory"},
	{"bus_not_chardev", VHU("socket = \"s\"; bus = \"/tmp\";"),
	 DEV3 ".bus: /tmp is not a character device (an i2c-dev node such as "
	      "/dev/i2c-1)"},
	{"max_transfer_range", SIM("max_transfer = 65536;"),
	 DEV3 ".max_transfer: 65536 is out of range 1..65535"},
	{"max_transfer_zero", SIM("max_transfer = 0;"),
	 DEV3 ".max_transfer: 0 is out of range 1..65535"},
	{"shared_on_sim", SIM("shared = true;"),
	 DEV3 ".shared: applies only to host buses: a \"sim\" bus belongs to "
	      "its device alone"},
	{"host_addresses_missing", HOST(""),
	 DEV3 ".addresses: required key is missing"},
	{"addresses_type", HOST("addresses = 80;"),
	 DEV3 ".addresses: must be an array [ ... ] of integers"},
	{"addresses_empty", HOST("addresses = [ ];"),
	 DEV3 ".addresses: must list at least one address"},
	{"address_reserved_low", HOST("addresses = [ 0x50, 0x02 ];"),
	 DEV3 ".addresses[1]: 0x02 is out of range 0x03..0x77"},
	{"address_reserved_high", HOST("addresses = [ 0x78 ];"),
	 DEV3 ".addresses[0]: 0x78 is out of range 0x03..0x77"},
	{"address_not_int", HOST("addresses = ( 0x50, \"0x51\" );"),
	 DEV3 ".addresses[1]: must be an integer"},
	{"address_twice", HOST("addresses = [ 0x50, 0x51, 0x50 ];"),
	 DEV3 ".addresses[2]: 0x50 is listed twice"},
	{"chips_on_host", HOST("addresses = [ 0x50 ]; " SIM_CHIPS),
	 DEV3 ".chips: applies only to bus = \"sim\""},
	{"sim_chips_missing", SIM(""), DEV3 ".chips: required key is missing"},
	{"chip_unknown_key",
	 SIM("chips = ( { type = \"24c02\"; addr = 1; } );"),
	 DEV3 ".chips[0].addr: unknown key (known here: type, address, size, "
	      "init)"},
	{"chip_type_unknown", SIM("chips = ( { type = \"lm75\"; } );"),
	 DEV3 ".chips[0].type: unknown chip type \"lm75\" (known: 24c02, "
	      "regs)"},
	{"chip_address_missing", SIM("chips = ( { type = \"24c02\"; } );"),
	 DEV3 ".chips[0].address: required key is missing"},
	{"chip_address_range",
	 SIM("chips = ( { type = \"24c02\"; address = 0x7f; } );"),
	 DEV3 ".chips[0].address: 0x7f is out of range 0x03..0x77"},
	{"chip_24c02_size",
	 SIM("chips = ( { type = \"24c02\"; address = 0x50; size = 8; } );"),
	 DEV3 ".chips[0].size: a 24c02 has a fixed size of 256 bytes"},
	{"chip_regs_size_missing",
	 SIM("chips = ( { type = \"regs\"; address = 0x1c; } );"),
	 DEV3 ".chips[0].size: required key is missing"},
	{"chip_regs_size_range",
	 SIM("chips = ( { type = \"regs\"; address = 0x1c; size = 257; } );"),
	 DEV3 ".chips[0].size: 257 is out of range 1..256"},
	{"chip_init_too_long",
	 SIM("chips = ( { type = \"regs\"; address = 0x1c; size = 2; "
	     "init = [ 1, 2, 3 ]; } );"),
	 DEV3 ".chips[0].init: has 3 entries, at most 2 allowed"},
	{"chip_init_byte",
	 SIM("chips = ( { type = \"regs\"; address = 0x1c; size = 2; "
	     "init = [ 1, 0x100 ]; } );"),
	 DEV3 ".chips[0].init[1]: 0x100 is out of range 0x00..0xff"},
	{"chip_address_twice",
	 SIM("chips = ( { type = \"24c02\"; address = 0x50; }, "
	     "{ type = \"regs\"; address = 0x50; size = 1; } );"),
	 DEV3 ".chips[1].address: 0x50 is already the address of chips[0]"},
	{"chip_not_allowed", SIM("addresses = [ 0x1c ]; " SIM_CHIPS),
	 DEV3 ".chips[0].address: 0x50 is not on this device's allow-list "
	      "(addresses): the guest could never reach it"},
	/* rules across devices */
	{"bus_not_shared",
	 "guests = ( { domain = \"a\"; transport = \"vhost-user\";\n"
	 "devices = ( { type = \"i2c\"; socket = \"a\"; bus = \"/dev/null\"; "
	 "addresses = [ 0x50 ]; shared = true; } ); },\n"
	 "{ domain = \"b\"; transport = \"vhost-user\"; devices = (\n"
	 "{ type = \"i2c\"; socket = \"b\"; bus = \"/dev/null\";\n"
	 "addresses = [ 0x51 ]; } ); } );\n",
	 "@:4: guests[1].devices[0].bus: /dev/null is also the bus of guest "
	 "\"a\" device \"i2c0\" (@:2); set shared = true on both devices to "
	 "share it"},
	{"shared_address_twice",
	 "guests = ( { domain = \"a\"; transport = \"vhost-user\";\n"
	 "devices = ( { type = \"i2c\"; socket = \"a\"; bus = \"/dev/null\"; "
	 "addresses = [ 0x50, 0x51 ]; shared = true; } ); },\n"
	 "{ domid = 7; transport = \"xen-mmio\"; devices = (\n"
	 "{ type = \"i2c\"; bus = \"/dev/null\"; shared = true;\n"
	 "addresses = [ 0x52,\n 0x51 ]; } ); } );\n",
	 "@:5: guests[1].devices[0].addresses: 0x51 on /dev/null is also "
	 "given to guest \"a\" device \"i2c0\" (@:2); a shared bus still "
	 "gives each address to one device"},
};

/*
 * Two paths to one adapter are one bus: a udev-style symlink cannot give a
 * second guest an address (or the whole bus) the first one has.
 */
static void test_bus_alias_is_the_same_bus(void **state)
{
	char link[64], text[768], err[512];
	struct board_config *b = NULL;

	(void)state;
	snprintf(link, sizeof(link), "/tmp/vbtest-i2c-alias-%d", (int)getpid());
	unlink(link);
	assert_int_equal(symlink("/dev/null", link), 0);
	snprintf(text, sizeof(text),
		 "guests = ( { domain = \"a\"; transport = \"vhost-user\";\n"
		 "devices = ( { type = \"i2c\"; socket = \"a\"; "
		 "bus = \"/dev/null\"; addresses = [ 0x50 ]; shared = true; "
		 "} ); },\n"
		 "{ domain = \"b\"; transport = \"vhost-user\"; devices = (\n"
		 "{ type = \"i2c\"; socket = \"b\"; bus = \"%s\";\n"
		 "addresses = [ 0x50 ]; shared = true; } ); } );\n",
		 link);
	assert_int_equal(load(text, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(
		strstr(err, "guests[1].devices[0].addresses: 0x50 on "));
	assert_non_null(strstr(err, " (the adapter of /dev/null) is also given "
				    "to guest \"a\" device \"i2c0\""));
	/* Without shared, the alias is refused as the bus itself. */
	*strstr(text, "shared = true; } ); } );") = '\0';
	strcat(text, "} ); } );\n");
	assert_int_equal(load(text, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(
		strstr(err, " (the adapter of /dev/null) is also the bus"));
	unlink(link);
}

static void test_defaults(void **state)
{
	struct board_config *b;
	const struct board_device *d;
	char err[256];

	(void)state;
	assert_int_equal(load(SIM(SIM_CHIPS), &b, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_null(b->name);
	assert_true(b->seccomp);
	assert_null(b->user);
	assert_null(b->group);
	assert_int_equal(b->nguests, 1);
	assert_string_equal(b->guests[0].domain, "g");
	assert_int_equal(b->guests[0].domid, -1);
	assert_int_equal(b->guests[0].transport, BOARD_TRANSPORT_VHOST_USER);
	d = &b->guests[0].devices[0];
	assert_string_equal(d->name, "i2c0");
	assert_string_equal(d->socket, "/run/vb/s");
	assert_true(d->packed);
	assert_true(d->i2c.is_sim);
	assert_false(d->i2c.shared);
	assert_int_equal(d->i2c.max_transfer, 4096);
	/* No addresses on a sim bus: the chips' addresses. */
	assert_int_equal(d->i2c.naddresses, 1);
	assert_int_equal(d->i2c.addresses[0], 0x50);
	assert_int_equal(d->i2c.nchips, 1);
	assert_int_equal(d->i2c.chips[0].kind, BOARD_CHIP_24C02);
	assert_int_equal(d->i2c.chips[0].size, 256);
	assert_int_equal(d->i2c.chips[0].src.line, 3);
	assert_string_equal(d->i2c.chips[0].src.file, file);
	board_config_free(b);
}

static void test_full_board(void **state)
{
	static const char text[] =
		"name = \"two\";\n"
		"seccomp = false; user = \"vb\"; group = \"1000\";\n"
		"guests = ( { domain = \"a\"; transport = \"vhost-user\";\n"
		"devices = ( { type = \"i2c\"; name = \"bus-a\"; socket = "
		"\"/abs/a.sock\"; packed = false; bus = \"/dev/null\"; "
		"shared = true; addresses = [ 0x50 ]; max_transfer = 32; },\n"
		"{ type = \"i2c\"; socket = \"b.sock\"; bus = \"sim\"; "
		"addresses = [ 0x1c, 0x20, 0x50 ]; chips = ( { type = "
		"\"regs\"; address = 0x1c; size = 4; init = [ 9, 8 ]; }, "
		"{ type = \"24c02\"; address = 0x50; } ); } ); },\n"
		"{ domain = \"x\"; domid = 9; transport = \"xen-mmio\";\n"
		"foreign_cache = 16;\n"
		"devices = ( { type = \"i2c\"; bus = \"/dev/null\"; shared = "
		"true; addresses = [ 0x51 ]; } ); } );\n";
	struct board_config *b;
	const struct board_device *d;
	char err[256];

	(void)state;
	assert_int_equal(load(text, &b, err, sizeof(err)), 0);
	assert_string_equal(b->name, "two");
	assert_false(b->seccomp);
	assert_string_equal(b->user, "vb");
	assert_string_equal(b->group, "1000");
	assert_int_equal(b->nguests, 2);
	d = &b->guests[0].devices[0];
	assert_string_equal(d->name, "bus-a");
	assert_string_equal(d->socket, "/abs/a.sock");
	assert_false(d->packed);
	assert_true(d->i2c.shared);
	assert_int_equal(d->i2c.max_transfer, 32);
	d = &b->guests[0].devices[1];
	assert_string_equal(d->name, "i2c1");
	assert_string_equal(d->socket, "/run/vb/b.sock");
	assert_int_equal(d->i2c.naddresses, 3);
	assert_int_equal(d->i2c.addresses[1], 0x20);
	assert_int_equal(d->i2c.chips[0].kind, BOARD_CHIP_REGS);
	assert_int_equal(d->i2c.chips[0].size, 4);
	assert_int_equal(d->i2c.chips[0].ninit, 2);
	assert_memory_equal(d->i2c.chips[0].init, "\x09\x08", 2);
	assert_int_equal(b->guests[1].transport, BOARD_TRANSPORT_XEN_MMIO);
	assert_int_equal(b->guests[1].domid, 9);
	assert_int_equal(b->guests[1].foreign_cache, 16);
	assert_int_equal(b->guests[0].foreign_cache, 0);
	assert_null(b->guests[1].devices[0].socket);
	assert_string_equal(board_transport_name(b->guests[1].transport),
			    "xen-mmio");
	assert_string_equal(board_chip_kind_name(BOARD_CHIP_REGS), "regs");
	board_config_free(b);
}

static void test_missing_file(void **state)
{
	struct board_config *b = NULL;
	char err[256];

	(void)state;
	assert_int_equal(board_config_load(&b, "/nonexistent/board.conf", NULL,
					   err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "/nonexistent/board.conf: cannot read: No "
				 "such file or directory");
	assert_null(b);
}

static void test_string_and_no_runtime_dir(void **state)
{
	struct board_config *b;
	char err[256];

	(void)state;
	assert_int_equal(board_config_load_string(&b, SIM(SIM_CHIPS), "<text>",
						  NULL, err, sizeof(err)),
			 0);
	/* Without a runtime directory a relative socket stays relative. */
	assert_string_equal(b->guests[0].devices[0].socket, "s");
	board_config_free(b);
	assert_int_equal(board_config_load_string(&b, "guests = 1;\n", "<text>",
						  NULL, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "<text>:1: guests: must be a list ( { ... }, "
				 "... )");
	assert_int_equal(board_config_load_string(&b, "x = ;", "<text>", NULL,
						  err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "<text>:1: syntax: syntax error");
}

static void test_error_truncated(void **state)
{
	struct board_config *b = NULL;
	char err[8];

	(void)state;
	assert_int_equal(load("guests = 1;\n", &b, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), 7);
}

int main(void)
{
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[NCASES + 6];
	unsigned n = 0;

	for (unsigned i = 0; i < NCASES; i++)
		tests[n++] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = test_error_case,
			.initial_state = (void *)&cases[i],
		};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_defaults);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_full_board);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_missing_file);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(
		test_bus_alias_is_the_same_bus);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(
		test_string_and_no_runtime_dir);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_error_truncated);
	return _cmocka_run_group_tests("board_config", tests, n, group_setup,
				       group_teardown);
}
