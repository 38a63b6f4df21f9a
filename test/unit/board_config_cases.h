/* SPDX-License-Identifier: MIT */
/*
 * Shared by the board-file loader tests (test_board_config*.c): a board
 * file in a temporary directory, loading it with host checks on, and
 * table-driven error cases whose expected message names the file as "@".
 * Include after cmocka.h; the including test names its directory with
 * BOARD_CASES_DIR before including ("/tmp/vb-test-gpio-XXXXXX").
 */
#ifndef VIRTIOBOX_TEST_BOARD_CONFIG_CASES_H
#define VIRTIOBOX_TEST_BOARD_CONFIG_CASES_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "board_config.h"

struct err_case {
	const char *name;
	const char *text;
	const char *expect; /* "@" = the file's path */
};

static char dir[64];
static char file[96];

static inline int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s", BOARD_CASES_DIR);
	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof(file), "%s/board.conf", dir);
	return 0;
}

static inline int group_teardown(void **state)
{
	(void)state;
	unlink(file);
	rmdir(dir);
	return 0;
}

static inline void write_file(const char *text)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static inline int load(const char *text, struct board_config **b, char *err,
		       size_t errlen)
{
	struct board_config_opts opts = {.runtime_dir = "/run/vb",
					 .check_host = true};

	write_file(text);
	return board_config_load(b, file, &opts, err, errlen);
}

/* pattern with every "@" replaced by the board file's path. */
static inline void expand(const char *pattern, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = pattern; *p && n + 1 < len; p++) {
		if (*p == '@')
			n += (size_t)snprintf(out + n, len - n, "%s", file);
		else
			out[n++] = *p;
	}
	out[n < len ? n : len - 1] = '\0';
}

/* One err_case (the cmocka state): loading fails with exactly its text. */
static inline void test_error_case(void **state)
{
	const struct err_case *c = *state;
	struct board_config *b = NULL;
	char err[512], want[512];

	expand(c->expect, want, sizeof(want));
	assert_int_equal(load(c->text, &b, err, sizeof(err)), -EINVAL);
	assert_null(b);
	assert_string_equal(err, want);
}

#endif
