/* SPDX-License-Identifier: MIT */
/*
 * test_fork.c - fork() while other threads are inside the library (issue
 * 13, defect 1): a child must never hang on a lock some parent thread held
 * at fork time, and an asynchronous prefetch pending at fork fails in the
 * child with -ECANCELED (its worker thread exists only in the parent).
 *
 * Each child arms alarm() as a hang detector: a hung child dies of SIGALRM
 * and the parent's check on its exit status fails. Nothing is timed.
 * Also: a fork while another thread loads the host topology for the first
 * time (a provider's probe under way finishes before the fork).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "um_test.h"

/*
 * ASan's allocator takes none of its locks around fork() (GCC 12's libasan):
 * a child hangs in malloc() - in pthread_create(), say - on a lock another
 * parent thread held in ASan at the fork, whatever this library does. The
 * locks-at-fork test needs threads allocating at every fork, and so does the
 * work-pending test (the queue's worker), so ASan builds skip both; plain
 * builds run them.
 */
#if defined(__SANITIZE_ADDRESS__)
#define FORK_UNSAFE_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FORK_UNSAFE_MALLOC 1
#endif
#endif

static size_t ps;

static int wait_child(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "child %d killed by signal %d%s\n", (int)pid, WTERMSIG(st),
			WTERMSIG(st) == SIGALRM ? " (hung)" : "");
		return -1;
	}
	return WEXITSTATUS(st);
}

#ifndef FORK_UNSAFE_MALLOC
#define TABLE_PAGES 4096 /* every other page advised: a big range table */
#define FORKS 60

static char *table_mem;
static _Atomic int stop;

/* Keeps the range-table lock busy: each update rebuilds a 2048-entry table. */
static void *advisor(void *arg)
{
	(void)arg;
	size_t i = 1;
	while (!atomic_load(&stop)) {
		unimem_advise(table_mem + (i % TABLE_PAGES) * ps, ps,
			      UNIMEM_ADVISE_SET_READ_MOSTLY, UNIMEM_LOC_NONE);
		unimem_advise(table_mem + (i % TABLE_PAGES) * ps, ps,
			      UNIMEM_ADVISE_UNSET_READ_MOSTLY, UNIMEM_LOC_NONE);
		i += 2;
	}
	return NULL;
}

