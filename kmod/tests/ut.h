/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tiny test helper library for the unimem.ko VM tests.
 * Assertions print file:line and the values, then exit(1).
 */
#ifndef UNIMEM_UT_H
#define UNIMEM_UT_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/unimem.h>

#define UT_SKIP 77
#define PAGE 4096UL

#define UT_FAIL(...)                                                        \
	do {                                                                \
		fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);       \
		fprintf(stderr, __VA_ARGS__);                               \
		fprintf(stderr, "\n");                                      \
		exit(1);                                                    \
	} while (0)

#define ASSERT_TRUE(c)                                                      \
	do {                                                                \
		if (!(c))                                                   \
			UT_FAIL("ASSERT_TRUE(%s)", #c);                     \
	} while (0)

#define ASSERT_CMP(a, op, b)                                                \
	do {                                                                \
		long long _a = (long long)(a), _b = (long long)(b);         \
		if (!(_a op _b))                                            \
			UT_FAIL("%s %s %s: %lld vs %lld (0x%llx vs 0x%llx)", \
				#a, #op, #b, _a, _b,                        \
				(unsigned long long)_a,                     \
				(unsigned long long)_b);                    \
	} while (0)
#define ASSERT_EQ(a, b) ASSERT_CMP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_CMP(a, !=, b)
#define ASSERT_GE(a, b) ASSERT_CMP(a, >=, b)
#define ASSERT_GT(a, b) ASSERT_CMP(a, >, b)
#define ASSERT_LE(a, b) ASSERT_CMP(a, <=, b)

/* ioctl that must succeed */
#define IOK(fd, req, arg)                                                   \
	do {                                                                \
		if (ioctl(fd, req, arg))                                    \
			UT_FAIL("ioctl(%s) failed: %s", #req,               \
				strerror(errno));                           \
	} while (0)

/* ioctl that must fail with errno e */
#define IERR(fd, req, arg, e)                                               \
	do {                                                                \
		int _r = ioctl(fd, req, arg);                               \
		if (_r != -1 || errno != (e))                               \
			UT_FAIL("ioctl(%s) = %d errno %d (%s), want %s",    \
				#req, _r, _r ? errno : 0,                   \
				_r ? strerror(errno) : "-", #e);           \
	} while (0)

static inline void ut_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static inline int ut_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static inline const char *ut_module(void)
{
	const char *m = getenv("UNIMEM_KO");

	return m ? m : "/modules/unimem.ko";
}

static inline void ut_load(const char *params)
{
	ut_sh("rmmod unimem 2>/dev/null");
	if (ut_sh("insmod %s %s", ut_module(), params ? params : ""))
		UT_FAIL("insmod %s %s failed", ut_module(), params ? params : "");
}

static inline void ut_unload(void)
{
	if (ut_sh("rmmod unimem"))
		UT_FAIL("rmmod unimem failed");
}

static inline void ut_thp(const char *mode)
{
	ut_sh("echo %s > /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null",
	      mode);
}

static inline int ut_open(int dev)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/unimem%d", dev);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		UT_FAIL("open %s: %s", path, strerror(errno));
	return fd;
}

static inline void *ut_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		UT_FAIL("mmap %zu: %s", len, strerror(errno));
	return p;
}

/* The counters of a migration, for failure messages. */
static inline const char *ut_migrate_str(const struct unimem_migrate *m)
{
	static __thread char s[192];

	snprintf(s, sizeof(s), "moved %llu already %llu np %llu unm %llu "
		 "uns %llu busy %llu nomem %llu evicted %llu",
		 (unsigned long long)m->moved, (unsigned long long)m->already,
		 (unsigned long long)m->not_present,
		 (unsigned long long)m->unmapped,
		 (unsigned long long)m->unsupported,
		 (unsigned long long)m->busy, (unsigned long long)m->nomem,
		 (unsigned long long)m->evicted);
	return s;
}

static inline struct unimem_migrate ut_migrate(int fd, void *addr, size_t len,
					       uint32_t target, uint32_t flags)
{
	struct unimem_migrate m = {
		.addr = (uintptr_t)addr, .length = len,
		.target = target, .flags = flags,
	};

	IOK(fd, UNIMEM_IOCTL_MIGRATE, &m);
	ASSERT_EQ(m.moved + m.already + m.not_present + m.unmapped +
		  m.unsupported + m.busy + m.nomem, len / PAGE);
	return m;
}

/*
 * Migrate and require every page moved or already there.  "busy" means a
 * page was transiently held (an LRU batch of another CPU, reclaim, a
 * racing fault): asked again, a bounded number of times, as the ABI says.
 */
static inline void ut_migrate_all(int fd, void *addr, size_t len,
				  uint32_t target)
{
	struct unimem_migrate m = ut_migrate(fd, addr, len, target, 0);
	int tries;

	for (tries = 0; tries < 20 && m.busy &&
	     m.moved + m.already + m.busy == len / PAGE; tries++) {
		usleep(10 * 1000);
		m = ut_migrate(fd, addr, len, target, 0);
	}
	if (m.moved + m.already != len / PAGE)
		UT_FAIL("migrate to %u, %zu pages: %s", target, len / PAGE,
			ut_migrate_str(&m));
}

static inline int ut_exec(int fd, struct unimem_dev_op *op)
{
	return ioctl(fd, UNIMEM_IOCTL_DEV_EXEC, op);
}

static inline void ut_dev_read(int fd, void *addr, void *buf, size_t len)
{
	struct unimem_dev_op op = {
		.op = UNIMEM_OP_READ, .addr = (uintptr_t)addr,
		.length = len, .buf = (uintptr_t)buf,
	};

	IOK(fd, UNIMEM_IOCTL_DEV_EXEC, &op);
}

