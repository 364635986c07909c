/* SPDX-License-Identifier: MIT */
/*
 * test_policy.c - a prefetch moves pages and leaves the application's
 * memory policy alone (issue 13, defect 7): an MPOL_INTERLEAVE or
 * MPOL_PREFERRED range keeps its policy after a prefetch to a host node,
 * and its pages are at the target. On a machine with two nodes or more
 * (the NUMA VM guest) the pages also move between nodes.
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "um_test.h"
#include "../um_policy.h"

#define NPAGES 64

static size_t ps;

static char *mapped_with(int mode, unsigned long nodemask)
{
	char *p = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	CHECK_EQ(syscall(SYS_mbind, p, NPAGES * ps, mode, &nodemask, 64, 0), 0);
	return p;
}

/* Prefetch to @node, fresh or touched memory: the policy stays @mode. */
static void keeps_policy(int mode, unsigned long nodemask, unsigned node, int touch)
{
	char *p = mapped_with(mode, nodemask);
	if (touch)
		memset(p, 7, NPAGES * ps);
	CHECK_EQ(unimem_prefetch(p, NPAGES * ps, UNIMEM_LOC_HOST(node), 0), NPAGES);
	CHECK_EQ(um_pages_not_at(p, NPAGES, ps, UNIMEM_LOC_HOST(node)), 0);
	CHECK_EQ(um_policy_of(p), mode);
	CHECK_EQ(um_policy_of(p + (NPAGES - 1) * ps), mode);
	if (touch)
		for (size_t i = 0; i < NPAGES * ps; i += 1024)
			if (p[i] != 7) {
				CHECK(p[i] == 7);
				break;
			}
	/* and to "system": nothing to move, nothing to rewrite */
	CHECK_EQ(unimem_prefetch(p, NPAGES * ps, UNIMEM_LOC_SYSTEM, 0), NPAGES);
	CHECK_EQ(um_policy_of(p), mode);
	munmap(p, NPAGES * ps);
}

int main(void)
{
	struct unimem_location_info info;
	int nodes = 0;
	unsigned other = 0;

	ps = (size_t)sysconf(_SC_PAGESIZE);
	for (int i = 0; i < unimem_location_count(); i++)
		if (unimem_location_get(i, &info) == 0 &&
		    UNIMEM_LOC_KIND(info.location) == UNIMEM_LOC_KIND_HOST) {
			if (nodes++ == 1)
				other = UNIMEM_LOC_INDEX(info.location);
		}
	keeps_policy(UM_MPOL_INTERLEAVE, 1ul << 0, 0, 0);
	keeps_policy(UM_MPOL_INTERLEAVE, 1ul << 0, 0, 1);
	keeps_policy(UM_MPOL_PREFERRED, 1ul << 0, 0, 1);
	if (nodes >= 2) {
		unsigned long both = 1ul << 0 | 1ul << other;
		keeps_policy(UM_MPOL_INTERLEAVE, both, other, 1);
		keeps_policy(UM_MPOL_INTERLEAVE, both, 0, 1);
		keeps_policy(UM_MPOL_PREFERRED, 1ul << 0, other, 1);
		keeps_policy(UM_MPOL_INTERLEAVE, both, other, 0);
	} else {
		printf("api_policy_test: one host node; moves between nodes are checked "
		       "in the NUMA guest (api.policy.numa)\n");
	}
	return um_test_done("api_policy_test");
}
