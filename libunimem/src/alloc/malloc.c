/* SPDX-License-Identifier: MIT */
/*
 * malloc.c - the malloc family with C semantics, unimem_malloc_on and the
 * O(1) pointer lookup. The fast paths are here; everything that may take
 * a lock or make a syscall is in page.c, heap.c, segment.c and huge.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc/alloc.h"
#include "provider/provider.h"

/* ---- diagnostics ----------------------------------------------------- */

void um_report_invalid(const char *what, const void *p, const char *why)
{
	uint64_t n = atomic_fetch_add_explicit(&um_stat_invalid, 1,
					       memory_order_relaxed);
	if (n >= 8)
		return; /* a bug report needs the first few, not a flood */
	char msg[160];
	int len = snprintf(msg, sizeof(msg),
			   "unimem: %s(%p): %s; ignored\n", what, p, why);
	if (len > 0) {
		ssize_t r = write(STDERR_FILENO, msg,
				  (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1);
		(void)r;
	}
}

/*
 * Validate @p as the start of a live block; returns its segment (and page
 * for small blocks) or NULL. Cheap checks only: the registry, the header
 * slice, a page in use, the block grid.
 */
static struct um_segment *um_block_of(const void *p, struct um_page **pagep)
{
	struct um_segment *seg = um_segment_of(p);
	if (seg == NULL)
		return NULL;
	if (seg->kind == UM_SEG_HUGE) {
		if ((const uint8_t *)p != (uint8_t *)seg + seg->huge_offset ||
		    atomic_load_explicit(&seg->huge_state, memory_order_acquire) !=
			    UM_HUGE_LIVE)
			return NULL;
		*pagep = NULL;
		return seg;
	}
	size_t off = (uintptr_t)p - (uintptr_t)seg;
	if (off < UM_SLICE_SIZE)
		return NULL;
	struct um_page *page = um_page_of(seg, p);
	if (!page->in_use ||
	    ((size_t)((const uint8_t *)p - page->start) % page->block_size) != 0)
		return NULL;
	if (page->in_use == UM_PAGE_RUN && um_run_units(page, p) == 0)
		return NULL;
	*pagep = page;
	return seg;
}

/* A block of a run page: the owner puts it back in the bitmap, another
 * thread pushes it onto the page's list, as for any page (checked first
 * where it can be: len is only cleared by the owner). */
static void um_free_run(struct um_segment *seg, struct um_page *page, void *p)
{
	bool owned = um_segment_owned(seg);
	if (um_run_units(page, p) == 0) {
		if (owned) {
			um_free_owned(page, p); /* says which: it sees the bitmap */
			return;
		}
		um_report_invalid("free", p, ((uintptr_t)p & (UM_RUN_UNIT - 1))
						     ? "pointer into the middle of a block"
						     : "not the start of a live block (double free?)");
		return;
	}
	/* freed by another thread and not taken in yet: a second free */
	struct um_run *r = um_run_of(page);
	size_t i = (size_t)((uint8_t *)p - page->start) >> UM_RUN_UNIT_SHIFT;
	uint64_t bit = (uint64_t)1 << (i & 63);
	uint64_t was = owned ? atomic_load_explicit(&r->pending[i >> 6], memory_order_relaxed)
			     : atomic_fetch_or_explicit(&r->pending[i >> 6], bit,
							memory_order_relaxed);
	if (was & bit) {
		um_report_invalid("free", p, "double free");
		return;
	}
	if (owned)
		um_free_owned(page, p);
	else
		um_free_remote(page, p);
}

/* Free's fast path found no grid: an out-of-band page, a run page, or a
 * bad pointer. Out of line: a branch for run pages in free's fast path
 * made single 16-256 B frees 5-10 % slower (code placement), and a run
 * block's free is not faster for it. */
static __attribute__((noinline, cold)) void um_free_off_grid(struct um_segment *seg,
							      struct um_page *page, void *p)
{
	uint8_t in_use = __atomic_load_n(&page->in_use, __ATOMIC_RELAXED);
	if (in_use == UM_PAGE_OOB)
		um_oob_free(seg, page, p);
	else if (in_use == UM_PAGE_RUN)
		um_free_run(seg, page, p);
	else
		um_report_invalid("free", p, in_use ? "pointer into the middle of a block"
						    : UM_NOT_LIVE);
}

/* ---- allocation ------------------------------------------------------ */

static void *um_malloc_slow(struct um_heap *heap, size_t size)
{
	if (heap == &um_heap_empty) {
		heap = um_thread_init();
		if (heap == NULL) {
			errno = ENOMEM;
			return NULL;
		}
	}
	if (size > UM_SMALL_MAX)
		return um_huge_alloc(heap, size, 0, false);
	if (um_heap_runs(heap, size))
		return um_run_alloc(heap, size, false);
	return um_heap_alloc_class(heap, um_class_of(size ? size : 1));
}

static inline void *um_heap_malloc(struct um_heap *heap, size_t size)
{
	if (um_likely(size <= UM_SMALL_MAX)) {
		struct um_page *page = heap->pages[um_class_of(size)];
		void *b = page->free;
		if (um_likely(b != NULL)) {
			page->free = *(void **)b;
			page->used++;
			um_block_clear_tag(b);
			return b;
		}
	}
	return um_malloc_slow(heap, size);
}

void *um_malloc(size_t size)
{
	return um_heap_malloc(um_thread_heap, size);
}

/* A small block of a live page, checked: push it where it belongs. */
static inline void um_free_small(struct um_segment *seg, void *p, bool owned)
{
	/* slice 0 (the header) maps to pages[0], never in use */
	struct um_page *page = um_page_of(seg, p);
	/* Bad frees are caught before they can touch a free list. A page
	 * not in use has div_magic 0, which puts nothing on the grid. */
	if (um_unlikely(!um_on_grid((uint32_t)((uint8_t *)p - page->start),
				   page->div_magic))) {
		um_free_off_grid(seg, page, p);
		return;
	}
	uintptr_t tag = um_free_tag(p);
	if (um_unlikely(((uintptr_t *)p)[1] == tag)) {
		um_report_invalid("free", p, "double free");
		return;
	}
	/* atomic for unimem_ptr_info() from other threads; a plain mov */
	__atomic_store_n(&((uintptr_t *)p)[1], tag, __ATOMIC_RELAXED);
	if (um_likely(owned)) {
		*(void **)p = page->free;
		page->free = p;
		if (um_unlikely(--page->used == 0 || page->free_slow))
			um_page_free_slow(page);
	} else {
		um_free_remote(page, p);
	}
}

void um_free(void *p)
{
	/* The segment of this thread's last local free: it is ours and
	 * alive (cleared when we unmap it or exit), so a block in it needs
	 * neither the registry nor the owner check. */
	struct um_segment *seg = (struct um_segment *)((uintptr_t)p & ~UM_SEGMENT_MASK);
	if (um_likely(seg == um_thread_segment && ((uintptr_t)p & (UM_MIN_ALIGN - 1)) == 0)) {
		um_free_small(seg, p, true);
		return;
	}
	if (p == NULL)
		return;
	seg = um_segment_of(p);
	if (um_unlikely(seg == NULL || ((uintptr_t)p & (UM_MIN_ALIGN - 1)) != 0)) {
		um_report_invalid("free", p, UM_NOT_LIVE);
		return;
	}
	if (um_likely(seg->kind == UM_SEG_SMALL)) {
		bool owned = um_segment_owned(seg);
		if (owned)
			um_thread_segment = seg;
		um_free_small(seg, p, owned);
		return;
	}
	um_huge_free(seg, p);
}

void *um_calloc(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (total >= UM_MEDIUM_MIN) {
		struct um_heap *heap = um_thread_heap;
		if (heap == &um_heap_empty && (heap = um_thread_init()) == NULL) {
			errno = ENOMEM;
			return NULL;
		}
		if (total > UM_SMALL_MAX)
			return um_huge_alloc(heap, total, 0, true);
		if (um_heap_runs(heap, total)) /* units known to read zero are not cleared */
			return um_run_alloc(heap, total, true);
	}
	void *p = um_malloc(total);
	if (p)
		memset(p, 0, total);
	return p;
}

/* The heap of the same location as @seg, for realloc's new block. */
static struct um_heap *um_heap_like(struct um_segment *seg)
{
	struct um_heap *heap = um_thread_heap;
	if (heap != &um_heap_empty && heap->loc == seg->loc)
		return heap;
	if (seg->loc == UNIMEM_LOC_NONE && heap == &um_heap_empty &&
	    um_alloc_default_location() == UNIMEM_LOC_NONE)
		return heap; /* the slow path initialises the thread */
	heap = um_heap_for_location(seg->loc);
	return heap ? heap : &um_heap_empty;
}

void *um_realloc(void *p, size_t size)
{
	if (p == NULL)
		return um_malloc(size);
	if (size == 0) {
		um_free(p);
		return NULL;
	}
	struct um_page *page;
	struct um_segment *seg = um_block_of(p, &page);
	if (seg == NULL) {
		um_report_invalid("realloc", p, UM_NOT_LIVE);
		errno = EINVAL;
		return NULL;
	}
	size_t old;
	if (page == NULL) {
		if (size > UM_SMALL_MAX)
			return um_huge_realloc(seg, p, size);
		old = um_huge_usable(seg);
	} else if (page->in_use == UM_PAGE_RUN) {
		old = um_run_units(page, p) << UM_RUN_UNIT_SHIFT;
		/* in place when the neighbouring units allow (the owner's
		 * bitmap: its thread only) */
		if (size >= UM_MEDIUM_MIN && size <= UM_SMALL_MAX && um_segment_owned(seg)) {
			if (um_run_resize(page, p, size))
				return p;
		} else if (size <= old && size >= old / 2) {
			return p; /* another thread's block: as for size classes */
		}
	} else {
		old = page->block_size;
		if (size <= old && size >= old / 2)
			return p;
	}
	void *q = um_heap_malloc(um_heap_like(seg), size);
	if (q == NULL)
		return NULL; /* errno set; @p untouched, as C says */
	memcpy(q, p, old < size ? old : size);
	um_free(p);
	return q;
}

/* @align: a power of two (callers check). */
void *um_aligned(size_t align, size_t size)
{
	if (align <= UM_MIN_ALIGN)
		return um_malloc(size);
	struct um_heap *heap = um_thread_heap;
	if (heap == &um_heap_empty && (heap = um_thread_init()) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	/* Pages start on a slice boundary, so blocks of a size that is a
	 * multiple of @align are all aligned to it. */
	if (align <= UM_RUN_UNIT && um_heap_runs(heap, size))
		return um_run_alloc(heap, size, false); /* runs start on a unit */
	if (align <= UM_SLICE_SIZE && size <= UM_SMALL_MAX) {
		size_t cls = um_class_of(size ? size : 1);
		while (cls < UM_RUN_CLASS && (um_class_size(cls) & (align - 1)) != 0)
			cls++;
		if (cls < UM_RUN_CLASS)
			return um_heap_alloc_class(heap, cls);
	}
	return um_huge_alloc(heap, size, align, false);
}

size_t um_usable_size(const void *p)
{
	struct um_page *page;
	if (p == NULL)
		return 0;
	struct um_segment *seg = um_block_of(p, &page);
	if (seg == NULL)
		return 0;
	if (page == NULL)
		return um_huge_usable(seg);
	return page->in_use == UM_PAGE_RUN ? um_run_units(page, p) << UM_RUN_UNIT_SHIFT
					   : page->block_size;
}

/* ---- public API ------------------------------------------------------ */

void *unimem_malloc(size_t size) { return um_malloc(size); }
void *unimem_calloc(size_t n, size_t size) { return um_calloc(n, size); }
void *unimem_realloc(void *p, size_t size) { return um_realloc(p, size); }
void unimem_free(void *p) { um_free(p); }
size_t unimem_malloc_usable_size(const void *p) { return um_usable_size(p); }

static bool um_is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

void *unimem_aligned_alloc(size_t alignment, size_t size)
{
	if (!um_is_pow2(alignment)) {
		errno = EINVAL;
		return NULL;
	}
	return um_aligned(alignment, size);
}

int unimem_posix_memalign(void **memptr, size_t alignment, size_t size)
{
	if (memptr == NULL || !um_is_pow2(alignment) || alignment < sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = um_aligned(alignment, size);
	if (p == NULL) {
		errno = saved; /* posix_memalign reports, it does not set errno */
		return ENOMEM;
	}
	*memptr = p;
	return 0;
}

void *unimem_malloc_on(size_t size, unimem_location_t loc)
{
	loc = um_location_resolve(loc);
	switch (UNIMEM_LOC_KIND(loc)) {
	case UNIMEM_LOC_KIND_NONE:
		if (loc != UNIMEM_LOC_NONE)
			break;
		return um_malloc(size);
	case UNIMEM_LOC_KIND_HOST:
	case UNIMEM_LOC_KIND_DEVICE:
	case UNIMEM_LOC_KIND_SYSTEM: {
		struct um_heap *heap = um_heap_for_location(loc);
		if (heap == NULL)
			return NULL;
		return um_heap_malloc(heap, size);
	}
	default:
		break;
	}
	errno = EINVAL;
	um_error(-EINVAL, "unimem_malloc_on: 0x%08x is not a location to allocate on",
		 (unsigned)loc);
	return NULL;
}

size_t unimem_collect(void)
{
	size_t bytes = um_huge_cache_flush();
	um_alloc_reclaim_all();
	struct um_tld *tld = um_thread_tld;
	if (tld != NULL)
		for (int i = 0; i < UM_LOC_SLOTS; i++)
			if (tld->heaps[i])
				bytes += um_heap_collect(tld->heaps[i]);
	return bytes;
}

bool um_alloc_lookup(const void *p, struct um_alloc_info *info)
{
	struct um_segment *seg = um_segment_of(p);
	if (seg == NULL)
		return false;
	if (seg->kind == UM_SEG_HUGE) {
		uint8_t *base = (uint8_t *)seg + seg->huge_offset;
		if ((const uint8_t *)p < base ||
		    (const uint8_t *)p >= (uint8_t *)seg + seg->map_size ||
		    atomic_load_explicit(&seg->huge_state, memory_order_acquire) !=
			    UM_HUGE_LIVE)
			return false;
		info->base = base;
		info->size = um_huge_usable(seg);
		info->region = seg;
		info->region_size = seg->map_size;
	} else {
		/* Another thread owns the page: its fields are read atomically
		 * (in_use is published last, with release). */
		size_t idx = ((uintptr_t)p - (uintptr_t)seg) >> UM_SLICE_SHIFT;
		if (idx == 0)
			return false;
		struct um_page *page =
			&seg->pages[__atomic_load_n(&seg->slice_page[idx], __ATOMIC_RELAXED)];
		if (!__atomic_load_n(&page->in_use, __ATOMIC_ACQUIRE))
			return false;
		uint8_t *start = __atomic_load_n(&page->start, __ATOMIC_RELAXED);
		uint8_t in_use = __atomic_load_n(&page->in_use, __ATOMIC_RELAXED);
		uint8_t *base;
		size_t size;
		if ((const uint8_t *)p < start)
			return false;
		if (in_use == UM_PAGE_RUN) {
			base = um_run_block_around(page, p, &size);
			if (base == NULL)
				return false;
		} else {
			uint32_t bs = __atomic_load_n(&page->block_size, __ATOMIC_RELAXED);
			uint32_t carved = __atomic_load_n(&page->capacity, __ATOMIC_RELAXED);
			if (bs == 0)
				return false;
			size_t i = (size_t)((const uint8_t *)p - start) / bs;
			if (i >= carved)
				return false; /* not carved yet, or past the last block */
			base = start + i * bs;
			if (in_use == UM_PAGE_OOB
				    ? um_oob_is_free(seg, page, base)
				    : __atomic_load_n(&((uintptr_t *)base)[1], __ATOMIC_RELAXED) ==
					      um_free_tag(base) ||
					      (i < 32 && (atomic_load_explicit(&page->cold,
							  memory_order_relaxed) >> i & 1)))
				return false; /* freed (cold: its tag went with its memory) */
			size = bs;
		}
		info->base = base;
		info->size = size;
		info->region = seg;
		info->region_size = UM_SEGMENT_SIZE;
	}
	info->requested = seg->loc;
	return true;
}

int unimem_ptr_info(const void *ptr, struct unimem_ptr_info *info)
{
	if (info == NULL)
		return um_error(-EINVAL, "unimem_ptr_info: info is NULL");
	struct um_alloc_info ai;
	if (ptr == NULL || !um_alloc_lookup(ptr, &ai))
		return um_error(-ENOENT, "unimem_ptr_info: %p is not inside a unimem allocation",
				ptr);
	info->base = ai.base;
	info->size = ai.size;
	info->requested = ai.requested;
	info->location = um_provider_where(ai.base, ai.size);
	info->region = ai.region;
	info->region_size = ai.region_size;
	return 0;
}

/* ---- named heaps ------------------------------------------------------ */

/*
 * A named handle over the per-thread heaps of one location: the
 * allocator's ownership rules (a thread's heap is touched by its thread
 * only) stay as they are, and any thread can use the handle.
 */
#define UM_HEAP_MAGIC 0x756d4850u /* "umHP" */
struct unimem_heap {
	uint32_t magic;
	unimem_location_t loc;
	char name[32];
};

static int um_heap_check(const char *what, const unimem_heap_t *heap)
{
	if (heap == NULL)
		return um_error(-EINVAL, "%s: heap is NULL", what);
	if (heap->magic != UM_HEAP_MAGIC)
		return um_error(-EINVAL, "%s: %p is not a live unimem heap", what,
				(const void *)heap);
	return 0;
}

/* The calling thread's allocator heap for @h's location. */
static struct um_heap *um_heap_of(unimem_heap_t *h)
{
	if (h->loc == UNIMEM_LOC_NONE) {
		struct um_heap *heap = um_thread_heap;
		return heap == &um_heap_empty ? um_thread_init() : heap;
	}
	return um_heap_for_location(h->loc);
}

int unimem_heap_create(const char *name, unimem_location_t loc, unimem_heap_t **heap)
{
	unimem_heap_t *h;
	int err;

	if (heap == NULL)
		return um_error(-EINVAL, "heap_create: heap is NULL");
	loc = um_location_resolve(loc);
	if (loc != UNIMEM_LOC_NONE && (err = um_location_check("heap_create", loc)) < 0)
		return err;
	h = um_malloc(sizeof(*h));
	if (h == NULL)
		return um_error(-ENOMEM, "heap_create: out of memory");
	h->magic = UM_HEAP_MAGIC;
	h->loc = loc;
	snprintf(h->name, sizeof(h->name), "%s", name ? name : "");
	*heap = h;
	return 0;
}

void *unimem_heap_malloc(unimem_heap_t *h, size_t size)
{
	struct um_heap *heap;

	if (um_heap_check("heap_malloc", h) < 0) {
		errno = EINVAL;
		return NULL;
	}
	heap = um_heap_of(h);
	if (heap == NULL)
		return NULL; /* errno set */
	return um_heap_malloc(heap, size);
}

void *unimem_heap_calloc(unimem_heap_t *h, size_t n, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	p = unimem_heap_malloc(h, total);
	if (p)
		memset(p, 0, total);
	return p;
}

void unimem_heap_free(unimem_heap_t *h, void *p)
{
	(void)h; /* a block knows its heap */
	um_free(p);
}

unimem_location_t unimem_heap_location(const unimem_heap_t *h)
{
	return um_heap_check("heap_location", h) < 0 ? UNIMEM_LOC_NONE : h->loc;
}

const char *unimem_heap_name(const unimem_heap_t *h)
{
	return um_heap_check("heap_name", h) < 0 ? "" : h->name;
}

size_t unimem_heap_collect(unimem_heap_t *h)
{
	struct um_heap *heap;

	if (um_heap_check("heap_collect", h) < 0 || um_thread_tld == NULL)
		return 0;
	heap = um_heap_of(h);
	return heap ? um_heap_collect(heap) : 0;
}

void unimem_heap_destroy(unimem_heap_t *h)
{
	if (h == NULL || um_heap_check("heap_destroy", h) < 0)
		return;
	h->magic = 0;
	um_free(h);
}
