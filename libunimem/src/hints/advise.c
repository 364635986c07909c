/* SPDX-License-Identifier: MIT */
/*
 * hints.c - prefetch, advise, granularity and range attributes.
 *
 * Advice lives in a range table (sorted, non-overlapping segments of
 * address space with their attributes), so unimem_range_get_attr() returns
 * what was set whatever the backend could apply. Applied are: a host
 * preferred location (a non-strict hwloc bind, i.e. MPOL_PREFERRED, without
 * migration: pages move only on prefetch), and, when the module has range
 * attributes (UNIMEM_IOCTL_ATTR), everything, pushed to the module after
 * each change. Without the module, read-mostly, accessed-by and granularity
 * are advisory.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "provider/provider.h"
#include "ranges/ranges.h"
#include <linux/unimem.h>

#define MAX_GRANULARITY 12      /* 16 MiB of 4 KiB pages (the module's cap) */
#define DEFAULT_GRANULARITY UM_DEFAULT_GRANULARITY
#define SYSTEM_BIT UM_SYSTEM_BIT

/* Advice was ever pushed to the module (its store then needs resetting on reuse). */
static _Atomic bool module_advised;

void um_hints_record_placement(uintptr_t start, uintptr_t end, unimem_location_t loc)
{
	struct um_range_change c = { UM_CH_PLACEMENT, loc };
	(void)um_ranges_update(start, end, &c);
}

void um_hints_record_prefetch(uintptr_t start, uintptr_t end, unimem_location_t loc)
{
	struct um_range_change c = { UM_CH_PREFETCH, loc };
	(void)um_ranges_update(start, end, &c);
}

void um_hints_forget(void *addr, size_t size)
{
	uintptr_t start, end;

	if (um_ranges_count() == 0)
		return;
	if (um_page_range("forget", addr, size, &start, &end) == 0)
		um_ranges_forget(start, end);
}

static int find_preferred(uintptr_t s, uintptr_t e, const struct um_advice *a, void *arg)
{
	(void)s;
	(void)e;
	if (a->preferred != UNIMEM_LOC_NONE) {
		*(bool *)arg = true;
		return 1;
	}
	return 0;
}

void um_hints_reuse(void *addr, size_t size, unimem_location_t placement)
{
	uintptr_t start, end;
	bool had_preferred = false;

	if (um_ranges_count() == 0 &&
	    !atomic_load_explicit(&module_advised, memory_order_relaxed))
		return;
	if (um_page_range("reuse", addr, size, &start, &end) < 0)
		return;
	(void)um_ranges_walk(start, end, find_preferred, &had_preferred);
	um_hints_forget(addr, size);
	/* A preferred location was applied as a memory policy: back to the
	 * allocation's own placement. */
	if (had_preferred) {
		if (UNIMEM_LOC_KIND(placement) == UNIMEM_LOC_KIND_HOST)
			(void)um_backend_host.place((void *)start, end - start, placement);
		else
			(void)um_backend_host.apply_preferred((void *)start, end - start,
							      UNIMEM_LOC_NONE);
	}
	/* The module drops attributes on munmap, not on reuse by the allocator. */
	if (atomic_load_explicit(&module_advised, memory_order_relaxed))
		(void)um_module_set_range_attrs(start, end, UNIMEM_LOC_NONE, 0, false,
						DEFAULT_GRANULARITY);
}

/* The host policy a piece should have: preferred, else placement, else default. */
static int restore_piece(uintptr_t s, uintptr_t e, const struct um_advice *a, void *arg)
{
	int *first_err = arg, err;

	if (UNIMEM_LOC_KIND(a->preferred) == UNIMEM_LOC_KIND_HOST ||
	    a->preferred == UNIMEM_LOC_SYSTEM) /* system: the kernel's choice */
		err = um_backend_host.apply_preferred((void *)s, e - s, a->preferred);
	else if (UNIMEM_LOC_KIND(a->placement) == UNIMEM_LOC_KIND_HOST)
		err = um_backend_host.place((void *)s, e - s, a->placement);
	else
		err = um_backend_host.apply_preferred((void *)s, e - s, UNIMEM_LOC_NONE);
	if (err < 0 && *first_err == 0)
		*first_err = err;
	return 0;
}

/*
 * Accessed-by is kept by the library (the module's ioctl sets whole masks,
 * so adding one device needs the current mask of every piece): push each
 * piece's device mask.
 */
static int push_piece(uintptr_t s, uintptr_t e, const struct um_advice *a, void *arg)
{
	struct unimem_attr attr = { UNIMEM_RANGE_ATTR_ACCESSED_BY, 0 };
	int err;

	for (int bit = 0; bit < SYSTEM_BIT; bit++) {
		unimem_location_t loc;

		if (!(a->accessed_by & (1ull << bit)))
			continue;
		loc = um_location_at(bit);
		if (UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_DEVICE && UNIMEM_LOC_INDEX(loc) < 32)
			attr.value |= 1u << UNIMEM_LOC_INDEX(loc);
	}
	err = um_module_attrs(UNIMEM_RANGE_ATTR_OP_SET, s, e, &attr, 1);
	if (err < 0) {
		*(int *)arg = err;
		return 1;
	}
	return 0;
}

