// SPDX-License-Identifier: MIT
/*
 * Unit tests for core/log.c's journal support: $JOURNAL_STREAM matches only
 * the stream it names, and journal mode prefixes each line with its syslog
 * priority.
 */
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

#include "log.h"

static void stream_of(int fd, char *buf, size_t len)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	snprintf(buf, len, "%ju:%ju", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino);
}

static void test_journal_stream_match(void **state)
{
	FILE *a = tmpfile(), *b = tmpfile();
	char sa[64], bad[80];

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	stream_of(fileno(a), sa, sizeof(sa));
	assert_true(log_is_journal_stream(fileno(a), sa));
	/* Inherited by a child whose stderr went elsewhere: no match. */
	assert_false(log_is_journal_stream(fileno(b), sa));
	assert_false(log_is_journal_stream(fileno(a), NULL));
	assert_false(log_is_journal_stream(fileno(a), ""));
	assert_false(log_is_journal_stream(fileno(a), "12"));
	snprintf(bad, sizeof(bad), "%sx", sa);
	assert_false(log_is_journal_stream(fileno(a), bad));
	assert_false(log_is_journal_stream(-1, sa));
	fclose(a);
	fclose(b);
}

/* What the log wrote to stderr while fn ran. */
static void capture_stderr(void (*fn)(void), char *buf, size_t len)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	assert_non_null(f);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void log_four(void)
{
	log_err("e %d", 1);
	log_warn("w");
	log_info("i");
	log_debug("d");
}

static void test_journal_prefixes(void **state)
{
	char out[512];

	(void)state;
	log_set_level(LOG_LEVEL_DEBUG);
	log_set_journal(true);
	capture_stderr(log_four, out, sizeof(out));
	assert_string_equal(out, "<3>error: e 1\n<4>warning: w\n<6>info: i\n"
				 "<7>debug: d\n");
	log_set_journal(false);
	capture_stderr(log_four, out, sizeof(out));
	assert_string_equal(out, "virtiobox: error: e 1\nvirtiobox: warning: "
				 "w\nvirtiobox: info: i\nvirtiobox: debug: "
				 "d\n");
	log_set_level(LOG_LEVEL_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_stream_match),
		cmocka_unit_test(test_journal_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
