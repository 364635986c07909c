// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM test and benchmark: UNIMEM_IOCTL_PREFETCH - validation, granularity,
 * population, several threads at once; prefetch against fault-driven
 * migration.
 *
 * Usage: policy_prefetch [test]       assertions (default)
 *        policy_prefetch bench MIB    prints a table
 */
#include "policy_ut.h"

#include <pthread.h>

#define NP2M 512UL

static void t_validate(int fd)
{
	uint8_t *p = ut_map(2 * MIB);
	struct unimem_prefetch pf;

#define PF(_a, _l, _t, _f) ((struct unimem_prefetch){ .addr = (uintptr_t)(_a), \
	.length = (_l), .target = (_t), .flags = (_f) })
	pf = PF(p, PAGE, 0, 1u << 5);
	IERR(fd, UNIMEM_IOCTL_PREFETCH, &pf, EINVAL);
	pf = PF(p, PAGE, 7, 0);
	IERR(fd, UNIMEM_IOCTL_PREFETCH, &pf, ENODEV);
	pf = PF(p, PAGE, 0x1234, 0);
	IERR(fd, UNIMEM_IOCTL_PREFETCH, &pf, EINVAL);
	pf = PF(p + 1, PAGE, 0, 0);
	IERR(fd, UNIMEM_IOCTL_PREFETCH, &pf, EINVAL);
	pf = PF(p, 0, 0, 0);
	IERR(fd, UNIMEM_IOCTL_PREFETCH, &pf, EINVAL);
	pf = PF(0xfffffffffffff000ULL, 2 * PAGE, 0, 0);
	IERR(fd, UNIMEM_IOCTL_PREFETCH, &pf, EOVERFLOW);
	pf = PF(0xff00000000000000ULL, PAGE, 0, 0);
	IERR(fd, UNIMEM_IOCTL_PREFETCH, &pf, EFAULT);
	pf = PF(p, PAGE, 0, 0);
	pf.reserved[1] = 1;
	IERR(fd, UNIMEM_IOCTL_PREFETCH, &pf, EINVAL);
#undef PF
	munmap(p, 2 * MIB);
}

static void t_granularity(int fd)
{
	uint8_t *p = pol_map_aligned(4 * MIB, 2 * MIB);
	struct unimem_prefetch pf;

	ut_pattern(p, 4 * MIB, 5);
	pol_set(fd, p, 2 * MIB, UNIMEM_RANGE_ATTR_GRANULARITY, 4);
	/* one page asked, its 16-page block moved */
	pf = pol_prefetch(fd, p + 20 * PAGE, PAGE, 0, 0);
	ASSERT_EQ(pf.moved, 16);
	ASSERT_EQ(pol_on_dev(fd, p, NP2M, 0), 16);
	ASSERT_EQ(pol_on_dev(fd, p + 16 * PAGE, 16, 0), 16);
	/* exact: only what was asked */
	pf = pol_prefetch(fd, p + 40 * PAGE, PAGE, 0, UNIMEM_PREFETCH_EXACT);
	ASSERT_EQ(pf.moved, 1);
	/* again: already there */
	pf = pol_prefetch(fd, p + 20 * PAGE, 2 * PAGE, 0, 0);
	ASSERT_EQ(pf.moved, 0);
	ASSERT_EQ(pf.already, 16);
	/* a range across two blocks widens both ends */
	pf = pol_prefetch(fd, p + 63 * PAGE, 2 * PAGE, 1, 0);
	ASSERT_EQ(pf.moved, 32);
	ASSERT_EQ(pol_on_dev(fd, p + 48 * PAGE, 32, 1), 32);
	/* unmanaged memory: the default 2 MiB block */
	pf = pol_prefetch(fd, p + 3 * MIB, PAGE, 0, 0);
	ASSERT_EQ(pf.moved, NP2M);
	ASSERT_EQ(pol_on_dev(fd, p + 2 * MIB, NP2M, 0), NP2M);
	/* back to system */
	pf = pol_prefetch(fd, p, 4 * MIB, UNIMEM_TARGET_SYSTEM, 0);
	ASSERT_EQ(pf.moved, 16 + 1 + 32 + NP2M);
	ASSERT_EQ(pf.already + pf.moved + pf.skipped, 2 * NP2M);
	ASSERT_EQ(pol_on_sys(fd, p, 2 * NP2M), 2 * NP2M);
	ut_check_pattern(p, 4 * MIB, 5, p);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_PREFETCH_CALLS), 6);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_PREFETCH_PAGES),
		  2 * (16 + 1 + 32 + NP2M));
	munmap(p, 4 * MIB);

	/* never-populated memory is populated on the device */
	p = pol_map_aligned(2 * MIB, 2 * MIB);
	pf = pol_prefetch(fd, p, 2 * MIB, 1, 0);
	ASSERT_EQ(pf.moved, NP2M);
	ASSERT_EQ(pol_on_dev(fd, p, NP2M, 1), NP2M);
	ASSERT_EQ(p[5], 0);
	pf = pol_prefetch(fd, p, 2 * MIB, UNIMEM_TARGET_SYSTEM, 0);
	ASSERT_EQ(pf.moved + pf.already, NP2M);
	munmap(p, 2 * MIB);
}

struct thr {
	int fd;
	uint8_t *p;
	size_t len;
	unsigned int seed;
	int iters;
	uint64_t moved;
};

