/* SPDX-License-Identifier: MIT */
/*
 * A threaded program that knows nothing of unimem (not linked with it),
 * run with LD_PRELOAD=libunimem-preload.so: every malloc-family function,
 * cross-thread frees, fork from a threaded process. It proves the preload
 * is in use by finding unimem_ptr_info with dlsym and asking it about its
 * own malloc'd pointers; with UNIMEM_LOCATION set, that they were placed
 * there.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../include/unimem.h"

static int failures;
#define EXPECT(c, ...)                                                       \
	do {                                                                 \
		if (!(c)) {                                                  \
			failures++;                                          \
			fprintf(stderr, "preload_threads:%d: %s: ", __LINE__, #c); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
		}                                                            \
	} while (0)

typedef int (*ptr_info_fn)(const void *, struct unimem_ptr_info *);
static ptr_info_fn ptr_info;
static unimem_location_t expect_loc = UNIMEM_LOC_NONE;

static void expect_ours(const void *p, const char *what)
{
	struct unimem_ptr_info info;
	int r = ptr_info(p, &info);
	EXPECT(r == 0, "%s: %p is not a unimem allocation (%d)", what, p, r);
	if (r == 0)
		EXPECT(info.requested == expect_loc, "%s: requested 0x%x, want 0x%x", what,
		       info.requested, expect_loc);
}

#define RING 512
#define PER 100000
static _Atomic(uintptr_t) ring[RING];

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER; i++) {
		size_t n = 8 + (size_t)(i * 37) % 3000;
		char *p = malloc(n);
		memset(p, (char)i, n);
		p[0] = (char)(n & 0x7f);
		while (atomic_load(&ring[i % RING]) != 0)
			sched_yield();
		atomic_store(&ring[i % RING], (uintptr_t)p);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long *bad = arg;
	for (int i = 0; i < PER; i++) {
		uintptr_t p;
		while ((p = atomic_load(&ring[i % RING])) == 0)
			sched_yield();
		atomic_store(&ring[i % RING], 0);
		size_t n = 8 + (size_t)(i * 37) % 3000;
		if (((char *)p)[0] != (char)(n & 0x7f) || ((char *)p)[n - 1] != (char)i)
			(*bad)++;
		free((void *)p); /* allocated by the producer thread */
	}
	return NULL;
}

static void *worker(void *arg)
{
	(void)arg;
	void *keep[256] = { 0 };
	for (int i = 0; i < 50000; i++) {
		int k = i % 256;
		free(keep[k]);
		keep[k] = (i & 1) ? calloc(1, (size_t)(i % 700) + 1) : malloc((size_t)(i % 5000));
		if (i % 1000 == 0)
			keep[k] = realloc(keep[k], 100000 + (size_t)i);
	}
	for (int k = 0; k < 256; k++)
		free(keep[k]);
	return NULL;
}

