// SPDX-License-Identifier: MIT
/*
 * Unit tests for board/board_xen.c: which board device a xenstore virtio
 * entry is given (guest by name and/or domid, device by virtio type and
 * rank in board order). The xenstore and IOREQ side needs a real
 * Xen: test/system/test_xen.py.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* cmocka.h needs stdarg, stddef, setjmp and stdint above: not sorted. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "board_config.h"
#include "board_xen.h"

#define I2C(name, addr)                                                      \
	"{ type = \"i2c\"; name = \"" name "\"; bus = \"sim\"; chips = ( { " \
	"type = \"24c02\"; address = " addr "; } ); }"

/* guests[0]: vhost-user "a"; [1]: xen-mmio "guest1" with two i2c;
 * [2]: xen-mmio domid 7; [3]: "both" with domid 9. */
static const char board[] =
	"guests = ( { domain = \"a\"; transport = \"vhost-user\"; devices = ( "
	"{ type = \"i2c\"; socket = \"/tmp/a.sock\"; bus = \"sim\"; chips = ( "
	"{ type = \"24c02\"; address = 0x50; } ); } ); },\n"
	"{ domain = \"guest1\"; transport = \"xen-mmio\"; devices = ( " I2C(
		"i2c0",
		"0x50") ", " I2C("i2c1",
				 "0x51") " ); },\n"
					 "{ domid = 7; transport = "
					 "\"xen-mmio\"; devices = ( " I2C(
						 "i2c0",
						 "0x52") " ); },\n"
							 "{ domain = "
							 "\"both\"; "
							 "domid = 9; "
							 "transport = "
							 "\"xen-mmio\"; "
							 "devices = "
							 "( " I2C(
								 "i2c"
								 "0",
								 "0x53") " ); "
									 "} );";

static struct board_config *cfg;

static int setup(void **state)
{
	struct board_config_opts opts = {.check_host = false};
	char err[256];

	(void)state;
	return board_config_load_string(&cfg, board, "test.conf", &opts, err,
					sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	board_config_free(cfg);
	return 0;
}

static struct xen_virtio_entry entry(const char *name, uint16_t domid,
				     uint32_t device_id)
{
	struct xen_virtio_entry e = {.domid = domid, .device_id = device_id};

	snprintf(e.domain, sizeof(e.domain), "%s", name);
	return e;
}

/*
 * The n-th xl.cfg entry of a type gets the n-th board device of that type,
 * whichever of them xenstore shows first (libxl may write them in any
 * order).
 */
static void test_by_name_in_board_order(void **state)
{
	struct xen_virtio_entry e = entry("guest1", 5, 34);
	unsigned g = 99, d = 99;

	(void)state;
	e.rank = 1;
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), 0);
	assert_int_equal(g, 1);
	assert_int_equal(d, 1);
	e.rank = 0;
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), 0);
	assert_int_equal(d, 0);
	/* A third i2c entry: the board gives guest1 only two. */
	e.rank = 2;
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), -ENODEV);
	/* A new domid with the same name (reboot) matches the same guest. */
	e.rank = 0;
	e.domid = 12;
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), 0);
	assert_int_equal(g, 1);
	assert_int_equal(d, 0);
}

static void test_type_must_match(void **state)
{
	struct xen_virtio_entry e = entry("guest1", 5, 41); /* gpio */
	unsigned g, d;

	(void)state;
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), -ENODEV);
}

static void test_unknown_domain(void **state)
{
	struct xen_virtio_entry e = entry("other", 5, 34);
	unsigned g, d;

	(void)state;
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), -ENOENT);
	/* A vhost-user guest of the same name is not a Xen guest. */
	e = entry("a", 5, 34);
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), -ENOENT);
}

static void test_by_domid(void **state)
{
	struct xen_virtio_entry e = entry("whatever", 7, 34);
	unsigned g, d;

	(void)state;
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), 0);
	assert_int_equal(g, 2);
	assert_int_equal(d, 0);
	e.domid = 8;
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), -ENOENT);
}

static void test_name_and_domid_both_needed(void **state)
{
	struct xen_virtio_entry e = entry("both", 9, 34);
	unsigned g, d;

	(void)state;
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), 0);
	assert_int_equal(g, 3);
	e.domid = 10;
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), -ENOENT);
	e = entry("notboth", 9, 34);
	assert_int_equal(board_xen_match(cfg, &e, &g, &d), -ENOENT);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_by_name_in_board_order),
		T(test_type_must_match),
		T(test_unknown_domain),
		T(test_by_domid),
		T(test_name_and_domid_both_needed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
