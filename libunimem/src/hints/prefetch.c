/* SPDX-License-Identifier: MIT */
/*
 * prefetch.c - unimem_prefetch and its batch: checked here, moved by the
 * providers (um_provider_place), remembered in the range map (the last
 * prefetch location).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hints/hints.h"

int um_check_mapped(const char *what, uintptr_t start, uintptr_t end)
{
	if (msync((void *)start, end - start, MS_ASYNC) < 0 && errno == ENOMEM)
		return um_error(-EFAULT, "%s: [%p, +%zu) is not (fully) mapped", what,
				(void *)start, (size_t)(end - start));
	return 0;
}

#define PREFETCH_FLAGS_ALL (UNIMEM_PREFETCH_CONTENT_UNDEFINED | UNIMEM_PREFETCH_ALL_OR_NOTHING | \
			    UNIMEM_PREFETCH_DISCARD)
#define DISCARD_FLAGS_ALL UNIMEM_DISCARD_LAZY

/* What every prefetch checks first: its flags and its array. */
static int prefetch_check_args(const char *what, const void *ranges, size_t count,
			       unsigned int flags)
{
	if (flags & ~PREFETCH_FLAGS_ALL)
		return um_error(-EINVAL, "%s: unknown flags 0x%x", what,
				flags & ~PREFETCH_FLAGS_ALL);
	if (count && !ranges)
		return um_error(-EINVAL, "%s: ranges is NULL with count %zu", what, count);
	return 0;
}

int um_prefetch_validate(const char *what, const struct unimem_range *ranges,
			 size_t count, unimem_location_t loc, unsigned int flags)
{
	uintptr_t s, e;
	int err = prefetch_check_args(what, ranges, count, flags);

	if (err < 0)
		return err;
	for (size_t i = 0; i < count; i++) {
		err = um_page_range(what, ranges[i].ptr, ranges[i].size, &s, &e);
		if (err < 0)
			return um_error(err, "%s: range %zu: %s", what, i, unimem_last_error());
	}
	return um_location_check(what, loc);
}

/*
 * Drop the contents of a checked, mapped range: its whole pages through
 * the provider (MADV_DONTNEED or MADV_FREE); unless @lazy, the bytes of
 * the partial pages at its ends are zeroed in place (they hold other
 * data). Returns the whole pages dropped or a negative errno.
 */
static long drop_contents(const void *ptr, size_t size, bool lazy, bool zero_ends)
{
	uintptr_t ps = um_page_size(), p = (uintptr_t)ptr, e = p + size;
	uintptr_t in_start = (p + ps - 1) & ~(ps - 1), in_end = e & ~(ps - 1);
	int err;

	if (in_start >= in_end) { /* no whole page */
		if (zero_ends)
			memset((void *)p, 0, size);
		return 0;
	}
	if (zero_ends) {
		memset((void *)p, 0, in_start - p);
		memset((void *)in_end, 0, e - in_end);
	}
	err = um_provider_host.discard((void *)in_start, in_end - in_start, lazy);
	return err < 0 ? err : (long)((in_end - in_start) / ps);
}

/*
 * Checks and contents handling of one range before it moves: widened to
 * pages in @it; CONTENT_UNDEFINED drops the whole pages, DISCARD drops
 * them and zeroes the partial ends.
 */
static int prepare_range(const char *what, const void *ptr, size_t size,
			 unimem_location_t loc, unsigned int flags, struct um_place_item *it)
{
	uintptr_t start, end;
	int err;

	err = um_page_range(what, ptr, size, &start, &end);
	if (err < 0)
		return err;
	if (flags & (UNIMEM_PREFETCH_CONTENT_UNDEFINED | UNIMEM_PREFETCH_DISCARD)) {
		long r;

		err = um_check_mapped(what, start, end);
		if (err < 0)
			return err;
		r = drop_contents(ptr, size, false, flags & UNIMEM_PREFETCH_DISCARD);
		if (r < 0)
			return (int)r;
	}
	*it = (struct um_place_item){ start, end, loc };
	return 0;
}

long um_prefetch_user_range(const char *what, const void *ptr, size_t size,
			    unimem_location_t loc, unsigned int flags)
{
	struct um_place_item it;
	int err;

	err = prepare_range(what, ptr, size, loc, flags, &it);
	if (err < 0)
		return err;
	long r = um_provider_place(it.start, it.end, loc, flags);
	if (r >= 0) {
		struct um_range_change c = { UM_CH_PREFETCH, loc };
		(void)um_ranges_update(it.start, it.end, &c);
	}
	return r;
}

