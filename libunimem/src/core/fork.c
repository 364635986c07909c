/* SPDX-License-Identifier: MIT */
/*
 * fork.c - the one registry of fork handlers for every lock of the library.
 *
 * Each file that owns a lock declares its hooks with UM_FORK_HOOKS(); they
 * land in one linker section, so the registry is complete before the first
 * instruction runs (no registration call that could come too late, no
 * malloc). A single pthread_atfork() runs them: prepare in rank order
 * (outer locks first), parent and child in reverse.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

extern const struct um_fork_hooks __start_um_fork_hooks[] UM_INTERNAL;
extern const struct um_fork_hooks __stop_um_fork_hooks[] UM_INTERNAL;

#define UM_FORK_MAX 16

/* Ranks are few and fixed: sort once into a static table. */
static const struct um_fork_hooks *um_fork_sorted[UM_FORK_MAX];
static int um_fork_count;

static void um_fork_sort(void)
{
	int n = 0;
	for (const struct um_fork_hooks *h = __start_um_fork_hooks;
	     h < __stop_um_fork_hooks && n < UM_FORK_MAX; h++) {
		int i = n++;
		while (i > 0 && um_fork_sorted[i - 1]->rank > h->rank) {
			um_fork_sorted[i] = um_fork_sorted[i - 1];
			i--;
		}
		um_fork_sorted[i] = h;
	}
	um_fork_count = n;
}

static void um_fork_prepare(void)
{
	for (int i = 0; i < um_fork_count; i++)
		if (um_fork_sorted[i]->prepare)
			um_fork_sorted[i]->prepare();
}

static void um_fork_parent(void)
{
	for (int i = um_fork_count - 1; i >= 0; i--)
		if (um_fork_sorted[i]->parent)
			um_fork_sorted[i]->parent();
}

static void um_fork_child(void)
{
	for (int i = um_fork_count - 1; i >= 0; i--)
		if (um_fork_sorted[i]->child)
			um_fork_sorted[i]->child();
}

void um_fork_install(void)
{
	static _Atomic int done;
	if (atomic_load_explicit(&done, memory_order_acquire) ||
	    atomic_exchange(&done, 1))
		return;
	um_fork_sort();
	/* may malloc (glibc's handler list): under the preload that is us,
	 * and the caller made sure the thread's heap is usable */
	pthread_atfork(um_fork_prepare, um_fork_parent, um_fork_child);
}
