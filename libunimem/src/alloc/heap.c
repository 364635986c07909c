/* SPDX-License-Identifier: MIT */
/*
 * heap.c - per-thread heaps: pages of same-size blocks, the slow path of
 * malloc, collection of frees from other threads, thread exit and fork.
 *
 * Ownership rule: only the thread whose tid a segment carries touches the
 * plain fields of its pages and heap. Other threads only push onto atomic
 * lists (page->thread_free, heap->delayed). Heaps and thread data are never
 * unmapped: a heap of an exited thread is abandoned whole and adopted by
 * the next thread that needs a heap for the same location, so a late remote
 * free always finds valid heap memory.
 */
#include <errno.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include "alloc/alloc.h"

__thread struct um_heap *um_thread_heap
	__attribute__((tls_model("initial-exec"))) = &um_heap_empty;
__thread struct um_tld *um_thread_tld __attribute__((tls_model("initial-exec")));
__thread uint64_t um_thread_tid __attribute__((tls_model("initial-exec")));

struct um_page um_page_empty; /* free == NULL: the fast path falls through */
struct um_heap um_heap_empty = {
	.pages = { [0 ... UM_CLASSES - 1] = &um_page_empty },
	.tid = UM_TID_NONE,
};

#define UM_EXTEND_BYTES ((size_t)16 << 10) /* carve blocks 16 KiB at a time */
/* Freed slices are discarded (MADV_DONTNEED) once a heap has 16 MiB of
 * them, at most every 100 ms: memory freed now is often wanted again soon
 * and refaulting it costs more than keeping it a little. */
#define UM_PURGE_SLICES 256
#define UM_PURGE_INTERVAL_MS 100
#define UM_KEEP_EMPTY_SEGMENTS 16 /* mmap/munmap churn guard; RSS bounded by the purge */

static pthread_mutex_t um_mutex = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int um_init_done;
static pthread_key_t um_key;
uintptr_t um_free_cookie;
static _Atomic uint64_t um_next_tid = 1;

/* Locations get a slot the first time a heap is wanted there; slot 0 is
 * "no location" (plain malloc). */
static unimem_location_t um_slot_loc[UM_LOC_SLOTS];
static _Atomic int um_slot_count;
static _Atomic int um_default_slot;

static struct um_tld *um_tlds_free;
static uint8_t *um_meta_cur;
static size_t um_meta_left;

void um_lock(void) { pthread_mutex_lock(&um_mutex); }
void um_unlock(void) { pthread_mutex_unlock(&um_mutex); }

/* Metadata (heaps, thread data): bump-allocated, never returned. Caller
 * holds the lock. */
void *um_meta_alloc(size_t size)
{
	size = (size + 63) & ~(size_t)63;
	if (size > um_meta_left) {
		size_t chunk = size > ((size_t)64 << 10) ? size : (size_t)64 << 10;
		uint8_t *p = um_os_map(chunk, 0);
		if (p == NULL)
			return NULL;
		um_meta_cur = p;
		um_meta_left = chunk;
	}
	void *r = um_meta_cur;
	um_meta_cur += size;
	um_meta_left -= size;
	return r;
}

/* ---- page queues ----------------------------------------------------- */

static inline void um_queue_sync(struct um_heap *heap, struct um_page_queue *q)
{
	if (q != &heap->full) {
		size_t cls = (size_t)(q - heap->queue);
		heap->pages[cls] = q->first ? q->first : &um_page_empty;
	}
}

