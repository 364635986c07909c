// SPDX-License-Identifier: MIT
//
// malloc/free throughput: unimem vs glibc vs jemalloc vs mimalloc, by size
// class, single-thread and cross-thread (a producer allocates, a consumer
// thread frees), all in one run so the machine state is the same for all.
// Then three shapes (issue 16): thread churn, large blocks of mixed sizes,
// and a producer/consumer with many live blocks whose peak RSS is a
// counter.
//
//   unimem_alloc_bench --benchmark_format=json > out.json
//   python3 bench/alloc/report.py out.json      # markdown table with ratios
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "unimem.h"

#ifdef UM_BENCH_MIMALLOC
#include <mimalloc.h>
#endif

extern "C" {
#ifdef UM_BENCH_JEMALLOC
void *mallocx(size_t size, int flags);
void dallocx(void *ptr, int flags);
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
#endif
}

namespace {

struct Allocator {
	const char *name;
	void *(*alloc)(size_t);
	void (*release)(void *);
	void (*trim)(); // give back what is cached (before an RSS measurement)
};

#ifdef UM_BENCH_JEMALLOC
void *je_alloc(size_t n) { return mallocx(n, 0); }
void je_release(void *p) { dallocx(p, 0); }
#endif

// glibc's own malloc, whoever interposes malloc (and mimalloc also
// defines __libc_malloc): look it up inside libc.so.6 itself.
void *(*glibc_malloc)(size_t);
void (*glibc_free)(void *);
int (*glibc_trim_fn)(size_t);

void load_glibc()
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	glibc_malloc = libc ? (void *(*)(size_t))dlsym(libc, "malloc") : nullptr;
	glibc_free = libc ? (void (*)(void *))dlsym(libc, "free") : nullptr;
	glibc_trim_fn = libc ? (int (*)(size_t))dlsym(libc, "malloc_trim") : nullptr;
}

void *glibc_alloc(size_t n) { return glibc_malloc(n); }
void glibc_release(void *p) { glibc_free(p); }
void glibc_trim()
{
	if (glibc_trim_fn)
		glibc_trim_fn(0);
}
void unimem_trim() { unimem_collect(); }
#ifdef UM_BENCH_JEMALLOC
void je_trim()
{
	// every arena: MALLCTL_ARENAS_ALL is 4096
	mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
}
#endif
#ifdef UM_BENCH_MIMALLOC
void mi_trim() { mi_collect(true); }
#endif

const std::vector<Allocator> &allocators()
{
	static const std::vector<Allocator> all = {
		{ "unimem", unimem_malloc, unimem_free, unimem_trim },
		{ "glibc", glibc_alloc, glibc_release, glibc_trim },
#ifdef UM_BENCH_JEMALLOC
		{ "jemalloc", je_alloc, je_release, je_trim },
#endif
#ifdef UM_BENCH_MIMALLOC
		{ "mimalloc", mi_malloc, mi_free, mi_trim },
#endif
	};
	return all;
}

// Objects live at once: many for small sizes, fewer for large ones so a
// batch stays around 8 MiB at most.
size_t batch_for(size_t size)
{
	size_t n = (8u << 20) / size;
	return n < 8 ? 8 : (n > 100 ? 100 : n);
}

