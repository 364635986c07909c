/* SPDX-License-Identifier: MIT */
/*
 * test_queue.c - asynchronous and batch prefetch from many threads: each
 * event returns the pages moved, a shared queue keeps its order, sync waits
 * for everything, and synchronous batches run concurrently.
 */
#include <dirent.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

#include "um_test.h"

#define NTHREADS 8
#define ROUNDS 50
#define NPAGES 16
#define NRANGES 32

static size_t ps;
static unimem_location_t node;
static unimem_queue_t *shared;
static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;

#define TCHECK(cond)                                   \
	do {                                           \
		if (!(cond)) {                         \
			pthread_mutex_lock(&check_lock); \
			CHECK(cond);                   \
			pthread_mutex_unlock(&check_lock); \
		}                                      \
	} while (0)

static void *async_worker(void *arg)
{
	long id = (long)arg;
	unimem_queue_t *own;
	unimem_event_t *ev[ROUNDS];
	char *mem = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TCHECK(mem != MAP_FAILED);
	memset(mem, (int)id, NPAGES * ps);
	TCHECK(unimem_queue_create(&own) == 0);
	/* Alternate between our own queue and the shared one. */
	for (int r = 0; r < ROUNDS; r++) {
		unimem_location_t to = r % 2 ? UNIMEM_LOC_SYSTEM : node;
		TCHECK(unimem_prefetch_async(r % 3 ? own : shared, mem, NPAGES * ps, to, 0,
					     &ev[r]) == 0);
	}
	for (int r = 0; r < ROUNDS; r++) {
		TCHECK(unimem_event_wait(ev[r]) == NPAGES);
		TCHECK(unimem_event_query(ev[r]) == 1);
		unimem_event_release(ev[r]);
	}
	/* Fire-and-forget work, then a sync that covers it. */
	for (int r = 0; r < ROUNDS; r++)
		TCHECK(unimem_prefetch_async(own, mem, NPAGES * ps, node, 0, NULL) == 0);
	TCHECK(unimem_queue_sync(own) == 0);
	TCHECK(unimem_queue_destroy(own) == 0);
	for (size_t i = 0; i < NPAGES * ps; i += 512)
		TCHECK(mem[i] == (char)id);
	munmap(mem, NPAGES * ps);
	return NULL;
}

static void *batch_worker(void *arg)
{
	struct unimem_range r[NRANGES];
	char *mem = mmap(NULL, NRANGES * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unimem_event_t *ev;

	TCHECK(mem != MAP_FAILED);
	for (int i = 0; i < NRANGES; i++) {
		r[i].ptr = mem + (size_t)i * ps;
		r[i].size = ps;
	}
	for (int round = 0; round < ROUNDS / 5; round++) {
		TCHECK(unimem_prefetch_batch(r, NRANGES, node, 0) == NRANGES);
		TCHECK(unimem_prefetch_batch_async(shared, r, NRANGES, UNIMEM_LOC_SYSTEM, 0,
						   &ev) == 0);
		TCHECK(unimem_event_wait(ev) == NRANGES);
		unimem_event_release(ev);
	}
	munmap(mem, NRANGES * ps);
	return NULL;
}

/* The worker must not take the application's signals (it inherited the
 * creating thread's mask): every other thread of this process blocks all. */
static void worker_blocks_signals(void)
{
	unimem_queue_t *q;
	char path[300], line[256];
	int workers = 0;
	pid_t self = (pid_t)syscall(SYS_gettid);
	DIR *d;
	struct dirent *e;

	CHECK_EQ(unimem_queue_create(&q), 0);
	/* once it has done work, the worker runs with its own mask (a thread
	 * being created blocks everything for a moment) */
	char *mem = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unimem_event_t *ev;
	CHECK_EQ(unimem_prefetch_async(q, mem, ps, UNIMEM_LOC_SYSTEM, 0, &ev), 0);
	CHECK_EQ(unimem_event_wait(ev), 1);
	unimem_event_release(ev);
	munmap(mem, ps);
	d = opendir("/proc/self/task");
	CHECK(d != NULL);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == self)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		FILE *f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "SigBlk:", 7) == 0) {
				unsigned long long blk = strtoull(line + 7, NULL, 16);
				/* SIGINT, SIGTERM, SIGUSR1, SIGALRM at least */
				CHECK((blk & 0x6202ull) == 0x6202ull); /* bits of signals 2, 10, 14, 15 */
				workers++;
			}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	CHECK(workers >= 1);
	CHECK_EQ(unimem_queue_destroy(q), 0);
}

int main(void)
{
	pthread_t t[2 * NTHREADS];
	struct unimem_location_info info;
	unimem_event_t *ev;

	ps = (size_t)sysconf(_SC_PAGESIZE);
	CHECK_EQ(unimem_location_get(0, &info), 0);
	node = info.location;
	CHECK_EQ(unimem_queue_create(&shared), 0);

	for (long i = 0; i < NTHREADS; i++) {
		CHECK_EQ(pthread_create(&t[i], NULL, async_worker, (void *)i), 0);
		CHECK_EQ(pthread_create(&t[NTHREADS + i], NULL, batch_worker, NULL), 0);
	}
	for (int i = 0; i < 2 * NTHREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(unimem_queue_sync(shared), 0);

	/* An empty batch completes with 0 pages; in order after earlier work. */
	CHECK_EQ(unimem_prefetch_batch_async(shared, NULL, 0, node, 0, &ev), 0);
	CHECK_EQ(unimem_event_wait(ev), 0);
	unimem_event_release(ev);
	/* Release before completion is fine: the queue holds its own reference. */
	{
		char *mem = mmap(NULL, 256 * ps, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK_EQ(unimem_prefetch_async(shared, mem, 256 * ps, node, 0, &ev), 0);
		unimem_event_release(ev);
		CHECK_EQ(unimem_queue_sync(shared), 0);
		munmap(mem, 256 * ps);
	}
	CHECK_EQ(unimem_queue_destroy(shared), 0);
	worker_blocks_signals();
	return um_test_done("test_queue");
}
