/* SPDX-License-Identifier: MIT */
/*
 * page.c - pages of same-size blocks: carving, the owner's and remote
 * frees, full pages, out-of-band pages (device heaps), and the slow path
 * of malloc (finding or making a page with a free block).
 *
 * Ownership rule: only the thread whose tid a segment carries touches the
 * plain fields of its pages. Other threads only push onto atomic lists
 * (page->thread_free, heap->delayed) or flip out-of-band bitmap bits.
 */
#include <errno.h>
#include <string.h>

#include "alloc/alloc.h"

#define UM_EXTEND_BYTES ((size_t)4 << 10) /* carve blocks one OS page at a time: touch no page before it is used */
/*
 * Freed slices stay resident for reuse (refaulting memory freed a moment
 * ago costs more than keeping it), but only by a budget: a heap keeps at
 * most what takes its slices in pages plus freed ones back to its recent
 * high-water mark of slices in pages (plus 4 MiB of slack), so keeping
 * never raises its peak footprint by more. Beyond that the freed slices
 * are discarded (MADV_DONTNEED) at once, down to half the slack (2 MiB
 * was too little for medium blocks of wandering sizes: their pages of 1
 * to 16 slices free and take runs that fit each other badly, and 10x the
 * page faults made bench/alloc's medium/mixed 1.5x mimalloc). The high
 * water decays: after UM_PURGE_DELAY_MS without a purge it drops to what
 * is in pages now and everything freed before goes back.
 */
#define UM_PURGE_SLACK_SLICES 64 /* 4 MiB */
#define UM_PURGE_DELAY_MS 1000
#define UM_KEEP_EMPTY_SEGMENTS 16 /* at least: mmap/munmap churn guard; RSS bounded by the purge */

/* ---- page queues ----------------------------------------------------- */

static inline void um_queue_sync(struct um_heap *heap, struct um_page_queue *q)
{
	if (q != &heap->full) {
		size_t cls = (size_t)(q - heap->queue);
		heap->pages[cls] = q->first ? q->first : &um_page_empty;
	}
}

void um_queue_remove(struct um_heap *heap, struct um_page_queue *q,
			    struct um_page *page)
{
	if (page->prev)
		page->prev->next = page->next;
	else
		q->first = page->next;
	if (page->next)
		page->next->prev = page->prev;
	else
		q->last = page->prev;
	page->next = page->prev = NULL;
	um_queue_sync(heap, q);
}

void um_queue_push_front(struct um_heap *heap, struct um_page_queue *q,
				struct um_page *page)
{
	page->prev = NULL;
	page->next = q->first;
	if (q->first)
		q->first->prev = page;
	else
		q->last = page;
	q->first = page;
	um_queue_sync(heap, q);
}

void um_queue_push_back(struct um_heap *heap, struct um_page_queue *q,
			       struct um_page *page)
{
	page->next = NULL;
	page->prev = q->last;
	if (q->last)
		q->last->next = page;
	else
		q->first = page;
	q->last = page;
	um_queue_sync(heap, q);
}

/* ---- pages ----------------------------------------------------------- */

/* Enough slices for at least 8 blocks, at most UM_PAGE_MAX_SLICES. */
static int um_class_slices(size_t block_size)
{
	size_t n = (block_size * 8 + UM_SLICE_SIZE - 1) / UM_SLICE_SIZE;
	if (n < 1)
		n = 1;
	if (n > UM_PAGE_MAX_SLICES)
		n = UM_PAGE_MAX_SLICES;
	return (int)n;
}

static int um_find_run(uint64_t used, int n)
{
	uint64_t want = um_slice_bits(0, n);
	for (int i = 1; i + n <= UM_SLICES; i++) {
		if (((used >> i) & want) == 0)
			return i;
	}
	return -1;
}

/* The first segment of @heap with @n free slices in a row (@dirty: freed
 * ones still resident only): the run's first slice, *@segp; or -1. */
static int um_heap_find_run(struct um_heap *heap, int n, bool dirty,
			    struct um_segment **segp)
{
	for (struct um_segment *seg = heap->segments; seg; seg = seg->next) {
		uint64_t avail = ~seg->used_mask & (dirty ? seg->dirty_mask : ~(uint64_t)0);
		if (__builtin_popcountll(avail) < n)
			continue;
		int idx = um_find_run(~avail, n);
		if (idx >= 0) {
			*segp = seg;
			return idx;
		}
	}
	*segp = NULL;
	return -1;
}

/* Discard freed slices until at most @keep are left; bytes discarded. */
size_t um_heap_purge_to(struct um_heap *heap, size_t keep)
{
	size_t bytes = 0;
	for (struct um_segment *seg = heap->segments; seg && heap->dirty_slices > keep;
	     seg = seg->next) {
		uint64_t m = seg->dirty_mask & ~seg->used_mask;
		while (m && heap->dirty_slices > keep) {
			int i = __builtin_ctzll(m);
			int j = i;
			while (j < UM_SLICES && (m >> j & 1))
				j++;
			uint64_t run = um_slice_bits(i, j - i);
			m &= ~run;
			/* refused (mlock'ed): the slices keep their bytes, and a
			 * run page made on them must not take them for zero */
			if (!um_os_discard((uint8_t *)seg + ((size_t)i << UM_SLICE_SHIFT),
					   (size_t)(j - i) << UM_SLICE_SHIFT))
				continue;
			bytes += (size_t)(j - i) << UM_SLICE_SHIFT;
			seg->dirty_mask &= ~run;
			seg->discarded_mask |= run;
			heap->dirty_slices -= (size_t)(j - i);
		}
	}
	return bytes;
}

size_t um_heap_purge(struct um_heap *heap)
{
	size_t bytes = um_heap_purge_to(heap, 0);
	heap->peak_slices = heap->page_slices; /* the high water starts again */
	return bytes;
}

