/* SPDX-License-Identifier: MIT */
/* um_policy.h - the memory policy of the page at an address (tests). */
#ifndef UM_TEST_POLICY_H
#define UM_TEST_POLICY_H

#include <sys/syscall.h>
#include <unistd.h>

#define UM_MPOL_DEFAULT 0
#define UM_MPOL_PREFERRED 1
#define UM_MPOL_INTERLEAVE 3

/* get_mempolicy(MPOL_F_ADDR): the mode at @p, or -1. */
static inline int um_policy_of(const void *p)
{
	int mode = -1;
	unsigned long mask[16] = { 0 };
	if (syscall(SYS_get_mempolicy, &mode, mask, sizeof(mask) * 8, p, 1 << 1) < 0)
		return -1;
	return mode;
}

#endif /* UM_TEST_POLICY_H */
