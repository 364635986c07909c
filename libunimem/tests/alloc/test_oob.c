/* SPDX-License-Identifier: MIT */
/*
 * White-box (links the library's objects): a device-located heap keeps its
 * metadata in host memory (issue 13, defect 6). The allocator must never
 * write (or read) the blocks of such a heap: a CPU access to a device page
 * faults its window back to host memory. Device heaps need the module, so
 * here the same mode is switched on for a heap on node0 (placed memory is
 * not populated until touched), and residency proves that the allocator
 * did not touch a single data page: blocks allocated, freed (by the owner
 * and by another thread), double freed and allocated again stay
 * non-resident. The blocks are still distinct, described by
 * unimem_ptr_info, and usable once the application touches them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unimem.h"
#include "alloc/alloc.h"
#include "check.h"

#define N 3000
static size_t ps;

static size_t resident_pages(void *const *v, int n)
{
	size_t count = 0;
	unsigned char vec;
	for (int i = 0; i < n; i++)
		if (v[i] && mincore((void *)((uintptr_t)v[i] & ~(ps - 1)), ps, &vec) == 0)
			count += vec & 1;
	return count;
}

static void *free_all(void *arg)
{
	void **v = arg;
	for (int i = 0; i < N; i += 2)
		unimem_free(v[i]);
	return NULL;
}

int main(void)
{
	ps = (size_t)sysconf(_SC_PAGESIZE);
	unimem_location_t node0 = UNIMEM_LOC_HOST(0);
	struct um_heap *h = um_heap_for_location(node0);
	CHECK(h != NULL, "heap for node0");
	if (!h)
		return um_test_result("alloc_oob_test");
	h->oob = true; /* what a device location gets */

	static void *v[N];
	size_t sizes[] = { 16, 64, 1000, 4096, 40000 };
	for (int k = 0; k < 5; k++) {
		size_t size = sizes[k];
		for (int i = 0; i < N; i++) {
			v[i] = unimem_malloc_on(size, node0);
			CHECK(v[i] != NULL, "malloc_on %zu", size);
		}
		CHECK(resident_pages(v, N) == 0, "size %zu: the allocator touched %zu data pages",
		      size, resident_pages(v, N));
		for (int i = 0; i < N; i++)
			for (int j = i + 1; j < i + 4 && j < N; j++)
				CHECK(v[i] != v[j], "block %p handed out twice", v[i]);
		struct unimem_ptr_info info;
		CHECK(unimem_ptr_info((char *)v[1] + 3, &info) == 0 && info.base == v[1] &&
			      info.size >= size && info.requested == node0,
		      "ptr_info of a block");
		CHECK(unimem_malloc_usable_size(v[1]) >= size, "usable size");
		/* half freed by the owner, half by another thread */
		for (int i = 1; i < N; i += 2)
			unimem_free(v[i]);
		pthread_t t;
		pthread_create(&t, NULL, free_all, v);
		pthread_join(t, NULL);
		CHECK(unimem_ptr_info(v[1], &info) == -ENOENT, "ptr_info of a freed block");
		unimem_free(v[1]); /* double free: caught without touching the block */
		CHECK(resident_pages(v, N) == 0, "size %zu: freeing touched %zu data pages", size,
		      resident_pages(v, N));
		for (int i = 0; i < N; i++)
			v[i] = unimem_malloc_on(size, node0);
		CHECK(resident_pages(v, N) == 0, "size %zu: reuse touched %zu data pages", size,
		      resident_pages(v, N));
		for (int i = 0; i < N; i++)
			for (int j = i + 1; j < i + 4 && j < N; j++)
				CHECK(v[i] != v[j], "block %p handed out twice after reuse", v[i]);
		/* the application's own writes land, and do not collide */
		for (int i = 0; i < N; i++)
			memset(v[i], i & 0xff, size);
		for (int i = 0; i < N; i++)
			CHECK(((unsigned char *)v[i])[size - 1] == (i & 0xff), "block %d overwritten", i);
		for (int i = 0; i < N; i++)
			unimem_free(v[i]);
		unimem_collect(); /* the pages we touched go: the next round starts clean */
	}
	return um_test_result("alloc_oob_test");
}
