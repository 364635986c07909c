/* SPDX-License-Identifier: MIT */
/*
 * White-box (links the library's objects): the small heap's footprint and
 * its refaults (issue 16), by the allocator's counters and mincore, each
 * case in a thread of its own:
 *
 *  - breathing: a heap that frees its 96 MiB working set and allocates it
 *    again maps no new segment (it kept 16 empty ones and unmapped the
 *    rest, so a producer/consumer faulted half its pages every wave), and
 *    a spike freed at once keeps at most 64 (256 MiB);
 *  - freed slices that are still resident are reused before clean ones
 *    (taking clean slices raised the footprint by what the dirty ones
 *    held);
 *  - medium blocks of a size class (aligned beyond a 4 KiB unit; others
 *    are runs, test_runs.c) freed and not reused (for 32 medium frees and 50 ms:
 *    the test sleeps past that, which only time's passing can make
 *    fail) go cold: their memory goes back
 *    to the OS (blocks of one size class cannot serve another, so they
 *    stayed resident until their whole page was free). A cold block is
 *    free to unimem_ptr_info(), a second free of it (its owner's or
 *    another thread's) is caught, and it comes back when needed.
 *
 * The heap's idle decay (UM_PURGE_DELAY_MS after its clock starts) would
 * change what is kept: a case that took 900 ms on a loaded machine runs
 * again (at most 3 times); the assertions never depend on time.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unimem.h"
#include "alloc/alloc.h"
#include "check.h"

#define MiB ((size_t)1 << 20)

static size_t ps; /* the OS page size */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A case's verdict, or SLOW when it must run again. */
enum { PASS = 0, FAIL = 1, SLOW = 2 };
#define SLOW_MS 900

/* The calling thread's heap exists, and its idle clock starts now: the
 * decay cannot come before UM_PURGE_DELAY_MS (an adopted heap's clock
 * may be old). */
static void heap_clock_start(void)
{
	unimem_free(unimem_malloc(16));
	um_thread_heap->last_purge_ms = um_now_ms();
}

static void run_case(const char *name, void *(*fn)(void *))
{
	for (int attempt = 0; attempt < 3; attempt++) {
		pthread_t t;
		void *ret;
		pthread_create(&t, NULL, fn, NULL);
		pthread_join(t, &ret);
		if ((intptr_t)ret != SLOW)
			return;
		printf("%s: slower than %d ms, run again\n", name, SLOW_MS);
	}
	CHECK(0, "%s: slower than %d ms three times", name, SLOW_MS);
}

#define NBREATH (96 * 256) /* 4 KiB blocks: 96 MiB */
static void *breath[NBREATH];

static void *breathing(void *arg)
{
	(void)arg;
	heap_clock_start();
	uint64_t t0 = now_ms();
	struct um_alloc_stats s0, s1;
	for (int i = 0; i < NBREATH; i++) {
		breath[i] = unimem_malloc(4096);
		memset(breath[i], 1, 64);
	}
	for (int i = 0; i < NBREATH; i++)
		unimem_free(breath[i]);
	um_alloc_get_stats(&s0);
	for (int i = 0; i < NBREATH; i++) {
		breath[i] = unimem_malloc(4096);
		memset(breath[i], 2, 64);
	}
	um_alloc_get_stats(&s1);
	for (int i = 0; i < NBREATH; i++)
		unimem_free(breath[i]);
	if (now_ms() - t0 >= SLOW_MS)
		return (void *)(intptr_t)SLOW;
	CHECK(s1.segments_total == s0.segments_total,
	      "the second breath of 96 MiB mapped %llu new segments",
	      (unsigned long long)(s1.segments_total - s0.segments_total));
	return (void *)(intptr_t)PASS;
}

/* A spike freed at once keeps at most UM_KEEP_EMPTY_SEGMENTS_MAX empty
 * segments, whatever its high water: 320 MiB of 16 KiB blocks (a page of
 * each written) keep no more than 64 of their 80 segments. */
#define SPIKE_BLOCKS (320 * 64)
static void *spike_blocks[SPIKE_BLOCKS];

