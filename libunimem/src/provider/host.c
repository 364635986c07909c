/* SPDX-License-Identifier: MIT */
/*
 * host.c - the host provider: NUMA nodes.
 *
 * The provider used alone when no unimem module is loaded (the embedded
 * default). The topology comes from hwloc; pages are bound with mbind(2)
 * and moved and located with move_pages(2), which neither allocate nor
 * touch the range's policy. Read from Linux directly too: the CPUs local
 * to a node (hwloc gives CPU-less nodes the cpuset of their parent) and
 * free memory per node.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <hwloc.h>
#include <hwloc/linux.h>

#include "provider/provider.h"

#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1 << 1)
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct host_node {
	unsigned os_index;
	uint64_t total_bytes;
	int local_cpus;
	bool cpuless;
};

static struct {
	pthread_once_t once;
	int init_err;
	hwloc_topology_t topo;
	int nnodes;
	struct host_node nodes[UM_MAX_LOCATIONS];
} host = { .once = PTHREAD_ONCE_INIT };

static int cmp_node(const void *a, const void *b)
{
	const struct host_node *x = a, *y = b;
	return (x->os_index > y->os_index) - (x->os_index < y->os_index);
}

/* CPUs whose local memory is this node, as Linux lists them. */
static int node_local_cpus(hwloc_obj_t node)
{
	char path[96];
	int n = -1;
	hwloc_bitmap_t set = hwloc_bitmap_alloc();

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpumap",
		 node->os_index);
	if (set && hwloc_linux_read_path_as_cpumask(path, set) == 0)
		n = hwloc_bitmap_weight(set);
	hwloc_bitmap_free(set);
	if (n < 0) /* no sysfs: fall back to what hwloc says */
		n = node->cpuset ? hwloc_bitmap_weight(node->cpuset) : 0;
	return n < 0 ? 0 : n;
}

/* hwloc's topology load takes hwloc's own locks: a fork in the middle
 * would leave them held in the child, which re-runs the once routine. */
static _Atomic int host_initialising;

static void host_init_once(void)
{
	hwloc_obj_t obj = NULL;

	atomic_store(&host_initialising, 1);
	host.nnodes = 0;

	if (hwloc_topology_init(&host.topo) < 0 ||
	    hwloc_topology_load(host.topo) < 0) {
		host.init_err = um_error(-errno ? -errno : -EIO,
					 "host provider: hwloc could not load the topology: %s",
					 strerror(errno));
		goto done;
	}
	while ((obj = hwloc_get_next_obj_by_type(host.topo, HWLOC_OBJ_NUMANODE, obj))) {
		struct host_node *n;

		if (host.nnodes == UM_MAX_LOCATIONS)
			break;
		n = &host.nodes[host.nnodes++];
		n->os_index = obj->os_index;
		n->total_bytes = obj->attr ? obj->attr->numanode.local_memory : 0;
		n->local_cpus = node_local_cpus(obj);
		n->cpuless = n->local_cpus == 0;
	}
	qsort(host.nodes, host.nnodes, sizeof(host.nodes[0]), cmp_node);
	if (host.nnodes == 0)
		host.init_err = um_error(-ENODEV, "host provider: hwloc found no NUMA node");
done:
	atomic_store(&host_initialising, 0);
}

/* fork waits for a topology load under way (see host_initialising). */
static void host_fork_prepare(void)
{
	if (atomic_load(&host_initialising))
		pthread_once(&host.once, host_init_once);
}
UM_FORK_HOOKS(host_fork_hooks, UM_FORK_RANK_PROVIDER, host_fork_prepare, NULL, NULL);

static int host_init(void)
{
	pthread_once(&host.once, host_init_once);
	return host.init_err;
}

static int host_location_count(void)
{
	return host_init() < 0 ? 0 : host.nnodes;
}

static const struct host_node *host_node_by_os(unsigned os_index)
{
	for (int i = 0; i < host.nnodes; i++)
		if (host.nodes[i].os_index == os_index)
			return &host.nodes[i];
	return NULL;
}

/* MemFree of a node from sysfs (hwloc only knows the capacity). */
static void host_refresh_free(struct unimem_location_info *info)
{
	char path[96], line[256];
	unsigned long long kb;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/meminfo",
		 UNIMEM_LOC_INDEX(info->location));
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "MemFree:");
		if (p && sscanf(p + 8, "%llu", &kb) == 1) {
			info->free_bytes = kb * 1024ull;
			break;
		}
	}
	fclose(f);
}

