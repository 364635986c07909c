/* SPDX-License-Identifier: MIT */
/*
 * Malloc conformance of the unimem_* family: alignment at every size,
 * zero sizes, calloc overflow and zeroing, realloc keeps contents when it
 * grows and shrinks (small <-> huge too), usable size, aligned allocation
 * and its error cases, foreign pointers rejected without crashing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unimem.h"
#include "check.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 31);
}

static size_t first_bad(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 31))
			return i;
	return SIZE_MAX;
}

static void test_every_size(void)
{
	/* every size to 4 KiB, then around each power of two to 8 MiB */
	size_t sizes[8192];
	size_t n = 0;
	for (size_t s = 0; s <= 4096; s++)
		sizes[n++] = s;
	for (size_t p = 8192; p <= ((size_t)8 << 20); p <<= 1) {
		sizes[n++] = p - 1;
		sizes[n++] = p;
		sizes[n++] = p + 1;
		sizes[n++] = p + p / 2;
	}
	void *ptrs[8192];
	for (size_t i = 0; i < n; i++) {
		size_t s = sizes[i];
		unsigned char *p = unimem_malloc(s);
		ptrs[i] = p;
		CHECK(p != NULL, "malloc(%zu) returned NULL", s);
		if (!p)
			continue;
		CHECK(((uintptr_t)p & 15) == 0, "malloc(%zu) = %p not 16-aligned", s, p);
		size_t us = unimem_malloc_usable_size(p);
		CHECK(us >= s, "usable_size(malloc(%zu)) = %zu", s, us);
		fill(p, us, (unsigned)s);
	}
	/* all live at once: no overlap, contents intact */
	for (size_t i = 0; i < n; i++) {
		if (!ptrs[i])
			continue;
		size_t us = unimem_malloc_usable_size(ptrs[i]);
		size_t bad = first_bad(ptrs[i], us, (unsigned)sizes[i]);
		CHECK(bad == SIZE_MAX, "malloc(%zu): byte %zu overwritten", sizes[i], bad);
	}
	for (size_t i = 0; i < n; i++)
		unimem_free(ptrs[i]);
}

static void test_zero_sizes(void)
{
	void *a = unimem_malloc(0), *b = unimem_malloc(0);
	CHECK(a && b && a != b, "malloc(0) must give distinct pointers: %p %p", a, b);
	unimem_free(a);
	unimem_free(b);
	void *c = unimem_calloc(0, 8), *d = unimem_calloc(8, 0);
	CHECK(c && d, "calloc with a zero count or size: %p %p", c, d);
	unimem_free(c);
	unimem_free(d);
	void *e = unimem_realloc(NULL, 0);
	CHECK(e != NULL, "realloc(NULL, 0) behaves as malloc(0)");
	errno = 0;
	void *f = unimem_realloc(e, 0);
	CHECK(f == NULL, "realloc(p, 0) frees p and returns NULL, got %p", f);
	void *g = unimem_aligned_alloc(64, 0);
	CHECK(g && ((uintptr_t)g & 63) == 0, "aligned_alloc(64, 0) = %p", g);
	unimem_free(g);
	unimem_free(NULL); /* no-op */
}

static void test_calloc(void)
{
	errno = 0;
	void *p = unimem_calloc(SIZE_MAX / 2, 3);
	CHECK(p == NULL && errno == ENOMEM, "calloc overflow: %p errno %d", p, errno);
	errno = 0;
	p = unimem_calloc((size_t)1 << 33, (size_t)1 << 33);
	CHECK(p == NULL && errno == ENOMEM, "calloc 2^33*2^33: %p errno %d", p, errno);

	/* memory handed back dirty must come back zeroed */
	size_t sizes[] = { 8, 100, 1000, 5000, 70000, 400000, 600000, (size_t)3 << 20 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t s = sizes[k];
		for (int round = 0; round < 3; round++) {
			unsigned char *d = unimem_malloc(s);
			memset(d, 0xab, s);
			unimem_free(d);
			unsigned char *z = unimem_calloc(1, s);
			CHECK(z != NULL, "calloc(1, %zu)", s);
			if (!z)
				continue;
			size_t bad = SIZE_MAX;
			for (size_t i = 0; i < s; i++)
				if (z[i]) {
					bad = i;
					break;
				}
			CHECK(bad == SIZE_MAX, "calloc(1, %zu) byte %zu not zero", s, bad);
			unimem_free(z);
		}
	}
}

