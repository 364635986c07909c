/* SPDX-License-Identifier: MIT */
/*
 * Smaller defects of issue 13 (defect 8), each checked on state:
 *  - unimem_malloc_on() with locations that do not exist takes no location
 *    slot: after many of them, real locations still get a heap;
 *  - unimem_ptr_info() answers -ENOENT for a freed small block and for a
 *    slot of a page not carved yet, as documented;
 *  - a huge alignment does not reserve address space in proportion
 *    (posix_memalign(1 << 40) used to map a terabyte);
 *  - unimem_ptr_info() from other threads while the owner creates and
 *    releases pages in the same segment (a data race for TSan before).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "unimem.h"
#include "check.h"

static void bad_locations_take_no_slot(void)
{
	for (unsigned i = 0; i < 100; i++) {
		errno = 0;
		void *p = unimem_malloc_on(64, UNIMEM_LOC_HOST(4000 + i));
		CHECK(p == NULL && errno == ENODEV, "node%u: %p errno %d", 4000 + i, p, errno);
		p = unimem_malloc_on(64, UNIMEM_LOC_DEVICE(100 + i));
		CHECK(p == NULL && errno == ENODEV, "device %u: %p errno %d", 100 + i, p, errno);
	}
	void *a = unimem_malloc_on(64, UNIMEM_LOC_HOST(0));
	void *b = unimem_malloc_on(64, UNIMEM_LOC_SYSTEM);
	CHECK(a != NULL, "node0 after bad locations: %s", unimem_last_error());
	CHECK(b != NULL, "system after bad locations: %s", unimem_last_error());
	unimem_free(a);
	unimem_free(b);
}

static void freed_and_uncarved_slots(void)
{
	struct unimem_ptr_info info;
	char *keep = unimem_malloc(48), *p = unimem_malloc(48);
	CHECK(unimem_ptr_info(p, &info) == 0, "live block");
	unimem_free(p);
	CHECK(unimem_ptr_info(p, &info) == -ENOENT, "freed small block: %d",
	      unimem_ptr_info(p, &info));
	CHECK(unimem_ptr_info(p + 20, &info) == -ENOENT, "inside a freed small block");
	/* blocks are carved 16 KiB at a time: 48 KiB further is not carved yet */
	CHECK(unimem_ptr_info(keep + (48 << 10), &info) == -ENOENT,
	      "slot never carved: %d", unimem_ptr_info(keep + (48 << 10), &info));
	unimem_free(keep);
}

static void huge_alignment(void)
{
	void *p = NULL;
	struct unimem_ptr_info info;
	int rc = unimem_posix_memalign(&p, (size_t)1 << 40, 100);
#ifdef __SANITIZE_THREAD__
	/*
	 * TSan keeps most of the address space for its shadow: whether a free
	 * 1 TiB-aligned spot is left depends on where ASLR put things.
	 */
	if (rc == ENOMEM) {
		printf("  (TSan: no free 1 TiB-aligned address this run)\n");
		goto smaller;
	}
#endif
	CHECK(rc == 0, "posix_memalign(1 TiB): %d", rc);
	if (rc == 0) {
		CHECK(((uintptr_t)p & (((uintptr_t)1 << 40) - 1)) == 0, "aligned: %p", p);
		CHECK(unimem_ptr_info(p, &info) == 0, "ptr_info");
		CHECK(info.region_size < ((size_t)1 << 30),
		      "a 100-byte block holds a %zu-byte region", info.region_size);
		memset(p, 1, 100);
		unimem_free(p);
	}
#ifdef __SANITIZE_THREAD__
smaller:
#endif
	p = unimem_aligned_alloc((size_t)64 << 20, (size_t)3 << 20);
	CHECK(p && ((uintptr_t)p & ((64 << 20) - 1)) == 0, "aligned_alloc(64 MiB)");
	CHECK(unimem_ptr_info(p, &info) == 0 && info.region_size < ((size_t)8 << 20),
	      "3 MiB aligned to 64 MiB holds %zu bytes", info.region_size);
	unimem_free(p);
}

static _Atomic int stop;
static char *_Atomic shared_block;

static void *churn(void *arg)
{
	(void)arg;
	void *v[512];
	while (!atomic_load(&stop)) {
		for (int i = 0; i < 512; i++)
			v[i] = unimem_malloc(16 + (size_t)(i % 64) * 256);
		atomic_store(&shared_block, (char *)v[0]);
		for (int i = 511; i > 0; i--)
			unimem_free(v[i]);
		atomic_store(&shared_block, NULL);
		unimem_free(v[0]);
	}
	return NULL;
}

static void lookups_while_owner_works(void)
{
	pthread_t t;
	struct unimem_ptr_info info;
	pthread_create(&t, NULL, churn, NULL);
	for (int i = 0; i < 20000; i++) {
		char *b = atomic_load(&shared_block);
		if (b == NULL)
			continue;
		/* the segment around a block another thread is churning */
		uintptr_t seg = (uintptr_t)b & ~(((uintptr_t)4 << 20) - 1);
		unimem_ptr_info((char *)seg + ((size_t)(i % 63) + 1) * (64 << 10) + 16, &info);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
}

int main(void)
{
	bad_locations_take_no_slot();
	freed_and_uncarved_slots();
	huge_alignment();
	lookups_while_owner_works();
	return um_test_result("alloc_edges_test");
}
