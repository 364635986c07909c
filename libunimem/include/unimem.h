/* SPDX-License-Identifier: MIT */
/*
 * unimem.h - unified memory for Linux: one heap whose pages can live in CPU
 * DRAM, in CPU-less memory nodes (HBM, CXL, coherent device memory) or in
 * the private memory of an accelerator, and move between them on demand or
 * on a hint.
 *
 * Conventions:
 *  - Functions that can fail return 0 (or a non-negative count) on success
 *    and a negative errno value on failure; unimem_strerror() turns it into
 *    a message and unimem_last_error() gives the detailed message of the
 *    calling thread's last failure.
 *  - The allocation functions follow the C standard: they return NULL and
 *    set errno (ENOMEM, EINVAL) on failure.
 *  - Everything here is thread-safe.
 */
#ifndef UNIMEM_H
#define UNIMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UNIMEM_VERSION_MAJOR 0
#define UNIMEM_VERSION_MINOR 2 /* 2: issue 15 (locations with speeds, batch
				 * prefetch per location, discard, several
				 * attributes at once, named heaps) */
#define UNIMEM_VERSION_PATCH 0
#define UNIMEM_VERSION \
	((UNIMEM_VERSION_MAJOR << 16) | (UNIMEM_VERSION_MINOR << 8) | \
	 UNIMEM_VERSION_PATCH)

#if defined(__GNUC__)
#define UNIMEM_EXPORT __attribute__((visibility("default")))
#define UNIMEM_MALLOC_ATTR __attribute__((malloc))
#else
#define UNIMEM_EXPORT
#define UNIMEM_MALLOC_ATTR
#endif

/** Runtime version of the library, encoded as UNIMEM_VERSION. */
UNIMEM_EXPORT int unimem_version(void);

/* ------------------------------------------------------------------------
 * Locations
 *
 * A location is a place pages can live: a host NUMA node (as hwloc numbers
 * it, the OS index) or a unimem device (/dev/unimemN). It is a plain 32-bit
 * value, stable for the life of the process and comparable with ==.
 *
 * UNIMEM_LOC_HOST_CURRENT ("current", CUDA's HostNumaCurrent) names the host
 * node of the CPU the calling thread runs on, resolved when a call takes
 * it: every call that takes a target location accepts it (an asynchronous
 * one resolves it at submission), and none ever returns it.
 * ------------------------------------------------------------------------ */
typedef uint32_t unimem_location_t;

#define UNIMEM_LOC_KIND_SHIFT 24
#define UNIMEM_LOC_INDEX_MASK 0x00ffffffu

enum unimem_location_kind {
	UNIMEM_LOC_KIND_NONE = 0,   /* no location / no preference */
	UNIMEM_LOC_KIND_HOST = 1,   /* host NUMA node, index = OS node number */
	UNIMEM_LOC_KIND_DEVICE = 2, /* unimem device, index = N of /dev/unimemN */
	UNIMEM_LOC_KIND_SYSTEM = 3, /* any host memory, kernel's choice */
	UNIMEM_LOC_KIND_MIXED = 4,  /* query result: range spans several */
	UNIMEM_LOC_KIND_HOST_CURRENT = 5, /* input: node of the calling thread */
};

#define UNIMEM_LOC(kind, index) \
	((unimem_location_t)(((uint32_t)(kind) << UNIMEM_LOC_KIND_SHIFT) | \
			     ((uint32_t)(index) & UNIMEM_LOC_INDEX_MASK)))
#define UNIMEM_LOC_NONE UNIMEM_LOC(UNIMEM_LOC_KIND_NONE, 0)
#define UNIMEM_LOC_SYSTEM UNIMEM_LOC(UNIMEM_LOC_KIND_SYSTEM, 0)
#define UNIMEM_LOC_MIXED UNIMEM_LOC(UNIMEM_LOC_KIND_MIXED, 0)
#define UNIMEM_LOC_HOST_CURRENT UNIMEM_LOC(UNIMEM_LOC_KIND_HOST_CURRENT, 0)
#define UNIMEM_LOC_HOST(node) UNIMEM_LOC(UNIMEM_LOC_KIND_HOST, node)
#define UNIMEM_LOC_DEVICE(dev) UNIMEM_LOC(UNIMEM_LOC_KIND_DEVICE, dev)
#define UNIMEM_LOC_KIND(loc) ((enum unimem_location_kind)((loc) >> UNIMEM_LOC_KIND_SHIFT))
#define UNIMEM_LOC_INDEX(loc) ((loc) & UNIMEM_LOC_INDEX_MASK)

