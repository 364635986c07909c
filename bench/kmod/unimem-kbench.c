// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem-kbench: unimem.ko against the kernel's test_hmm.ko, same boot.
 *
 *   unimem-kbench [reps] [MiB]
 *
 * Needs /dev/unimem0 (unimem.ko loaded with mem_mib >= 2 x MiB) and
 * /dev/hmm_dmirror0 (test_hmm.ko).  Prints medians over reps, in MiB/s, as a
 * markdown table, with the memcpy bandwidth of the same boot as the ceiling.
 *
 * Workloads (size MiB, default 64):
 *  mig-to-dev   migrate populated system memory to device memory
 *  mig-to-dev+rb  the same followed by a device read-back of the range:
 *               exactly what test_hmm's MIGRATE_TO_DEV ioctl does
 *  mig-to-sys   migrate device-resident memory back to system memory
 *  cpu-touch    CPU touches one word per page of device-resident memory
 *               (every page comes back on CPU faults)
 *  dev-read     device reads the range through a fresh (empty) mirror:
 *               device faults + copy to a user buffer
 *
 * Each workload runs on 4 KiB pages (MADV_NOHUGEPAGE) and on THP-backed
 * memory (MADV_HUGEPAGE, 2 MiB aligned); with device-private THP (6.19+)
 * both modules move THPs as 2 MiB device folios.
 *
 *   unimem-kbench stall [samples] [device MiB]
 *
 * Device-fault latency (p50/p99, ms) of a device read of a 2 MiB range the
 * device never saw, in a process that is otherwise idle; then while two
 * other processes thrash the device (migrations in both directions and CPU
 * faults over more memory than the device has, so every migration evicts);
 * then while, in addition, three threads of the measuring process migrate
 * unrelated ranges of their own (half the device each).  unimem only:
 * test_hmm has no eviction.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/unimem.h>
#include "test_hmm_uapi.h"

#define PAGE 4096UL
#define MAXREPS 64
#define MAXSAMPLES 1000

