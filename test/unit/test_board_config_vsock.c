// SPDX-License-Identifier: MIT
/*
 * Unit tests for config/board_config_vsock.c: every vsock key's error path
 * names file, line and key (the message text is asserted), the rules that
 * span devices, and the values of valid vsock devices. "@" in an expected
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

#define BOARD_CASES_DIR "/tmp/vb-test-vsock-XXXXXX"
#include "board_config_cases.h"

/* A vhost-user guest "g" around one vsock device (the device on line 3). */
#define VHU(dev)                                                     \
	"guests = ( { domain = \"g\"; transport = \"vhost-user\";\n" \
	"devices = (\n{ type = \"vsock\"; socket = \"s\"; " dev " } ); } );\n"
#define OK(dev) VHU("cid = 3; uds = \"v.sock\"; " dev)
#define DEV3	"@:3: guests[0].devices[0]"
#define TEN	"0123456789"
/* Two guests; the second's device is on line 6. */
#define TWO(a, b)                                                           \
	"guests = ( { domain = \"g\"; transport = \"vhost-user\";\n"        \
	"devices = (\n{ type = \"vsock\"; socket = \"s1\"; " a " } ); },\n" \
	"{ domain = \"h\"; transport = \"vhost-user\";\n"                   \
	"devices = (\n{ type = \"vsock\"; socket = \"s2\"; " b " } ); } );\n"

static const struct err_case cases[] = {
	{"unknown_key", OK("port = 1;"),
	 DEV3 ".port: unknown key (known here: type, name, socket, packed, "
	      "cid, uds, uds_seqpacket, group, max_connections, buf_size)"},
	{"cid_missing", VHU("uds = \"v\";"),
	 DEV3 ".cid: required key is missing"},
	{"cid_reserved", VHU("cid = 2; uds = \"v\";"),
	 DEV3 ".cid: 2 is out of range 3..4294967294"},
	/* libconfig keeps the low 32 bits of a literal without L. */
	{"cid_no_L_suffix", VHU("cid = 4294967294; uds = \"v\";"),
	 DEV3 ".cid: -2 is out of range 3..4294967294"},
	{"cid_not_int", VHU("cid = \"3\"; uds = \"v\";"),
	 DEV3 ".cid: must be an integer"},
	{"uds_missing", VHU("cid = 3;"), DEV3 ".uds: required key is missing"},
	{"uds_empty", VHU("cid = 3; uds = \"\";"),
	 DEV3 ".uds: must not be empty"},
	{"uds_too_long",
	 VHU("cid = 3; uds = \"/" TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN
	     "\";"),
	 DEV3 ".uds: /" TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN
	      " is longer than "
	      "96 bytes (a unix socket path, with room for \"_<port>\")"},
	{"uds_seqpacket_empty", OK("uds_seqpacket = \"\";"),
	 DEV3 ".uds_seqpacket: must not be empty"},
	{"uds_seqpacket_is_uds", OK("uds_seqpacket = \"v.sock\";"),
	 DEV3 ".uds_seqpacket: /run/vb/v.sock is the device's uds too"},
	{"uds_seqpacket_too_long",
	 OK("uds_seqpacket = \"/" TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN
	    "1234567\";"),
	 DEV3 ".uds_seqpacket: /" TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN
	      "1234567 is longer than 107 bytes (a unix socket path)"},
	{"group_bad", OK("group = \"a b\";"),
	 DEV3 ".group: \"a b\" is not a name (letters, digits, '_', '-', '.'; "
	      "1 to 63 characters)"},
	{"max_connections_zero", OK("max_connections = 0;"),
	 DEV3 ".max_connections: 0 is out of range 1..4096"},
	{"buf_size_small", OK("buf_size = 100;"),
	 DEV3 ".buf_size: 100 is out of range 4096..67108864"},
	{"two_in_a_guest",
	 "guests = ( { domain = \"g\"; transport = \"vhost-user\";\n"
	 "devices = (\n{ type = \"vsock\"; socket = \"s1\"; cid = 3; uds = "
	 "\"a\"; },\n{ type = \"vsock\"; socket = \"s2\"; cid = 4; uds = "
	 "\"b\"; } ); } );\n",
	 "@:4: guests[0].devices[1].type: a guest has one vsock device; "
	 "guests[0].devices[0] is one already"},
	{"cid_twice", TWO("cid = 3; uds = \"a\";", "cid = 3; uds = \"b\";"),
	 "@:6: guests[1].devices[0].cid: CID 3 is already the CID of "
	 "guests[0].devices[0] (@:3)"},
	{"uds_twice", TWO("cid = 3; uds = \"a\";", "cid = 4; uds = \"a\";"),
	 "@:6: guests[1].devices[0].uds: /run/vb/a is already the uds of "
	 "guests[0].devices[0]"},
	{"uds_is_a_socket",
	 TWO("cid = 3; uds = \"s2\";", "cid = 4; uds = \"b\";"),
	 "@:3: guests[0].devices[0].uds: /run/vb/s2 is also the socket of "
	 "guests[1].devices[0]"},
	/* The SEQPACKET listener, given or derived, against other paths. */
	{"uds_seqpacket_is_a_socket",
	 TWO("cid = 3; uds = \"a\"; uds_seqpacket = \"s2\";",
	     "cid = 4; uds = \"b\";"),
	 "@:3: guests[0].devices[0].uds_seqpacket: the SEQPACKET listener "
	 "/run/vb/s2 is also a socket of guests[1].devices[0]"},
	{"uds_seqpacket_default_is_a_uds",
	 TWO("cid = 3; uds = \"a\";", "cid = 4; uds = \"a.seqpacket\";"),
	 "@:3: guests[0].devices[0].uds: the SEQPACKET listener "
	 "/run/vb/a.seqpacket is also a socket of guests[1].devices[0]"},
	{"uds_seqpacket_twice",
	 TWO("cid = 3; uds = \"a\"; uds_seqpacket = \"q\";",
	     "cid = 4; uds = \"b\"; uds_seqpacket = \"q\";"),
	 "@:3: guests[0].devices[0].uds_seqpacket: the SEQPACKET listener "
	 "/run/vb/q is also a socket of guests[1].devices[0]"},
};

