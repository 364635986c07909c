/* SPDX-License-Identifier: MIT */
/*
 * alloc.h - the allocator's own seams (private to src/alloc; the preload
 * library calls its malloc family directly, without a PLT hop).
 *
 * Layout, mimalloc-style:
 *   segment  4 MiB mapping aligned to 4 MiB; slice 0 holds this header, the
 *            other 63 slices of 64 KiB are handed to pages. A registry keyed
 *            by addr >> 22 says which 4 MiB granules are ours, so any pointer
 *            finds its segment in O(1) and foreign pointers are recognised
 *            without touching memory we do not own.
 *   page     1..16 consecutive slices holding blocks of one size class.
 *   heap     one per (thread, location): per-class page queues, a thread-
 *            local fast path with no locks. Frees from other threads go to
 *            an atomic per-page list (or the heap's delayed list when the
 *            page is full) and are collected by the owner.
 *   huge     allocations above UM_SMALL_MAX get their own aligned mapping
 *            ("huge mapping", not a segment) whose header, the same struct
 *            um_segment of kind HUGE, is its first page (realloc: mremap).
 */
#ifndef UM_ALLOC_H
#define UM_ALLOC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define UM_SEGMENT_SHIFT 22
#define UM_SEGMENT_SIZE ((size_t)1 << UM_SEGMENT_SHIFT)
#define UM_SEGMENT_MASK ((uintptr_t)UM_SEGMENT_SIZE - 1)
#define UM_SLICE_SHIFT 16
#define UM_SLICE_SIZE ((size_t)1 << UM_SLICE_SHIFT)
#define UM_SLICES ((int)(UM_SEGMENT_SIZE / UM_SLICE_SIZE)) /* 64 */
#define UM_PAGE_MAX_SLICES 16 /* 1 MiB: three such pages fit a segment */
#define UM_SMALL_MAX ((size_t)512 << 10) /* larger: huge, own mapping */
#define UM_CLASSES 58                    /* class 0 is "size 0": slow path */
#define UM_RUN_CLASS 57                  /* the queue of run pages (not a size) */
#define UM_MIN_ALIGN 16
#define UM_LOC_SLOTS 32                  /* distinct locations in one process */
#define UM_HUGE_STASH 8                  /* freed huge blocks a thread keeps */
#define UM_MEDIUM_MIN ((size_t)10 << 10) /* from here on blocks are runs of units (page.c) */
#define UM_RUN_UNIT_SHIFT 12
#define UM_RUN_UNIT ((size_t)1 << UM_RUN_UNIT_SHIFT) /* run pages: 4 KiB units */
#define UM_RUN_UNITS ((int)(UM_PAGE_MAX_SLICES * UM_SLICE_SIZE / UM_RUN_UNIT)) /* 256 a page */
#define UM_RUN_SWEEP_MS 10 /* free units go back when free across two sweeps this far apart */
#define UM_MEDIUM_COLD_MS 50 /* medium blocks of size classes go cold when not reused this long */
#define UM_KEEP_EMPTY_SEGMENTS_MAX 64    /* empty segments a heap keeps at most (256 MiB) */

#define UM_SEG_MAGIC 0x756d5347u /* "umSG" */
enum um_segment_kind { UM_SEG_SMALL = 1, UM_SEG_HUGE = 2 };
enum um_huge_state { UM_HUGE_LIVE = 1, UM_HUGE_CACHED = 2 };

/*
 * Out-of-band pages (heaps on a device): the allocator never touches their
 * blocks, which would fault device pages back to host memory. Which blocks
 * are out is a bitmap in the segment's header slice (host memory: only the
 * data slices are placed), set and cleared atomically by any thread; the
 * free list, the free tag and remote-free lists are not used.
 */
#define UM_PAGE_IN_USE 1
#define UM_PAGE_OOB 2 /* page->in_use of an out-of-band page */
#define UM_PAGE_RUN 3 /* page->in_use of a run page (blocks of any number of units) */

/* page->free_slow: why the owner's free of a block of this page takes
 * the slow path (any bit set) */