static void *prefetcher(void *arg)
{
	struct thr *t = arg;
	static const uint32_t targets[3] = { 0, 1, UNIMEM_TARGET_SYSTEM };
	int i;

	for (i = 0; i < t->iters; i++) {
		size_t np = t->len / PAGE;
		size_t a = rand_r(&t->seed) % np;
		size_t n = rand_r(&t->seed) % (np - a) + 1;
		struct unimem_prefetch pf = pol_prefetch(t->fd, t->p + a * PAGE,
							 n * PAGE,
							 targets[rand_r(&t->seed) % 3],
							 rand_r(&t->seed) & 1);

		t->moved += pf.moved;
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct thr *t = arg;
	int i;

	for (i = 0; i < t->iters; i++) {
		size_t off = (rand_r(&t->seed) % (t->len / PAGE)) * PAGE;

		ut_check_pattern(t->p + off, PAGE, 9, t->p + off);
	}
	return NULL;
}

/* Several threads prefetch overlapping ranges to different places while
 * another reads: every page stays intact, calls are all counted. */
static void t_threads(int fd)
{
	size_t len = 8 * MIB;
	uint8_t *p = pol_map_aligned(len, 2 * MIB);
	struct thr t[5];
	pthread_t th[5];
	uint64_t calls0 = pol_ctr(fd, UNIMEM_PCNT_PREFETCH_CALLS);
	int i;

	ut_pattern(p, len, 9);
	pol_set(fd, p, len / 2, UNIMEM_RANGE_ATTR_GRANULARITY, 5);
	for (i = 0; i < 5; i++) {
		t[i] = (struct thr){ .fd = fd, .p = p, .len = len,
				     .seed = 100 + i, .iters = 25 };
		ASSERT_EQ(pthread_create(&th[i], NULL,
					 i < 4 ? prefetcher : reader, &t[i]), 0);
	}
	for (i = 0; i < 5; i++)
		pthread_join(th[i], NULL);
	ut_check_pattern(p, len, 9, p);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_PREFETCH_CALLS), calls0 + 100);
	ut_migrate(fd, p, len, UNIMEM_TARGET_SYSTEM, 0);
	ut_check_pattern(p, len, 9, p);
	munmap(p, len);
}

/* Fault-driven migration against prefetch, then the steady-state read;
 * the modes rotate @reps times (the VM shares its CPUs: look at medians). */
static void bench(int fd, size_t len, int reps)
{
	static const char * const mode[4] = {
		"fault-driven, preferred dev0", "fault-driven, first touch",
		"prefetch, then device read", "remote (preferred system)",
	};
	uint8_t *buf = malloc(len), *p;
	int m, r;

	ut_log("| mode | MiB | prefetch s | first device read s | device faults | second device read s | pages moved |");
	for (r = 0; r < reps; r++) {
		for (m = 0; m < 4; m++) {
			uint64_t moved0 = ut_ctr(fd, UNIMEM_CNT_FAULT_TO_DEVICE) +
					  pol_ctr(fd, UNIMEM_PCNT_PREFETCH_PAGES);
			uint64_t f0 = ut_ctr(fd, UNIMEM_CNT_DEVICE_FAULTS);
			double t0, t1, t2, t3;

			p = pol_map_aligned(len, 2 * MIB);
			ut_pattern(p, len, 1);
			pol_set(fd, p, len, UNIMEM_RANGE_ATTR_PREFERRED_LOC,
				m == 0 || m == 2 ? 0 :
				m == 1 ? UNIMEM_TARGET_NONE : UNIMEM_TARGET_SYSTEM);
			t0 = ut_now();
			if (m == 2) {
				struct unimem_prefetch pf =
					pol_prefetch(fd, p, len, 0, 0);

				ASSERT_EQ(pf.moved, len / PAGE);
			}
			t1 = ut_now();
			ut_dev_read(fd, p, buf, len);
			t2 = ut_now();
			f0 = ut_ctr(fd, UNIMEM_CNT_DEVICE_FAULTS) - f0;
			ut_check_pattern(buf, len, 1, p);
			t3 = ut_now();
			ut_dev_read(fd, p, buf, len);
			ut_log("| %s | %zu | %.4f | %.4f | %llu | %.4f | %llu |",
			       mode[m], len / MIB, t1 - t0, t2 - t1,
			       (unsigned long long)f0, ut_now() - t3,
			       (unsigned long long)(ut_ctr(fd,
					UNIMEM_CNT_FAULT_TO_DEVICE) +
				pol_ctr(fd, UNIMEM_PCNT_PREFETCH_PAGES) -
				moved0));
			munmap(p, len);
		}
	}
	free(buf);
}

int main(int argc, char **argv)
{
	bool b = argc > 1 && !strcmp(argv[1], "bench");
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ut_thp("never");
	ut_load("ndevices=2 mem_mib=64");
	fd = ut_open(0);
	if (b) {
		bench(fd, (argc > 2 ? atoi(argv[2]) : 32) * MIB,
		      argc > 3 ? atoi(argv[3]) : 3);
	} else {
		UT_CASE("validate");
		t_validate(fd);
		UT_CASE("granularity");
		t_granularity(fd);
		UT_CASE("threads");
		t_threads(fd);
		ut_log("PASS");
	}
	close(fd);
	ut_unload();
	return 0;
}