/* Also keeps the allocator's slow paths and the queues busy. */
static void *prefetcher(void *arg)
{
	unimem_queue_t *q = arg;
	char *mem = mmap(NULL, 64 * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	while (!atomic_load(&stop)) {
		unimem_event_t *ev;
		if (unimem_prefetch_async(q, mem, 64 * ps, UNIMEM_LOC_SYSTEM, 0, &ev) == 0) {
			unimem_event_wait(ev);
			unimem_event_release(ev);
		}
		void *p = unimem_malloc(600 << 10); /* huge: the huge cache lock */
		unimem_free(p);
	}
	munmap(mem, 64 * ps);
	return NULL;
}

static void test_locks_held_at_fork(void)
{
	pthread_t a, b;
	unimem_queue_t *q;

	table_mem = mmap(NULL, TABLE_PAGES * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(table_mem != MAP_FAILED);
	for (size_t i = 0; i < TABLE_PAGES; i += 2)
		CHECK_EQ(unimem_advise(table_mem + i * ps, ps, UNIMEM_ADVISE_SET_READ_MOSTLY,
				       UNIMEM_LOC_NONE), 0);
	CHECK_EQ(unimem_queue_create(&q), 0);
	atomic_store(&stop, 0);
	pthread_create(&a, NULL, advisor, NULL);
	pthread_create(&b, NULL, prefetcher, q);

	for (int i = 0; i < FORKS; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(20); /* generous: sanitizer builds on a loaded machine */
			int rm = 0;
			/* the range table, the queues, the allocator */
			if (unimem_advise(table_mem, ps, UNIMEM_ADVISE_SET_READ_MOSTLY,
					  UNIMEM_LOC_NONE) != 0 ||
			    unimem_range_get_attr(table_mem, ps, UNIMEM_ATTR_READ_MOSTLY, &rm,
						  sizeof(rm)) != 0 || rm != 1)
				_exit(2);
			if (unimem_prefetch(table_mem, ps, UNIMEM_LOC_SYSTEM, 0) != 1)
				_exit(3);
			unimem_queue_t *cq;
			if (unimem_queue_create(&cq) != 0)
				_exit(3);
			unimem_queue_destroy(cq);
			void *p = unimem_malloc(700 << 10), *s = unimem_malloc(32);
			if (!p || !s)
				_exit(4);
			unimem_free(p);
			unimem_free(s);
			_exit(0);
		}
		CHECK(pid > 0);
		CHECK_EQ(wait_child(pid), 0);
	}
	atomic_store(&stop, 1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	CHECK_EQ(unimem_queue_destroy(q), 0);
	munmap(table_mem, TABLE_PAGES * ps);
}

/*
 * Work queued at fork: in the child, a wait on an event that was pending
 * fails at once with -ECANCELED and a message; one that had completed
 * keeps its result; the queue can be used (and destroyed) in the child.
 */
static void test_queue_pending_at_fork(void)
{
	enum { N = 8, PAGES = 4096 }; /* 16 MiB a prefetch: the worker is busy */
	unimem_queue_t *q;
	unimem_event_t *ev[N];
	int canceled = 0;
	char *mem = mmap(NULL, PAGES * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(mem != MAP_FAILED);
	for (int round = 0; round < 4; round++) {
		CHECK_EQ(unimem_queue_create(&q), 0);
		for (int i = 0; i < N; i++)
			CHECK_EQ(unimem_prefetch_async(q, mem, PAGES * ps,
						       i % 2 ? UNIMEM_LOC_SYSTEM
							     : UNIMEM_LOC_HOST(0),
						       UNIMEM_PREFETCH_CONTENT_UNDEFINED, &ev[i]),
				 0);
		pid_t pid = fork();
		if (pid == 0) {
			alarm(20); /* generous: sanitizer builds on a loaded machine */
			int ncanceled = 0;
			for (int i = 0; i < N; i++) {
				long r = unimem_event_wait(ev[i]);
				if (r == -ECANCELED) {
					if (!strstr(unimem_last_error(), "fork"))
						_exit(5);
					ncanceled++;
				} else if (r != PAGES) {
					_exit(6);
				}
				unimem_event_release(ev[i]);
			}
			/* the queue still works in the child: a new worker */
			unimem_event_t *e;
			if (unimem_prefetch_async(q, mem, ps, UNIMEM_LOC_SYSTEM, 0, &e) != 0 ||
			    unimem_event_wait(e) != 1)
				_exit(7);
			unimem_event_release(e);
			unimem_queue_destroy(q);
			_exit(ncanceled ? 10 : 0);
		}
		int r = wait_child(pid);
		CHECK(r == 0 || r == 10);
		canceled += r == 10;
		for (int i = 0; i < N; i++) {
			CHECK_EQ(unimem_event_wait(ev[i]), PAGES);
			unimem_event_release(ev[i]);
		}
		CHECK_EQ(unimem_queue_destroy(q), 0);
	}
	printf("fork: %d of 4 children saw work pending at fork\n", canceled);
	munmap(mem, PAGES * ps);
}
#endif /* FORK_UNSAFE_MALLOC */

/*
 * A fork while another thread loads the host topology for the first time
 * (hwloc's own locks held): run in a fresh process (exec of this program),
 * so the first use really is the first.
 */
static void *first_use(void *arg)
{
	(void)arg;
	unimem_location_count();
	return NULL;
}

static int first_use_child(void)
{
	pthread_t t;
	pthread_create(&t, NULL, first_use, NULL);
	for (int k = 0; k < 3; k++) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(20); /* generous: sanitizer builds on a loaded machine */
			_exit(unimem_location_count() >= 1 &&
				      unimem_prefetch(&t, 1, UNIMEM_LOC_HOST(0), 0) == 1
			      ? 0 : 8);
		}
		if (wait_child(pid) != 0) {
			pthread_join(t, NULL);
			return 1;
		}
	}
	pthread_join(t, NULL);
	return 0;
}

static void test_first_use_at_fork(void)
{
	for (int i = 0; i < 5; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execl("/proc/self/exe", "api_fork_test", "--first-use", (char *)NULL);
			_exit(9);
		}
		CHECK_EQ(wait_child(pid), 0);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--first-use") == 0)
		return first_use_child();
	ps = (size_t)sysconf(_SC_PAGESIZE);
	test_first_use_at_fork();
#ifdef FORK_UNSAFE_MALLOC
	/* Both fork while a thread of the process allocates: the queue's
	 * worker is busy at the fork in the second, and the child's new
	 * worker then hung in ASan's allocator (pthread_getattr_np's free)
	 * in 1 run of 8 on a loaded machine. */
	printf("fork: locks held at fork, work pending at fork: skipped (ASan's "
	       "allocator is not fork-safe)\n");
#else
	test_locks_held_at_fork();
	test_queue_pending_at_fork();
#endif
	return um_test_done("api_fork_test");
}
