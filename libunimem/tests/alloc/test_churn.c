/* SPDX-License-Identifier: MIT */
/*
 * White-box (links the library's objects): issue 16's three shapes, by the
 * allocator's own counters (never by time or free memory).
 *
 * Thread churn: threads one after the other allocate and free a working
 * set of small blocks and exit. The next thread adopts the exited thread's
 * heap: it must find it warm, so no segment is mapped and nothing is
 * discarded after the first round (it used to unmap and purge everything
 * at every exit and fault it all back in).
 *
 * Footprint: a heap that frees a working set keeps it for reuse only up
 * to its recent high-water mark; memory freed and reallocated in a new
 * place does not pile up (discarded bytes grow instead).
 *
 * Large blocks: blocks of ever different sizes above UM_SMALL_MAX, each
 * freed soon, reuse cached mappings across sizes: little fresh memory
 * (the allocator's count of bytes it served without resident pages; the
 * code before this test faulted 10 % of the bytes written, process page
 * faults, where 5 % is allowed).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "unimem.h"
#include "alloc/alloc.h"
#include "check.h"

#define ROUNDS 20
#define BLOCKS 6000 /* x ~400 B: ~2.4 MiB per thread */

static void *worker(void *arg)
{
	(void)arg;
	static __thread void *b[BLOCKS];
	for (int r = 0; r < 3; r++) {
		for (int i = 0; i < BLOCKS; i++) {
			size_t n = 16 + (size_t)(i % 48) * 16;
			b[i] = unimem_malloc(n);
			memset(b[i], r, n);
		}
		for (int i = 0; i < BLOCKS; i++)
			unimem_free(b[i]);
	}
	return NULL;
}

static void run(void)
{
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, NULL);
}

static void thread_churn(void)
{
	struct um_alloc_stats s0, s1;
	run(); /* the first round maps */
	um_alloc_get_stats(&s0);
	for (int r = 0; r < ROUNDS; r++)
		run();
	um_alloc_get_stats(&s1);
	printf("churn: segments mapped %llu -> %llu, discarded %llu KiB\n",
	       (unsigned long long)s0.segments_total, (unsigned long long)s1.segments_total,
	       (unsigned long long)(s1.purged_bytes - s0.purged_bytes) >> 10);
	CHECK(s1.segments_total == s0.segments_total,
	      "%d threads in turn mapped %llu segments: an exited thread's heap was not kept",
	      ROUNDS, (unsigned long long)(s1.segments_total - s0.segments_total));
	/* the working set is ~2.4 MiB a round: at most a tenth of it may be
	 * discarded (a clock-driven purge of an idle heap is allowed) */
	CHECK(s1.purged_bytes - s0.purged_bytes <= (uint64_t)ROUNDS * BLOCKS * 400 / 10,
	      "%llu KiB discarded over %d rounds: exited threads' heaps were purged",
	      (unsigned long long)(s1.purged_bytes - s0.purged_bytes) >> 10, ROUNDS);
	/* still reclaimable: collect gives it all back */
	unimem_collect();
}

/* Free a working set, then allocate as much again where the freed slices
 * are not (the live ones keep the first segments busy): what is kept
 * freed may not grow with the rounds. */
#define FP_BLOCKS 4096
static void *fp[2][FP_BLOCKS];
static void footprint(void)
{
	struct um_alloc_stats s0, s1;
	um_alloc_get_stats(&s0);
	for (int r = 0; r < 40; r++) {
		void **cur = fp[r & 1], **old = fp[!(r & 1)];
		for (int i = 0; i < FP_BLOCKS; i++) {
			cur[i] = unimem_malloc(2048 + (size_t)(r % 4) * 1024);
			memset(cur[i], 1, 64);
		}
		for (int i = 0; i < FP_BLOCKS; i++) {
			unimem_free(old[i]);
			old[i] = NULL;
		}
	}
	struct um_heap *heap = um_thread_heap;
	size_t kept = heap->dirty_slices * UM_SLICE_SIZE;
	size_t pages = heap->page_slices * UM_SLICE_SIZE;
	um_alloc_get_stats(&s1);
	printf("footprint: %zu KiB in pages, %zu KiB freed and kept, %llu KiB discarded\n",
	       pages >> 10, kept >> 10,
	       (unsigned long long)(s1.purged_bytes - s0.purged_bytes) >> 10);
	CHECK(pages + kept <= heap->peak_slices * UM_SLICE_SIZE + ((size_t)2 << 20),
	      "pages %zu + kept %zu KiB above the heap's high water %zu KiB", pages >> 10,
	      kept >> 10, (heap->peak_slices * UM_SLICE_SIZE) >> 10);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < FP_BLOCKS; i++)
			unimem_free(fp[k][i]);
}

static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static void large_blocks(void)
{
	unimem_collect();
	struct um_alloc_stats s0, s1;
	um_alloc_get_stats(&s0);
	void *live[2] = { 0 };
	uint64_t x = 88172645463325252ull;
	size_t total = 0;
	long f0 = minflt();
	for (int i = 0; i < 300; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t size = ((size_t)640 << 10) + (size_t)(x % (6u << 20)); /* 640 KiB..6.6 MiB */
		if (live[i % 2])
			unimem_free(live[i % 2]);
		live[i % 2] = unimem_malloc(size);
		memset(live[i % 2], i, size);
		total += size;
	}
	long faults = minflt() - f0;
	for (int i = 0; i < 2; i++)
		unimem_free(live[i]);
	um_alloc_get_stats(&s1);
	size_t faulted = (size_t)(s1.huge_fresh_bytes - s0.huge_fresh_bytes);
	printf("large: 300 blocks of 640 KiB..6.6 MiB (%zu MiB): %llu mappings, "
	       "%zu MiB fresh (%ld page faults in the process)\n",
	       total >> 20, (unsigned long long)(s1.huge_total - s0.huge_total),
	       faulted >> 20, faults);
	/* reused across sizes: fresh memory only where a block outgrew every
	 * cached one. Counted by the allocator (new mappings, grown tails,
	 * discarded entries): the process's page faults agree without a
	 * sanitizer (its shadow memory faults too) */
	CHECK(faulted <= total / 20,
	      "%zu of %zu MiB written faulted fresh pages: the cache does not reuse "
	      "across sizes", faulted >> 20, total >> 20);
}

int main(void)
{
	unimem_free(unimem_malloc(8)); /* main's heap exists */
	thread_churn();
	footprint();
	large_blocks();
	return um_test_result("alloc_churn_test");
}
