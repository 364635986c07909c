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
 *
 * hwloc is opened (dlopen) when the topology is first needed, not linked:
 * a program that only allocates, as most do under the preload, never maps
 * hwloc and what it brings along (libudev, libm: about half a MiB of a
 * small program's peak RSS).  Only hwloc's real symbols are used here, none
 * of the inline helpers of hwloc.h, which would need it linked.
 */
#include <dlfcn.h>
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
	hwloc_bitmap_t cpus;	/* its local CPUs, as Linux lists them */
	bool cpuless;
	uint64_t bandwidth, latency; /* hwloc memattrs, 0 unknown */
};

static struct {
	pthread_once_t once;
	int init_err;
	char init_msg[160];	/* why, for every later caller */
	hwloc_topology_t topo;
	int numa_depth;
	int nnodes;
	struct host_node nodes[UM_MAX_LOCATIONS];
} host = { .once = PTHREAD_ONCE_INIT };

#ifndef UNIMEM_HWLOC_SONAME
#define UNIMEM_HWLOC_SONAME "libhwloc.so.15"
#endif

#define HWLOC_FUNCS(X)                                                          \
	X(hwloc_get_api_version) X(hwloc_topology_init) X(hwloc_topology_load)  \
	X(hwloc_get_type_depth) X(hwloc_get_obj_by_depth)                       \
	X(hwloc_bitmap_alloc) X(hwloc_bitmap_free) X(hwloc_bitmap_weight)       \
	X(hwloc_bitmap_first) X(hwloc_bitmap_next) X(hwloc_bitmap_isset)        \
	X(hwloc_linux_read_path_as_cpumask) X(hwloc_memattr_get_initiators)     \
	X(hwloc_get_area_memlocation)

/* hwloc's functions, as opened by hw_open(); hw.f has the type of f. */
static struct {
#define X(f) __typeof__(&f) f;
	HWLOC_FUNCS(X)
#undef X
} hw;

