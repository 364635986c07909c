/* SPDX-License-Identifier: MIT */
/*
 * provider.c - the one place that decides which provider serves a
 * location, and merges what the providers see for queries.
 *
 *   host node N, system  -> host provider; device pages in the range are
 *                           first brought back by the device provider
 *   device N             -> device provider (/dev/unimemN)
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "provider/provider.h"

int um_location_check(const char *what, unimem_location_t loc)
{
	unsigned idx = UNIMEM_LOC_INDEX(loc);
	int err;

	switch (UNIMEM_LOC_KIND(loc)) {
	case UNIMEM_LOC_KIND_HOST:
		err = um_provider_host.init();
		if (err < 0)
			return err;
		if (!um_host_node_exists(idx))
			return um_error(-ENODEV, "%s: no host NUMA node %u on this machine",
					what, idx);
		return 0;
	case UNIMEM_LOC_KIND_DEVICE:
		err = um_provider_device.init();
		if (err < 0)
			return um_error(-ENODEV, "%s: device unimem%u requested but %s", what,
					idx, unimem_last_error());
		if (!um_device_exists(idx))
			return um_error(-ENODEV, "%s: no device unimem%u (the module has %d)",
					what, idx, um_provider_device.count());
		return 0;
	case UNIMEM_LOC_KIND_SYSTEM:
		return um_provider_host.init();
	default:
		return um_error(-EINVAL, "%s: 0x%08x is not a target location (none, mixed "
				"or unknown kind)", what, loc);
	}
}

const struct um_provider *um_provider_for(const char *what, unimem_location_t loc,
					  int *err)
{
	*err = um_location_check(what, loc);
	if (*err < 0)
		return NULL;
	return um_provider_of(loc);
}

int um_provider_map(void *addr, size_t size, unimem_location_t loc, enum um_map_mode mode)
{
	const struct um_provider *pv = &um_provider_host; /* NONE: default policy */
	uintptr_t start, end;
	int err;

	err = um_page_range("place", addr, size, &start, &end);
	if (err < 0)
		return err;
	if (loc != UNIMEM_LOC_NONE && !(pv = um_provider_for("place", loc, &err)))
		return err;
	return pv->map((void *)start, end - start, loc, mode);
}

long um_provider_place(uintptr_t start, uintptr_t end, unimem_location_t loc,
		       unsigned int flags)
{
	void *addr = (void *)start;
	size_t size = end - start;
	const struct um_provider *pv;
	long r;
	int err;

	pv = um_provider_for("prefetch", loc, &err);
	if (!pv)
		return err;
	/* Hints apply to mapped memory; an unmapped hole is the caller's bug. */
	if (msync(addr, size, MS_ASYNC) < 0 && errno == ENOMEM)
		return um_error(-EFAULT, "prefetch: [%p, +%zu) is not (fully) mapped",
				addr, size);
	if (pv == &um_provider_host && um_device_present()) {
		/* Pages on a device come back to system memory first. */
		r = um_provider_device.place(addr, size, UNIMEM_LOC_SYSTEM, 0);
		if (r < 0)
			return r;
		/* Every page is in host memory now: for "system" that is the answer. */
		if (loc == UNIMEM_LOC_SYSTEM && (size_t)r == size / um_page_size())
			return r;
	}
	return pv->place(addr, size, loc, flags);
}

long um_provider_place_many(const struct um_place_item *items, size_t count,
			    unsigned int flags)
{
	long total = 0, r;
	bool any_host = false, any_device = false;

	for (size_t i = 0; i < count; i++) {
		if (UNIMEM_LOC_KIND(items[i].loc) == UNIMEM_LOC_KIND_DEVICE)
			any_device = true;
		else
			any_host = true;
	}
	/* Device ranges move, and host ranges' device pages come back to
	 * system memory, in one module call (or as few as it allows). */
	if (any_device || (any_host && um_device_present())) {
		r = um_device_place_many(items, count, flags);
		if (r < 0)
			return r;
		total += r;
	}
	if (any_host) {
		r = um_host_place_many(items, count, flags);
		if (r < 0)
			return r;
		total += r;
	}
	return total;
}

void um_provider_unmap(void *addr, size_t size)
{
	um_provider_host.unmap(addr, size);
	if (atomic_load_explicit(&um_device_advised, memory_order_relaxed))
		um_provider_device.unmap(addr, size);
}

int um_provider_describe(uintptr_t start, size_t npages, unimem_location_t *out)
{
	int err;

	for (size_t i = 0; i < npages; i++)
		out[i] = UNIMEM_LOC_NONE;
	err = um_provider_host.describe((const void *)start, npages, out);
	if (err < 0)
		return err;
	if (um_device_present())
		err = um_provider_device.describe((const void *)start, npages, out);
	return err;
}

/* Fold one page's location into a summary (NONE, one location or MIXED). */
static unimem_location_t fold(unimem_location_t acc, unimem_location_t page)
{
	if (page == UNIMEM_LOC_NONE || acc == page)
		return acc;
	return acc == UNIMEM_LOC_NONE ? page : UNIMEM_LOC_MIXED;
}

unimem_location_t um_provider_where(const void *addr, size_t size)
{
	uintptr_t start, end;
	unimem_location_t acc = UNIMEM_LOC_NONE;

	if (um_page_range("range location", addr, size, &start, &end) < 0)
		return UNIMEM_LOC_NONE;
	if (!um_device_present()) {
		/* One hwloc query gives the union of nodes: enough for a summary. */
		unsigned nodes[2];
		int n = um_host_area_nodes((void *)start, end - start, nodes, 2);

		if (n <= 0)
			return UNIMEM_LOC_NONE;
		return n == 1 ? UNIMEM_LOC_HOST(nodes[0]) : UNIMEM_LOC_MIXED;
	}
	{
		enum { CHUNK = 1024 };
		unimem_location_t buf[CHUNK];
		size_t npages = (end - start) / um_page_size();

		for (size_t done = 0; done < npages && acc != UNIMEM_LOC_MIXED;) {
			size_t n = npages - done < CHUNK ? npages - done : CHUNK;

			if (um_provider_describe(start + done * um_page_size(), n, buf) < 0)
				return UNIMEM_LOC_NONE;
			for (size_t i = 0; i < n; i++)
				acc = fold(acc, buf[i]);
			done += n;
		}
	}
	return acc;
}