#define UM_PAGE_FULL 1  /* the page is in heap->full */
#define UM_PAGE_STAMP 2 /* medium blocks: each free is stamped (page.c) */
#define UM_OOB_BITS_OFFSET (UM_SLICE_SIZE / 2)
#define UM_OOB_WORDS_PER_SLICE (UM_SLICE_SIZE / UM_MIN_ALIGN / 64)

/* Thread ids are ours (never reused), 0 = no thread yet, ~0 = abandoned. */
#define UM_TID_NONE 0
#define UM_TID_ABANDONED UINT64_MAX

/*
 * Low bits of page->thread_free (blocks are 16-aligned): the page's state
 * for remote frees. NORMAL: push onto the page's list. FULL: the page sits
 * in its heap's full list and the owner does not look at it; the first
 * remote free flips it to NOTIFIED and hands its block to the heap's
 * delayed list (which the owner drains, unfulling the page); later remote
 * frees go to the page's list again. So a full page costs the heap's list
 * one push, not one per free.
 */
#define UM_TF_FULL ((uintptr_t)1)
#define UM_TF_NOTIFIED ((uintptr_t)2)
/* A remote free is pushing onto page->heap's delayed list: the heap must
 * not change until it is NOTIFIED (reclaiming an abandoned heap waits). */
#define UM_TF_FREEING ((uintptr_t)3)
#define UM_TF_STATE ((uintptr_t)3)

struct um_heap;
struct um_tld;

/* 128 bytes, aligned: free's fields in one cache line, index by shift. */
struct __attribute__((aligned(128))) um_page {
	void *free;         /* owner's free list */
	uint32_t used;      /* blocks out (remote frees count until collected) */
	uint32_t capacity;  /* blocks carved so far (carving is lazy) */
	uint32_t reserved;  /* blocks that fit in the page */
	uint32_t block_size;
	uint8_t cls;
	uint8_t slice_count;
	uint8_t slice_index;
	uint8_t free_slow;  /* owner's frees take the slow path: UM_PAGE_FULL | UM_PAGE_STAMP */
	uint8_t in_use;
	uint8_t *start;
	uint64_t div_magic; /* um_div_magic(block_size): the free path's grid check;
			     * 0 when not in use, and for out-of-band pages */
	_Atomic uint32_t oob_used; /* out-of-band pages: blocks out */
	uint32_t oob_hint;         /* out-of-band pages: first bitmap word to look at */
	/* medium pages: free blocks whose memory went back to the OS, by
	 * index (off the free list; written by the owner, read by
	 * unimem_ptr_info() from any thread) */
	_Atomic uint32_t cold;
	_Atomic uintptr_t thread_free; /* remote frees | UM_TF_FULL */
	struct um_page *next, *prev;
	struct um_heap *heap;
};

_Static_assert(sizeof(struct um_page) == 128, "free's fields in one cache line, index by shift");

struct um_segment {
	/* common to small segments and huge mappings */
	uint32_t magic;
	uint32_t kind;
	size_t map_size;
	unimem_location_t loc;  /* requested location */
	/* huge only */
	size_t huge_offset;     /* user pointer = segment + huge_offset */
	_Atomic int huge_state;
	bool huge_zero;         /* contents known to be zero (fresh mapping) */
	bool huge_discarded;    /* cached and given back to the OS */
	size_t huge_slack;      /* live: mapped beyond the size asked for */
	uint64_t cached_at_ms;
	struct um_segment *cache_next;
	/* small only */
	_Atomic uint64_t owner_tid;
	struct um_heap *heap;   /* atomic accesses: read by remote frees */
	struct um_segment *next, *prev;
	uint64_t used_mask;     /* slices in pages (bit 0: this header) */
	uint64_t dirty_mask;    /* free slices not yet discarded */
	uint64_t discarded_mask; /* slices discarded since placed: a device
				  * segment places them again when reused */
	uint8_t slice_page[UM_SLICES]; /* slice -> first slice of its page */
	struct um_page pages[UM_SLICES];
};

