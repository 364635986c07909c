/* SPDX-License-Identifier: MIT */
/*
 * White-box (links the library's objects): run pages, where blocks of
 * UM_MEDIUM_MIN to UM_SMALL_MAX bytes are runs of 4 KiB units (page.c).
 * One thread, on a heap that unimem_collect() emptied first, so first
 * fit starts at a new page's first unit and every address is known:
 *
 *  - blocks are packed by the unit, not by size class, and units two
 *    blocks of other sizes freed serve one block of a third size (with
 *    size classes they stayed resident for their own class only);
 *  - realloc grows and shrinks a block in place when its neighbours
 *    allow, keeping its bytes;
 *  - unimem_ptr_info() finds the block around an inner pointer, and
 *    says a freed block is not live;
 *  - a second free and a free of an inner pointer are caught, the
 *    owner's and another thread's, and change nothing;
 *  - another thread's frees come back to the owner;
 *  - free units not reused from one sweep to the next go back to the OS
 *    (counted once), units in use keep their bytes; unimem_collect()
 *    gives back the rest;
 *  - calloc clears units freed a moment ago and leaves alone those known
 *    to read zero (never written, or given back);
 *  - a run page made on slices other pages wrote: calloc clears those
 *    units, and the sweeps give them back;
 *  - a pointer into slices a released page held finds no block, not the
 *    bookkeeping of a run page now there;
 *  - a page parked full comes back when a realloc shrinks a block of it;
 *  - under mlockall() (no discard works) calloc still returns zeros.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unimem.h"
#include "alloc/alloc.h"
#include "check.h"

#define KiB ((size_t)1 << 10)

static uint64_t invalid_frees(void)
{
	struct um_alloc_stats st;
	um_alloc_get_stats(&st);
	return st.invalid_frees;
}

static void *free_remotely(void *p)
{
	unimem_free(p);
	return NULL;
}

static void free_in_thread(void *p)
{
	pthread_t t;
	pthread_create(&t, NULL, free_remotely, p);
	pthread_join(t, NULL);
}

static bool filled(const char *p, size_t n, char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return false;
	return true;
}

static void run_page_on_dirty_slices(void);
static void stale_slices(void);
static void shrink_parked(void);

static void *runs(void *arg)
{
	(void)arg;
	unimem_collect(); /* no run page left with free units: a new one next */

	char *a = unimem_malloc(40 * KiB);
	char *b = unimem_malloc(22 * KiB); /* 6 units */
	char *c = unimem_malloc(100 * KiB);
	CHECK(((uintptr_t)a & (UM_RUN_UNIT - 1)) == 0, "run block %p not on a unit", (void *)a);
	CHECK(b == a + 40 * KiB && c == b + 24 * KiB,
	      "blocks not packed by the unit: %p %p %p", (void *)a, (void *)b, (void *)c);
	CHECK(unimem_malloc_usable_size(b) == 24 * KiB, "usable size of 22 KiB: %zu",
	      unimem_malloc_usable_size(b));
	memset(a, 'a', 40 * KiB);
	memset(b, 'b', 24 * KiB);
	memset(c, 'c', 100 * KiB);

	/* two sizes freed, a third size served from their units */
	unimem_free(a);
	unimem_free(b);
	char *d = unimem_malloc(64 * KiB);
	CHECK(d == a, "64 KiB at %p, not in the 64 KiB that 40 + 24 KiB freed at %p",
	      (void *)d, (void *)a);
	memset(d, 'd', 64 * KiB);

	/* realloc in place: grow into free neighbours, shrink */
	char *g = unimem_realloc(c, 200 * KiB);
	CHECK(g == c, "grow with free units after it: moved to %p", (void *)g);
	CHECK(filled(c, 100 * KiB, 'c'), "grown block lost its bytes");
	memset(c + 100 * KiB, 'C', 100 * KiB);
	CHECK(unimem_malloc_usable_size(c) == 200 * KiB, "grown: %zu",
	      unimem_malloc_usable_size(c));
	char *s = unimem_realloc(c, 20 * KiB);
	CHECK(s == c && unimem_malloc_usable_size(c) == 20 * KiB, "shrink in place: %p, %zu",
	      (void *)s, unimem_malloc_usable_size(c));
	char *e = unimem_malloc(120 * KiB);
	CHECK(e == c + 20 * KiB, "units a shrink gave back not reused: %p", (void *)e);
	memset(e, 'e', 120 * KiB);
	char *d2 = unimem_realloc(d, 100 * KiB); /* c follows: must move */
	CHECK(d2 != d && filled(d2, 64 * KiB, 'd'), "grow into a live neighbour");
	d = d2;
	CHECK(filled(c, 20 * KiB, 'c'), "the neighbour of a moved block changed");

	/* unimem_ptr_info(): the block around an inner pointer; freed: none */
	struct unimem_ptr_info info;
	CHECK(unimem_ptr_info(e + 70 * KiB + 3, &info) == 0 && info.base == e &&
	      info.size == 120 * KiB, "ptr_info inside a run block: base %p size %zu",
	      info.base, info.size);
	unimem_free(e);
	CHECK(unimem_ptr_info(e, &info) == -ENOENT, "a freed run block looks live");
	CHECK(unimem_ptr_info(e + 8 * KiB, &info) == -ENOENT, "inside a freed run block");

	/* bad frees: caught, and nothing changes */
	uint64_t bad = invalid_frees();
	unimem_free(e); /* the owner's double free */
	free_in_thread(e); /* another thread's */
	unimem_free(c + 4 * KiB); /* a unit inside a live block */
	free_in_thread(c + 4 * KiB);
	unimem_free(c + 100); /* not on a unit */
	CHECK(invalid_frees() == bad + 5, "%llu of 5 bad frees caught",
	      (unsigned long long)(invalid_frees() - bad));
	CHECK(filled(c, 20 * KiB, 'c') && unimem_malloc_usable_size(c) == 20 * KiB,
	      "a bad free changed a live block");

	/* another thread's free comes back to the owner */
	char *r = unimem_malloc(120 * KiB);
	CHECK(r == e, "first fit after a free: %p, not %p", (void *)r, (void *)e);
	free_in_thread(r);
	char *r2 = unimem_malloc(120 * KiB);
	CHECK(r2 == e, "another thread's free did not come back: %p", (void *)r2);
	unimem_free(r2);

	/* Free units go back once they stayed free across two sweeps (at
	 * least UM_RUN_SWEEP_MS apart, one every 16 frees of run
	 * blocks); a block in use keeps its bytes. The 12 KiB blocks that
	 * drive the sweeps take the first units (where d was). */
	memset(d, 'D', 100 * KiB);
	CHECK(um_test_resident(e, 120 * KiB) == 120 * KiB, "freed units went back at once");
	struct um_alloc_stats s0, s1;
	size_t page_bytes = (size_t)UM_RUN_UNITS * UM_RUN_UNIT; /* a is its first unit */
	size_t page_before = um_test_resident(a, page_bytes);
	um_alloc_get_stats(&s0);
	for (int i = 0; i < 3; i++) {
		usleep(2 * UM_RUN_SWEEP_MS * 1000);
		for (int k = 0; k < 16; k++)
			unimem_free(unimem_malloc(12 * KiB));
	}
	CHECK(um_test_resident(e, 120 * KiB) == 0, "%zu KiB of units free for %d ms still "
	      "resident", um_test_resident(e, 120 * KiB) >> 10, 6 * UM_RUN_SWEEP_MS);
	CHECK(um_test_resident(a + 12 * KiB, 52 * KiB) == 0, "units after the 12 KiB "
	      "blocks still resident");
	CHECK(filled(c, 20 * KiB, 'c') && filled(d, 100 * KiB, 'D'),
	      "a live block lost its bytes to a sweep");
	CHECK(um_test_resident(d, 100 * KiB) == 100 * KiB, "a live block was given back");
	/* what went back is counted once */
	um_alloc_get_stats(&s1);
	size_t gone = page_before - um_test_resident(a, page_bytes);
	CHECK(gone >= 120 * KiB && s1.purged_bytes - s0.purged_bytes == gone,
	      "%llu KiB counted as given back, %zu KiB went",
	      (unsigned long long)(s1.purged_bytes - s0.purged_bytes) >> 10, gone >> 10);

	/* unimem_collect(): the free units of a page in use go back at once */
	unimem_free(d);
	CHECK(um_test_resident(d, 100 * KiB) == 100 * KiB, "freed units went back at once");
	unimem_collect();
	CHECK(um_test_resident(d, 100 * KiB) == 0, "unimem_collect() left free units resident");

	/* calloc writes only units not known to read zero: those never
	 * written or given back stay untouched (a big calloc'ed table that is
	 * used sparsely costs what is used); units freed a moment ago are
	 * cleared */
	char *z = unimem_calloc(1, 400 * KiB);
	CHECK(z != NULL && um_test_resident(z, 400 * KiB) == 0,
	      "calloc wrote %zu KiB of units known to be zero",
	      um_test_resident(z, 400 * KiB) >> 10);
	CHECK(filled(z, 400 * KiB, 0), "calloc of given-back units not zero");
	memset(z, 0x77, 400 * KiB);
	unimem_free(z);
	char *z2 = unimem_calloc(1, 300 * KiB);
	CHECK(z2 == z, "calloc after a free: %p, not %p", (void *)z2, (void *)z);
	CHECK(filled(z2, 300 * KiB, 0), "calloc of units freed a moment ago not zero");
	unimem_free(z2);

	/* aligned: up to a unit, a run; beyond, a size class */
	char *al = unimem_aligned_alloc(4096, 36 * KiB);
	char *al8 = unimem_aligned_alloc(8192, 16 * KiB);
	CHECK(al && ((uintptr_t)al & 4095) == 0 && ((uintptr_t)al8 & 8191) == 0,
	      "aligned medium blocks %p %p", (void *)al, (void *)al8);
	CHECK(unimem_malloc_usable_size(al) == 36 * KiB, "aligned run block: %zu",
	      unimem_malloc_usable_size(al));
	unimem_free(al);
	unimem_free(al8);
	unimem_free(c);

	run_page_on_dirty_slices();
	stale_slices();
	shrink_parked();
	return NULL;
}

