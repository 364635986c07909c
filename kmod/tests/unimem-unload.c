// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem-unload: unload the module while processes hold device pages; their
 * data must be intact afterwards (migrated back to system memory).
 */
#include "ut.h"

#define MIB (1UL << 20)

int main(void)
{
	size_t len = 8 * MIB;
	uint8_t *p, *q;
	int fd, fd1, st, pfd[2], cfd[2];
	pid_t pid;
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ut_load("ndevices=2 mem_mib=16");
	p = ut_map(len);
	ut_pattern(p, len, 42);
	ASSERT_EQ(pipe(pfd), 0);
	ASSERT_EQ(pipe(cfd), 0);

	/* a child process with device pages on both devices */
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		int f0 = ut_open(0), f1 = ut_open(1);

		q = ut_map(len);
		ut_pattern(q, len, 43);
		ut_migrate_all(f0, q, len / 2, 0);
		ut_migrate_all(f1, q + len / 2, len / 2, 1);
		close(f0);
		close(f1);
		ASSERT_EQ(write(pfd[1], "r", 1), 1);
		/* CPU faults on device pages while the module unloads */
		{
			volatile uint64_t sum = 0;
			size_t k;

			for (k = 0; k < len; k += PAGE) {
				sum += *(volatile uint64_t *)(q + k);
				if (!(k % (64 * PAGE)))
					usleep(1000);
			}
			(void)sum;
		}
		ASSERT_EQ(read(cfd[0], &c, 1), 1);	/* module is gone */
		ut_check_pattern(q, len, 43, q);
		_exit(0);
	}

	fd = ut_open(0);
	fd1 = ut_open(1);
	ut_migrate_all(fd, p, len / 2, 0);
	ut_migrate_all(fd1, p + len / 2, len / 4, 1);
	ASSERT_EQ(ut_count_res(fd, p, len / PAGE, UNIMEM_RES_DEVICE, -1),
		  3 * len / 4 / PAGE);
	close(fd);
	close(fd1);
	ASSERT_EQ(read(pfd[0], &c, 1), 1);	/* child is ready */

	ut_unload();
	ASSERT_TRUE(access("/dev/unimem0", F_OK) != 0);
	ut_check_pattern(p, len, 42, p);
	ASSERT_EQ(write(cfd[1], "g", 1), 1);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* reload: all device memory is free, data still there */
	ut_load("ndevices=2 mem_mib=16");
	fd = ut_open(0);
	ASSERT_EQ(ut_mem_free(fd, 0), 16 * MIB);
	ASSERT_EQ(ut_mem_free(fd, 1), 16 * MIB);
	ASSERT_EQ(ut_count_res(fd, p, len / PAGE, UNIMEM_RES_SYSTEM, -1),
		  len / PAGE);
	ut_check_pattern(p, len, 42, p);
	close(fd);
	ut_unload();
	printf("PASS\n");
	return 0;
}