static void *spike(void *arg)
{
	(void)arg;
	heap_clock_start();
	uint64_t t0 = now_ms();
	struct um_heap *heap = um_thread_heap;
	for (int i = 0; i < SPIKE_BLOCKS; i++) {
		spike_blocks[i] = unimem_malloc(16 << 10);
		memset(spike_blocks[i], 3, 64);
	}
	size_t at_peak = heap->segment_count;
	for (int i = 0; i < SPIKE_BLOCKS; i++)
		unimem_free(spike_blocks[i]);
	size_t kept = 0; /* empty segments still mapped */
	for (struct um_segment *seg = heap->segments; seg; seg = seg->next)
		kept += seg->used_mask == 1;
	if (now_ms() - t0 >= SLOW_MS)
		return (void *)(intptr_t)SLOW;
	CHECK(at_peak >= 80, "320 MiB in %zu segments", at_peak);
	CHECK(kept <= UM_KEEP_EMPTY_SEGMENTS_MAX,
	      "a freed 320 MiB spike keeps %zu of its heap's %zu segments empty and mapped",
	      kept, at_peak);
	return (void *)(intptr_t)PASS;
}

#define PAGE_BLOCKS 64 /* 1 KiB blocks: one 64 KiB slice per page */
static void *dirty_first(void *arg)
{
	(void)arg;
	heap_clock_start();
	uint64_t t0 = now_ms();
	static __thread void *a[UM_SLICES * PAGE_BLOCKS];
	int na = (UM_SLICES - 1) * PAGE_BLOCKS; /* fills a segment */
	for (int i = 0; i < na; i++) {
		a[i] = unimem_malloc(1024);
		memset(a[i], 1, 1024);
	}
	/* a second segment, with clean slices, at the head of the list */
	void *b[10 * PAGE_BLOCKS];
	for (int i = 0; i < 10 * PAGE_BLOCKS; i++)
		b[i] = unimem_malloc(1024);
	for (int i = 0; i < na; i++)
		unimem_free(a[i]);
	struct um_heap *heap = um_thread_heap;
	size_t dirty = heap->dirty_slices;
	for (int i = 0; i < 20 * PAGE_BLOCKS; i++)
		a[i] = unimem_malloc(1024);
	size_t after = heap->dirty_slices;
	for (int i = 0; i < 20 * PAGE_BLOCKS; i++)
		unimem_free(a[i]);
	for (int i = 0; i < 10 * PAGE_BLOCKS; i++)
		unimem_free(b[i]);
	if (now_ms() - t0 >= SLOW_MS)
		return (void *)(intptr_t)SLOW;
	CHECK(dirty >= 40, "only %zu freed slices kept", dirty);
	CHECK(after + 20 == dirty, "20 new pages took %zu of %zu resident freed slices",
	      dirty - after, dirty);
	return (void *)(intptr_t)PASS;
}

/*
 * Medium blocks of a size class: blocks of 10 KiB and more are runs of
 * units (test_runs.c) unless they are aligned beyond a unit, so these
 * cases ask for 8 KiB alignment (class sizes that are multiples of it).
 */
static void *medium_malloc(size_t n)
{
	return unimem_aligned_alloc(8192, n);
}

#define MEDIUM (32 << 10) /* 8 a page */
static void *free_remotely(void *p)
{
	unimem_free(p);
	return NULL;
}