enum unimem_location_flags {
	UNIMEM_LOCF_CPULESS = 1u << 0,    /* host node with memory but no CPUs */
	UNIMEM_LOCF_CPU_ACCESS = 1u << 1, /* the CPU can load/store it directly */
};

struct unimem_location_info {
	unimem_location_t location;
	uint32_t flags;          /* enum unimem_location_flags */
	char name[32];           /* printable and stable: "node0", "unimem1" */
	uint64_t total_bytes;    /* capacity */
	uint64_t free_bytes;     /* free now (best effort) */
	int nearest_cpu_count;   /* CPUs local to it (0 for CPU-less/devices) */
	int reserved0;
	/*
	 * Speed as hwloc's memory attributes give it (ACPI HMAT on real
	 * machines and in QEMU guests with hmat-lb): the best value over the
	 * initiators hwloc knows for it (its nearest CPUs). 0: not known (no
	 * HMAT; devices of the module report none).
	 */
	uint64_t bandwidth_mibps; /* MiB/s */
	uint64_t latency_ns;      /* ns */
	uint64_t reserved[2];
};

/**
 * unimem_location_count() - number of locations on this machine.
 * Host nodes come first in OS-index order, then devices in /dev order.
 * Returns the count (>= 1) or a negative errno.
 */
UNIMEM_EXPORT int unimem_location_count(void);

/** unimem_location_get() - information on the i-th location (0-based). */
UNIMEM_EXPORT int unimem_location_get(int i, struct unimem_location_info *info);

/** unimem_location_query() - information on one location by its value. */
UNIMEM_EXPORT int unimem_location_query(unimem_location_t loc,
					struct unimem_location_info *info);

/**
 * unimem_location_name() - printable name of @loc into @buf ("node1",
 * "unimem0", "system", "none", "mixed"). Returns @buf.
 */
UNIMEM_EXPORT const char *unimem_location_name(unimem_location_t loc, char *buf,
					       size_t len);

/**
 * unimem_location_parse() - parse a name as printed by unimem_location_name()
 * (also "host:N", "device:N"). Returns 0 or -EINVAL.
 */
UNIMEM_EXPORT int unimem_location_parse(const char *name, unimem_location_t *loc);

/**
 * unimem_location_current() - the host node of the CPU the calling thread
 * runs on now (what UNIMEM_LOC_HOST_CURRENT resolves to). The thread may
 * move afterwards unless it is bound. Never fails: the first host node if
 * the CPU's node cannot be found.
 */
UNIMEM_EXPORT unimem_location_t unimem_location_current(void);

/* What unimem_location_best() chooses by. */
enum unimem_location_metric {
	UNIMEM_METRIC_CAPACITY = 1,  /* largest total_bytes */
	UNIMEM_METRIC_FREE = 2,      /* most free_bytes now */
	UNIMEM_METRIC_BANDWIDTH = 3, /* highest bandwidth_mibps */
	UNIMEM_METRIC_LATENCY = 4,   /* lowest latency_ns */
};

enum unimem_location_select_flags {
	UNIMEM_SELECT_HOST = 1u << 0,       /* host nodes only */
	UNIMEM_SELECT_CPU_ACCESS = 1u << 1, /* only what the CPU can load/store */
};

/**
 * unimem_location_best() - the location that is best by @metric (as UMF's
 * "highest bandwidth" / "lowest latency" memspaces), among those @flags
 * (enum unimem_location_select_flags) allow; ties go to the first in
 * table order. Locations whose value is not known (0) are not candidates.
 * Returns 0 with *@out set, -EINVAL (bad metric, flags or @out), or
 * -ENODATA when no candidate has the value (e.g. bandwidth without HMAT).
 */
UNIMEM_EXPORT int unimem_location_best(enum unimem_location_metric metric,
				       unsigned int flags, unimem_location_t *out);

