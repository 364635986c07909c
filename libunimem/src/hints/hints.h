/* SPDX-License-Identifier: MIT */
/*
 * hints.h - prefetch, advise, range attributes and the asynchronous queue.
 * They call the providers (provider/) and the range map (ranges/) only.
 */
#ifndef UM_HINTS_H
#define UM_HINTS_H

#include "provider/provider.h"
#include "ranges/ranges.h"

#define UM_MAX_GRANULARITY 12 /* 16 MiB of 4 KiB pages (the module's cap) */

/* prefetch.c */
/* -EFAULT (with message) if [start, end) is not wholly mapped. */
UM_INTERNAL int um_check_mapped(const char *what, uintptr_t start, uintptr_t end);
/* Check prefetch arguments (all ranges, location, flags) before any work. */
UM_INTERNAL int um_prefetch_validate(const char *what, const struct unimem_range *ranges,
				     size_t count, unimem_location_t loc,
				     unsigned int flags);
/* unimem_prefetch() of one checked user range (widened; CONTENT_UNDEFINED
 * discards the pages wholly inside it instead of moving them). */
UM_INTERNAL long um_prefetch_user_range(const char *what, const void *ptr, size_t size,
					unimem_location_t loc, unsigned int flags);

/* unimem_prefetch_batch_to(): check everything, then run (the queue runs
 * on its worker); and the same for unimem_discard_batch(). */
UM_INTERNAL int um_prefetch_to_validate(const char *what, const struct unimem_range_to *ranges,
					size_t count, unsigned int flags);
UM_INTERNAL long um_prefetch_to_run(const char *what, const struct unimem_range_to *ranges,
				    size_t count, unsigned int flags);
UM_INTERNAL int um_discard_validate(const char *what, const struct unimem_range *ranges,
				    size_t count, unsigned int flags);
UM_INTERNAL long um_discard_run(const char *what, const struct unimem_range *ranges,
				size_t count, unsigned int flags);

/* advise.c: GET of one module attribute (UNIMEM_RANGE_ATTR_MIXED if it differs) */
UM_INTERNAL int um_hints_device_get(uintptr_t start, uintptr_t end, uint32_t type,
				    uint32_t *value);

#endif /* UM_HINTS_H */
