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
#define UNIMEM_VERSION_MINOR 1
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
};

#define UNIMEM_LOC(kind, index) \
	((unimem_location_t)(((uint32_t)(kind) << UNIMEM_LOC_KIND_SHIFT) | \
			     ((uint32_t)(index) & UNIMEM_LOC_INDEX_MASK)))
#define UNIMEM_LOC_NONE UNIMEM_LOC(UNIMEM_LOC_KIND_NONE, 0)
#define UNIMEM_LOC_SYSTEM UNIMEM_LOC(UNIMEM_LOC_KIND_SYSTEM, 0)
#define UNIMEM_LOC_MIXED UNIMEM_LOC(UNIMEM_LOC_KIND_MIXED, 0)
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
	uint64_t reserved[4];
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
/* Waits for everything queued so far; returns the first error, if any. */
UNIMEM_EXPORT int unimem_queue_sync(unimem_queue_t *queue);
/* Waits for the event; returns what the work returned (pages, or -errno). */
UNIMEM_EXPORT long unimem_event_wait(unimem_event_t *event);
/* Non-blocking: 1 done, 0 pending. */
UNIMEM_EXPORT int unimem_event_query(unimem_event_t *event);
UNIMEM_EXPORT void unimem_event_release(unimem_event_t *event);

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

enum unimem_range_attr {
	/* unimem_location_t: where the pages are now; MIXED if not all in one
	 * place, NONE if none is populated. */
	UNIMEM_ATTR_LOCATION = 1,
	/* unimem_location_t[npages]: where each page is (NONE: not populated). */
	UNIMEM_ATTR_PAGE_LOCATIONS = 2,
	/* unimem_location_t: target of the last prefetch covering all of it. */
	UNIMEM_ATTR_LAST_PREFETCH_LOCATION = 3,
	/* unimem_location_t: preferred location, NONE, or MIXED. */
	UNIMEM_ATTR_PREFERRED_LOCATION = 4,
	/* int: 1 if read-mostly over the whole range, else 0. */
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