static int host_location_info(int i, struct unimem_location_info *info)
{
	const struct host_node *n;

	if (host_init() < 0 || i < 0 || i >= host.nnodes)
		return -EINVAL;
	n = &host.nodes[i];
	memset(info, 0, sizeof(*info));
	info->location = UNIMEM_LOC_HOST(n->os_index);
	info->flags = UNIMEM_LOCF_CPU_ACCESS | (n->cpuless ? UNIMEM_LOCF_CPULESS : 0);
	snprintf(info->name, sizeof(info->name), "node%u", n->os_index);
	info->total_bytes = n->total_bytes;
	info->free_bytes = n->total_bytes; /* unless sysfs says better */
	info->nearest_cpu_count = n->local_cpus;
	host_refresh_free(info);
	return 0;
}

/*
 * Per-page residency: move_pages(2) in query mode, in chunks. hwloc offers
 * only the union over an area (hwloc_get_area_memlocation).
 */
#define QUERY_CHUNK 512
static int host_describe(const void *addr, size_t npages, unimem_location_t *out)
{
	size_t ps = um_page_size();
	void *pages[QUERY_CHUNK];
	int status[QUERY_CHUNK];

	for (size_t done = 0; done < npages;) {
		size_t n = npages - done < QUERY_CHUNK ? npages - done : QUERY_CHUNK;

		for (size_t i = 0; i < n; i++)
			pages[i] = (char *)addr + (done + i) * ps;
		if (syscall(SYS_move_pages, 0, (unsigned long)n, pages, NULL, status, 0) < 0)
			return um_error(-errno, "range query: move_pages failed: %s",
					strerror(errno));
		for (size_t i = 0; i < n; i++)
			if (status[i] >= 0) /* negative: not present, zero page, unmapped */
				out[done + i] = UNIMEM_LOC_HOST((unsigned)status[i]);
		done += n;
	}
	return 0;
}

static long count_at(const void *addr, size_t size, unimem_location_t loc)
{
	size_t ps = um_page_size(), npages = size / ps;
	unimem_location_t buf[QUERY_CHUNK];
	long count = 0;

	for (size_t done = 0; done < npages;) {
		size_t n = npages - done < QUERY_CHUNK ? npages - done : QUERY_CHUNK;
		int err;

		for (size_t i = 0; i < n; i++)
			buf[i] = UNIMEM_LOC_NONE;
		err = host_describe((const char *)addr + done * ps, n, buf);
		if (err < 0)
			return err;
		for (size_t i = 0; i < n; i++)
			if (loc == UNIMEM_LOC_SYSTEM ? UNIMEM_LOC_KIND(buf[i]) == UNIMEM_LOC_KIND_HOST
						     : buf[i] == loc)
				count++;
		done += n;
	}
	return count;
}

/* Fault in never-touched pages so they land under the current policy. */
static void populate(void *addr, size_t size)
{
	(void)madvise(addr, size, MADV_POPULATE_WRITE); /* best effort (>= 5.14) */
}

/*
 * Move pages with move_pages(2): a prefetch moves what is there and leaves
 * the range's memory policy (the application's, or unimem's placement)
 * alone. Never-touched pages are faulted in first, under that policy, and
 * then moved like the others.
 */
static long host_place(void *addr, size_t size, unimem_location_t loc,
			  unsigned int flags)
{
	size_t ps = um_page_size(), npages = size / ps;
	int target = (int)UNIMEM_LOC_INDEX(loc);
	void *pages[QUERY_CHUNK];
	int nodes[QUERY_CHUNK], status[QUERY_CHUNK];
	long at = 0, busy = 0, unmapped = 0;

	if (host_init() < 0)
		return host.init_err;
	populate(addr, size);
	if (UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_SYSTEM)
		return count_at(addr, size, loc);

	for (size_t done = 0; done < npages;) {
		size_t n = npages - done < QUERY_CHUNK ? npages - done : QUERY_CHUNK;

		for (size_t i = 0; i < n; i++) {
			pages[i] = (char *)addr + (done + i) * ps;
			nodes[i] = target;
		}
		if (syscall(SYS_move_pages, 0, (unsigned long)n, pages, nodes, status,
			    MPOL_MF_MOVE) < 0) {
			int err = errno;
			if (err == ENODEV || err == EINVAL)
				return um_error(-ENODEV, "prefetch: node%d cannot take pages: %s",
						target, strerror(err));
			return um_error(-err, "prefetch to node%d failed: %s", target,
					strerror(err));
		}
		size_t again = 0;

		for (size_t i = 0; i < n; i++) {
			if (status[i] == target)
				at++;
			else if (status[i] == -EFAULT || status[i] == -ENOENT)
				unmapped++;
			else
				pages[again++] = pages[i];
		}
		/*
		 * The other pages of a THP move with its first one and report
		 * -EBUSY: ask where they are now.
		 */
		if (again && syscall(SYS_move_pages, 0, (unsigned long)again, pages, NULL,
				     status, 0) == 0) {
			for (size_t i = 0; i < again; i++) {
				if (status[i] == target)
					at++;
				else
					busy++;
			}
		} else {
			busy += (long)again;
		}
		done += n;
	}
	if (flags & UNIMEM_PREFETCH_ALL_OR_NOTHING) {
		if (unmapped)
			return um_error(-EFAULT, "prefetch: %ld pages of [%p, +%zu) are not "
					"mapped or could not be populated", unmapped, addr, size);
		if (busy)
			return um_error(-EBUSY, "prefetch: %ld pages of [%p, +%zu) could not be "
					"moved to node%d (shared, pinned or busy)", busy, addr,
					size, target);
	}
	return at;
}

