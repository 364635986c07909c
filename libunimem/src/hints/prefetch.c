/* SPDX-License-Identifier: MIT */
/*
 * prefetch.c - unimem_prefetch and its batch: checked here, moved by the
 * providers (um_provider_place), remembered in the range map (the last
 * prefetch location).
 */
#include <errno.h>
#include <sys/mman.h>

#include "hints/hints.h"

int um_check_mapped(const char *what, uintptr_t start, uintptr_t end)
{
	if (msync((void *)start, end - start, MS_ASYNC) < 0 && errno == ENOMEM)
		return um_error(-EFAULT, "%s: [%p, +%zu) is not (fully) mapped", what,
				(void *)start, (size_t)(end - start));
	return 0;
}

#define PREFETCH_FLAGS_ALL (UNIMEM_PREFETCH_CONTENT_UNDEFINED | UNIMEM_PREFETCH_ALL_OR_NOTHING)

int um_prefetch_validate(const char *what, const struct unimem_range *ranges,
			 size_t count, unimem_location_t loc, unsigned int flags)
{
	uintptr_t s, e;
	int err;

	if (flags & ~PREFETCH_FLAGS_ALL)
		return um_error(-EINVAL, "%s: unknown flags 0x%x", what,
				flags & ~PREFETCH_FLAGS_ALL);
	if (count && !ranges)
		return um_error(-EINVAL, "%s: ranges is NULL with count %zu", what, count);
	for (size_t i = 0; i < count; i++) {
		err = um_page_range(what, ranges[i].ptr, ranges[i].size, &s, &e);
		if (err < 0)
			return um_error(err, "%s: range %zu: %s", what, i, unimem_last_error());
	}
	return um_location_check(what, loc);
}

long um_prefetch_user_range(const char *what, const void *ptr, size_t size,
			    unimem_location_t loc, unsigned int flags)
{
	uintptr_t start, end, ps = um_page_size();
	int err;

	err = um_page_range(what, ptr, size, &start, &end);
	if (err < 0)
		return err;
	if (flags & UNIMEM_PREFETCH_CONTENT_UNDEFINED) {
		/*
		 * Drop the pages wholly inside the range instead of copying them;
		 * the partial pages at the ends hold other data and are moved.
		 */
		uintptr_t in_start = ((uintptr_t)ptr + ps - 1) & ~(ps - 1);
		uintptr_t in_end = ((uintptr_t)ptr + size) & ~(ps - 1);

		err = um_check_mapped(what, start, end);
		if (err < 0)
			return err;
		if (in_start < in_end)
			um_provider_host.discard((void *)in_start, in_end - in_start);
	}
	long r = um_provider_place(start, end, loc, flags);
	if (r >= 0) {
		struct um_range_change c = { UM_CH_PREFETCH, loc };
		(void)um_ranges_update(start, end, &c);
	}
	return r;
}

long unimem_prefetch(const void *ptr, size_t size, unimem_location_t loc,
		     unsigned int flags)
{
	struct unimem_range r = { ptr, size };
	int err;

	err = um_prefetch_validate("prefetch", &r, 1, loc, flags);
	if (err < 0)
		return err;
	return um_prefetch_user_range("prefetch", ptr, size, loc, flags);
}

long unimem_prefetch_batch(const struct unimem_range *ranges, size_t count,
			   unimem_location_t loc, unsigned int flags)
{
	long total = 0;
	int err;

	err = um_prefetch_validate("prefetch_batch", ranges, count, loc, flags);
	if (err < 0)
		return err;
	for (size_t i = 0; i < count; i++) {
		long r = um_prefetch_user_range("prefetch_batch", ranges[i].ptr, ranges[i].size,
						 loc, flags);

		if (r < 0)
			return um_error((int)r, "prefetch_batch: range %zu: %s", i,
					unimem_last_error());
		total += r;
	}
	return total;
}
