/* SPDX-License-Identifier: MIT */
/*
 * White-box (links the library's objects): memory of exited threads comes
 * back without a new thread (issue 13, defect 3). A thread allocates
 * 128 MiB of small blocks and exits; main frees them all (every free a
 * remote one, into the abandoned heap): the segments are unmapped, no heap
 * stays abandoned. Then a thread leaves half-used segments behind and main
 * needs memory: it reuses them instead of mapping new ones.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "unimem.h"
#include "alloc/alloc.h"
#include "check.h"

#define NBLOCKS 32768 /* x 4 KiB = 128 MiB */

static void *blocks[NBLOCKS];

static void *allocate_all(void *arg)
{
	size_t size = (size_t)(uintptr_t)arg;
	for (int i = 0; i < NBLOCKS; i++) {
		blocks[i] = unimem_malloc(size);
		memset(blocks[i], 1, 64);
	}
	return NULL;
}

static void run_thread(void *(*fn)(void *), size_t size)
{
	pthread_t t;
	pthread_create(&t, NULL, fn, (void *)(uintptr_t)size);
	pthread_join(t, NULL);
}

/* Concurrent: two threads free the blocks of exited threads (both race to
 * reclaim the same heaps) while a third allocates (and reclaims too). */
#define NEXITED 4
#define PER 4000
static void *left[NEXITED][PER];

static void *leave_blocks(void *arg)
{
	void **out = arg;
	for (int i = 0; i < PER; i++) {
		out[i] = unimem_malloc(16 + (size_t)(i % 40) * 100);
		memset(out[i], 0x33, 16);
	}
	return NULL;
}

static void *free_half(void *arg)
{
	int odd = (int)(uintptr_t)arg;
	for (int t = 0; t < NEXITED; t++)
		for (int i = odd; i < PER; i += 2) {
			CHECK(((unsigned char *)left[t][i])[15] == 0x33, "block changed");
			unimem_free(left[t][i]);
		}
	return NULL;
}

static void *allocate_meanwhile(void *arg)
{
	(void)arg;
	void *v[2000];
	for (int r = 0; r < 5; r++) {
		for (int i = 0; i < 2000; i++)
			v[i] = unimem_malloc(16 + (size_t)(i % 40) * 100);
		for (int i = 0; i < 2000; i++)
			unimem_free(v[i]);
	}
	return NULL;
}

static void concurrent_reclaim(void)
{
	pthread_t t[NEXITED], f[3];
	for (int i = 0; i < NEXITED; i++)
		pthread_create(&t[i], NULL, leave_blocks, left[i]);
	for (int i = 0; i < NEXITED; i++)
		pthread_join(t[i], NULL);
	pthread_create(&f[0], NULL, free_half, (void *)0);
	pthread_create(&f[1], NULL, free_half, (void *)1);
	pthread_create(&f[2], NULL, allocate_meanwhile, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(f[i], NULL);
}

int main(void)
{
	struct um_alloc_stats st;
	void *warm = unimem_malloc(16); /* main's heap exists before */
	um_alloc_get_stats(&st);
	uint64_t base = st.segments_mapped;

	run_thread(allocate_all, 4096);
	um_alloc_get_stats(&st);
	CHECK(st.segments_mapped >= base + 32, "128 MiB in %llu segments",
	      (unsigned long long)(st.segments_mapped - base));
	for (int i = 0; i < NBLOCKS; i++)
		unimem_free(blocks[i]);
	um_alloc_get_stats(&st);
	CHECK(st.segments_mapped <= base + 17, "after freeing an exited thread's 128 MiB: "
	      "%llu segments more than before", (unsigned long long)(st.segments_mapped - base));
	CHECK(st.heaps_abandoned == 0, "%llu heaps still abandoned",
	      (unsigned long long)st.heaps_abandoned);
	unimem_collect();
	um_alloc_get_stats(&st);
	CHECK(st.segments_mapped <= base + 1, "after unimem_collect: %llu segments more",
	      (unsigned long long)(st.segments_mapped - base));

	/* half-used segments left behind: main's allocations reuse them */
	run_thread(allocate_all, 1024);
	for (int i = 0; i < NBLOCKS; i += 2)
		unimem_free(blocks[i]);
	um_alloc_get_stats(&st);
	uint64_t total = st.segments_total;
	void *mine[NBLOCKS / 2];
	for (int i = 0; i < NBLOCKS / 2; i++)
		mine[i] = unimem_malloc(1024);
	um_alloc_get_stats(&st);
	CHECK(st.segments_total <= total + 1, "main mapped %llu new segments next to "
	      "half-empty abandoned ones", (unsigned long long)(st.segments_total - total));
	for (int i = 0; i < NBLOCKS / 2; i++)
		unimem_free(mine[i]);
	for (int i = 1; i < NBLOCKS; i += 2)
		unimem_free(blocks[i]);
	unimem_free(warm);
	concurrent_reclaim();
	unimem_collect();
	um_alloc_get_stats(&st);
	CHECK(st.segments_mapped <= base, "at the end: %llu segments more than before",
	      (unsigned long long)(st.segments_mapped - base));
	return um_test_result("alloc_reclaim_test");
}