static void um_queue_remove(struct um_heap *heap, struct um_page_queue *q,
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

static void um_queue_push_front(struct um_heap *heap, struct um_page_queue *q,
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

static void um_queue_push_back(struct um_heap *heap, struct um_page_queue *q,
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

uint64_t um_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline struct um_segment *um_segment_of_page(struct um_page *page)
{
	return (struct um_segment *)((uintptr_t)page & ~UM_SEGMENT_MASK);
}

static inline uint64_t um_slice_bits(int idx, int n)
{
	uint64_t run = n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
	return run << idx;
}

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

static size_t um_heap_purge(struct um_heap *heap)
{
	size_t bytes = 0;
	for (struct um_segment *seg = heap->segments; seg; seg = seg->next) {
		uint64_t m = seg->dirty_mask & ~seg->used_mask;
		while (m) {
			int i = __builtin_ctzll(m);
			int j = i;
			while (j < UM_SLICES && (m >> j & 1))
				j++;
			um_os_discard((uint8_t *)seg + ((size_t)i << UM_SLICE_SHIFT),
				      (size_t)(j - i) << UM_SLICE_SHIFT);
			bytes += (size_t)(j - i) << UM_SLICE_SHIFT;
			m &= ~um_slice_bits(i, j - i);
		}
		seg->dirty_mask = 0;
	}
	heap->dirty_slices = 0;
	return bytes;
}

static bool um_heap_reclaim(struct um_heap *heap);

static struct um_page *um_page_new(struct um_heap *heap, size_t cls)
{
	size_t bs = um_class_size(cls);
	int n = um_class_slices(bs);
	struct um_segment *seg;
	int idx = -1;
	for (seg = heap->segments; seg; seg = seg->next) {
		if (UM_SLICES - __builtin_popcountll(seg->used_mask) < n)
			continue;
		idx = um_find_run(seg->used_mask, n);
		if (idx >= 0)
			break;
	}
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
	heap->dirty_slices -= (size_t)__builtin_popcountll(seg->dirty_mask & bits);
	seg->dirty_mask &= ~bits;
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
	page->in_full = 0;
	__atomic_store_n(&page->start, (uint8_t *)seg + ((size_t)idx << UM_SLICE_SHIFT),
			 __ATOMIC_RELAXED);
	atomic_store_explicit(&page->thread_free, 0, memory_order_relaxed);
	page->next = page->prev = NULL;
	page->heap = heap;
	if (heap->oob) {
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

static void um_heap_unlink_segment(struct um_heap *heap, struct um_segment *seg)
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
static void um_page_release(struct um_heap *heap, struct um_page *page, bool force)
{
	um_queue_remove(heap, &heap->queue[page->cls], page);
	struct um_segment *seg = um_segment_of_page(page);
	uint64_t bits = um_slice_bits(page->slice_index, page->slice_count);
	seg->used_mask &= ~bits;
	atomic_fetch_sub_explicit(&um_stat_page_bytes, (uint64_t)page->slice_count << UM_SLICE_SHIFT,
				  memory_order_relaxed);
	um_hints_reuse(page->start, (size_t)page->slice_count << UM_SLICE_SHIFT, seg->loc);
	if (page->capacity) {
		seg->dirty_mask |= bits;
		heap->dirty_slices += page->slice_count;
	}
	__atomic_store_n(&page->in_use, 0, __ATOMIC_RELAXED);
	page->div_magic = 0; /* free's grid check now fails: no block is live */
	if (seg->used_mask == 1) {
		/* Keep a few empty segments: a heap that breathes in and out
		 * would otherwise mmap and munmap (and fault) all the time. */
		if (force || heap->empty_segments >= UM_KEEP_EMPTY_SEGMENTS) {
			um_heap_unlink_segment(heap, seg);
			um_segment_delete(seg);
			return;
		}
		heap->empty_segments++;
	}
	if (heap->dirty_slices >= UM_PURGE_SLICES) {
		uint64_t now = um_now_ms();
		if (now - heap->last_purge_ms >= UM_PURGE_INTERVAL_MS) {
			heap->last_purge_ms = now;
			um_heap_purge(heap);
		}
	}
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

static void um_page_take_list(struct um_page *page, uintptr_t list)
{
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
static void um_page_collect(struct um_page *page)
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
	page->in_full = 1;
	um_queue_push_back(heap, &heap->full, page);
	return true;
}

static void um_page_unfull(struct um_heap *heap, struct um_page *page)
{
	uintptr_t tf = atomic_exchange_explicit(&page->thread_free, 0,
						memory_order_acq_rel);
	um_queue_remove(heap, &heap->full, page);
	page->in_full = 0;
	um_queue_push_back(heap, &heap->queue[page->cls], page);
	if (tf & ~UM_TF_STATE)
		um_page_take_list(page, tf & ~UM_TF_STATE);
}

/* Owner's free found the page empty or full (rare): fix its queue. */
void um_page_free_slow(struct um_page *page)
{
	struct um_heap *heap = page->heap;
	if (page->in_full)
		um_page_unfull(heap, page);
	if (um_page_used(page) == 0) {
		struct um_page_queue *q = &heap->queue[page->cls];
		if (q->first == page && page->next == NULL)
			return; /* the class's only page: keep it warm */
		um_page_release(heap, page, false);
	}
}

static inline void um_free_owned(struct um_page *page, void *p)
{
	*(void **)p = page->free;
	page->free = p;
	if (--page->used == 0 || page->in_full)
		um_page_free_slow(page);
}

static void um_reclaim_segment(struct um_segment *seg);

void um_free_remote(struct um_page *page, void *p)
{
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
	struct um_segment *seg = um_segment_of_page(page);
	if (um_unlikely(atomic_load_explicit(&seg->owner_tid, memory_order_relaxed) ==
			UM_TID_ABANDONED) && um_thread_tld != NULL)
		um_reclaim_segment(seg);
}

static void um_heap_process_delayed(struct um_heap *heap)
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

static struct um_page *um_heap_find_page(struct um_heap *heap, size_t cls)
{
	struct um_page_queue *q = &heap->queue[cls];
	struct um_page *page = q->first;
	while (page) {
		struct um_page *next = page->next;
		um_page_collect(page);
		if (page->free)
			goto found;
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
	    atomic_load_explicit(&seg->owner_tid, memory_order_relaxed) == um_thread_tid)
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

/* ---- reclaiming abandoned heaps ---------------------------------------- */

/* The heaps of exited threads, per location slot (under um_mutex). */
static struct um_heap *um_heaps_abandoned[UM_LOC_SLOTS];
static _Atomic uint64_t um_heaps_abandoned_count;
static struct um_heap *um_heaps_free; /* no segments left: any slot */

static void um_heap_reset(struct um_heap *heap, int slot);

static void um_move_page(struct um_heap *to, struct um_page *page)
{
	page->heap = to;
	um_queue_push_back(to, &to->queue[page->cls], page);
}

/*
 * @to (the caller's heap) takes over everything of @from, an abandoned heap
 * of the same slot that the caller took out of the pool: segments, pages,
 * the frees made into it since its thread exited. Pages left empty go back
 * and empty segments are unmapped.
 */
static void um_heap_absorb(struct um_heap *to, struct um_heap *from)
{
	for (struct um_segment *s = from->segments; s; s = s->next) {
		__atomic_store_n(&s->heap, to, __ATOMIC_RELAXED);
		atomic_store_explicit(&s->owner_tid, to->tid, memory_order_release);
	}
	/* Full pages: no remote free may still be on its way to from->delayed. */
	while (from->full.first) {
		struct um_page *page = from->full.first;
		uintptr_t tf = atomic_load_explicit(&page->thread_free, memory_order_acquire);
		if ((tf & UM_TF_STATE) == UM_TF_FREEING) {
			sched_yield();
			continue;
		}
		if (!atomic_compare_exchange_weak_explicit(&page->thread_free, &tf, 0,
							   memory_order_acq_rel,
							   memory_order_relaxed))
			continue;
		um_queue_remove(from, &from->full, page);
		page->in_full = 0;
		um_move_page(to, page);
		if (tf & ~UM_TF_STATE)
			um_page_take_list(page, tf & ~UM_TF_STATE);
	}
	for (int cls = 0; cls < UM_CLASSES; cls++) {
		while (from->queue[cls].first) {
			struct um_page *page = from->queue[cls].first;
			um_queue_remove(from, &from->queue[cls], page);
			um_move_page(to, page);
			um_page_collect(page);
		}
	}
	/* nothing can reach from->delayed any more: hand its blocks over */
	uintptr_t list = atomic_exchange_explicit(&from->delayed, 0, memory_order_acquire);
	while (from->segments) {
		struct um_segment *s = from->segments;
		from->segments = s->next;
		s->prev = NULL;
		s->next = to->segments;
		if (to->segments)
			to->segments->prev = s;
		to->segments = s;
		to->segment_count++;
		to->dirty_slices += (size_t)__builtin_popcountll(s->dirty_mask);
	}
	while (list) {
		void *b = (void *)list;
		list = *(uintptr_t *)b;
		um_free_owned(um_page_of(um_segment_of_page((struct um_page *)b), b), b);
	}
	/* what is empty now goes back */
	for (int cls = 0; cls < UM_CLASSES; cls++) {
		struct um_page *page = to->queue[cls].first;
		while (page) {
			struct um_page *next = page->next;
			if (um_page_used(page) == 0 && (page != to->queue[cls].first || next))
				um_page_release(to, page, true);
			page = next;
		}
	}
	um_lock();
	um_heap_reset(from, from->slot);
	from->pool_next = um_heaps_free;
	um_heaps_free = from;
	um_unlock();
}

/* Caller holds um_mutex: take @heap out of its slot's abandoned list. */
static bool um_abandoned_unlink(struct um_heap *heap)
{
	for (struct um_heap **pp = &um_heaps_abandoned[heap->slot]; *pp; pp = &(*pp)->pool_next)
		if (*pp == heap) {
			*pp = heap->pool_next;
			heap->pool_next = NULL;
			atomic_fetch_sub_explicit(&um_heaps_abandoned_count, 1,
						  memory_order_relaxed);
			return true;
		}
	return false;
}

static struct um_heap *um_heap_get(struct um_tld *tld, int slot);

/* Set while the allocator calls out (placement): a free from there must not
 * change the heaps under the caller. */
__thread int um_thread_no_reclaim __attribute__((tls_model("initial-exec")));

/* A remote free found @seg abandoned: its heap becomes (part of) ours. */
static void um_reclaim_segment(struct um_segment *seg)
{
	if (um_thread_no_reclaim)
		return;
	struct um_heap *from = __atomic_load_n(&seg->heap, __ATOMIC_RELAXED);
	struct um_tld *tld = um_thread_tld;
	struct um_heap *to = tld->heaps[from->slot];
	um_lock();
	bool mine = atomic_load_explicit(&seg->owner_tid, memory_order_relaxed) ==
			    UM_TID_ABANDONED && um_abandoned_unlink(from);
	if (mine && to == NULL) {
		/* no heap for that location yet: adopt this one whole */
		from->tid = tld->tid;
		from->tld = tld;
		for (struct um_segment *s = from->segments; s; s = s->next)
			atomic_store_explicit(&s->owner_tid, tld->tid, memory_order_release);
		tld->heaps[from->slot] = from;
	}
	um_unlock();
	if (mine && to != NULL)
		um_heap_absorb(to, from);
}

/* @heap needs memory: take over an abandoned heap of its slot, if any. */
static bool um_heap_reclaim(struct um_heap *heap)
{
	if (atomic_load_explicit(&um_heaps_abandoned_count, memory_order_relaxed) == 0)
		return false;
	um_lock();
	struct um_heap *from = um_heaps_abandoned[heap->slot];
	if (from)
		um_abandoned_unlink(from);
	um_unlock();
	if (from)
		um_heap_absorb(heap, from);
	return from != NULL;
}

size_t um_alloc_reclaim_all(void)
{
	size_t n = 0;
	struct um_tld *tld = um_thread_tld;
	if (tld == NULL || um_thread_no_reclaim)
		return 0;
	for (int slot = 0; slot < UM_LOC_SLOTS; slot++) {
		if (atomic_load_explicit(&um_heaps_abandoned_count, memory_order_relaxed) == 0)
			break;
		if (__atomic_load_n(&um_heaps_abandoned[slot], __ATOMIC_RELAXED) == NULL)
			continue;
		struct um_heap *heap = um_heap_get(tld, slot); /* adopts one */
		n++;
		while (heap && um_heap_reclaim(heap))
			n++;
	}
	return n;
}

/* ---- heaps and threads ----------------------------------------------- */

static int um_slot_find(unimem_location_t loc)
{
	int n = atomic_load_explicit(&um_slot_count, memory_order_acquire);
	for (int i = 0; i < n; i++)
		if (um_slot_loc[i] == loc)
			return i;
	return -1;
}

static int um_slot_of(unimem_location_t loc)
{
	int n, found = um_slot_find(loc);
	if (found >= 0)
		return found;
	um_lock();
	n = atomic_load_explicit(&um_slot_count, memory_order_relaxed);
	int slot = -1;
	for (int i = 0; i < n; i++)
		if (um_slot_loc[i] == loc)
			slot = i;
	if (slot < 0 && n < UM_LOC_SLOTS) {
		um_slot_loc[n] = loc;
		atomic_store_explicit(&um_slot_count, n + 1, memory_order_release);
		slot = n;
	}
	um_unlock();
	return slot;
}

static void um_heap_reset(struct um_heap *heap, int slot)
{
	memset(heap, 0, sizeof(*heap));
	for (int i = 0; i < UM_CLASSES; i++)
		heap->pages[i] = &um_page_empty;
	heap->slot = slot;
	heap->loc = um_slot_loc[slot];
	/* a CPU access to device memory faults it back: no metadata there */
	heap->oob = UNIMEM_LOC_KIND(heap->loc) == UNIMEM_LOC_KIND_DEVICE;
}

static struct um_heap *um_heap_get(struct um_tld *tld, int slot)
{
	struct um_heap *heap = tld->heaps[slot];
	if (heap)
		return heap;
	um_lock();
	heap = um_heaps_abandoned[slot];
	if (heap) {
		um_abandoned_unlink(heap);
	} else {
		heap = um_heaps_free;
		if (heap)
			um_heaps_free = heap->pool_next;
		else
			heap = um_meta_alloc(sizeof(*heap));
		if (heap)
			um_heap_reset(heap, slot);
	}
	if (heap) {
		/* adopt: its pages become ours, frees by us become local */
		heap->pool_next = NULL;
		heap->tid = tld->tid;
		heap->tld = tld;
		for (struct um_segment *s = heap->segments; s; s = s->next)
			atomic_store_explicit(&s->owner_tid, tld->tid,
					      memory_order_release);
	}
	um_unlock();
	tld->heaps[slot] = heap;
	return heap;
}

/*
 * Give back everything @heap holds and does not use: remote frees are
 * collected, empty pages (even a class's last one) go back to their
 * segments, empty segments are unmapped, freed slices discarded. The
 * caller owns @heap. Returns the bytes unmapped or discarded.
 */
size_t um_heap_collect(struct um_heap *heap)
{
	size_t before = heap->segment_count;
	um_heap_process_delayed(heap);
	for (int cls = 0; cls < UM_CLASSES; cls++) {
		struct um_page *page = heap->queue[cls].first;
		while (page) {
			struct um_page *next = page->next;
			um_page_collect(page);
			if (um_page_used(page) == 0)
				um_page_release(heap, page, true);
			page = next;
		}
	}
	for (struct um_segment *s = heap->segments, *next; s; s = next) {
		next = s->next;
		if (s->used_mask == 1) { /* kept empty ones go now */
			um_heap_unlink_segment(heap, s);
			um_segment_delete(s);
		}
	}
	heap->empty_segments = 0;
	return (before - heap->segment_count) * UM_SEGMENT_SIZE + um_heap_purge(heap);
}

/* Thread exit: free what can be freed, hand the rest to the pool. */
static void um_heap_abandon(struct um_heap *heap)
{
	um_heap_collect(heap);
	for (struct um_segment *s = heap->segments; s; s = s->next)
		atomic_store_explicit(&s->owner_tid, UM_TID_ABANDONED,
				      memory_order_release);
	um_lock();
	heap->tid = UM_TID_ABANDONED;
	heap->tld = NULL;
	if (heap->segments == NULL) {
		heap->pool_next = um_heaps_free;
		um_heaps_free = heap;
	} else {
		heap->pool_next = um_heaps_abandoned[heap->slot];
		um_heaps_abandoned[heap->slot] = heap;
		atomic_fetch_add_explicit(&um_heaps_abandoned_count, 1, memory_order_relaxed);
	}
	um_unlock();
}

static void um_thread_done(void *arg)
{
	struct um_tld *tld = arg;
	if (tld == NULL || tld != um_thread_tld)
		return;
	um_thread_heap = &um_heap_empty;
	um_thread_tld = NULL;
	um_thread_tid = UM_TID_NONE;
	for (int i = 0; i < UM_LOC_SLOTS; i++)
		if (tld->heaps[i])
			um_heap_abandon(tld->heaps[i]);
	um_lock();
	tld->pool_next = um_tlds_free;
	um_tlds_free = tld;
	um_unlock();
}


/* fork: no global lock may be held mid-update in the child. Heaps of the
 * threads that do not exist in the child keep their segments' tids, which
 * no child thread has, so the child's frees into them go the remote way. */
static void um_fork_prepare(void) { um_lock(); }
static void um_fork_release(void) { um_unlock(); }
UM_FORK_HOOKS(um_alloc_fork_hooks, UM_FORK_RANK_ALLOC, um_fork_prepare,
	      um_fork_release, um_fork_release);

static void um_global_init(void)
{
	if (atomic_load_explicit(&um_init_done, memory_order_acquire))
		return;
	um_lock();
	if (!atomic_load_explicit(&um_init_done, memory_order_relaxed)) {
		um_os_page_size();
		um_free_cookie = um_os_random() | 1;
		um_slot_loc[0] = UNIMEM_LOC_NONE;
		atomic_store_explicit(&um_slot_count, 1, memory_order_release);
		pthread_key_create(&um_key, um_thread_done);
		atomic_store_explicit(&um_init_done, 1, memory_order_release);
	}
	um_unlock();
}

struct um_heap *um_thread_init(void)
{
	um_global_init();
	if (um_thread_heap != &um_heap_empty)
		return um_thread_heap;
	struct um_tld *tld = um_thread_tld;
	if (tld == NULL) {
		um_lock();
		tld = um_tlds_free;
		if (tld)
			um_tlds_free = tld->pool_next;
		else
			tld = um_meta_alloc(sizeof(*tld));
		um_unlock();
		if (tld == NULL)
			return NULL;
		memset(tld, 0, sizeof(*tld));
		tld->tid = atomic_fetch_add_explicit(&um_next_tid, 1,
						     memory_order_relaxed);
		um_thread_tld = tld;
		um_thread_tid = tld->tid;
	}
	struct um_heap *heap = um_heap_get(
		tld, atomic_load_explicit(&um_default_slot, memory_order_relaxed));
	if (heap == NULL)
		return NULL;
	um_thread_heap = heap;
	/* Both may malloc (a second-level key block, the atfork list): the
	 * heap is in place, so that recursion takes the normal path. */
	pthread_setspecific(um_key, tld);
	um_fork_install();
	return heap;
}

struct um_heap *um_heap_for_location(unimem_location_t loc)
{
	if (um_thread_tld == NULL || um_thread_heap == &um_heap_empty) {
		if (um_thread_init() == NULL)
			return NULL;
	}
	int slot = um_slot_find(loc);
	if (slot < 0) {
		/* A slot is for good: only a location that exists gets one. */
		int err = um_location_check("unimem_malloc_on", loc);
		if (err < 0) {
			errno = -err;
			return NULL;
		}
		slot = um_slot_of(loc);
	}
	if (slot < 0) {
		errno = ENOMEM;
		um_error(-ENOMEM, "unimem_malloc_on: more than %d distinct locations",
			 UM_LOC_SLOTS);
		return NULL;
	}
	struct um_heap *heap = um_heap_get(um_thread_tld, slot);
	if (heap == NULL)
		errno = ENOMEM;
	return heap;
}

void um_alloc_set_default_location(unimem_location_t loc)
{
	int slot = um_slot_of(loc);
	if (slot < 0)
		return;
	atomic_store_explicit(&um_default_slot, slot, memory_order_relaxed);
	if (um_thread_tld != NULL) {
		struct um_heap *heap = um_heap_get(um_thread_tld, slot);
		if (heap)
			um_thread_heap = heap;
	}
}

unimem_location_t um_alloc_default_location(void)
{
	return um_slot_loc[atomic_load_explicit(&um_default_slot, memory_order_relaxed)];
}

void um_alloc_get_stats(struct um_alloc_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->segments_mapped = atomic_load(&um_stat_segments);
	st->segments_total = atomic_load(&um_stat_segments_total);
	st->huge_live = atomic_load(&um_stat_huge);
	st->huge_total = atomic_load(&um_stat_huge_total);
	st->invalid_frees = atomic_load(&um_stat_invalid);
	st->huge_bytes = atomic_load(&um_stat_huge_bytes);
	st->page_bytes = atomic_load(&um_stat_page_bytes);
	st->heaps_abandoned = atomic_load(&um_heaps_abandoned_count);
}
