/* SPDX-License-Identifier: MIT */
/*
 * test_hints.c - prefetch, advise, granularity and range attributes on
 * host memory (works with the host backend alone, on one node or more).
 */
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#include "um_test.h"

#pragma weak unimem_malloc
#pragma weak unimem_free

#define NPAGES 64

static size_t ps;

static unimem_location_t attr_loc(const void *p, size_t size, enum unimem_range_attr a)
{
	unimem_location_t loc = 0xdeadbeef;
	CHECK_EQ(unimem_range_get_attr(p, size, a, &loc, sizeof(loc)), 0);
	return loc;
}

#define check_pages_at(p, npages, want) \
	CHECK_EQ(um_pages_not_at(p, npages, ps, want), 0)

static void test_prefetch(unimem_location_t node, unimem_location_t other)
{
	char *mem = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t bad = 0;

	CHECK(mem != MAP_FAILED);
	/* Untouched: nowhere. */
	CHECK_EQ(attr_loc(mem, NPAGES * ps, UNIMEM_ATTR_LOCATION), UNIMEM_LOC_NONE);
	check_pages_at(mem, NPAGES, UNIMEM_LOC_NONE);
	CHECK_EQ(attr_loc(mem, NPAGES * ps, UNIMEM_ATTR_LAST_PREFETCH_LOCATION),
		 UNIMEM_LOC_NONE);

	/* Prefetch populates and places every page; the count says so. */
	CHECK_EQ(unimem_prefetch(mem, NPAGES * ps, node, 0), NPAGES);
	CHECK_EQ(attr_loc(mem, NPAGES * ps, UNIMEM_ATTR_LOCATION), node);
	check_pages_at(mem, NPAGES, node);
	CHECK_EQ(attr_loc(mem, NPAGES * ps, UNIMEM_ATTR_LAST_PREFETCH_LOCATION), node);

	/* Contents survive moves. */
	for (size_t i = 0; i < NPAGES * ps; i++)
		mem[i] = (char)(i * 7 + 3);
	CHECK_EQ(unimem_prefetch(mem, NPAGES * ps, other, UNIMEM_PREFETCH_ALL_OR_NOTHING),
		 NPAGES);
	check_pages_at(mem, NPAGES, other);
	CHECK_EQ(unimem_prefetch(mem + 5, NPAGES * ps - 10, node, 0), NPAGES); /* widened */
	for (size_t i = 0; i < NPAGES * ps; i++)
		bad += mem[i] != (char)(i * 7 + 3);
	CHECK_EQ(bad, 0);

	/* A prefetch of part of it: the whole has no single last prefetch (mixed). */
	CHECK_EQ(unimem_prefetch(mem, 8 * ps, UNIMEM_LOC_SYSTEM, 0), 8);
	CHECK_EQ(attr_loc(mem, 8 * ps, UNIMEM_ATTR_LAST_PREFETCH_LOCATION), UNIMEM_LOC_SYSTEM);
	CHECK_EQ(attr_loc(mem + 8 * ps, ps, UNIMEM_ATTR_LAST_PREFETCH_LOCATION), node);
	CHECK_EQ(attr_loc(mem, NPAGES * ps, UNIMEM_ATTR_LAST_PREFETCH_LOCATION),
		 UNIMEM_LOC_MIXED);

	/* Batch: the sum of the pages of all ranges. */
	{
		struct unimem_range r[4];
		for (int i = 0; i < 4; i++) {
			r[i].ptr = mem + (size_t)i * 16 * ps;
			r[i].size = 16 * ps;
		}
		CHECK_EQ(unimem_prefetch_batch(r, 4, other, 0), NPAGES);
		check_pages_at(mem, NPAGES, other);
		CHECK_EQ(unimem_prefetch_batch(r, 4, node, UNIMEM_PREFETCH_CONTENT_UNDEFINED),
			 NPAGES);
		check_pages_at(mem, NPAGES, node);
	}
	/*
	 * Not unmapped: advice on plain mmap() memory outlives munmap() (the
	 * library cannot see it), and the next call must start from fresh
	 * addresses. The allocator's memory is forgotten when it is unmapped.
	 */
}