/* ------------------------------------------------------------------------
 * Allocation: the malloc family, with C semantics.
 * All memory comes from unimem-managed regions; any pointer into an
 * allocation maps to it in O(1) through unimem_ptr_info().
 * ------------------------------------------------------------------------ */
UNIMEM_EXPORT UNIMEM_MALLOC_ATTR void *unimem_malloc(size_t size);
UNIMEM_EXPORT UNIMEM_MALLOC_ATTR void *unimem_calloc(size_t nmemb, size_t size);
/* realloc(p, 0) with p != NULL frees p and returns NULL (glibc behaviour). */
UNIMEM_EXPORT void *unimem_realloc(void *ptr, size_t size);
UNIMEM_EXPORT void unimem_free(void *ptr);
UNIMEM_EXPORT UNIMEM_MALLOC_ATTR void *unimem_aligned_alloc(size_t alignment,
							    size_t size);
UNIMEM_EXPORT int unimem_posix_memalign(void **memptr, size_t alignment,
					size_t size);
UNIMEM_EXPORT size_t unimem_malloc_usable_size(const void *ptr);

/**
 * unimem_malloc_on() - allocate @size bytes placed on @loc.
 * Host nodes are guaranteed by binding (the pages are on that node when
 * first touched and stay there unless moved by a hint); devices and
 * UNIMEM_LOC_SYSTEM are honoured as far as the backend can guarantee.
 * Returns NULL with errno set (ENODEV: no such location, ENOMEM).
 */
UNIMEM_EXPORT UNIMEM_MALLOC_ATTR void *unimem_malloc_on(size_t size,
							unimem_location_t loc);

/**
 * unimem_collect() - give memory the allocator keeps for reuse back to the
 * OS now: the huge-block cache, the calling thread's free pages and empty
 * segments, and what the heaps of exited threads no longer use. Returns
 * the number of bytes given back (unmapped or discarded).
 */
UNIMEM_EXPORT size_t unimem_collect(void);

struct unimem_ptr_info {
	void *base;                  /* start of the allocation */
	size_t size;                 /* usable size of the allocation */
	unimem_location_t requested; /* location asked for at allocation */
	unimem_location_t location;  /* where its pages are now (or MIXED) */
	void *region;                /* start of the unimem region holding it */
	size_t region_size;
};

/**
 * unimem_ptr_info() - describe the allocation that @ptr points into.
 * Returns 0, or -ENOENT if @ptr is not inside a live unimem allocation.
 */
UNIMEM_EXPORT int unimem_ptr_info(const void *ptr, struct unimem_ptr_info *info);

/* ------------------------------------------------------------------------
 * Hints: prefetch and advise. They work on any mapped anonymous memory,
 * unimem-allocated or not (page-granular: the range is widened to pages).
 * ------------------------------------------------------------------------ */
enum unimem_prefetch_flags {
	/* The current contents need not be kept (may skip the copy). */
	UNIMEM_PREFETCH_CONTENT_UNDEFINED = 1u << 0,
	/* Report an error instead of moving what can be moved. */
	UNIMEM_PREFETCH_ALL_OR_NOTHING = 1u << 1,
	/*
	 * Discard and prefetch (CUDA's cudaMemDiscardAndPrefetchBatchAsync):
	 * the old contents are dropped and the range reads as zeros at the
	 * target; nothing is copied. The whole pages of the range are dropped
	 * (as unimem_discard()), the bytes of partial pages at its ends are
	 * zeroed in place. A device target gets fresh zeroed device pages;
	 * a host node gets fresh zero pages.
	 */
	UNIMEM_PREFETCH_DISCARD = 1u << 2,
};

/**
 * unimem_prefetch() - move the pages of [@ptr, @ptr + @size) to @loc now.
 * Returns the number of pages now at @loc (>= 0), or a negative errno:
 * -EINVAL (bad range or flags), -ENODEV (no such location, e.g. a device
 * with no module loaded), -EFAULT (range not mapped).
 */
UNIMEM_EXPORT long unimem_prefetch(const void *ptr, size_t size,
				   unimem_location_t loc, unsigned int flags);

struct unimem_range {
	const void *ptr;
	size_t size;
};