static void test_values(void **state)
{
	struct board_config *b = NULL;
	const struct board_vsock *v;
	char err[512];

	(void)state;
	assert_int_equal(load(TWO("cid = 3; uds = \"a\"; group = \"lab\";",
				  "cid = 4294967294L; uds = \"/tmp/b\"; "
				  "uds_seqpacket = \"b.seq\"; "
				  "max_connections = 8; buf_size = 4096;"),
			      &b, err, sizeof(err)),
			 0);
	v = &b->guests[0].devices[0].vsock;
	assert_int_equal(v->cid, 3);
	assert_string_equal(v->uds, "/run/vb/a");
	assert_string_equal(v->uds_seq, "/run/vb/a.seqpacket");
	assert_false(v->uds_seq_given);
	assert_string_equal(v->group, "lab");
	assert_int_equal(v->max_conns, BOARD_VSOCK_CONNS_DEFAULT);
	assert_int_equal(v->buf_size, BOARD_VSOCK_BUF_DEFAULT);
	v = &b->guests[1].devices[0].vsock;
	assert_int_equal(v->cid, 4294967294ull);
	assert_string_equal(v->uds, "/tmp/b");
	assert_string_equal(v->uds_seq, "/run/vb/b.seq");
	assert_true(v->uds_seq_given);
	assert_null(v->group);
	assert_int_equal(v->max_conns, 8);
	assert_int_equal(v->buf_size, 4096);
	board_config_free(b);
}

int main(void)
{
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[NCASES + 1];
	unsigned n = 0;

	for (unsigned i = 0; i < NCASES; i++)
		tests[n++] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = test_error_case,
			.initial_state = (void *)&cases[i],
		};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_values);
	return _cmocka_run_group_tests("board_config_vsock", tests, n,
				       group_setup, group_teardown);
}
