// SPDX-License-Identifier: MIT
#include "log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

static atomic_int max_level = LOG_LEVEL_INFO;
static _Atomic(log_hook_fn *) hook;
static atomic_bool journal;

/* syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int level_priorities[] = {
	[LOG_LEVEL_ERR] = 3,
	[LOG_LEVEL_WARN] = 4,
	[LOG_LEVEL_INFO] = 6,
	[LOG_LEVEL_DEBUG] = 7,
};

static const char *const level_names[] = {
	[LOG_LEVEL_ERR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_set_level(enum log_level max)
{
	atomic_store(&max_level, (int)max);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&max_level);
}

void log_set_hook(log_hook_fn *h)
{
	atomic_store(&hook, h);
}

void log_set_journal(bool on)
{
	atomic_store(&journal, on);
}

bool log_is_journal_stream(int fd, const char *journal_stream)
{
	uintmax_t dev, ino;
	struct stat st;
	char end;

	if (!journal_stream ||
	    sscanf(journal_stream, "%ju:%ju%c", &dev, &ino, &end) != 2)
		return false;
	return fstat(fd, &st) == 0 && (uintmax_t)st.st_dev == dev &&
	       (uintmax_t)st.st_ino == ino;
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[512];
	log_hook_fn *h;

	if ((int)level > atomic_load(&max_level))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	h = atomic_load(&hook);
	if (h) {
		h(level, line);
		return;
	}
	/* One fprintf per line: stdio locks the stream, lines do not mix. */
	if (atomic_load(&journal))
		/* The journal reads the priority and names the program. */
		fprintf(stderr, "<%d>%s: %s\n", level_priorities[level],
			level_names[level], line);
	else
		fprintf(stderr, "virtiobox: %s: %s\n", level_names[level],
			line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* +1: 0 marks a call site that never logged. */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

/*
 * Open a new window when the old one expired. Two threads racing here both
 * see an expired window; the compare-exchange lets exactly one of them
 * reset the counters and report what was suppressed.
 */
static void window_roll(struct log_ratelimit *rl, enum log_level level)
{
	uint64_t now = now_ms();
	uint64_t start = atomic_load(&rl->window_start_ms);
	unsigned suppressed;

	if (start && now - start < LOG_RATELIMIT_INTERVAL_MS)
		return;
	if (!atomic_compare_exchange_strong(&rl->window_start_ms, &start, now))
		return;
	suppressed = atomic_exchange(&rl->suppressed, 0);
	atomic_store(&rl->printed, 0);
	if (suppressed)
		log_msg(level, "(%u similar lines suppressed)", suppressed);
}

void log_msg_ratelimited(struct log_ratelimit *rl, enum log_level level,
			 const char *fmt, ...)
{
	va_list ap;

	if ((int)level > atomic_load(&max_level))
		return;
	window_roll(rl, level);
	if (atomic_fetch_add(&rl->printed, 1) >= LOG_RATELIMIT_BURST) {
		atomic_fetch_add(&rl->suppressed, 1);
		return;
	}
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