static size_t SZ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	fprintf(stderr, "unimem-kbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * Populated anonymous memory, 2 MiB aligned: THP-backed (MADV_HUGEPAGE)
 * when @thp, else 4 KiB pages (MADV_NOHUGEPAGE).  The mapping is unmapped
 * with munmap(p, SZ); its unaligned head and tail stay mapped (unused).
 */
static uint8_t *map_populated(int thp)
{
	size_t al = 2UL << 20;
	uint8_t *p = mmap(NULL, SZ + al, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	p = (uint8_t *)(((uintptr_t)p + al - 1) & ~(uintptr_t)(al - 1));
	if (madvise(p, SZ, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die("madvise");
	memset(p, 0x5a, SZ);
	return p;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double mibps(double secs)
{
	return (double)SZ / (1 << 20) / secs;
}

static volatile uint64_t sink;

static double touch(uint8_t *p)
{
	double t0 = now();
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < SZ; i += PAGE)
		s += *(volatile uint64_t *)(p + i);
	sink = s;
	return now() - t0;
}

/* ---------------------------------------------------------------- unimem */

static void um_migrate(int fd, void *p, uint32_t target)
{
	struct unimem_migrate m = {
		.addr = (uintptr_t)p, .length = SZ, .target = target,
	};

	if (ioctl(fd, UNIMEM_IOCTL_MIGRATE, &m))
		die("UNIMEM_IOCTL_MIGRATE");
	if (m.moved + m.already != SZ / PAGE) {
		fprintf(stderr, "unimem: moved %llu already %llu of %zu\n",
			(unsigned long long)m.moved,
			(unsigned long long)m.already, SZ / PAGE);
		exit(1);
	}
}

static void um_read(int fd, void *p, void *out)
{
	struct unimem_dev_op op = {
		.op = UNIMEM_OP_READ, .addr = (uintptr_t)p, .length = SZ,
		.buf = (uintptr_t)out,
	};

	if (ioctl(fd, UNIMEM_IOCTL_DEV_EXEC, &op))
		die("UNIMEM_OP_READ");
}

/* ---------------------------------------------------------------- test_hmm */

static void hmm_cmd(int fd, unsigned long req, void *p, void *out,
		    const char *what)
{
	struct hmm_dmirror_cmd c = {
		.addr = (uintptr_t)p, .ptr = (uintptr_t)out,
		.npages = SZ / PAGE,
	};

	if (ioctl(fd, req, &c))
		die(what);
	if (c.cpages != SZ / PAGE && req != HMM_DMIRROR_MIGRATE_TO_SYS) {
		fprintf(stderr, "test_hmm %s: cpages %llu of %zu\n", what,
			(unsigned long long)c.cpages, SZ / PAGE);
		exit(1);
	}
}

enum { W_TODEV, W_TODEV_RB, W_TOSYS, W_TOUCH, W_READ, W_NR };
static const char *const wname[W_NR] = {
	"migrate system -> device",
	"migrate + device read-back (test_hmm's MIGRATE_TO_DEV)",
	"migrate device -> system",
	"CPU sequential touch of device-resident memory",
	"device read, not yet mirrored (device faults)",
};

/* ---------------------------------------------------------------- stall */

static volatile int stall_stop;

/* Migrate @len at @p to the device and back, with CPU faults, until told. */
static void thrash(int fd, uint8_t *p, size_t len)
{
	struct unimem_migrate m = { .addr = (uintptr_t)p, .length = len };
	size_t i;

	while (!stall_stop) {
		m.target = 0;
		if (ioctl(fd, UNIMEM_IOCTL_MIGRATE, &m))
			die("thrash: migrate to device");
		for (i = 0; i < len; i += 16 * PAGE)
			p[i]++;		/* CPU faults bring some back */
		m.target = UNIMEM_TARGET_SYSTEM;
		if (ioctl(fd, UNIMEM_IOCTL_MIGRATE, &m))
			die("thrash: migrate to system");
	}
}

static pid_t thrasher(size_t len)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (!pid) {
		int fd = open("/dev/unimem0", O_RDWR);
		uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (fd < 0 || p == MAP_FAILED)
			die("thrasher");
		memset(p, 1, len);
		thrash(fd, p, len);	/* until SIGTERM */
		_exit(0);
	}
	return pid;
}

struct self_thrash {
	int fd;
	uint8_t *p;
	size_t len;
};

static void *self_thrash(void *a)
{
	struct self_thrash *t = a;

	thrash(t->fd, t->p, t->len);
	return NULL;
}

/* Device reads of @n fresh 2 MiB ranges; latencies in ms into @ms. */
static void stall_sample(int fd, double *ms, int n, uint8_t *out)
{
	const size_t len = 2UL << 20;
	int i;

	for (i = 0; i < n; i++) {
		uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct unimem_dev_op op = {
			.op = UNIMEM_OP_READ, .addr = (uintptr_t)p,
			.length = len, .buf = (uintptr_t)out,
		};
		double t0;

		if (p == MAP_FAILED)
			die("mmap");
		memset(p, 2, len);
		t0 = now();
		if (ioctl(fd, UNIMEM_IOCTL_DEV_EXEC, &op))
			die("stall: device read");
		ms[i] = (now() - t0) * 1e3;
		munmap(p, len);
	}
	qsort(ms, n, sizeof(*ms), cmp_d);
}

static double pct(const double *sorted, int n, double q)
{
	int i = (int)(q * (n - 1) + 0.5);

	return sorted[i];
}

static int stall_main(int samples, size_t dev_mib)
{
	/* each thrasher alone overfills the device by half */
	size_t tlen = (dev_mib + dev_mib / 2) << 20;
	static double idle[MAXSAMPLES], busy[MAXSAMPLES], self[MAXSAMPLES];
	struct self_thrash st[3];
	uint8_t *out = malloc(2UL << 20);
	pid_t t1, t2;
	pthread_t thr[3];
	int fd, i;

	if (samples < 10 || samples > MAXSAMPLES)
		samples = 200;
	fd = open("/dev/unimem0", O_RDWR);
	if (fd < 0 || !out)
		die("/dev/unimem0");
	stall_sample(fd, idle, samples, out);

	t1 = thrasher(tlen);
	t2 = thrasher(tlen);
	usleep(500 * 1000);	/* let them fill the device */
	stall_sample(fd, busy, samples, out);

	/* together they overfill the device too: they evict as well */
	for (i = 0; i < 3; i++) {
		st[i].fd = fd;
		st[i].len = (dev_mib / 2) << 20;
		st[i].p = mmap(NULL, st[i].len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (st[i].p == MAP_FAILED)
			die("mmap");
		memset(st[i].p, 3, st[i].len);
		if (pthread_create(&thr[i], NULL, self_thrash, &st[i]))
			die("pthread_create");
	}
	stall_sample(fd, self, samples, out);
	stall_stop = 1;
	for (i = 0; i < 3; i++)
		pthread_join(thr[i], NULL);
	kill(t1, SIGKILL);
	kill(t2, SIGKILL);
	waitpid(t1, NULL, 0);
	waitpid(t2, NULL, 0);

	printf("| device fault, 2 MiB never mirrored (%d samples, device %zu MiB) | p50 ms | p99 ms | p99 / idle p99 |\n",
	       samples, dev_mib);
	printf("| --- | ---: | ---: | ---: |\n");
	printf("| idle | %.2f | %.2f | 1.00x |\n", pct(idle, samples, 0.5),
	       pct(idle, samples, 0.99));
	printf("| 2 other processes thrash the device | %.2f | %.2f | %.2fx |\n",
	       pct(busy, samples, 0.5), pct(busy, samples, 0.99),
	       pct(busy, samples, 0.99) / pct(idle, samples, 0.99));
	printf("| + 3 threads of this process migrate other ranges | %.2f | %.2f | %.2fx |\n",
	       pct(self, samples, 0.5), pct(self, samples, 0.99),
	       pct(self, samples, 0.99) / pct(idle, samples, 0.99));
	return 0;
}

/* One repetition of every workload on 4 KiB (thp 0) or THP memory. */
static void run_set(int thp, int r, uint8_t *out, double um[][MAXREPS],
		    double th[][MAXREPS])
{
	uint8_t *p;
	double t0;
	int fd, hfd;

	/* ---- unimem */
	fd = open("/dev/unimem0", O_RDWR);
	if (fd < 0)
		die("/dev/unimem0");
	p = map_populated(thp);
	t0 = now();
	um_migrate(fd, p, 0);
	um[W_TODEV][r] = now() - t0;
	t0 = now();
	um_read(fd, p, out);
	um[W_TODEV_RB][r] = um[W_TODEV][r] + now() - t0;
	t0 = now();
	um_migrate(fd, p, UNIMEM_TARGET_SYSTEM);
	um[W_TOSYS][r] = now() - t0;
	um_migrate(fd, p, 0);
	um[W_TOUCH][r] = touch(p);
	munmap(p, SZ);
	close(fd);

	fd = open("/dev/unimem0", O_RDWR);
	p = map_populated(thp);
	t0 = now();
	um_read(fd, p, out);
	um[W_READ][r] = now() - t0;
	munmap(p, SZ);
	close(fd);

	/* ---- test_hmm */
	hfd = open("/dev/hmm_dmirror0", O_RDWR);
	if (hfd < 0)
		die("/dev/hmm_dmirror0");
	p = map_populated(thp);
	t0 = now();
	hmm_cmd(hfd, HMM_DMIRROR_MIGRATE_TO_DEV, p, out, "MIGRATE_TO_DEV");
	th[W_TODEV][r] = th[W_TODEV_RB][r] = now() - t0;
	t0 = now();
	hmm_cmd(hfd, HMM_DMIRROR_MIGRATE_TO_SYS, p, out, "MIGRATE_TO_SYS");
	th[W_TOSYS][r] = now() - t0;
	hmm_cmd(hfd, HMM_DMIRROR_MIGRATE_TO_DEV, p, out, "MIGRATE_TO_DEV");
	th[W_TOUCH][r] = touch(p);
	munmap(p, SZ);
	close(hfd);

	hfd = open("/dev/hmm_dmirror0", O_RDWR);
	p = map_populated(thp);
	t0 = now();
	hmm_cmd(hfd, HMM_DMIRROR_READ, p, out, "READ");
	th[W_READ][r] = now() - t0;
	munmap(p, SZ);
	close(hfd);
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 5, r, w, thp;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 64;
	static double um[2][W_NR][MAXREPS], th[2][W_NR][MAXREPS];
	double mc[MAXREPS];
	static const char *const kind[2] = { "4 KiB pages", "THP" };
	uint8_t *out;

	if (argc > 1 && !strcmp(argv[1], "stall"))
		return stall_main(argc > 2 ? atoi(argv[2]) : 200,
				  argc > 3 ? strtoul(argv[3], NULL, 0) : 64);
	if (reps < 1 || reps > MAXREPS)
		reps = 5;
	SZ = mib << 20;
	out = map_populated(0);

	for (r = 0; r < reps; r++) {
		uint8_t *src = map_populated(0);
		double t0;

		/* memcpy ceiling */
		t0 = now();
		memcpy(out, src, SZ);
		mc[r] = now() - t0;
		munmap(src, SZ);

		for (thp = 0; thp < 2; thp++) {
			run_set(thp, r, out, um[thp], th[thp]);
			fprintf(stderr, "rep %d %s MiB/s unimem/test_hmm:",
				r + 1, kind[thp]);
			for (w = 0; w < W_NR; w++)
				fprintf(stderr, " %.0f/%.0f",
					mibps(um[thp][w][r]),
					mibps(th[thp][w][r]));
			fprintf(stderr, " memcpy %.0f\n", mibps(mc[r]));
		}
	}

	printf("| workload (%zu MiB, median of %d) | pages | unimem MiB/s | test_hmm MiB/s | unimem / test_hmm | unimem THP / 4 KiB |\n",
	       mib, reps);
	printf("| --- | --- | ---: | ---: | ---: | ---: |\n");
	for (w = 0; w < W_NR; w++)
		for (thp = 0; thp < 2; thp++) {
			double u = mibps(median(um[thp][w], reps));
			double t = mibps(median(th[thp][w], reps));
			double u4 = mibps(median(um[0][w], reps));

			printf("| %s | %s | %.0f | %.0f | %.2fx | %.2fx |\n",
			       wname[w], kind[thp], u, t, u / t,
			       thp ? u / u4 : 1.0);
		}
	printf("| memcpy (userspace, same boot): ceiling | 4 KiB pages | %.0f | | | |\n",
	       mibps(median(mc, reps)));
	return 0;
}
