/* SPDX-License-Identifier: MIT */
/*
 * White-box (links the library's objects): advice does not outlive the
 * memory it was given for (issue 13, defect 2).
 *  - a block served again from the huge cache has no advice and the
 *    default memory policy, whatever its previous owner advised;
 *  - memory the application maps where a freed (unmapped) block was gets
 *    neither its advice nor its placement: a prefetch leaves its policy
 *    alone;
 *  - advising and freeing blocks over and over does not grow the range map.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unimem.h"
#include "ranges/ranges.h"
#include "check.h"
#include "../um_policy.h"

static unimem_location_t preferred_of(const void *p, size_t n)
{
	unimem_location_t loc = UNIMEM_LOC_MIXED;
	if (unimem_range_get_attr(p, n, UNIMEM_ATTR_PREFERRED_LOCATION, &loc, sizeof(loc)))
		return UNIMEM_LOC_MIXED;
	return loc;
}

static void test_huge_cache_reuse(void)
{
	size_t n = 1 << 20;
	char *p = unimem_malloc(n);
	CHECK(p != NULL, "malloc");
	CHECK(unimem_advise(p, n, UNIMEM_ADVISE_SET_PREFERRED_LOCATION, UNIMEM_LOC_HOST(0)) == 0,
	      "advise: %s", unimem_last_error());
	CHECK(preferred_of(p, n) == UNIMEM_LOC_HOST(0), "advice recorded");
	unimem_free(p);
	char *q = unimem_malloc(n);
	CHECK(q == p, "the huge cache serves the same block (%p, %p)", (void *)p, (void *)q);
	CHECK(preferred_of(q, n) == UNIMEM_LOC_NONE,
	      "a fresh block reports its previous owner's preferred location 0x%x",
	      preferred_of(q, n));
	CHECK(um_policy_of(q) == UM_MPOL_DEFAULT, "fresh block has policy %d", um_policy_of(q));
	unimem_free(q);
}

static void test_unmapped_then_mapped(void)
{
	size_t n = (size_t)80 << 20; /* above what the huge cache keeps */
	char *p = unimem_malloc_on(n, UNIMEM_LOC_HOST(0));
	CHECK(p != NULL, "malloc_on: %s", unimem_last_error());
	if (p == NULL)
		return;
	CHECK(unimem_advise(p, n, UNIMEM_ADVISE_SET_READ_MOSTLY, UNIMEM_LOC_NONE) == 0, "advise");
	unimem_free(p);
	char *m = mmap(p, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m != p) {
		printf("forget: could not map at the freed address; skipped\n");
		if (m != MAP_FAILED)
			munmap(m, n);
		return;
	}
	int rm = -1;
	CHECK(unimem_range_get_attr(m, n, UNIMEM_ATTR_READ_MOSTLY, &rm, sizeof(rm)) == 0 &&
		      rm == 0,
	      "new mapping reports the freed block's read-mostly (%d)", rm);
	CHECK(unimem_prefetch(m, n, UNIMEM_LOC_HOST(0), 0) == (long)(n / 4096),
	      "prefetch: %s", unimem_last_error());
	CHECK(um_policy_of(m) == UM_MPOL_DEFAULT,
	      "prefetch re-applied the freed block's placement: policy %d", um_policy_of(m));
	munmap(m, n);
}

static void test_no_growth(void)
{
	size_t before = um_ranges_count();
	for (int i = 0; i < 2000; i++) {
		size_t n = (size_t)(600 + (i % 7) * 100) << 10; /* huge blocks */
		char *p = unimem_malloc(n);
		unimem_advise(p, n, UNIMEM_ADVISE_SET_READ_MOSTLY, UNIMEM_LOC_NONE);
		unimem_advise(p + 4096, 4096, UNIMEM_ADVISE_SET_ACCESSED_BY, UNIMEM_LOC_SYSTEM);
		unimem_free(p);
	}
	size_t after = um_ranges_count();
	CHECK(after <= before + 2, "range map grew from %zu to %zu records", before, after);
}

int main(void)
{
	test_no_growth(); /* first: the application's own munmap below leaves records */
	test_huge_cache_reuse();
	test_unmapped_then_mapped();
	return um_test_result("alloc_forget_test");
}
