/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the seams between the parts of libunimem:
 *   alloc/   the allocator (heaps, per-thread caches, regions, ptr lookup)
 *   os.c     OS specifics (mmap, madvise, page size) - the only place that
 *            calls the kernel's memory syscalls directly
 *   backend* placement and hints behind one ops table (host: hwloc;
 *            module: /dev/unimemN)
 *   error.c  error codes and thread-local messages
 */
#ifndef UNIMEM_INTERNAL_H
#define UNIMEM_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unimem.h"

#define UM_INTERNAL __attribute__((visibility("hidden")))
#define um_likely(x) __builtin_expect(!!(x), 1)
#define um_unlikely(x) __builtin_expect(!!(x), 0)

/* error.c ---------------------------------------------------------------- */
/*
 * um_error() - record a detailed message for unimem_last_error() and return
 * @err (a negative errno) so callers can write `return um_error(-EINVAL, ...)`.
 */
UM_INTERNAL int um_error(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* fork.c ----------------------------------------------------------------- */
/*
 * Every lock of the library is taken around fork() so that no child finds
 * one held by a thread that does not exist there. A file owning locks
 * declares its hooks once with UM_FORK_HOOKS(rank, prepare, parent,
 * child): prepare runs in increasing rank (take outer locks first), parent
 * and child in decreasing rank. Ranks, outer to inner:
 */
enum {
	UM_FORK_RANK_QUEUE = 10,   /* queues and events (may call everything) */
	UM_FORK_RANK_RANGES = 20,  /* the range map */
	UM_FORK_RANK_DEVICE = 30,  /* the module provider's context */
	UM_FORK_RANK_ALLOC = 40,   /* allocator: heap pool, then huge cache */
	UM_FORK_RANK_HUGE = 50,
};
struct um_fork_hooks {
	int rank;
	void (*prepare)(void);
	void (*parent)(void);
	void (*child)(void);
};
#define UM_FORK_HOOKS(name, r, pre, par, chi)                                  \
	__attribute__((used, section("um_fork_hooks"), aligned(sizeof(void *)))) \
	static const struct um_fork_hooks name = { (r), (pre), (par), (chi) }
/* Install the pthread_atfork handler (once; the allocator calls it as soon
 * as a thread's heap exists, a constructor otherwise). */
UM_INTERNAL void um_fork_install(void);

/* os.c ------------------------------------------------------------------- */
UM_INTERNAL size_t um_os_page_size(void);
/* Reserve and commit @size bytes aligned to @align (a power of two >= page). */
UM_INTERNAL void *um_os_map(size_t size, size_t align);
UM_INTERNAL void um_os_unmap(void *addr, size_t size);
/* Give pages back to the OS, keeping the range mapped (MADV_DONTNEED). */
UM_INTERNAL void um_os_discard(void *addr, size_t size);
UM_INTERNAL uintptr_t um_os_random(void);

/* backend.c -------------------------------------------------------------- */
/*
 * um_place_range() - bind fresh, not yet touched memory to @loc so its
 * pages land there when first touched (host nodes: strict bind). Called by
 * the allocator for each region it maps for a located heap.
 */
UM_INTERNAL int um_place_range(void *addr, size_t size, unimem_location_t loc);
/* Check that a location exists (-ENODEV with message otherwise). */
UM_INTERNAL int um_location_check(const char *what, unimem_location_t loc);
/* Where the pages of a range are now: one location, MIXED, or NONE. */
UM_INTERNAL unimem_location_t um_range_location(const void *addr, size_t size);

/*
 * Advice does not outlive the memory it was given for. The allocator calls
 * um_hints_forget() when it unmaps a range and um_hints_reuse() when it
 * hands freed memory out again (a cached huge block, released slices):
 * records go, a preferred-location policy goes back to the allocation's
 * @placement, the module's attributes back to its defaults. Both cost one
 * atomic load while nothing was ever advised.
 */
UM_INTERNAL void um_hints_forget(void *addr, size_t size);
UM_INTERNAL void um_hints_reuse(void *addr, size_t size, unimem_location_t placement);

/* alloc/ ----------------------------------------------------------------- */
struct um_alloc_info {
	void *base;
	size_t size;
	unimem_location_t requested;
	void *region;
	size_t region_size;
};
/* O(1): the live allocation that @p points into, or false. */
UM_INTERNAL bool um_alloc_lookup(const void *p, struct um_alloc_info *info);

#endif /* UNIMEM_INTERNAL_H */
