// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM test: the policy under concurrency - device accesses on two devices,
 * CPU writes, attribute changes, prefetches, and mmap/munmap/mremap churn
 * of attributed memory, all at once.  Asserts data integrity; the VM
 * runner fails the test on any KASAN/lockdep/WARN splat.
 * Usage: policy_stress [SECONDS]
 */
#include "policy_ut.h"

#include <pthread.h>

#define LEN (8 * MIB)

static volatile int stop;
static uint8_t *shared;		/* LEN bytes: per-page owner word at +0 */
static int fds[2];

struct worker {
	int id;
	unsigned int seed;
	uint64_t ops;
};

/* Each page's first word belongs to one writer (page % 4 == writer id);
 * the word at +8 is the fixed pattern everybody checks. */
static uint64_t pat(size_t pg)
{
	return ut_mix(77, pg);
}

static void *dev_worker(void *arg)
{
	struct worker *w = arg;
	int fd = fds[w->id & 1];
	uint64_t v;

	while (!stop) {
		size_t pg = rand_r(&w->seed) % (LEN / PAGE);
		uint8_t *a = shared + pg * PAGE;

		ut_dev_read(fd, a + 8, &v, 8);
		if (v != pat(pg))
			UT_FAIL("dev %d page %zu: 0x%llx", w->id, pg,
				(unsigned long long)v);
		if (pg % 4 == (size_t)w->id) {
			v = w->ops;
			ut_dev_write(fd, a, &v, 8);
			ut_dev_read(fd, a, &v, 8);
			ASSERT_EQ(v, w->ops);
		}
		w->ops++;
	}
	return NULL;
}

static void *cpu_worker(void *arg)
{
	struct worker *w = arg;

	while (!stop) {
		size_t pg = rand_r(&w->seed) % (LEN / PAGE);
		uint64_t *q = (uint64_t *)(shared + pg * PAGE);

		if (q[1] != pat(pg))
			UT_FAIL("cpu page %zu: 0x%llx", pg,
				(unsigned long long)q[1]);
		if (pg % 4 == (size_t)w->id) {
			q[0] = w->ops;
			ASSERT_EQ(q[0], w->ops);
		}
		w->ops++;
	}
	return NULL;
}

static void *attr_worker(void *arg)
{
	struct worker *w = arg;
	static const uint32_t locs[4] = { 0, 1, UNIMEM_TARGET_SYSTEM,
					  UNIMEM_TARGET_NONE };

	while (!stop) {
		size_t a = rand_r(&w->seed) % (LEN / PAGE);
		size_t n = rand_r(&w->seed) % (LEN / PAGE - a) + 1;

		switch (rand_r(&w->seed) % 4) {
		case 0:
			pol_set(fds[0], shared + a * PAGE, n * PAGE,
				UNIMEM_RANGE_ATTR_PREFERRED_LOC,
				locs[rand_r(&w->seed) % 4]);
			break;
		case 1:
			pol_set(fds[1], shared + a * PAGE, n * PAGE,
				UNIMEM_RANGE_ATTR_GRANULARITY,
				rand_r(&w->seed) % 10);
			break;
		case 2:
			pol_prefetch(fds[rand_r(&w->seed) & 1],
				     shared + a * PAGE, n * PAGE,
				     locs[rand_r(&w->seed) % 3], 0);
			break;
		default:
			pol_get(fds[0], shared + a * PAGE, n * PAGE,
				UNIMEM_RANGE_ATTR_PREFERRED_LOC);
			break;
		}
		w->ops++;
	}
	return NULL;
}

/* Attributed scratch memory that is mapped, touched, moved and unmapped. */
static void *churn_worker(void *arg)
{
	struct worker *w = arg;

	while (!stop) {
		uint8_t *p = pol_map_aligned(2 * MIB, 2 * MIB), *q;
		uint8_t b = 0;

		memset(p, 0x42, 2 * MIB);
		pol_set(fds[0], p, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC, 0);
		pol_set(fds[0], p + MIB, MIB, UNIMEM_RANGE_ATTR_GRANULARITY,
			rand_r(&w->seed) % 10);
		ut_dev_read(fds[0], p + (rand_r(&w->seed) % 512) * PAGE, &b,
			    1);
		ASSERT_EQ(b, 0x42);
		q = mremap(p, 2 * MIB, 4 * MIB, MREMAP_MAYMOVE);
		ASSERT_TRUE(q != MAP_FAILED);
		ASSERT_EQ(q[rand_r(&w->seed) % (2 * MIB)], 0x42);
		ut_dev_read(fds[1], q + (rand_r(&w->seed) % 512) * PAGE, &b,
			    1);
		ASSERT_EQ(b, 0x42);
		if (rand_r(&w->seed) & 1)
			munmap(q + MIB, MIB);
		munmap(q, 4 * MIB);
		w->ops++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 20;
	void *(*fn[7])(void *) = {
		dev_worker, dev_worker, cpu_worker, cpu_worker, attr_worker,
		churn_worker, churn_worker,
	};
	struct worker w[7];
	pthread_t th[7];
	size_t pg;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ut_thp("never");
	ut_load("ndevices=2 mem_mib=16");
	fds[0] = ut_open(0);
	fds[1] = ut_open(1);
	shared = pol_map_aligned(LEN, 2 * MIB);
	for (pg = 0; pg < LEN / PAGE; pg++)
		((uint64_t *)(shared + pg * PAGE))[1] = pat(pg);
	pol_manage(fds[0], shared, LEN);
	/* ids 0,1 devices, 2,3 CPU: the owners of page % 4 */
	for (i = 0; i < 7; i++) {
		w[i] = (struct worker){ .id = i, .seed = 1000 + i };
		ASSERT_EQ(pthread_create(&th[i], NULL, fn[i], &w[i]), 0);
	}
	sleep(secs);
	stop = 1;
	for (i = 0; i < 7; i++) {
		pthread_join(th[i], NULL);
		ut_log("worker %d: %llu ops", i, (unsigned long long)w[i].ops);
		ASSERT_GT(w[i].ops, 0);
	}
	for (pg = 0; pg < LEN / PAGE; pg++)
		ASSERT_TRUE(((uint64_t *)(shared + pg * PAGE))[1] == pat(pg));
	ut_log("block moves %llu, pinned %llu, remote %llu, first touch %llu",
	       (unsigned long long)pol_ctr(fds[0], UNIMEM_PCNT_BLOCK_MIGRATIONS),
	       (unsigned long long)pol_ctr(fds[0], UNIMEM_PCNT_PINNED),
	       (unsigned long long)pol_ctr(fds[0], UNIMEM_PCNT_REMOTE_MAP),
	       (unsigned long long)pol_ctr(fds[0], UNIMEM_PCNT_FIRST_TOUCH));
	munmap(shared, LEN);
	close(fds[0]);
	close(fds[1]);
	ut_unload();
	ut_log("PASS");
	return 0;
}