// Allocate a batch, touch each block, free it in allocation order.
void single_thread(benchmark::State &state, Allocator a, size_t size)
{
	size_t n = batch_for(size);
	std::vector<void *> ptrs(n);
	for (auto _ : state) {
		for (size_t i = 0; i < n; i++) {
			ptrs[i] = a.alloc(size);
			*static_cast<volatile char *>(ptrs[i]) = 1;
		}
		for (size_t i = 0; i < n; i++)
			a.release(ptrs[i]);
	}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

// The benchmark thread allocates batches, a consumer thread frees them:
// every free is a cross-thread free. Waiting blocks (condition variable,
// once per batch) instead of spinning, and the time is the CPU time of the
// whole process: on a shared 2-core machine wall time mostly measures the
// scheduler, while CPU time counts the work of both threads.
void cross_thread(benchmark::State &state, Allocator a, size_t size)
{
	constexpr size_t kSlots = 16;
	size_t n = batch_for(size);
	std::vector<std::vector<void *>> ring(kSlots, std::vector<void *>(n));
	std::mutex mu;
	std::condition_variable cv;
	size_t produced = 0, consumed = 0; // batches, guarded by mu
	bool done = false;

	std::thread consumer([&] {
		for (;;) {
			std::unique_lock<std::mutex> lock(mu);
			cv.wait(lock, [&] { return consumed < produced || done; });
			if (consumed == produced)
				return;
			std::vector<void *> &batch = ring[consumed % kSlots];
			lock.unlock();
			for (size_t i = 0; i < n; i++)
				a.release(batch[i]);
			lock.lock();
			consumed++;
			lock.unlock();
			cv.notify_all();
		}
	});

	for (auto _ : state) {
		std::unique_lock<std::mutex> lock(mu);
		cv.wait(lock, [&] { return produced - consumed < kSlots; });
		std::vector<void *> &batch = ring[produced % kSlots];
		lock.unlock();
		for (size_t i = 0; i < n; i++) {
			batch[i] = a.alloc(size);
			*static_cast<volatile char *>(batch[i]) = 1;
		}
		lock.lock();
		produced++;
		lock.unlock();
		cv.notify_all();
	}
	{
		std::lock_guard<std::mutex> lock(mu);
		done = true;
	}
	cv.notify_all();
	consumer.join();
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

// Deterministic sizes: a small xorshift, the same sequence for everyone.
struct Rng {
	uint64_t x;
	explicit Rng(uint64_t seed) : x(seed * 0x9e3779b97f4a7c15ull + 1) {}
	uint64_t next()
	{
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		return x;
	}
	// mostly small, some up to 8 KiB: what a worker thread allocates
	size_t small_size()
	{
		uint64_t r = next();
		return (r & 7) == 0 ? 1024 + (r >> 8) % 7168 : 16 + (r >> 8) % 496;
	}
};

// Thread churn: a pool that grows and shrinks. Each iteration starts
// kThreads threads; each allocates kBlocks blocks, frees two thirds itself
// and leaves the rest to the next generation of threads (which frees them
// remotely), then exits. Process CPU time: the page faults a heap of an
// exited thread costs the next thread are kernel time of the process.
void thread_churn(benchmark::State &state, Allocator a)
{
	constexpr int kThreads = 4, kBlocks = 4000;
	std::vector<std::vector<void *>> left(kThreads, std::vector<void *>(kBlocks));
	uint64_t gen = 0;
	for (auto _ : state) {
		std::vector<std::thread> pool;
		for (int t = 0; t < kThreads; t++)
			pool.emplace_back([&, t] {
				Rng rng(gen * kThreads + t);
				std::vector<void *> &mine = left[t];
				for (void *&p : mine) // the last generation's leftovers
					if (p)
						a.release(p);
				for (int i = 0; i < kBlocks; i++) {
					size_t n = rng.small_size();
					void *p = a.alloc(n);
					memset(p, i, n < 64 ? n : 64);
					if (i % 3 == 0) {
						mine[i] = p;
					} else {
						a.release(p);
						mine[i] = nullptr;
					}
				}
				// touch-and-free a working set too: what makes a
				// fresh heap refault
				void *work[256];
				for (int r = 0; r < 4; r++) {
					for (void *&w : work) {
						size_t n = rng.small_size();
						w = a.alloc(n);
						memset(w, r, n);
					}
					for (void *w : work)
						a.release(w);
				}
			});
		for (std::thread &th : pool)
			th.join();
		gen++;
	}
	for (auto &v : left)
		for (void *&p : v)
			if (p) {
				a.release(p);
				p = nullptr;
			}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kThreads));
}

