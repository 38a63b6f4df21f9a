/* SPDX-License-Identifier: MIT */
/*
 * Heap allocation counter for benchmarks: proves "no heap allocation on
 * the data path" by counting every malloc, calloc, realloc, memalign,
 * aligned_alloc and posix_memalign call the program makes, on any thread
 * (free is passed through uncounted).
 *
 * It works by defining those functions in alloc_count.c, which forwards to
 * glibc's __libc_* entry points. That only takes effect in a program that
 * links the object itself, so it is NOT part of the test support library:
 * an archive member defining malloc would be pulled into every unit test
 * that calls malloc (and fight the sanitizers' own malloc). A benchmark
 * lists alloc_count.c among its sources (test/bench/SConscript does that
 * for every bench) and reads the counter around its timed window:
 *
 *   if (!alloc_count_is_active()) -> fail
 *   unsigned long a0 = alloc_count_get();
 *   ... timed work ...
 *   printf("%.2f allocs/req\n", (alloc_count_get() - a0) / (double)reqs);
 *
 * glibc only (the __libc_* names); host benchmarks only.
 * Threading: any thread; the count is an atomic, read without ordering
 * against anything else (join the workers before the final read).
 */
#ifndef VIRTIOBOX_TEST_ALLOC_COUNT_H
#define VIRTIOBOX_TEST_ALLOC_COUNT_H

#include <stdbool.h>

/* Allocation calls so far (wraps around; compare differences). */
unsigned long alloc_count_get(void);

/*
 * Whether the counter sees this program's allocations: one malloc that the
 * compiler cannot elide must move it. A bench checks this first, so a
 * build that lost the interposition fails loudly instead of printing 0.
 */
bool alloc_count_is_active(void);

#endif