/* After slices were freed: enforce the budget, and the decay. */
static void um_heap_purge_check(struct um_heap *heap)
{
	size_t limit = heap->peak_slices + UM_PURGE_SLACK_SLICES;
	if (heap->page_slices + heap->dirty_slices > limit) {
		size_t keep = heap->peak_slices + UM_PURGE_SLACK_SLICES / 2;
		keep = keep > heap->page_slices ? keep - heap->page_slices : 0;
		um_heap_purge_to(heap, keep);
	}
	/* the clock on every 16th release: a breathing heap releases pages
	 * all the time, and the decay needs no better */
	if (heap->dirty_slices == 0 || (heap->releases++ & 15) != 0)
		return;
	uint64_t now = um_now_ms();
	if (heap->last_purge_ms == 0)
		heap->last_purge_ms = now; /* a new heap: the clock starts */
	if (now - heap->last_purge_ms >= UM_PURGE_DELAY_MS) {
		heap->last_purge_ms = now;
		um_heap_purge(heap);
	}
}

/* Bitmaps of a run page's units (run pages: below). */
#define UM_RUN_UNITS_PER_SLICE ((int)(UM_SLICE_SIZE / UM_RUN_UNIT))

/* The first unit at or after @i whose bit is @set, or UM_RUN_UNITS. */
static int um_bits_next(const uint64_t *w, int i, bool set)
{
	while (i < UM_RUN_UNITS) {
		uint64_t m = (set ? w[i >> 6] : ~w[i >> 6]) >> (i & 63);
		if (m)
			return i + __builtin_ctzll(m);
		i = (i | 63) + 1;
	}
	return UM_RUN_UNITS;
}

static void um_bits_assign(uint64_t *w, int i, int n, bool set)
{
	while (n > 0) {
		int k = 64 - (i & 63) < n ? 64 - (i & 63) : n;
		uint64_t m = (k == 64 ? ~(uint64_t)0 : (((uint64_t)1 << k) - 1)) << (i & 63);
		w[i >> 6] = set ? w[i >> 6] | m : w[i >> 6] & ~m;
		i += k;
		n -= k;
	}
}

static struct um_page *um_page_new(struct um_heap *heap, size_t cls)
{
	bool run = cls == UM_RUN_CLASS;
	size_t bs = run ? UM_RUN_UNIT : um_class_size(cls);
	int n = run ? UM_PAGE_MAX_SLICES : um_class_slices(bs);
	struct um_segment *seg = NULL;
	int idx = -1;
	/* Freed slices that are still resident first: taking clean ones
	 * while they wait would raise the footprint by what they hold. */
	if (heap->dirty_slices >= (size_t)n)
		idx = um_heap_find_run(heap, n, true, &seg);
	if (idx < 0)
		idx = um_heap_find_run(heap, n, false, &seg);
	if (seg == NULL && um_heap_reclaim(heap))
		return um_page_new(heap, cls); /* retry with what came back */
	if (seg == NULL) {
		seg = um_segment_new(heap);
		if (seg == NULL)
			return NULL;
		seg->next = heap->segments;
		if (heap->segments)
			heap->segments->prev = seg;
		heap->segments = seg;
		heap->segment_count++;
		idx = 1;
	}
	uint64_t bits = um_slice_bits(idx, n);
	atomic_fetch_add_explicit(&um_stat_page_bytes, (uint64_t)n << UM_SLICE_SHIFT,
				  memory_order_relaxed);
	if (seg->used_mask == 1 && heap->empty_segments > 0)
		heap->empty_segments--;
	seg->used_mask |= bits;
	heap->page_slices += (size_t)n;
	if (heap->page_slices > heap->peak_slices)
		heap->peak_slices = heap->page_slices;
	uint64_t dirty = seg->dirty_mask & bits; /* the others read zero */
	heap->dirty_slices -= (size_t)__builtin_popcountll(dirty);
	seg->dirty_mask &= ~bits;
	if (seg->discarded_mask & bits) {
		/*
		 * Discarded slices refault where the range's policy says: a host
		 * node's mbind stays, but a device has no fault-time policy, so
		 * a device heap's pages would come back in host memory.
		 */
		if (UNIMEM_LOC_KIND(seg->loc) == UNIMEM_LOC_KIND_DEVICE)
			(void)um_alloc_place(seg->loc, (uint8_t *)seg + ((size_t)idx << UM_SLICE_SHIFT),
					     (size_t)n << UM_SLICE_SHIFT);
		seg->discarded_mask &= ~bits;
	}
	/* unimem_ptr_info() may read these from another thread: atomic
	 * stores (plain movs), in_use last with release */
	for (int i = idx; i < idx + n; i++)
		__atomic_store_n(&seg->slice_page[i], (uint8_t)idx, __ATOMIC_RELAXED);

