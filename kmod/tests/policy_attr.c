// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM test: UNIMEM_IOCTL_ATTR - validation, SET/GET with intersection and
 * "mixed", and attributes following the memory (mprotect, munmap, mremap,
 * fork).  Usage: policy_attr CASE|all
 */
#include "policy_ut.h"

static void t_validate(void)
{
	int fd = ut_open(0);
	uint8_t *p = ut_map(4 * MIB);
	struct unimem_attr a[UNIMEM_MAX_ATTRS + 1];
	struct unimem_attr_op o;

	memset(a, 0, sizeof(a));
	a[0].type = UNIMEM_RANGE_ATTR_READ_MOSTLY;
#define OP(_addr, _len, _op, _n) \
	((struct unimem_attr_op){ .addr = (uintptr_t)(_addr), .length = (_len), \
		.op = (_op), .nattrs = (_n), .attrs = (uintptr_t)a })
	o = OP(p, PAGE, 0, 1);
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	o = OP(p, PAGE, 3, 1);
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	o = OP(p, PAGE, UNIMEM_RANGE_ATTR_OP_SET, 0);
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	o = OP(p, PAGE, UNIMEM_RANGE_ATTR_OP_GET, UNIMEM_MAX_ATTRS + 1);
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, E2BIG);
	o = OP(p, PAGE, UNIMEM_RANGE_ATTR_OP_GET, 1);
	o.reserved[3] = 1;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	o = OP(p + 1, PAGE, UNIMEM_RANGE_ATTR_OP_GET, 1);
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	o = OP(p, PAGE + 1, UNIMEM_RANGE_ATTR_OP_GET, 1);
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	o = OP(p, 0, UNIMEM_RANGE_ATTR_OP_GET, 1);
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	o = OP(0xfffffffffffff000ULL, 0x2000, UNIMEM_RANGE_ATTR_OP_GET, 1);
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EOVERFLOW);
	o = OP(0xff00000000000000ULL, PAGE, UNIMEM_RANGE_ATTR_OP_GET, 1);
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EFAULT);
	o = OP(p, PAGE, UNIMEM_RANGE_ATTR_OP_GET, 1);
	o.attrs = 16;	/* unreadable */
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EFAULT);

	/* attribute types and values */
	o = OP(p, PAGE, UNIMEM_RANGE_ATTR_OP_GET, 1);
	a[0].type = 0;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	a[0].type = 6;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	o.op = UNIMEM_RANGE_ATTR_OP_SET;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	a[0].type = UNIMEM_RANGE_ATTR_PREFERRED_LOC;
	a[0].value = 5;			/* ndevices=2 */
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, ENODEV);
	a[0].value = 0x12345;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	a[0].value = UNIMEM_RANGE_ATTR_MIXED;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	a[0].type = UNIMEM_RANGE_ATTR_ACCESSED_BY;
	a[0].value = 1u << 3;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, ENODEV);
	a[0].value = 1u << 20;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	a[0].type = UNIMEM_RANGE_ATTR_READ_MOSTLY;
	a[0].value = 2;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	a[0].type = UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	a[0].type = UNIMEM_RANGE_ATTR_GRANULARITY;
	a[0].value = UNIMEM_GRANULARITY_MAX + 1;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	/* one bad attribute rejects the whole list, nothing applied */
	a[0].type = UNIMEM_RANGE_ATTR_READ_MOSTLY;
	a[0].value = 1;
	a[1].type = UNIMEM_RANGE_ATTR_GRANULARITY;
	a[1].value = 99;
	o.nattrs = 2;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EINVAL);
	ASSERT_EQ(pol_get(fd, p, PAGE, UNIMEM_RANGE_ATTR_READ_MOSTLY), 0);

	/* SET needs mapped memory; GET of a hole reports defaults */
	munmap(p + 2 * MIB, PAGE);
	o = OP(p, 4 * MIB, UNIMEM_RANGE_ATTR_OP_SET, 1);
	a[0].type = UNIMEM_RANGE_ATTR_READ_MOSTLY;
	a[0].value = 1;
	IERR(fd, UNIMEM_IOCTL_ATTR, &o, EFAULT);
	ASSERT_EQ(pol_get(fd, p, 4 * MIB, UNIMEM_RANGE_ATTR_READ_MOSTLY), 0);
	ASSERT_EQ(pol_get(fd, p + 2 * MIB, PAGE, UNIMEM_RANGE_ATTR_GRANULARITY),
		  UNIMEM_GRANULARITY_DEFAULT);

	/* policy knob validation */
	{
		struct unimem_policy pc = { .op = UNIMEM_POLICY_OP_GET };

		IOK(fd, UNIMEM_IOCTL_POLICY, &pc);
		ASSERT_EQ(pc.flags, UNIMEM_POLICY_THRASH |
				    UNIMEM_POLICY_FIRST_TOUCH);
		ASSERT_EQ(pc.thrash_threshold, 4);
		pc.op = UNIMEM_POLICY_OP_SET;
		pc.flags = 1u << 7;
		IERR(fd, UNIMEM_IOCTL_POLICY, &pc, EINVAL);
		pc.flags = 0;
		pc.thrash_threshold = 0;
		IERR(fd, UNIMEM_IOCTL_POLICY, &pc, EINVAL);
		pc.thrash_threshold = 3;
		pc.thrash_window_ms = UNIMEM_THRASH_MS_MAX + 1;
		IERR(fd, UNIMEM_IOCTL_POLICY, &pc, EINVAL);
		pc.thrash_window_ms = 10;
		pc.reserved0 = 1;
		IERR(fd, UNIMEM_IOCTL_POLICY, &pc, EINVAL);
		pc.op = 9;
		pc.reserved0 = 0;
		IERR(fd, UNIMEM_IOCTL_POLICY, &pc, EINVAL);
	}
	{
		struct unimem_policy_counters c = { .scope = 2 };

		IERR(fd, UNIMEM_IOCTL_POLICY_COUNTERS, &c, EINVAL);
		c.scope = UNIMEM_PSCOPE_DEVICE;
		c.device = 9;
		IERR(fd, UNIMEM_IOCTL_POLICY_COUNTERS, &c, ENODEV);
		c.device = 1;
		c.flags = 1;
		IERR(fd, UNIMEM_IOCTL_POLICY_COUNTERS, &c, EINVAL);
		c.flags = 0;
		IOK(fd, UNIMEM_IOCTL_POLICY_COUNTERS, &c);
	}
	/* a context is usable only from its process */
	if (fork() == 0) {
		a[0].type = UNIMEM_RANGE_ATTR_READ_MOSTLY;
		o = OP(p, PAGE, UNIMEM_RANGE_ATTR_OP_GET, 1);
		_exit(ioctl(fd, UNIMEM_IOCTL_ATTR, &o) == -1 && errno == ESRCH
		      ? 0 : 1);
	} else {
		int st;

		wait(&st);
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
#undef OP
	close(fd);
}

