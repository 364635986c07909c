// SPDX-License-Identifier: MIT
//
// malloc/free throughput: unimem vs glibc vs jemalloc vs mimalloc, by size
// class, single-thread and cross-thread (a producer allocates, a consumer
// thread frees), all in one run so the machine state is the same for all.
//
//   unimem_alloc_bench --benchmark_format=json > out.json
//   python3 bench/alloc/report.py out.json      # markdown table with ratios
#include <benchmark/benchmark.h>
#include <dlfcn.h>

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
#endif
}

namespace {

struct Allocator {
	const char *name;
	void *(*alloc)(size_t);
	void (*release)(void *);
};

#ifdef UM_BENCH_JEMALLOC
void *je_alloc(size_t n) { return mallocx(n, 0); }
void je_release(void *p) { dallocx(p, 0); }
#endif

// glibc's own malloc, whoever interposes malloc (and mimalloc also
// defines __libc_malloc): look it up inside libc.so.6 itself.
void *(*glibc_malloc)(size_t);
void (*glibc_free)(void *);

void load_glibc()
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	glibc_malloc = libc ? (void *(*)(size_t))dlsym(libc, "malloc") : nullptr;
	glibc_free = libc ? (void (*)(void *))dlsym(libc, "free") : nullptr;
}

void *glibc_alloc(size_t n) { return glibc_malloc(n); }
void glibc_release(void *p) { glibc_free(p); }

const std::vector<Allocator> &allocators()
{
	static const std::vector<Allocator> all = {
		{ "unimem", unimem_malloc, unimem_free },
		{ "glibc", glibc_alloc, glibc_release },
#ifdef UM_BENCH_JEMALLOC
		{ "jemalloc", je_alloc, je_release },
#endif
#ifdef UM_BENCH_MIMALLOC
		{ "mimalloc", mi_malloc, mi_free },
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
	benchmark::Initialize(&argc, argv);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