/** unimem_prefetch_batch() - unimem_prefetch() over @count ranges. */
UNIMEM_EXPORT long unimem_prefetch_batch(const struct unimem_range *ranges,
					 size_t count, unimem_location_t loc,
					 unsigned int flags);

/*
 * A range with its own target, for batches where each range goes to its
 * own place (CUDA's cudaMemPrefetchBatchAsync with prefetchLocIdxs).
 */
struct unimem_range_to {
	const void *ptr;
	size_t size;
	unimem_location_t loc; /* target (UNIMEM_LOC_HOST_CURRENT accepted) */
	uint32_t reserved;     /* zero */
};


/**
 * unimem_prefetch_batch_to() - prefetch @count ranges, each to its own
 * location. Unordered: the ranges are taken grouped by target (all host
 * pages in as few move_pages(2) calls as the batch needs, whatever the
 * number of ranges); overlapping ranges with different targets end in one
 * of them. Every range and location is checked before anything moves.
 * Flags as unimem_prefetch() plus UNIMEM_PREFETCH_DISCARD. Returns the
 * pages now at their targets (sum over ranges), or a negative errno.
 */
UNIMEM_EXPORT long unimem_prefetch_batch_to(const struct unimem_range_to *ranges,
					    size_t count, unsigned int flags);

enum unimem_discard_flags {
	/*
	 * MADV_FREE instead of MADV_DONTNEED: the kernel takes the pages only
	 * when it needs memory, so a range may read as its old contents or as
	 * zeros until it is written (cheaper when it will be written soon).
	 */
	UNIMEM_DISCARD_LAZY = 1u << 0,
};

/**
 * unimem_discard() - drop the contents of [@ptr, @ptr + @size) without
 * copying them anywhere (CUDA's cudaMemDiscardBatchAsync). By default
 * (MADV_DONTNEED semantics) the range reads as zeros afterwards: its whole
 * pages are freed wherever they are (host node or device memory; the
 * memory goes back to the OS or the device) and fault in as zero pages on
 * next touch under the range's policy; bytes of partial pages at the ends
 * are zeroed in place. With UNIMEM_DISCARD_LAZY (MADV_FREE) the whole
 * pages hold old contents or zeros until written, and partial pages are
 * left alone. Advice on the range stays. For private anonymous memory
 * (all unimem memory is); returns the whole pages dropped, -EINVAL (bad
 * range or flags), -EFAULT (not mapped) or the kernel's refusal.
 */
UNIMEM_EXPORT long unimem_discard(const void *ptr, size_t size, unsigned int flags);

/** unimem_discard_batch() - unimem_discard() over @count ranges (checked first). */
UNIMEM_EXPORT long unimem_discard_batch(const struct unimem_range *ranges, size_t count,
					unsigned int flags);

/*
 * Asynchronous prefetch: work goes on an in-order queue served by a
 * background thread, so frameworks can overlap it with compute. Each
 * submission may return an event to wait on.
 */
typedef struct unimem_queue unimem_queue_t;
typedef struct unimem_event unimem_event_t;

UNIMEM_EXPORT int unimem_queue_create(unimem_queue_t **queue);
/* Waits for all queued work, then frees the queue. */
UNIMEM_EXPORT int unimem_queue_destroy(unimem_queue_t *queue);
/* @event may be NULL; otherwise the caller releases it with unimem_event_release(). */
UNIMEM_EXPORT int unimem_prefetch_async(unimem_queue_t *queue, const void *ptr,
					size_t size, unimem_location_t loc,
					unsigned int flags, unimem_event_t **event);
UNIMEM_EXPORT int unimem_prefetch_batch_async(unimem_queue_t *queue,
					      const struct unimem_range *ranges,
					      size_t count, unimem_location_t loc,
					      unsigned int flags,
					      unimem_event_t **event);
/* unimem_prefetch_batch_to() on the queue. */
UNIMEM_EXPORT int unimem_prefetch_batch_to_async(unimem_queue_t *queue,
						 const struct unimem_range_to *ranges,
						 size_t count, unsigned int flags,
						 unimem_event_t **event);
/* unimem_discard_batch() on the queue (the event's result: pages dropped). */
UNIMEM_EXPORT int unimem_discard_batch_async(unimem_queue_t *queue,
					     const struct unimem_range *ranges,
					     size_t count, unsigned int flags,
					     unimem_event_t **event);