static void test_realloc(void)
{
	/* grow through every regime (small classes, multi-slice pages, huge
	 * with mremap), then shrink back; contents survive each step */
	size_t steps[] = { 1, 17, 100, 129, 1000, 4096, 20000, 100000, 300000,
			   520000, 600000, (size_t)5 << 20, (size_t)9 << 20,
			   (size_t)20 << 20, (size_t)6 << 20, 700000, 400000,
			   5000, 64, 3 };
	unsigned char *p = NULL;
	size_t have = 0;
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		size_t s = steps[k];
		unsigned char *q = unimem_realloc(p, s);
		CHECK(q != NULL, "realloc(%p, %zu)", (void *)p, s);
		if (!q)
			break;
		size_t keep = have < s ? have : s;
		size_t bad = first_bad(q, keep, 7);
		CHECK(bad == SIZE_MAX, "realloc %zu -> %zu lost byte %zu", have, s, bad);
		CHECK(unimem_malloc_usable_size(q) >= s, "usable after realloc to %zu", s);
		fill(q, s, 7);
		p = q;
		have = s;
	}
	unimem_free(p);

	/* failure leaves the block alone */
	void *a = unimem_malloc(100);
	memset(a, 0x5a, 100);
	errno = 0;
	void *b = unimem_realloc(a, SIZE_MAX - 4096);
	CHECK(b == NULL && errno == ENOMEM, "realloc to SIZE_MAX-4096: %p errno %d", b, errno);
	CHECK(((unsigned char *)a)[99] == 0x5a, "failed realloc touched the block");
	unimem_free(a);
}

static void test_aligned(void)
{
	for (size_t align = 1; align <= ((size_t)8 << 20); align <<= 1) {
		size_t sizes[] = { 1, 7, 16, 100, align, align + 1, 3 * align, 70000 };
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			size_t s = sizes[k];
			void *p = unimem_aligned_alloc(align, s);
			CHECK(p && ((uintptr_t)p & (align - 1)) == 0,
			      "aligned_alloc(%zu, %zu) = %p", align, s, p);
			if (p) {
				CHECK(unimem_malloc_usable_size(p) >= s, "usable of aligned");
				memset(p, 1, s);
			}
			unimem_free(p);
			void *q = NULL;
			if (align >= sizeof(void *)) {
				int r = unimem_posix_memalign(&q, align, s);
				CHECK(r == 0 && q && ((uintptr_t)q & (align - 1)) == 0,
				      "posix_memalign(%zu, %zu) = %d %p", align, s, r, q);
				unimem_free(q);
			}
		}
	}
	errno = 0;
	void *p = unimem_aligned_alloc(24, 100);
	CHECK(p == NULL && errno == EINVAL, "aligned_alloc(24): %p errno %d", p, errno);
	errno = 0;
	p = unimem_aligned_alloc(0, 100);
	CHECK(p == NULL && errno == EINVAL, "aligned_alloc(0): %p errno %d", p, errno);
	void *q = (void *)0x1;
	CHECK(unimem_posix_memalign(&q, 4, 10) == EINVAL && q == (void *)0x1,
	      "posix_memalign(4) must be EINVAL and leave *memptr");
	CHECK(unimem_posix_memalign(&q, 48, 10) == EINVAL, "posix_memalign(48)");
	CHECK(unimem_posix_memalign(&q, 64, SIZE_MAX - 100) == ENOMEM,
	      "posix_memalign huge size");
	CHECK(unimem_posix_memalign(NULL, 64, 10) == EINVAL, "posix_memalign(NULL)");
}

static void test_huge_limits(void)
{
	errno = 0;
	void *p = unimem_malloc(SIZE_MAX);
	CHECK(p == NULL && errno == ENOMEM, "malloc(SIZE_MAX): %p errno %d", p, errno);
	errno = 0;
	p = unimem_malloc((size_t)PTRDIFF_MAX + 1);
	CHECK(p == NULL && errno == ENOMEM, "malloc(PTRDIFF_MAX+1): %p errno %d", p, errno);
}

static void test_foreign(void)
{
	int on_stack;
	static char in_data[64];
	/* must not crash: diagnosed and ignored */
	unimem_free(&on_stack);
	unimem_free(in_data);
	CHECK(unimem_malloc_usable_size(&on_stack) == 0, "usable_size(stack)");
	CHECK(unimem_malloc_usable_size(in_data) == 0, "usable_size(data)");
	unsigned char *p = unimem_malloc(64);
	CHECK(unimem_malloc_usable_size(p + 16) == 0, "usable_size(interior)");
	unimem_free(p + 8); /* misaligned interior: ignored */
	errno = 0;
	CHECK(unimem_realloc(in_data, 10) == NULL && errno == EINVAL,
	      "realloc(foreign) must fail with EINVAL");
	unimem_free(p);
	/* double free of a huge block: caught */
	void *h = unimem_malloc((size_t)2 << 20);
	unimem_free(h);
	unimem_free(h);
}

int main(void)
{
	test_every_size();
	test_zero_sizes();
	test_calloc();
	test_realloc();
	test_aligned();
	test_huge_limits();
	test_foreign();
	return um_test_result("alloc_conformance_test");
}
