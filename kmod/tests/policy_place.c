// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM test: the device access and CPU access rules of the placement policy,
 * asserted on residency (snapshot), data and counters.
 * Usage: policy_place CASE|all
 */
#include "policy_ut.h"

#define NP2M 512UL	/* pages per 2 MiB */

/* No preference: first device touch migrates the 2 MiB block, the CPU
 * fault brings back exactly that block, later touches map remotely. */
static void t_first_touch(void)
{
	int fd = ut_open(0);
	uint8_t *p = pol_map_aligned(4 * MIB, 2 * MIB);
	uint8_t b[PAGE];
	uint64_t ft, rm;

	ut_pattern(p, 4 * MIB, 11);
	pol_manage(fd, p, 4 * MIB);
	ut_dev_read(fd, p + 5 * PAGE, b, PAGE);
	ut_check_pattern(b, PAGE, 11, p + 5 * PAGE);
	ASSERT_EQ(pol_on_dev(fd, p, NP2M, 0), NP2M);
	ASSERT_EQ(pol_on_sys(fd, p + 2 * MIB, NP2M), NP2M);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_FIRST_TOUCH), 1);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_POLICY_PAGES), NP2M);
	ASSERT_EQ(ut_ctr(fd, UNIMEM_CNT_FAULT_TO_DEVICE), NP2M);

	/* CPU fault: the whole block, no more, no less */
	ASSERT_TRUE(*(volatile uint64_t *)(p + 7 * PAGE) ==
		    ut_mix(11, (uintptr_t)(p + 7 * PAGE)));
	ASSERT_EQ(pol_on_sys(fd, p, 2 * NP2M), 2 * NP2M);
	ASSERT_EQ(ut_ctr(fd, UNIMEM_CNT_CPU_FAULTS), 1);
	ASSERT_EQ(ut_ctr(fd, UNIMEM_CNT_FAULT_TO_SYSTEM), NP2M);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_CPU_FAULT_BLOCKS), 1);

	/* the second touch is not the first: mapped remotely */
	ft = pol_ctr(fd, UNIMEM_PCNT_FIRST_TOUCH);
	rm = pol_ctr(fd, UNIMEM_PCNT_REMOTE_MAP);
	ut_dev_read(fd, p + 5 * PAGE, b, PAGE);
	ASSERT_EQ(pol_on_sys(fd, p, NP2M), NP2M);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_FIRST_TOUCH), ft);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_REMOTE_MAP), rm + 1);
	{
		uint32_t e;

		ut_snapshot(fd, p + 5 * PAGE, 1, &e);
		ASSERT_TRUE(e & UNIMEM_RES_MIRRORED);
	}

	/* never-populated memory is populated on the device */
	{
		uint8_t *q = pol_map_aligned(2 * MIB, 2 * MIB);

		pol_manage(fd, q, 2 * MIB);
		ASSERT_EQ(pol_dev_touch(fd, q + 3 * PAGE), 0);
		ASSERT_EQ(pol_on_dev(fd, q, NP2M, 0), NP2M);
		ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_FIRST_TOUCH), ft + 1);
		ASSERT_EQ(q[PAGE], 0);
		munmap(q, 2 * MIB);
	}

	/* first touch disabled: remote */
	pol_policy(fd, UNIMEM_POLICY_THRASH, 4, 1000, 1000);
	{
		uint8_t *q = pol_map_aligned(2 * MIB, 2 * MIB);

		memset(q, 1, 2 * MIB);
		pol_manage(fd, q, 2 * MIB);
		ASSERT_EQ(pol_dev_touch(fd, q), 1);
		ASSERT_EQ(pol_on_sys(fd, q, NP2M), NP2M);
		munmap(q, 2 * MIB);
	}
	munmap(p, 4 * MIB);
	close(fd);
}

static int peer_access;	/* the module was loaded with peer_access=1 */

/* Preferred location: migrate to it on every device touch; CPU faults
 * bring the block back and the next touch migrates again. */
