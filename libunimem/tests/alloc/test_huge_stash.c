/* SPDX-License-Identifier: MIT */
/*
 * The per-thread stash of freed huge blocks (issue 16): a thread reuses
 * its own freed huge blocks without the shared cache's lock, and the
 * stash never strands memory:
 *  - the same thread gets its freed block back for a close size;
 *  - a thread's stash goes to the shared cache when it exits: another
 *    thread then gets that block, not a fresh mapping;
 *  - unimem_collect() reaches a live thread's stash: the block is
 *    unmapped at that thread's next huge free, and the caller's own stash
 *    at once (counted in what unimem_collect() returns).
 * Residency by mincore (an unmapped page counts as not resident).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <string.h>

#include "unimem.h"
#include "check.h"

#define MiB ((size_t)1 << 20)


static void *exits_with_freed_block(void *arg)
{
	(void)arg;
	char *x = unimem_malloc(3 * MiB / 2);
	memset(x, 7, 3 * MiB / 2);
	unimem_free(x);
	return x;
}

static sem_t freed, collected;

static void *frees_then_waits(void *arg)
{
	void **out = arg;
	char *a = unimem_malloc(2 * MiB), *b = unimem_malloc(2 * MiB);
	memset(a, 1, 2 * MiB);
	memset(b, 2, 2 * MiB);
	unimem_free(a); /* stashed */
	out[0] = a;
	sem_post(&freed);
	sem_wait(&collected);
	unimem_free(b); /* the next huge call: the stash goes first */
	out[1] = b;
	return NULL;
}

int main(void)
{

	/* 1: the freeing thread gets its block back for a close size */
	char *p = unimem_malloc(MiB);
	CHECK(p != NULL, "malloc(1 MiB)");
	memset(p, 3, MiB);
	unimem_free(p);
	char *q = unimem_malloc(MiB - 1000);
	CHECK(q == p, "a freed 1 MiB block was not reused by its thread (%p, %p)",
	      (void *)p, (void *)q);
	memset(q, 4, MiB - 1000);

	/* 2: an exiting thread's stash goes to the shared cache */
	pthread_t t;
	void *x = NULL;
	CHECK(pthread_create(&t, NULL, exits_with_freed_block, NULL) == 0, "pthread_create");
	pthread_join(t, &x);
	char *y = unimem_malloc(3 * MiB / 2);
	CHECK(y == x, "a block freed by an exited thread was not reused (%p, %p): "
	      "its stash was stranded", x, (void *)y);
	unimem_free(y);

	/* 3: unimem_collect() reaches a live thread's stash */
	void *blocks[2] = { 0 };
	sem_init(&freed, 0, 0);
	sem_init(&collected, 0, 0);
	CHECK(pthread_create(&t, NULL, frees_then_waits, blocks) == 0, "pthread_create");
	sem_wait(&freed);
	CHECK(um_test_resident(blocks[0], 2 * MiB) == 2 * MiB, "the stashed block is resident");
	unimem_collect();
	sem_post(&collected);
	pthread_join(t, NULL);
	CHECK(um_test_resident(blocks[0], 2 * MiB) == 0,
	      "%zu KiB of a block stashed by a live thread still resident after "
	      "unimem_collect() and that thread's next free", um_test_resident(blocks[0], 2 * MiB) >> 10);
	CHECK(um_test_resident(blocks[1], 2 * MiB) == 2 * MiB, "the thread's later free was stashed");

	/* 4: the caller's own stash goes at once */
	unimem_free(q);
	CHECK(um_test_resident(q, MiB - 1000) > 0, "the stashed block is resident");
	size_t released = unimem_collect();
	CHECK(um_test_resident(q, MiB - 1000) == 0, "%zu KiB of the caller's stashed block "
	      "resident after unimem_collect()", um_test_resident(q, MiB - 1000) >> 10);
	CHECK(released >= MiB, "unimem_collect() reports %zu KiB", released >> 10);
	return um_test_result("alloc_huge_stash_test");
}
