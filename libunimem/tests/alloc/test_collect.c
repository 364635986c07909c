/* SPDX-License-Identifier: MIT */
/*
 * Memory goes back to the OS (issue 13, defect 4). Checked on residency
 * (mincore of the freed ranges; an unmapped page counts as not resident):
 *  - the huge-block cache keeps at most 64 MiB resident: after 4 x 60 MiB
 *    are freed, at most 64 MiB of them are still in memory;
 *  - unimem_collect() gives back the cache and the calling thread's free
 *    pages: afterwards none of the freed memory is resident.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unimem.h"
#include "check.h"

static size_t ps;

/* Resident bytes of [p, p + n). */
static size_t resident(const void *p, size_t n)
{
	uintptr_t s = (uintptr_t)p & ~(ps - 1), e = ((uintptr_t)p + n + ps - 1) & ~(ps - 1);
	size_t count = 0;
	unsigned char vec[256];
	for (uintptr_t a = s; a < e;) {
		size_t pages = (e - a) / ps < 256 ? (e - a) / ps : 256;
		if (mincore((void *)a, pages * ps, vec) == 0) {
			for (size_t i = 0; i < pages; i++)
				count += vec[i] & 1;
		} else { /* unmapped somewhere in the chunk: page by page */
			for (size_t i = 0; i < pages; i++)
				if (mincore((void *)(a + i * ps), ps, vec) == 0)
					count += vec[0] & 1;
		}
		a += pages * ps;
	}
	return count * ps;
}

int main(void)
{
	ps = (size_t)sysconf(_SC_PAGESIZE);
	enum { NBIG = 4 };
	size_t big = (size_t)60 << 20;
	char *b[NBIG];
	for (int i = 0; i < NBIG; i++) {
		b[i] = unimem_malloc(big);
		CHECK(b[i] != NULL, "malloc(60 MiB)");
		memset(b[i], 1, big);
	}
	for (int i = 0; i < NBIG; i++)
		unimem_free(b[i]);
	size_t kept = 0;
	for (int i = 0; i < NBIG; i++)
		kept += resident(b[i], big);
	CHECK(kept <= ((size_t)64 << 20), "the huge cache keeps %zu MiB resident", kept >> 20);

	/* small blocks: 64 MiB of 32 KiB and 100 B blocks */
	enum { NSMALL = 2048, NTINY = 100000 };
	static char *s[NSMALL], *t[NTINY];
	for (int i = 0; i < NSMALL; i++) {
		s[i] = unimem_malloc(32 << 10);
		memset(s[i], 2, 32 << 10);
	}
	for (int i = 0; i < NTINY; i++) {
		t[i] = unimem_malloc(100);
		memset(t[i], 3, 100);
	}
	for (int i = 0; i < NSMALL; i++)
		unimem_free(s[i]);
	for (int i = 0; i < NTINY; i++)
		unimem_free(t[i]);

	size_t released = unimem_collect();
	kept = 0;
	for (int i = 0; i < NBIG; i++)
		kept += resident(b[i], big);
	CHECK(kept == 0, "after unimem_collect, %zu KiB of the freed huge blocks resident",
	      kept >> 10);
	size_t small_kept = 0;
	for (int i = 0; i < NSMALL; i++)
		small_kept += resident(s[i], 32 << 10);
	/* the blocks, not the page headers they share a slice with */
	CHECK(small_kept <= ((size_t)1 << 20), "after unimem_collect, %zu KiB of freed "
	      "32 KiB blocks resident", small_kept >> 10);
	size_t tiny_kept = resident(t[NTINY / 2], 100) + resident(t[NTINY - 1], 100);
	CHECK(tiny_kept == 0, "freed 100 B blocks still resident");
	CHECK(released >= ((size_t)180 << 20), "unimem_collect reports %zu MiB", released >> 20);
	return um_test_result("alloc_collect_test");
}