static int push_accessed_by(uintptr_t start, uintptr_t end)
{
	int err = 0;

	if (um_ranges_walk(start, end, push_piece, &err) < 0 && err == 0)
		err = -ENOMEM;
	return err;
}

/* The module holds preferred location, read-mostly and granularity. */
static int module_set(uintptr_t start, uintptr_t end, uint32_t type, uint32_t value)
{
	struct unimem_attr attr = { type, value };
	int r;

	atomic_store_explicit(&module_advised, true, memory_order_relaxed);
	r = um_module_attrs(UNIMEM_RANGE_ATTR_OP_SET, start, end, &attr, 1);
	return r < 0 ? r : 0;
}

/* GET one attribute from the module; UNIMEM_RANGE_ATTR_MIXED if it differs. */
static int module_get(uintptr_t start, uintptr_t end, uint32_t type, uint32_t *value)
{
	struct unimem_attr attr = { type, 0 };
	int r = um_module_attrs(UNIMEM_RANGE_ATTR_OP_GET, start, end, &attr, 1);

	if (r < 0)
		return r;
	*value = attr.value;
	return 0;
}

/* The policy a range should have after its preferred location changed. */
static int restore_policy(uintptr_t start, uintptr_t end)
{
	int err = 0;

	if (um_ranges_walk(start, end, restore_piece, &err) < 0 && err == 0)
		err = -ENOMEM;
	return err;
}

/* ------------------------------------------------------------------------
 * Prefetch
 * ------------------------------------------------------------------------ */
static int check_mapped(const char *what, uintptr_t start, uintptr_t end)
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

		err = check_mapped(what, start, end);
		if (err < 0)
			return err;
		if (in_start < in_end)
			um_os_discard((void *)in_start, in_end - in_start);
	}
	return um_prefetch_range(start, end, loc, flags);
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

/* ------------------------------------------------------------------------
 * Advice
 * ------------------------------------------------------------------------ */
/* The accessed-by bit of a location (its table index; SYSTEM has its own). */
static int accessed_bit(unimem_location_t loc)
{
	if (loc == UNIMEM_LOC_SYSTEM)
		return SYSTEM_BIT;
	return um_location_index(loc);
}

int unimem_advise(const void *ptr, size_t size, enum unimem_advice advice,
		  unimem_location_t loc)
{
	uintptr_t start, end;
	struct um_range_change c;
	int err, bit;

	err = um_page_range("advise", ptr, size, &start, &end);
	if (err < 0)
		return err;
	switch (advice) {
	case UNIMEM_ADVISE_SET_PREFERRED_LOCATION:
	case UNIMEM_ADVISE_SET_ACCESSED_BY:
	case UNIMEM_ADVISE_UNSET_ACCESSED_BY:
		err = um_location_check("advise", loc);
		if (err < 0)
			return err;
		break;
	case UNIMEM_ADVISE_UNSET_PREFERRED_LOCATION:
	case UNIMEM_ADVISE_SET_READ_MOSTLY:
	case UNIMEM_ADVISE_UNSET_READ_MOSTLY:
		break; /* loc ignored */
	default:
		return um_error(-EINVAL, "advise: unknown advice %d", (int)advice);
	}
	err = check_mapped("advise", start, end);
	if (err < 0)
		return err;

	switch (advice) {
	case UNIMEM_ADVISE_SET_PREFERRED_LOCATION:
		c = (struct um_range_change){ UM_CH_PREFERRED, loc };
		break;
	case UNIMEM_ADVISE_UNSET_PREFERRED_LOCATION:
		c = (struct um_range_change){ UM_CH_PREFERRED, UNIMEM_LOC_NONE };
		break;
	case UNIMEM_ADVISE_SET_ACCESSED_BY:
	case UNIMEM_ADVISE_UNSET_ACCESSED_BY:
		bit = accessed_bit(loc);
		if (bit < 0)
			return um_error(-ENODEV, "advise: location 0x%08x is not in the table", loc);
		c = (struct um_range_change){ advice == UNIMEM_ADVISE_SET_ACCESSED_BY ? UM_CH_ACCESSED_SET
									   : UM_CH_ACCESSED_CLEAR,
				     1ull << bit };
		break;
	case UNIMEM_ADVISE_SET_READ_MOSTLY:
		c = (struct um_range_change){ UM_CH_READ_MOSTLY, 1 };
		break;
	default: /* UNIMEM_ADVISE_UNSET_READ_MOSTLY */
		c = (struct um_range_change){ UM_CH_READ_MOSTLY, 0 };
		break;
	}
	if (um_module_has_attrs()) {
		/* The module's store is the truth: keep only what it cannot say. */
		switch (c.what) {
		case UM_CH_PREFERRED:
			err = module_set(start, end, UNIMEM_RANGE_ATTR_PREFERRED_LOC,
					 um_module_target((unimem_location_t)c.value));
			if (err < 0)
				return err;
			/* a host node is "system" to the module: the node is ours */
			if (UNIMEM_LOC_KIND(c.value) != UNIMEM_LOC_KIND_HOST)
				c.value = UNIMEM_LOC_NONE;
			break;
		case UM_CH_READ_MOSTLY:
			return module_set(start, end, UNIMEM_RANGE_ATTR_READ_MOSTLY,
					  (uint32_t)c.value);
		default:
			break;
		}
	}
	err = um_ranges_update(start, end, &c);
	if (err < 0)
		return err;
	if (um_module_has_attrs() &&
	    (c.what == UM_CH_ACCESSED_SET || c.what == UM_CH_ACCESSED_CLEAR)) {
		atomic_store_explicit(&module_advised, true, memory_order_relaxed);
		err = push_accessed_by(start, end);
		if (err < 0)
			return err;
	}
	if (c.what == UM_CH_PREFERRED) {
		/* Host: future faults go there (no migration now); devices: kept. */
		err = restore_policy(start, end);
		if (err < 0)
			return err;
		if (UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_DEVICE &&
		    advice == UNIMEM_ADVISE_SET_PREFERRED_LOCATION)
			err = um_backend_module.apply_preferred((void *)start, end - start, loc);
	}
	return err;
}