	struct um_page *page = &seg->pages[idx];
	page->free = NULL;
	page->used = 0;
	__atomic_store_n(&page->capacity, 0, __ATOMIC_RELAXED);
	page->reserved = (uint32_t)(((size_t)n << UM_SLICE_SHIFT) / bs);
	__atomic_store_n(&page->block_size, (uint32_t)bs, __ATOMIC_RELAXED);
	page->div_magic = um_div_magic((uint32_t)bs);
	page->cls = (uint8_t)cls;
	page->slice_count = (uint8_t)n;
	page->slice_index = (uint8_t)idx;
	page->free_slow = !run && bs >= UM_MEDIUM_MIN && !heap->oob &&
			  UNIMEM_LOC_KIND(heap->loc) != UNIMEM_LOC_KIND_DEVICE
			  ? UM_PAGE_STAMP : 0;
	atomic_store_explicit(&page->cold, 0, memory_order_relaxed);
	__atomic_store_n(&page->start, (uint8_t *)seg + ((size_t)idx << UM_SLICE_SHIFT),
			 __ATOMIC_RELAXED);
	atomic_store_explicit(&page->thread_free, 0, memory_order_relaxed);
	page->next = page->prev = NULL;
	page->heap = heap;
	if (run) {
		/* blocks are made and given back in the bitmap; free's fast
		 * path steps aside (div_magic 0) */
		page->div_magic = 0;
		page->capacity = page->reserved;
		struct um_run *r = um_run_of(page);
		memset(r, 0, sizeof(*r));
		r->free_units = UM_RUN_UNITS;
		r->longest = UM_RUN_UNITS;
		/* slices fresh or given back read zero (calloc need not
		 * write their units); the others are resident: the sweeps
		 * give their units back if they stay free */
		for (int k = 0; k < n; k++)
			um_bits_assign(dirty >> (idx + k) & 1 ? r->dirty : r->zero,
				       k * UM_RUN_UNITS_PER_SLICE, UM_RUN_UNITS_PER_SLICE, true);
		__atomic_store_n(&page->in_use, UM_PAGE_RUN, __ATOMIC_RELEASE);
	} else if (heap->oob) {
		/* every block exists from the start: nothing is carved */
		page->div_magic = 0; /* free's fast path steps aside */
		page->capacity = page->reserved;
		page->oob_hint = 0;
		atomic_store_explicit(&page->oob_used, 0, memory_order_relaxed);
		__atomic_store_n(&page->in_use, UM_PAGE_OOB, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&page->in_use, UM_PAGE_IN_USE, __ATOMIC_RELEASE);
	}
	return page;
}

void um_heap_unlink_segment(struct um_heap *heap, struct um_segment *seg)
{
	if (seg->prev)
		seg->prev->next = seg->next;
	else
		heap->segments = seg->next;
	if (seg->next)
		seg->next->prev = seg->prev;
	heap->segment_count--;
	heap->dirty_slices -= (size_t)__builtin_popcountll(seg->dirty_mask);
}

/* Give an empty page's slices back to its segment; @force also unmaps the
 * heap's last segment when it empties (thread exit). */
void um_page_release(struct um_heap *heap, struct um_page *page, bool force)
{
	um_queue_remove(heap, &heap->queue[page->cls], page);
	struct um_segment *seg = um_segment_of_page(page);
	uint64_t bits = um_slice_bits(page->slice_index, page->slice_count);
	seg->used_mask &= ~bits;
	heap->page_slices -= page->slice_count;
	atomic_fetch_sub_explicit(&um_stat_page_bytes, (uint64_t)page->slice_count << UM_SLICE_SHIFT,
				  memory_order_relaxed);
	um_alloc_reuse(page->start, (size_t)page->slice_count << UM_SLICE_SHIFT, seg->loc);
	if (page->capacity) {
		seg->dirty_mask |= bits;
		heap->dirty_slices += page->slice_count;
	}
	__atomic_store_n(&page->in_use, 0, __ATOMIC_RELAXED);
	page->div_magic = 0; /* free's grid check now fails: no block is live */
	/* A pointer into these slices finds the header's descriptor (never
	 * in use), not a descriptor a later page starting elsewhere leaves
	 * unused (a run page keeps its bitmaps in those). */
	for (int i = page->slice_index; i < page->slice_index + page->slice_count; i++)
		__atomic_store_n(&seg->slice_page[i], 0, __ATOMIC_RELAXED);
	if (seg->used_mask == 1) {
		/* Keep empty segments, as many as the heap's recent high
		 * water of slices in pages filled (at least a few, at most
		 * 256 MiB): a heap that breathes in and out would otherwise
		 * munmap and fault its memory back every time (a
		 * producer/consumer wave of 129 MiB: half its pages). What
		 * they keep resident is bounded by the purge, which drops
		 * the high water when idle; the cap bounds what a heap that
		 * frees a spike and then goes quiet (no page release runs
		 * the idle purge) keeps. */
		size_t keep = (heap->peak_slices + UM_SLICES - 2) / (UM_SLICES - 1);
		if (keep < UM_KEEP_EMPTY_SEGMENTS)
			keep = UM_KEEP_EMPTY_SEGMENTS;
		if (keep > UM_KEEP_EMPTY_SEGMENTS_MAX)
			keep = UM_KEEP_EMPTY_SEGMENTS_MAX;
		if (force || heap->empty_segments >= keep) {
			um_heap_unlink_segment(heap, seg);
			um_segment_delete(seg);
			return;
		}
		heap->empty_segments++;
	}
	um_heap_purge_check(heap);
}

static void um_page_extend(struct um_page *page)
{
	size_t bs = page->block_size;
	uint32_t n = page->reserved - page->capacity;
	uint32_t max = bs >= UM_EXTEND_BYTES ? 1 : (uint32_t)(UM_EXTEND_BYTES / bs);
	if (n > max)
		n = max;
	uint8_t *b = page->start + (size_t)page->capacity * bs;
	for (uint32_t i = 0; i + 1 < n; i++)
		*(void **)(b + i * bs) = b + (i + 1) * bs;
	*(void **)(b + (size_t)(n - 1) * bs) = page->free;
	page->free = b;
	__atomic_store_n(&page->capacity, page->capacity + n, __ATOMIC_RELAXED);
}

/* A medium page holds at most 8 blocks and what one slice adds: its
 * cold bitmap is 32 bits. */
_Static_assert(8 + UM_SLICE_SIZE / UM_MEDIUM_MIN < 32, "medium page: over 32 blocks");

/* Is @b, a block of medium page @page, cold? */
static inline bool um_medium_is_cold(const struct um_page *page, const void *b)
{
	uint32_t i = (uint32_t)(((const uint8_t *)b - page->start) / page->block_size);
	return atomic_load_explicit(&page->cold, memory_order_relaxed) >> i & 1;
}

/* Other threads' frees of a medium page: stamped now (they were freed
 * about now), a cold one is a double free. */