int um_prefetch_to_validate(const char *what, const struct unimem_range_to *ranges,
			    size_t count, unsigned int flags)
{
	uintptr_t s, e;
	int err = prefetch_check_args(what, ranges, count, flags);

	if (err < 0)
		return err;
	for (size_t i = 0; i < count; i++) {
		err = um_page_range(what, ranges[i].ptr, ranges[i].size, &s, &e);
		if (err == 0 && ranges[i].reserved)
			err = um_error(-EINVAL, "reserved is not zero");
		if (err == 0)
			err = um_location_check(what, um_location_resolve(ranges[i].loc));
		if (err < 0)
			return um_error(err, "%s: range %zu: %s", what, i, unimem_last_error());
	}
	return 0;
}

long um_prefetch_to_run(const char *what, const struct unimem_range_to *ranges, size_t count,
			unsigned int flags)
{
	struct um_place_item *items;
	long r;
	int err;

	if (count == 0)
		return 0;
	items = calloc(count, sizeof(*items));
	if (!items)
		return um_error(-ENOMEM, "%s: out of memory", what);
	for (size_t i = 0; i < count; i++) {
		/* HOST_CURRENT was resolved at submission for the queue. */
		unimem_location_t loc = um_location_resolve(ranges[i].loc);

		err = prepare_range(what, ranges[i].ptr, ranges[i].size, loc, flags, &items[i]);
		if (err == 0)
			err = um_check_mapped(what, items[i].start, items[i].end);
		if (err < 0) {
			free(items);
			return um_error(err, "%s: range %zu: %s", what, i, unimem_last_error());
		}
	}
	r = um_provider_place_many(items, count, flags);
	if (r >= 0)
		for (size_t i = 0; i < count; i++) {
			struct um_range_change c = { UM_CH_PREFETCH, items[i].loc };
			(void)um_ranges_update(items[i].start, items[i].end, &c);
		}
	free(items);
	return r;
}

long unimem_prefetch_batch_to(const struct unimem_range_to *ranges, size_t count,
			      unsigned int flags)
{
	int err = um_prefetch_to_validate("prefetch_batch_to", ranges, count, flags);

	if (err < 0)
		return err;
	return um_prefetch_to_run("prefetch_batch_to", ranges, count, flags);
}

int um_discard_validate(const char *what, const struct unimem_range *ranges, size_t count,
			unsigned int flags)
{
	uintptr_t s, e;
	int err;

	if (flags & ~DISCARD_FLAGS_ALL)
		return um_error(-EINVAL, "%s: unknown flags 0x%x", what,
				flags & ~DISCARD_FLAGS_ALL);
	if (count && !ranges)
		return um_error(-EINVAL, "%s: ranges is NULL with count %zu", what, count);
	for (size_t i = 0; i < count; i++) {
		err = um_page_range(what, ranges[i].ptr, ranges[i].size, &s, &e);
		if (err == 0)
			err = um_check_mapped(what, s, e);
		if (err < 0)
			return um_error(err, "%s: range %zu: %s", what, i, unimem_last_error());
	}
	return 0;
}

long um_discard_run(const char *what, const struct unimem_range *ranges, size_t count,
		    unsigned int flags)
{
	long total = 0;

	for (size_t i = 0; i < count; i++) {
		long r = drop_contents(ranges[i].ptr, ranges[i].size, flags & UNIMEM_DISCARD_LAZY,
				       !(flags & UNIMEM_DISCARD_LAZY));

		if (r < 0)
			return um_error((int)r, "%s: range %zu: %s", what, i, unimem_last_error());
		total += r;
	}
	return total;
}

long unimem_discard(const void *ptr, size_t size, unsigned int flags)
{
	struct unimem_range r = { ptr, size };
	int err = um_discard_validate("discard", &r, 1, flags);

	return err < 0 ? err : um_discard_run("discard", &r, 1, flags);
}

long unimem_discard_batch(const struct unimem_range *ranges, size_t count, unsigned int flags)
{
	int err = um_discard_validate("discard_batch", ranges, count, flags);

	return err < 0 ? err : um_discard_run("discard_batch", ranges, count, flags);
}

long unimem_prefetch(const void *ptr, size_t size, unimem_location_t loc,
		     unsigned int flags)
{
	struct unimem_range r = { ptr, size };
	int err;

	loc = um_location_resolve(loc);
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

	loc = um_location_resolve(loc);
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
