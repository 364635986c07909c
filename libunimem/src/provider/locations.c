/* SPDX-License-Identifier: MIT */
/*
 * location.c - the table of locations (host nodes, then devices), their
 * names and parsing.
 *
 * The table is built once, on first use: a location's value and its index
 * stay the same for the life of the process. Free bytes are re-read on
 * every query (best effort).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider/provider.h"

static struct {
	pthread_once_t once;
	int count;
	struct unimem_location_info info[UM_MAX_LOCATIONS];
} table = { .once = PTHREAD_ONCE_INIT };

static void add_provider(const struct um_provider *pv)
{
	if (pv->init() < 0)
		return;
	for (int i = 0; i < pv->count() && table.count < UM_MAX_LOCATIONS; i++)
		if (pv->info(i, &table.info[table.count]) == 0)
			table.count++;
}

static void table_init(void)
{
	table.count = 0; /* a child re-runs this if the parent forked during it */
	add_provider(&um_provider_host);
	if (um_device_present())
		add_provider(&um_provider_device);
}

static void table_load(void)
{
	pthread_once(&table.once, table_init);
}

unimem_location_t um_location_at(int index)
{
	table_load();
	return index >= 0 && index < table.count ? table.info[index].location
						 : UNIMEM_LOC_NONE;
}

int um_location_index(unimem_location_t loc)
{
	table_load();
	for (int i = 0; i < table.count; i++)
		if (table.info[i].location == loc)
			return i;
	return -1;
}

static void fill(int i, struct unimem_location_info *info);

unimem_location_t unimem_location_current(void)
{
	unsigned cpu = 0, node = 0;

	if (getcpu(&cpu, &node) < 0)
		cpu = 0;
	return um_host_node_of_cpu(cpu);
}

unimem_location_t um_location_resolve(unimem_location_t loc)
{
	return loc == UNIMEM_LOC_HOST_CURRENT ? unimem_location_current() : loc;
}

/* The value of a location for @metric (0: not known). */
static uint64_t metric_value(const struct unimem_location_info *info,
			     enum unimem_location_metric metric)
{
	switch (metric) {
	case UNIMEM_METRIC_CAPACITY:
		return info->total_bytes;
	case UNIMEM_METRIC_FREE:
		return info->free_bytes;
	case UNIMEM_METRIC_BANDWIDTH:
		return info->bandwidth_mibps;
	default: /* UNIMEM_METRIC_LATENCY */
		return info->latency_ns;
	}
}

int unimem_location_best(enum unimem_location_metric metric, unsigned int flags,
			 unimem_location_t *out)
{
	const unsigned all = UNIMEM_SELECT_HOST | UNIMEM_SELECT_CPU_ACCESS;
	uint64_t best = 0;
	int found = -1;

	if (!out)
		return um_error(-EINVAL, "location_best: out is NULL");
	if (metric < UNIMEM_METRIC_CAPACITY || metric > UNIMEM_METRIC_LATENCY)
		return um_error(-EINVAL, "location_best: unknown metric %d", (int)metric);
	if (flags & ~all)
		return um_error(-EINVAL, "location_best: unknown flags 0x%x", flags & ~all);
	table_load();
	for (int i = 0; i < table.count; i++) {
		struct unimem_location_info info;
		uint64_t v;

		fill(i, &info);
		if ((flags & UNIMEM_SELECT_HOST) &&
		    UNIMEM_LOC_KIND(info.location) != UNIMEM_LOC_KIND_HOST)
			continue;
		if ((flags & UNIMEM_SELECT_CPU_ACCESS) && !(info.flags & UNIMEM_LOCF_CPU_ACCESS))
			continue;
		v = metric_value(&info, metric);
		if (v == 0)
			continue;
		if (found < 0 || (metric == UNIMEM_METRIC_LATENCY ? v < best : v > best)) {
			best = v;
			found = i;
		}
	}
	if (found < 0)
		return um_error(-ENODATA, "location_best: no location has a known %s%s",
				metric == UNIMEM_METRIC_BANDWIDTH ? "bandwidth"
				: metric == UNIMEM_METRIC_LATENCY ? "latency"
				: metric == UNIMEM_METRIC_FREE ? "free size" : "capacity",
				metric >= UNIMEM_METRIC_BANDWIDTH
					? " (hwloc has no memory attributes: no HMAT here)" : "");
	*out = table.info[found].location;
	return 0;
}

int unimem_location_count(void)
{
	int err;

	table_load();
	if (table.count > 0)
		return table.count;
	err = um_provider_host.init();	/* says why when it failed */
	return err < 0 ? err : um_error(-ENODEV, "no location found: hwloc saw no NUMA node");
}

