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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/unimem.h>
#include "test_hmm_uapi.h"

#define PAGE 4096UL
#define MAXREPS 64

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
