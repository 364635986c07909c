/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the range-attribute / placement-policy VM tests.
 */
#ifndef UNIMEM_POLICY_UT_H
#define UNIMEM_POLICY_UT_H

#include <stdbool.h>

#include "ut.h"

#define MIB (1024UL * 1024UL)

static inline int pol_attr(int fd, uint32_t op, void *addr, size_t len,
			   struct unimem_attr *a, uint32_t n)
{
	struct unimem_attr_op o = {
		.addr = (uintptr_t)addr, .length = len, .op = op,
		.nattrs = n, .attrs = (uintptr_t)a,
	};

	return ioctl(fd, UNIMEM_IOCTL_ATTR, &o);
}

static inline void pol_set(int fd, void *addr, size_t len, uint32_t type,
			   uint32_t value)
{
	struct unimem_attr a = { .type = type, .value = value };

	if (pol_attr(fd, UNIMEM_RANGE_ATTR_OP_SET, addr, len, &a, 1))
		UT_FAIL("attr set type %u value 0x%x on %p+0x%zx: %s", type,
			value, addr, len, strerror(errno));
}

static inline uint32_t pol_get(int fd, void *addr, size_t len, uint32_t type)
{
	struct unimem_attr a = { .type = type };

	if (pol_attr(fd, UNIMEM_RANGE_ATTR_OP_GET, addr, len, &a, 1))
		UT_FAIL("attr get type %u on %p+0x%zx: %s", type, addr, len,
			strerror(errno));
	return a.value;
}

/* Register [addr, len) as managed without changing any attribute. */
static inline void pol_manage(int fd, void *addr, size_t len)
{
	pol_set(fd, addr, len, UNIMEM_RANGE_ATTR_PREFERRED_LOC, UNIMEM_TARGET_NONE);
}

static inline uint64_t pol_ctr(int fd, enum unimem_policy_counter i)
{
	struct unimem_policy_counters c;

	memset(&c, 0, sizeof(c));
	c.scope = UNIMEM_PSCOPE_MM;
	IOK(fd, UNIMEM_IOCTL_POLICY_COUNTERS, &c);
	ASSERT_EQ(c.ncounters, UNIMEM_PCNT_NR);
	return c.values[i];
}

static inline void pol_policy(int fd, uint32_t flags, uint32_t thr,
			      uint32_t win_ms, uint32_t backoff_ms)
{
	struct unimem_policy p = {
		.op = UNIMEM_POLICY_OP_SET, .flags = flags,
		.thrash_threshold = thr, .thrash_window_ms = win_ms,
		.thrash_backoff_ms = backoff_ms,
	};

	IOK(fd, UNIMEM_IOCTL_POLICY, &p);
}

static inline struct unimem_prefetch pol_prefetch(int fd, void *addr,
						  size_t len, uint32_t target,
						  uint32_t flags)
{
	struct unimem_prefetch p = {
		.addr = (uintptr_t)addr, .length = len, .target = target,
		.flags = flags,
	};

	IOK(fd, UNIMEM_IOCTL_PREFETCH, &p);
	return p;
}

/* An anonymous mapping aligned to @align. */
static inline uint8_t *pol_map_aligned(size_t len, size_t align)
{
	uint8_t *p = ut_map(len + align);
	uint8_t *a = (uint8_t *)(((uintptr_t)p + align - 1) & ~(align - 1));

	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + align - a);
	return a;
}

/* Device read of one byte (a device touch). */
static inline uint8_t pol_dev_touch(int fd, void *addr)
{
	uint8_t b;

	ut_dev_read(fd, addr, &b, 1);
	return b;
}

static inline size_t pol_on_dev(int fd, void *addr, size_t npages, int dev)
{
	return ut_count_res(fd, addr, npages, UNIMEM_RES_DEVICE, dev);
}

static inline size_t pol_on_sys(int fd, void *addr, size_t npages)
{
	return ut_count_res(fd, addr, npages, UNIMEM_RES_SYSTEM, -1);
}

#endif /* UNIMEM_POLICY_UT_H */