static void fill(int i, struct unimem_location_info *info)
{
	*info = table.info[i];
	if (UNIMEM_LOC_KIND(info->location) == UNIMEM_LOC_KIND_DEVICE)
		um_provider_device.refresh(info);
	else
		um_provider_host.refresh(info);
}

int unimem_location_get(int i, struct unimem_location_info *info)
{
	table_load();
	if (!info)
		return um_error(-EINVAL, "location_get: info is NULL");
	if (i < 0 || i >= table.count)
		return um_error(-EINVAL, "location_get: index %d out of range (0..%d)", i,
				table.count - 1);
	fill(i, info);
	return 0;
}

int unimem_location_query(unimem_location_t loc, struct unimem_location_info *info)
{
	int i, err;

	if (!info)
		return um_error(-EINVAL, "location_query: info is NULL");
	loc = um_location_resolve(loc);
	err = um_location_check("location_query", loc);
	if (err < 0)
		return err;
	table_load();
	if (UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_SYSTEM) {
		/* All host memory together. */
		memset(info, 0, sizeof(*info));
		info->location = UNIMEM_LOC_SYSTEM;
		info->flags = UNIMEM_LOCF_CPU_ACCESS;
		snprintf(info->name, sizeof(info->name), "system");
		for (i = 0; i < table.count; i++) {
			struct unimem_location_info n;

			if (UNIMEM_LOC_KIND(table.info[i].location) != UNIMEM_LOC_KIND_HOST)
				continue;
			fill(i, &n);
			info->total_bytes += n.total_bytes;
			info->free_bytes += n.free_bytes;
			info->nearest_cpu_count += n.nearest_cpu_count;
		}
		return 0;
	}
	i = um_location_index(loc);
	if (i < 0) /* e.g. a device that appeared after the table was built */
		return um_error(-ENODEV, "location_query: 0x%08x is not in the location table",
				loc);
	fill(i, info);
	return 0;
}

const char *unimem_location_name(unimem_location_t loc, char *buf, size_t len)
{
	static _Thread_local char own[32];
	unsigned idx = UNIMEM_LOC_INDEX(loc);

	if (!buf || len == 0) {
		buf = own;
		len = sizeof(own);
	}
	switch (UNIMEM_LOC_KIND(loc)) {
	case UNIMEM_LOC_KIND_NONE:
		snprintf(buf, len, "none");
		break;
	case UNIMEM_LOC_KIND_HOST:
		snprintf(buf, len, "node%u", idx);
		break;
	case UNIMEM_LOC_KIND_DEVICE:
		snprintf(buf, len, "unimem%u", idx);
		break;
	case UNIMEM_LOC_KIND_SYSTEM:
		snprintf(buf, len, "system");
		break;
	case UNIMEM_LOC_KIND_MIXED:
		snprintf(buf, len, "mixed");
		break;
	case UNIMEM_LOC_KIND_HOST_CURRENT:
		snprintf(buf, len, "current");
		break;
	default:
		snprintf(buf, len, "invalid(0x%08x)", loc);
		break;
	}
	return buf;
}

/* A decimal index that fits the location's 24 bits, nothing after it. */
static int parse_index(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint32_t)(*s - '0');
		if (v > UNIMEM_LOC_INDEX_MASK)
			return -1;
	}
	*out = v;
	return 0;
}

int unimem_location_parse(const char *name, unimem_location_t *loc)
{
	static const struct {
		const char *prefix;
		enum unimem_location_kind kind;
	} indexed[] = {
		{ "node", UNIMEM_LOC_KIND_HOST },   { "host:", UNIMEM_LOC_KIND_HOST },
		{ "unimem", UNIMEM_LOC_KIND_DEVICE }, { "device:", UNIMEM_LOC_KIND_DEVICE },
	};
	static const struct {
		const char *name;
		unimem_location_t loc;
	} fixed[] = {
		{ "none", UNIMEM_LOC_NONE },
		{ "system", UNIMEM_LOC_SYSTEM },
		{ "mixed", UNIMEM_LOC_MIXED },
		{ "current", UNIMEM_LOC_HOST_CURRENT },
	};
	uint32_t idx;

	if (!name || !loc)
		return um_error(-EINVAL, "location_parse: %s is NULL", name ? "loc" : "name");
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(name, fixed[i].name) == 0) {
			*loc = fixed[i].loc;
			return 0;
		}
	for (size_t i = 0; i < sizeof(indexed) / sizeof(indexed[0]); i++) {
		size_t n = strlen(indexed[i].prefix);

		if (strncmp(name, indexed[i].prefix, n) == 0 &&
		    parse_index(name + n, &idx) == 0) {
			*loc = UNIMEM_LOC(indexed[i].kind, idx);
			return 0;
		}
	}
	return um_error(-EINVAL, "location_parse: \"%.40s\" is not a location (expected "
			"nodeN, unimemN, host:N, device:N, system, current or none)", name);
}