struct um_page_queue {
	struct um_page *first, *last;
};

struct um_heap {
	/* fast path: first page of each class queue, or &um_page_empty */
	struct um_page *pages[UM_CLASSES];
	uint64_t tid;
	struct um_tld *tld;
	unimem_location_t loc;
	int slot;
	bool oob;                  /* metadata out of band (device locations) */
	_Atomic uintptr_t delayed; /* remote frees into full pages */
	struct um_page_queue queue[UM_CLASSES];
	struct um_page_queue full;
	struct um_segment *segments;
	size_t segment_count;
	size_t empty_segments;  /* kept mapped for reuse */
	size_t dirty_slices;    /* freed slices not yet discarded */
	size_t page_slices;     /* slices in pages */
	size_t peak_slices;     /* recent high water of page_slices */
	uint64_t last_purge_ms;
	uint32_t releases;      /* pages released: the purge reads the clock every 16th */
	uint64_t medium_frees;  /* owner's frees of medium blocks: their clock */
	uint64_t medium_ms;     /* um_now_ms() at the last walk of medium pages */
	uint32_t run_frees;     /* blocks of run pages freed: a sweep every 16th */
	uint64_t run_ms;        /* um_now_ms() at the last sweep of run pages */
	struct um_heap *pool_next; /* abandoned / free heap lists */
};

struct um_tld {
	uint64_t tid;
	struct um_heap *heaps[UM_LOC_SLOTS];
	struct um_tld *pool_next;
	/* Huge blocks this thread allocated minus those it freed (any
	 * thread's blocks): written by the owner only, summed over all tlds
	 * by the statistics. Kept when a tld is reused. No atomic RMW on the
	 * huge paths. */
	int64_t huge_count, huge_bytes;
	/* Huge blocks this thread freed, kept for its own next huge
	 * allocations without the cache's lock (huge.c), newest last. Owner
	 * only; emptied into the shared cache when full, at thread exit and
	 * after unimem_collect(). */
	struct um_segment *huge_stash[UM_HUGE_STASH];
	uint32_t huge_stash_count;
	uint32_t huge_stash_gen;
	size_t huge_stash_bytes;
	struct um_tld *all_next; /* every tld ever made */
};

/* Empty @tld's huge stash into the shared cache (thread exit, collect). */
UM_INTERNAL void um_huge_stash_flush(struct um_tld *tld);

/* Count a huge allocation (+) or free (-) on the calling thread. */
UM_INTERNAL void um_huge_account(int64_t count, int64_t bytes);

/* The calling thread's heap for the default location (&um_heap_empty
 * before the thread's first allocation) and its thread data. */
extern __thread struct um_heap *um_thread_heap
	__attribute__((tls_model("initial-exec"))) UM_INTERNAL;
extern __thread struct um_tld *um_thread_tld
	__attribute__((tls_model("initial-exec"))) UM_INTERNAL;
/* Its tid (UM_TID_NONE before): one TLS load on free's owner check. */
extern __thread uint64_t um_thread_tid
	__attribute__((tls_model("initial-exec"))) UM_INTERNAL;
/* The small segment of this thread's last local free, or UM_NO_SEGMENT
 * (odd: never a segment address, so no pointer matches it, NULL
 * included). Only ever one this thread owns; reset when it unmaps it and
 * at exit. */
#define UM_NO_SEGMENT ((struct um_segment *)1)
extern __thread struct um_segment *um_thread_segment
	__attribute__((tls_model("initial-exec"))) UM_INTERNAL;
extern struct um_heap um_heap_empty UM_INTERNAL;
extern struct um_page um_page_empty UM_INTERNAL;

/* um_class_of() for sizes up to 1 KiB, by 16-byte step (generated from
 * it): a table load is shorter than the clz path on the malloc fast path. */
static const uint8_t um_class_small[65] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 10, 10, 11, 11, 12,
	12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15, 16, 16, 16,
	16, 17, 17, 17, 17, 17, 17, 17, 17, 18, 18, 18, 18, 18, 18, 18,
	18, 19, 19, 19, 19, 19, 19, 19, 19, 20, 20, 20, 20, 20, 20, 20,
	20,
};

