/* SPDX-License-Identifier: MIT */
/*
 * Bad frees of small blocks never corrupt the heap (issue 13, defect 5):
 * an interior pointer (free(p + 16)) and a double free, by the owner and
 * by another thread, are reported and ignored. Checked on the data: after
 * each bad free, the blocks handed out next overlap no live block and are
 * all distinct.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "unimem.h"
#include "check.h"

#define N 256

static void check_no_overlap(const char *what, char *live, size_t live_size, size_t size)
{
	char *got[N];
	for (int i = 0; i < N; i++) {
		got[i] = unimem_malloc(size);
		CHECK(got[i] != NULL, "%s: malloc", what);
		CHECK(got[i] + size <= live || got[i] >= live + live_size,
		      "%s: new block %p overlaps the live block %p", what, (void *)got[i],
		      (void *)live);
		memset(got[i], 0x5a, size);
	}
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			CHECK(got[i] != got[j], "%s: block %p handed out twice", what,
			      (void *)got[i]);
	for (size_t k = 0; k < live_size; k++)
		if (live[k] != 0x11) {
			CHECK(0, "%s: live block overwritten at +%zu", what, k);
			break;
		}
	for (int i = 0; i < N; i++)
		unimem_free(got[i]);
}

static void interior(size_t size, size_t off)
{
	char *p = unimem_malloc(size);
	memset(p, 0x11, size);
	unimem_free(p + off);
	check_no_overlap("interior free", p, size, size);
	unimem_free(p);
}

static void owner_double(size_t size)
{
	char *keep = unimem_malloc(size); /* keeps the page in use */
	char *p = unimem_malloc(size);
	unimem_free(p);
	unimem_free(p);
	char *a = unimem_malloc(size), *b = unimem_malloc(size);
	CHECK(a != b, "double free (size %zu): %p handed out twice", size, (void *)a);
	unimem_free(a);
	unimem_free(b);
	unimem_free(keep);
}

static void *remote_free_twice(void *arg)
{
	unimem_free(arg);
	unimem_free(arg);
	return NULL;
}

static void remote_double(size_t size)
{
	char *keep = unimem_malloc(size);
	char *p = unimem_malloc(size);
	pthread_t t;
	pthread_create(&t, NULL, remote_free_twice, p);
	pthread_join(t, NULL);
	char *got[N];
	for (int i = 0; i < N; i++) {
		got[i] = unimem_malloc(size);
		for (int j = 0; j < i; j++)
			CHECK(got[i] != got[j], "remote double free (size %zu): %p twice", size,
			      (void *)got[i]);
	}
	for (int i = 0; i < N; i++)
		unimem_free(got[i]);
	unimem_free(keep);
}

int main(void)
{
	interior(64, 16);
	interior(48, 32);
	interior(1024, 256);
	interior(4096, 2048);
	interior(100000, 65536);
	owner_double(32);
	owner_double(112);
	owner_double(5000);
	remote_double(64);
	remote_double(640);
	remote_double(16384);  /* run blocks: the second push would make a cycle */
	remote_double(200000);
	return um_test_result("alloc_bad_free_test");
}
