/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per call on stderr (or a hook), prefixed with the level.
 *
 * Anything a guest or a front-end can trigger at will (a malformed request,
 * a corrupt ring, a bad vhost-user message, a reconnect) is logged through a
 * rate limit of that device (log_msg_ratelimited with the device's struct
 * log_ratelimit), so a hostile peer can neither flood the log nor silence
 * another guest's lines: each limit prints at most LOG_RATELIMIT_BURST lines
 * per LOG_RATELIMIT_INTERVAL_MS and then says how many it suppressed.
 * log_ratelimited() is the per-call-site form, for lines no guest causes.
 *
 * Threading: every function may be called from any thread. The level and
 * the hook are process-wide settings meant to be set once at start-up (or
 * by a test) before threads run.
 */
#ifndef VIRTIOBOX_CORE_LOG_H
#define VIRTIOBOX_CORE_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

#define LOG_RATELIMIT_BURST	  10
#define LOG_RATELIMIT_INTERVAL_MS 5000

/* Lines above this level are dropped. Default LOG_LEVEL_INFO. */
void log_set_level(enum log_level max);
enum log_level log_get_level(void);

/*
 * Send lines to hook instead of stderr (NULL restores stderr). line has no
 * trailing newline and is valid only during the call. For tests.
 */
typedef void log_hook_fn(enum log_level level, const char *line);
void log_set_hook(log_hook_fn *hook);

/*
 * Whether fd is the journal's stream: systemd sets $JOURNAL_STREAM to
 * "DEV:INO" of the socket it connects a service's stderr to, and the
 * variable is inherited, so only a match with fd itself counts.
 */
bool log_is_journal_stream(int fd, const char *journal_stream);

/*
 * Journal format: lines start with their syslog priority, "<3>error: ...",
 * which the journal turns into the entry's priority (and strips), instead
 * of "virtiobox: error: ...". Off by default.
 */
void log_set_journal(bool on);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/*
 * State of one rate limit: per call site (log_ratelimited's static one) or
 * per device (embedded in the device, so one guest's noise never silences
 * another's lines). Zero-initialised; an embedded one takes a label with
 * log_ratelimit_init and must be finished with log_ratelimit_fini before
 * its memory goes.
 *
 * Suppressed lines are counted, and the count is printed when the window
 * ends ("guest/dev: 312 similar lines suppressed"), by a flusher thread of
 * this module, not only when the next line comes: a flood that stops is
 * still reported.
 */
struct log_ratelimit {
	_Atomic uint64_t window_start_ms;
	atomic_uint printed;
	atomic_uint suppressed;
	atomic_int level;	/* of the lines being suppressed */
	atomic_bool registered; /* in the flusher's list */
	char label[64];		/* "" or "guest/dev", prefixes the count */
};

/* The rate-limit window, LOG_RATELIMIT_INTERVAL_MS by default (0). For tests.
 */
void log_set_ratelimit_interval(unsigned ms);

/* Label an embedded rate limit (the count line names it). Not thread-safe
 * against users of rl: call before it is shared. */
void log_ratelimit_init(struct log_ratelimit *rl, const char *label);

/*
 * Print what rl suppressed so far and take it out of the flusher's list;
 * rl may then be freed (or reused after log_ratelimit_init). Any thread.
 */
void log_ratelimit_fini(struct log_ratelimit *rl);

void log_msg_ratelimited(struct log_ratelimit *rl, enum log_level level,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* log_msg() limited per call site (a static struct log_ratelimit each). */
#define log_ratelimited(level, ...)                                  \
	do {                                                         \
		static struct log_ratelimit log_rl_;                 \
		log_msg_ratelimited(&log_rl_, (level), __VA_ARGS__); \
	} while (0)

#endif