/* Size classes: 16-byte steps to 128, then four classes per doubling. */
static inline size_t um_class_of(size_t size)
{
	if (size <= 1024)
		return um_class_small[(size + 15) >> 4];
	size_t w = size - 1;
	unsigned b = 63u - (unsigned)__builtin_clzl(w);
	return 9 + (size_t)(b - 7) * 4 + ((w >> (b - 2)) & 3);
}

static inline size_t um_class_size(size_t cls)
{
	if (cls <= 8)
		return cls << 4;
	size_t k = cls - 9;
	unsigned b = 7 + (unsigned)(k / 4);
	return ((size_t)1 << b) + (k % 4 + 1) * ((size_t)1 << (b - 2));
}

/*
 * Is a page offset on the block grid? Lemire's divisibility test: n is a
 * multiple of d iff n * M < M with M = 2^64 / d (rounded up), for any
 * 32-bit n. One multiply on free's fast path instead of a division.
 */
static inline uint64_t um_div_magic(uint32_t d) { return UINT64_MAX / d + 1; }
static inline bool um_on_grid(uint32_t off, uint64_t magic)
{
	return (uint64_t)off * magic < magic;
}

/*
 * A freed small block carries a tag in its second word (every block has
 * 16 bytes): its address xor a per-process random cookie. Allocation clears
 * it, so a free that finds the tag is a double free (a live block holding
 * exactly that value by chance: 2^-64).
 */
extern uintptr_t um_free_cookie UM_INTERNAL;
static inline uintptr_t um_free_tag(const void *p) { return (uintptr_t)p ^ um_free_cookie; }
static inline void um_block_clear_tag(void *b)
{
	__atomic_store_n(&((uintptr_t *)b)[1], 0, __ATOMIC_RELAXED); /* a plain mov */
}

/* registry (segment.c) ------------------------------------------------- */
extern _Atomic(_Atomic(struct um_segment *) *) um_registry[] UM_INTERNAL;
#define UM_REG_LEAF_SHIFT 14
#define UM_ADDR_BITS 47

static inline struct um_segment *um_segment_of(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (um_unlikely(a >> UM_ADDR_BITS))
		return NULL;
	_Atomic(struct um_segment *) *leaf = atomic_load_explicit(
		&um_registry[a >> (UM_SEGMENT_SHIFT + UM_REG_LEAF_SHIFT)],
		memory_order_acquire);
	if (um_unlikely(leaf == NULL))
		return NULL;
	return atomic_load_explicit(
		&leaf[(a >> UM_SEGMENT_SHIFT) & ((1u << UM_REG_LEAF_SHIFT) - 1)],
		memory_order_acquire);
}

_Static_assert(sizeof(struct um_segment) <= UM_OOB_BITS_OFFSET,
	       "the out-of-band bitmap follows the segment header in slice 0");

static inline _Atomic uint64_t *um_oob_bits(struct um_segment *seg, const struct um_page *page)
{
	return (_Atomic uint64_t *)((uint8_t *)seg + UM_OOB_BITS_OFFSET) +
	       (size_t)page->slice_index * UM_OOB_WORDS_PER_SLICE;
}

/* Blocks out of @page (the owner's count, or the out-of-band one). */
static inline uint32_t um_page_used(const struct um_page *page)
{
	return page->in_use == UM_PAGE_OOB
		       ? atomic_load_explicit(&page->oob_used, memory_order_relaxed)
		       : page->used;
}

static inline struct um_page *um_page_of(struct um_segment *seg, const void *p)
{
	size_t idx = ((uintptr_t)p - (uintptr_t)seg) >> UM_SLICE_SHIFT;
	return &seg->pages[seg->slice_page[idx]];
}

