/* SPDX-License-Identifier: MIT */
/* um_test.h - minimal checks for the API tests: print where and why, count. */
#ifndef UM_TEST_H
#define UM_TEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unimem.h"

#define UM_SKIP 77

static int um_failures;

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,  \
				__LINE__, #cond);                               \
			um_failures++;                                          \
		}                                                               \
	} while (0)

#define CHECK_EQ(a, b)                                                          \
	do {                                                                    \
		long long _a = (long long)(a), _b = (long long)(b);             \
		if (_a != _b) {                                                 \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, "  \
				"expected %s == %lld (last error: %s)\n",       \
				__FILE__, __LINE__, #a, _a, #b, _b,             \
				unimem_last_error());                           \
			um_failures++;                                          \
		}                                                               \
	} while (0)

/*
 * An error path: @expr must return @err (negative errno), with a message
 * from unimem_last_error() and unimem_strerror().
 */
#define CHECK_ERR(expr, err)                                                    \
	do {                                                                    \
		long _r = (long)(expr);                                         \
		const char *_m = unimem_last_error();                           \
		if (_r != (err)) {                                              \
			fprintf(stderr, "%s:%d: %s returned %ld (%s), expected " \
				"%s (%d); last error: %s\n", __FILE__, __LINE__, \
				#expr, _r, unimem_strerror((int)_r), #err,      \
				(int)(err), _m);                                \
			um_failures++;                                          \
		} else if (!_m || !*_m || strcmp(_m, "no error") == 0) {        \
			fprintf(stderr, "%s:%d: %s: no error message\n",        \
				__FILE__, __LINE__, #expr);                     \
			um_failures++;                                          \
		}                                                               \
	} while (0)

/*
 * Pages of [p, p + npages * page_size) that are not at @want (all of them
 * if the query fails): callers CHECK_EQ it against 0, so a failure names
 * their line.
 */
static inline size_t um_pages_not_at(const void *p, size_t npages, size_t page_size,
				     unimem_location_t want)
{
	unimem_location_t *locs = calloc(npages, sizeof(*locs));
	size_t bad = 0;

	if (!locs || unimem_range_get_attr(p, npages * page_size,
					   UNIMEM_ATTR_PAGE_LOCATIONS, locs,
					   npages * sizeof(*locs)) != 0)
		bad = npages;
	else
		for (size_t i = 0; i < npages; i++)
			bad += locs[i] != want;
	free(locs);
	return bad;
}

static inline int um_test_done(const char *name)
{
	if (um_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, um_failures);
		return 1;
	}
	printf("%s: all checks passed\n", name);
	return 0;
}

#endif /* UM_TEST_H */
