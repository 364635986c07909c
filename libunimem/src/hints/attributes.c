/* SPDX-License-Identifier: MIT */
/*
 * attributes.c - unimem_range_get_attr: where pages are (the providers
 * describe them) and the advice of a range (the range map, or the
 * module's store when it has range attributes).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "hints/hints.h"
#include <linux/unimem.h>

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
		if (sum->first)
			sum->loc = a->last_prefetch;
		else if (sum->loc != a->last_prefetch)
			sum->loc = UNIMEM_LOC_MIXED;
		break;
	case UNIMEM_ATTR_READ_MOSTLY:
		if (sum->first)
			sum->read_mostly = a->read_mostly ? 1 : 0;
		else if (sum->read_mostly != (a->read_mostly ? 1 : 0))
			sum->read_mostly = UNIMEM_ATTR_MIXED;
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
		err = um_hints_device_get(start, end, UNIMEM_RANGE_ATTR_READ_MOSTLY, &v);
		if (err == 0)
			sum->read_mostly = v == UNIMEM_RANGE_ATTR_MIXED ? UNIMEM_ATTR_MIXED : v == 1;
		return err;
	case UNIMEM_ATTR_GRANULARITY:
		err = um_hints_device_get(start, end, UNIMEM_RANGE_ATTR_GRANULARITY, &v);
		if (err == 0)
			sum->granularity = v == UNIMEM_RANGE_ATTR_MIXED ? UINT_MAX : v;
		return err;
	case UNIMEM_ATTR_PREFERRED_LOCATION:
		err = um_hints_device_get(start, end, UNIMEM_RANGE_ATTR_PREFERRED_LOC, &v);
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

/* Check one attribute and its output buffer for a range of @npages. */
static int check_attr(enum unimem_range_attr attr, const void *out, size_t out_size,
		      size_t npages)
{
	if (!out)
		return um_error(-EINVAL, "range_get_attr: out is NULL");
	switch (attr) {
	case UNIMEM_ATTR_LOCATION:
	case UNIMEM_ATTR_LAST_PREFETCH_LOCATION:
	case UNIMEM_ATTR_PREFERRED_LOCATION:
		return need("a location attribute", out_size, sizeof(unimem_location_t));
	case UNIMEM_ATTR_PAGE_LOCATIONS:
		if (npages > SIZE_MAX / sizeof(unimem_location_t))
			return um_error(-EINVAL, "range_get_attr: range too large");
		return need("PAGE_LOCATIONS (one slot a page)", out_size,
			    npages * sizeof(unimem_location_t));
	case UNIMEM_ATTR_READ_MOSTLY:
		return need("READ_MOSTLY", out_size, sizeof(int));
	case UNIMEM_ATTR_ACCESSED_BY:
		return need("ACCESSED_BY", out_size, sizeof(unimem_location_t));
	case UNIMEM_ATTR_GRANULARITY:
		return need("GRANULARITY", out_size, sizeof(unsigned int));
	default:
		return um_error(-EINVAL, "range_get_attr: unknown attribute %d", (int)attr);
	}
}

/* Read one checked attribute of a checked, mapped, page-aligned range. */
static int read_attr(uintptr_t start, uintptr_t end, enum unimem_range_attr attr, void *out,
		     size_t out_size)
{
	struct summary sum = { .attr = attr, .first = true };
	size_t npages = (end - start) / um_page_size();
	int err;

	if (attr == UNIMEM_ATTR_LOCATION) {
		unimem_location_t loc = um_provider_where((const void *)start, end - start);
		memcpy(out, &loc, sizeof(loc));
		return 0;
	}
	if (attr == UNIMEM_ATTR_PAGE_LOCATIONS)
		return um_provider_describe(start, npages, out);

	err = um_ranges_walk(start, end, summarize, &sum);
	if (err < 0)
		return err;
	if (um_device_has_attrs()) {
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
				locs[k++] = bit == UM_SYSTEM_BIT ? UNIMEM_LOC_SYSTEM : um_location_at(bit);
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

int unimem_range_get_attr(const void *ptr, size_t size, enum unimem_range_attr attr,
			  void *out, size_t out_size)
{
	uintptr_t start, end;
	int err;

	err = um_page_range("range_get_attr", ptr, size, &start, &end);
	if (err < 0)
		return err;
	err = check_attr(attr, out, out_size, (end - start) / um_page_size());
	if (err < 0)
		return err;
	err = um_check_mapped("range_get_attr", start, end);
	if (err < 0)
		return err;
	return read_attr(start, end, attr, out, out_size);
}

int unimem_range_get_attrs(const void *ptr, size_t size, const enum unimem_range_attr *attrs,
			   size_t nattrs, void *const *outs, const size_t *out_sizes)
{
	uintptr_t start, end;
	size_t npages;
	int err;

	err = um_page_range("range_get_attrs", ptr, size, &start, &end);
	if (err < 0)
		return err;
	if (nattrs == 0)
		return um_error(-EINVAL, "range_get_attrs: no attribute asked for");
	if (!attrs || !outs || !out_sizes)
		return um_error(-EINVAL, "range_get_attrs: %s is NULL",
				!attrs ? "attrs" : !outs ? "outs" : "out_sizes");
	npages = (end - start) / um_page_size();
	for (size_t i = 0; i < nattrs; i++) {
		err = check_attr(attrs[i], outs[i], out_sizes[i], npages);
		if (err < 0)
			return um_error(err, "range_get_attrs: entry %zu: %s", i,
					unimem_last_error());
	}
	err = um_check_mapped("range_get_attrs", start, end);
	if (err < 0)
		return err;
	for (size_t i = 0; i < nattrs; i++) {
		err = read_attr(start, end, attrs[i], outs[i], out_sizes[i]);
		if (err < 0)
			return err;
	}
	return 0;
}