/*
 * A run page (page.c) holds blocks of UM_MEDIUM_MIN to UM_SMALL_MAX bytes
 * as runs of 4 KiB units, any number of them, so units a block freed serve
 * the next block of any size. Its bookkeeping lives in the page
 * structures of its other slices, which a page of 16 slices leaves unused.
 * Only the owner writes it; len is atomic for unimem_ptr_info() and for
 * the checks of other threads' frees.
 */
struct um_run {
	uint64_t used[UM_RUN_UNITS / 64];  /* units in blocks */
	uint64_t dirty[UM_RUN_UNITS / 64]; /* free units not given back to the OS */
	uint64_t seen[UM_RUN_UNITS / 64];  /* ... that were so at the last sweep */
	uint64_t zero[UM_RUN_UNITS / 64];  /* free units known to read zero */
	/* blocks other threads freed, not yet taken in by the owner: a
	 * second such free is caught before its push (it would link the
	 * block to itself) */
	_Atomic uint64_t pending[UM_RUN_UNITS / 64];
	uint16_t free_units;
	uint16_t longest; /* at least the longest run of free units */
	_Atomic uint8_t len[UM_RUN_UNITS]; /* units of the block starting here, or 0 */
};

_Static_assert(sizeof(struct um_run) <= (UM_PAGE_MAX_SLICES - 1) * sizeof(struct um_page),
	       "a run page's bookkeeping fits its spare page structures");
_Static_assert(UM_SMALL_MAX / UM_RUN_UNIT <= 255, "a block's units fit len");

static inline struct um_run *um_run_of(struct um_page *page)
{
	return (struct um_run *)(page + 1);
}

/* Does @heap make a block of @size bytes a run (not a size class)? */
static inline bool um_heap_runs(const struct um_heap *heap, size_t size)
{
	return size >= UM_MEDIUM_MIN && size <= UM_SMALL_MAX && !heap->oob;
}

/* Is @seg (a small segment) the calling thread's? */
static inline bool um_segment_owned(const struct um_segment *seg)
{
	return atomic_load_explicit(&seg->owner_tid, memory_order_relaxed) == um_thread_tid;
}

UM_INTERNAL int um_registry_set(void *base, size_t size, struct um_segment *seg);
UM_INTERNAL void um_registry_clear(void *base, size_t size, struct um_segment *seg);

/* segments (segment.c) and huge mappings (huge.c) ----------------------- */
UM_INTERNAL struct um_segment *um_segment_new(struct um_heap *heap);
UM_INTERNAL void um_segment_delete(struct um_segment *seg);
UM_INTERNAL void *um_huge_alloc(struct um_heap *heap, size_t size, size_t align,
				bool zero);
UM_INTERNAL __attribute__((noinline)) void um_huge_free(struct um_segment *seg, void *p);
UM_INTERNAL void *um_huge_realloc(struct um_segment *seg, void *p, size_t size);
/* Unmap every cached huge mapping; bytes unmapped. */
UM_INTERNAL size_t um_huge_cache_flush(void);
static inline size_t um_huge_usable(const struct um_segment *seg)
{
	return seg->map_size - seg->huge_offset;
}
/*
 * The allocator's two outside calls (segment.c). um_alloc_place(): fresh
 * memory of a located heap goes to @loc before its first touch (provider
 * map, BIND) and the range map records that placement. Advice does not
 * outlive the memory: um_alloc_forget() when a range is unmapped or mapped
 * fresh, um_alloc_reuse() when freed memory goes to a new owner (records
 * dropped, a preferred-location policy back to @placement, the providers'
 * attributes back to their defaults). Both cost an atomic load while
 * nothing was ever advised.
 */
UM_INTERNAL int um_alloc_place(unimem_location_t loc, void *addr, size_t size);
UM_INTERNAL void um_alloc_forget(void *addr, size_t size);
UM_INTERNAL void um_alloc_reuse(void *addr, size_t size, unimem_location_t placement);
/* O(1): the live allocation that @p points into, or false. */
struct um_alloc_info {
	void *base;
	size_t size;
	unimem_location_t requested;
	void *region;
	size_t region_size;
};
UM_INTERNAL bool um_alloc_lookup(const void *p, struct um_alloc_info *info);

