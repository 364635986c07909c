/* SPDX-License-Identifier: MIT */
/*
 * test_locations.c - the location table: order, fields, names and the
 * name/parse round trip.
 */
#include "um_test.h"

static void check_round_trip(unimem_location_t loc)
{
	char buf[32];
	unimem_location_t back = 0xdeadbeef;

	unimem_location_name(loc, buf, sizeof(buf));
	CHECK_EQ(unimem_location_parse(buf, &back), 0);
	CHECK_EQ(back, loc);
}

int main(void)
{
	int n = unimem_location_count(), nhost = 0;
	unimem_location_t prev = UNIMEM_LOC_NONE;
	uint64_t host_total = 0;
	char buf[32];

	CHECK(n >= 1);
	for (int i = 0; i < n; i++) {
		struct unimem_location_info info, again;
		enum unimem_location_kind kind;
		char expect[32];

		CHECK_EQ(unimem_location_get(i, &info), 0);
		kind = UNIMEM_LOC_KIND(info.location);
		CHECK(kind == UNIMEM_LOC_KIND_HOST || kind == UNIMEM_LOC_KIND_DEVICE);
		/* Host nodes first in OS order, then devices in /dev order. */
		if (i > 0)
			CHECK(UNIMEM_LOC_KIND(prev) < kind ||
			      (UNIMEM_LOC_KIND(prev) == kind &&
			       UNIMEM_LOC_INDEX(prev) < UNIMEM_LOC_INDEX(info.location)));
		prev = info.location;
		snprintf(expect, sizeof(expect), "%s%u",
			 kind == UNIMEM_LOC_KIND_HOST ? "node" : "unimem",
			 UNIMEM_LOC_INDEX(info.location));
		CHECK(strcmp(info.name, expect) == 0);
		CHECK(strcmp(unimem_location_name(info.location, buf, sizeof(buf)),
			     info.name) == 0);
		CHECK(info.total_bytes > 0);
		CHECK(info.free_bytes <= info.total_bytes);
		if (kind == UNIMEM_LOC_KIND_HOST) {
			nhost++;
			host_total += info.total_bytes;
			CHECK(info.flags & UNIMEM_LOCF_CPU_ACCESS);
			CHECK(!!(info.flags & UNIMEM_LOCF_CPULESS) ==
			      (info.nearest_cpu_count == 0));
		} else {
			CHECK_EQ(info.nearest_cpu_count, 0);
		}
		/* Query by value gives the same static description. */
		CHECK_EQ(unimem_location_query(info.location, &again), 0);
		CHECK_EQ(again.location, info.location);
		CHECK_EQ(again.flags, info.flags);
		CHECK_EQ(again.total_bytes, info.total_bytes);
		CHECK(strcmp(again.name, info.name) == 0);
		check_round_trip(info.location);
		printf("  %-8s total %llu MiB free %llu MiB cpus %d flags 0x%x\n", info.name,
		       (unsigned long long)(info.total_bytes >> 20),
		       (unsigned long long)(info.free_bytes >> 20), info.nearest_cpu_count,
		       info.flags);
	}
	CHECK(nhost >= 1);

	/* "system" is all host memory together. */
	{
		struct unimem_location_info sys;
		CHECK_EQ(unimem_location_query(UNIMEM_LOC_SYSTEM, &sys), 0);
		CHECK_EQ(sys.total_bytes, host_total);
		CHECK(strcmp(sys.name, "system") == 0);
	}

	/* Names and parsing of every kind, including the ones not in the table. */
	check_round_trip(UNIMEM_LOC_NONE);
	check_round_trip(UNIMEM_LOC_SYSTEM);
	check_round_trip(UNIMEM_LOC_MIXED);
	check_round_trip(UNIMEM_LOC_HOST(0));
	check_round_trip(UNIMEM_LOC_HOST(1023));
	check_round_trip(UNIMEM_LOC_DEVICE(0));
	check_round_trip(UNIMEM_LOC_DEVICE(UNIMEM_LOC_INDEX_MASK));
	CHECK(strcmp(unimem_location_name(UNIMEM_LOC_HOST(3), buf, sizeof(buf)), "node3") == 0);
	CHECK(strcmp(unimem_location_name(UNIMEM_LOC_DEVICE(1), buf, sizeof(buf)), "unimem1") == 0);
	CHECK(strcmp(unimem_location_name(UNIMEM_LOC_SYSTEM, buf, sizeof(buf)), "system") == 0);
	CHECK(strcmp(unimem_location_name(UNIMEM_LOC_NONE, buf, sizeof(buf)), "none") == 0);
	CHECK(strcmp(unimem_location_name(UNIMEM_LOC_MIXED, buf, sizeof(buf)), "mixed") == 0);
	CHECK(strncmp(unimem_location_name(UNIMEM_LOC(9, 1), buf, sizeof(buf)), "invalid", 7) == 0);
	/* No buffer: a thread-local one; a short buffer: truncated, terminated. */
	CHECK(strcmp(unimem_location_name(UNIMEM_LOC_HOST(2), NULL, 0), "node2") == 0);
	CHECK(strcmp(unimem_location_name(UNIMEM_LOC_HOST(12), buf, 4), "nod") == 0);
	{
		unimem_location_t loc;
		CHECK_EQ(unimem_location_parse("host:5", &loc), 0);
		CHECK_EQ(loc, UNIMEM_LOC_HOST(5));
		CHECK_EQ(unimem_location_parse("device:2", &loc), 0);
		CHECK_EQ(loc, UNIMEM_LOC_DEVICE(2));
	}
	return um_test_done("test_locations");
}
