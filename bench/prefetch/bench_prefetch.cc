// SPDX-License-Identifier: MIT
//
// bench_prefetch - throughput of unimem_prefetch():
//   HostNodeToNode   pages moved between two host NUMA nodes (node0 to itself
//                    on a one-node machine: then it measures the cost of a
//                    prefetch that finds the pages in place)
//   HostToDevice     host -> unimem0 -> host round trips (skipped without the
//                    module)
//   AsyncBatch       many small ranges through a queue
//   BatchTo          many small ranges, each with its own target, in one
//                    unimem_prefetch_batch_to() call (issue 15) ...
//   LoopSingle       ... against a loop of unimem_prefetch(), one a range
//   BatchToDevice, LoopSingleDevice  the same between two unimem devices
//   Migrate          a range moved between two places (contents copied) ...
//   DiscardPrefetch  ... against discard-and-prefetch to the same places
//                    (UNIMEM_PREFETCH_DISCARD: dropped, arrives zero-filled)
//   Discard          unimem_discard() then a write of every page (the
//                    pages come back zero-filled on the policy's node)
// and, in the same run, the peers they are judged against:
//   Memcpy           memcpy of the same size (the ceiling of any copy)
//   RawMovePages     move_pages(2) straight, no library (host node to node)
//   RawMigrateIoctl  UNIMEM_IOCTL_MIGRATE straight, no library (host-device)
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include <linux/unimem.h>

#include "unimem.h"

namespace {

std::vector<unimem_location_t> Locations(enum unimem_location_kind kind)
{
	std::vector<unimem_location_t> out;
	struct unimem_location_info info;
	for (int i = 0; i < unimem_location_count(); i++)
		if (unimem_location_get(i, &info) == 0 && UNIMEM_LOC_KIND(info.location) == kind)
			out.push_back(info.location);
	return out;
}

char *MapTouched(size_t size)
{
	void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return nullptr;
	memset(p, 1, size);
	return static_cast<char *>(p);
}

void BM_HostNodeToNode(benchmark::State &state)
{
	auto nodes = Locations(UNIMEM_LOC_KIND_HOST);
	size_t size = static_cast<size_t>(state.range(0));
	unimem_location_t from = nodes.at(0), to = nodes.size() > 1 ? nodes[1] : nodes[0];
	char *mem = MapTouched(size);

	if (!mem) {
		state.SkipWithError("mmap failed");
		return;
	}
	unimem_prefetch(mem, size, from, 0);
	bool forth = true;
	for (auto _ : state) {
		long r = unimem_prefetch(mem, size, forth ? to : from, 0);
		if (r < 0) {
			state.SkipWithError(unimem_last_error());
			break;
		}
		forth = !forth;
	}
	state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
	state.SetLabel(nodes.size() > 1 ? "node0<->node1" : "node0->node0 (one node)");
	munmap(mem, size);
}

void BM_HostToDevice(benchmark::State &state)
{
	auto devices = Locations(UNIMEM_LOC_KIND_DEVICE);
	size_t size = static_cast<size_t>(state.range(0));

	if (devices.empty()) {
		state.SkipWithError("no unimem module loaded: host-to-device skipped");
		return;
	}
	char *mem = MapTouched(size);
	if (!mem) {
		state.SkipWithError("mmap failed");
		return;
	}
	for (auto _ : state) {
		long r = unimem_prefetch(mem, size, devices[0], 0);
		if (r >= 0)
			r = unimem_prefetch(mem, size, UNIMEM_LOC_SYSTEM, 0);
		if (r < 0) {
			state.SkipWithError(unimem_last_error());
			break;
		}
	}
	// Both directions move every byte.
	state.SetBytesProcessed(int64_t(state.iterations()) * 2 * int64_t(size));
	state.SetLabel("host->unimem0->host");
	munmap(mem, size);
}

void BM_AsyncBatch(benchmark::State &state)
{
	auto nodes = Locations(UNIMEM_LOC_KIND_HOST);
	const size_t ps = static_cast<size_t>(sysconf(_SC_PAGESIZE));
	const size_t nranges = static_cast<size_t>(state.range(0)), size = nranges * 16 * ps;
	std::vector<unimem_range> ranges(nranges);
	unimem_queue_t *queue;
	char *mem = MapTouched(size);

	if (!mem || unimem_queue_create(&queue) < 0) {
		state.SkipWithError("setup failed");
		return;
	}
	for (size_t i = 0; i < nranges; i++)
		ranges[i] = { mem + i * 16 * ps, 16 * ps };
	bool forth = true;
	for (auto _ : state) {
		unimem_location_t to = forth ? nodes.back() : nodes.front();
		unimem_event_t *ev;
		if (unimem_prefetch_batch_async(queue, ranges.data(), nranges, to, 0, &ev) < 0 ||
		    unimem_event_wait(ev) < 0) {
			state.SkipWithError(unimem_last_error());
			break;
		}
		unimem_event_release(ev);
		forth = !forth;
	}
	state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(nranges));
	state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
	unimem_queue_destroy(queue);
	munmap(mem, size);
}

