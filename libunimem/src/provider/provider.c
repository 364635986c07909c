/* SPDX-License-Identifier: MIT */
/*
 * backend.c - routes placement and hints to the backend that owns the
 * target location and merges what the backends see for queries.
 *
 *   host node N, system  -> host backend (hwloc); device pages in the range
 *                           are first brought back by the module, if any
 *   device N             -> module backend (/dev/unimemN)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "provider/provider.h"

size_t um_page_size(void)
{
	static size_t cached;
	size_t ps = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (um_unlikely(!ps)) {
		long v = sysconf(_SC_PAGESIZE);
		ps = v > 0 ? (size_t)v : 4096;
		__atomic_store_n(&cached, ps, __ATOMIC_RELAXED);
	}
	return ps;
}

int um_page_range(const char *what, const void *ptr, size_t size,
		  uintptr_t *start, uintptr_t *end)
{
	uintptr_t p = (uintptr_t)ptr, ps = um_page_size();

	if (!ptr)
		return um_error(-EINVAL, "%s: NULL pointer", what);
	if (size == 0)
		return um_error(-EINVAL, "%s: size is 0", what);
	if (p + size < p || p + size > UINTPTR_MAX - ps)
		return um_error(-EINVAL, "%s: range [%p, +%zu) wraps around the address space",
				what, ptr, size);
	*start = p & ~(ps - 1);
	*end = (p + size + ps - 1) & ~(ps - 1);
	return 0;
}

int um_location_check(const char *what, unimem_location_t loc)
{
	unsigned idx = UNIMEM_LOC_INDEX(loc);
	int err;

	switch (UNIMEM_LOC_KIND(loc)) {
	case UNIMEM_LOC_KIND_HOST:
		err = um_backend_host.init();
		if (err < 0)
			return err;
		if (!um_host_node_exists(idx))
			return um_error(-ENODEV, "%s: no host NUMA node %u on this machine",
					what, idx);
		return 0;
	case UNIMEM_LOC_KIND_DEVICE:
		err = um_backend_module.init();
		if (err < 0)
			return um_error(-ENODEV, "%s: device unimem%u requested but %s", what,
					idx, unimem_last_error());
		if (!um_module_device_exists(idx))
			return um_error(-ENODEV, "%s: no device unimem%u (the module has %d)",
					what, idx, um_backend_module.location_count());
		return 0;
	case UNIMEM_LOC_KIND_SYSTEM:
		return um_backend_host.init();
	default:
		return um_error(-EINVAL, "%s: 0x%08x is not a target location (none, mixed "
				"or unknown kind)", what, loc);
	}
}

const struct um_backend_ops *um_backend_for(unimem_location_t loc, int *err)
{
	*err = um_location_check("request", loc);
	if (*err < 0)
		return NULL;
	return UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_DEVICE ? &um_backend_module
							       : &um_backend_host;
}

long um_prefetch_range(uintptr_t start, uintptr_t end, unimem_location_t loc,
		       unsigned int flags)
{
	void *addr = (void *)start;
	size_t size = end - start;
	const struct um_backend_ops *be;
	long r;
	int err;

	be = um_backend_for(loc, &err);
	if (!be)
		return err;
	/* Hints apply to mapped memory; an unmapped hole is the caller's bug. */
	if (msync(addr, size, MS_ASYNC) < 0 && errno == ENOMEM)
		return um_error(-EFAULT, "prefetch: [%p, +%zu) is not (fully) mapped",
				addr, size);
	if (be == &um_backend_host && um_module_present()) {
		/* Pages on a device come back to system memory first. */
		r = um_module_migrate(addr, size, UNIMEM_LOC_SYSTEM, 0);
		if (r < 0)
			return r;
		/* Every page is in host memory now: for "system" that is the answer. */
		if (loc == UNIMEM_LOC_SYSTEM && (size_t)r == size / um_page_size()) {
			um_hints_record_prefetch(start, end, loc);
			return r;
		}
	}
	r = be->prefetch(addr, size, loc, flags);
	if (r >= 0)
		um_hints_record_prefetch(start, end, loc);
	return r;
}

int um_page_locations(uintptr_t start, size_t npages, unimem_location_t *out)
{
	int err;

	for (size_t i = 0; i < npages; i++)
		out[i] = UNIMEM_LOC_NONE;
	err = um_backend_host.page_locations((const void *)start, npages, out);
	if (err < 0)
		return err;
	if (um_module_present())
		err = um_backend_module.page_locations((const void *)start, npages, out);
	return err;
}

int um_place_range(void *addr, size_t size, unimem_location_t loc)
{
	const struct um_backend_ops *be;
	uintptr_t start, end;
	int err;

	err = um_page_range("place", addr, size, &start, &end);
	if (err < 0)
		return err;
	if (loc == UNIMEM_LOC_NONE)
		return 0; /* no placement asked: kernel default */
	be = um_backend_for(loc, &err);
	if (!be)
		return err;
	err = be->place((void *)start, end - start, loc);
	if (err == 0)
		um_hints_record_placement(start, end, loc);
	return err;
}

/* Fold one page's location into a summary (NONE, one location or MIXED). */
static unimem_location_t fold(unimem_location_t acc, unimem_location_t page)
{
	if (page == UNIMEM_LOC_NONE || acc == page)
		return acc;
	return acc == UNIMEM_LOC_NONE ? page : UNIMEM_LOC_MIXED;
}

unimem_location_t um_range_location(const void *addr, size_t size)
{
	uintptr_t start, end;
	unimem_location_t acc = UNIMEM_LOC_NONE;

	if (um_page_range("range location", addr, size, &start, &end) < 0)
		return UNIMEM_LOC_NONE;
	if (!um_module_present()) {
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

			if (um_page_locations(start + done * um_page_size(), n, buf) < 0)
				return UNIMEM_LOC_NONE;
			for (size_t i = 0; i < n; i++)
				acc = fold(acc, buf[i]);
			done += n;
		}
	}
	return acc;
}