static int hw_open(void)
{
	void *lib = dlopen(UNIMEM_HWLOC_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		return um_error(-ENOENT, "host provider: cannot open hwloc: %s",
				dlerror());
#define X(f)                                                                    \
	hw.f = (__typeof__(hw.f))dlsym(lib, #f);                                \
	if (!hw.f)                                                              \
		return um_error(-ENOSYS, "host provider: %s has no %s",         \
				UNIMEM_HWLOC_SONAME, #f);
	HWLOC_FUNCS(X)
#undef X
	/* the ABI is the major number (hwloc's own advice) */
	if ((hw.hwloc_get_api_version() >> 16) != (HWLOC_API_VERSION >> 16))
		return um_error(-ENOSYS, "host provider: hwloc API 0x%x at run "
				"time, built for 0x%x", hw.hwloc_get_api_version(),
				HWLOC_API_VERSION);
	return 0;
}

static int cmp_node(const void *a, const void *b)
{
	const struct host_node *x = a, *y = b;
	return (x->os_index > y->os_index) - (x->os_index < y->os_index);
}

/* CPUs whose local memory is this node, as Linux lists them, into *@cpus. */
static int node_local_cpus(hwloc_obj_t node, hwloc_bitmap_t *cpus)
{
	char path[96];
	int n = -1;
	hwloc_bitmap_t set = hw.hwloc_bitmap_alloc();

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpumap",
		 node->os_index);
	if (set && hw.hwloc_linux_read_path_as_cpumask(path, set) == 0) {
		n = hw.hwloc_bitmap_weight(set);
		*cpus = set;
	} else {
		hw.hwloc_bitmap_free(set);
		*cpus = NULL;
	}
	if (n < 0) /* no sysfs: fall back to what hwloc says */
		n = node->cpuset ? hw.hwloc_bitmap_weight(node->cpuset) : 0;
	return n < 0 ? 0 : n;
}

/*
 * A memory attribute of a node: the best value over the initiators hwloc
 * has for it (from HMAT: the node's nearest CPUs). 0 when hwloc has none.
 */
static uint64_t node_memattr(hwloc_obj_t node, hwloc_memattr_id_t id,
			     hwloc_memattr_id_t fallback, bool higher_is_better)
{
	enum { MAX_INIT = 16 };
	struct hwloc_location init[MAX_INIT];
	hwloc_uint64_t val[MAX_INIT];
	uint64_t best = 0;

	for (int pass = 0; pass < 2 && best == 0; pass++) {
		unsigned nr = MAX_INIT;

		if (hw.hwloc_memattr_get_initiators(host.topo, pass ? fallback : id,
						    node, 0, &nr, init, val) < 0)
			continue;
		for (unsigned i = 0; i < nr && i < MAX_INIT; i++)
			if (val[i] && (best == 0 || (higher_is_better ? val[i] > best
								      : val[i] < best)))
				best = val[i];
	}
	return best;
}

/* hwloc's topology load takes hwloc's own locks: a fork in the middle
 * would leave them held in the child, which re-runs the once routine. */
static _Atomic int host_initialising;

static void host_init_once(void)
{
	hwloc_obj_t obj;

	atomic_store(&host_initialising, 1);
	host.nnodes = 0;

	host.init_err = hw_open();
	if (host.init_err < 0)
		goto done;
	if (hw.hwloc_topology_init(&host.topo) < 0 ||
	    hw.hwloc_topology_load(host.topo) < 0) {
		host.init_err = um_error(-errno ? -errno : -EIO,
					 "host provider: hwloc could not load the topology: %s",
					 strerror(errno));
		goto done;
	}
	host.numa_depth = hw.hwloc_get_type_depth(host.topo, HWLOC_OBJ_NUMANODE);
	for (unsigned i = 0;
	     (obj = hw.hwloc_get_obj_by_depth(host.topo, host.numa_depth, i)); i++) {
		struct host_node *n;

		if (host.nnodes == UM_MAX_LOCATIONS)
			break;
		n = &host.nodes[host.nnodes++];
		n->os_index = obj->os_index;
		n->total_bytes = obj->attr ? obj->attr->numanode.local_memory : 0;
		n->local_cpus = node_local_cpus(obj, &n->cpus);
		n->cpuless = n->local_cpus == 0;
		n->bandwidth = node_memattr(obj, HWLOC_MEMATTR_ID_BANDWIDTH,
					    HWLOC_MEMATTR_ID_READ_BANDWIDTH, true);
		n->latency = node_memattr(obj, HWLOC_MEMATTR_ID_LATENCY,
					  HWLOC_MEMATTR_ID_READ_LATENCY, false);
	}
	qsort(host.nodes, host.nnodes, sizeof(host.nodes[0]), cmp_node);
	if (host.nnodes == 0)
		host.init_err = um_error(-ENODEV, "host provider: hwloc found no NUMA node");
done:
	if (host.init_err < 0)
		snprintf(host.init_msg, sizeof(host.init_msg), "%s", unimem_last_error());
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
	if (host.init_err < 0)
		return um_error(host.init_err, "%s", host.init_msg);
	return 0;
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
	info->bandwidth_mibps = n->bandwidth;
	info->latency_ns = n->latency;
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

#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MASK_WORDS 16 /* nodes 0..1022 */

/*
 * Discard and prefetch: fault fresh (zero) pages in on @node itself, so
 * nothing is copied afterwards. The calling thread's own policy is set
 * around the populate and put back: it applies to ranges without a policy
 * of their own (mbind), which is never changed; pages of a range that has
 * one land under it and are moved as usual.
 */
static void populate_on(void *addr, size_t size, unsigned node)
{
	unsigned long old_mask[MASK_WORDS] = { 0 }, mask[MASK_WORDS] = { 0 };
	int old_mode;

	if (node >= MASK_WORDS * 64 - 1 ||
	    syscall(SYS_get_mempolicy, &old_mode, old_mask, MASK_WORDS * 64, NULL, 0) < 0) {
		populate(addr, size);
		return;
	}
	mask[node / 64] = 1ul << (node % 64);
	if (syscall(SYS_set_mempolicy, MPOL_PREFERRED, mask, MASK_WORDS * 64) < 0) {
		populate(addr, size);
		return;
	}
	populate(addr, size);
	(void)syscall(SYS_set_mempolicy, old_mode, old_mask, MASK_WORDS * 64);
}

struct move_state {
	long at, busy, unmapped;
};

/* One move_pages(2) call over a chunk of pages, each with its own node. */
static int move_chunk(void **pages, int *nodes, int *status, size_t n, struct move_state *st)
{
	size_t again = 0;

	if (syscall(SYS_move_pages, 0, (unsigned long)n, pages, nodes, status,
		    MPOL_MF_MOVE) < 0) {
		int err = errno;
		if (err == ENODEV || err == EINVAL)
			return um_error(-ENODEV, "prefetch: node%d cannot take pages: %s",
					nodes[0], strerror(err));
		return um_error(-err, "prefetch to node%d failed: %s", nodes[0],
				strerror(err));
	}
	for (size_t i = 0; i < n; i++) {
		if (status[i] == nodes[i])
			st->at++;
		else if (status[i] == -EFAULT || status[i] == -ENOENT)
			st->unmapped++;
		else {
			nodes[again] = nodes[i];
			pages[again++] = pages[i];
		}
	}
	/*
	 * The other pages of a THP move with its first one and report
	 * -EBUSY: ask where they are now.
	 */
	if (again && syscall(SYS_move_pages, 0, (unsigned long)again, pages, NULL,
			     status, 0) == 0) {
		for (size_t i = 0; i < again; i++) {
			if (status[i] == nodes[i])
				st->at++;
			else
				st->busy++;
		}
	} else {
		st->busy += (long)again;
	}
	return 0;
}

/*
 * Move pages with move_pages(2): a prefetch moves what is there and leaves
 * the range's memory policy (the application's, or unimem's placement)
 * alone. Never-touched pages are faulted in first, under that policy, and
 * then moved like the others. A batch goes in chunks of QUERY_CHUNK pages
 * whatever its ranges are: one call moves pages of several ranges to
 * several nodes. Items for devices are skipped (the device provider's).
 */
long um_host_place_many(const struct um_place_item *items, size_t count, unsigned int flags)
{
	size_t ps = um_page_size(), n = 0;
	void *pages[QUERY_CHUNK];
	int nodes[QUERY_CHUNK], status[QUERY_CHUNK];
	struct move_state st = { 0, 0, 0 };
	int err;

	if (host_init() < 0)
		return host.init_err;
	for (size_t i = 0; i < count; i++) {
		enum unimem_location_kind kind = UNIMEM_LOC_KIND(items[i].loc);
		void *addr = (void *)items[i].start;
		size_t size = items[i].end - items[i].start;

		if (kind == UNIMEM_LOC_KIND_DEVICE)
			continue;
		if (kind == UNIMEM_LOC_KIND_HOST && (flags & UNIMEM_PREFETCH_DISCARD))
			populate_on(addr, size, UNIMEM_LOC_INDEX(items[i].loc));
		else
			populate(addr, size);
		if (kind == UNIMEM_LOC_KIND_SYSTEM) {
			long r = count_at(addr, size, items[i].loc);
			if (r < 0)
				return r;
			st.at += r;
		}
	}
	for (size_t i = 0; i < count; i++) {
		if (UNIMEM_LOC_KIND(items[i].loc) != UNIMEM_LOC_KIND_HOST)
			continue;
		for (uintptr_t a = items[i].start; a < items[i].end; a += ps) {
			pages[n] = (void *)a;
			nodes[n] = (int)UNIMEM_LOC_INDEX(items[i].loc);
			if (++n == QUERY_CHUNK) {
				err = move_chunk(pages, nodes, status, n, &st);
				if (err < 0)
					return err;
				n = 0;
			}
		}
	}
	if (n && (err = move_chunk(pages, nodes, status, n, &st)) < 0)
		return err;
	if (flags & UNIMEM_PREFETCH_ALL_OR_NOTHING) {
		if (st.unmapped)
			return um_error(-EFAULT, "prefetch: %ld pages are not mapped or could "
					"not be populated", st.unmapped);
		if (st.busy)
			return um_error(-EBUSY, "prefetch: %ld pages could not be moved to "
					"their node (shared, pinned or busy)", st.busy);
	}
	return st.at;
}

static long host_place(void *addr, size_t size, unimem_location_t loc,
		       unsigned int flags)
{
	struct um_place_item it = { (uintptr_t)addr, (uintptr_t)addr + size, loc };

	return um_host_place_many(&it, 1, flags);
}

/*
 * map: mbind(2) directly (hwloc's binding allocates its bitmaps with
 * malloc, and the allocator maps fresh memory from its own slow path).
 * BIND is the allocation's guarantee (MPOL_BIND), PREFER a preference
 * (MPOL_PREFERRED, no migration), NONE or "system" the default policy.
 */
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

/* Device pages in the range are freed by the kernel too (it zaps them). */
static int host_discard(void *addr, size_t size, bool lazy)
{
	if (madvise(addr, size, lazy ? MADV_FREE : MADV_DONTNEED) < 0) {
		int err = errno;
		return um_error(err == ENOMEM ? -EFAULT : -err, "discard: the kernel refused "
				"%s on [%p, +%zu): %s", lazy ? "MADV_FREE" : "MADV_DONTNEED",
				addr, size, strerror(err));
	}
	return 0;
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
	set = hw.hwloc_bitmap_alloc();
	if (!set)
		return -ENOMEM;
	if (hw.hwloc_get_area_memlocation(host.topo, addr, size, set,
					  HWLOC_MEMBIND_BYNODESET) < 0) {
		int err = errno;
		hw.hwloc_bitmap_free(set);
		if (err == ENOENT) /* nothing populated */
			return 0;
		return um_error(-err, "range query failed: %s", strerror(err));
	}
	for (i = hw.hwloc_bitmap_first(set); i >= 0; i = hw.hwloc_bitmap_next(set, i)) {
		if (n < max)
			nodes[n] = (unsigned)i;
		n++;
	}
	hw.hwloc_bitmap_free(set);
	return n;
}

unimem_location_t um_host_node_of_cpu(unsigned cpu)
{
	if (host_init() < 0)
		return UNIMEM_LOC_NONE;
	/* the node whose local CPUs include it (never a CPU-less one) */
	for (int i = 0; i < host.nnodes; i++)
		if (!host.nodes[i].cpuless && host.nodes[i].cpus &&
		    hw.hwloc_bitmap_isset(host.nodes[i].cpus, cpu))
			return UNIMEM_LOC_HOST(host.nodes[i].os_index);
	return host.nnodes ? UNIMEM_LOC_HOST(host.nodes[0].os_index) : UNIMEM_LOC_NONE;
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