static void um_medium_take_list(struct um_page *page, void *list)
{
	uint64_t now = page->heap->medium_frees, ms = page->heap->medium_ms;
	uint32_t n = 0;
	while (list) {
		uint64_t *b = list;
		list = *(void **)b;
		if (um_unlikely(um_medium_is_cold(page, b))) {
			um_report_invalid("free", b, "double free");
			continue;
		}
		b[2] = now;
		b[3] = ms;
		*(void **)b = page->free;
		page->free = b;
		n++;
	}
	page->used -= n;
}

void um_page_take_list(struct um_page *page, uintptr_t list)
{
	if (page->in_use == UM_PAGE_RUN) {
		uint32_t n = 0;
		while (list) {
			void *b = (void *)list;
			list = *(uintptr_t *)b;
			n += um_run_put(page, b);
		}
		page->used -= n;
		return;
	}
	if (page->free_slow & UM_PAGE_STAMP) {
		um_medium_take_list(page, (void *)list);
		return;
	}
	void *head = (void *)list, *tail = head;
	uint32_t n = 1;
	while (*(void **)tail) {
		tail = *(void **)tail;
		n++;
	}
	*(void **)tail = page->free;
	page->free = head;
	page->used -= n;
}

/* Move frees made by other threads onto the owner's list. Only for pages
 * in a class queue, whose state bits are NORMAL (0). */
void um_page_collect(struct um_page *page)
{
	if (atomic_load_explicit(&page->thread_free, memory_order_relaxed) == 0)
		return;
	uintptr_t tf = atomic_exchange_explicit(&page->thread_free, 0,
						memory_order_acquire);
	if (tf & ~UM_TF_STATE)
		um_page_take_list(page, tf & ~UM_TF_STATE);
}

/*
 * The page has no free block: park it in the full list. The FULL bit is
 * set only if no remote free raced in (CAS from empty), so a remote free
 * either lands before (we collect it) or sees the bit and goes to the
 * heap's delayed list, which the owner always drains.
 */
static bool um_page_try_full(struct um_heap *heap, struct um_page *page)
{
	uintptr_t expected = 0;
	if (!atomic_compare_exchange_strong_explicit(&page->thread_free, &expected,
						     UM_TF_FULL, memory_order_acq_rel,
						     memory_order_relaxed))
		return false;
	um_queue_remove(heap, &heap->queue[page->cls], page);
	page->free_slow |= UM_PAGE_FULL;
	um_queue_push_back(heap, &heap->full, page);
	return true;
}

static void um_page_unfull(struct um_heap *heap, struct um_page *page)
{
	uintptr_t tf = atomic_exchange_explicit(&page->thread_free, 0,
						memory_order_acq_rel);
	um_queue_remove(heap, &heap->full, page);
	page->free_slow &= (uint8_t)~UM_PAGE_FULL;
	um_queue_push_back(heap, &heap->queue[page->cls], page);
	if (tf & ~UM_TF_STATE)
		um_page_take_list(page, tf & ~UM_TF_STATE);
}

/*
 * Medium blocks (UM_MEDIUM_MIN and up) of one class cannot serve another
 * class, so a program whose medium sizes wander (a diff's buffers, a
 * compressor's windows) keeps each class's high water resident: blocks
 * written once and freed stay in memory until their whole page is free.
 * That was most of the heap overhead of whole programs (git log -p: 4.4
 * MiB carved for 2.7 MiB live). So the owner stamps each medium block it
 * frees, and each block other threads freed when it collects it, with
 * its heap's count of medium frees (third word; the first two are the
 * free list's link and the free tag) and the heap's clock (fourth word:
 * um_now_ms() at its last walk). Every UM_MEDIUM_SWEEP frees, if half
 * UM_MEDIUM_COLD_MS passed since the last walk, it walks its medium
 * pages' free lists: a block not reused for UM_MEDIUM_AGE frees nor for
 * UM_MEDIUM_COLD_MS is cold (by count alone, blocks of random
 * medium sizes cycling through a working set of a few MiB went cold and
 * refaulted all the time: 3.4x the time, nearly all of it in the
 * kernel; by time alone, tests could not say which block is cold). A
 * cold block leaves the free list for
 * the page's cold bitmap and its memory goes back to the OS, one
 * MADV_DONTNEED for each run of adjacent cold blocks (one a block made
 * a threaded git pack-objects pay 1100 TLB shootdowns). Allocation takes
 * a cold block back before it carves a new one; it refaults as zero. A
 * walk costs the blocks freed since the last one: cold blocks are off
 * the lists. The bitmap keeps what the free tag did for them: a second
 * free of a cold block is caught, and unimem_ptr_info() sees it free.
 */
#define UM_MEDIUM_SWEEP 16
#define UM_MEDIUM_AGE 32

/* Give back the pages of the runs of cold blocks that hold a block of
 * @fresh (made cold now). */
static void um_medium_discard(struct um_page *page, uint32_t fresh)
{
	uintptr_t ps = um_page_size();
	uint32_t cold = atomic_load_explicit(&page->cold, memory_order_relaxed);
	size_t bs = page->block_size;
	while (fresh) {
		int i = __builtin_ctz(fresh), j = i;
		while (i > 0 && (cold >> (i - 1) & 1))
			i--;
		while (j < 32 && (cold >> j & 1))
			j++;
		uintptr_t lo = ((uintptr_t)page->start + (size_t)i * bs + ps - 1) & ~(ps - 1);
		uintptr_t hi = ((uintptr_t)page->start + (size_t)j * bs) & ~(ps - 1);
		if (hi > lo)
			um_os_discard((void *)lo, hi - lo);
		fresh &= j < 32 ? ~(uint32_t)0 << j : 0;
	}
}

