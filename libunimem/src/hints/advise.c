/* SPDX-License-Identifier: MIT */
/*
 * advise.c - unimem_advise and unimem_set_granularity.
 *
 * Advice lives in the range map (ranges/), so unimem_range_get_attr()
 * returns what was set whatever a provider could apply; with the module's
 * range attributes, its store holds preferred location, read-mostly and
 * granularity instead (no second copy), and the map keeps only what the
 * module cannot say (a host node, accessed-by masks). Applied: a preferred
 * location through the providers' map (host: MPOL_PREFERRED without
 * migration; device: the module's attribute); accessed-by masks pushed to
 * the module. Without the module, read-mostly, accessed-by and granularity
 * are advisory.
 */
#include <errno.h>

#include "hints/hints.h"
#include <linux/unimem.h>

/* The policy a piece should have: preferred, else placement, else default. */
static int map_piece(uintptr_t s, uintptr_t e, const struct um_advice *a, void *arg)
{
	int *first_err = arg, err;

	if (UNIMEM_LOC_KIND(a->preferred) == UNIMEM_LOC_KIND_HOST)
		err = um_provider_map((void *)s, e - s, a->preferred, UM_MAP_PREFER);
	else if (UNIMEM_LOC_KIND(a->placement) == UNIMEM_LOC_KIND_HOST)
		err = um_provider_map((void *)s, e - s, a->placement, UM_MAP_BIND);
	else /* none, system (the kernel's choice), a device: default policy */
		err = um_provider_map((void *)s, e - s, UNIMEM_LOC_NONE, UM_MAP_BIND);
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

	for (int bit = 0; bit < UM_SYSTEM_BIT; bit++) {
		unimem_location_t loc;

		if (!(a->accessed_by & (1ull << bit)))
			continue;
		loc = um_location_at(bit);
		if (UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_DEVICE && UNIMEM_LOC_INDEX(loc) < 32)
			attr.value |= 1u << UNIMEM_LOC_INDEX(loc);
	}
	err = um_device_attrs(UNIMEM_RANGE_ATTR_OP_SET, s, e, &attr, 1);
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

	r = um_device_attrs(UNIMEM_RANGE_ATTR_OP_SET, start, end, &attr, 1);
	return r < 0 ? r : 0;
}

/* GET one attribute from the module; UNIMEM_RANGE_ATTR_MIXED if it differs. */
int um_hints_device_get(uintptr_t start, uintptr_t end, uint32_t type, uint32_t *value)
{
	struct unimem_attr attr = { type, 0 };
	int r = um_device_attrs(UNIMEM_RANGE_ATTR_OP_GET, start, end, &attr, 1);

	if (r < 0)
		return r;
	*value = attr.value;
	return 0;
}

/* Map each piece of a range as its advice says, after a preferred location changed. */
static int map_advice(uintptr_t start, uintptr_t end)
{
	int err = 0;

	if (um_ranges_walk(start, end, map_piece, &err) < 0 && err == 0)
		err = -ENOMEM;
	return err;
}

/* The accessed-by bit of a location (its table index; SYSTEM has its own). */
static int accessed_bit(unimem_location_t loc)
{
	if (loc == UNIMEM_LOC_SYSTEM)
		return UM_SYSTEM_BIT;
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
	loc = um_location_resolve(loc);
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
	err = um_check_mapped("advise", start, end);
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
	if (um_device_has_attrs()) {
		/* The module's store is the truth: keep only what it cannot say. */
		switch (c.what) {
		case UM_CH_PREFERRED:
			err = um_provider_device.map((void *)start, end - start,
						     (unimem_location_t)c.value, UM_MAP_PREFER);
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
	if (um_device_has_attrs() &&
	    (c.what == UM_CH_ACCESSED_SET || c.what == UM_CH_ACCESSED_CLEAR)) {
		err = push_accessed_by(start, end);
		if (err < 0)
			return err;
	}
	if (c.what == UM_CH_PREFERRED)
		/* Host: future faults go there (no migration now); devices: in the
		 * module's store (set above). */
		err = map_advice(start, end);
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
	if (log2_pages > UM_MAX_GRANULARITY)
		return um_error(-EINVAL, "set_granularity: log2_pages %u above the maximum %d "
				"(16 MiB of 4 KiB pages)", log2_pages, UM_MAX_GRANULARITY);
	err = um_check_mapped("set_granularity", start, end);
	if (err < 0)
		return err;
	if (um_device_has_attrs())
		return module_set(start, end, UNIMEM_RANGE_ATTR_GRANULARITY, log2_pages);
	return um_ranges_update(start, end, &c);
}