int unimem_set_granularity(const void *ptr, size_t size, unsigned int log2_pages)
{
	uintptr_t start, end;
	struct um_range_change c = { UM_CH_GRANULARITY, log2_pages };
	int err;

	err = um_page_range("set_granularity", ptr, size, &start, &end);
	if (err < 0)
		return err;
	if (log2_pages > MAX_GRANULARITY)
		return um_error(-EINVAL, "set_granularity: log2_pages %u above the maximum %d "
				"(16 MiB of 4 KiB pages)", log2_pages, MAX_GRANULARITY);
	err = check_mapped("set_granularity", start, end);
	if (err < 0)
		return err;
	if (um_module_has_attrs())
		return module_set(start, end, UNIMEM_RANGE_ATTR_GRANULARITY, log2_pages);
	return um_ranges_update(start, end, &c);
}

/* ------------------------------------------------------------------------
 * Range attributes
 * ------------------------------------------------------------------------ */
struct summary {
	enum unimem_range_attr attr;
	bool first;
	unimem_location_t loc;    /* PREFERRED, LAST_PREFETCH */
	int read_mostly;
	uint64_t accessed_by;
	unsigned granularity;
};

static int summarize(uintptr_t s, uintptr_t e, const struct um_advice *a, void *arg)
{
	struct summary *sum = arg;

	switch (sum->attr) {
	case UNIMEM_ATTR_PREFERRED_LOCATION:
		if (sum->first)
			sum->loc = a->preferred;
		else if (sum->loc != a->preferred)
			sum->loc = UNIMEM_LOC_MIXED;
		break;
	case UNIMEM_ATTR_LAST_PREFETCH_LOCATION:
		/* Only a prefetch that covered all of the range counts. */
		if (sum->first)
			sum->loc = a->last_prefetch;
		else if (sum->loc != a->last_prefetch)
			sum->loc = UNIMEM_LOC_NONE;
		break;
	case UNIMEM_ATTR_READ_MOSTLY:
		sum->read_mostly = (sum->first || sum->read_mostly) && a->read_mostly;
		break;
	case UNIMEM_ATTR_ACCESSED_BY:
		sum->accessed_by = sum->first ? a->accessed_by : sum->accessed_by & a->accessed_by;
		break;
	case UNIMEM_ATTR_GRANULARITY:
		if (sum->first)
			sum->granularity = a->granularity;
		else if (sum->granularity != a->granularity)
			sum->granularity = UINT_MAX;
		break;
	default:
		break;
	}
	sum->first = false;
	return 0;
}

