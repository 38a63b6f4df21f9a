// SPDX-License-Identifier: MIT
/*
 * Unit tests for core/log.c: $JOURNAL_STREAM matches only the stream it
 * names, journal mode prefixes each line with its syslog priority, and rate
 * limits are per instance and report what they suppressed when the window
 * ends, without waiting for another line.
 */
#include <pthread.h>
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

/* Lines the hook saw. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen[64][160];
static unsigned nseen;

static void hook(enum log_level level, const char *line)
{
	(void)level;
	pthread_mutex_lock(&seen_lock);
	if (nseen < 64)
		snprintf(seen[nseen++], sizeof(seen[0]), "%s", line);
	pthread_mutex_unlock(&seen_lock);
}

static unsigned count_seen(const char *needle)
{
	unsigned n = 0;

	pthread_mutex_lock(&seen_lock);
	for (unsigned i = 0; i < nseen; i++)
		n += strstr(seen[i], needle) != NULL;
	pthread_mutex_unlock(&seen_lock);
	return n;
}

static int hook_setup(void **state)
{
	(void)state;
	nseen = 0;
	log_set_hook(hook);
	return 0;
}

static int hook_teardown(void **state)
{
	(void)state;
	log_set_hook(NULL);
	log_set_ratelimit_interval(0);
	return 0;
}

/* One guest flooding its device's limit leaves another device's alone. */
static void test_ratelimit_is_per_instance(void **state)
{
	struct log_ratelimit a = {0}, b = {0};

	(void)state;
	log_ratelimit_init(&a, "noisy/i2c0");
	log_ratelimit_init(&b, "quiet/i2c0");
	for (int i = 0; i < 1000; i++)
		log_msg_ratelimited(&a, LOG_LEVEL_WARN, "noisy line %d", i);
	log_msg_ratelimited(&b, LOG_LEVEL_WARN, "quiet line");
	assert_int_equal(count_seen("noisy line"), LOG_RATELIMIT_BURST);
	assert_int_equal(count_seen("quiet line"), 1);
	/* fini reports what is pending, naming the instance. */
	log_ratelimit_fini(&a);
	assert_int_equal(count_seen("noisy/i2c0: 990 similar lines suppressed"),
			 1);
	log_ratelimit_fini(&b);
	assert_int_equal(count_seen("suppressed"), 1);
}

/* A flood that stops is reported when its window ends. */
static void test_suppressed_count_at_window_end(void **state)
{
	struct log_ratelimit *rl = calloc(1, sizeof(*rl));

	(void)state;
	assert_non_null(rl);
	log_set_ratelimit_interval(200);
	log_ratelimit_init(rl, "g/dev");
	for (int i = 0; i < LOG_RATELIMIT_BURST + 5; i++)
		log_msg_ratelimited(rl, LOG_LEVEL_WARN, "flood %d", i);
	assert_int_equal(count_seen("suppressed"), 0);
	for (int i = 0; i < 100 && !count_seen("suppressed"); i++)
		usleep(10000);
	assert_int_equal(count_seen("g/dev: 5 similar lines suppressed"), 1);
	/* A new window prints again. */
	log_msg_ratelimited(rl, LOG_LEVEL_WARN, "after the window");
	assert_int_equal(count_seen("after the window"), 1);
	/* The window's other lines, then one too many: freed while
	 * registered, fini takes it out and reports it (ASan checks). */
	for (int i = 0; i < LOG_RATELIMIT_BURST; i++)
		log_msg_ratelimited(rl, LOG_LEVEL_WARN, "again %d", i);
	log_ratelimit_fini(rl);
	free(rl);
	usleep(300000);
	assert_int_equal(count_seen("g/dev: 1 similar lines suppressed"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_stream_match),
		cmocka_unit_test(test_journal_prefixes),
		cmocka_unit_test_setup_teardown(test_ratelimit_is_per_instance,
						hook_setup, hook_teardown),
		cmocka_unit_test_setup_teardown(
			test_suppressed_count_at_window_end, hook_setup,
			hook_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
