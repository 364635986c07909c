/* SPDX-License-Identifier: MIT */
/*
 * unimem_ptr_info and unimem_malloc_on: any pointer inside an allocation
 * (first byte, middle, last byte) maps to that allocation's base, size and
 * region; foreign and freed-huge pointers give -ENOENT; located heaps
 * record the requested location and reject locations that do not exist.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "unimem.h"
#include "check.h"

static void check_info(void *p, size_t size, unimem_location_t requested)
{
	struct unimem_ptr_info info;
	size_t offs[] = { 0, size / 2, size - 1 };
	memset(p, 1, size); /* populate, so the location is known */
	for (int k = 0; k < 3; k++) {
		int r = unimem_ptr_info((char *)p + offs[k], &info);
		CHECK(r == 0, "ptr_info(%p + %zu) = %d", p, offs[k], r);
		if (r)
			continue;
		CHECK(info.base == p, "size %zu off %zu: base %p want %p", size, offs[k],
		      info.base, p);
		CHECK(info.size == unimem_malloc_usable_size(p) && info.size >= size,
		      "size %zu: info.size %zu", size, info.size);
		CHECK(info.requested == requested, "requested 0x%x want 0x%x",
		      info.requested, requested);
		CHECK((char *)info.region <= (char *)p &&
			      (char *)p + size <= (char *)info.region + info.region_size,
		      "region [%p +%zu) does not hold [%p +%zu)", info.region,
		      info.region_size, p, size);
		enum unimem_location_kind kind = UNIMEM_LOC_KIND(info.location);
		CHECK(kind == UNIMEM_LOC_KIND_HOST || kind == UNIMEM_LOC_KIND_SYSTEM,
		      "touched memory has location 0x%x", info.location);
	}
}

static void test_plain(void)
{
	size_t sizes[] = { 1, 16, 100, 1024, 5000, 65536, 300000, 524288,
			   600000, (size_t)5 << 20 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = unimem_malloc(sizes[i]);
		check_info(p, sizes[i], UNIMEM_LOC_NONE);
		unimem_free(p);
	}
	void *a = unimem_aligned_alloc(4096, 10000);
	check_info(a, 10000, UNIMEM_LOC_NONE);
	unimem_free(a);
}

static void test_foreign(void)
{
	struct unimem_ptr_info info;
	int x;
	CHECK(unimem_ptr_info(&x, &info) == -ENOENT, "stack pointer");
	CHECK(unimem_ptr_info(NULL, &info) == -ENOENT, "NULL pointer");
	CHECK(unimem_ptr_info((void *)0xffff800000000000ull, &info) == -ENOENT,
	      "kernel-half pointer");
	void *p = unimem_malloc(64);
	CHECK(unimem_ptr_info(p, NULL) == -EINVAL, "NULL info");
	unimem_free(p);
	void *h = unimem_malloc((size_t)3 << 20);
	unimem_free(h);
	CHECK(unimem_ptr_info(h, &info) == -ENOENT, "freed huge block");
}

static void test_located(void)
{
	unimem_location_t node0 = UNIMEM_LOC_HOST(0);
	size_t sizes[] = { 8, 200, 4096, 100000, (size_t)2 << 20 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = unimem_malloc_on(sizes[i], node0);
		CHECK(p != NULL, "malloc_on(%zu, node0): errno %d (%s)", sizes[i], errno,
		      unimem_last_error());
		if (!p)
			continue;
		check_info(p, sizes[i], node0);
		struct unimem_ptr_info info;
		if (unimem_ptr_info(p, &info) == 0)
			CHECK(info.location == node0 ||
				      info.location == UNIMEM_LOC_SYSTEM,
			      "bound to node0, found at 0x%x", info.location);
		/* realloc keeps the location */
		void *q = unimem_realloc(p, sizes[i] * 3 + 1000);
		CHECK(q && unimem_ptr_info(q, &info) == 0 && info.requested == node0,
		      "realloc of a node0 block left node0");
		unimem_free(q);
	}
	void *s = unimem_malloc_on(100, UNIMEM_LOC_SYSTEM);
	CHECK(s != NULL, "malloc_on(SYSTEM): errno %d", errno);
	unimem_free(s);
	void *n = unimem_malloc_on(100, UNIMEM_LOC_NONE);
	CHECK(n != NULL, "malloc_on(NONE)");
	unimem_free(n);

	errno = 0;
	void *bad = unimem_malloc_on(100, UNIMEM_LOC_HOST(4000));
	CHECK(bad == NULL && errno == ENODEV, "malloc_on(node4000): %p errno %d", bad,
	      errno);
	errno = 0;
	bad = unimem_malloc_on(100, UNIMEM_LOC_MIXED);
	CHECK(bad == NULL && errno == EINVAL, "malloc_on(MIXED): %p errno %d", bad, errno);
	errno = 0;
	bad = unimem_malloc_on((size_t)8 << 20, UNIMEM_LOC_HOST(4000));
	CHECK(bad == NULL && errno == ENODEV, "huge malloc_on(node4000): errno %d", errno);
}

static void *thread_lookup(void *arg)
{
	/* lookups from another thread see the same answer */
	struct unimem_ptr_info info;
	void **ptrs = arg;
	for (int i = 0; i < 64; i++)
		if (unimem_ptr_info((char *)ptrs[i] + 3, &info) != 0 || info.base != ptrs[i])
			return (void *)1;
	return NULL;
}

static void test_cross_thread(void)
{
	void *ptrs[64];
	for (int i = 0; i < 64; i++)
		ptrs[i] = unimem_malloc(16 + (size_t)i * 97);
	pthread_t t;
	void *ret = (void *)1;
	pthread_create(&t, NULL, thread_lookup, ptrs);
	pthread_join(t, &ret);
	CHECK(ret == NULL, "lookup from another thread failed");
	for (int i = 0; i < 64; i++)
		unimem_free(ptrs[i]);
}

int main(void)
{
	test_plain();
	test_foreign();
	test_located();
	test_cross_thread();
	return um_test_result("alloc_ptr_info_test");
}