static void t_setget(void)
{
	int fd = ut_open(0);
	uint8_t *p = ut_map(8 * MIB);
	struct unimem_attr a[5] = {
		{ .type = UNIMEM_RANGE_ATTR_PREFERRED_LOC },
		{ .type = UNIMEM_RANGE_ATTR_ACCESSED_BY },
		{ .type = UNIMEM_RANGE_ATTR_READ_MOSTLY },
		{ .type = UNIMEM_RANGE_ATTR_GRANULARITY },
		{ .type = UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS },
	};

	/* defaults */
	IOK(fd, UNIMEM_IOCTL_ATTR, (&(struct unimem_attr_op){
		.addr = (uintptr_t)p, .length = 8 * MIB,
		.op = UNIMEM_RANGE_ATTR_OP_GET, .nattrs = 5, .attrs = (uintptr_t)a }));
	ASSERT_EQ(a[0].value, UNIMEM_TARGET_NONE);
	ASSERT_EQ(a[1].value, 0);
	ASSERT_EQ(a[2].value, 0);
	ASSERT_EQ(a[3].value, UNIMEM_GRANULARITY_DEFAULT);
	ASSERT_EQ(a[4].value, 0);

	/* several attributes in one call, over an unaligned-to-2M range */
	a[0].value = 1;
	a[1].value = 1;
	a[2].value = 0;
	a[3].value = 4;
	a[4].value = 0;
	ASSERT_EQ(pol_attr(fd, UNIMEM_RANGE_ATTR_OP_SET, p + MIB, 2 * MIB, a, 5), 0);
	ASSERT_EQ(pol_get(fd, p + MIB, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC), 1);
	ASSERT_EQ(pol_get(fd, p + MIB, 2 * MIB, UNIMEM_RANGE_ATTR_ACCESSED_BY), 1);
	ASSERT_EQ(pol_get(fd, p + MIB, 2 * MIB, UNIMEM_RANGE_ATTR_GRANULARITY), 4);
	ASSERT_EQ(pol_get(fd, p + 2 * MIB, PAGE, UNIMEM_RANGE_ATTR_GRANULARITY), 4);
	/* intersection with untouched memory: mixed where they differ */
	ASSERT_EQ(pol_get(fd, p, 8 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
		  UNIMEM_RANGE_ATTR_MIXED);
	ASSERT_EQ(pol_get(fd, p + MIB - PAGE, 2 * PAGE,
			  UNIMEM_RANGE_ATTR_GRANULARITY), UNIMEM_RANGE_ATTR_MIXED);
	ASSERT_EQ(pol_get(fd, p, 8 * MIB, UNIMEM_RANGE_ATTR_READ_MOSTLY), 0);
	ASSERT_EQ(pol_get(fd, p, MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
		  UNIMEM_TARGET_NONE);
	ASSERT_EQ(pol_get(fd, p + 3 * MIB, 5 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
		  UNIMEM_TARGET_NONE);

	/* overlapping SET changes only the listed attribute */
	pol_set(fd, p + 2 * MIB, 3 * MIB, UNIMEM_RANGE_ATTR_READ_MOSTLY, 1);
	ASSERT_EQ(pol_get(fd, p + 2 * MIB, MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC), 1);
	ASSERT_EQ(pol_get(fd, p + 2 * MIB, MIB, UNIMEM_RANGE_ATTR_READ_MOSTLY), 1);
	ASSERT_EQ(pol_get(fd, p + 3 * MIB, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
		  UNIMEM_TARGET_NONE);
	ASSERT_EQ(pol_get(fd, p + 3 * MIB, 2 * MIB, UNIMEM_RANGE_ATTR_READ_MOSTLY),
		  1);
	ASSERT_EQ(pol_get(fd, p + MIB, 4 * MIB, UNIMEM_RANGE_ATTR_READ_MOSTLY),
		  UNIMEM_RANGE_ATTR_MIXED);
	ASSERT_EQ(pol_get(fd, p + MIB, MIB, UNIMEM_RANGE_ATTR_READ_MOSTLY), 0);
	/* set back: ranges become uniform again */
	pol_set(fd, p, 8 * MIB, UNIMEM_RANGE_ATTR_READ_MOSTLY, 0);
	pol_set(fd, p, 8 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC, UNIMEM_TARGET_SYSTEM);
	ASSERT_EQ(pol_get(fd, p, 8 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
		  UNIMEM_TARGET_SYSTEM);
	ASSERT_EQ(pol_get(fd, p, 8 * MIB, UNIMEM_RANGE_ATTR_ACCESSED_BY),
		  UNIMEM_RANGE_ATTR_MIXED);
	pol_set(fd, p, 8 * MIB, UNIMEM_RANGE_ATTR_ACCESSED_BY, 3);
	ASSERT_EQ(pol_get(fd, p, 8 * MIB, UNIMEM_RANGE_ATTR_ACCESSED_BY), 3);

	/* a second context of the same process sees the same attributes */
	{
		int fd1 = ut_open(1);

		ASSERT_EQ(pol_get(fd1, p, 8 * MIB, UNIMEM_RANGE_ATTR_ACCESSED_BY), 3);
		close(fd1);
	}
	munmap(p, 8 * MIB);
	close(fd);
}

/* mprotect splits VMAs: each part keeps its attributes; partial munmap
 * drops only the unmapped part; a new mapping there starts clean. */
static void t_split(void)
{
	int fd = ut_open(0);
	uint8_t *p = ut_map(4 * MIB);

	pol_set(fd, p, 4 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC, 0);
	ASSERT_EQ(mprotect(p + MIB, MIB, PROT_READ), 0);
	ASSERT_EQ(pol_get(fd, p, 4 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC), 0);
	pol_set(fd, p + MIB, MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC, 1);
	ASSERT_EQ(pol_get(fd, p, MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC), 0);
	ASSERT_EQ(pol_get(fd, p + MIB, MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC), 1);
	ASSERT_EQ(pol_get(fd, p + 2 * MIB, 2 * MIB,
			  UNIMEM_RANGE_ATTR_PREFERRED_LOC), 0);
	/* mprotect back: VMAs merge, attributes stay per page */
	ASSERT_EQ(mprotect(p + MIB, MIB, PROT_READ | PROT_WRITE), 0);
	ASSERT_EQ(pol_get(fd, p + MIB, MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC), 1);

	/* partial munmap in the middle of a range */
	ASSERT_EQ(munmap(p + 2 * MIB + 64 * PAGE, 64 * PAGE), 0);
	ASSERT_EQ(pol_get(fd, p + 2 * MIB + 64 * PAGE, 64 * PAGE,
			  UNIMEM_RANGE_ATTR_PREFERRED_LOC), UNIMEM_TARGET_NONE);
	ASSERT_EQ(pol_get(fd, p + 2 * MIB, 64 * PAGE,
			  UNIMEM_RANGE_ATTR_PREFERRED_LOC), 0);
	ASSERT_EQ(pol_get(fd, p + 2 * MIB + 128 * PAGE, MIB,
			  UNIMEM_RANGE_ATTR_PREFERRED_LOC), 0);
	/* a new mapping at the same place does not inherit */
	ASSERT_TRUE(mmap(p + 2 * MIB + 64 * PAGE, 64 * PAGE,
			 PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
		    p + 2 * MIB + 64 * PAGE);
	ASSERT_EQ(pol_get(fd, p + 2 * MIB + 64 * PAGE, 64 * PAGE,
			  UNIMEM_RANGE_ATTR_PREFERRED_LOC), UNIMEM_TARGET_NONE);
	/* MAP_FIXED over attributed memory replaces it */
	ASSERT_TRUE(mmap(p, MIB, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p);
	ASSERT_EQ(pol_get(fd, p, MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
		  UNIMEM_TARGET_NONE);
	/* full munmap drops everything */
	ASSERT_EQ(munmap(p, 4 * MIB), 0);
	ASSERT_EQ(pol_get(fd, p, 4 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
		  UNIMEM_TARGET_NONE);
	close(fd);
}

/* mremap moves the attributes with the pages. */
static void t_mremap(void)
{
	int fd = ut_open(0);
	uint8_t *p = ut_map(4 * MIB), *hole = ut_map(8 * MIB), *q;

	munmap(hole, 8 * MIB);
	ut_pattern(p, 4 * MIB, 7);
	pol_set(fd, p, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC, 1);
	pol_set(fd, p + MIB, MIB, UNIMEM_RANGE_ATTR_GRANULARITY, 3);
	q = mremap(p, 4 * MIB, 4 * MIB, MREMAP_MAYMOVE | MREMAP_FIXED,
		   hole + 2 * MIB);
	ASSERT_TRUE(q == hole + 2 * MIB);
	ut_check_pattern(q, 4 * MIB, 7, p);
	ASSERT_EQ(pol_get(fd, q, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC), 1);
	ASSERT_EQ(pol_get(fd, q, MIB, UNIMEM_RANGE_ATTR_GRANULARITY),
		  UNIMEM_GRANULARITY_DEFAULT);
	ASSERT_EQ(pol_get(fd, q + MIB, MIB, UNIMEM_RANGE_ATTR_GRANULARITY), 3);
	ASSERT_EQ(pol_get(fd, q + 2 * MIB, 2 * MIB,
			  UNIMEM_RANGE_ATTR_PREFERRED_LOC), UNIMEM_TARGET_NONE);
	ASSERT_EQ(pol_get(fd, p, 4 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
		  UNIMEM_TARGET_NONE);

	/* grow in place keeps them, the new tail has none */
	q = mremap(q, 4 * MIB, 6 * MIB, 0);
	if (q != MAP_FAILED) {
		ASSERT_EQ(pol_get(fd, q, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
			  1);
		ASSERT_EQ(pol_get(fd, q + 4 * MIB, 2 * MIB,
				  UNIMEM_RANGE_ATTR_PREFERRED_LOC), UNIMEM_TARGET_NONE);
		/* shrink drops the tail */
		q = mremap(q, 6 * MIB, MIB, 0);
		ASSERT_TRUE(q != MAP_FAILED);
		ASSERT_EQ(pol_get(fd, q, MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC), 1);
		ASSERT_EQ(pol_get(fd, q + MIB, MIB,
				  UNIMEM_RANGE_ATTR_PREFERRED_LOC), UNIMEM_TARGET_NONE);
		/* a second move of part of it */
		p = mremap(q, MIB, MIB, MREMAP_MAYMOVE | MREMAP_FIXED,
			   hole + 7 * MIB);
		ASSERT_TRUE(p == hole + 7 * MIB);
		ASSERT_EQ(pol_get(fd, p, MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC), 1);
		ASSERT_EQ(pol_get(fd, q, MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
			  UNIMEM_TARGET_NONE);
		munmap(p, MIB);
	}
	close(fd);
}

/* A child that opens a device after fork inherits the attributes. */
static void t_fork(void)
{
	int fd = ut_open(0), st;
	uint8_t *p = ut_map(4 * MIB);
	pid_t pid;

	pol_set(fd, p + MIB, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC, 1);
	pol_set(fd, p, MIB, UNIMEM_RANGE_ATTR_READ_MOSTLY, 1);
	pid = fork();
	if (pid == 0) {
		int cfd = ut_open(1);

		ASSERT_EQ(pol_get(cfd, p + MIB, 2 * MIB,
				  UNIMEM_RANGE_ATTR_PREFERRED_LOC), 1);
		ASSERT_EQ(pol_get(cfd, p, MIB, UNIMEM_RANGE_ATTR_READ_MOSTLY), 1);
		ASSERT_EQ(pol_get(cfd, p, 4 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
			  UNIMEM_RANGE_ATTR_MIXED);
		/* the child's copy is its own */
		pol_set(cfd, p, 4 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC, 0);
		close(cfd);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ASSERT_EQ(pol_get(fd, p + MIB, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC), 1);
	ASSERT_EQ(pol_get(fd, p, MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC),
		  UNIMEM_TARGET_NONE);
	munmap(p, 4 * MIB);
	close(fd);
}

/* Many small ranges, set and unmapped in random order: no leak, no splat. */
static void t_churn(void)
{
	int fd = ut_open(0);
	size_t n = 256, i;
	uint8_t *p = ut_map(n * 4 * PAGE);
	unsigned int seed = 1;

	for (i = 0; i < 2000; i++) {
		size_t a = rand_r(&seed) % n, b = rand_r(&seed) % 8 + 1;

		if (a + b > n)
			b = n - a;
		pol_set(fd, p + a * 4 * PAGE, b * 4 * PAGE,
			UNIMEM_RANGE_ATTR_GRANULARITY, rand_r(&seed) % 4);
		if (i % 97 == 0) {
			mprotect(p + a * 4 * PAGE, 4 * PAGE, PROT_READ);
			mprotect(p + a * 4 * PAGE, 4 * PAGE,
				 PROT_READ | PROT_WRITE);
		}
	}
	pol_set(fd, p, n * 4 * PAGE, UNIMEM_RANGE_ATTR_GRANULARITY, 2);
	ASSERT_EQ(pol_get(fd, p, n * 4 * PAGE, UNIMEM_RANGE_ATTR_GRANULARITY), 2);
	for (i = 0; i < n; i += 2)
		munmap(p + i * 4 * PAGE, 4 * PAGE);
	for (i = 1; i < n; i += 2)
		ASSERT_EQ(pol_get(fd, p + i * 4 * PAGE, 4 * PAGE,
				  UNIMEM_RANGE_ATTR_GRANULARITY), 2);
	close(fd);	/* the store is freed with ranges left in it */
}

static const struct ut_case cases[] = {
	{ "validate", t_validate, NULL },
	{ "setget", t_setget, NULL },
	{ "split", t_split, NULL },
	{ "mremap", t_mremap, NULL },
	{ "fork", t_fork, NULL },
	{ "churn", t_churn, NULL },
};

int main(int argc, char **argv)
{
	return ut_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]),
		       "ndevices=2 mem_mib=32");
}
