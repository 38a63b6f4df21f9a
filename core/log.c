// SPDX-License-Identifier: MIT
#include "log.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

static atomic_int max_level = LOG_LEVEL_INFO;
static _Atomic(log_hook_fn *) hook;
static atomic_bool journal;
static _Atomic uint64_t interval_ms = LOG_RATELIMIT_INTERVAL_MS;

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

/* ---- rate limits and their flusher ---------------------------------- */

/*
 * Limits that suppressed lines in their current window. The flusher thread
 * prints their counts when the windows end; log_ratelimit_fini takes one
 * out under the same lock, so the flusher never touches freed memory.
 */
#define PENDING_MAX 256
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pending_cond;
static struct log_ratelimit *pending[PENDING_MAX];
static unsigned npending;
static pthread_once_t flusher_once = PTHREAD_ONCE_INIT;
static bool flusher_ok;

static void print_suppressed(struct log_ratelimit *rl, unsigned n)
{
	if (!n)
		return;
	if (rl->label[0])
		log_msg(atomic_load(&rl->level),
			"%s: %u similar lines suppressed", rl->label, n);
	else
		log_msg(atomic_load(&rl->level),
			"(%u similar lines suppressed)", n);
}

/*
 * Open a new window when the old one expired (or force). Two threads
 * racing here both see an expired window; the compare-exchange lets exactly
 * one of them reset the counters and report what was suppressed.
 */
static void window_roll(struct log_ratelimit *rl, bool force)
{
	uint64_t now = now_ms();
	uint64_t start = atomic_load(&rl->window_start_ms);

	if (!force && start && now - start < atomic_load(&interval_ms))
		return;
	if (!atomic_compare_exchange_strong(&rl->window_start_ms, &start, now))
		return;
	atomic_store(&rl->printed, 0);
	print_suppressed(rl, atomic_exchange(&rl->suppressed, 0));
}

/* Drop pending[i] (pending_lock held). */
static void pending_drop(unsigned i)
{
	atomic_store(&pending[i]->registered, false);
	pending[i] = pending[--npending];
}

static void *flusher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pending_lock);
	for (;;) {
		uint64_t now = now_ms(), next = 0;
		struct timespec ts;

		for (unsigned i = 0; i < npending;) {
			struct log_ratelimit *rl = pending[i];
			uint64_t end = atomic_load(&rl->window_start_ms) +
				       atomic_load(&interval_ms);

			if (end <= now || !atomic_load(&rl->suppressed)) {
				window_roll(rl, false);
				pending_drop(i);
				continue;
			}
			if (!next || end < next)
				next = end;
			i++;
		}
		if (!next) {
			pthread_cond_wait(&pending_cond, &pending_lock);
			continue;
		}
		/* now_ms counts CLOCK_MONOTONIC from 1; so does the cond. */
		ts.tv_sec = (time_t)((next - 1) / 1000);
		ts.tv_nsec = (long)((next - 1) % 1000) * 1000000;
		pthread_cond_timedwait(&pending_cond, &pending_lock, &ts);
	}
	return NULL;
}

static void flusher_start(void)
{
	pthread_condattr_t ca;
	pthread_attr_t a;
	pthread_t t;
	sigset_t all, old;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pending_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	/* Signals stay with the threads that handle them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	flusher_ok = pthread_create(&t, &a, flusher, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
}

/* rl started suppressing: have its count printed when the window ends. */
static void pending_add(struct log_ratelimit *rl)
{
	pthread_once(&flusher_once, flusher_start);
	if (!flusher_ok || atomic_exchange(&rl->registered, true))
		return;
	pthread_mutex_lock(&pending_lock);
	if (npending < PENDING_MAX) {
		pending[npending++] = rl;
		pthread_cond_signal(&pending_cond);
	} else {
		/* Printed when the next line comes, as without the flusher. */
		atomic_store(&rl->registered, false);
	}
	pthread_mutex_unlock(&pending_lock);
}

void log_set_ratelimit_interval(unsigned ms)
{
	atomic_store(&interval_ms, ms ? ms : LOG_RATELIMIT_INTERVAL_MS);
	pthread_mutex_lock(&pending_lock);
	if (flusher_ok)
		pthread_cond_signal(&pending_cond);
	pthread_mutex_unlock(&pending_lock);
}

void log_ratelimit_init(struct log_ratelimit *rl, const char *label)
{
	snprintf(rl->label, sizeof(rl->label), "%s", label ? label : "");
}

void log_ratelimit_fini(struct log_ratelimit *rl)
{
	if (atomic_load(&rl->registered)) {
		pthread_mutex_lock(&pending_lock);
		for (unsigned i = 0; i < npending; i++)
			if (pending[i] == rl) {
				pending_drop(i);
				break;
			}
		pthread_mutex_unlock(&pending_lock);
	}
	print_suppressed(rl, atomic_exchange(&rl->suppressed, 0));
}

void log_msg_ratelimited(struct log_ratelimit *rl, enum log_level level,
			 const char *fmt, ...)
{
	va_list ap;

	if ((int)level > atomic_load(&max_level))
		return;
	window_roll(rl, false);
	if (atomic_fetch_add(&rl->printed, 1) >= LOG_RATELIMIT_BURST) {
		atomic_store(&rl->level, (int)level);
		if (atomic_fetch_add(&rl->suppressed, 1) == 0)
			pending_add(rl);
		return;
	}
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