int main(void)
{
	ptr_info = (ptr_info_fn)dlsym(RTLD_DEFAULT, "unimem_ptr_info");
	if (!ptr_info) {
		fprintf(stderr, "preload_threads: unimem_ptr_info not found: run me with "
				"LD_PRELOAD=libunimem-preload.so\n");
		return 1;
	}
	const char *want = getenv("UNIMEM_LOCATION");
	if (want) {
		int (*parse)(const char *, unimem_location_t *) =
			(int (*)(const char *, unimem_location_t *))dlsym(
				RTLD_DEFAULT, "unimem_location_parse");
		EXPECT(parse && parse(want, &expect_loc) == 0, "cannot parse %s", want);
	}

	/* every entry point of the family */
	void *m = malloc(100);
	expect_ours(m, "malloc");
	EXPECT(malloc_usable_size(m) >= 100, "malloc_usable_size");
	void *c = calloc(10, 10);
	expect_ours(c, "calloc");
	m = realloc(m, 5000);
	expect_ours(m, "realloc");
	void *pm = NULL;
	EXPECT(posix_memalign(&pm, 256, 1000) == 0 && ((uintptr_t)pm & 255) == 0,
	       "posix_memalign");
	expect_ours(pm, "posix_memalign");
	/* glibc 2.36 accepts any alignment here (memalign's rounding) */
	void *odd = aligned_alloc(24, 100), *zero = aligned_alloc(0, 10);
	EXPECT(odd && ((uintptr_t)odd & 31) == 0, "aligned_alloc(24, 100)");
	EXPECT(zero != NULL, "aligned_alloc(0, 10)");
	free(odd);
	free(zero);
	void *aa = aligned_alloc(4096, 8192);
	EXPECT(aa && ((uintptr_t)aa & 4095) == 0, "aligned_alloc");
	expect_ours(aa, "aligned_alloc");
	void *ma = memalign(64, 300);
	EXPECT(ma && ((uintptr_t)ma & 63) == 0, "memalign");
	expect_ours(ma, "memalign");
	void *va = valloc(10);
	EXPECT(va && ((uintptr_t)va & 4095) == 0, "valloc");
	expect_ours(va, "valloc");
	void *pv = pvalloc(10);
	EXPECT(pv && ((uintptr_t)pv & 4095) == 0 && malloc_usable_size(pv) >= 4096, "pvalloc");
	expect_ours(pv, "pvalloc");
	char *s = strdup("libc's own malloc calls land here too");
	expect_ours(s, "strdup");
	void *big = malloc((size_t)16 << 20);
	expect_ours(big, "malloc 16 MiB");
	errno = 0;
	volatile size_t many = SIZE_MAX / 4; /* volatile: no compile-time warning */
	EXPECT(calloc(many, 8) == NULL && errno == ENOMEM, "calloc overflow");
	free(m);
	free(c);
	free(pm);
	free(aa);
	free(ma);
	free(va);
	free(pv);
	free(s);
	free(big);

	/* statistics and trimming (glibc's names) */
	{
		char *b4[4];
		size_t n = (size_t)60 << 20;
		for (int i = 0; i < 4; i++) {
			b4[i] = malloc(n);
			memset(b4[i], 1, n);
		}
		struct mallinfo2 mi = mallinfo2();
		EXPECT(mi.hblks >= 4 && mi.hblkhd >= 4 * n, "mallinfo2 with 240 MiB live: "
		       "hblks %zu hblkhd %zu", mi.hblks, mi.hblkhd);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		EXPECT(mallinfo().hblks >= 4, "mallinfo");
#pragma GCC diagnostic pop
		for (int i = 0; i < 4; i++)
			free(b4[i]);
		mi = mallinfo2();
		EXPECT(mi.hblkhd < n, "mallinfo2 after the frees: hblkhd %zu", mi.hblkhd);
		EXPECT(malloc_trim(0) == 1, "malloc_trim gave nothing back");
		unsigned char vec[1];
		size_t still = 0;
		for (int i = 0; i < 4; i++)
			for (size_t off = 0; off < n; off += (size_t)1 << 20)
				if (mincore(b4[i] + off - ((uintptr_t)(b4[i] + off) & 4095), 4096,
					    vec) == 0)
					still += vec[0] & 1;
		EXPECT(still == 0, "%zu MiB of the freed blocks resident after malloc_trim", still);
		EXPECT(mallopt(M_TRIM_THRESHOLD, 1 << 20) == 1, "mallopt");
		EXPECT(mallopt(M_ARENA_MAX, 2) == 1, "mallopt(M_ARENA_MAX)");
		int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		malloc_stats();
		dup2(saved, 2);
		close(saved);
		close(devnull);
	}

	/* cross-thread frees, and threads that come and go */
	long bad = 0;
	pthread_t p, q, w[4];
	pthread_create(&p, NULL, producer, NULL);
	pthread_create(&q, NULL, consumer, &bad);
	for (int i = 0; i < 4; i++)
		pthread_create(&w[i], NULL, worker, NULL);

	/* fork while the other threads allocate: the child must not hang */
	for (int k = 0; k < 10; k++) {
		pid_t pid = fork();
		if (pid == 0) {
			for (int i = 0; i < 10000; i++)
				free(malloc((size_t)i % 4000 + 1));
			char *x = malloc(100);
			_exit(x && ptr_info(x, &(struct unimem_ptr_info){ 0 }) == 0 ? 0 : 3);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork child status %d", st);
	}
	pthread_join(p, NULL);
	pthread_join(q, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(w[i], NULL);
	EXPECT(bad == 0, "%ld blocks corrupted in the producer/consumer run", bad);

	if (failures) {
		fprintf(stderr, "preload_threads: %d failure(s)\n", failures);
		return 1;
	}
	printf("preload_threads: all checks passed\n");
	return 0;
}
