/* SPDX-License-Identifier: MIT */
/*
 * test_numa.c - a CPU-less memory node (the QEMU NUMA guest: node0 with the
 * CPUs, node1 memory only): it is listed as such, and unimem_malloc_on()
 * and prefetch put pages there, as a query of the pages shows.
 */
#include <unistd.h>
#include <sys/mman.h>

#include "um_test.h"

#pragma weak unimem_malloc_on
#pragma weak unimem_free

static size_t ps;

#define check_pages_at(p, npages, want) \
	CHECK_EQ(um_pages_not_at(p, npages, ps, want), 0)

int main(void)
{
	const size_t npages = 512;
	size_t size;
	unimem_location_t cpuless = UNIMEM_LOC_NONE, cpunode = UNIMEM_LOC_NONE;
	struct unimem_location_info info;
	char *mem;

	ps = (size_t)sysconf(_SC_PAGESIZE);
	size = npages * ps;
	for (int i = 0; i < unimem_location_count(); i++) {
		CHECK_EQ(unimem_location_get(i, &info), 0);
		printf("  %-8s total %llu MiB cpus %d flags 0x%x\n", info.name,
		       (unsigned long long)info.total_bytes >> 20, info.nearest_cpu_count,
		       info.flags);
		if (UNIMEM_LOC_KIND(info.location) != UNIMEM_LOC_KIND_HOST)
			continue;
		if ((info.flags & UNIMEM_LOCF_CPULESS) && cpuless == UNIMEM_LOC_NONE)
			cpuless = info.location;
		if (!(info.flags & UNIMEM_LOCF_CPULESS) && cpunode == UNIMEM_LOC_NONE)
			cpunode = info.location;
	}
	if (cpuless == UNIMEM_LOC_NONE) {
		printf("SKIP: no CPU-less memory node on this machine\n");
		return UM_SKIP;
	}
	CHECK(cpunode != UNIMEM_LOC_NONE);
	CHECK_EQ(unimem_location_query(cpuless, &info), 0);
	CHECK_EQ(info.nearest_cpu_count, 0);
	CHECK(info.total_bytes > 0);

	/* Prefetch: every page to the CPU-less node, data intact, and back. */
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(mem, 0x77, size);
	check_pages_at(mem, npages, cpunode); /* touched by a CPU of node0 */
	CHECK_EQ(unimem_prefetch(mem, size, cpuless, 0), npages);
	check_pages_at(mem, npages, cpuless);
	{
		unimem_location_t loc;
		CHECK_EQ(unimem_range_get_attr(mem, size, UNIMEM_ATTR_LOCATION, &loc,
					       sizeof(loc)), 0);
		CHECK_EQ(loc, cpuless);
	}
	for (size_t i = 0; i < size; i += 64)
		CHECK_EQ(mem[i], 0x77);
	CHECK_EQ(unimem_prefetch(mem, size, cpunode, 0), npages);
	check_pages_at(mem, npages, cpunode);

	/* Preferred location: new pages fault in on the CPU-less node. */
	{
		char *fresh = mmap(NULL, size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK_EQ(unimem_advise(fresh, size, UNIMEM_ADVISE_SET_PREFERRED_LOCATION,
				       cpuless), 0);
		memset(fresh, 1, size);
		check_pages_at(fresh, npages, cpuless);
		munmap(fresh, size);
	}
	munmap(mem, size);

	/* unimem_malloc_on: placed there on first touch. */
	if (!unimem_malloc_on) {
		printf("  (allocator not in this build: unimem_malloc_on skipped)\n");
	} else {
		char *p = unimem_malloc_on(size, cpuless);
		CHECK(p != NULL);
		if (p) {
			memset(p, 0x11, size);
			/* The allocation may start mid-page: check the whole pages in it. */
			char *first = (char *)(((uintptr_t)p + ps - 1) & ~(ps - 1));
			size_t whole = (size - (size_t)(first - p)) / ps;
			check_pages_at(first, whole, cpuless);
			CHECK_EQ(unimem_prefetch(p, size, cpunode, 0) >= (long)whole, 1);
			check_pages_at(first, whole, cpunode);
			unimem_free(p);
		}
	}
	return um_test_done("test_numa");
}