static inline struct um_segment *um_segment_of_page(const struct um_page *page)
{
	return (struct um_segment *)((uintptr_t)page & ~UM_SEGMENT_MASK);
}

static inline uint64_t um_slice_bits(int idx, int n)
{
	uint64_t run = n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
	return run << idx;
}

/* pages (page.c) --------------------------------------------------------- */
UM_INTERNAL void um_queue_remove(struct um_heap *heap, struct um_page_queue *q,
				 struct um_page *page);
UM_INTERNAL void um_queue_push_front(struct um_heap *heap, struct um_page_queue *q,
				     struct um_page *page);
UM_INTERNAL void um_queue_push_back(struct um_heap *heap, struct um_page_queue *q,
				    struct um_page *page);
/* Give an empty page's slices back to its segment; @force also unmaps the
 * segment when it empties. */
UM_INTERNAL void um_page_release(struct um_heap *heap, struct um_page *page, bool force);
UM_INTERNAL void um_page_take_list(struct um_page *page, uintptr_t list);
/* Move frees made by other threads onto the owner's list. */
UM_INTERNAL void um_page_collect(struct um_page *page);
UM_INTERNAL void um_free_owned(struct um_page *page, void *p);
UM_INTERNAL bool um_run_put(struct um_page *page, void *p);
UM_INTERNAL void um_heap_process_delayed(struct um_heap *heap);
/* Discard a heap's freed slices (all, or down to @keep); bytes discarded. */
UM_INTERNAL size_t um_heap_purge(struct um_heap *heap);
UM_INTERNAL size_t um_heap_purge_to(struct um_heap *heap, size_t keep);
UM_INTERNAL void um_heap_unlink_segment(struct um_heap *heap, struct um_segment *seg);

/* heaps, threads (heap.c) ------------------------------------------------ */
/* @heap needs memory: it takes over an abandoned heap of its slot, if any. */
UM_INTERNAL bool um_heap_reclaim(struct um_heap *heap);
/* A remote free went into abandoned heap @from: the freeing thread takes
 * it over, if it is still abandoned. */
UM_INTERNAL void um_reclaim_heap(struct um_heap *from);
UM_INTERNAL struct um_heap *um_thread_init(void);
UM_INTERNAL struct um_heap *um_heap_for_location(unimem_location_t loc);
UM_INTERNAL void *um_heap_alloc_class(struct um_heap *heap, size_t cls);
/* Run pages (page.c): a block of @size bytes (UM_MEDIUM_MIN..UM_SMALL_MAX,
 * aligned to a unit; @zero: cleared, writing only units not known to be
 * zero); the units of the block at @p, or 0 when @p is not
 * the start of a live block; resize the caller's block in place (owner
 * only): true if it could; the block around @p (unimem_ptr_info()). */
UM_INTERNAL void *um_run_alloc(struct um_heap *heap, size_t size, bool zero);
UM_INTERNAL size_t um_run_units(struct um_page *page, const void *p);
UM_INTERNAL bool um_run_resize(struct um_page *page, void *p, size_t size);
UM_INTERNAL uint8_t *um_run_block_around(struct um_page *page, const void *p, size_t *size);
/* Give back the free units of @heap's run pages: those free since the
 * last sweep (@all: every one); bytes given back. */
UM_INTERNAL size_t um_run_sweep(struct um_heap *heap, bool all);