/* A device read that must fail with errno @err. */
static inline void ut_dev_read_fails(int fd, void *addr, void *buf, size_t len,
				     int err)
{
	struct unimem_dev_op op = {
		.op = UNIMEM_OP_READ, .addr = (uintptr_t)addr,
		.length = len, .buf = (uintptr_t)buf,
	};

	IERR(fd, UNIMEM_IOCTL_DEV_EXEC, &op, err);
}

static inline void ut_dev_write(int fd, void *addr, const void *buf, size_t len)
{
	struct unimem_dev_op op = {
		.op = UNIMEM_OP_WRITE, .addr = (uintptr_t)addr,
		.length = len, .buf = (uintptr_t)buf,
	};

	IOK(fd, UNIMEM_IOCTL_DEV_EXEC, &op);
}

static inline uint64_t ut_atomic(int fd, uint32_t opc, void *addr,
				 uint32_t width, uint64_t value,
				 uint64_t compare)
{
	struct unimem_dev_op op = {
		.op = opc, .addr = (uintptr_t)addr, .width = width,
		.value = value, .compare = compare,
	};

	IOK(fd, UNIMEM_IOCTL_DEV_EXEC, &op);
	return op.result;
}

static inline void ut_snapshot(int fd, void *addr, size_t npages, uint32_t *e)
{
	struct unimem_snapshot s = {
		.addr = (uintptr_t)addr, .npages = npages,
		.entries = (uintptr_t)e,
	};

	IOK(fd, UNIMEM_IOCTL_SNAPSHOT, &s);
}

/* Number of pages of [addr, +npages) whose location is loc (and device). */
static inline size_t ut_count_res(int fd, void *addr, size_t npages,
				  uint32_t loc, int dev)
{
	uint32_t *e = calloc(npages, sizeof(*e));
	size_t i, n = 0;

	ut_snapshot(fd, addr, npages, e);
	for (i = 0; i < npages; i++)
		if ((e[i] & UNIMEM_RES_LOC_MASK) == loc &&
		    (dev < 0 || (int)UNIMEM_RES_DEV(e[i]) == dev))
			n++;
	free(e);
	return n;
}

static inline struct unimem_counters ut_counters(int fd, uint32_t scope,
						 uint32_t dev)
{
	struct unimem_counters c;

	memset(&c, 0, sizeof(c));
	c.scope = scope;
	c.device = dev;
	IOK(fd, UNIMEM_IOCTL_COUNTERS, &c);
	return c;
}

static inline uint64_t ut_ctr(int fd, enum unimem_counter i)
{
	return ut_counters(fd, UNIMEM_SCOPE_CONTEXT, 0).values[i];
}

static inline uint64_t ut_dctr(int fd, uint32_t dev, enum unimem_counter i)
{
	return ut_counters(fd, UNIMEM_SCOPE_DEVICE, dev).values[i];
}

static inline uint64_t ut_mem_free(int fd, uint32_t dev)
{
	struct unimem_device_info info;

	memset(&info, 0, sizeof(info));
	info.device = dev;
	IOK(fd, UNIMEM_IOCTL_DEVICE_INFO, &info);
	return info.mem_free;
}

static inline uint64_t ut_mix(uint64_t seed, uint64_t addr)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ULL + addr;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Deterministic pattern: (seed, address of the word) -> word. */
static inline void ut_pattern(void *p, size_t len, uint64_t seed)
{
	uint64_t *q = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		q[i] = ut_mix(seed, (uintptr_t)&q[i]);
}

#define ut_check_pattern(p, len, seed, base) \
	ut_check_pattern_at(__FILE__, __LINE__, p, len, seed, base)
static inline void ut_check_pattern_at(const char *file, int line,
				       const void *p, size_t len,
				       uint64_t seed, const void *base)
{
	const uint64_t *q = p;
	size_t i;

	for (i = 0; i < len / 8; i++) {
		uint64_t want = ut_mix(seed, (uintptr_t)base + i * 8);
		if (q[i] != want)
			UT_FAIL("%s:%d: pattern mismatch at +0x%zx: 0x%llx want 0x%llx",
				file, line, i * 8, (unsigned long long)q[i],
				(unsigned long long)want);
	}
}

static inline double ut_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Reports a test case. */
#define UT_CASE(name) ut_log("== %s", name)

/* One case of a test program: its function and the module parameters. */
struct ut_case {
	const char *name;
	void (*fn)(void);
	const char *params;	/* module loaded around the case (NULL: shared) */
};

/*
 * main() of a program of cases: runs the case named argv[1], or every case
 * for "all"; with no argument, lists them.  A case with @params gets the
 * module loaded with them around it; the others share one load with
 * @shared around the whole run.
 */
static inline int ut_main(int argc, char **argv, const struct ut_case *cases,
			  size_t ncases, const char *shared)
{
	size_t i;
	int ran = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		for (i = 0; i < ncases; i++)
			printf("%s\n", cases[i].name);
		return 2;
	}
	if (shared)
		ut_load(shared);
	for (i = 0; i < ncases; i++) {
		if (strcmp(argv[1], "all") && strcmp(argv[1], cases[i].name))
			continue;
		UT_CASE(cases[i].name);
		if (cases[i].params)
			ut_load(cases[i].params);
		cases[i].fn();
		if (cases[i].params)
			ut_unload();
		ut_log("PASS %s", cases[i].name);
		ran++;
	}
	if (shared)
		ut_unload();
	if (!ran)
		UT_FAIL("unknown case %s", argv[1]);
	return 0;
}

#endif /* UNIMEM_UT_H */