/*
 * Batch with a target per range against a loop of single prefetches: the
 * ranges (4 pages each) alternate between the two ends, and go back the
 * other way at the next iteration.
 */
void BatchOrLoop(benchmark::State &state, bool batch,
		 enum unimem_location_kind kind = UNIMEM_LOC_KIND_HOST)
{
	auto nodes = Locations(kind);
	const size_t ps = static_cast<size_t>(sysconf(_SC_PAGESIZE));
	const size_t nranges = static_cast<size_t>(state.range(0)), rsize = 4 * ps;
	const size_t size = nranges * rsize;
	std::vector<unimem_range_to> ranges(nranges);
	if (nodes.empty()) {
		state.SkipWithError("no unimem module loaded");
		return;
	}
	char *mem = MapTouched(size);
	unimem_location_t a = nodes.at(0), b = nodes.size() > 1 ? nodes[1] : nodes[0];

	if (!mem) {
		state.SkipWithError("mmap failed");
		return;
	}
	bool forth = true;
	for (auto _ : state) {
		for (size_t i = 0; i < nranges; i++)
			ranges[i] = { mem + i * rsize, rsize, ((i & 1) == forth) ? a : b, 0 };
		long r = 0;
		if (batch) {
			r = unimem_prefetch_batch_to(ranges.data(), nranges, 0);
		} else {
			for (size_t i = 0; i < nranges && r >= 0; i++)
				r = unimem_prefetch(ranges[i].ptr, ranges[i].size, ranges[i].loc, 0);
		}
		if (r < 0) {
			state.SkipWithError(unimem_last_error());
			break;
		}
		forth = !forth;
	}
	state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(nranges));
	state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
	if (kind == UNIMEM_LOC_KIND_DEVICE)
		state.SetLabel(nodes.size() > 1 ? "4-page ranges unimem0<->unimem1"
						: "4-page ranges, one device");
	else
		state.SetLabel(nodes.size() > 1 ? "4-page ranges node0<->node1"
						: "4-page ranges, one node");
	munmap(mem, size);
}

void BM_BatchTo(benchmark::State &state) { BatchOrLoop(state, true); }
void BM_LoopSingle(benchmark::State &state) { BatchOrLoop(state, false); }
/* The same across devices: one UNIMEM_IOCTL_MIGRATE_BATCH against a call a range. */
void BM_BatchToDevice(benchmark::State &state)
{
	BatchOrLoop(state, true, UNIMEM_LOC_KIND_DEVICE);
}
void BM_LoopSingleDevice(benchmark::State &state)
{
	BatchOrLoop(state, false, UNIMEM_LOC_KIND_DEVICE);
}

/*
 * Moving a range between two places: with its contents (a migration) or
 * without (discard and prefetch). arg 1: to a device and back (skipped
 * without the module), else node0 <-> node1.
 */
void MigrateOrDiscard(benchmark::State &state, unsigned flags)
{
	auto nodes = Locations(UNIMEM_LOC_KIND_HOST);
	auto devices = Locations(UNIMEM_LOC_KIND_DEVICE);
	size_t size = static_cast<size_t>(state.range(0));
	bool dev = state.range(1) != 0;

	if (dev && devices.empty()) {
		state.SkipWithError("no unimem module loaded: device rows skipped");
		return;
	}
	unimem_location_t a = dev ? nodes.at(0) : nodes.at(0);
	unimem_location_t b = dev ? devices[0] : (nodes.size() > 1 ? nodes[1] : nodes[0]);
	char *mem = MapTouched(size);
	if (!mem) {
		state.SkipWithError("mmap failed");
		return;
	}
	unimem_prefetch(mem, size, a, 0);
	bool forth = true;
	for (auto _ : state) {
		long r = unimem_prefetch(mem, size, forth ? b : a, flags);
		if (r < 0) {
			state.SkipWithError(unimem_last_error());
			break;
		}
		forth = !forth;
	}
	state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
	state.SetLabel(dev ? "node0<->unimem0" : nodes.size() > 1 ? "node0<->node1"
								  : "node0->node0 (one node)");
	munmap(mem, size);
}

void BM_Migrate(benchmark::State &state) { MigrateOrDiscard(state, 0); }
void BM_DiscardPrefetch(benchmark::State &state)
{
	MigrateOrDiscard(state, UNIMEM_PREFETCH_DISCARD);
}

