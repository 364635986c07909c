/* SPDX-License-Identifier: MIT */
/*
 * heap.c - per-thread heaps: location slots, thread start and exit,
 * abandoned heaps and their reclaiming by any thread, collection, fork.
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
#include "provider/provider.h"

__thread struct um_heap *um_thread_heap
	__attribute__((tls_model("initial-exec"))) = &um_heap_empty;
__thread struct um_tld *um_thread_tld __attribute__((tls_model("initial-exec")));
__thread uint64_t um_thread_tid __attribute__((tls_model("initial-exec")));
__thread struct um_segment *um_thread_segment
	__attribute__((tls_model("initial-exec"))) = UM_NO_SEGMENT;

struct um_page um_page_empty; /* free == NULL: the fast path falls through */
struct um_heap um_heap_empty = {
	.pages = { [0 ... UM_CLASSES - 1] = &um_page_empty },
	.tid = UM_TID_NONE,
};


static um_mutex_t um_mutex;
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
static struct um_tld *um_tlds_all;          /* every tld ever made */
static _Atomic int64_t um_huge_count_nothread, um_huge_bytes_nothread;
static uint8_t *um_meta_cur;
static size_t um_meta_left;

void um_lock(void) { um_mutex_lock(&um_mutex); }
void um_unlock(void) { um_mutex_unlock(&um_mutex); }

/* Metadata (heaps, thread data): bump-allocated, never returned. Caller
 * holds the lock. */
void um_huge_account(int64_t count, int64_t bytes)
{
	struct um_tld *t = um_thread_tld;
	if (um_likely(t != NULL)) {
		/* plain movs: only this thread writes them */
		__atomic_store_n(&t->huge_count, t->huge_count + count, __ATOMIC_RELAXED);
		__atomic_store_n(&t->huge_bytes, t->huge_bytes + bytes, __ATOMIC_RELAXED);
	} else {
		atomic_fetch_add_explicit(&um_huge_count_nothread, count, memory_order_relaxed);
		atomic_fetch_add_explicit(&um_huge_bytes_nothread, bytes, memory_order_relaxed);
	}
}

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

/* ---- reclaiming abandoned heaps ---------------------------------------- */

/* The heaps of exited threads, per location slot (under um_mutex). */
static struct um_heap *um_heaps_abandoned[UM_LOC_SLOTS];
static _Atomic uint64_t um_heaps_abandoned_count;
static struct um_heap *um_heaps_free; /* no segments left: any slot */

static void um_heap_reset(struct um_heap *heap, int slot);

/* The exited thread's high water does not come along: what its pages
 * held goes back as they empty instead of raising the keeping budget of
 * the heap that took them (its empty segments, its freed slices). */
static void um_move_page(struct um_heap *to, struct um_page *page)
{
	page->heap = to;
	to->page_slices += page->slice_count;
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
		page->free_slow &= (uint8_t)~UM_PAGE_FULL;
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

/* A remote free found @seg abandoned: its heap becomes (part of) ours. */
void um_reclaim_heap(struct um_heap *from)
{
	struct um_tld *tld = um_thread_tld;
	struct um_heap *to = NULL;
	um_lock();
	/* still abandoned (nobody took it since): it is ours now */
	bool mine = um_abandoned_unlink(from);
	if (mine)
		to = tld->heaps[from->slot];
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
bool um_heap_reclaim(struct um_heap *heap)
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
	if (tld == NULL)
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
	size_t swept = um_run_sweep(heap, true); /* free units of pages still in use */
	return swept + (before - heap->segment_count) * UM_SEGMENT_SIZE + um_heap_purge(heap);
}

/*
 * Thread exit: the heap goes to the pool warm, for the next thread of its
 * location (a thread pool that shrinks and grows again must not fault its
 * memory back in every time). Remote frees are collected and empty pages
 * go back to their segments, but nothing is unmapped and freed slices are
 * discarded only beyond UM_ABANDON_KEEP_SLICES. Any thread can still take
 * it over, and unimem_collect() gives it all back.
 */
#define UM_ABANDON_KEEP_SLICES 128 /* 8 MiB */
static void um_heap_abandon(struct um_heap *heap)
{
	um_heap_process_delayed(heap);
	for (int cls = 0; cls < UM_CLASSES; cls++) {
		struct um_page *page = heap->queue[cls].first;
		while (page) {
			struct um_page *next = page->next;
			um_page_collect(page);
			if (um_page_used(page) == 0 &&
			    (page != heap->queue[cls].first || next != NULL))
				um_page_release(heap, page, false);
			page = next;
		}
	}
	if (heap->dirty_slices > UM_ABANDON_KEEP_SLICES)
		um_heap_purge_to(heap, UM_ABANDON_KEEP_SLICES);
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
	um_thread_segment = UM_NO_SEGMENT;
	for (int i = 0; i < UM_LOC_SLOTS; i++)
		if (tld->heaps[i])
			um_heap_abandon(tld->heaps[i]);
	um_huge_stash_flush(tld);
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
		um_page_size();
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
		if (tld) {
			um_tlds_free = tld->pool_next;
		} else {
			tld = um_meta_alloc(sizeof(*tld)); /* zeroed */
			if (tld) {
				tld->all_next = um_tlds_all;
				__atomic_store_n(&um_tlds_all, tld, __ATOMIC_RELEASE);
			}
		}
		um_unlock();
		if (tld == NULL)
			return NULL;
		/* a reused tld keeps its place in the list and its counts */
		memset(tld->heaps, 0, sizeof(tld->heaps));
		tld->pool_next = NULL;
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
	int64_t count = atomic_load(&um_huge_count_nothread);
	int64_t bytes = atomic_load(&um_huge_bytes_nothread);
	for (struct um_tld *t = __atomic_load_n(&um_tlds_all, __ATOMIC_ACQUIRE); t;
	     t = t->all_next) {
		count += __atomic_load_n(&t->huge_count, __ATOMIC_RELAXED);
		bytes += __atomic_load_n(&t->huge_bytes, __ATOMIC_RELAXED);
	}
	st->huge_live = count > 0 ? (uint64_t)count : 0;
	st->huge_bytes = bytes > 0 ? (uint64_t)bytes : 0;
	st->huge_total = atomic_load(&um_stat_huge_total);
	st->invalid_frees = atomic_load(&um_stat_invalid);
	st->page_bytes = atomic_load(&um_stat_page_bytes);
	st->purged_bytes = atomic_load(&um_stat_purged);
	st->huge_fresh_bytes = atomic_load(&um_stat_huge_fresh);
	st->heaps_abandoned = atomic_load(&um_heaps_abandoned_count);
}