// Large blocks of mixed sizes, 64 KiB to 4 MiB (log-uniform), each freed
// soon: a window of 4 live blocks, every page of each written once.
void large_mixed(benchmark::State &state, Allocator a)
{
	constexpr size_t kWindow = 4;
	void *live[kWindow] = {};
	Rng rng(7);
	size_t k = 0;
	const long ps = sysconf(_SC_PAGESIZE);
	for (auto _ : state) {
		uint64_t r = rng.next();
		size_t size = (size_t)64 << 10 << (r % 7); // 64 KiB .. 4 MiB
		size += (r >> 8) % size;                   // .. up to 2x that
		if (live[k % kWindow])
			a.release(live[k % kWindow]);
		char *p = static_cast<char *>(a.alloc(size));
		for (size_t off = 0; off < size; off += (size_t)ps)
			p[off] = 1;
		live[k % kWindow] = p;
		k++;
	}
	for (void *&p : live)
		if (p)
			a.release(p);
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Medium blocks of wandering sizes: 10 KiB to 128 KiB (uniform), a
// working set of 96, a random one replaced each time, a byte of each page
// written. The shape where keeping freed blocks resident matters: a
// block of one size class cannot serve another, and giving freed ones
// back too eagerly refaults them (unimem's cold medium blocks once made
// a 4-thread version of this 3.4x slower).
void medium_mixed(benchmark::State &state, Allocator a)
{
	constexpr size_t kLive = 96;
	void *live[kLive] = {};
	Rng rng(11);
	const long ps = sysconf(_SC_PAGESIZE);
	for (auto _ : state) {
		uint64_t r = rng.next();
		size_t k = (r >> 40) % kLive;
		size_t size = (10 << 10) + r % (118 << 10);
		if (live[k])
			a.release(live[k]);
		char *p = static_cast<char *>(a.alloc(size));
		for (size_t off = 0; off < size; off += (size_t)ps)
			p[off] = 1;
		live[k] = p;
	}
	for (void *&p : live)
		if (p) {
			a.release(p);
			p = nullptr;
		}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

long rss_bytes()
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * sysconf(_SC_PAGESIZE);
}

// Producer/consumer with many live blocks: a producer fills a queue of
// messages (32 B .. 4 KiB, written whole) up to 64 Ki live (128 MiB),
// then a consumer thread frees them all: waves, the live set breathes
// between 0 and the peak. Counter
// peak_rss_MiB: the process's resident set at each wave's peak, above its
// level before the run (after every allocator gave back what it caches),
// the highest of all waves. live_MiB: the bytes asked for at that peak.
void producer_consumer(benchmark::State &state, Allocator a)
{
	constexpr size_t kLive = 65536;
	for (const Allocator &b : allocators())
		b.trim();
	const long base = rss_bytes();
	std::vector<void *> queue(kLive);
	std::mutex mu;
	std::condition_variable cv;
	size_t head = 0, tail = 0; // blocks produced, consumed (mod kLive), under mu
	bool draining = false, done = false;
	long peak = 0;
	size_t live_bytes = 0;
	Rng rng(11);

	std::thread consumer([&] {
		for (;;) {
			std::unique_lock<std::mutex> lock(mu);
			cv.wait(lock, [&] { return (draining && tail < head) || done; });
			if (done && tail == head)
				return;
			size_t from = tail, to = head;
			lock.unlock();
			for (size_t i = from; i < to; i++)
				a.release(queue[i % kLive]);
			lock.lock();
			tail = to;
			lock.unlock();
			cv.notify_all();
		}
	});
	for (auto _ : state) {
		// fill to the peak, then the consumer frees it all (remotely)
		size_t bytes = 0;
		for (size_t i = 0; i < kLive; i++) {
			size_t n = 32 + (size_t)(rng.next() % 4065);
			queue[i] = a.alloc(n);
			memset(queue[i], 1, n);
			bytes += n;
		}
		long now = rss_bytes() - base;
		if (now > peak) {
			peak = now;
			live_bytes = bytes;
		}
		std::unique_lock<std::mutex> lock(mu);
		head = kLive;
		draining = true;
		cv.notify_all();
		cv.wait(lock, [&] { return tail == head; });
		draining = false;
		head = tail = 0;
	}
	{
		std::lock_guard<std::mutex> lock(mu);
		done = true;
	}
	cv.notify_all();
	consumer.join();
	state.counters["peak_rss_MiB"] = (double)peak / (1 << 20);
	state.counters["live_MiB"] = (double)live_bytes / (1 << 20);
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kLive));
}

} // namespace

int main(int argc, char **argv)
{
	load_glibc();
	if (!glibc_malloc || !glibc_free) {
		fprintf(stderr, "cannot find glibc's malloc in libc.so.6\n");
		return 1;
	}
	const size_t sizes[] = { 16, 64, 256, 1024, 4096, 32768, 262144, 1048576 };
	for (size_t size : sizes)
		for (const Allocator &a : allocators())
			benchmark::RegisterBenchmark(
				("single/" + std::to_string(size) + "/" + a.name).c_str(),
				single_thread, a, size);
	for (size_t size : sizes)
		for (const Allocator &a : allocators())
			benchmark::RegisterBenchmark(
				("cross/" + std::to_string(size) + "/" + a.name).c_str(),
				cross_thread, a, size)
				->MeasureProcessCPUTime();
	for (const Allocator &a : allocators())
		benchmark::RegisterBenchmark(("churn/threads/" + std::string(a.name)).c_str(),
					     thread_churn, a)
			->MeasureProcessCPUTime();
	for (const Allocator &a : allocators())
		benchmark::RegisterBenchmark(("large/mixed/" + std::string(a.name)).c_str(),
					     large_mixed, a)
			->MeasureProcessCPUTime();
	for (const Allocator &a : allocators())
		benchmark::RegisterBenchmark(("medium/mixed/" + std::string(a.name)).c_str(),
					     medium_mixed, a)
			->MeasureProcessCPUTime();
	for (const Allocator &a : allocators())
		benchmark::RegisterBenchmark(("prodcons/64k/" + std::string(a.name)).c_str(),
					     producer_consumer, a)
			->MeasureProcessCPUTime();
	benchmark::Initialize(&argc, argv);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
