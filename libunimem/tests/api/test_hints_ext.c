/* SPDX-License-Identifier: MIT */
/*
 * test_hints_ext.c - the API of issue 15: the calling thread's node and
 * location speeds, batch prefetch with a location per range (sync and on a
 * queue), discard and discard-and-prefetch, several range attributes at
 * once, named heaps. On the host (one node or more) and in the NUMA guest
 * (--guest-hmat: QEMU describes both nodes' speeds in HMAT; where the
 * kernel reads HMAT (CONFIG_ACPI_HMAT) they must come out as described).
 */
#include <errno.h>
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#include "um_test.h"

static size_t ps;
static unimem_location_t nodes[8];
static int nnodes;

static char *map_pages(size_t n)
{
	char *p = mmap(NULL, n * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	return p == MAP_FAILED ? NULL : p;
}

static void test_current_and_speed(int guest_hmat, uint64_t want_bw, uint64_t want_lat)
{
	struct unimem_location_info info;
	unimem_location_t cur = unimem_location_current(), best, parsed;
	char name[32];

	CHECK_EQ(UNIMEM_LOC_KIND(cur), UNIMEM_LOC_KIND_HOST);
	CHECK_EQ(unimem_location_query(cur, &info), 0);
	CHECK(info.nearest_cpu_count > 0); /* a thread runs on a node with CPUs */
	/* "current" is a name, resolved at the call */
	CHECK_EQ(unimem_location_parse("current", &parsed), 0);
	CHECK_EQ(parsed, UNIMEM_LOC_HOST_CURRENT);
	CHECK(strcmp(unimem_location_name(UNIMEM_LOC_HOST_CURRENT, name, sizeof(name)),
		     "current") == 0);
	CHECK_EQ(unimem_location_query(UNIMEM_LOC_HOST_CURRENT, &info), 0);
	CHECK_EQ(UNIMEM_LOC_KIND(info.location), UNIMEM_LOC_KIND_HOST);

	/* Capacity is always known: the best is a host node with the most. */
	CHECK_EQ(unimem_location_best(UNIMEM_METRIC_CAPACITY, UNIMEM_SELECT_HOST, &best), 0);
	CHECK_EQ(UNIMEM_LOC_KIND(best), UNIMEM_LOC_KIND_HOST);
	for (int i = 0; i < nnodes; i++) {
		struct unimem_location_info a, b;
		CHECK_EQ(unimem_location_query(nodes[i], &a), 0);
		CHECK_EQ(unimem_location_query(best, &b), 0);
		CHECK(a.total_bytes <= b.total_bytes);
	}
	/* Bad input. */
	CHECK_ERR(unimem_location_best(0, 0, &best), -EINVAL);
	CHECK_ERR(unimem_location_best(UNIMEM_METRIC_LATENCY, 0x80, &best), -EINVAL);
	CHECK_ERR(unimem_location_best(UNIMEM_METRIC_LATENCY, 0, NULL), -EINVAL);

	/* Speeds: all-or-none known, and best agrees with the table. */
	int known = 0;
	uint64_t max_bw = 0, min_lat = UINT64_MAX;
	for (int i = 0; i < nnodes; i++) {
		CHECK_EQ(unimem_location_query(nodes[i], &info), 0);
		printf("  %s: %llu MiB, bandwidth %llu MiB/s, latency %llu ns\n", info.name,
		       (unsigned long long)(info.total_bytes >> 20),
		       (unsigned long long)info.bandwidth_mibps,
		       (unsigned long long)info.latency_ns);
		if (info.bandwidth_mibps) {
			known++;
			if (info.bandwidth_mibps > max_bw)
				max_bw = info.bandwidth_mibps;
		}
		if (info.latency_ns && info.latency_ns < min_lat)
			min_lat = info.latency_ns;
	}
	if (known == 0) {
		CHECK(want_bw == 0);
		CHECK_ERR(unimem_location_best(UNIMEM_METRIC_BANDWIDTH, 0, &best), -ENODATA);
		printf("  no HMAT here%s: bandwidth/latency unknown, best by speed is -ENODATA\n",
		       guest_hmat ? " (the kernel has no CONFIG_ACPI_HMAT)" : "");
		return;
	}
	if (want_bw) { /* hwloc_memattrs.sh: what it added to the topology */
		CHECK_EQ(unimem_location_query(nodes[0], &info), 0);
		CHECK_EQ(info.bandwidth_mibps, want_bw);
		CHECK_EQ(info.latency_ns, want_lat);
	}
	CHECK_EQ(unimem_location_best(UNIMEM_METRIC_BANDWIDTH, UNIMEM_SELECT_HOST, &best), 0);
	CHECK_EQ(unimem_location_query(best, &info), 0);
	CHECK_EQ(info.bandwidth_mibps, max_bw);
	CHECK_EQ(unimem_location_best(UNIMEM_METRIC_LATENCY, UNIMEM_SELECT_HOST, &best), 0);
	CHECK_EQ(unimem_location_query(best, &info), 0);
	CHECK_EQ(info.latency_ns, min_lat);
	if (guest_hmat) {
		/* The NUMA guest's HMAT (tools/vm/unimem-vm): node0 (CPUs) is the
		 * fastest, the CPU-less node1 slower and farther. */
		struct unimem_location_info n0, n1;
		CHECK(nnodes >= 2);
		CHECK_EQ(unimem_location_query(UNIMEM_LOC_HOST(0), &n0), 0);
		CHECK_EQ(unimem_location_query(UNIMEM_LOC_HOST(1), &n1), 0);
		CHECK(n0.bandwidth_mibps > n1.bandwidth_mibps && n1.bandwidth_mibps > 0);
		CHECK(n0.latency_ns < n1.latency_ns && n0.latency_ns > 0);
		CHECK_EQ(unimem_location_best(UNIMEM_METRIC_BANDWIDTH, 0, &best), 0);
		CHECK_EQ(best, UNIMEM_LOC_HOST(0));
	}
}

/* Ranges to alternating nodes, one call; pages checked one by one. */
static void test_batch_to(void)
{
	enum { R = 6, PAGES = 8 };
	char *mem = map_pages(R * PAGES);
	struct unimem_range_to r[R];
	long want = 0;

	if (!mem)
		return;
	for (size_t i = 0; i < R * PAGES * ps; i++)
		mem[i] = (char)(i * 13 + 1);
	for (int i = 0; i < R; i++) {
		/* backwards: the batch is unordered */
		r[i] = (struct unimem_range_to){ mem + (size_t)(R - 1 - i) * PAGES * ps,
						 PAGES * ps, nodes[i % nnodes], 0 };
		want += PAGES;
	}
	CHECK_EQ(unimem_prefetch_batch_to(r, R, 0), want);
	for (int i = 0; i < R; i++) {
		CHECK_EQ(um_pages_not_at(r[i].ptr, PAGES, ps, r[i].loc), 0);
		unimem_location_t last;
		CHECK_EQ(unimem_range_get_attr(r[i].ptr, r[i].size,
					       UNIMEM_ATTR_LAST_PREFETCH_LOCATION, &last,
					       sizeof(last)), 0);
		CHECK_EQ(last, r[i].loc);
	}
	size_t bad = 0;
	for (size_t i = 0; i < R * PAGES * ps; i++)
		bad += mem[i] != (char)(i * 13 + 1);
	CHECK_EQ(bad, 0);

	/* HOST_CURRENT in a batch: the calling thread's node. */
	r[0] = (struct unimem_range_to){ mem, ps, UNIMEM_LOC_HOST_CURRENT, 0 };
	CHECK_EQ(unimem_prefetch_batch_to(r, 1, 0), 1);

	/* On a queue, with an event. */
	unimem_queue_t *q;
	unimem_event_t *ev;
	CHECK_EQ(unimem_queue_create(&q), 0);
	for (int i = 0; i < R; i++)
		r[i] = (struct unimem_range_to){ mem + (size_t)i * PAGES * ps, PAGES * ps,
						 nodes[(i + 1) % nnodes], 0 };
	CHECK_EQ(unimem_prefetch_batch_to_async(q, r, R, 0, &ev), 0);
	CHECK_EQ(unimem_event_wait(ev), want);
	unimem_event_release(ev);
	for (int i = 0; i < R; i++)
		CHECK_EQ(um_pages_not_at(r[i].ptr, PAGES, ps, r[i].loc), 0);

	/* Bad input fails before anything moves, naming the range. */
	r[3].loc = UNIMEM_LOC_HOST(4000);
	CHECK_ERR(unimem_prefetch_batch_to(r, R, 0), -ENODEV);
	CHECK(strstr(unimem_last_error(), "range 3") != NULL);
	CHECK_ERR(unimem_prefetch_batch_to_async(q, r, R, 0, NULL), -ENODEV);
	r[3].loc = nodes[0];
	r[2].reserved = 1;
	CHECK_ERR(unimem_prefetch_batch_to(r, R, 0), -EINVAL);
	r[2].reserved = 0;
	r[1].size = 0;
	CHECK_ERR(unimem_prefetch_batch_to(r, R, 0), -EINVAL);
	r[1].size = PAGES * ps;
	CHECK_ERR(unimem_prefetch_batch_to(r, R, 0x100), -EINVAL);
	CHECK_ERR(unimem_prefetch_batch_to(NULL, 2, 0), -EINVAL);
	CHECK_EQ(unimem_prefetch_batch_to(NULL, 0, 0), 0);
	CHECK_ERR(unimem_prefetch_batch_to_async(NULL, r, R, 0, NULL), -EINVAL);
	CHECK_EQ(unimem_queue_destroy(q), 0);
	munmap(mem, R * PAGES * ps);
}

static size_t nonzero(const char *p, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += p[i] != 0;
	return bad;
}

static void test_discard(void)
{
	enum { PAGES = 16 };
	char *mem = map_pages(PAGES);
	unimem_location_t pg[PAGES];

	if (!mem)
		return;
	memset(mem, 0x77, PAGES * ps);
	/* Whole pages dropped (not populated any more), partial ends zeroed,
	 * the bytes outside untouched. */
	CHECK_EQ(unimem_discard(mem + ps / 2, 4 * ps, 0), 3);
	CHECK_EQ(mem[ps / 2 - 1], 0x77);
	CHECK_EQ(nonzero(mem + ps / 2, 4 * ps), 0);
	CHECK_EQ(mem[ps / 2 + 4 * ps], 0x77);
	CHECK_EQ(unimem_range_get_attr(mem, PAGES * ps, UNIMEM_ATTR_PAGE_LOCATIONS, pg,
				       sizeof(pg)), 0);
	/* pages 1..3 were dropped and read (as the shared zero page) only */
	for (int i = 1; i <= 3; i++)
		CHECK_EQ(pg[i], UNIMEM_LOC_NONE);
	CHECK(pg[0] != UNIMEM_LOC_NONE && pg[4] != UNIMEM_LOC_NONE);

	/* Inside one page: zeroed in place, nothing dropped. */
	CHECK_EQ(unimem_discard(mem + 8 * ps + 10, 20, 0), 0);
	CHECK_EQ(nonzero(mem + 8 * ps + 10, 20), 0);
	CHECK_EQ(mem[8 * ps + 9], 0x77);
	CHECK_EQ(mem[8 * ps + 30], 0x77);

	/* Lazy (MADV_FREE): old contents or zeros until written; ends kept. */
	memset(mem, 0x33, PAGES * ps);
	CHECK_EQ(unimem_discard(mem + 10, 4 * ps, UNIMEM_DISCARD_LAZY), 3);
	CHECK_EQ(mem[10], 0x33);
	for (size_t i = ps; i < 4 * ps; i++)
		if (mem[i] != 0 && mem[i] != 0x33) {
			CHECK(!"lazy discard: neither old nor zero");
			break;
		}
	/* Writing after a lazy discard keeps what is written. */
	memset(mem + ps, 0x44, ps);
	CHECK_EQ(mem[ps + 100], 0x44);

	/* Batch and queue. */
	struct unimem_range r[2] = { { mem, 2 * ps }, { mem + 4 * ps, 2 * ps } };
	memset(mem, 0x55, PAGES * ps);
	CHECK_EQ(unimem_discard_batch(r, 2, 0), 4);
	CHECK_EQ(nonzero(mem, 2 * ps) + nonzero(mem + 4 * ps, 2 * ps), 0);
	CHECK_EQ(mem[2 * ps], 0x55);
	memset(mem, 0x55, PAGES * ps);
	unimem_queue_t *q;
	unimem_event_t *ev;
	CHECK_EQ(unimem_queue_create(&q), 0);
	CHECK_EQ(unimem_discard_batch_async(q, r, 2, 0, &ev), 0);
	CHECK_EQ(unimem_event_wait(ev), 4);
	unimem_event_release(ev);
	CHECK_EQ(nonzero(mem, 2 * ps) + nonzero(mem + 4 * ps, 2 * ps), 0);
	CHECK_ERR(unimem_discard_batch_async(q, r, 2, 0x10, NULL), -EINVAL);
	CHECK_EQ(unimem_queue_destroy(q), 0);

	/* Discard and prefetch: zeros, at the target, page by page. */
	for (int t = 0; t < nnodes; t++) {
		memset(mem, 0x66, PAGES * ps);
		struct unimem_range_to to = { mem + 100, 8 * ps, nodes[t], 0 };
		CHECK(unimem_prefetch_batch_to(&to, 1, UNIMEM_PREFETCH_DISCARD) >= 8);
		CHECK_EQ(nonzero(mem + 100, 8 * ps), 0);
		CHECK_EQ(mem[99], 0x66);
		CHECK_EQ(mem[100 + 8 * ps], 0x66);
		CHECK_EQ(um_pages_not_at(mem, 9, ps, nodes[t]), 0);
		/* also through unimem_prefetch */
		memset(mem, 0x66, PAGES * ps);
		CHECK_EQ(unimem_prefetch(mem, 4 * ps, nodes[(t + 1) % nnodes],
					 UNIMEM_PREFETCH_DISCARD), 4);
		CHECK_EQ(nonzero(mem, 4 * ps), 0);
		CHECK_EQ(um_pages_not_at(mem, 4, ps, nodes[(t + 1) % nnodes]), 0);
	}

	/* Bad input. */
	CHECK_ERR(unimem_discard(NULL, ps, 0), -EINVAL);
	CHECK_ERR(unimem_discard(mem, 0, 0), -EINVAL);
	CHECK_ERR(unimem_discard(mem, ps, 0x8), -EINVAL);
	CHECK_ERR(unimem_discard_batch(NULL, 1, 0), -EINVAL);
	munmap(mem, PAGES * ps);
	char *hole = map_pages(1);
	munmap(hole, ps);
	CHECK_ERR(unimem_discard(hole, ps, 0), -EFAULT);
}

static void test_get_attrs(void)
{
	enum { PAGES = 8 };
	char *mem = map_pages(PAGES);
	unimem_location_t loc, pref, last, by[4], pages[PAGES];
	int rm;
	unsigned gran;
	enum unimem_range_attr attrs[] = {
		UNIMEM_ATTR_LOCATION, UNIMEM_ATTR_PREFERRED_LOCATION,
		UNIMEM_ATTR_LAST_PREFETCH_LOCATION, UNIMEM_ATTR_READ_MOSTLY,
		UNIMEM_ATTR_ACCESSED_BY, UNIMEM_ATTR_GRANULARITY, UNIMEM_ATTR_PAGE_LOCATIONS,
	};
	void *outs[] = { &loc, &pref, &last, &rm, by, &gran, pages };
	size_t sizes[] = { sizeof(loc), sizeof(pref), sizeof(last), sizeof(rm),
			   sizeof(by), sizeof(gran), sizeof(pages) };
	const size_t n = sizeof(attrs) / sizeof(attrs[0]);

	if (!mem)
		return;
	unimem_location_t a = nodes[0], b = nodes[nnodes - 1];
	CHECK_EQ(unimem_prefetch(mem, PAGES * ps, a, 0), PAGES);
	CHECK_EQ(unimem_advise(mem, PAGES * ps, UNIMEM_ADVISE_SET_PREFERRED_LOCATION, a), 0);
	CHECK_EQ(unimem_advise(mem, PAGES * ps, UNIMEM_ADVISE_SET_READ_MOSTLY, 0), 0);
	CHECK_EQ(unimem_advise(mem, PAGES * ps, UNIMEM_ADVISE_SET_ACCESSED_BY,
			       UNIMEM_LOC_HOST_CURRENT), 0);
	CHECK_EQ(unimem_set_granularity(mem, PAGES * ps, 4), 0);
	CHECK_EQ(unimem_range_get_attrs(mem, PAGES * ps, attrs, n, outs, sizes), 0);
	CHECK_EQ(loc, a);
	CHECK_EQ(pref, a);
	CHECK_EQ(last, a);
	CHECK_EQ(rm, 1);
	CHECK_EQ(by[0], unimem_location_current());
	CHECK_EQ(by[1], UNIMEM_LOC_NONE);
	CHECK_EQ(gran, 4);
	for (int i = 0; i < PAGES; i++)
		CHECK_EQ(pages[i], a);

	/* The one rule: change the second half of everything; the whole reads
	 * as mixed, each attribute in its type's mixed value. */
	char *half = mem + PAGES / 2 * ps;
	size_t hs = PAGES / 2 * ps;
	CHECK_EQ(unimem_advise(half, hs, UNIMEM_ADVISE_SET_PREFERRED_LOCATION,
			       UNIMEM_LOC_SYSTEM), 0);
	CHECK_EQ(unimem_advise(half, hs, UNIMEM_ADVISE_UNSET_READ_MOSTLY, 0), 0);
	CHECK_EQ(unimem_advise(half, hs, UNIMEM_ADVISE_UNSET_ACCESSED_BY,
			       unimem_location_current()), 0);
	CHECK_EQ(unimem_set_granularity(half, hs, 2), 0);
	CHECK(unimem_prefetch(half, hs, UNIMEM_LOC_SYSTEM, 0) >= 0);
	CHECK_EQ(unimem_range_get_attrs(mem, PAGES * ps, attrs, n, outs, sizes), 0);
	CHECK_EQ(pref, UNIMEM_LOC_MIXED);
	CHECK_EQ(last, UNIMEM_LOC_MIXED);
	CHECK_EQ(rm, UNIMEM_ATTR_MIXED);
	CHECK_EQ(by[0], UNIMEM_LOC_NONE); /* not on every page: not listed */
	CHECK_EQ(gran, (unsigned)UNIMEM_ATTR_MIXED);
	CHECK_EQ(gran, UINT_MAX);
	if (a != b) {
		CHECK_EQ(unimem_prefetch(half, hs, b, 0), PAGES / 2);
		CHECK_EQ(unimem_range_get_attrs(mem, PAGES * ps, attrs, 1, outs, sizes), 0);
		CHECK_EQ(loc, UNIMEM_LOC_MIXED);
	}
	/* Each half alone is not mixed. */
	CHECK_EQ(unimem_range_get_attrs(half, hs, attrs, n - 1, outs, sizes), 0);
	CHECK_EQ(pref, UNIMEM_LOC_SYSTEM);
	CHECK_EQ(rm, 0);
	CHECK_EQ(gran, 2);

	/* Bad input: checked before anything is written. */
	size_t small[7];
	memcpy(small, sizes, sizeof(small));
	small[6] = sizeof(pages) - 1;
	loc = 12345;
	CHECK_ERR(unimem_range_get_attrs(mem, PAGES * ps, attrs, n, outs, small), -EINVAL);
	CHECK(strstr(unimem_last_error(), "entry 6") != NULL);
	CHECK_EQ(loc, 12345);
	CHECK_ERR(unimem_range_get_attrs(mem, PAGES * ps, attrs, 0, outs, sizes), -EINVAL);
	CHECK_ERR(unimem_range_get_attrs(mem, PAGES * ps, NULL, n, outs, sizes), -EINVAL);
	CHECK_ERR(unimem_range_get_attrs(mem, PAGES * ps, attrs, n, NULL, sizes), -EINVAL);
	CHECK_ERR(unimem_range_get_attrs(mem, PAGES * ps, attrs, n, outs, NULL), -EINVAL);
	enum unimem_range_attr bad[] = { UNIMEM_ATTR_LOCATION, 99 };
	CHECK_ERR(unimem_range_get_attrs(mem, PAGES * ps, bad, 2, outs, sizes), -EINVAL);
	munmap(mem, PAGES * ps);
}

/* With the module: devices in batches, discard of device pages, discard
 * and prefetch to a device (fresh zeroed device pages). */
static void test_device(unimem_location_t dev)
{
	enum { PAGES = 16 };
	char *mem = map_pages(PAGES);
	unimem_location_t pg[PAGES];

	if (!mem)
		return;
	memset(mem, 0x21, PAGES * ps);
	struct unimem_range_to r[3] = {
		{ mem, 4 * ps, dev, 0 },
		{ mem + 4 * ps, 4 * ps, nodes[nnodes - 1], 0 },
		{ mem + 8 * ps, 8 * ps, dev, 0 },
	};
	CHECK_EQ(unimem_prefetch_batch_to(r, 3, 0), PAGES);
	CHECK_EQ(um_pages_not_at(mem, 4, ps, dev), 0);
	CHECK_EQ(um_pages_not_at(mem + 4 * ps, 4, ps, nodes[nnodes - 1]), 0);
	CHECK_EQ(um_pages_not_at(mem + 8 * ps, 8, ps, dev), 0);
	/* Swapped: device pages come back to a node, host pages go out, in
	 * one module call (UNIMEM_IOCTL_MIGRATE_BATCH, API 1.3). */
	r[0].loc = nodes[nnodes - 1];
	r[1].loc = dev;
	CHECK_EQ(unimem_prefetch_batch_to(r, 3, 0), PAGES);
	CHECK_EQ(um_pages_not_at(mem, 4, ps, nodes[nnodes - 1]), 0);
	CHECK_EQ(um_pages_not_at(mem + 4 * ps, 4, ps, dev), 0);
	CHECK_EQ(um_pages_not_at(mem + 8 * ps, 8, ps, dev), 0);
	for (size_t i = 0; i < PAGES * ps; i++)
		if (mem[i] != 0x21) {
			CHECK_EQ(mem[i], 0x21);
			break;
		}
	r[0].loc = dev; /* back as they were */
	r[1].loc = nodes[nnodes - 1];
	CHECK_EQ(unimem_prefetch_batch_to(r, 3, 0), PAGES);

	/* Discard device pages: they are freed, nothing comes back. */
	CHECK_EQ(unimem_discard(mem + 8 * ps, 8 * ps, 0), 8);
	CHECK_EQ(unimem_range_get_attr(mem, PAGES * ps, UNIMEM_ATTR_PAGE_LOCATIONS, pg,
				       sizeof(pg)), 0);
	for (int i = 8; i < PAGES; i++)
		CHECK_EQ(pg[i], UNIMEM_LOC_NONE);
	CHECK_EQ(pg[0], dev);

	/* Discard and prefetch to the device: zero-filled device pages. */
	struct unimem_range_to z = { mem, PAGES * ps, dev, 0 };
	CHECK_EQ(unimem_prefetch_batch_to(&z, 1, UNIMEM_PREFETCH_DISCARD), PAGES);
	CHECK_EQ(um_pages_not_at(mem, PAGES, ps, dev), 0);
	CHECK_EQ(nonzero(mem, PAGES * ps), 0); /* read back: faults to the host */
	munmap(mem, PAGES * ps);
}

static void test_heaps(void)
{
	unimem_heap_t *h, *hc;
	size_t big = 2u << 20;

	CHECK_EQ(unimem_heap_create("weights", nodes[nnodes - 1], &h), 0);
	CHECK(strcmp(unimem_heap_name(h), "weights") == 0);
	CHECK_EQ(unimem_heap_location(h), nodes[nnodes - 1]);
	char *small = unimem_heap_malloc(h, 1000);
	char *large = unimem_heap_calloc(h, 1, big);
	CHECK(small && large);
	if (!small || !large)
		return;
	memset(small, 1, 1000);
	CHECK_EQ(nonzero(large, big), 0);
	memset(large, 2, big);
	struct unimem_ptr_info pi;
	CHECK_EQ(unimem_ptr_info(small, &pi), 0);
	CHECK_EQ(pi.requested, nodes[nnodes - 1]);
	CHECK_EQ(pi.location, nodes[nnodes - 1]);
	CHECK_EQ(unimem_ptr_info(large, &pi), 0);
	CHECK_EQ(pi.location, nodes[nnodes - 1]);
	CHECK_EQ(um_pages_not_at(large, big / ps, ps, nodes[nnodes - 1]), 0);
	unimem_heap_free(h, small);
	unimem_free(large); /* either free works */
	CHECK_ERR(unimem_ptr_info(small, &pi), -ENOENT);
	(void)unimem_heap_collect(h);
	(void)unimem_collect();
	unimem_heap_destroy(h);

	/* The calling thread's node, resolved at creation; no name. */
	CHECK_EQ(unimem_heap_create(NULL, UNIMEM_LOC_HOST_CURRENT, &hc), 0);
	CHECK_EQ(unimem_heap_location(hc), unimem_location_current());
	CHECK(strcmp(unimem_heap_name(hc), "") == 0);
	small = unimem_heap_malloc(hc, 64);
	CHECK(small != NULL);
	unimem_free(small);
	unimem_heap_destroy(hc);
	unimem_heap_destroy(NULL);

	CHECK_ERR(unimem_heap_create("x", UNIMEM_LOC_HOST(4000), &h), -ENODEV);
	CHECK_ERR(unimem_heap_create("x", UNIMEM_LOC_MIXED, &h), -EINVAL);
	CHECK_ERR(unimem_heap_create("x", nodes[0], NULL), -EINVAL);
	errno = 0;
	CHECK(unimem_heap_malloc(NULL, 8) == NULL);
	CHECK_EQ(errno, EINVAL);
}

int main(int argc, char **argv)
{
	struct unimem_location_info info;
	int guest_hmat = argc > 1 && strcmp(argv[1], "--guest-hmat") == 0;
	uint64_t want_bw = 0, want_lat = 0;

	if (argc > 3 && strcmp(argv[1], "--expect-node0") == 0) {
		want_bw = strtoull(argv[2], NULL, 10);
		want_lat = strtoull(argv[3], NULL, 10);
	}

	ps = (size_t)sysconf(_SC_PAGESIZE);
	for (int i = 0; i < unimem_location_count() && nnodes < 8; i++)
		if (unimem_location_get(i, &info) == 0 &&
		    UNIMEM_LOC_KIND(info.location) == UNIMEM_LOC_KIND_HOST)
			nodes[nnodes++] = info.location;
	CHECK(nnodes >= 1);
	CHECK(unimem_version() >= ((0 << 16) | (2 << 8)));

	test_current_and_speed(guest_hmat, want_bw, want_lat);
	test_batch_to();
	test_discard();
	test_get_attrs();
	test_heaps();
	for (int i = 0; i < unimem_location_count(); i++)
		if (unimem_location_get(i, &info) == 0 &&
		    UNIMEM_LOC_KIND(info.location) == UNIMEM_LOC_KIND_DEVICE) {
			printf("  with device %s\n", info.name);
			test_device(info.location);
			break;
		}
	printf("  %d host node(s) exercised\n", nnodes);
	return um_test_done("test_hints_ext");
}