static void um_medium_sweep(struct um_heap *heap)
{
	uint64_t now = heap->medium_frees, ms = um_now_ms();
	/* a walk costs a cache miss a free block: at most one per half
	 * the cold age (a busy heap frees far more often) */
	if (ms - heap->medium_ms < UM_MEDIUM_COLD_MS / 2)
		return;
	heap->medium_ms = ms;
	for (size_t cls = um_class_of(UM_MEDIUM_MIN); cls < UM_RUN_CLASS; cls++) {
		for (struct um_page *page = heap->queue[cls].first; page; page = page->next) {
			uint32_t fresh = 0;
			void **link = &page->free;
			for (uint64_t *b = *link; b; b = *link) {
				if (now - b[2] <= UM_MEDIUM_AGE || ms - b[3] < UM_MEDIUM_COLD_MS) {
					link = (void **)b;
					continue;
				}
				*link = *(void **)b; /* off the free list */
				fresh |= 1u << ((uint8_t *)b - page->start) / page->block_size;
			}
			if (fresh == 0)
				continue;
			atomic_fetch_or_explicit(&page->cold, fresh, memory_order_relaxed);
			um_medium_discard(page, fresh); /* counted by the OS layer */
		}
	}
}

/* The page has no free block: take its lowest cold block back (the
 * memory refaults when it is written). */
static void um_medium_warm(struct um_page *page)
{
	uint32_t cold = atomic_load_explicit(&page->cold, memory_order_relaxed);
	int i = __builtin_ctz(cold);
	uint64_t *b = (uint64_t *)(page->start + (size_t)i * page->block_size);
	atomic_store_explicit(&page->cold, cold & ~(1u << i), memory_order_relaxed);
	b[0] = (uint64_t)(uintptr_t)page->free;
	b[2] = page->heap->medium_frees; /* freshly freed, as it were */
	b[3] = page->heap->medium_ms;
	page->free = b;
}

/* The owner freed the block at the head of @page's free list. */
static void um_medium_freed(struct um_heap *heap, struct um_page *page)
{
	((uint64_t *)page->free)[2] = ++heap->medium_frees;
	((uint64_t *)page->free)[3] = heap->medium_ms;
	if ((heap->medium_frees & (UM_MEDIUM_SWEEP - 1)) == 0)
		um_medium_sweep(heap);
}

/* An empty run page among the first UM_RUN_KEEP_EMPTY of the queue stays
 * (first fit fills those next): a heap that frees a few MiB of run
 * blocks and allocates them again makes no new page each time. Its units
 * go back to the OS by the sweeps, and unimem_collect() releases it. */
#define UM_RUN_KEEP_EMPTY 8
static bool um_run_keep_empty(struct um_page_queue *q, struct um_page *page)
{
	struct um_page *p = q->first;
	for (int i = 0; p && i < UM_RUN_KEEP_EMPTY; i++, p = p->next)
		if (p == page)
			return true;
	return false;
}

/* Owner's free found the page empty or full, or a medium block: fix its
 * queue, stamp the block. */
void um_page_free_slow(struct um_page *page)
{
	struct um_heap *heap = page->heap;
	/* first: the block just freed is at the head until unfull puts the
	 * remote frees on top */
	if (page->free_slow & UM_PAGE_STAMP) {
		void *p = page->free;
		if (um_unlikely(um_medium_is_cold(page, p))) {
			/* freed before and cold since: its tag went with its
			 * memory, the bitmap caught it; undo the push */
			page->free = *(void **)p;
			page->used++;
			um_report_invalid("free", p, "double free");
			return;
		}
		if (page->used > 0)
			um_medium_freed(heap, page);
	}
	if (page->free_slow & UM_PAGE_FULL)
		um_page_unfull(heap, page);
	if (um_page_used(page) == 0) {
		struct um_page_queue *q = &heap->queue[page->cls];
		if (q->first == page && page->next == NULL)
			return; /* the class's only page: keep it warm */
		if (page->in_use == UM_PAGE_RUN && um_run_keep_empty(q, page))
			return;
		um_page_release(heap, page, false);
	}
}

void um_free_owned(struct um_page *page, void *p)
{
	if (page->in_use == UM_PAGE_RUN) {
		if (!um_run_put(page, p))
			return;
	} else {
		*(void **)p = page->free;
		page->free = p;
	}
	if (--page->used == 0 || page->free_slow)
		um_page_free_slow(page);
}

void um_free_remote(struct um_page *page, void *p)
{
	/* Before p is pushed the segment cannot go away: look now whether it
	 * belongs to an exited thread (after the push another thread may
	 * reclaim it, find it empty and unmap it). */
	struct um_segment *seg = um_segment_of_page(page);
	struct um_heap *abandoned =
		um_unlikely(atomic_load_explicit(&seg->owner_tid, memory_order_relaxed) ==
			    UM_TID_ABANDONED)
			? __atomic_load_n(&seg->heap, __ATOMIC_RELAXED)
			: NULL;
	uintptr_t old = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
	for (;;) {
		if ((old & UM_TF_STATE) == UM_TF_FULL) {
			/* Claim the notification; the heap cannot change while
			 * the state is FREEING, nor the page go (p is not out). */
			if (!atomic_compare_exchange_weak_explicit(
				    &page->thread_free, &old,
				    (old & ~UM_TF_STATE) | UM_TF_FREEING,
				    memory_order_acquire, memory_order_relaxed))
				continue;
			struct um_heap *heap = page->heap;
			uintptr_t h = atomic_load_explicit(&heap->delayed,
							   memory_order_relaxed);
			do {
				*(uintptr_t *)p = h;
			} while (!atomic_compare_exchange_weak_explicit(
				&heap->delayed, &h, (uintptr_t)p,
				memory_order_release, memory_order_relaxed));
			/* FREEING -> NOTIFIED, unless the owner reset the state */
			old = atomic_load_explicit(&page->thread_free, memory_order_relaxed);
			while ((old & UM_TF_STATE) == UM_TF_FREEING &&
			       !atomic_compare_exchange_weak_explicit(
				       &page->thread_free, &old,
				       (old & ~UM_TF_STATE) | UM_TF_NOTIFIED,
				       memory_order_release, memory_order_relaxed))
				;
			break;
		}
		*(uintptr_t *)p = old & ~UM_TF_STATE;
		if (atomic_compare_exchange_weak_explicit(
			    &page->thread_free, &old,
			    (uintptr_t)p | (old & UM_TF_STATE),
			    memory_order_release, memory_order_relaxed))
			break;
	}
	/* A free into the heap of an exited thread: take the heap over, so
	 * what it no longer uses goes back (p was pushed: the remote way is
	 * done before the heap changes hands). */
	if (um_unlikely(abandoned != NULL) && um_thread_tld != NULL)
		um_reclaim_heap(abandoned);
}