void BM_Discard(benchmark::State &state)
{
	const size_t ps = static_cast<size_t>(sysconf(_SC_PAGESIZE));
	size_t size = static_cast<size_t>(state.range(0));
	char *mem = MapTouched(size);

	if (!mem) {
		state.SkipWithError("mmap failed");
		return;
	}
	for (auto _ : state) {
		if (unimem_discard(mem, size, 0) < 0) {
			state.SkipWithError(unimem_last_error());
			break;
		}
		for (size_t i = 0; i < size; i += ps) /* fresh pages again */
			mem[i] = 1;
	}
	state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
	munmap(mem, size);
}

void BM_Memcpy(benchmark::State &state)
{
	size_t size = static_cast<size_t>(state.range(0));
	char *src = MapTouched(size), *dst = MapTouched(size);

	if (!src || !dst) {
		state.SkipWithError("mmap failed");
		return;
	}
	for (auto _ : state) {
		memcpy(dst, src, size);
		benchmark::ClobberMemory();
	}
	state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
	munmap(src, size);
	munmap(dst, size);
}

void BM_RawMovePages(benchmark::State &state)
{
	auto nodes = Locations(UNIMEM_LOC_KIND_HOST);
	const size_t ps = static_cast<size_t>(sysconf(_SC_PAGESIZE));
	size_t size = static_cast<size_t>(state.range(0)), n = size / ps;
	int a = int(UNIMEM_LOC_INDEX(nodes.at(0)));
	int b = int(UNIMEM_LOC_INDEX(nodes.size() > 1 ? nodes[1] : nodes[0]));
	std::vector<void *> pages(n);
	std::vector<int> to(n), status(n);
	char *mem = MapTouched(size);

	if (!mem) {
		state.SkipWithError("mmap failed");
		return;
	}
	for (size_t i = 0; i < n; i++)
		pages[i] = mem + i * ps;
	bool forth = true;
	for (auto _ : state) {
		std::fill(to.begin(), to.end(), forth ? b : a);
		if (syscall(SYS_move_pages, 0, n, pages.data(), to.data(), status.data(), 0) < 0) {
			state.SkipWithError("move_pages failed");
			break;
		}
		forth = !forth;
	}
	state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
	munmap(mem, size);
}

void BM_RawMigrateIoctl(benchmark::State &state)
{
	size_t size = static_cast<size_t>(state.range(0));
	int fd = open("/dev/unimem0", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		state.SkipWithError("no unimem module loaded: raw migrate skipped");
		return;
	}
	char *mem = MapTouched(size);
	for (auto _ : state) {
		for (uint32_t target : { 0u, uint32_t(UNIMEM_TARGET_SYSTEM) }) {
			struct unimem_migrate m;
			memset(&m, 0, sizeof(m));
			m.addr = reinterpret_cast<uintptr_t>(mem);
			m.length = size;
			m.target = target;
			if (ioctl(fd, UNIMEM_IOCTL_MIGRATE, &m) < 0)
				state.SkipWithError("migrate ioctl failed");
		}
	}
	state.SetBytesProcessed(int64_t(state.iterations()) * 2 * int64_t(size));
	state.SetLabel("host->unimem0->host");
	munmap(mem, size);
	close(fd);
}

} // namespace

BENCHMARK(BM_Memcpy)->RangeMultiplier(8)->Range(64 << 10, 64 << 20)->UseRealTime();
BENCHMARK(BM_RawMovePages)->RangeMultiplier(8)->Range(64 << 10, 64 << 20)->UseRealTime();
BENCHMARK(BM_RawMigrateIoctl)->RangeMultiplier(8)->Range(64 << 10, 32 << 20)->UseRealTime();
BENCHMARK(BM_HostNodeToNode)->RangeMultiplier(8)->Range(64 << 10, 64 << 20)->UseRealTime();
BENCHMARK(BM_HostToDevice)->RangeMultiplier(8)->Range(64 << 10, 32 << 20)->UseRealTime();
BENCHMARK(BM_AsyncBatch)->Arg(16)->Arg(256)->UseRealTime();
BENCHMARK(BM_BatchTo)->Arg(16)->Arg(256)->UseRealTime();
BENCHMARK(BM_LoopSingle)->Arg(16)->Arg(256)->UseRealTime();
BENCHMARK(BM_BatchToDevice)->Arg(16)->Arg(256)->UseRealTime();
BENCHMARK(BM_LoopSingleDevice)->Arg(16)->Arg(256)->UseRealTime();
BENCHMARK(BM_Migrate)->ArgsProduct({ { 256 << 10, 16 << 20 }, { 0, 1 } })->UseRealTime();
BENCHMARK(BM_DiscardPrefetch)->ArgsProduct({ { 256 << 10, 16 << 20 }, { 0, 1 } })->UseRealTime();
BENCHMARK(BM_Discard)->Arg(256 << 10)->Arg(16 << 20)->UseRealTime();

BENCHMARK_MAIN();
