/* SPDX-License-Identifier: MIT */
/*
 * segment.c - the registry of our 4 MiB granules, small segments, and the
 * allocator's two outside calls: placing fresh memory (providers) and
 * forgetting advice with the memory (the range map).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "alloc/alloc.h"
#include "provider/provider.h"
#include "ranges/ranges.h"

_Atomic uint64_t um_stat_segments, um_stat_segments_total, um_stat_huge_total,
	um_stat_invalid, um_stat_page_bytes, um_stat_purged, um_stat_huge_fresh;

/* Two levels: 2^11 leaves of 2^14 granules cover the 47-bit user space.
 * Leaves are mapped on demand and never freed (128 KiB each). */
#define UM_REG_TOP (1u << (UM_ADDR_BITS - UM_SEGMENT_SHIFT - UM_REG_LEAF_SHIFT))
_Atomic(_Atomic(struct um_segment *) *) um_registry[UM_REG_TOP];

static _Atomic(struct um_segment *) *um_registry_leaf(uintptr_t a, bool create)
{
	size_t top = a >> (UM_SEGMENT_SHIFT + UM_REG_LEAF_SHIFT);
	_Atomic(struct um_segment *) *leaf =
		atomic_load_explicit(&um_registry[top], memory_order_acquire);
	if (leaf != NULL || !create)
		return leaf;
	um_lock();
	leaf = atomic_load_explicit(&um_registry[top], memory_order_relaxed);
	if (leaf == NULL) {
		leaf = um_os_map(sizeof(*leaf) << UM_REG_LEAF_SHIFT, 0);
		if (leaf != NULL)
			atomic_store_explicit(&um_registry[top], leaf,
					      memory_order_release);
	}
	um_unlock();
	return leaf;
}

int um_registry_set(void *base, size_t size, struct um_segment *seg)
{
	uintptr_t a = (uintptr_t)base, end = a + size;
	if (end >> UM_ADDR_BITS)
		return -ENOMEM;
	for (; a < end; a = (a & ~UM_SEGMENT_MASK) + UM_SEGMENT_SIZE) {
		_Atomic(struct um_segment *) *leaf = um_registry_leaf(a, true);
		if (leaf == NULL)
			return -ENOMEM;
		atomic_store_explicit(
			&leaf[(a >> UM_SEGMENT_SHIFT) & ((1u << UM_REG_LEAF_SHIFT) - 1)],
			seg, memory_order_release);
	}
	return 0;
}

void um_registry_clear(void *base, size_t size, struct um_segment *seg)
{
	uintptr_t a = (uintptr_t)base, end = a + size;
	for (; a < end; a = (a & ~UM_SEGMENT_MASK) + UM_SEGMENT_SIZE) {
		_Atomic(struct um_segment *) *leaf = um_registry_leaf(a, false);
		if (leaf == NULL)
			continue;
		struct um_segment *expected = seg;
		atomic_compare_exchange_strong(
			&leaf[(a >> UM_SEGMENT_SHIFT) & ((1u << UM_REG_LEAF_SHIFT) - 1)],
			&expected, NULL);
	}
}

int um_alloc_place(unimem_location_t loc, void *addr, size_t size)
{
	if (loc == UNIMEM_LOC_NONE)
		return 0;
	/* the heap's location was checked when it got its slot */
	int err = um_provider_of(loc)->map(addr, size, loc, UM_MAP_BIND);
	if (err == 0) {
		struct um_range_change c = { UM_CH_PLACEMENT, loc };
		uintptr_t s = (uintptr_t)addr, ps = um_page_size();
		(void)um_ranges_update(s & ~(ps - 1), (s + size + ps - 1) & ~(ps - 1), &c);
	}
	return err;
}

void um_alloc_forget(void *addr, size_t size)
{
	uintptr_t s = (uintptr_t)addr, ps = um_page_size();
	if (um_ranges_count())
		um_ranges_forget(s & ~(ps - 1), (s + size + ps - 1) & ~(ps - 1));
}

void um_alloc_reuse(void *addr, size_t size, unimem_location_t placement)
{
	if (um_ranges_count() == 0 &&
	    !atomic_load_explicit(&um_device_advised, memory_order_relaxed))
		return; /* nothing was ever advised */
	uintptr_t s = (uintptr_t)addr & ~(um_page_size() - 1), e = (uintptr_t)addr + size;
	if (um_ranges_count() && um_ranges_forget(s, e)) {
		/* a preferred location was a host policy: back to the placement */
		um_provider_map((void *)s, e - s,
				UNIMEM_LOC_KIND(placement) == UNIMEM_LOC_KIND_HOST ? placement
										   : UNIMEM_LOC_NONE,
				UM_MAP_BIND);
		if (placement != UNIMEM_LOC_NONE) {
			struct um_range_change c = { UM_CH_PLACEMENT, placement };
			(void)um_ranges_update(s, e, &c);
		}
	}
	um_provider_unmap((void *)s, e - s);
}

struct um_segment *um_segment_new(struct um_heap *heap)
{
	struct um_segment *seg = um_os_map(UM_SEGMENT_SIZE, UM_SEGMENT_SIZE);
	if (seg == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	/* what was advised where the application had memory before is gone */
	um_alloc_forget(seg, UM_SEGMENT_SIZE);
	/* On a device the header slice stays in host memory (a host bind of
	 * part of the mapping would split its VMA for nothing). */
	size_t skip = heap->oob ? UM_SLICE_SIZE : 0;
	int err = um_alloc_place(heap->loc, (uint8_t *)seg + skip, UM_SEGMENT_SIZE - skip);
	if (err == 0)
		err = um_registry_set(seg, UM_SEGMENT_SIZE, seg);
	if (err != 0) {
		um_os_unmap(seg, UM_SEGMENT_SIZE);
		errno = -err;
		return NULL;
	}
	/* Fresh anonymous memory is zero: only set what is not. */
	seg->magic = UM_SEG_MAGIC;
	seg->kind = UM_SEG_SMALL;
	seg->map_size = UM_SEGMENT_SIZE;
	seg->loc = heap->loc;
	__atomic_store_n(&seg->heap, heap, __ATOMIC_RELAXED);
	seg->used_mask = 1; /* slice 0: this header */
	atomic_store_explicit(&seg->owner_tid, heap->tid, memory_order_release);
	atomic_fetch_add_explicit(&um_stat_segments, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&um_stat_segments_total, 1, memory_order_relaxed);
	return seg;
}

void um_segment_delete(struct um_segment *seg)
{
	if (um_thread_segment == seg)
		um_thread_segment = UM_NO_SEGMENT;
	um_alloc_forget(seg, UM_SEGMENT_SIZE);
	um_registry_clear(seg, UM_SEGMENT_SIZE, seg);
	seg->magic = 0;
	um_os_unmap(seg, UM_SEGMENT_SIZE);
	atomic_fetch_sub_explicit(&um_stat_segments, 1, memory_order_relaxed);
}
