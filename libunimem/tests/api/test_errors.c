/* SPDX-License-Identifier: MIT */
/*
 * test_errors.c - every error path of the location, hint and queue API
 * returns the documented negative errno and leaves a message; strerror
 * knows every code unimem returns.
 */
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#include "um_test.h"

int main(void)
{
	static const int codes[] = { EINVAL, ENODEV, EFAULT, ENOMEM, ENOTSUP, ENOENT,
				     EBUSY, EIO };
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	struct unimem_location_info info;
	unimem_location_t loc, out[4];
	unimem_queue_t *q;
	unimem_event_t *ev;
	char *mem, *hole;
	int n;

	/* strerror: every code has its own message; 0 and positives are named. */
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *m = unimem_strerror(-codes[i]);
		CHECK(m && *m);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(m, unimem_strerror(-codes[j])) != 0);
	}
	CHECK(strcmp(unimem_strerror(0), "success") == 0);
	CHECK(strstr(unimem_strerror(5), "not an error") != NULL);
	CHECK(unimem_strerror(-4095) && *unimem_strerror(-4095));
	CHECK(unimem_strerror(INT_MIN + 1) != NULL);

	/* The last error is per thread and says which call failed. */
	CHECK_ERR(unimem_prefetch(NULL, ps, UNIMEM_LOC_HOST(0), 0), -EINVAL);
	CHECK(strstr(unimem_last_error(), "prefetch") != NULL);

	mem = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	/*
	 * An address range with nothing mapped: low in the address space, below
	 * where programs and mmap() put things (a freed mapping could be reused
	 * by a later allocation).
	 */
	hole = (char *)(uintptr_t)0x200000;
	CHECK(msync(hole, 4 * ps, MS_ASYNC) < 0 && errno == ENOMEM);

	/* Locations. */
	n = unimem_location_count();
	CHECK_ERR(unimem_location_get(-1, &info), -EINVAL);
	CHECK_ERR(unimem_location_get(n, &info), -EINVAL);
	CHECK_ERR(unimem_location_get(0, NULL), -EINVAL);
	CHECK_ERR(unimem_location_query(UNIMEM_LOC_HOST(0), NULL), -EINVAL);
	CHECK_ERR(unimem_location_query(UNIMEM_LOC_NONE, &info), -EINVAL);
	CHECK_ERR(unimem_location_query(UNIMEM_LOC_MIXED, &info), -EINVAL);
	CHECK_ERR(unimem_location_query(UNIMEM_LOC(9, 0), &info), -EINVAL);
	CHECK_ERR(unimem_location_query(UNIMEM_LOC_HOST(4000), &info), -ENODEV);
	CHECK_ERR(unimem_location_query(UNIMEM_LOC_DEVICE(15), &info), -ENODEV);
	CHECK_ERR(unimem_location_parse(NULL, &loc), -EINVAL);
	CHECK_ERR(unimem_location_parse("node0", NULL), -EINVAL);
	{
		static const char *bad[] = { "", "node", "node-1", "nodeX", "node1x",
					     " node0", "node0 ", "node16777216", "gpu0",
					     "host:", "device:-1", "NODE0", "unimem" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK_ERR(unimem_location_parse(bad[i], &loc), -EINVAL);
	}

	/* Prefetch. */
	CHECK_ERR(unimem_prefetch(mem, 0, UNIMEM_LOC_HOST(0), 0), -EINVAL);
	CHECK_ERR(unimem_prefetch((void *)(UINTPTR_MAX - ps), 2 * ps, UNIMEM_LOC_HOST(0), 0),
		  -EINVAL);
	CHECK_ERR(unimem_prefetch(mem, ps, UNIMEM_LOC_HOST(0), 0x80), -EINVAL);
	CHECK_ERR(unimem_prefetch(mem, ps, UNIMEM_LOC_NONE, 0), -EINVAL);
	CHECK_ERR(unimem_prefetch(mem, ps, UNIMEM_LOC_MIXED, 0), -EINVAL);
	CHECK_ERR(unimem_prefetch(mem, ps, UNIMEM_LOC(7, 0), 0), -EINVAL);
	CHECK_ERR(unimem_prefetch(mem, ps, UNIMEM_LOC_HOST(4000), 0), -ENODEV);
	CHECK_ERR(unimem_prefetch(mem, ps, UNIMEM_LOC_DEVICE(15), 0), -ENODEV);
	CHECK_ERR(unimem_prefetch(hole, ps, UNIMEM_LOC_HOST(0), 0), -EFAULT);
	CHECK_ERR(unimem_prefetch(hole, ps, UNIMEM_LOC_SYSTEM, 0), -EFAULT);
	CHECK_ERR(unimem_prefetch_batch(NULL, 2, UNIMEM_LOC_HOST(0), 0), -EINVAL);
	{
		struct unimem_range r[3] = { { mem, ps }, { NULL, ps }, { mem, ps } };
		CHECK_ERR(unimem_prefetch_batch(r, 3, UNIMEM_LOC_HOST(0), 0), -EINVAL);
		CHECK(strstr(unimem_last_error(), "range 1") != NULL);
		r[1].ptr = mem;
		r[1].size = 0;
		CHECK_ERR(unimem_prefetch_batch(r, 3, UNIMEM_LOC_HOST(0), 0), -EINVAL);
		r[1].ptr = hole;
		r[1].size = ps;
		CHECK_ERR(unimem_prefetch_batch(r, 3, UNIMEM_LOC_HOST(0), 0), -EFAULT);
		CHECK_EQ(unimem_prefetch_batch(r, 0, UNIMEM_LOC_HOST(0), 0), 0);
	}

	/* Advise and granularity. */
	CHECK_ERR(unimem_advise(NULL, ps, UNIMEM_ADVISE_SET_READ_MOSTLY, 0), -EINVAL);
	CHECK_ERR(unimem_advise(mem, 0, UNIMEM_ADVISE_SET_READ_MOSTLY, 0), -EINVAL);
	CHECK_ERR(unimem_advise(mem, ps, (enum unimem_advice)0, UNIMEM_LOC_HOST(0)), -EINVAL);
	CHECK_ERR(unimem_advise(mem, ps, (enum unimem_advice)99, UNIMEM_LOC_HOST(0)), -EINVAL);
	CHECK_ERR(unimem_advise(mem, ps, UNIMEM_ADVISE_SET_PREFERRED_LOCATION, UNIMEM_LOC_NONE),
		  -EINVAL);
	CHECK_ERR(unimem_advise(mem, ps, UNIMEM_ADVISE_SET_PREFERRED_LOCATION,
				UNIMEM_LOC_HOST(4000)), -ENODEV);
	CHECK_ERR(unimem_advise(mem, ps, UNIMEM_ADVISE_SET_ACCESSED_BY, UNIMEM_LOC_MIXED),
		  -EINVAL);
	CHECK_ERR(unimem_advise(mem, ps, UNIMEM_ADVISE_SET_ACCESSED_BY, UNIMEM_LOC_DEVICE(15)),
		  -ENODEV);
	CHECK_ERR(unimem_advise(hole, ps, UNIMEM_ADVISE_SET_READ_MOSTLY, 0), -EFAULT);
	CHECK_ERR(unimem_advise(hole, ps, UNIMEM_ADVISE_SET_PREFERRED_LOCATION,
				UNIMEM_LOC_HOST(0)), -EFAULT);
	CHECK_ERR(unimem_set_granularity(mem, ps, 13), -EINVAL);
	CHECK_ERR(unimem_set_granularity(NULL, ps, 9), -EINVAL);
	CHECK_ERR(unimem_set_granularity(hole, ps, 9), -EFAULT);

	/* Range attributes. */
	CHECK_ERR(unimem_range_get_attr(mem, ps, (enum unimem_range_attr)0, out, sizeof(out)),
		  -EINVAL);
	CHECK_ERR(unimem_range_get_attr(mem, ps, (enum unimem_range_attr)42, out, sizeof(out)),
		  -EINVAL);
	CHECK_ERR(unimem_range_get_attr(mem, ps, UNIMEM_ATTR_LOCATION, NULL, sizeof(out)),
		  -EINVAL);
	CHECK_ERR(unimem_range_get_attr(mem, ps, UNIMEM_ATTR_LOCATION, out, 2), -EINVAL);
	CHECK_ERR(unimem_range_get_attr(mem, 4 * ps, UNIMEM_ATTR_PAGE_LOCATIONS, out,
					3 * sizeof(out[0])), -EINVAL);
	CHECK_ERR(unimem_range_get_attr(mem, ps, UNIMEM_ATTR_READ_MOSTLY, out, 1), -EINVAL);
	CHECK_ERR(unimem_range_get_attr(mem, ps, UNIMEM_ATTR_ACCESSED_BY, out, 0), -EINVAL);
	CHECK_ERR(unimem_range_get_attr(mem, ps, UNIMEM_ATTR_GRANULARITY, out, 2), -EINVAL);
	CHECK_ERR(unimem_range_get_attr(NULL, ps, UNIMEM_ATTR_LOCATION, out, sizeof(out)),
		  -EINVAL);
	CHECK_ERR(unimem_range_get_attr(mem, 0, UNIMEM_ATTR_LOCATION, out, sizeof(out)),
		  -EINVAL);
	CHECK_ERR(unimem_range_get_attr(hole, ps, UNIMEM_ATTR_LOCATION, out, sizeof(out)),
		  -EFAULT);

	/* Queue and events. */
	CHECK_ERR(unimem_queue_create(NULL), -EINVAL);
	CHECK_ERR(unimem_queue_sync(NULL), -EINVAL);
	CHECK_ERR(unimem_queue_destroy(NULL), -EINVAL);
	CHECK_ERR(unimem_event_wait(NULL), -EINVAL);
	CHECK_ERR(unimem_event_query(NULL), -EINVAL);
	unimem_event_release(NULL); /* a no-op, like free(NULL) */
	CHECK_EQ(unimem_queue_create(&q), 0);
	ev = (unimem_event_t *)1;
	CHECK_ERR(unimem_prefetch_async(NULL, mem, ps, UNIMEM_LOC_HOST(0), 0, &ev), -EINVAL);
	CHECK(ev == NULL);
	CHECK_ERR(unimem_prefetch_async(q, NULL, ps, UNIMEM_LOC_HOST(0), 0, NULL), -EINVAL);
	CHECK_ERR(unimem_prefetch_async(q, mem, ps, UNIMEM_LOC_HOST(0), 0x10, NULL), -EINVAL);
	CHECK_ERR(unimem_prefetch_async(q, mem, ps, UNIMEM_LOC_HOST(4000), 0, NULL), -ENODEV);
	CHECK_ERR(unimem_prefetch_batch_async(q, NULL, 1, UNIMEM_LOC_HOST(0), 0, NULL), -EINVAL);
	/* A failure found by the worker: reported by the event and the next sync. */
	CHECK_EQ(unimem_prefetch_async(q, hole, ps, UNIMEM_LOC_HOST(0), 0, &ev), 0);
	CHECK_ERR(unimem_event_wait(ev), -EFAULT);
	CHECK(strstr(unimem_last_error(), "not (fully) mapped") != NULL);
	CHECK_EQ(unimem_event_query(ev), 1);
	unimem_event_release(ev);
	CHECK_ERR(unimem_queue_sync(q), -EFAULT);
	CHECK_EQ(unimem_queue_sync(q), 0); /* reported once */
	CHECK_EQ(unimem_prefetch_async(q, hole, ps, UNIMEM_LOC_HOST(0), 0, NULL), 0);
	CHECK_ERR(unimem_queue_destroy(q), -EFAULT);

	munmap(mem, 4 * ps);
	return um_test_done("test_errors");
}