/*
 * A run page made on slices that size-class pages wrote and gave back
 * (a heap takes resident freed slices first): those units read what was
 * there, so calloc clears them, and they are resident, so the sweeps give
 * them back when they stay free, though no block of this page freed them.
 */
#define SMALL (8 * KiB) /* a size class: 8 a slice */
#define SMALLS (34 * 8)
static void run_page_on_dirty_slices(void)
{
	static char *small[SMALLS];
	unimem_collect(); /* no run page, no freed slice */
	/* the heap's idle decay (a second without a purge) must not give
	 * the freed slices back before the run page takes them */
	um_thread_heap->last_purge_ms = um_now_ms();
	for (int i = 0; i < SMALLS; i++) {
		small[i] = unimem_malloc(SMALL);
		memset(small[i], 'x', SMALL);
	}
	for (int i = 0; i < SMALLS; i++)
		unimem_free(small[i]); /* 33 slices freed, resident */
	char *first = unimem_malloc(12 * KiB);
	struct um_segment *seg = um_segment_of(first);
	struct um_page *page = um_page_of(seg, first);
	size_t page_bytes = (size_t)UM_RUN_UNITS * UM_RUN_UNIT;
	CHECK(page->in_use == UM_PAGE_RUN && page->start == (uint8_t *)first,
	      "12 KiB not the first block of a new run page");
	size_t res = um_test_resident(first, page_bytes);
	CHECK(res == page_bytes, "run page on freed slices: %zu KiB resident, expected all",
	      res >> 10);
	char *z = unimem_calloc(1, 200 * KiB);
	CHECK(z == first + 12 * KiB && filled(z, 200 * KiB, 0),
	      "calloc on units freed slices left: not zero");
	unimem_free(z);
	for (int i = 0; i < 3; i++) {
		usleep(2 * UM_RUN_SWEEP_MS * 1000);
		for (int k = 0; k < 16; k++)
			unimem_free(unimem_malloc(12 * KiB)); /* after first */
	}
	res = um_test_resident(first + 24 * KiB, page_bytes - 24 * KiB);
	CHECK(res == 0, "%zu KiB of the page's never-used units still resident", res >> 10);
	unimem_free(first);
}