static void test_advise(unimem_location_t node)
{
	char *mem = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *half = mem + NPAGES / 2 * ps;
	size_t all = NPAGES * ps, hsize = NPAGES / 2 * ps;
	unimem_location_t by[4];
	unsigned gran;
	int rm;

	CHECK(mem != MAP_FAILED);
	/* Defaults. */
	CHECK_EQ(attr_loc(mem, all, UNIMEM_ATTR_PREFERRED_LOCATION), UNIMEM_LOC_NONE);
	CHECK_EQ(unimem_range_get_attr(mem, all, UNIMEM_ATTR_READ_MOSTLY, &rm, sizeof(rm)), 0);
	CHECK_EQ(rm, 0);
	CHECK_EQ(unimem_range_get_attr(mem, all, UNIMEM_ATTR_GRANULARITY, &gran,
				       sizeof(gran)), 0);
	CHECK_EQ(gran, 9);
	CHECK_EQ(unimem_range_get_attr(mem, all, UNIMEM_ATTR_ACCESSED_BY, by, sizeof(by)), 0);
	CHECK_EQ(by[0], UNIMEM_LOC_NONE);

	/* Preferred location: set on half, MIXED over all, unset. */
	CHECK_EQ(unimem_advise(half, hsize, UNIMEM_ADVISE_SET_PREFERRED_LOCATION, node), 0);
	CHECK_EQ(attr_loc(half, hsize, UNIMEM_ATTR_PREFERRED_LOCATION), node);
	CHECK_EQ(attr_loc(mem, hsize, UNIMEM_ATTR_PREFERRED_LOCATION), UNIMEM_LOC_NONE);
	CHECK_EQ(attr_loc(mem, all, UNIMEM_ATTR_PREFERRED_LOCATION), UNIMEM_LOC_MIXED);
	/* First touch under a host preferred location lands there. */
	memset(half, 1, hsize);
	check_pages_at(half, NPAGES / 2, node);
	CHECK_EQ(unimem_advise(mem, all, UNIMEM_ADVISE_SET_PREFERRED_LOCATION,
			       UNIMEM_LOC_SYSTEM), 0);
	CHECK_EQ(attr_loc(mem, all, UNIMEM_ATTR_PREFERRED_LOCATION), UNIMEM_LOC_SYSTEM);
	CHECK_EQ(unimem_advise(mem, all, UNIMEM_ADVISE_UNSET_PREFERRED_LOCATION,
			       UNIMEM_LOC_NONE), 0);
	CHECK_EQ(attr_loc(mem, all, UNIMEM_ATTR_PREFERRED_LOCATION), UNIMEM_LOC_NONE);

	/* Accessed-by: a set, reported over the whole range only. */
	CHECK_EQ(unimem_advise(mem, all, UNIMEM_ADVISE_SET_ACCESSED_BY, node), 0);
	CHECK_EQ(unimem_advise(mem, hsize, UNIMEM_ADVISE_SET_ACCESSED_BY, UNIMEM_LOC_SYSTEM), 0);
	CHECK_EQ(unimem_range_get_attr(mem, hsize, UNIMEM_ATTR_ACCESSED_BY, by, sizeof(by)), 0);
	CHECK_EQ(by[0], node);
	CHECK_EQ(by[1], UNIMEM_LOC_SYSTEM);
	CHECK_EQ(by[2], UNIMEM_LOC_NONE);
	CHECK_EQ(unimem_range_get_attr(mem, all, UNIMEM_ATTR_ACCESSED_BY, by, sizeof(by)), 0);
	CHECK_EQ(by[0], node);
	CHECK_EQ(by[1], UNIMEM_LOC_NONE);
	/* One slot: as many as fit. */
	CHECK_EQ(unimem_range_get_attr(mem, hsize, UNIMEM_ATTR_ACCESSED_BY, by, sizeof(by[0])), 0);
	CHECK_EQ(by[0], node);
	CHECK_EQ(unimem_advise(mem, all, UNIMEM_ADVISE_UNSET_ACCESSED_BY, node), 0);
	CHECK_EQ(unimem_range_get_attr(mem, hsize, UNIMEM_ATTR_ACCESSED_BY, by, sizeof(by)), 0);
	CHECK_EQ(by[0], UNIMEM_LOC_SYSTEM);
	CHECK_EQ(unimem_advise(mem, all, UNIMEM_ADVISE_UNSET_ACCESSED_BY, UNIMEM_LOC_SYSTEM), 0);
	CHECK_EQ(unimem_range_get_attr(mem, all, UNIMEM_ATTR_ACCESSED_BY, by, sizeof(by)), 0);
	CHECK_EQ(by[0], UNIMEM_LOC_NONE);

	/* Read-mostly: 1 only over a range that is read-mostly everywhere; a
	 * range that is in part reads as mixed (the one rule). */
	CHECK_EQ(unimem_advise(half, hsize, UNIMEM_ADVISE_SET_READ_MOSTLY, UNIMEM_LOC_NONE), 0);
	CHECK_EQ(unimem_range_get_attr(half, hsize, UNIMEM_ATTR_READ_MOSTLY, &rm, sizeof(rm)), 0);
	CHECK_EQ(rm, 1);
	CHECK_EQ(unimem_range_get_attr(mem, all, UNIMEM_ATTR_READ_MOSTLY, &rm, sizeof(rm)), 0);
	CHECK_EQ(rm, UNIMEM_ATTR_MIXED);
	CHECK_EQ(unimem_advise(mem, all, UNIMEM_ADVISE_UNSET_READ_MOSTLY, 0), 0);
	CHECK_EQ(unimem_range_get_attr(half, hsize, UNIMEM_ATTR_READ_MOSTLY, &rm, sizeof(rm)), 0);
	CHECK_EQ(rm, 0);

	/* Granularity: per range, UINT_MAX where it differs. */
	CHECK_EQ(unimem_set_granularity(mem, hsize, 4), 0);
	CHECK_EQ(unimem_range_get_attr(mem, hsize, UNIMEM_ATTR_GRANULARITY, &gran,
				       sizeof(gran)), 0);
	CHECK_EQ(gran, 4);
	CHECK_EQ(unimem_range_get_attr(mem, all, UNIMEM_ATTR_GRANULARITY, &gran,
				       sizeof(gran)), 0);
	CHECK_EQ(gran, UINT_MAX);
	CHECK_EQ(unimem_set_granularity(mem, all, 0), 0);
	CHECK_EQ(unimem_range_get_attr(mem, all, UNIMEM_ATTR_GRANULARITY, &gran,
				       sizeof(gran)), 0);
	CHECK_EQ(gran, 0);
	CHECK_EQ(unimem_set_granularity(mem, all, 9), 0);

	/* Attributes set on one range do not leak to its neighbours. */
	CHECK_EQ(unimem_advise(mem + ps, ps, UNIMEM_ADVISE_SET_PREFERRED_LOCATION, node), 0);
	CHECK_EQ(attr_loc(mem, ps, UNIMEM_ATTR_PREFERRED_LOCATION), UNIMEM_LOC_NONE);
	CHECK_EQ(attr_loc(mem + 2 * ps, ps, UNIMEM_ATTR_PREFERRED_LOCATION), UNIMEM_LOC_NONE);
	CHECK_EQ(attr_loc(mem + ps, ps, UNIMEM_ATTR_PREFERRED_LOCATION), node);
	CHECK_EQ(unimem_advise(mem, all, UNIMEM_ADVISE_UNSET_PREFERRED_LOCATION, 0), 0);
	munmap(mem, all);
}