void um_heap_process_delayed(struct um_heap *heap)
{
	if (atomic_load_explicit(&heap->delayed, memory_order_relaxed) == 0)
		return;
	uintptr_t list = atomic_exchange_explicit(&heap->delayed, 0,
						  memory_order_acquire);
	while (list) {
		void *b = (void *)list;
		list = *(uintptr_t *)b;
		struct um_segment *seg =
			(struct um_segment *)((uintptr_t)b & ~UM_SEGMENT_MASK);
		um_free_owned(um_page_of(seg, b), b);
	}
}

/* ---- run pages ------------------------------------------------------- */

/*
 * Blocks of one size class cannot serve another, so a program whose
 * medium sizes wander (a diff's buffers, a compressor's windows, strings
 * that grow by realloc) would keep the high water of each class resident
 * at once: git pack-objects, 10.2 MiB of class high waters for 6.5 MiB
 * live at its peak. Blocks of UM_MEDIUM_MIN bytes and more are therefore
 * runs of 4 KiB units of a 1 MiB page, found first fit in its bitmap, so
 * freed units serve any size, as one coalescing heap does, and a block
 * grows or shrinks in place when its neighbours allow. The owner frees
 * into the bitmap; other threads push onto the page's list, as for any
 * page, and the owner takes those in when it allocates (a page with
 * fewer than UM_RUN_FULL_UNITS free units parks in the full list; the
 * first remote free notifies its heap). Free units go back to the OS
 * once they stayed free from one sweep to the next (sweeps are at least
 * UM_RUN_SWEEP_MS apart, run every UM_RUN_SWEEP frees): units a busy
 * heap reuses stay resident. Coalescing, not the sweeps, makes freed
 * units serve other sizes, so the sweeps can be this short (git
 * pack-objects: 14.2 MiB with 10 ms, 14.7 with 25).
 */
#define UM_RUN_FULL_UNITS ((int)((UM_MEDIUM_MIN + UM_RUN_UNIT - 1) / UM_RUN_UNIT))
#define UM_RUN_SWEEP 16

/* The last unit before @i whose bit is set, or -1. */
static int um_bits_prev_set(const uint64_t *w, int i)
{
	while (i > 0) {
		int b = (i - 1) & 63;
		uint64_t m = w[(i - 1) >> 6] & (b == 63 ? ~(uint64_t)0 : (((uint64_t)2 << b) - 1));
		if (m)
			return ((i - 1) & ~63) + 63 - __builtin_clzll(m);
		i = (i - 1) & ~63;
	}
	return -1;
}

/* First fit: the first run of @n free units of @r, or -1 (and then
 * r->longest is exact: the next search for as many units skips it). */
static int um_run_find(struct um_run *r, int n)
{
	int longest = 0;
	int i = um_bits_next(r->used, 0, false);
	while (i < UM_RUN_UNITS) {
		int j = um_bits_next(r->used, i, true);
		if (j - i >= n)
			return i;
		if (j - i > longest)
			longest = j - i;
		i = um_bits_next(r->used, j, false);
	}
	r->longest = (uint16_t)longest;
	return -1;
}

/* The run of free units around unit @i grew: keep r->longest above it. */
static void um_run_grew(struct um_run *r, int i)
{
	int run = um_bits_next(r->used, i, true) - (um_bits_prev_set(r->used, i) + 1);
	if (run > r->longest)
		r->longest = (uint16_t)run;
}

/* Units @i..@i+@n join a block (they will be written: not zero, not
 * free at the last sweep). */
static void um_run_claim(struct um_run *r, int i, int n)
{
	um_bits_assign(r->zero, i, n, false);
	um_bits_assign(r->used, i, n, true);
	um_bits_assign(r->seen, i, n, false);
	r->free_units -= (uint16_t)n;
}

/* Units @i..@i+@n leave a block (resident, free). */
static void um_run_give(struct um_run *r, int i, int n)
{
	um_bits_assign(r->used, i, n, false);
	um_bits_assign(r->dirty, i, n, true);
	r->free_units += (uint16_t)n;
	if (r->free_units == UM_RUN_UNITS)
		r->longest = UM_RUN_UNITS;
	else
		um_run_grew(r, i);
}

static void *um_run_take(struct um_page *page, int i, int n, bool zero)
{
	struct um_run *r = um_run_of(page);
	uint8_t *b = page->start + ((size_t)i << UM_RUN_UNIT_SHIFT);
	if (zero) {
		/* clear the units not known to read zero, run by run */
		for (int k = um_bits_next(r->zero, i, false); k < i + n;) {
			int e = um_bits_next(r->zero, k, true);
			if (e > i + n)
				e = i + n;
			memset(b + ((size_t)(k - i) << UM_RUN_UNIT_SHIFT), 0,
			       (size_t)(e - k) << UM_RUN_UNIT_SHIFT);
			k = e < i + n ? um_bits_next(r->zero, e, false) : i + n;
		}
	}
	um_run_claim(r, i, n);
	atomic_store_explicit(&r->len[i], (uint8_t)n, memory_order_relaxed);
	page->used++;
	return b;
}