/*
 * A pointer into slices a released page held (a free after the page went
 * back, a stale unimem_ptr_info()) finds no page: it must not find the
 * bookkeeping a run page keeps in the descriptors of its other slices.
 * Slices: 1 and 2 hold pages of 8 KiB blocks, 3..18 a run page, 19 a
 * page of 2 KiB blocks that keeps the segment; all but 19 are given
 * back, then a new run page takes 1..16, so descriptor 3 holds its
 * bitmaps, and a block of 3 units at unit 24 puts 3 (a run page's
 * in_use) where descriptor 3's in_use lies. Slice 17 was the old run
 * page's: a pointer into it is no block.
 */
static void stale_slices(void)
{
	char *small[9];
	unimem_collect(); /* no segment left: the next one is new */
	for (int i = 0; i < 9; i++)
		small[i] = unimem_malloc(SMALL); /* slices 1 and 2 */
	char *run = unimem_malloc(12 * KiB); /* slices 3..18 */
	char *keep = unimem_malloc(2 * KiB); /* slice 19 */
	struct um_segment *seg = um_segment_of(run);
	CHECK((uint8_t *)small[0] == (uint8_t *)seg + UM_SLICE_SIZE &&
	      (uint8_t *)run == (uint8_t *)seg + 3 * UM_SLICE_SIZE &&
	      (uint8_t *)keep == (uint8_t *)seg + 19 * UM_SLICE_SIZE,
	      "unexpected layout: %p %p %p in %p", (void *)small[0], (void *)run,
	      (void *)keep, (void *)seg);
	for (int i = 0; i < 9; i++)
		unimem_free(small[i]);
	unimem_free(run);
	unimem_collect(); /* empty pages go back; keep holds the segment */
	char *a = unimem_malloc(96 * KiB); /* a new run page: units 0..23 */
	char *b = unimem_malloc(12 * KiB); /* units 24..26 */
	CHECK((uint8_t *)a == (uint8_t *)seg + UM_SLICE_SIZE && b == a + 96 * KiB,
	      "new run page not at slice 1: %p %p", (void *)a, (void *)b);
	char *stale = (char *)seg + 17 * UM_SLICE_SIZE;
	struct unimem_ptr_info info;
	CHECK(unimem_ptr_info(stale, &info) == -ENOENT, "a released slice looks live");
	uint64_t bad = invalid_frees();
	unimem_free(stale);
	unimem_free(stale + 4 * KiB);
	CHECK(invalid_frees() == bad + 2, "frees into a released slice not caught");
	CHECK(unimem_malloc_usable_size(a) == 96 * KiB && unimem_malloc_usable_size(b) == 12 * KiB,
	      "the run page's blocks changed");
	unimem_free(a);
	unimem_free(b);
	unimem_free(keep);
}

