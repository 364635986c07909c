/* SPDX-License-Identifier: MIT */
/*
 * backend.h - placement and hints behind one ops table.
 *
 * Two backends exist: "host" (NUMA nodes through hwloc, always there) and
 * "module" (devices of unimem.ko through /dev/unimemN, only when loaded).
 * backend.c routes each request by the kind of the target location and
 * combines their answers for queries; nothing above it knows which backend
 * did the work.
 */
#ifndef UNIMEM_BACKEND_H
#define UNIMEM_BACKEND_H

#include "internal.h"

/* Most locations one process can see (host nodes + devices). */
#define UM_MAX_LOCATIONS 63 /* bit 63 of accessed-by masks is "system" */

struct um_backend_ops {
	const char *name;
	/* Probe once; 0 if usable, negative errno (with a message) if not. */
	int (*init)(void);
	/* Number of locations this backend provides (after init). */
	int (*location_count)(void);
	/* Static description of its i-th location (free bytes filled too). */
	int (*location_info)(int i, struct unimem_location_info *info);
	/* Refresh info->free_bytes for a location it owns. */
	void (*refresh_free)(struct unimem_location_info *info);
	/*
	 * Move [addr, addr + size) (page aligned) to @loc, which this backend
	 * owns. Returns pages at @loc afterwards, or a negative errno.
	 */
	long (*prefetch)(void *addr, size_t size, unimem_location_t loc,
			 unsigned int flags);
	/* Bind untouched memory so first touch lands at @loc. */
	int (*place)(void *addr, size_t size, unimem_location_t loc);
	/*
	 * Apply the effective memory policy for a piece of a range: @preferred
	 * (NONE: default). Backends that cannot apply it return 0 (the range
	 * table keeps the advice) or -ENOTSUP if it must be refused.
	 */
	int (*apply_preferred)(void *addr, size_t size, unimem_location_t preferred);
	/*
	 * For each page of the range that this backend holds, store its
	 * location in out[i]; leave the other entries alone.
	 */
	int (*page_locations)(const void *addr, size_t npages, unimem_location_t *out);
};

extern const struct um_backend_ops um_backend_host;
extern const struct um_backend_ops um_backend_module;

/* backend.c -------------------------------------------------------------- */
/* The backend that serves @loc, or NULL with *err set (-ENODEV/-EINVAL). */
UM_INTERNAL const struct um_backend_ops *um_backend_for(unimem_location_t loc,
							int *err);
/* Module loaded and usable? (probes once) */
UM_INTERNAL bool um_module_present(void);
UM_INTERNAL size_t um_page_size(void);
/* Widen [ptr, ptr + size) to pages; -EINVAL (with message) on bad input. */
UM_INTERNAL int um_page_range(const char *what, const void *ptr, size_t size,
			      uintptr_t *start, uintptr_t *end);
/* Move a page-aligned range; the core of unimem_prefetch(). */
UM_INTERNAL long um_prefetch_range(uintptr_t start, uintptr_t end,
				   unimem_location_t loc, unsigned int flags);
/* unimem_prefetch() of one checked user range (widened; CONTENT_UNDEFINED
 * drops the pages wholly inside it instead of moving them). */
UM_INTERNAL long um_prefetch_user_range(const char *what, const void *ptr, size_t size,
					unimem_location_t loc, unsigned int flags);
/* Per-page locations of a page-aligned range (NONE: not populated). */
UM_INTERNAL int um_page_locations(uintptr_t start, size_t npages,
				  unimem_location_t *out);

/* backend_host.c / backend_module.c: facts only they know ----------------- */
/* Union of host nodes holding pages of the area; count, 0 if none populated. */
UM_INTERNAL int um_host_area_nodes(const void *addr, size_t size, unsigned *nodes,
				   int max);
UM_INTERNAL bool um_host_node_exists(unsigned os_index);
UM_INTERNAL bool um_module_device_exists(unsigned index);
/*
 * Push the advice of a piece of range to the module (device_mask: bit N =
 * accessed by device N); 0 when the module or its attribute ioctl is absent.
 */
UM_INTERNAL int um_module_set_range_attrs(uintptr_t start, uintptr_t end,
					  unimem_location_t preferred, uint32_t device_mask,
					  bool read_mostly, unsigned granularity);
/*
 * UNIMEM_IOCTL_ATTR over [start, end): op SET or GET of @n attributes. 1 if
 * done, 0 if the module or its attribute ioctl is absent, negative errno.
 */
struct unimem_attr;
UM_INTERNAL int um_module_attrs(uint32_t op, uintptr_t start, uintptr_t end,
				struct unimem_attr *a, unsigned n);
/* The module keeps range attributes: its store is the truth for them. */
UM_INTERNAL bool um_module_has_attrs(void);
/* The module's target value for a location (device index, SYSTEM, NONE). */
UM_INTERNAL uint32_t um_module_target(unimem_location_t loc);
/* UNIMEM_IOCTL_MIGRATE of a range to a device or (host/system loc) back to
 * system memory; pages at the target afterwards. */
UM_INTERNAL long um_module_migrate(void *addr, size_t size, unimem_location_t loc,
				   unsigned int flags);
/* Module API version and features, or -ENODEV (with message). */
UM_INTERNAL int um_module_api_version(uint64_t *features);

/* location.c ------------------------------------------------------------- */
/* Index of @loc in the location table, or -1. */
UM_INTERNAL int um_location_index(unimem_location_t loc);
UM_INTERNAL int um_location_table_count(void);
UM_INTERNAL unimem_location_t um_location_at(int index);

/* hints.c ---------------------------------------------------------------- */
/* Record the placement of a fresh region (restored after a host prefetch). */
UM_INTERNAL void um_hints_record_placement(uintptr_t start, uintptr_t end,
					   unimem_location_t loc);
UM_INTERNAL void um_hints_record_prefetch(uintptr_t start, uintptr_t end,
					  unimem_location_t loc);
/* Check prefetch arguments (all ranges, location, flags) before any work. */
UM_INTERNAL int um_prefetch_validate(const char *what, const struct unimem_range *ranges,
				     size_t count, unimem_location_t loc,
				     unsigned int flags);

#endif /* UNIMEM_BACKEND_H */
