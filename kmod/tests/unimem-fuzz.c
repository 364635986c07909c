// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem-fuzz: ioctl fuzzer for unimem.ko.
 *
 *   unimem-fuzz [iterations] [seed]
 *
 * Random and boundary arguments to every ioctl (and to unknown ioctl
 * numbers): reserved fields, flags, sizes, alignments, wrap-around, kernel
 * and unmapped addresses, caps +-1.  Memory-writing operations only ever
 * target a sandbox mapping or invalid addresses, so the fuzzer cannot corrupt
 * itself; everything else may point anywhere.  It passes when the kernel
 * neither crashes nor splats and every failure is a documented errno.
 */
#include "ut.h"

static uint64_t st;

static uint64_t rnd(void)
{
	uint64_t z = (st += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint8_t *sandbox, *hole;
static const size_t sandbox_len = 64 * PAGE;

/* An address that is safe to write: sandbox, hole, or invalid. */
static uint64_t wr_addr(void)
{
	static const uint64_t fixed[] = {
		0, 1, PAGE - 1, PAGE, 0x10000, 0x7ffffffff000ULL,
		0x7fffffffffffULL, 0x800000000000ULL, 0xffff800000000000ULL,
		0xffffffffffffffffULL, 0xfffffffffffff000ULL, 1ULL << 63,
	};

	switch (rnd() % 5) {
	case 0:
		return fixed[rnd() % (sizeof(fixed) / sizeof(fixed[0]))];
	case 1:
		return (uintptr_t)hole + rnd() % (4 * PAGE);
	default:
		return (uintptr_t)sandbox + rnd() % sandbox_len;
	}
}

/* An address for reading / migrating: anything of ours is fine too. */
static uint64_t any_addr(void)
{
	static int stackvar;

	switch (rnd() % 4) {
	case 0:
		return (uintptr_t)&stackvar & ~(PAGE - 1);
	case 1:
		return (uintptr_t)any_addr & ~(PAGE - 1);
	default:
		return wr_addr();
	}
}

static uint64_t len_val(void)
{
	static const uint64_t fixed[] = {
		0, 1, 3, 4, 7, 8, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE,
		UNIMEM_MAX_DEV_OP_LENGTH, UNIMEM_MAX_DEV_OP_LENGTH + 1,
		(uint64_t)UNIMEM_MAX_SNAPSHOT_PAGES,
		(uint64_t)UNIMEM_MAX_SNAPSHOT_PAGES + 1, 1ULL << 47,
		~0ULL, ~0ULL - PAGE + 1, 1ULL << 63,
	};

	if (rnd() & 1)
		return fixed[rnd() % (sizeof(fixed) / sizeof(fixed[0]))];
	return rnd() % (sandbox_len + 2 * PAGE);
}

static uint32_t small(void)
{
	static const uint32_t fixed[] = {
		0, 1, 2, 3, 4, 7, 8, 16, 0xff, 0xffffffffu, 0xfffffffeu,
		0x80000000u,
	};

	return fixed[rnd() % (sizeof(fixed) / sizeof(fixed[0]))];
}

static void maybe_dirty(void *reserved, size_t len)
{
	if (rnd() % 8 == 0)
		((uint8_t *)reserved)[rnd() % len] = (uint8_t)rnd() | 1;
}

static long nerr[256];

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 20000, i;
	int fd, fd1;

	st = argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)time(NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("fuzz: %ld iterations, seed %llu\n", iters,
	       (unsigned long long)st);
	ut_load("ndevices=2 mem_mib=8");
	fd = ut_open(0);
	fd1 = ut_open(1);
	/*
	 * The sandbox is followed by 2 GiB of PROT_NONE, more than any
	 * accepted length, so no write can reach beyond it.
	 */
	sandbox = mmap(NULL, 2UL << 30, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_TRUE(sandbox != MAP_FAILED);
	ASSERT_EQ(mprotect(sandbox, sandbox_len, PROT_READ | PROT_WRITE), 0);
	hole = ut_map(4 * PAGE);
	munmap(hole, 4 * PAGE);

	for (i = 0; i < iters; i++) {
		union {
			struct unimem_version v;
			struct unimem_device_info info;
			struct unimem_migrate m;
			struct unimem_dev_op op;
			struct unimem_snapshot s;
			struct unimem_counters c;
			struct unimem_migrate_batch b;
			uint8_t raw[1024];
		} a;
		struct unimem_migrate be[4];
		unsigned long cmd;
		void *arg = &a;
		int r, f = (rnd() & 1) ? fd : fd1;

		memset(&a, 0, sizeof(a));
		switch (rnd() % 9) {
		case 0:
			cmd = UNIMEM_IOCTL_VERSION;
			maybe_dirty(a.v.reserved, sizeof(a.v.reserved));
			break;
		case 1:
			cmd = UNIMEM_IOCTL_DEVICE_INFO;
			a.info.device = small();
			a.info.flags = rnd() % 8 ? 0 : small();
			maybe_dirty(a.info.reserved, sizeof(a.info.reserved));
			break;
		case 2:
			cmd = UNIMEM_IOCTL_MIGRATE;
			a.m.addr = any_addr();
			if (rnd() & 1)
				a.m.addr &= ~(PAGE - 1);
			a.m.length = len_val();
			if (rnd() & 1)
				a.m.length &= ~(PAGE - 1);
			if (rnd() % 4 == 0)
				a.m.length = (rnd() % 64) * PAGE;
			a.m.target = small();
			if (rnd() & 1)
				a.m.target = rnd() % 3 == 2 ? UNIMEM_TARGET_SYSTEM
							    : rnd() % 2;
			a.m.flags = rnd() % 4 ? rnd() % 2 : small();
			maybe_dirty(a.m.reserved, sizeof(a.m.reserved));
			break;
		case 3:
		case 4:
			cmd = UNIMEM_IOCTL_DEV_EXEC;
			a.op.op = rnd() % 4 ? 1 + rnd() % 7 : small();
			a.op.addr = (a.op.op == UNIMEM_OP_READ) ? any_addr()
								 : wr_addr();
			a.op.length = len_val();
			if (a.op.op == UNIMEM_OP_WRITE)
				a.op.buf = any_addr();
			else
				a.op.buf = rnd() % 4 ? wr_addr() : 0;
			a.op.src = rnd() % 2 ? any_addr() : 0;
			a.op.value = rnd() % 2 ? rnd() : 0;
			a.op.compare = rnd() % 2 ? rnd() : 0;
			a.op.width = small();
			if (a.op.op >= UNIMEM_OP_ATOMIC_ADD && rnd() % 2) {
				a.op.length = 0;
				a.op.buf = 0;
				a.op.src = 0;
				a.op.width = rnd() % 2 ? 4 : 8;
				a.op.addr &= ~7ULL;
				a.op.value &= 0xffffffffu;
				a.op.compare &= 0xffffffffu;
			}
			a.op.flags = rnd() % 8 ? 0 : small();
			a.op.reserved0 = rnd() % 8 ? 0 : small();
			maybe_dirty(a.op.reserved, sizeof(a.op.reserved));
			break;
		case 5:
			cmd = UNIMEM_IOCTL_SNAPSHOT;
			a.s.addr = any_addr();
			a.s.npages = rnd() % 2 ? rnd() % 128 : len_val();
			a.s.entries = wr_addr();
			a.s.flags = rnd() % 8 ? 0 : small();
			maybe_dirty(a.s.reserved, sizeof(a.s.reserved));
			break;
		case 6:
			cmd = UNIMEM_IOCTL_COUNTERS;
			a.c.scope = rnd() % 2 ? rnd() % 2 : small();
			a.c.device = small();
			a.c.flags = rnd() % 8 ? 0 : small();
			maybe_dirty(a.c.reserved, sizeof(a.c.reserved));
			break;
		case 7: {
			/* a batch: random entries, the count and array too */
			unsigned int k;

			cmd = UNIMEM_IOCTL_MIGRATE_BATCH;
			memset(be, 0, sizeof(be));
			for (k = 0; k < 4; k++) {
				be[k].addr = any_addr() & ~(PAGE - 1);
				be[k].length = (rnd() % 64) * PAGE;
				if (rnd() % 8 == 0)
					be[k].length = len_val();
				be[k].target = rnd() % 3 == 2 ?
					UNIMEM_TARGET_SYSTEM : rnd() % 3;
				be[k].flags = rnd() % 4 ? rnd() % 2 : small();
				maybe_dirty(be[k].reserved,
					    sizeof(be[k].reserved));
			}
			a.b.entries = rnd() % 8 ? (uintptr_t)be :
				      rnd() % 2 ? wr_addr() : 0;
			/* never more than be[] holds: the kernel writes back */
			a.b.count = rnd() % 8 ? 1 + rnd() % 4 :
				    rnd() % 2 ? 0 : UNIMEM_MAX_MIGRATE_BATCH + 1;
			a.b.done = small();
			maybe_dirty(a.b.reserved, sizeof(a.b.reserved));
			break;
		}
		default:
			/* random ioctl numbers, random argument pointers */
			cmd = _IOC(rnd() % 4, rnd() % 2 ? UNIMEM_IOCTL_MAGIC
							 : rnd() & 0xff,
				   rnd() % 0x40, rnd() % 1024);
			for (r = 0; r < 1024; r++)
				a.raw[r] = (uint8_t)rnd();
			break;
		}
		if (rnd() % 32 == 0)
			arg = (void *)(uintptr_t)wr_addr();
		r = ioctl(f, cmd, arg);
		if (r == -1) {
			switch (errno) {
			case EINVAL: case EOVERFLOW: case EFAULT: case E2BIG:
			case ENODEV: case ENOTTY: case EBUSY: case ENOMEM:
			case EPERM: case EINTR: case ENOSPC:
				break;
			default:
				UT_FAIL("iteration %ld: cmd 0x%lx: unexpected errno %d (%s)",
					i, cmd, errno, strerror(errno));
			}
			nerr[errno & 0xff]++;
		} else {
			nerr[0]++;
		}
	}
	printf("ok %ld EINVAL %ld EFAULT %ld EOVERFLOW %ld E2BIG %ld ENODEV %ld "
	       "ENOTTY %ld EPERM %ld\n", nerr[0], nerr[EINVAL], nerr[EFAULT],
	       nerr[EOVERFLOW], nerr[E2BIG], nerr[ENODEV], nerr[ENOTTY],
	       nerr[EPERM]);
	/* the module is still healthy */
	{
		struct unimem_version v;

		memset(&v, 0, sizeof(v));
		IOK(fd, UNIMEM_IOCTL_VERSION, &v);
	}
	close(fd);
	close(fd1);
	ut_unload();
	printf("PASS\n");
	return 0;
}
