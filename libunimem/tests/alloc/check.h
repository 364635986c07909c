/* SPDX-License-Identifier: MIT */
/* check.h - minimal assertions for the allocator tests: report and go on. */
#ifndef UM_TEST_CHECK_H
#define UM_TEST_CHECK_H
#include <stdio.h>

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
