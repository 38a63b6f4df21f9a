/* SPDX-License-Identifier: MIT */
/*
 * Recovery points for faults on guest memory.
 *
 * A front-end can shrink the file behind a mapped memory region (a tmpfs or
 * hugetlbfs file, a memfd created without MFD_ALLOW_SEALING: nothing can
 * forbid it) while we use it; the next access raises SIGBUS, whose default
 * action would take every device of every guest down. Code that touches
 * guest memory runs under a guard instead:
 *
 *	struct guard g;
 *
 *	guard_push(&g);
 *	if (sigsetjmp(g.jb, 0) == 0) {
 *		... touch guest memory ...
 *		guard_pop(&g);
 *	} else {
 *		... faulted at g.addr: the guard is already popped ...
 *	}
 *
 * A SIGBUS inside a guard jumps back to its sigsetjmp; one outside every
 * guard keeps its default action (a crash with a core dump: our own bug).
 * The jump abandons whatever the guarded code was doing, so guarded code
 * holds no locks and makes no allocations: the data path (lock-free,
 * allocation-free) and control steps that only read and write rings. The
 * caller then stops using that device's guest memory (virtio_dev_mem_fault).
 *
 * sigsetjmp(jb, 0) saves no signal mask: the handler runs with SA_NODEFER,
 * so SIGBUS is not blocked after the jump and the data path pays no
 * sigprocmask per guarded call.
 *
 * Threading: guards are per thread and nest (a stack); push and pop on the
 * same thread, innermost first.
 */
#ifndef VIRTIOBOX_CORE_GUARD_H
#define VIRTIOBOX_CORE_GUARD_H

#include <setjmp.h>

struct guard {
	sigjmp_buf jb;
	struct guard *prev;
	void *addr; /* the faulting address, once the guard caught a fault */
};

/*
 * Install the SIGBUS handler for the process, unless it is installed
 * already (then nothing is done; a handler someone else installed since is
 * replaced). Returns 0 or -errno from sigaction. Any thread; called by
 * dev_thread_create, so its callers need not.
 */
int guard_init(void);

/* Enter g (innermost on this thread). */
void guard_push(struct guard *g);

/* Leave g after the guarded code returned normally. */
void guard_pop(struct guard *g);

#endif
