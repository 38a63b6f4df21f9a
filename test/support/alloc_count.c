// SPDX-License-Identifier: MIT
/*
 * The interposed allocator behind alloc_count.h. Linked as an object into
 * benchmarks only; see the header for why it is not in the library.
 */
#include "alloc_count.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>

/* glibc's real allocator, under the names it exports for interposers. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static atomic_ulong allocs;

static void count(void)
{
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
}

unsigned long alloc_count_get(void)
{
	return atomic_load_explicit(&allocs, memory_order_relaxed);
}

bool alloc_count_is_active(void)
{
	/* Through a volatile pointer: a malloc/free pair the compiler can see
	 * may be removed altogether. */
	void *(*volatile alloc)(size_t) = malloc;
	unsigned long before = alloc_count_get();
	void *p = alloc(1);

	free(p);
	return p && alloc_count_get() != before;
}

void *malloc(size_t size)
{
	count();
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	count();
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	count();
	return __libc_realloc(p, size);
}

void *memalign(size_t align, size_t size)
{
	count();
	return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	count();
	return __libc_memalign(align, size);
}

int posix_memalign(void **p, size_t align, size_t size)
{
	void *m;

	count();
	/* A power of two multiple of sizeof(void *), as POSIX requires. */
	if (!align || align % sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	m = __libc_memalign(align, size);
	if (!m)
		return ENOMEM;
	*p = m;
	return 0;
}

void free(void *p)
{
	__libc_free(p);
}