static void t_preferred(void)
{
	int fd = ut_open(0), fd1 = ut_open(1);
	uint8_t *p = pol_map_aligned(2 * MIB, 2 * MIB);
	int round;

	/* thrashing control is policy_thrash's subject, not this one's */
	pol_policy(fd, UNIMEM_POLICY_FIRST_TOUCH, 4, 1000, 1000);
	memset(p, 0x5a, 2 * MIB);
	pol_set(fd, p, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC, 0);
	for (round = 0; round < 3; round++) {
		struct unimem_dev_op op = {
			.op = UNIMEM_OP_FILL, .addr = (uintptr_t)p,
			.length = 2 * MIB, .value = round + 1, .width = 1,
		};

		IOK(fd, UNIMEM_IOCTL_DEV_EXEC, &op);
		ASSERT_EQ(pol_on_dev(fd, p, NP2M, 0), NP2M);
		ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_PREFERRED), round + 1);
		ASSERT_EQ(p[PAGE * 100], round + 1);	/* CPU fault */
		ASSERT_EQ(pol_on_sys(fd, p, NP2M), NP2M);
	}
	/* device 1 touching memory that prefers device 0: remote */
	ASSERT_EQ(pol_dev_touch(fd1, p + PAGE), 3);
	ASSERT_EQ(pol_on_sys(fd, p, NP2M), NP2M);
	ASSERT_EQ(pol_ctr(fd1, UNIMEM_PCNT_REMOTE_MAP), 1);
	{
		struct unimem_policy_counters c = {
			.scope = UNIMEM_PSCOPE_DEVICE, .device = 1,
		};

		IOK(fd, UNIMEM_IOCTL_POLICY_COUNTERS, &c);
		ASSERT_EQ(c.values[UNIMEM_PCNT_REMOTE_MAP], 1);
		c.device = 0;
		IOK(fd, UNIMEM_IOCTL_POLICY_COUNTERS, &c);
		ASSERT_EQ(c.values[UNIMEM_PCNT_PREFERRED], 3);
	}
	/*
	 * Preferred device 1: a SET drops the devices' mappings of the range,
	 * so device 1's next access to the page it already mapped faults and
	 * migrates the block.
	 */
	pol_set(fd, p, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC, 1);
	ASSERT_EQ(pol_dev_touch(fd1, p + PAGE), 3);
	ASSERT_EQ(pol_on_dev(fd, p, NP2M, 1), NP2M);
	ASSERT_EQ(pol_dev_touch(fd, p + PAGE), 3);	/* device 0 reads */
	if (peer_access) {
		/* one pgmap owner: device 0 maps device 1's memory in place */
		ASSERT_EQ(pol_on_dev(fd, p, NP2M, 1), NP2M);
	} else {
		/*
		 * Its own owner: device 1's pages come back to system memory
		 * (the block, as for a CPU fault) and device 0 maps them
		 * there; device 1's next touch migrates the block again.
		 */
		ASSERT_EQ(pol_on_sys(fd, p, NP2M), NP2M);
		ASSERT_EQ(pol_dev_touch(fd1, p + PAGE), 3);
		ASSERT_EQ(pol_on_dev(fd, p, NP2M, 1), NP2M);
	}
	munmap(p, 2 * MIB);
	close(fd1);
	close(fd);
}

/* Preferred system, accessed-by, read-mostly: mapped remotely, even on
 * the first touch; no-device-access: EACCES. */