#define NMED 64
static void *medium_cold(void *arg)
{
	(void)arg;
	struct um_alloc_stats s0, s1;
	char *m[NMED];
	for (int i = 0; i < NMED; i++) {
		m[i] = medium_malloc(MEDIUM);
		memset(m[i], 0x5a, MEDIUM);
	}
	size_t before = 0; /* the helper sees what was written */
	for (int i = 0; i < NMED; i++)
		if (i % 8 != 0)
			before += um_test_resident(m[i], MEDIUM);
	/* every page keeps one live block: no page empties */
	for (int i = 0; i < NMED; i++)
		if (i % 8 != 0)
			unimem_free(m[i]);
	/* Cold: not reused for 32 medium frees and for 50 ms. Other
	 * medium frees move the heap's count on, then the time passes, then
	 * more frees make it walk its pages. */
	char *keep = medium_malloc(24 << 10);
	for (int i = 0; i < 200; i++) {
		char *x = medium_malloc(24 << 10);
		memset(x, i, 24 << 10);
		unimem_free(x);
		if (i == 100)
			usleep(2 * UM_MEDIUM_COLD_MS * 1000);
	}
	size_t after = 0;
	for (int i = 0; i < NMED; i++)
		if (i % 8 != 0)
			after += um_test_resident(m[i], MEDIUM);
	CHECK(before == (size_t)(NMED - NMED / 8) * MEDIUM, "medium blocks: %zu KiB "
	      "resident before the frees, all expected", before >> 10);
	/* 7 adjacent blocks of 32 KiB a page: all of it goes back */
	CHECK(after == 0, "cold medium blocks: %zu KiB still resident", after >> 10);

	/* a cold block is free to unimem_ptr_info(), and freed again by its
	 * owner or by another thread, it is caught (its free tag went with
	 * its memory: the page's cold bitmap knows) */
	struct unimem_ptr_info info;
	CHECK(unimem_ptr_info(m[3], &info) == -ENOENT, "a cold block looks live");
	CHECK(unimem_ptr_info(m[0], &info) == 0, "a live block next to cold ones");
	um_alloc_get_stats(&s0);
	unimem_free(m[1]);
	um_alloc_get_stats(&s1);
	CHECK(s1.invalid_frees == s0.invalid_frees + 1, "double free of a cold block not caught");
	pthread_t t;
	pthread_create(&t, NULL, free_remotely, m[2]);
	pthread_join(t, NULL);

	/* cold blocks come back: every byte writable, readable */
	char *again[NMED];
	int reused = 0;
	for (int i = 0; i < NMED - NMED / 8; i++) {
		again[i] = medium_malloc(MEDIUM);
		for (int k = 0; k < NMED; k++)
			reused += again[i] == m[k];
		memset(again[i], i, MEDIUM);
	}
	for (int i = 0; i < NMED - NMED / 8; i++)
		for (size_t off = 0; off < MEDIUM; off += 512)
			if (again[i][off] != (char)i) {
				CHECK(0, "block %d byte %zu: %d", i, off, again[i][off]);
				break;
			}
	CHECK(reused == NMED - NMED / 8, "%d of %d cold blocks reused", reused,
	      NMED - NMED / 8);
	struct um_alloc_stats s2;
	um_alloc_get_stats(&s2);
	CHECK(s2.invalid_frees == s1.invalid_frees + 1,
	      "another thread's double free of a cold block not caught");
	for (int i = 0; i < NMED - NMED / 8; i++)
		unimem_free(again[i]);
	for (int i = 0; i < NMED; i += 8)
		unimem_free(m[i]);
	unimem_free(keep);
	return (void *)(intptr_t)PASS;
}

/*
 * The owner's free of a block of a full page stamps that block, not the
 * remote frees the page takes back at the same moment (they go on top of
 * its free list): a block freed just now must not go cold at the next
 * walk because its third word held 0.
 */
#define STAMPED (40 << 10) /* 8 a page, a class no case above used */
static char *stamped[9];

static void *free_two_remotely(void *arg)
{
	(void)arg;
	unimem_free(stamped[1]); /* the page is full: to the heap's delayed list */
	unimem_free(stamped[2]); /* then onto the page's own list */
	return NULL;
}

static void *stamp_order(void *arg)
{
	(void)arg;
	for (int i = 0; i < 9; i++) { /* the 9th finds the first page full */
		stamped[i] = medium_malloc(STAMPED);
		memset(stamped[i], 0, STAMPED);
	}
	pthread_t t;
	pthread_create(&t, NULL, free_two_remotely, NULL);
	pthread_join(t, NULL);
	unimem_free(stamped[0]);
	/* 20 more medium frees: a walk, well before the block is 32 frees old */
	char *keep = medium_malloc(24 << 10);
	for (int i = 0; i < 20; i++)
		unimem_free(medium_malloc(24 << 10));
	size_t res = um_test_resident(stamped[0], STAMPED);
	CHECK(res == STAMPED, "a medium block freed %d frees ago went cold (%zu KiB "
	      "resident)", 20, res >> 10);
	unimem_free(keep);
	for (int i = 3; i < 9; i++)
		unimem_free(stamped[i]);
	return (void *)(intptr_t)PASS;
}

int main(void)
{
	ps = (size_t)sysconf(_SC_PAGESIZE);
	/* first: a fresh heap (an exited thread's heap goes to the next) */
	run_case("dirty_first", dirty_first);
	run_case("breathing", breathing);
	run_case("medium_cold", medium_cold);
	run_case("stamp_order", stamp_order);
	run_case("spike", spike);
	return um_test_result("alloc_footprint_test");
}
