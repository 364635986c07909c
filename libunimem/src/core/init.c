/* SPDX-License-Identifier: MIT */
/*
 * init.c - what every part of the library needs first: the page size (one
 * cache for all) and page-granular ranges; the library constructor.
 */
#include <errno.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "internal.h"

size_t um_page_size(void)
{
	static size_t cached;
	size_t ps = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (um_unlikely(!ps)) {
		/* not sysconf: this runs before a sanitizer's start-up is over */
		unsigned long v = getauxval(AT_PAGESZ);
		ps = v > 0 ? (size_t)v : 4096;
		__atomic_store_n(&cached, ps, __ATOMIC_RELAXED);
	}
	return ps;
}

int um_page_range(const char *what, const void *ptr, size_t size,
		  uintptr_t *start, uintptr_t *end)
{
	uintptr_t p = (uintptr_t)ptr, ps = um_page_size();

	if (!ptr)
		return um_error(-EINVAL, "%s: NULL pointer", what);
	if (size == 0)
		return um_error(-EINVAL, "%s: size is 0", what);
	if (p + size < p || p + size > UINTPTR_MAX - ps)
		return um_error(-EINVAL, "%s: range [%p, +%zu) wraps around the address space",
				what, ptr, size);
	*start = p & ~(ps - 1);
	*end = (p + size + ps - 1) & ~(ps - 1);
	return 0;
}

/* A process that only uses hints never enters the allocator: the fork
 * handlers go in as the library loads. */
__attribute__((constructor)) static void um_init(void)
{
	um_os_started();
	um_fork_install();
}
