// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem-robust: what a local user can do to unimem.ko (issue 12): lost
 * device writes, userfaultfd ranges, failed loads, unload after fork,
 * mremap of device memory, attributes across exec, counter exposure,
 * per-mm limits, fork during device atomics, the mmap lock and eviction.  One case per invocation, like unimem-func.
 */
#include "policy_ut.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static void *map_area(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		UT_FAIL("mmap: %s", strerror(errno));
	return p;
}

static void dev_fill(int fd, void *addr, size_t len, uint8_t v)
{
	struct unimem_dev_op op = {
		.op = UNIMEM_OP_FILL, .addr = (uintptr_t)addr, .length = len,
		.width = 1, .value = v,
	};

	IOK(fd, UNIMEM_IOCTL_DEV_EXEC, &op);
}

/* MADV_FREE then MADV_PAGEOUT: clean lazily-freed pages are discarded. */
static void free_and_pageout(void *p, size_t len)
{
	ASSERT_EQ(madvise(p, len, MADV_FREE), 0);
	ASSERT_EQ(madvise(p, len, MADV_PAGEOUT), 0);
}

/* ------------------------------------------------------------------ */
/*
 * Item 1: the device writes through kernel mappings; unless it marks the
 * folios dirty, reclaim discards a lazily-freed page it wrote.
 */
static void t_dirty(void)
{
	const size_t np = 64, len = np * PAGE;
	int fd = ut_open(0);
	uint8_t *p = map_area(len), *b = malloc(len);
	size_t i;

	ASSERT_EQ(madvise(p, len, MADV_NOHUGEPAGE), 0);

	/* device write and fill into lazily-freed system pages */
	memset(p, 0x11, len);
	ASSERT_EQ(madvise(p, len, MADV_FREE), 0);
	ut_pattern(b, len / 2, 3);
	ut_dev_write(fd, p, b, len / 2);
	dev_fill(fd, p + len / 2, len / 2, 0x5c);
	p[len - 1] = 0x77;	/* a CPU write survives anyway */
	ASSERT_EQ(madvise(p, len, MADV_PAGEOUT), 0);
	ut_check_pattern(p, len / 2, 3, b);
	for (i = len / 2; i < len - 1; i++)
		if (p[i] != 0x5c)
			UT_FAIL("fill lost at +%zu: 0x%x", i, p[i]);
	ASSERT_EQ(p[len - 1], 0x77);

	/* device atomics into a lazily-freed page */
	memset(p, 0, PAGE);
	ASSERT_EQ(madvise(p, PAGE, MADV_FREE), 0);
	ut_atomic(fd, UNIMEM_OP_ATOMIC_ADD, p + 64, 8, 0x1234, 0);
	ASSERT_EQ(madvise(p, PAGE, MADV_PAGEOUT), 0);
	ASSERT_EQ(*(uint64_t *)(p + 64), 0x1234);

	/* lazily freed, then to the device, written, explicitly back */
	memset(p, 0x22, len);
	ASSERT_EQ(madvise(p, len, MADV_FREE), 0);
	ut_migrate_all(fd, p, len, 0);
	ut_pattern(b, len, 4);
	ut_dev_write(fd, p, b, len);
	ut_migrate_all(fd, p, len, UNIMEM_TARGET_SYSTEM);
	ASSERT_EQ(madvise(p, len, MADV_PAGEOUT), 0);
	ut_check_pattern(p, len, 4, b);

	/* the same, brought back by a CPU read fault */
	memset(p, 0x33, len);
	ASSERT_EQ(madvise(p, len, MADV_FREE), 0);
	ut_migrate_all(fd, p, len, 0);
	dev_fill(fd, p, len, 0x6d);
	/* read faults bring the pages back (the window is best effort) */
	for (i = 0; i < np; i++)
		ASSERT_EQ(p[i * PAGE], 0x6d);
	ASSERT_EQ(ut_count_res(fd, p, np, UNIMEM_RES_SYSTEM, -1), np);
	ASSERT_EQ(madvise(p, len, MADV_PAGEOUT), 0);
	for (i = 0; i < len; i++)
		if (p[i] != 0x6d)
			UT_FAIL("device fill lost after fault-back at +%zu", i);

	/* written on the device, then lazily freed: nothing to lose there */
	ut_migrate_all(fd, p, len, 0);
	free_and_pageout(p, len);
	close(fd);
	free(b);
}

/* ------------------------------------------------------------------ */
/* Item 10: device access to userfaultfd-registered memory. */
struct uffd_srv {
	int uffd;
	volatile int stop;
	volatile int served;
};

/*
 * The handler counts a page after UFFDIO_COPY returns, and the faulting
 * access may finish before that: give the count a moment to catch up.
 */
static int uffd_served(struct uffd_srv *s, int want)
{
	int i;

	for (i = 0; i < 200 && s->served < want; i++)
		usleep(10 * 1000);
	return s->served;
}

