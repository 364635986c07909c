/* SPDX-License-Identifier: MIT */
/* check.h - minimal assertions for the allocator tests: report and go on. */
#ifndef UM_TEST_CHECK_H
#define UM_TEST_CHECK_H
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static int um_test_failures;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			if (um_test_failures++ < 50) {                        \
				fprintf(stderr, "%s:%d: CHECK(%s) failed: ",  \
					__FILE__, __LINE__, #cond);           \
				fprintf(stderr, __VA_ARGS__);                 \
				fputc('\n', stderr);                          \
			}                                                     \
		}                                                             \
	} while (0)

/* Resident bytes of [p, p + n), page by page (mincore); a page not
 * mapped counts as not resident. */
static inline size_t um_test_resident(const void *p, size_t n)
{
	uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE);
	size_t count = 0;
	unsigned char v;
	for (uintptr_t a = (uintptr_t)p & ~(ps - 1); a < (uintptr_t)p + n; a += ps)
		if (mincore((void *)a, ps, &v) == 0)
			count += v & 1;
	return count * ps;
}

static inline int um_test_result(const char *name)
{
	if (um_test_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, um_test_failures);
		return 1;
	}
	printf("%s: all checks passed\n", name);
	return 0;
}
#endif