/* A page parked in the full list (no room for the smallest block) comes
 * back to the queue when a realloc shrinks one of its blocks: the units
 * it gave back serve again. */
static void shrink_parked(void)
{
	unimem_collect();
	char *p1 = unimem_malloc(UM_SMALL_MAX);
	char *p2 = unimem_malloc(UM_SMALL_MAX); /* the page is full */
	char *p3 = unimem_malloc(12 * KiB);     /* parks it, takes a new page */
	struct um_page *page = um_page_of(um_segment_of(p1), p1);
	CHECK(p2 == p1 + UM_SMALL_MAX && (page->free_slow & UM_PAGE_FULL),
	      "a full run page not parked");
	CHECK(unimem_realloc(p2, UM_SMALL_MAX / 2) == p2, "shrink moved the block");
	CHECK(!(page->free_slow & UM_PAGE_FULL), "a page with %d free units stays parked",
	      UM_RUN_UNITS / 4);
	unimem_free(p1);
	unimem_free(p2);
	unimem_free(p3);
}

/*
 * Under mlockall() the kernel refuses MADV_DONTNEED (EINVAL) and the
 * bytes stay: units the sweeps could not give back are not known to
 * read zero, so calloc clears them. In a child (mlockall is for the
 * whole process); skipped where the child may not lock its memory.
 */
static int mlocked_calloc_child(void)
{
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		return 77;
	unimem_collect();
	char *p = unimem_malloc(200 * KiB);
	char *keep = unimem_malloc(12 * KiB); /* after p: the page stays */
	memset(p, 0xee, 200 * KiB);
	unimem_free(p);
	for (int i = 0; i < 3; i++) { /* the sweeps try to give p's units back */
		usleep(2 * UM_RUN_SWEEP_MS * 1000);
		for (int k = 0; k < 16; k++)
			unimem_free(unimem_malloc(12 * KiB));
	}
	char *z = unimem_calloc(1, 200 * KiB);
	int ok = filled(z, 200 * KiB, 0);
	unimem_collect(); /* and the purge of freed slices */
	unimem_free(z);
	unimem_free(keep);
	return ok ? 0 : 1;
}

static void mlocked_calloc(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(mlocked_calloc_child());
	int st;
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf("mlocked calloc: skipped (mlockall not permitted)\n");
		return;
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "calloc under mlockall returned bytes a failed discard kept (status %d)", st);
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, runs, NULL);
	pthread_join(t, NULL);
	mlocked_calloc();
	return um_test_result("alloc_runs_test");
}