static void *uffd_thread(void *arg)
{
	struct uffd_srv *s = arg;
	static uint8_t page[PAGE] __attribute__((aligned(PAGE)));

	while (!s->stop) {
		struct pollfd pfd = { .fd = s->uffd, .events = POLLIN };
		struct uffd_msg msg;
		struct uffdio_copy cp;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (read(s->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		memset(&cp, 0, sizeof(cp));
		cp.dst = msg.arg.pagefault.address & ~(PAGE - 1);
		/* the content depends on the address it is for */
		{
			uint64_t *q = (uint64_t *)page;
			size_t i;

			for (i = 0; i < PAGE / 8; i++)
				q[i] = ut_mix(7, cp.dst + i * 8);
		}
		cp.src = (uintptr_t)page;
		cp.len = PAGE;
		if (!ioctl(s->uffd, UFFDIO_COPY, &cp))
			s->served++;
	}
	return NULL;
}

static void t_uffd(void)
{
	const size_t np = 16, len = np * PAGE;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct uffd_srv srv = { 0 };
	uint8_t *p = map_area(len), *b = malloc(len);
	pthread_t th;
	int fd = ut_open(0);

	srv.uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (srv.uffd < 0) {
		ut_log("SKIP: userfaultfd: %s", strerror(errno));
		exit(UT_SKIP);
	}
	IOK(srv.uffd, UFFDIO_API, &api);
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)p;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	IOK(srv.uffd, UFFDIO_REGISTER, &reg);
	ASSERT_EQ(pthread_create(&th, NULL, uffd_thread, &srv), 0);

	/* device reads of missing pages: the handler populates them */
	ut_dev_read(fd, p, b, len / 2);
	ut_check_pattern(b, len / 2, 7, p);
	ASSERT_EQ(uffd_served(&srv, np / 2), (int)np / 2);
	/* a device write to missing pages, then the CPU sees it */
	ut_pattern(b, len / 2, 8);
	ut_dev_write(fd, p + len / 2, b, len / 2);
	ut_check_pattern(p + len / 2, len / 2, 8, b);
	ASSERT_EQ(uffd_served(&srv, np), (int)np);
	/* present now: plain device access, no more userfaults */
	ut_dev_read(fd, p, b, len);
	ut_check_pattern(b, len / 2, 7, p);
	ASSERT_EQ(srv.served, (int)np);

	srv.stop = 1;
	pthread_join(th, NULL);
	close(srv.uffd);
	close(fd);
	free(b);
}

/* ------------------------------------------------------------------ */
/* Item 8: attributes do not follow a child across exec. */
static void t_exec(void)
{
	const size_t len = 64 * PAGE;
	int fd = ut_open(0), st;
	uint8_t *p = map_area(len);
	char arg[32];
	pid_t pid;

	memset(p, 1, len);
	pol_set(fd, p, len, UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS, 1);
	ut_dev_read_fails(fd, p, p, PAGE, EACCES);

	/* a forked child keeps them (same memory) */
	pid = fork();
	if (!pid) {
		int cfd = ut_open(0);

		ASSERT_EQ(pol_get(cfd, p, len,
				  UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS), 1);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* an exec'd child maps fresh memory at the same address */
	snprintf(arg, sizeof(arg), "%lx", (unsigned long)(uintptr_t)p);
	pid = fork();
	if (!pid) {
		execl("/proc/self/exe", "unimem-robust", "exec-child", arg,
		      (char *)NULL);
		_exit(126);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	close(fd);
}

static int exec_child(const char *hex)
{
	const size_t len = 64 * PAGE;
	uint8_t *want = (uint8_t *)(uintptr_t)strtoul(hex, NULL, 16);
	uint8_t *p, *b = malloc(len);
	int fd;

	p = mmap(want, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != want)
		UT_FAIL("exec child: mmap at %p: %p %s", want, p,
			strerror(errno));
	memset(p, 2, len);
	fd = ut_open(0);
	ASSERT_EQ(pol_get(fd, p, len, UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS), 0);
	ut_dev_read(fd, p, b, len);
	ASSERT_EQ(b[len - 1], 2);
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------ */
/*
 * Item 5: device pages moved by mremap() stay evictable: a device filled
 * by one process, whose range is then mremap'd, makes room for another.
 */
static void t_mremap_evict(void)
{
	const size_t len = 4 * MIB;
	int fd = ut_open(0), st;
	uint8_t *p = map_area(len), *q;
	uint8_t *dst = map_area(2 * len);
	pid_t pid;

	ut_pattern(p, len, 21);
	ut_migrate_all(fd, p, len, 0);
	ASSERT_EQ(ut_mem_free(fd, 0), 0);
	/* move it (not to a place that has the same page indices) */
	q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst + len / 2);
	ASSERT_TRUE(q == dst + len / 2);
	ASSERT_EQ(ut_count_res(fd, q, len / PAGE, UNIMEM_RES_DEVICE, 0),
		  len / PAGE);

	pid = fork();
	if (!pid) {
		int cfd = ut_open(0);
		uint8_t *r = map_area(len);
		struct unimem_migrate m;

		ut_pattern(r, len, 22);
		m = ut_migrate(cfd, r, len, 0, 0);
		if (m.moved != len / PAGE)
			UT_FAIL("other process: moved %llu nomem %llu busy %llu of %zu",
				(unsigned long long)m.moved,
				(unsigned long long)m.nomem,
				(unsigned long long)m.busy, len / PAGE);
		ut_check_pattern(r, len, 22, r);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ut_check_pattern(q, len, 21, p);
	close(fd);
}

/* ------------------------------------------------------------------ */
/*
 * Item 4: the process that moved pages to the device exits; its fork
 * child keeps them and never touches them from a device.  rmmod must not
 * wait for the child.
 */
static void t_fork_unload(void)
{
	const size_t len = 1 * MIB;
	int go[2], ready[2], st, i;
	pid_t owner, rm;
	uint8_t *p;
	char c = 0;

	ASSERT_EQ(pipe(go), 0);
	ASSERT_EQ(pipe(ready), 0);
	p = map_area(len);
	owner = fork();
	if (!owner) {
		int fd = ut_open(0);
		pid_t child;

		ut_pattern(p, len, 31);
		ut_migrate_all(fd, p, len, 0);
		child = fork();
		if (!child) {
			/* keeps the pages; checks them when told */
			close(fd);
			ASSERT_EQ(write(ready[1], &c, 1), 1);
			ASSERT_EQ(read(go[0], &c, 1), 1);
			ut_check_pattern(p, len, 31, p);
			_exit(0);
		}
		close(fd);
		_exit(0);
	}
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	ASSERT_EQ(waitpid(owner, &st, 0), owner);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	rm = fork();
	if (!rm) {
		execlp("rmmod", "rmmod", "unimem", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 600; i++) {
		if (waitpid(rm, &st, WNOHANG) == rm)
			break;
		usleep(100 * 1000);
	}
	/* let the child go (and check its data) either way */
	ASSERT_EQ(write(go[1], &c, 1), 1);
	if (i == 600) {
		ASSERT_EQ(waitpid(rm, &st, 0), rm);
		UT_FAIL("rmmod waited for a process that never touched its "
			"device pages from a device");
	}
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	while (wait(&st) > 0)
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ut_load("ndevices=1 mem_mib=4");	/* the case runner unloads */
}

/* ------------------------------------------------------------------ */
/*
 * Item 9: device totals are readable by whoever may open the device; one
 * process's own activity is not readable through another's file, and the
 * sysfs counters are root-only.
 */
static void t_counters(void)
{
	const size_t len = 64 * PAGE;
	uint8_t *p = map_area(len), *b = malloc(len);
	int fd = ut_open(0), st;
	struct stat sb;
	pid_t pid;

	memset(p, 3, len);
	ut_dev_read(fd, p, b, len);
	ASSERT_GE(ut_ctr(fd, UNIMEM_CNT_DEV_BYTES_READ), len);

	pid = fork();
	if (!pid) {
		struct unimem_counters c;
		struct unimem_policy_counters pc;

		/* the inherited file mirrors the parent's mm */
		memset(&c, 0, sizeof(c));
		c.scope = UNIMEM_SCOPE_CONTEXT;
		IERR(fd, UNIMEM_IOCTL_COUNTERS, &c, ESRCH);
		memset(&pc, 0, sizeof(pc));
		pc.scope = UNIMEM_PSCOPE_MM;
		IERR(fd, UNIMEM_IOCTL_POLICY_COUNTERS, &pc, ESRCH);
		/* device totals are fine */
		ASSERT_GE(ut_dctr(fd, 0, UNIMEM_CNT_DEV_BYTES_READ), 0);
		memset(&pc, 0, sizeof(pc));
		pc.scope = UNIMEM_PSCOPE_DEVICE;
		IOK(fd, UNIMEM_IOCTL_POLICY_COUNTERS, &pc);
		/* an unprivileged user cannot read the sysfs counters */
		ASSERT_EQ(setgid(65534), 0);
		ASSERT_EQ(setuid(65534), 0);
		ASSERT_TRUE(open("/sys/class/unimem/unimem0/counters",
				 O_RDONLY) < 0 && errno == EACCES);
		ASSERT_TRUE(open("/sys/class/unimem/unimem0/mem_free_bytes",
				 O_RDONLY) >= 0);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ASSERT_EQ(stat("/sys/class/unimem/unimem0/counters", &sb), 0);
	ASSERT_EQ(sb.st_mode & 0777, 0400);
	close(fd);
	free(b);
}

/* ------------------------------------------------------------------ */
/*
 * Item 3: a load that fails on a later device never exposes the earlier
 * ones (nothing can be opened and outlive the module).
 */
static void t_insmod_fail(void)
{
	volatile int *stop = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int st, opened = 0;
	pid_t pid;

	ASSERT_TRUE(stop != MAP_FAILED);
	ut_sh("rmmod unimem 2>/dev/null");
	pid = fork();
	if (!pid) {
		/* keep trying to open a device while the load runs */
		int n = 0;

		while (!*stop) {
			int fd = open("/dev/unimem0", O_RDWR | O_CLOEXEC);

			if (fd >= 0) {
				n++;
				usleep(500 * 1000);
				close(fd);
			}
			usleep(1000);
		}
		_exit(n ? 1 : 0);
	}
	if (!ut_sh("insmod %s ndevices=3 mem_mib=32 inject_fail_device=2",
		   ut_module()))
		UT_FAIL("insmod with a failing device succeeded");
	*stop = 1;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	opened = WEXITSTATUS(st);
	ASSERT_EQ(opened, 0);
	ASSERT_TRUE(access("/dev/unimem0", F_OK) != 0);
	/* and the module loads fine afterwards */
	ut_load("ndevices=2 mem_mib=4");
}

/* ------------------------------------------------------------------ */
/*
 * Item 7: munmap() clears PTEs (and runs the notifier that cuts attribute
 * ranges) with the mmap lock downgraded to read, so it runs concurrently
 * with an ATTR SET of another range.  Both rework one tree.
 */
struct race_arg {
	int fd;
	uint8_t *base;
	volatile int *stop;
	int id;
};

static void *race_setter(void *arg)
{
	struct race_arg *a = arg;
	const size_t np = 256;
	unsigned int round = 0;
	size_t i;

	while (!*a->stop) {
		/* many small ranges, then one: splits, inserts and merges */
		pol_set(a->fd, a->base, np * PAGE,
			UNIMEM_RANGE_ATTR_READ_MOSTLY, 0);
		for (i = 0; i < np; i += 2)
			pol_set(a->fd, a->base + i * PAGE, PAGE,
				UNIMEM_RANGE_ATTR_READ_MOSTLY, 1);
		ASSERT_EQ(pol_get(a->fd, a->base, np * PAGE,
				  UNIMEM_RANGE_ATTR_READ_MOSTLY),
			  UNIMEM_RANGE_ATTR_MIXED);
		pol_set(a->fd, a->base, np * PAGE,
			UNIMEM_RANGE_ATTR_READ_MOSTLY, round & 1);
		ASSERT_EQ(pol_get(a->fd, a->base, np * PAGE,
				  UNIMEM_RANGE_ATTR_READ_MOSTLY), round & 1);
		round++;
	}
	return NULL;
}

static void *race_unmapper(void *arg)
{
	struct race_arg *a = arg;
	const size_t np = 64;
	size_t i;

	while (!*a->stop) {
		uint8_t *q = map_area(np * PAGE);

		memset(q, 1, np * PAGE);	/* PTEs: munmap runs the notifier */
		for (i = 0; i < np; i += 4)
			pol_set(a->fd, q + i * PAGE, 2 * PAGE,
				UNIMEM_RANGE_ATTR_GRANULARITY, 1 + (i & 7));
		/* partial unmaps cut ranges, the rest goes whole */
		ASSERT_EQ(munmap(q + 5 * PAGE, 7 * PAGE), 0);
		ASSERT_EQ(munmap(q, np * PAGE), 0);
	}
	return NULL;
}

static void t_attr_race(void)
{
	volatile int stop = 0;
	struct race_arg args[4];
	pthread_t th[4];
	int fd = ut_open(0), i;
	uint8_t *x = map_area(2 * 256 * PAGE);
	double t0 = ut_now();

	for (i = 0; i < 4; i++) {
		args[i].fd = fd;
		args[i].base = x + (i & 1) * 256 * PAGE;
		args[i].stop = &stop;
		args[i].id = i;
		ASSERT_EQ(pthread_create(&th[i], NULL,
					 i < 2 ? race_setter : race_unmapper,
					 &args[i]), 0);
	}
	while (ut_now() - t0 < 10)
		usleep(100 * 1000);
	stop = 1;
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	close(fd);
}

/* ------------------------------------------------------------------ */
/*
 * Item 6: attribute ranges cost kernel memory that user space controls,
 * even on PROT_NONE memory: they are capped per address space.
 */
static void t_attr_cap(void)
{
	const size_t cap = 4096, np = cap + 64;
	int fd = ut_open(0), ret = 0;
	uint8_t *p = mmap(NULL, np * PAGE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	size_t i;

	ASSERT_TRUE(p != MAP_FAILED);
	/* a smaller cap than the default keeps the test short */
	ut_sh("echo %zu > /sys/module/unimem/parameters/max_attr_ranges", cap);

	/* one range per page: the first one over the cap is refused */
	for (i = 0; i < np; i++) {
		struct unimem_attr a = {
			.type = UNIMEM_RANGE_ATTR_READ_MOSTLY, .value = i & 1,
		};

		ret = pol_attr(fd, UNIMEM_RANGE_ATTR_OP_SET, p + i * PAGE,
			       PAGE, &a, 1);
		if (ret)
			break;
	}
	if (!ret)
		UT_FAIL("%zu attribute ranges in one address space", np);
	ASSERT_EQ(errno, ENOSPC);
	ASSERT_EQ(i, cap);
	ASSERT_EQ(pol_get(fd, p, cap * PAGE, UNIMEM_RANGE_ATTR_READ_MOSTLY),
		  UNIMEM_RANGE_ATTR_MIXED);
	ASSERT_EQ(pol_get(fd, p + cap * PAGE, PAGE,
			  UNIMEM_RANGE_ATTR_READ_MOSTLY), 0);

	/* merging gives the room back */
	pol_set(fd, p, cap * PAGE, UNIMEM_RANGE_ATTR_READ_MOSTLY, 1);
	pol_set(fd, p + cap * PAGE, 64 * PAGE, UNIMEM_RANGE_ATTR_READ_MOSTLY,
		1);
	ASSERT_EQ(pol_get(fd, p, np * PAGE, UNIMEM_RANGE_ATTR_READ_MOSTLY), 1);
	for (i = 0; i < 64; i += 2)
		pol_set(fd, p + i * PAGE, PAGE, UNIMEM_RANGE_ATTR_READ_MOSTLY,
			0);
	/* and munmap frees them (reconciled on the next use) */
	ASSERT_EQ(munmap(p, np * PAGE), 0);
	p = mmap(NULL, np * PAGE, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	for (i = 0; i < cap - 8; i++)
		pol_set(fd, p + i * PAGE, PAGE, UNIMEM_RANGE_ATTR_READ_MOSTLY,
			i & 1);
	ut_sh("echo 65536 > /sys/module/unimem/parameters/max_attr_ranges");
	close(fd);
}

/* ------------------------------------------------------------------ */
/* ------------------------------------------------------------------ */
/*
 * fork() against device atomics.  A device atomic on system memory makes
 * the page device-exclusive and returns with it locked; fork() copying a
 * device-exclusive entry whose folio is locked gives up with ENOMEM
 * (copy_pte_range() -> -EBUSY -> copy_pmd_range() -> -ENOMEM).  The
 * module must not let fork() see that state: it keeps the mmap lock until
 * the page is unlocked again.
 */
struct fork_atomic_arg {
	int fd;
	uint64_t *words;
	unsigned long adds;
	volatile int stop;
};

static void *fork_atomic_thread(void *a)
{
	struct fork_atomic_arg *arg = a;

	while (!arg->stop) {
		ut_atomic(arg->fd, UNIMEM_OP_ATOMIC_ADD,
			  (uint8_t *)arg->words + (arg->adds % 8) * PAGE, 8, 1,
			  0);
		arg->adds++;
	}
	return NULL;
}

static void t_fork_atomic(void)
{
	/* work bound, not a verdict: forks are slow on a debug kernel */
	const double deadline = ut_now() + 40;
	const int nforks = 1500;
	struct fork_atomic_arg arg = { .fd = ut_open(0) };
	unsigned long sum = 0;
	pthread_t thr;
	int i, st;

	arg.words = map_area(8 * PAGE);
	ASSERT_EQ(madvise(arg.words, 8 * PAGE, MADV_NOHUGEPAGE), 0);
	memset(arg.words, 0, 8 * PAGE);
	ASSERT_EQ(pthread_create(&thr, NULL, fork_atomic_thread, &arg), 0);
	for (i = 0; i < nforks && ut_now() < deadline; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			arg.stop = 1;
			pthread_join(thr, NULL);
			UT_FAIL("fork %d of %d during device atomics: %s", i,
				nforks, strerror(errno));
		}
		if (!pid)
			_exit(0);
		ASSERT_EQ(waitpid(pid, &st, 0), pid);
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	arg.stop = 1;
	ASSERT_EQ(pthread_join(thr, NULL), 0);
	printf("%d forks during %lu device atomics\n", i, arg.adds);
	/* every add landed exactly once, forks or not */
	for (i = 0; i < 8; i++)
		sum += arg.words[i * PAGE / 8];
	ASSERT_EQ(sum, arg.adds);
	close(arg.fd);
}

/* ------------------------------------------------------------------ */
/*
 * Item 2: a migration that needs room must not hold its mmap lock while an
 * eviction sweep runs: the process's munmap()/mprotect() would wait for the
 * whole sweep, and its page faults behind those.  inject_evict_hold keeps
 * the sweep open until this test lets it go, so nothing here is timed: a
 * watchdog only turns a deadlock into a failure.
 */
#define EVICT_HOLD "/sys/module/unimem/parameters/inject_evict_hold"

static int evict_hold_state(void)
{
	FILE *f = fopen(EVICT_HOLD, "r");
	int v = -1;

	if (!f || fscanf(f, "%d", &v) != 1)
		UT_FAIL("read %s", EVICT_HOLD);
	fclose(f);
	return v;
}

static void evict_hold_set(int v)
{
	FILE *f = fopen(EVICT_HOLD, "w");

	if (!f || fprintf(f, "%d\n", v) < 0 || fclose(f))
		UT_FAIL("write %s", EVICT_HOLD);
}

struct lock_scope_arg {
	int fd;
	uint8_t *p;
	size_t len;
	struct unimem_migrate m;
	volatile int done;
};

static void *lock_scope_migrate(void *a)
{
	struct lock_scope_arg *arg = a;

	arg->m = ut_migrate(arg->fd, arg->p, arg->len, 0, 0);
	arg->done = 1;
	return NULL;
}

static void *lock_scope_watchdog(void *a)
{
	volatile int *done = a;
	int i;

	for (i = 0; i < 600 && !*done; i++)
		usleep(100 * 1000);
	if (!*done)
		evict_hold_set(0);	/* break the deadlock; the test fails */
	return NULL;
}

static void t_evict_lock_scope(void)
{
	const size_t dev = 4 * MIB, len = 1 * MIB;
	struct lock_scope_arg arg = { .fd = ut_open(0), .len = len };
	volatile int unmapped = 0;
	pthread_t thr, dog;
	uint8_t *a = map_area(dev), *q;

	ASSERT_EQ(madvise(a, dev, MADV_NOHUGEPAGE), 0);
	ut_pattern(a, dev, 41);
	ut_migrate_all(arg.fd, a, dev, 0);	/* the device is full */
	arg.p = map_area(len);
	ASSERT_EQ(madvise(arg.p, len, MADV_NOHUGEPAGE), 0);
	ut_pattern(arg.p, len, 42);

	evict_hold_set(1);
	ASSERT_EQ(pthread_create(&thr, NULL, lock_scope_migrate, &arg), 0);
	while (evict_hold_state() != 2)	/* the sweep is open */
		usleep(1000);
	ASSERT_EQ(arg.done, 0);

	/* the migrating process changes its address space meanwhile */
	ASSERT_EQ(pthread_create(&dog, NULL, lock_scope_watchdog,
				 (void *)&unmapped), 0);
	q = map_area(len);
	memset(q, 1, len);
	ASSERT_EQ(mprotect(q, len, PROT_READ), 0);
	ASSERT_EQ(munmap(q, len), 0);
	unmapped = 1;
	ASSERT_EQ(pthread_join(dog, NULL), 0);
	if (evict_hold_state() != 2)
		UT_FAIL("munmap() waited for another task's eviction sweep");
	ASSERT_EQ(arg.done, 0);

	evict_hold_set(0);
	ASSERT_EQ(pthread_join(thr, NULL), 0);
	if (arg.m.moved != len / PAGE)
		UT_FAIL("after the sweep: moved %llu of %zu (nomem %llu)",
			(unsigned long long)arg.m.moved, len / PAGE,
			(unsigned long long)arg.m.nomem);
	ut_check_pattern(a, dev, 41, a);
	ut_check_pattern(arg.p, len, 42, arg.p);
	close(arg.fd);
}

/* ------------------------------------------------------------------ */
/*
 * Item 2, continued: pages of a batch that found no room are retried after
 * an eviction with the mmap lock dropped, so the address space may have
 * changed by then.  Every page must still be counted once and moved if it
 * can be: here the retry's eviction is held open while the range is split
 * in two VMAs (the first retry used to cover only the first, and the walk
 * then did the second again: counts summed past the request).
 * inject_migrate_nomem fails the first attempt's allocations, as a device
 * that others filled meanwhile would; nothing here is timed.
 */
#define MIGRATE_NOMEM "/sys/module/unimem/parameters/inject_migrate_nomem"

static void t_retry_remap(void)
{
	const size_t np = 128, len = np * PAGE;
	struct lock_scope_arg arg = { .fd = ut_open(0), .len = len };
	uint8_t *p = map_area(len);
	pthread_t thr;
	FILE *f;
	int left = -1;

	ASSERT_EQ(madvise(p, len, MADV_NOHUGEPAGE), 0);
	ut_pattern(p, len, 61);
	arg.p = p;
	f = fopen(MIGRATE_NOMEM, "w");
	if (!f || fprintf(f, "%zu\n", np) < 0 || fclose(f))
		UT_FAIL("write %s", MIGRATE_NOMEM);
	evict_hold_set(1);
	ASSERT_EQ(pthread_create(&thr, NULL, lock_scope_migrate, &arg), 0);
	while (evict_hold_state() != 2)	/* the retry's eviction is open */
		usleep(1000);
	f = fopen(MIGRATE_NOMEM, "r");
	if (!f || fscanf(f, "%d", &left) != 1)
		UT_FAIL("read %s", MIGRATE_NOMEM);
	fclose(f);
	ASSERT_EQ(left, 0);		/* the first attempt found no room */
	ASSERT_EQ(arg.done, 0);

	/* the second half becomes its own VMA before the retry */
	ASSERT_EQ(mprotect(p + len / 2, len / 2, PROT_READ), 0);
	evict_hold_set(0);
	ASSERT_EQ(pthread_join(thr, NULL), 0);	/* ut_migrate: sum == np */
	if (arg.m.moved != np || arg.m.nomem)
		UT_FAIL("moved %llu nomem %llu already %llu of %zu",
			(unsigned long long)arg.m.moved,
			(unsigned long long)arg.m.nomem,
			(unsigned long long)arg.m.already, np);
	ASSERT_EQ(ut_count_res(arg.fd, p, np, UNIMEM_RES_DEVICE, 0), np);
	ut_check_pattern(p, len, 61, p);
	close(arg.fd);
}

/* ------------------------------------------------------------------ */
/*
 * Item 2: the device page table is guarded by notifiers over bounded parts
 * of the address space (64 MiB).  An invalidation in a part the device never
 * touched must not reach the mirror (with one notifier over the whole
 * address space it did, and restarted every device fault in flight).  A
 * part unmapped whole loses its notifier; mapped again it mirrors afresh.
 */
static void t_notifier_bounds(void)
{
	const size_t part = 64 * MIB, len = 2 * MIB;
	int fd = ut_open(0);
	uint8_t *res, *a, *b, *c, *buf = malloc(len);
	uint64_t inv;

	/* three 64 MiB parts, aligned: a in the first, b in the third */
	res = mmap(NULL, 4 * part, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_TRUE(res != MAP_FAILED && buf);
	a = (uint8_t *)(((uintptr_t)res + part - 1) & ~(part - 1));
	b = a + 2 * part;
	c = a + part;
	ASSERT_EQ(mprotect(a, len, PROT_READ | PROT_WRITE), 0);
	ASSERT_EQ(mprotect(b, len, PROT_READ | PROT_WRITE), 0);
	ut_pattern(a, len, 51);
	ut_pattern(b, len, 52);
	ut_dev_read(fd, a, buf, len);	/* the device mirrors part a */
	ut_check_pattern(buf, len, 51, a);

	/* invalidations in part b, which the device never touched */
	inv = ut_ctr(fd, UNIMEM_CNT_INVALIDATIONS);
	ASSERT_EQ(madvise(b, len, MADV_DONTNEED), 0);
	ut_pattern(b, len, 53);
	ASSERT_EQ(mprotect(b, len, PROT_READ), 0);
	ASSERT_EQ(munmap(b, len), 0);
	ASSERT_EQ(ut_ctr(fd, UNIMEM_CNT_INVALIDATIONS), inv);

	/* one in part a reaches it, and the device sees the new data */
	ASSERT_EQ(madvise(a, len, MADV_DONTNEED), 0);
	ASSERT_GT(ut_ctr(fd, UNIMEM_CNT_INVALIDATIONS), inv);
	ut_pattern(a, len, 54);
	ut_dev_read(fd, a, buf, len);
	ut_check_pattern(buf, len, 54, a);

	/* part a unmapped whole, mapped again: mirrored afresh */
	ASSERT_EQ(munmap(a, part), 0);
	ASSERT_TRUE(mmap(a, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == a);
	ut_pattern(a, len, 55);
	ASSERT_EQ(mprotect(c, len, PROT_READ | PROT_WRITE), 0);
	ut_pattern(c, len, 56);
	ut_dev_read(fd, c, buf, len);	/* a new part: the dead one goes */
	ut_check_pattern(buf, len, 56, c);
	ut_dev_read(fd, a, buf, len);
	ut_check_pattern(buf, len, 55, a);
	ut_dev_write(fd, a, buf + 1, len - 1);	/* shifted by one byte */
	ASSERT_EQ(memcmp(a, buf + 1, len - 1), 0);
	close(fd);
	free(buf);
}

/* ------------------------------------------------------------------ */
/*
 * Item 6: kernel memory a process makes the module allocate is charged to
 * its memory cgroup: attribute ranges and device page-table leaves show up
 * in the cgroup's slab count.  Needs the memory controller (Debian's
 * kernel has it; the debug test kernels do not: skipped there).
 */
#define CG "/sys/fs/cgroup"
#define CG_TEST CG "/unimem-memcg"

static long long cg_slab(void)
{
	FILE *f = fopen(CG_TEST "/memory.stat", "r");
	char key[64];
	long long v, slab = -1;

	if (!f)
		UT_FAIL("open memory.stat: %s", strerror(errno));
	while (fscanf(f, "%63s %lld", key, &v) == 2)
		if (!strcmp(key, "slab"))
			slab = v;
	fclose(f);
	if (slab < 0)
		UT_FAIL("no slab in memory.stat");
	return slab;
}

static void t_memcg(void)
{
	const size_t nattr = 8192, nleaf = 256;
	int go[2], done[2], st;
	long long s0, s1, s2;
	char c = 0, ctl[256] = "";
	FILE *f;
	pid_t pid;

	if (access(CG "/cgroup.controllers", F_OK))
		ut_sh("mount -t cgroup2 none " CG);
	f = fopen(CG "/cgroup.controllers", "r");
	if (!f || !fgets(ctl, sizeof(ctl), f) || !strstr(ctl, "memory")) {
		printf("SKIP: no memory cgroup controller in this kernel\n");
		ut_unload();
		exit(UT_SKIP);
	}
	fclose(f);
	ut_sh("echo +memory > " CG "/cgroup.subtree_control");
	ut_sh("mkdir -p " CG_TEST);
	ASSERT_EQ(pipe(go), 0);
	ASSERT_EQ(pipe(done), 0);

	pid = fork();
	if (!pid) {
		uint8_t *p, *q;
		int fd;
		size_t i;

		ASSERT_EQ(read(go[0], &c, 1), 1);	/* in the cgroup now */
		fd = ut_open(0);
		p = mmap(NULL, nattr * PAGE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		q = mmap(NULL, nleaf << 21, PROT_READ,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		ASSERT_TRUE(p != MAP_FAILED && q != MAP_FAILED);
		ASSERT_EQ(write(done[1], &c, 1), 1);	/* baseline */
		ASSERT_EQ(read(go[0], &c, 1), 1);
		for (i = 0; i < nattr; i++) {
			struct unimem_attr a = {
				.type = UNIMEM_RANGE_ATTR_READ_MOSTLY,
				.value = i & 1,
			};

			if (pol_attr(fd, UNIMEM_RANGE_ATTR_OP_SET,
				     p + i * PAGE, PAGE, &a, 1))
				UT_FAIL("attr %zu: %s", i, strerror(errno));
		}
		ASSERT_EQ(write(done[1], &c, 1), 1);	/* attributes */
		ASSERT_EQ(read(go[0], &c, 1), 1);
		for (i = 0; i < nleaf; i++) {	/* one leaf per 2 MiB */
			uint8_t b[64];

			ut_dev_read(fd, q + (i << 21), b, sizeof(b));
		}
		ASSERT_EQ(write(done[1], &c, 1), 1);	/* leaves */
		ASSERT_EQ(read(go[0], &c, 1), 1);
		_exit(0);
	}
	ut_sh("echo %d > " CG_TEST "/cgroup.procs", (int)pid);
	ASSERT_EQ(write(go[1], &c, 1), 1);
	ASSERT_EQ(read(done[0], &c, 1), 1);
	s0 = cg_slab();
	ASSERT_EQ(write(go[1], &c, 1), 1);
	ASSERT_EQ(read(done[0], &c, 1), 1);
	s1 = cg_slab();
	ASSERT_EQ(write(go[1], &c, 1), 1);
	ASSERT_EQ(read(done[0], &c, 1), 1);
	s2 = cg_slab();
	ASSERT_EQ(write(go[1], &c, 1), 1);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	printf("cgroup slab: %lld, +%lld for %zu attribute ranges, +%lld for "
	       "%zu page-table leaves\n", s0, s1 - s0, nattr, s2 - s1, nleaf);
	/* an attribute range is more than 32 bytes, a leaf is 4 KiB */
	if (s1 - s0 < (long long)nattr * 32)
		UT_FAIL("attribute ranges not charged to the cgroup");
	if (s2 - s1 < (long long)nleaf * 4096)
		UT_FAIL("device page-table leaves not charged to the cgroup");
	ut_sh("rmdir " CG_TEST);
}

static const struct ut_case cases[] = {
	{ "dirty", t_dirty, "ndevices=1 mem_mib=16" },
	{ "uffd", t_uffd, "ndevices=1 mem_mib=16" },
	{ "exec", t_exec, "ndevices=1 mem_mib=16" },
	{ "mremap-evict", t_mremap_evict, "ndevices=1 mem_mib=4" },
	{ "fork-unload", t_fork_unload, "ndevices=1 mem_mib=4" },
	{ "counters", t_counters, "ndevices=1 mem_mib=4" },
	{ "insmod-fail", t_insmod_fail, "ndevices=1 mem_mib=4" },
	{ "attr-race", t_attr_race, "ndevices=1 mem_mib=4" },
	{ "attr-cap", t_attr_cap, "ndevices=1 mem_mib=4" },
	{ "fork-atomic", t_fork_atomic, "ndevices=1 mem_mib=4" },
	{ "evict-lock-scope", t_evict_lock_scope, "ndevices=1 mem_mib=4" },
	{ "retry-remap", t_retry_remap, "ndevices=1 mem_mib=4" },
	{ "notifier-bounds", t_notifier_bounds, "ndevices=1 mem_mib=4" },
	{ "memcg", t_memcg, "ndevices=1 mem_mib=4" },
};

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "exec-child"))
		return exec_child(argv[2]);
	return ut_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]),
		       NULL);
}
