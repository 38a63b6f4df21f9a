// SPDX-License-Identifier: MIT
/*
 * Unit tests for board/board.c and board/board_describe.c: building the
 * running board from a loaded description (sockets appear, failures undo
 * everything and name the board file's line), xen-mmio guests needing
 * xenstore, and the "check" description.
 */
#include <errno.h>
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

#include "board.h"
#include "board_config.h"
#include "log.h"
#include "loop.h"

#define SIM_DEV(sock)                                                \
	"{ type = \"i2c\"; socket = \"" sock "\"; bus = \"sim\"; "   \
	"addresses = [ 0x1c, 0x50 ]; chips = ( { type = \"24c02\"; " \
	"address = 0x50; init = [ 1, 2 ]; }, { type = \"regs\"; "    \
	"address = 0x1c; size = 16; } ); }"

static char dir[64];
static char last_err[256];

static void keep_errors(enum log_level level, const char *line)
{
	if (level == LOG_LEVEL_ERR)
		snprintf(last_err, sizeof(last_err), "%s", line);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vb-test-board-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	last_err[0] = '\0';
	log_set_hook(keep_errors);
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	log_set_hook(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static struct board_config *load(const char *text)
{
	struct board_config_opts opts = {.runtime_dir = dir,
					 .check_host = true};
	struct board_config *cfg = NULL;
	char err[256];

	assert_int_equal(board_config_load_string(&cfg, text, "test.conf",
						  &opts, err, sizeof(err)),
			 0);
	return cfg;
}

static bool exists(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void test_serves_every_device(void **state)
{
	struct board_config *cfg =
		load("guests = ( { domain = \"a\"; transport = \"vhost-user\"; "
		     "devices = ( " SIM_DEV("a0.sock") ", " SIM_DEV(
			     "a1.sock") " ); },"
					"{ domain = \"b\"; transport = "
					"\"vhost-user\"; devices = ( " SIM_DEV(
						"b0.sock") " ); } );");
	struct loop *ctl;
	struct board *b;

	(void)state;
	assert_int_equal(loop_create(&ctl), 0);
	assert_int_equal(board_create(&b, cfg, ctl), 0);
	assert_int_equal(board_device_count(b), 3);
	assert_true(exists("a0.sock") && exists("a1.sock") &&
		    exists("b0.sock"));
	board_destroy(b);
	/* The servers are gone, and so are their sockets. */
	assert_false(exists("a0.sock") || exists("b0.sock"));
	loop_destroy(ctl);
	board_config_free(cfg);
}

/* No xenstore on the test host: a board with a xen-mmio guest cannot
 * start, says why, and leaves nothing behind. */
static void test_xen_mmio_needs_xenstore(void **state)
{
	struct board_config *cfg =
		load("guests = ( { domain = \"a\"; transport = \"vhost-user\"; "
		     "devices = ( " SIM_DEV(
			     "a0.sock") " ); },\n"
					"{ domid = 4; transport = "
					"\"xen-mmio\"; devices = ( { type = "
					"\"i2c\"; bus = \"sim\"; chips = ( { "
					"type = \"24c02\"; "
					"address = 0x50; } ); } ); } );");
	struct loop *ctl;
	struct board *b = NULL;

	(void)state;
	if (access("/dev/xen/xenbus", F_OK) == 0 ||
	    access("/run/xenstored/socket", F_OK) == 0)
		skip(); /* a real Xen domain: covered by the system tests */
	assert_int_equal(loop_create(&ctl), 0);
	assert_true(board_create(&b, cfg, ctl) < 0);
	assert_null(b);
	assert_false(exists("a0.sock"));
	assert_non_null(strstr(last_err, "cannot connect to xenstore: "));
	assert_non_null(strstr(last_err, "is xenstored running"));
	loop_destroy(ctl);
	board_config_free(cfg);
}

static void test_host_bus_failure_undoes_all(void **state)
{
	/* /dev/null passes the loader's check (a character device) but is
	 * no i2c adapter: opening it fails at build time. */
	struct board_config *cfg = load(
		"guests = ( { domain = \"a\"; transport = \"vhost-user\"; "
		"devices = ( " SIM_DEV("a0.sock") ",\n{ type = \"i2c\"; "
						  "socket = \"a1.sock\"; bus = "
						  "\"/dev/null\"; addresses = "
						  "[ 0x50 ]; } ); } );");
	struct loop *ctl;
	struct board *b = NULL;
	int ret;

	(void)state;
	assert_int_equal(loop_create(&ctl), 0);
	ret = board_create(&b, cfg, ctl);
	/* ENOSYS under qemu-user, which does not pass I2C_FUNCS on. */
	if (ret != -ENOSYS)
		assert_int_equal(ret, -ENOTTY);
	assert_null(b);
	assert_false(exists("a0.sock"));
	assert_non_null(strstr(last_err, "test.conf:2: guests[0].devices[1]"
					 ".bus: cannot use /dev/null: "));
	loop_destroy(ctl);
	board_config_free(cfg);
}

#define GPIO_SIM_DEV                                                           \
	"{ type = \"gpio\"; socket = \"g0.sock\"; chip = \"sim\"; lines = 2; " \
	"names = [ \"BTN\", \"\" ]; directions = [ \"in\", \"out\" ]; "        \
	"values = [ 0, 1 ]; control = \"g0.ctl\"; }"

static void test_gpio_sim_with_control_socket(void **state)
{
	struct board_config *cfg = load(
		"guests = ( { domain = \"a\"; transport = \"vhost-user\"; "
		"devices = ( " GPIO_SIM_DEV ", " SIM_DEV("a1.sock") " ); } );");
	struct loop *ctl;
	struct board *b;

	(void)state;
	assert_int_equal(loop_create(&ctl), 0);
	assert_int_equal(board_create(&b, cfg, ctl), 0);
	assert_int_equal(board_device_count(b), 2);
	assert_true(exists("g0.sock") && exists("g0.ctl") && exists("a1.sock"));
	board_destroy(b);
	assert_false(exists("g0.sock") || exists("g0.ctl"));
	loop_destroy(ctl);
	board_config_free(cfg);
}

static void test_gpio_host_chip_failure_undoes_all(void **state)
{
	/* /dev/null passes the loader's check but is no GPIO chip. */
	struct board_config *cfg = load(
		"guests = ( { domain = \"a\"; transport = \"vhost-user\"; "
		"devices = ( " GPIO_SIM_DEV ",\n{ type = \"gpio\"; socket = "
		"\"g1.sock\"; chip = \"/dev/null\"; lines = [ 0 ]; } ); } );");
	struct loop *ctl;
	struct board *b = NULL;

	(void)state;
	assert_int_equal(loop_create(&ctl), 0);
	assert_true(board_create(&b, cfg, ctl) < 0);
	assert_null(b);
	assert_false(exists("g0.sock") || exists("g0.ctl"));
	assert_non_null(strstr(last_err, "test.conf:2: guests[0].devices[1]"
					 ".lines: /dev/null: cannot open the "
					 "chip: "));
	loop_destroy(ctl);
	board_config_free(cfg);
}

static void test_describe_gpio(void **state)
{
	struct board_config *cfg = load(
		"guests = ( { domain = \"a\"; transport = \"vhost-user\"; "
		"devices = ( " GPIO_SIM_DEV ", { type = \"gpio\"; socket = "
		"\"g1.sock\"; packed = false; chip = \"/dev/null\"; lines = "
		"[ 4 ]; names = [ \"LED\" ]; irq = false; } ); } );");
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	char want[1024];

	(void)state;
	assert_int_equal(board_describe(cfg, out), 2);
	fclose(out);
	snprintf(want, sizeof(want),
		 "board \"\" (test.conf)\n"
		 "  guest \"a\", transport vhost-user\n"
		 "    gpio0: virtio-gpio (device id 41), vhost-user socket "
		 "%s/g0.sock, packed and split rings offered\n"
		 "      chip: 2 simulated lines, interrupts offered\n"
		 "      control socket: %s/g0.ctl\n"
		 "      line 0: input, 0, \"BTN\"\n"
		 "      line 1: output, 1\n"
		 "    gpio1: virtio-gpio (device id 41), vhost-user socket "
		 "%s/g1.sock, split ring only\n"
		 "      chip: host chip /dev/null, 1 lines, interrupts off\n"
		 "      line 0: host line 4, \"LED\"\n"
		 "valid: 1 guest(s), 2 device(s) would be served\n",
		 dir, dir, dir);
	assert_string_equal(text, want);
	free(text);
	board_config_free(cfg);
}

#define VSOCK_DEV(g, cid, group)                                         \
	"{ type = \"vsock\"; socket = \"" g "-v.sock\"; cid = " cid "; " \
	"uds = \"" g ".vsock\"; " group " }"

static void test_vsock_board(void **state)
{
	struct board_config *cfg = load(
		"guests = ( { domain = \"a\"; transport = \"vhost-user\"; "
		"devices = ( " VSOCK_DEV(
			"a", "3",
			"group = \"lab\";") " ); },"
					    "{ domain = \"b\"; transport = "
					    "\"vhost-user\"; devices = "
					    "( " VSOCK_DEV(
						    "b", "4",
						    "group = \"lab\";") " ); },"
									"{ "
									"domain"
									" = "
									"\"c\";"
									" trans"
									"port "
									"= "
									"\"vhos"
									"t-"
									"user\""
									"; "
									"device"
									"s = "
									"("
									" " VSOCK_DEV(
										"c",
										"5",
										"") " ); } );");
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct loop *ctl;
	struct board *b;
	char want[1024];

	(void)state;
	assert_int_equal(loop_create(&ctl), 0);
	assert_int_equal(board_create(&b, cfg, ctl), 0);
	assert_int_equal(board_device_count(b), 3);
	/* Each guest's vhost-user socket and its vsock listener. */
	assert_true(exists("a-v.sock") && exists("a.vsock") &&
		    exists("b.vsock") && exists("c.vsock"));
	board_destroy(b);
	assert_false(exists("a.vsock") || exists("b-v.sock"));
	loop_destroy(ctl);
	assert_int_equal(board_describe(cfg, out), 3); /* devices */
	fclose(out);
	snprintf(want, sizeof(want),
		 "board \"\" (test.conf)\n"
		 "  guest \"a\", transport vhost-user\n"
		 "    vsock0: virtio-vsock (device id 19), vhost-user socket "
		 "%s/a-v.sock, packed and split rings offered\n"
		 "      guest CID 3, host listener %s/a.vsock\n"
		 "      guest connections to the host reach %s/a.vsock_<port>\n"
		 "      sibling group \"lab\"\n"
		 "      limits: 64 connections, 262144 buffer bytes each way\n",
		 dir, dir, dir);
	assert_memory_equal(text, want, strlen(want));
	assert_non_null(strstr(text, "no sibling group: the host only"));
	free(text);
	board_config_free(cfg);
}

static void test_describe(void **state)
{
	struct board_config *cfg =
		load("name = \"demo\";\nguests = ( { domain = \"a\"; transport "
		     "= \"vhost-user\"; devices = ( " SIM_DEV(
			     "a0.sock") " ); },"
					"{ domid = 4; transport = "
					"\"xen-mmio\"; devices = ( { type = "
					"\"i2c\"; packed = false; bus = "
					"\"/dev/null\"; shared = "
					"true; addresses = [ 0x48 ]; "
					"max_transfer = 64; } ); } );");
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	char want[2048];

	(void)state;
	assert_int_equal(board_describe(cfg, out), 2);
	fclose(out);
	snprintf(want, sizeof(want),
		 "board \"demo\" (test.conf)\n"
		 "  guest \"a\", transport vhost-user\n"
		 "    i2c0: virtio-i2c (device id 34), vhost-user socket "
		 "%s/a0.sock, packed and split rings offered\n"
		 "      bus: simulated chips\n"
		 "      max_transfer: 4096 bytes per transaction\n"
		 "      allow-list: 0x1c 0x50\n"
		 "      chip 0x50: 24c02 EEPROM, 256 bytes, 2 initial bytes\n"
		 "      chip 0x1c: register file, 16 registers\n"
		 "  guest domid 4, transport xen-mmio: virtiobox is its "
		 "virtio-mmio transport, served when xenstore shows the "
		 "domain's virtio devices (now or later, again after a "
		 "reboot)\n"
		 "    i2c0: virtio-i2c (device id 34), virtio-mmio through "
		 "IOREQ for the guest's next xl.cfg entry "
		 "\"type=virtio,device22, transport=mmio\", split ring "
		 "only\n"
		 "      bus: host adapter /dev/null (shared with other "
		 "devices)\n"
		 "      max_transfer: 64 bytes per transaction\n"
		 "      allow-list: 0x48\n"
		 "valid: 2 guest(s), 2 device(s) would be served; 1 xen-mmio "
		 "guest(s) need Xen with IOREQ servers and root in dom0 (or a "
		 "driver domain made their device model)\n",
		 dir);
	assert_string_equal(text, want);
	free(text);
	board_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_serves_every_device, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_xen_mmio_needs_xenstore,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_host_bus_failure_undoes_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_gpio_sim_with_control_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_gpio_host_chip_failure_undoes_all, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_describe_gpio, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vsock_board, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