static void t_remote(void)
{
	int fd = ut_open(0);
	uint8_t *p = pol_map_aligned(8 * MIB, 2 * MIB);
	struct unimem_dev_op op = {
		.op = UNIMEM_OP_READ, .length = 8,
	};
	uint64_t v;

	memset(p, 0x11, 8 * MIB);
	pol_set(fd, p, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC, UNIMEM_TARGET_SYSTEM);
	pol_set(fd, p + 2 * MIB, 2 * MIB, UNIMEM_RANGE_ATTR_ACCESSED_BY, 1);
	pol_set(fd, p + 4 * MIB, 2 * MIB, UNIMEM_RANGE_ATTR_READ_MOSTLY, 1);
	pol_set(fd, p + 6 * MIB, 2 * MIB, UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS, 1);

	ASSERT_EQ(pol_dev_touch(fd, p), 0x11);
	ASSERT_EQ(pol_dev_touch(fd, p + 2 * MIB), 0x11);
	ut_dev_write(fd, p + 4 * MIB, "\x22", 1);
	ASSERT_EQ(p[4 * MIB], 0x22);
	ASSERT_EQ(pol_on_sys(fd, p, 3 * NP2M), 3 * NP2M);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_REMOTE_MAP), 3);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_FIRST_TOUCH), 0);
	ASSERT_EQ(ut_ctr(fd, UNIMEM_CNT_FAULT_TO_DEVICE), 0);

	/* accessed-by another device does not stop device 0's first touch */
	pol_set(fd, p + 2 * MIB, 2 * MIB, UNIMEM_RANGE_ATTR_ACCESSED_BY, 2);
	ut_migrate_all(fd, p + 2 * MIB, 2 * MIB, UNIMEM_TARGET_SYSTEM);
	ASSERT_EQ(pol_dev_touch(fd, p + 2 * MIB), 0x11);
	/* (not a first touch any more: the block was touched above) */
	ASSERT_EQ(pol_on_sys(fd, p + 2 * MIB, NP2M), NP2M);

	op.addr = (uintptr_t)(p + 6 * MIB + 8);
	op.buf = (uintptr_t)&v;
	ASSERT_EQ(ioctl(fd, UNIMEM_IOCTL_DEV_EXEC, &op), -1);
	ASSERT_EQ(errno, EACCES);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_DENIED), 1);
	/* a range the device has mapped is unmapped by the SET */
	ASSERT_EQ(pol_dev_touch(fd, p + 16), 0x11);
	pol_set(fd, p, 2 * MIB, UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS, 1);
	op.addr = (uintptr_t)(p + 16);
	ASSERT_EQ(ioctl(fd, UNIMEM_IOCTL_DEV_EXEC, &op), -1);
	ASSERT_EQ(errno, EACCES);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_DENIED), 2);
	pol_set(fd, p, 2 * MIB, UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS, 0);
	op.addr = (uintptr_t)(p + 6 * MIB + 8);
	/* CPU access is unaffected */
	ASSERT_EQ(p[6 * MIB + 8], 0x11);
	/* lifting it allows access again */
	pol_set(fd, p + 6 * MIB, 2 * MIB, UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS, 0);
	IOK(fd, UNIMEM_IOCTL_DEV_EXEC, &op);
	munmap(p, 8 * MIB);
	close(fd);
}

/* Granularity: device touch migrates, CPU fault brings back, exactly the
 * aligned block of 2^gran pages. */
