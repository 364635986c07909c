/* SPDX-License-Identifier: MIT */
/*
 * internal.h - core/: what every part of libunimem uses. The parts, and
 * the one direction of calls between them:
 *
 *   preload/, tools  the public API (unimem.h) only
 *   alloc/           the allocator: malloc, heap, page, segment, huge, os
 *                      -> provider/ (map fresh memory, where pages are)
 *                      -> ranges/   (advice forgotten with the memory)
 *   hints/           prefetch, advise, attributes, queue
 *                      -> provider/, ranges/
 *   ranges/          the interval map of advice (no calls out)
 *   provider/        where pages live: host (hwloc, mbind, move_pages) and
 *                    device (the module's ioctls) behind one ops table;
 *                    never calls up
 *   core/            init, errors, version, the fork-handler registry
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
/* The process's start-up is over (a constructor ran): libc's functions
 * that a sanitizer runtime interposes may be called from now on. */
UM_INTERNAL void um_os_started(void);

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
	UM_FORK_RANK_PROVIDER = 25, /* a provider's first probe under way */
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

/* init.c ------------------------------------------------------------------ */
UM_INTERNAL size_t um_page_size(void);
/* Widen [ptr, ptr + size) to pages; -EINVAL (with message) on bad input. */
UM_INTERNAL int um_page_range(const char *what, const void *ptr, size_t size,
			      uintptr_t *start, uintptr_t *end);

#endif /* UNIMEM_INTERNAL_H */
