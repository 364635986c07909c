/* SPDX-License-Identifier: MIT */
/*
 * registry.c - the allocations the layer made (clSVMAlloc and the USM
 * allocators), so that frees, queries and migrations know what a pointer
 * is. A sorted array under a read-write lock: lookups are a binary search
 * on the start addresses, and the live count stays small in practice.
 */
#include "layer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct unimem_cl_alloc *allocs;
static size_t count, capacity;
static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;

/* Index of the first allocation whose base is > @ptr. */
static size_t upper_bound(const void *ptr)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)allocs[mid].base <= (uintptr_t)ptr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int unimem_cl_registry_add(const struct unimem_cl_alloc *a)
{
	pthread_rwlock_wrlock(&lock);
	if (count == capacity) {
		size_t cap = capacity ? capacity * 2 : 64;
		struct unimem_cl_alloc *n = realloc(allocs, cap * sizeof(*n));
		if (!n) {
			pthread_rwlock_unlock(&lock);
			return -1;
		}
		allocs = n;
		capacity = cap;
	}
	size_t i = upper_bound(a->base);
	memmove(&allocs[i + 1], &allocs[i], (count - i) * sizeof(*allocs));
	allocs[i] = *a;
	count++;
	pthread_rwlock_unlock(&lock);
	return 0;
}

bool unimem_cl_registry_find(const void *ptr, struct unimem_cl_alloc *out)
{
	bool found = false;
	pthread_rwlock_rdlock(&lock);
	size_t i = upper_bound(ptr);
	if (i > 0) {
		const struct unimem_cl_alloc *a = &allocs[i - 1];
		if ((uintptr_t)ptr < (uintptr_t)a->base + a->size) {
			if (out)
				*out = *a;
			found = true;
		}
	}
	pthread_rwlock_unlock(&lock);
	return found;
}

bool unimem_cl_registry_remove(const void *base, cl_context ctx,
			       struct unimem_cl_alloc *out)
{
	bool found = false;
	pthread_rwlock_wrlock(&lock);
	size_t i = upper_bound(base);
	if (i > 0 && allocs[i - 1].base == base && allocs[i - 1].context == ctx) {
		if (out)
			*out = allocs[i - 1];
		memmove(&allocs[i - 1], &allocs[i], (count - i) * sizeof(*allocs));
		count--;
		found = true;
	}
	pthread_rwlock_unlock(&lock);
	return found;
}