/* Waits for everything queued so far; returns the first error, if any. */
UNIMEM_EXPORT int unimem_queue_sync(unimem_queue_t *queue);
/* Waits for the event; returns what the work returned (pages, or -errno). */
UNIMEM_EXPORT long unimem_event_wait(unimem_event_t *event);
/* Non-blocking: 1 done, 0 pending. */
UNIMEM_EXPORT int unimem_event_query(unimem_event_t *event);
UNIMEM_EXPORT void unimem_event_release(unimem_event_t *event);

/*
 * Advice takes a location where CUDA's does (cudaMemAdvise with a
 * cudaMemLocation): a preferred location may be a host node, a device or
 * "system"; accessed-by names any location (host nodes and "system" are
 * kept and reported; the module maps device pages for devices).
 * UNIMEM_LOC_HOST_CURRENT is resolved at the call.
 */
enum unimem_advice {
	UNIMEM_ADVISE_SET_PREFERRED_LOCATION = 1,
	UNIMEM_ADVISE_UNSET_PREFERRED_LOCATION = 2,
	UNIMEM_ADVISE_SET_ACCESSED_BY = 3,   /* loc maps it without migrating */
	UNIMEM_ADVISE_UNSET_ACCESSED_BY = 4,
	UNIMEM_ADVISE_SET_READ_MOSTLY = 5,   /* loc ignored */
	UNIMEM_ADVISE_UNSET_READ_MOSTLY = 6, /* loc ignored */
};

/**
 * unimem_advise() - give advice on [@ptr, @ptr + @size) for @loc.
 * Returns 0 or a negative errno (-EINVAL, -ENODEV, -ENOTSUP where the
 * backend cannot keep that advice).
 */
UNIMEM_EXPORT int unimem_advise(const void *ptr, size_t size,
				enum unimem_advice advice, unimem_location_t loc);

/**
 * unimem_set_granularity() - migration granularity of a range, as log2 of
 * the number of pages moved together (default 9: 2 MiB of 4 KiB pages).
 */
UNIMEM_EXPORT int unimem_set_granularity(const void *ptr, size_t size,
					 unsigned int log2_pages);

/*
 * Range attributes. One rule for "mixed", every attribute alike: a range
 * reports a value only if it holds on every page of it; otherwise it
 * reads as that type's mixed value: UNIMEM_LOC_MIXED for a location,
 * UNIMEM_ATTR_MIXED (-1, UINT_MAX unsigned) for a number. A list
 * (accessed-by) lists what holds on every page, so it is never mixed.
 * For LOCATION, pages never populated have no location and do not count.
 */
#define UNIMEM_ATTR_MIXED (-1)

enum unimem_range_attr {
	/* unimem_location_t: where the pages are now; MIXED if not all in one
	 * place, NONE if none is populated. */
	UNIMEM_ATTR_LOCATION = 1,
	/* unimem_location_t[npages]: where each page is (NONE: not populated). */
	UNIMEM_ATTR_PAGE_LOCATIONS = 2,
	/* unimem_location_t: target of the last prefetch of its pages, NONE
	 * (never prefetched), or MIXED. */
	UNIMEM_ATTR_LAST_PREFETCH_LOCATION = 3,
	/* unimem_location_t: preferred location, NONE, or MIXED. */
	UNIMEM_ATTR_PREFERRED_LOCATION = 4,
	/* int: 1 read-mostly, 0 not, UNIMEM_ATTR_MIXED (-1) some pages are. */
	UNIMEM_ATTR_READ_MOSTLY = 5,
	/* unimem_location_t[]: locations set accessed-by over the whole range;
	 * out_size / sizeof(unimem_location_t) slots, unused ones NONE. */
	UNIMEM_ATTR_ACCESSED_BY = 6,
	/* unsigned int: migration granularity (log2 pages), UINT_MAX if mixed. */
	UNIMEM_ATTR_GRANULARITY = 7,
};

/**
 * unimem_range_get_attr() - read @attr of [@ptr, @ptr + @size) into @out,
 * a buffer of @out_size bytes. Returns 0 or a negative errno (-EINVAL for a
 * bad attr or a buffer too small: PAGE_LOCATIONS needs one slot a page).
 */