/* With the module, what its store holds replaces the library's view. */
static int module_summary(uintptr_t start, uintptr_t end, struct summary *sum)
{
	uint32_t v;
	int err;

	switch (sum->attr) {
	case UNIMEM_ATTR_READ_MOSTLY:
		err = module_get(start, end, UNIMEM_RANGE_ATTR_READ_MOSTLY, &v);
		if (err == 0)
			sum->read_mostly = v == 1;
		return err;
	case UNIMEM_ATTR_GRANULARITY:
		err = module_get(start, end, UNIMEM_RANGE_ATTR_GRANULARITY, &v);
		if (err == 0)
			sum->granularity = v == UNIMEM_RANGE_ATTR_MIXED ? UINT_MAX : v;
		return err;
	case UNIMEM_ATTR_PREFERRED_LOCATION:
		err = module_get(start, end, UNIMEM_RANGE_ATTR_PREFERRED_LOC, &v);
		if (err < 0)
			return err;
		if (v == UNIMEM_RANGE_ATTR_MIXED)
			sum->loc = UNIMEM_LOC_MIXED;
		else if (v == UNIMEM_TARGET_NONE)
			sum->loc = sum->loc == UNIMEM_LOC_NONE ? UNIMEM_LOC_NONE : UNIMEM_LOC_MIXED;
		else if (v == UNIMEM_TARGET_SYSTEM) /* a host node, if the library says so */
			sum->loc = UNIMEM_LOC_KIND(sum->loc) == UNIMEM_LOC_KIND_HOST ||
					   sum->loc == UNIMEM_LOC_MIXED
				   ? sum->loc : UNIMEM_LOC_SYSTEM;
		else
			sum->loc = UNIMEM_LOC_DEVICE(v);
		return 0;
	default:
		return 0;
	}
}

static int need(const char *what, size_t out_size, size_t size)
{
	if (out_size < size)
		return um_error(-EINVAL, "range_get_attr: %s needs %zu bytes of output, got %zu",
				what, size, out_size);
	return 0;
}

int unimem_range_get_attr(const void *ptr, size_t size, enum unimem_range_attr attr,
			  void *out, size_t out_size)
{
	struct summary sum = { .attr = attr, .first = true };
	uintptr_t start, end;
	size_t npages;
	int err;

	err = um_page_range("range_get_attr", ptr, size, &start, &end);
	if (err < 0)
		return err;
	if (!out)
		return um_error(-EINVAL, "range_get_attr: out is NULL");
	npages = (end - start) / um_page_size();
	switch (attr) {
	case UNIMEM_ATTR_LOCATION:
	case UNIMEM_ATTR_LAST_PREFETCH_LOCATION:
	case UNIMEM_ATTR_PREFERRED_LOCATION:
		err = need("a location attribute", out_size, sizeof(unimem_location_t));
		break;
	case UNIMEM_ATTR_PAGE_LOCATIONS:
		if (npages > SIZE_MAX / sizeof(unimem_location_t))
			return um_error(-EINVAL, "range_get_attr: range too large");
		err = need("PAGE_LOCATIONS (one slot a page)", out_size,
			   npages * sizeof(unimem_location_t));
		break;
	case UNIMEM_ATTR_READ_MOSTLY:
		err = need("READ_MOSTLY", out_size, sizeof(int));
		break;
	case UNIMEM_ATTR_ACCESSED_BY:
		err = need("ACCESSED_BY", out_size, sizeof(unimem_location_t));
		break;
	case UNIMEM_ATTR_GRANULARITY:
		err = need("GRANULARITY", out_size, sizeof(unsigned int));
		break;
	default:
		return um_error(-EINVAL, "range_get_attr: unknown attribute %d", (int)attr);
	}
	if (err < 0)
		return err;
	err = check_mapped("range_get_attr", start, end);
	if (err < 0)
		return err;

	if (attr == UNIMEM_ATTR_LOCATION) {
		unimem_location_t loc = um_range_location((const void *)start, end - start);
		memcpy(out, &loc, sizeof(loc));
		return 0;
	}
	if (attr == UNIMEM_ATTR_PAGE_LOCATIONS)
		return um_page_locations(start, npages, out);

	err = um_ranges_walk(start, end, summarize, &sum);
	if (err < 0)
		return err;
	if (um_module_has_attrs()) {
		err = module_summary(start, end, &sum);
		if (err < 0)
			return err;
	}

	switch (attr) {
	case UNIMEM_ATTR_READ_MOSTLY:
		memcpy(out, &sum.read_mostly, sizeof(int));
		break;
	case UNIMEM_ATTR_GRANULARITY:
		memcpy(out, &sum.granularity, sizeof(unsigned));
		break;
	case UNIMEM_ATTR_ACCESSED_BY: {
		size_t slots = out_size / sizeof(unimem_location_t), k = 0;
		unimem_location_t *locs = out;

		for (int bit = 0; bit < 64 && k < slots; bit++)
			if (sum.accessed_by & (1ull << bit))
				locs[k++] = bit == SYSTEM_BIT ? UNIMEM_LOC_SYSTEM : um_location_at(bit);
		while (k < slots)
			locs[k++] = UNIMEM_LOC_NONE;
		break;
	}
	default:
		memcpy(out, &sum.loc, sizeof(sum.loc));
		break;
	}
	return 0;
}
