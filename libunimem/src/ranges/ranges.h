/* SPDX-License-Identifier: MIT */
/*
 * ranges.h - the range map: advice attached to address ranges (sorted,
 * non-overlapping pieces, split and merged as advice changes; ranges with
 * the default advice are not stored).
 *
 * It takes no memory from malloc (its storage is mmap'ed): the allocator
 * calls it from its own slow paths, where malloc would recurse.
 */
#ifndef UM_RANGES_H
#define UM_RANGES_H

#include "internal.h"

#define UM_DEFAULT_GRANULARITY 9 /* 2 MiB of 4 KiB pages */
#define UM_SYSTEM_BIT 63         /* accessed-by bit of UNIMEM_LOC_SYSTEM */

struct um_advice {
	unimem_location_t preferred;     /* NONE: unset */
	unimem_location_t placement;     /* the allocation's location (alloc/) */
	unimem_location_t last_prefetch; /* NONE: never prefetched */
	uint64_t accessed_by;            /* bit i: location table index i */
	uint8_t read_mostly;
	uint8_t granularity;
};

extern const struct um_advice um_advice_default UM_INTERNAL;

struct um_range_change {
	enum { UM_CH_PREFERRED, UM_CH_PLACEMENT, UM_CH_PREFETCH, UM_CH_ACCESSED_SET,
	       UM_CH_ACCESSED_CLEAR, UM_CH_READ_MOSTLY, UM_CH_GRANULARITY,
	       UM_CH_FORGET } what;
	uint64_t value;
};

/* Apply @c to [start, end) (page aligned). 0 or -ENOMEM. */
UM_INTERNAL int um_ranges_update(uintptr_t start, uintptr_t end,
				 const struct um_range_change *c);
/*
 * Call @fn on the pieces of [start, end) with their advice (the default in
 * the gaps), in order, on a copy taken under the lock (@fn may call into
 * the kernel or the module). Stops at the first non-zero return, which it
 * returns.
 */
typedef int (*um_ranges_fn)(uintptr_t s, uintptr_t e, const struct um_advice *a,
			    void *arg);
UM_INTERNAL int um_ranges_walk(uintptr_t start, uintptr_t end, um_ranges_fn fn,
			       void *arg);
/* Drop all advice of [start, end); one atomic load when the map is empty.
 * True if a preferred location was dropped (its policy may need undoing). */
UM_INTERNAL bool um_ranges_forget(uintptr_t start, uintptr_t end);
/* Records held now: one load, inline (the allocator asks on every huge
 * free and page release). */
extern _Atomic size_t um_ranges_records UM_INTERNAL;
static inline size_t um_ranges_count(void)
{
	return __atomic_load_n((size_t *)&um_ranges_records, __ATOMIC_RELAXED);
}

#endif /* UM_RANGES_H */
