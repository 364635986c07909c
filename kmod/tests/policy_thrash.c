// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM test and benchmark: ping-pong - the CPU and device 0 alternately write
 * the same pages of a range whose preferred location is device 0.  Without
 * thrashing control every round migrates every block twice; with it the
 * blocks are pinned in system memory after a few rounds and the device
 * maps them remotely.
 *
 * Usage: policy_thrash [test]            assertions (default)
 *        policy_thrash bench ROUNDS MIB  prints a table row per mode
 */
#include "policy_ut.h"

struct pp_result {
	uint64_t block_moves;	/* UNIMEM_PCNT_BLOCK_MIGRATIONS */
	uint64_t pages_to_dev;	/* UNIMEM_CNT_FAULT_TO_DEVICE */
	uint64_t pages_to_sys;	/* UNIMEM_CNT_FAULT_TO_SYSTEM */
	uint64_t pinned, throttled;
	double secs;
};

/*
 * @rounds rounds over a fresh @len mapping: device reads the CPU's last
 * value, device fills, CPU checks and writes one word per page.
 */
static struct pp_result pingpong(int fd, size_t len, int rounds)
{
	uint8_t *p = pol_map_aligned(len, 2 * MIB);
	size_t np = len / PAGE, i;
	struct pp_result r0 = {
		.block_moves = pol_ctr(fd, UNIMEM_PCNT_BLOCK_MIGRATIONS),
		.pages_to_dev = ut_ctr(fd, UNIMEM_CNT_FAULT_TO_DEVICE),
		.pages_to_sys = ut_ctr(fd, UNIMEM_CNT_FAULT_TO_SYSTEM),
		.pinned = pol_ctr(fd, UNIMEM_PCNT_PINNED),
		.throttled = pol_ctr(fd, UNIMEM_PCNT_THROTTLED),
	}, r;
	double t0;
	int round;

	memset(p, 0, len);
	pol_set(fd, p, len, UNIMEM_RANGE_ATTR_PREFERRED_LOC, 0);
	t0 = ut_now();
	for (round = 1; round <= rounds; round++) {
		struct unimem_dev_op op = {
			.op = UNIMEM_OP_FILL, .addr = (uintptr_t)p,
			.length = len, .value = round, .width = 8,
		};
		uint64_t v;

		if (round > 1) {
			ut_dev_read(fd, p + (round % np) * PAGE, &v, 8);
			ASSERT_EQ(v, 1000000 + round - 1);
		}
		IOK(fd, UNIMEM_IOCTL_DEV_EXEC, &op);
		for (i = 0; i < np; i++) {
			uint64_t *w = (uint64_t *)(p + i * PAGE);

			ASSERT_EQ(w[1], round);
			w[0] = 1000000 + round;
		}
	}
	r.secs = ut_now() - t0;
	r.block_moves = pol_ctr(fd, UNIMEM_PCNT_BLOCK_MIGRATIONS) -
			r0.block_moves;
	r.pages_to_dev = ut_ctr(fd, UNIMEM_CNT_FAULT_TO_DEVICE) -
			 r0.pages_to_dev;
	r.pages_to_sys = ut_ctr(fd, UNIMEM_CNT_FAULT_TO_SYSTEM) -
			 r0.pages_to_sys;
	r.pinned = pol_ctr(fd, UNIMEM_PCNT_PINNED) - r0.pinned;
	r.throttled = pol_ctr(fd, UNIMEM_PCNT_THROTTLED) - r0.throttled;
	munmap(p, len);
	return r;
}

static void report(const char *mode, int rounds, size_t len,
		   const struct pp_result *r)
{
	ut_log("| %-26s | %5d | %4zu | %6llu | %8llu | %8llu | %3llu | %5llu | %8.3f | %8.1f |",
	       mode, rounds, len / MIB, (unsigned long long)r->block_moves,
	       (unsigned long long)r->pages_to_dev,
	       (unsigned long long)r->pages_to_sys,
	       (unsigned long long)r->pinned,
	       (unsigned long long)r->throttled, r->secs,
	       r->secs * 1e6 / rounds);
}

static void header(void)
{
	ut_log("| mode                       | rounds | MiB | block moves | pages to dev | pages to sys | pins | throttled | seconds | us/round |");
}

int main(int argc, char **argv)
{
	bool bench = argc > 1 && !strcmp(argv[1], "bench");
	int rounds = bench && argc > 2 ? atoi(argv[2]) : 60;
	size_t len = (bench && argc > 3 ? atoi(argv[3]) : 2) * MIB;
	struct pp_result off, on, def;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ut_thp("never");
	ut_load("ndevices=2 mem_mib=64");
	fd = ut_open(0);

	header();
	pol_policy(fd, UNIMEM_POLICY_FIRST_TOUCH, 4, 1000, 1000);
	off = pingpong(fd, len, rounds);
	report("thrashing control off", rounds, len, &off);

	/* a back-off longer than the run: deterministic */
	pol_policy(fd, UNIMEM_POLICY_FIRST_TOUCH | UNIMEM_POLICY_THRASH, 4,
		   5000, 60000);
	on = pingpong(fd, len, rounds);
	report("on (4 in 5 s, 60 s back-off)", rounds, len, &on);

	/*
	 * Module defaults: 4 moves in 1 s, 1 s back-off doubling.  Timing
	 * dependent (a round must take < 400 ms), so only benchmarked.
	 */
	if (bench) {
		pol_policy(fd, UNIMEM_POLICY_FIRST_TOUCH |
			   UNIMEM_POLICY_THRASH, 4, 1000, 1000);
		def = pingpong(fd, len, rounds);
		report("on (defaults)", rounds, len, &def);
	}

	if (!bench) {
		size_t nb = len / (2 * MIB);

		/* off: every round moves every block there and back */
		ASSERT_EQ(off.block_moves, 2 * rounds * nb);
		ASSERT_EQ(off.pinned, 0);
		ASSERT_EQ(off.throttled, 0);
		/* on: pinned after threshold + 1 moves, then one move back */
		ASSERT_EQ(on.pinned, nb);
		ASSERT_LE(on.block_moves, 6 * nb);
		/*
		 * The device faults once more on a pinned block and maps it
		 * remotely; that mapping then stays (CPU writes to system
		 * memory do not invalidate it), so no more faults follow.
		 */
		ASSERT_GE(on.throttled, nb);
		ASSERT_GE(off.block_moves, 10 * on.block_moves);
		ASSERT_GE(off.pages_to_dev + off.pages_to_sys,
			  10 * (on.pages_to_dev + on.pages_to_sys));
	}
	close(fd);
	ut_unload();
	return 0;
}