UNIMEM_EXPORT int unimem_range_get_attr(const void *ptr, size_t size,
					enum unimem_range_attr attr, void *out,
					size_t out_size);

/**
 * unimem_range_get_attrs() - several attributes of one range at once
 * (CUDA's cudaMemRangeGetAttributes): attribute @attrs[i] goes to
 * @outs[i], a buffer of @out_sizes[i] bytes, as unimem_range_get_attr()
 * would write it. Every argument is checked before anything is written;
 * on an error no output is meaningful. Returns 0 or a negative errno
 * (-EINVAL names the bad entry).
 */
UNIMEM_EXPORT int unimem_range_get_attrs(const void *ptr, size_t size,
					 const enum unimem_range_attr *attrs,
					 size_t nattrs, void *const *outs,
					 const size_t *out_sizes);

/* ------------------------------------------------------------------------
 * Named heaps (as mimalloc's mi_heap_t or a UMF memory pool): a handle
 * bound to one location, with its own name. Its blocks come from the
 * allocator's heaps of that location (one per thread, as for
 * unimem_malloc_on()), so any thread may allocate from it and free its
 * blocks, with unimem_heap_free() or unimem_free() alike.
 * ------------------------------------------------------------------------ */
typedef struct unimem_heap unimem_heap_t;

/**
 * unimem_heap_create() - a heap placing its memory on @loc (a host node,
 * a device, "system", NONE for the default placement, or
 * UNIMEM_LOC_HOST_CURRENT, resolved now). @name (may be NULL) is copied,
 * up to 31 bytes. Returns 0 with *@heap set, -EINVAL, -ENODEV (no such
 * location) or -ENOMEM.
 */
UNIMEM_EXPORT int unimem_heap_create(const char *name, unimem_location_t loc,
				     unimem_heap_t **heap);
/** unimem_heap_malloc() - malloc() on @heap's location (NULL, errno set on failure). */
UNIMEM_EXPORT UNIMEM_MALLOC_ATTR void *unimem_heap_malloc(unimem_heap_t *heap,
							  size_t size);
/** unimem_heap_calloc() - calloc() on @heap's location. */
UNIMEM_EXPORT UNIMEM_MALLOC_ATTR void *unimem_heap_calloc(unimem_heap_t *heap,
							  size_t nmemb, size_t size);
/** unimem_heap_free() - free a block of @heap (any unimem block is accepted). */
UNIMEM_EXPORT void unimem_heap_free(unimem_heap_t *heap, void *ptr);
/** unimem_heap_location() - the location @heap was bound to. */
UNIMEM_EXPORT unimem_location_t unimem_heap_location(const unimem_heap_t *heap);
/** unimem_heap_name() - @heap's name ("" if none was given). */
UNIMEM_EXPORT const char *unimem_heap_name(const unimem_heap_t *heap);
/**
 * unimem_heap_collect() - give back to the OS what the calling thread's
 * part of @heap's location keeps free (as unimem_collect(), for one
 * location). Returns the bytes unmapped or discarded.
 */
UNIMEM_EXPORT size_t unimem_heap_collect(unimem_heap_t *heap);
/**
 * unimem_heap_destroy() - release the handle (as mi_heap_delete): blocks
 * still allocated stay valid and are freed with unimem_free(); the memory
 * of the location's heaps is reused by later allocations there. NULL is
 * accepted.
 */
UNIMEM_EXPORT void unimem_heap_destroy(unimem_heap_t *heap);

/* ------------------------------------------------------------------------
 * Errors and state
 * ------------------------------------------------------------------------ */
/** unimem_strerror() - message for a negative errno returned by unimem. */
UNIMEM_EXPORT const char *unimem_strerror(int err);
/** unimem_last_error() - detailed message of this thread's last failure. */
UNIMEM_EXPORT const char *unimem_last_error(void);

/**
 * unimem_module_version() - API version of the loaded unimem kernel module,
 * or -ENODEV when no module is loaded (the host backend is used alone).
 */
UNIMEM_EXPORT int unimem_module_version(void);

#ifdef __cplusplus
}
#endif

#endif /* UNIMEM_H */