/* The calling thread takes over every abandoned heap (unimem_collect). */
UM_INTERNAL size_t um_alloc_reclaim_all(void);
/* Give back what @heap (the caller's) does not use; bytes unmapped or discarded. */
UM_INTERNAL size_t um_heap_collect(struct um_heap *heap);
UM_INTERNAL __attribute__((noinline)) void um_free_remote(struct um_page *page, void *p);
UM_INTERNAL __attribute__((noinline)) void um_page_free_slow(struct um_page *page);
/* free() of a block of an out-of-band page (any thread). */
UM_INTERNAL void um_oob_free(struct um_segment *seg, struct um_page *page, void *p);
/* Is out-of-band block @base free? (unimem_ptr_info) */
UM_INTERNAL bool um_oob_is_free(struct um_segment *seg, struct um_page *page, const void *base);
UM_INTERNAL void um_alloc_set_default_location(unimem_location_t loc);
UM_INTERNAL unimem_location_t um_alloc_default_location(void);
UM_INTERNAL void um_lock(void);
UM_INTERNAL void um_unlock(void);
/* The allocator's locks: a futex word, no libc (see os.c). 0 = free. */
typedef struct { _Atomic int v; } um_mutex_t;
UM_INTERNAL void um_mutex_lock(um_mutex_t *m);
UM_INTERNAL void um_mutex_unlock(um_mutex_t *m);
UM_INTERNAL void *um_meta_alloc(size_t size);
UM_INTERNAL uint64_t um_now_ms(void); /* coarse monotonic clock */

/* malloc.c: the malloc family without the public names (the preload
 * library's malloc() etc. call these directly, no PLT hop) */
UM_INTERNAL void *um_malloc(size_t size);
UM_INTERNAL void *um_calloc(size_t n, size_t size);
UM_INTERNAL void *um_realloc(void *p, size_t size);
UM_INTERNAL void um_free(void *p);
UM_INTERNAL void *um_aligned(size_t align, size_t size);
UM_INTERNAL size_t um_usable_size(const void *p);
UM_INTERNAL __attribute__((noinline, cold)) void um_report_invalid(const char *what,
							      const void *p,
							      const char *why);
#define UM_NOT_LIVE "not a live unimem allocation"

/* counters for tests and UNIMEM_PRELOAD_STATS */
struct um_alloc_stats {
	uint64_t segments_mapped;   /* small segments alive now */
	uint64_t segments_total;    /* ever mapped */
	uint64_t huge_live;         /* huge allocations alive now */
	uint64_t huge_total;
	uint64_t invalid_frees;     /* foreign or double frees caught */
	uint64_t heaps_abandoned;   /* heaps of exited threads not yet adopted */
	uint64_t huge_bytes;        /* mapped for live huge allocations */
	uint64_t page_bytes;        /* of small segments, in pages (blocks live or free) */
	uint64_t purged_bytes;      /* ever given back to the OS, the mappings kept */
	uint64_t huge_fresh_bytes;  /* huge blocks served without resident pages:
				     * new mappings, grown tails, discarded entries */
};
UM_INTERNAL void um_alloc_get_stats(struct um_alloc_stats *st);
extern _Atomic uint64_t um_stat_segments UM_INTERNAL;
extern _Atomic uint64_t um_stat_segments_total UM_INTERNAL;
extern _Atomic uint64_t um_stat_huge_total UM_INTERNAL;
extern _Atomic uint64_t um_stat_invalid UM_INTERNAL;
extern _Atomic uint64_t um_stat_page_bytes UM_INTERNAL; /* slices in small pages */
extern _Atomic uint64_t um_stat_purged UM_INTERNAL;
extern _Atomic uint64_t um_stat_huge_fresh UM_INTERNAL;

/* os.c: the OS layer ------------------------------------------------------ */
/* Reserve and commit @size bytes aligned to @align (a power of two >= page). */
UM_INTERNAL void *um_os_map(size_t size, size_t align);
UM_INTERNAL void um_os_unmap(void *addr, size_t size);
/* Give pages back to the OS, keeping the range mapped (MADV_DONTNEED):
 * false if the kernel refused (mlock'ed memory), and then the bytes stay. */
UM_INTERNAL bool um_os_discard(void *addr, size_t size);
UM_INTERNAL uintptr_t um_os_random(void);
/* Map @size bytes so that address + @offset is aligned to @align. */
UM_INTERNAL void *um_os_map_at_offset(size_t size, size_t align, size_t offset);
UM_INTERNAL void *um_os_remap(void *addr, size_t old_size, size_t new_size,
			      size_t align);

#endif /* UM_ALLOC_H */
