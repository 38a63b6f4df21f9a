// SPDX-License-Identifier: MIT
/*
 * SIGBUS recovery points: see guard.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

#include "guard.h"

/* Initial-exec TLS in our own executable: safe to read in a handler. */
static _Thread_local struct guard *top;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	struct guard *g = top;
	struct sigaction dfl = {.sa_handler = SIG_DFL};

	(void)uc;
	if (!g) {
		/* Not guest memory: the default action, when the faulting
		 * instruction runs again on return. */
		sigaction(sig, &dfl, NULL);
		return;
	}
	top = g->prev;
	g->addr = si->si_addr;
	siglongjmp(g->jb, 1);
}

int guard_init(void)
{
	struct sigaction sa =
				 {
					 .sa_sigaction = on_sigbus,
					 .sa_flags = SA_SIGINFO | SA_NODEFER,
				 },
			 old;

	/* Installed again when someone replaced it (a test framework's own
	 * handler): concurrent callers install the same thing. */
	if (sigaction(SIGBUS, NULL, &old) == 0 && (old.sa_flags & SA_SIGINFO) &&
	    old.sa_sigaction == on_sigbus)
		return 0;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) < 0 ? -errno : 0;
}

void guard_push(struct guard *g)
{
	g->prev = top;
	g->addr = NULL;
	top = g;
	/* The handler runs on this thread: a signal fence keeps the store to
	 * top before the guarded accesses, as the handler must see it. */
	atomic_signal_fence(memory_order_seq_cst);
}

void guard_pop(struct guard *g)
{
	/* Pairs with the fence in guard_push: guarded accesses come first. */
	atomic_signal_fence(memory_order_seq_cst);
	top = g->prev;
}
