/* SPDX-License-Identifier: MIT */
/*
 * test_run_location.c - run under `unimem run --location LOC -- ...`: plain
 * malloc() memory (the preload library's heap) lands on LOC.
 */
#include <unistd.h>

#include "um_test.h"

int main(void)
{
	const char *name = getenv("UNIMEM_LOCATION");
	size_t ps = (size_t)sysconf(_SC_PAGESIZE), size = 8u << 20, npages, bad = 0;
	unimem_location_t want, *locs;
	char *p, *first;

	if (!name || !getenv("LD_PRELOAD")) {
		printf("SKIP: not started by `unimem run --location`\n");
		return UM_SKIP;
	}
	CHECK_EQ(unimem_location_parse(name, &want), 0);
	p = malloc(size);
	CHECK(p != NULL);
	if (!p)
		return um_test_done("test_run_location");
	memset(p, 0x42, size);
	first = (char *)(((uintptr_t)p + ps - 1) & ~(ps - 1));
	npages = (size - (size_t)(first - p)) / ps;
	locs = calloc(npages, sizeof(*locs));
	CHECK_EQ(unimem_range_get_attr(first, npages * ps, UNIMEM_ATTR_PAGE_LOCATIONS, locs,
				       npages * sizeof(*locs)), 0);
	for (size_t i = 0; i < npages; i++)
		bad += locs[i] != want;
	printf("  %zu of %zu pages of a malloc()ed buffer on %s\n", npages - bad, npages, name);
	CHECK_EQ(bad, 0);
	free(locs);
	free(p);
	return um_test_done("test_run_location");
}