/*
 * CONTENT_UNDEFINED: the pages wholly inside the range may lose their
 * contents, the partial pages at its ends (other data) must not.
 */
static void test_content_undefined(unimem_location_t node)
{
	char *mem = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	size_t bad = 0;

	CHECK(mem != MAP_FAILED);
	memset(mem, 0x6b, 4 * ps);
	/* [100, 3 pages + 100): pages 1 and 2 inside, 0 and 3 partial. */
	CHECK_EQ(unimem_prefetch(mem + 100, 3 * ps, node, UNIMEM_PREFETCH_CONTENT_UNDEFINED), 4);
	check_pages_at(mem, 4, node);
	for (size_t i = 0; i < 100; i++)
		bad += mem[i] != 0x6b;
	for (size_t i = 3 * ps + 100; i < 4 * ps; i++)
		bad += mem[i] != 0x6b;
	CHECK_EQ(bad, 0);
	munmap(mem, 4 * ps);
}

/*
 * The range table against a per-page model: random advice on random
 * sub-ranges (splits, merges, gaps), then summaries of random sub-ranges.
 */
static void test_table_model(unimem_location_t node)
{
	enum { PAGES = 48, OPS = 400 };
	const unimem_location_t prefs[] = { UNIMEM_LOC_NONE, UNIMEM_LOC_SYSTEM, node };
	unimem_location_t pref[PAGES];
	unsigned gran[PAGES];
	int rm[PAGES];
	char *mem = mmap(NULL, PAGES * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned seed = 12345;
	int bad = 0;

	CHECK(mem != MAP_FAILED);
	for (int i = 0; i < PAGES; i++) {
		pref[i] = UNIMEM_LOC_NONE;
		gran[i] = 9;
		rm[i] = 0;
	}
	for (int op = 0; op < OPS && !bad; op++) {
		int a = rand_r(&seed) % PAGES, b = a + 1 + rand_r(&seed) % (PAGES - a);
		int kind = rand_r(&seed) % 3;

		if (kind == 0) {
			unimem_location_t p = prefs[rand_r(&seed) % 3];
			int r = p == UNIMEM_LOC_NONE
				? unimem_advise(mem + a * ps, (size_t)(b - a) * ps,
						UNIMEM_ADVISE_UNSET_PREFERRED_LOCATION, 0)
				: unimem_advise(mem + a * ps, (size_t)(b - a) * ps,
						UNIMEM_ADVISE_SET_PREFERRED_LOCATION, p);
			bad |= r != 0;
			for (int i = a; i < b; i++)
				pref[i] = p;
		} else if (kind == 1) {
			int set = rand_r(&seed) % 2;
			bad |= unimem_advise(mem + a * ps, (size_t)(b - a) * ps,
					     set ? UNIMEM_ADVISE_SET_READ_MOSTLY
						 : UNIMEM_ADVISE_UNSET_READ_MOSTLY, 0) != 0;
			for (int i = a; i < b; i++)
				rm[i] = set;
		} else {
			unsigned g = (unsigned)(rand_r(&seed) % 13);
			bad |= unimem_set_granularity(mem + a * ps, (size_t)(b - a) * ps, g) != 0;
			for (int i = a; i < b; i++)
				gran[i] = g;
		}
		/* Check a random sub-range against the model. */
		a = rand_r(&seed) % PAGES;
		b = a + 1 + rand_r(&seed) % (PAGES - a);
		unimem_location_t want_pref = pref[a], got_pref;
		unsigned want_gran = gran[a], got_gran;
		int want_rm = rm[a], got_rm;
		for (int i = a; i < b; i++) {
			if (pref[i] != want_pref)
				want_pref = UNIMEM_LOC_MIXED;
			if (gran[i] != want_gran)
				want_gran = UINT_MAX;
			if (rm[i] != want_rm)
				want_rm = UNIMEM_ATTR_MIXED;
		}
		unimem_range_get_attr(mem + a * ps, (size_t)(b - a) * ps,
				      UNIMEM_ATTR_PREFERRED_LOCATION, &got_pref, sizeof(got_pref));
		unimem_range_get_attr(mem + a * ps, (size_t)(b - a) * ps,
				      UNIMEM_ATTR_GRANULARITY, &got_gran, sizeof(got_gran));
		unimem_range_get_attr(mem + a * ps, (size_t)(b - a) * ps,
				      UNIMEM_ATTR_READ_MOSTLY, &got_rm, sizeof(got_rm));
		if (got_pref != want_pref || got_gran != want_gran || got_rm != want_rm) {
			fprintf(stderr, "op %d [%d,%d): pref %#x/%#x gran %u/%u rm %d/%d\n", op, a,
				b, got_pref, want_pref, got_gran, want_gran, got_rm, want_rm);
			bad = 1;
		}
	}
	CHECK_EQ(bad, 0);
}

/* The same on memory from the unimem allocator (when it is linked in). */
static void test_unimem_heap(unimem_location_t node)
{
	size_t size = 1 << 20;
	char *p;

	if (!unimem_malloc) {
		printf("  (allocator not in this build: heap checks skipped)\n");
		return;
	}
	p = unimem_malloc(size);
	CHECK(p != NULL);
	if (!p)
		return;
	memset(p, 0x5a, size);
	CHECK(unimem_prefetch(p, size, node, 0) >= (long)(size / ps));
	CHECK_EQ(attr_loc(p, size, UNIMEM_ATTR_LAST_PREFETCH_LOCATION), node);
	CHECK_EQ(unimem_advise(p, size, UNIMEM_ADVISE_SET_READ_MOSTLY, 0), 0);
	for (size_t i = 0; i < size; i += 4096)
		CHECK_EQ(p[i], 0x5a);
	unimem_free(p);
}

int main(void)
{
	struct unimem_location_info info;
	unimem_location_t nodes[8];
	int nnodes = 0;

	ps = (size_t)sysconf(_SC_PAGESIZE);
	for (int i = 0; i < unimem_location_count() && nnodes < 8; i++)
		if (unimem_location_get(i, &info) == 0 &&
		    UNIMEM_LOC_KIND(info.location) == UNIMEM_LOC_KIND_HOST)
			nodes[nnodes++] = info.location;
	CHECK(nnodes >= 1);

	/* Every pair of nodes (node to itself on a one-node machine). */
	for (int i = 0; i < nnodes; i++)
		test_prefetch(nodes[i], nodes[(i + 1) % nnodes]);
	test_advise(nodes[nnodes - 1]);
	test_table_model(nodes[0]);
	test_content_undefined(nodes[nnodes - 1]);
	test_unimem_heap(nodes[0]);
	printf("  %d host node(s) exercised\n", nnodes);
	return um_test_done("test_hints");
}