/* The owner gives the block at @p back to the bitmap (page->used is the
 * caller's): false, reported, if @p is not a live block's start. */
bool um_run_put(struct um_page *page, void *p)
{
	struct um_run *r = um_run_of(page);
	size_t off = (size_t)((uint8_t *)p - page->start);
	int i = (int)(off >> UM_RUN_UNIT_SHIFT);
	int n = (off & (UM_RUN_UNIT - 1)) == 0
			? atomic_load_explicit(&r->len[i], memory_order_relaxed) : 0;
	if (um_unlikely(n == 0)) {
		bool inside = (off & (UM_RUN_UNIT - 1)) != 0 || (r->used[i >> 6] >> (i & 63) & 1);
		um_report_invalid("free", p, inside ? "pointer into the middle of a block"
						    : "double free");
		return false;
	}
	uint64_t bit = (uint64_t)1 << (i & 63);
	if (atomic_load_explicit(&r->pending[i >> 6], memory_order_relaxed) & bit)
		atomic_fetch_and_explicit(&r->pending[i >> 6], ~bit, memory_order_relaxed);
	atomic_store_explicit(&r->len[i], 0, memory_order_relaxed);
	um_run_give(r, i, n);
	struct um_heap *heap = page->heap;
	if ((++heap->run_frees & (UM_RUN_SWEEP - 1)) == 0)
		um_run_sweep(heap, false);
	return true;
}

size_t um_run_units(struct um_page *page, const void *p)
{
	size_t off = (size_t)((const uint8_t *)p - page->start);
	if (off & (UM_RUN_UNIT - 1))
		return 0;
	return atomic_load_explicit(&um_run_of(page)->len[off >> UM_RUN_UNIT_SHIFT],
				    memory_order_relaxed);
}

bool um_run_resize(struct um_page *page, void *p, size_t size)
{
	struct um_run *r = um_run_of(page);
	int i = (int)(((uint8_t *)p - page->start) >> UM_RUN_UNIT_SHIFT);
	int n = atomic_load_explicit(&r->len[i], memory_order_relaxed);
	int want = (int)((size + UM_RUN_UNIT - 1) >> UM_RUN_UNIT_SHIFT);
	if (want < n) {
		um_run_give(r, i + want, n - want);
		atomic_store_explicit(&r->len[i], (uint8_t)want, memory_order_relaxed);
		if (page->free_slow & UM_PAGE_FULL)
			um_page_unfull(page->heap, page); /* its units serve again */
		return true;
	} else if (want > n) {
		if (i + want > UM_RUN_UNITS || um_bits_next(r->used, i + n, true) < i + want)
			return false;
		um_run_claim(r, i + n, want - n);
	}
	atomic_store_explicit(&r->len[i], (uint8_t)want, memory_order_relaxed);
	return true;
}

uint8_t *um_run_block_around(struct um_page *page, const void *p, size_t *size)
{
	struct um_run *r = um_run_of(page);
	int u = (int)(((const uint8_t *)p - page->start) >> UM_RUN_UNIT_SHIFT);
	int lowest = u >= (int)(UM_SMALL_MAX / UM_RUN_UNIT) ? u - (int)(UM_SMALL_MAX / UM_RUN_UNIT) + 1 : 0;
	for (int i = u; i >= lowest; i--) {
		int n = atomic_load_explicit(&r->len[i], memory_order_relaxed);
		if (n == 0)
			continue;
		if (i + n <= u || (atomic_load_explicit(&r->pending[i >> 6], memory_order_relaxed) >>
				   (i & 63) & 1))
			return NULL; /* ends before @p, or another thread freed it */
		*size = (size_t)n << UM_RUN_UNIT_SHIFT;
		return page->start + ((size_t)i << UM_RUN_UNIT_SHIFT);
	}
	return NULL;
}

size_t um_run_sweep(struct um_heap *heap, bool all)
{
	uint64_t ms = um_now_ms();
	if (!all && ms - heap->run_ms < UM_RUN_SWEEP_MS)
		return 0;
	heap->run_ms = ms;
	uintptr_t ps = um_page_size();
	size_t bytes = 0;
	for (struct um_page *page = heap->queue[UM_RUN_CLASS].first; page; page = page->next) {
		struct um_run *r = um_run_of(page);
		uint64_t cold[UM_RUN_UNITS / 64];
		for (int w = 0; w < UM_RUN_UNITS / 64; w++) {
			uint64_t free_dirty = ~r->used[w] & r->dirty[w];
			cold[w] = all ? free_dirty : free_dirty & r->seen[w];
			r->seen[w] = free_dirty & ~cold[w];
		}
		for (int i = um_bits_next(cold, 0, true); i < UM_RUN_UNITS;) {
			int j = um_bits_next(cold, i, false);
			/* whole OS pages only: units that share one with a
			 * block stay dirty, for a later sweep */
			uintptr_t lo = ((uintptr_t)page->start + ((size_t)i << UM_RUN_UNIT_SHIFT) + ps - 1) & ~(ps - 1);
			uintptr_t hi = ((uintptr_t)page->start + ((size_t)j << UM_RUN_UNIT_SHIFT)) & ~(ps - 1);
			if (hi > lo) {
				int u = (int)((lo - (uintptr_t)page->start) >> UM_RUN_UNIT_SHIFT);
				int n = (int)((hi - lo) >> UM_RUN_UNIT_SHIFT);
				um_bits_assign(r->dirty, u, n, false);
				/* refused (mlock'ed): the bytes stay, not zero */
				if (um_os_discard((void *)lo, hi - lo)) {
					bytes += hi - lo;
					um_bits_assign(r->zero, u, n, true);
				}
			}
			i = um_bits_next(cold, j, true);
		}
	}
	return bytes; /* um_os_discard() counted them */
}