/*
 * map: mbind(2) directly (hwloc's binding allocates its bitmaps with
 * malloc, and the allocator maps fresh memory from its own slow path).
 * BIND is the allocation's guarantee (MPOL_BIND), PREFER a preference
 * (MPOL_PREFERRED, no migration), NONE or "system" the default policy.
 */
#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MASK_WORDS 16 /* nodes 0..1022 */

static int host_map(void *addr, size_t size, unimem_location_t loc, enum um_map_mode mode)
{
	unsigned long mask[MASK_WORDS] = { 0 };
	unsigned node = UNIMEM_LOC_INDEX(loc);
	int policy = MPOL_DEFAULT;
	const char *what = mode == UM_MAP_BIND ? "place" : "advise";

	if (UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_HOST) {
		if (node >= MASK_WORDS * 64 - 1)
			return um_error(-ENODEV, "%s: node%u is beyond what mbind takes", what, node);
		mask[node / 64] = 1ul << (node % 64);
		policy = mode == UM_MAP_BIND ? MPOL_BIND : MPOL_PREFERRED;
	}
	if (syscall(SYS_mbind, addr, size, policy, policy == MPOL_DEFAULT ? NULL : mask,
		    policy == MPOL_DEFAULT ? 0 : MASK_WORDS * 64, 0) < 0) {
		int err = errno;
		if (err == EFAULT || err == ENOMEM)
			return um_error(-EFAULT, "%s: [%p, +%zu) is not (fully) mapped",
					what, addr, size);
		return um_error(-err, "%s: binding to node%u failed: %s", what, node,
				strerror(err));
	}
	return 0;
}

static void host_discard(void *addr, size_t size)
{
	(void)madvise(addr, size, MADV_DONTNEED);
}

/* The kernel drops a range's policy with the mapping; nothing is kept here. */
static void host_unmap(void *addr, size_t size)
{
	(void)addr;
	(void)size;
}

/* For the summary query: union of the nodes of the area (one syscall). */
int um_host_area_nodes(const void *addr, size_t size, unsigned *nodes, int max)
{
	hwloc_nodeset_t set;
	int n = 0, i;

	if (host_init() < 0)
		return host.init_err;
	set = hwloc_bitmap_alloc();
	if (!set)
		return -ENOMEM;
	if (hwloc_get_area_memlocation(host.topo, addr, size, set,
				       HWLOC_MEMBIND_BYNODESET) < 0) {
		int err = errno;
		hwloc_bitmap_free(set);
		if (err == ENOENT) /* nothing populated */
			return 0;
		return um_error(-err, "range query failed: %s", strerror(err));
	}
	hwloc_bitmap_foreach_begin(i, set) {
		if (n < max)
			nodes[n] = (unsigned)i;
		n++;
	} hwloc_bitmap_foreach_end();
	hwloc_bitmap_free(set);
	return n;
}

bool um_host_node_exists(unsigned os_index)
{
	return host_init() == 0 && host_node_by_os(os_index) != NULL;
}

const struct um_provider um_provider_host = {
	.name = "host",
	.init = host_init,
	.count = host_location_count,
	.info = host_location_info,
	.refresh = host_refresh_free,
	.map = host_map,
	.place = host_place,
	.discard = host_discard,
	.unmap = host_unmap,
	.describe = host_describe,
};
