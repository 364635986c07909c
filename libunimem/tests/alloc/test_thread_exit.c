/* SPDX-License-Identifier: MIT */
/*
 * White-box (links the library's objects): thread exit hands pages back.
 * Short-lived threads allocate, free some blocks themselves and leave the
 * rest to be freed by main after they exited; once everything is freed and
 * the heaps have been adopted again, no more segments are mapped than
 * before, and the registry knows nothing of them. Also: fork from a
 * threaded process, the child allocates and frees.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unimem.h"
#include "alloc/alloc.h"
#include "check.h"

#define ROUNDS 40
#define PER_THREAD 3000

static void *leftovers[ROUNDS][PER_THREAD];

static void *short_lived(void *arg)
{
	void **out = arg;
	void *mine[PER_THREAD];
	for (int i = 0; i < PER_THREAD; i++) {
		size_t size = 16 + (size_t)(i % 50) * 40;
		/* every 10th on node0: located heaps are abandoned too */
		mine[i] = i % 10 ? unimem_malloc(size)
				 : unimem_malloc_on(size, UNIMEM_LOC_HOST(0));
		memset(mine[i], i, 16);
	}
	for (int i = 0; i < PER_THREAD; i++) {
		if (i % 3 == 0)
			unimem_free(mine[i]); /* own frees */
		else
			out[i] = mine[i]; /* freed by main after we exit */
	}
	return NULL;
}

static void free_one(void *p) { unimem_free(p); }

static void *adopt_and_exit(void *arg)
{
	free_one(unimem_malloc(32));
	free_one(unimem_malloc_on(32, UNIMEM_LOC_HOST(0)));
	return arg;
}

static void *spinner(void *arg)
{
	_Atomic int *stop = arg;
	while (!atomic_load(stop)) {
		void *p = unimem_malloc(100);
		unimem_free(p);
	}
	return NULL;
}

int main(void)
{
	struct um_alloc_stats before, after;
	void *warm = unimem_malloc(10); /* main's own heap exists */
	um_alloc_get_stats(&before);

	for (int r = 0; r < ROUNDS; r++) {
		pthread_t t;
		pthread_create(&t, NULL, short_lived, leftovers[r]);
		pthread_join(t, NULL);
	}
	struct um_alloc_stats mid;
	um_alloc_get_stats(&mid);
	CHECK(mid.heaps_abandoned <= 2, /* one plain, one node0 */
	      "exited threads' heaps should be adopted by the next thread: %llu parked",
	      (unsigned long long)mid.heaps_abandoned);
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < PER_THREAD; i++)
			if (leftovers[r][i]) {
				unsigned char *p = leftovers[r][i];
				CHECK(p[0] == (unsigned char)i, "block of an exited thread changed");
				unimem_free(p);
			}
	/* one more thread adopts the parked heap, collects, exits: releases */
	pthread_t t;
	static void *last[PER_THREAD];
	pthread_create(&t, NULL, short_lived, last);
	pthread_join(t, NULL);
	for (int i = 0; i < PER_THREAD; i++)
		unimem_free(last[i]);
	pthread_create(&t, NULL, short_lived, leftovers[0]);
	pthread_join(t, NULL);
	for (int i = 0; i < PER_THREAD; i++)
		if (i % 3)
			unimem_free(leftovers[0][i]);
	/* and one that only adopts and exits */
	pthread_create(&t, NULL, short_lived, last);
	pthread_join(t, NULL);
	for (int i = 0; i < PER_THREAD; i++)
		if (i % 3)
			unimem_free(last[i]);
	/* the last heaps (plain and node0) are parked with everything freed
	 * remotely: a thread that adopts them collects those frees and unmaps
	 * on exit */
	pthread_create(&t, NULL, adopt_and_exit, NULL);
	pthread_join(t, NULL);
	/* main's remote frees took the exited threads' heaps over: main keeps
	 * up to 16 empty segments for reuse, which unimem_collect returns */
	unimem_collect();

	um_alloc_get_stats(&after);
	CHECK(after.segments_mapped <= before.segments_mapped + 1,
	      "segments before %llu after %llu: exited threads leaked pages",
	      (unsigned long long)before.segments_mapped,
	      (unsigned long long)after.segments_mapped);
	printf("segments: before %llu, after %llu, ever %llu\n",
	       (unsigned long long)before.segments_mapped,
	       (unsigned long long)after.segments_mapped,
	       (unsigned long long)after.segments_total);

	/* fork while another thread allocates */
	_Atomic int stop = 0;
	pthread_create(&t, NULL, spinner, &stop);
	for (int k = 0; k < 20; k++) {
		pid_t pid = fork();
		if (pid == 0) {
			void *ps[1000];
			for (int i = 0; i < 1000; i++)
				ps[i] = unimem_malloc((size_t)i * 13 + 1);
			for (int i = 0; i < 1000; i++)
				unimem_free(ps[i]);
			void *h = unimem_malloc((size_t)2 << 20);
			unimem_free(h);
			_exit(0);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "forked child failed: %d", st);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	unimem_free(warm);
	return um_test_result("alloc_thread_exit_test");
}