static void t_granularity(void)
{
	int fd = ut_open(0);
	uint8_t *p = pol_map_aligned(2 * MIB, 2 * MIB);
	uint64_t back;

	ut_pattern(p, 2 * MIB, 3);
	pol_set(fd, p, 2 * MIB, UNIMEM_RANGE_ATTR_GRANULARITY, 4);	/* 16 pages */
	pol_set(fd, p, 2 * MIB, UNIMEM_RANGE_ATTR_PREFERRED_LOC, 0);
	pol_dev_touch(fd, p + 20 * PAGE + 9);
	ASSERT_EQ(pol_on_dev(fd, p, NP2M, 0), 16);
	ASSERT_EQ(pol_on_dev(fd, p + 16 * PAGE, 16, 0), 16);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_POLICY_PAGES), 16);
	/* a device write spanning two blocks migrates both */
	ut_dev_write(fd, p + 47 * PAGE, "abcdefgh", 8);
	ut_dev_write(fd, p + 48 * PAGE - 4, "abcdefgh", 8);
	ASSERT_EQ(pol_on_dev(fd, p, NP2M, 0), 48);
	ASSERT_EQ(pol_on_dev(fd, p + 32 * PAGE, 32, 0), 32);

	back = ut_ctr(fd, UNIMEM_CNT_FAULT_TO_SYSTEM);
	ASSERT_EQ(memcmp(p + 47 * PAGE, "abcdefgh", 8), 0);	/* CPU fault */
	ASSERT_EQ(ut_ctr(fd, UNIMEM_CNT_FAULT_TO_SYSTEM), back + 16);
	ASSERT_EQ(pol_on_dev(fd, p, NP2M, 0), 32);
	ASSERT_EQ(pol_on_sys(fd, p + 32 * PAGE, 16), 16);
	ut_check_pattern(p + 16 * PAGE, 16 * PAGE, 3, p + 16 * PAGE);
	ASSERT_EQ(ut_ctr(fd, UNIMEM_CNT_FAULT_TO_SYSTEM), back + 32);

	/* granularity 0: single pages */
	pol_set(fd, p, 2 * MIB, UNIMEM_RANGE_ATTR_GRANULARITY, 0);
	ut_migrate_all(fd, p, 2 * MIB, UNIMEM_TARGET_SYSTEM);
	pol_dev_touch(fd, p + 100 * PAGE);
	ASSERT_EQ(pol_on_dev(fd, p, NP2M, 0), 1);
	back = ut_ctr(fd, UNIMEM_CNT_FAULT_TO_SYSTEM);
	ut_migrate_all(fd, p, 8 * PAGE, 0);
	(void)*(volatile uint8_t *)(p + 3 * PAGE);
	ASSERT_EQ(ut_ctr(fd, UNIMEM_CNT_FAULT_TO_SYSTEM), back + 1);
	ASSERT_EQ(pol_on_dev(fd, p, 8, 0), 7);

	/* a block is clipped to the range of equal attributes */
	pol_set(fd, p, 2 * MIB, UNIMEM_RANGE_ATTR_GRANULARITY, 9);
	pol_set(fd, p + 64 * PAGE, 8 * PAGE, UNIMEM_RANGE_ATTR_PREFERRED_LOC,
		UNIMEM_TARGET_SYSTEM);
	ut_migrate_all(fd, p, 2 * MIB, 0);
	(void)*(volatile uint8_t *)(p + 66 * PAGE);
	ASSERT_EQ(pol_on_sys(fd, p, NP2M), 8);
	ASSERT_EQ(pol_on_sys(fd, p + 64 * PAGE, 8), 8);
	munmap(p, 2 * MIB);
	close(fd);
}

/* Memory without attributes keeps the core's behaviour. */
static void t_unmanaged(void)
{
	int fd = ut_open(0);
	uint8_t *p = pol_map_aligned(2 * MIB, 2 * MIB);
	size_t i;

	memset(p, 0x33, 2 * MIB);
	for (i = 0; i < 2 * MIB; i += 64 * PAGE)
		ASSERT_EQ(pol_dev_touch(fd, p + i), 0x33);
	ASSERT_EQ(pol_on_sys(fd, p, NP2M), NP2M);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_FIRST_TOUCH), 0);
	ASSERT_EQ(pol_ctr(fd, UNIMEM_PCNT_REMOTE_MAP), 0);
	munmap(p, 2 * MIB);
	close(fd);
}

static void t_preferred_peer(void)
{
	peer_access = 1;
	t_preferred();
}

static const struct ut_case cases[] = {
	{ "first_touch", t_first_touch, "ndevices=2 mem_mib=32" },
	{ "preferred", t_preferred, "ndevices=2 mem_mib=32" },
	{ "preferred-peer", t_preferred_peer,
	  "ndevices=2 mem_mib=32 peer_access=1" },
	{ "remote", t_remote, "ndevices=2 mem_mib=32" },
	{ "granularity", t_granularity, "ndevices=2 mem_mib=32" },
	{ "unmanaged", t_unmanaged, "ndevices=2 mem_mib=32" },
};

int main(int argc, char **argv)
{
	ut_thp("never");
	return ut_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]),
		       NULL);
}