void *um_run_alloc(struct um_heap *heap, size_t size, bool zero)
{
	int n = (int)((size + UM_RUN_UNIT - 1) >> UM_RUN_UNIT_SHIFT);
	struct um_page_queue *q = &heap->queue[UM_RUN_CLASS];
	um_heap_process_delayed(heap);
	for (struct um_page *page = q->first, *next; page; page = next) {
		next = page->next;
		um_page_collect(page);
		struct um_run *r = um_run_of(page);
		if (r->longest >= n && r->free_units >= n) {
			int i = um_run_find(r, n);
			if (i >= 0)
				return um_run_take(page, i, n, zero);
		}
		if (r->free_units < UM_RUN_FULL_UNITS && !um_page_try_full(heap, page))
			um_page_collect(page); /* a remote free raced in: stay */
	}
	struct um_page *page = um_page_new(heap, UM_RUN_CLASS);
	if (page == NULL)
		return NULL; /* errno set by the segment layer */
	um_queue_push_back(heap, q, page); /* first fit: older pages first */
	return um_run_take(page, 0, n, zero);
}

static struct um_page *um_heap_find_page(struct um_heap *heap, size_t cls)
{
	struct um_page_queue *q = &heap->queue[cls];
	struct um_page *page = q->first;
	while (page) {
		struct um_page *next = page->next;
		um_page_collect(page);
		if (page->free)
			goto found;
		if (atomic_load_explicit(&page->cold, memory_order_relaxed)) {
			um_medium_warm(page); /* before carving: it was resident once */
			goto found;
		}
		if (page->capacity < page->reserved) {
			um_page_extend(page);
			goto found;
		}
		if (!um_page_try_full(heap, page)) {
			um_page_collect(page); /* a remote free raced in */
			if (page->free)
				goto found;
		}
		page = next;
	}
	page = um_page_new(heap, cls);
	if (page == NULL)
		return NULL;
	um_page_extend(page);
	um_queue_push_front(heap, q, page);
	return page;
found:
	if (page != q->first) {
		um_queue_remove(heap, q, page);
		um_queue_push_front(heap, q, page);
	}
	return page;
}

/* Claim a free block of an out-of-band page, or NULL if it is full. */
static void *um_oob_claim(struct um_page *page)
{
	struct um_segment *seg = um_segment_of_page(page);
	_Atomic uint64_t *bits = um_oob_bits(seg, page);
	uint32_t words = (page->reserved + 63) / 64;
	for (uint32_t k = 0; k < words; k++) {
		uint32_t w = (page->oob_hint + k) % words;
		uint64_t valid = w + 1 < words || page->reserved % 64 == 0
					 ? ~(uint64_t)0
					 : ((uint64_t)1 << (page->reserved % 64)) - 1;
		uint64_t v = atomic_load_explicit(&bits[w], memory_order_relaxed);
		while (~v & valid) {
			uint64_t m = (uint64_t)1 << __builtin_ctzll(~v & valid);
			v = atomic_fetch_or_explicit(&bits[w], m, memory_order_acquire);
			if (!(v & m)) {
				page->oob_hint = w;
				atomic_fetch_add_explicit(&page->oob_used, 1, memory_order_relaxed);
				return page->start + ((size_t)w * 64 + (size_t)__builtin_ctzll(m)) *
							     page->block_size;
			}
		}
	}
	return NULL;
}

static void *um_oob_alloc(struct um_heap *heap, size_t cls)
{
	struct um_page_queue *q = &heap->queue[cls];
	for (struct um_page *page = q->first; page; page = page->next) {
		void *b = um_oob_claim(page);
		if (b) {
			if (page != q->first) {
				um_queue_remove(heap, q, page);
				um_queue_push_front(heap, q, page);
			}
			return b;
		}
	}
	struct um_page *page = um_page_new(heap, cls);
	if (page == NULL)
		return NULL;
	um_queue_push_front(heap, q, page);
	return um_oob_claim(page);
}

void um_oob_free(struct um_segment *seg, struct um_page *page, void *p)
{
	size_t off = (size_t)((uint8_t *)p - page->start);
	if (off % page->block_size != 0 || off / page->block_size >= page->reserved) {
		um_report_invalid("free", p, "pointer into the middle of a block");
		return;
	}
	size_t i = off / page->block_size;
	uint64_t m = (uint64_t)1 << (i % 64);
	uint64_t old = atomic_fetch_and_explicit(&um_oob_bits(seg, page)[i / 64], ~m,
						 memory_order_release);
	if (!(old & m)) {
		um_report_invalid("free", p, "double free");
		return;
	}
	if (atomic_fetch_sub_explicit(&page->oob_used, 1, memory_order_relaxed) == 1 &&
	    um_segment_owned(seg))
		um_page_free_slow(page); /* the owner gives an empty page back */
}

bool um_oob_is_free(struct um_segment *seg, struct um_page *page, const void *base)
{
	size_t i = (size_t)((const uint8_t *)base - page->start) / page->block_size;
	uint64_t v = atomic_load_explicit(&um_oob_bits(seg, page)[i / 64], memory_order_relaxed);
	return !(v & ((uint64_t)1 << (i % 64)));
}

void *um_heap_alloc_class(struct um_heap *heap, size_t cls)
{
	if (um_unlikely(heap->oob))
		return um_oob_alloc(heap, cls);
	struct um_page *page = heap->pages[cls];
	if (page->free == NULL) {
		um_heap_process_delayed(heap);
		page = heap->pages[cls];
		if (page->free == NULL) {
			page = um_heap_find_page(heap, cls);
			if (page == NULL)
				return NULL; /* errno set by the segment layer */
		}
	}
	void *b = page->free;
	page->free = *(void **)b;
	page->used++;
	um_block_clear_tag(b);
	return b;
}
