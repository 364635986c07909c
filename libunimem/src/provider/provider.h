/* SPDX-License-Identifier: MIT */
/*
 * provider.h - where pages live: one ops table, two providers.
 *
 *   host    NUMA nodes and "system" (hwloc for the topology, mbind(2) and
 *           move_pages(2) for pages); always there.
 *   device  devices of unimem.ko through /dev/unimemN ioctls; only when the
 *           module is loaded.
 *
 * Providers answer for their own locations and never call up (no
 * allocator, no range map, no malloc on the map/place/unmap paths).
 * provider.c is the one place that decides which provider serves a
 * location; callers above use the um_provider_*() functions.
 *
 * One verb per idea:
 *   map       where future pages of fresh (or reset) memory go: a strict
 *             placement (allocations) or a preference (advice)
 *   place     move the existing pages of a range to a location now
 *   discard   drop the contents of a range (pages refault as zero)
 *   unmap     the allocator gives a range up or to a new owner: forget
 *             what the provider keeps about it
 *   describe  where the pages of a range are, per page
 */
#ifndef UM_PROVIDER_H
#define UM_PROVIDER_H

#include "internal.h"

/* Most locations one process can see (host nodes + devices). */
#define UM_MAX_LOCATIONS 63 /* bit 63 of accessed-by masks is "system" */

enum um_map_mode {
	UM_MAP_BIND,   /* allocation placement: pages must land there */
	UM_MAP_PREFER, /* preferred location: where they go if they can */
};

struct um_provider {
	const char *name;
	/* Probe once; 0 if usable, negative errno (with a message) if not. */
	int (*init)(void);
	/* Its locations: how many, and the i-th one (free bytes included). */
	int (*count)(void);
	int (*info)(int i, struct unimem_location_info *info);
	void (*refresh)(struct unimem_location_info *info);
	/* See above. Ranges are page aligned; @loc is one of its own (or
	 * NONE for map: back to the default). */
	int (*map)(void *addr, size_t size, unimem_location_t loc, enum um_map_mode mode);
	long (*place)(void *addr, size_t size, unimem_location_t loc, unsigned int flags);
	/* MADV_DONTNEED, or MADV_FREE if @lazy; 0 or negative errno. */
	int (*discard)(void *addr, size_t size, bool lazy);
	void (*unmap)(void *addr, size_t size);
	/* For each page it holds, store its location in out[i]; leave the
	 * other entries alone. */
	int (*describe)(const void *addr, size_t npages, unimem_location_t *out);
};

extern const struct um_provider um_provider_host UM_INTERNAL;
extern const struct um_provider um_provider_device UM_INTERNAL;

/* The one decision: which provider serves a location (checked already). */
static inline const struct um_provider *um_provider_of(unimem_location_t loc)
{
	return UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_DEVICE ? &um_provider_device
							       : &um_provider_host;
}

/* A page-aligned range and its target, for batches. */
struct um_place_item {
	uintptr_t start, end;
	unimem_location_t loc;
};

/* provider.c: routing ------------------------------------------------------ */
/* The provider of @loc, or NULL with *err set (-ENODEV/-EINVAL, message). */
UM_INTERNAL const struct um_provider *um_provider_for(const char *what,
						      unimem_location_t loc, int *err);
/* Check that a location exists (-ENODEV with message otherwise). */
UM_INTERNAL int um_location_check(const char *what, unimem_location_t loc);
/* The device provider is usable (probes once, quietly). */
UM_INTERNAL bool um_device_present(void);
/* map() of @loc's provider; NONE: the default policy, no provider needed. */
UM_INTERNAL int um_provider_map(void *addr, size_t size, unimem_location_t loc,
				enum um_map_mode mode);
/* place() of a page-aligned range; device pages come back first for host
 * targets. Pages at @loc afterwards, or a negative errno. */
UM_INTERNAL long um_provider_place(uintptr_t start, uintptr_t end, unimem_location_t loc,
				   unsigned int flags);
/* place() of a batch, each range to its own location (checked): device
 * pages come back first for host targets, host ranges go in one batch. */
UM_INTERNAL long um_provider_place_many(const struct um_place_item *items, size_t count,
					unsigned int flags);
/* device.c: a batch through the module, one call for many ranges: device
 * items to their device, host items back to system memory. Device items'
 * pages at their target, or a negative errno. */
UM_INTERNAL long um_device_place_many(const struct um_place_item *items, size_t count,
				      unsigned int flags);
/* The module's attributes were ever set (device.c): only then has the
 * device provider anything to forget on unmap. */
extern _Atomic int um_device_advised UM_INTERNAL;
/* unmap() of every provider. */
UM_INTERNAL void um_provider_unmap(void *addr, size_t size);
/* describe() of every provider (NONE: not populated). */
UM_INTERNAL int um_provider_describe(uintptr_t start, size_t npages,
				     unimem_location_t *out);
/* Summary of where a range is: one location, MIXED, or NONE. */
UM_INTERNAL unimem_location_t um_provider_where(const void *addr, size_t size);

/* host.c: what only it knows -------------------------------------------------- */
UM_INTERNAL bool um_host_node_exists(unsigned os_index);
/* Host node of a CPU (the first one with CPUs covering it; the first node
 * if none). */
UM_INTERNAL unimem_location_t um_host_node_of_cpu(unsigned cpu);
/* place() of many page-aligned host/system ranges at once (device items skipped). */
UM_INTERNAL long um_host_place_many(const struct um_place_item *items, size_t count,
				    unsigned int flags);
/* Union of host nodes holding pages of the area; count, 0 if none populated. */
UM_INTERNAL int um_host_area_nodes(const void *addr, size_t size, unsigned *nodes,
				   int max);

/* device.c: what only it knows ------------------------------------------------ */
UM_INTERNAL bool um_device_exists(unsigned index);
/* Module API version and features, or -ENODEV (with message). */
UM_INTERNAL int um_device_api_version(uint64_t *features);
/*
 * The module's range attributes (UNIMEM_IOCTL_ATTR): op SET or GET of @n
 * attributes over [start, end). 1 if done, 0 if the module or its
 * attribute ioctl is absent, negative errno. When present, the module's
 * store is the truth for preferred location, read-mostly and granularity.
 */
struct unimem_attr;
UM_INTERNAL int um_device_attrs(uint32_t op, uintptr_t start, uintptr_t end,
				struct unimem_attr *a, unsigned n);
UM_INTERNAL bool um_device_has_attrs(void);
/* The module's target value for a location (device index, SYSTEM, NONE). */
UM_INTERNAL uint32_t um_device_target(unimem_location_t loc);

/* locations.c ----------------------------------------------------------------- */
/* Index of @loc in the location table, or -1. */
UM_INTERNAL int um_location_index(unimem_location_t loc);
UM_INTERNAL unimem_location_t um_location_at(int index);
/* UNIMEM_LOC_HOST_CURRENT -> the calling thread's node; others unchanged. */
UM_INTERNAL unimem_location_t um_location_resolve(unimem_location_t loc);

#endif /* UM_PROVIDER_H */
