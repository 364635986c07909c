// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem-stress: data-integrity stress of unimem.ko.
 *
 *   unimem-stress [-t seconds] [-p procs] [-T threads] [-s MiB] [-m dev MiB]
 *                 [-H (THP)] [-P (peer_access=1)]
 *
 * Loads the module with small device memories (smaller than the working
 * set), then several processes with several threads each run random device
 * reads, writes, fills and atomics, migrations to either device and back,
 * CPU reads and writes, mmap(MAP_FIXED) replacement, MADV_DONTNEED and fork
 * on one shared range per process, every byte checked against a shadow copy.
 * Each thread owns the pages p with p % threads == its index (so its shadow
 * is exact); migrations and forks cover the whole range and race with all.
 */
#include "ut.h"

#include <pthread.h>
#include <stdatomic.h>

static int secs = 20, nproc = 2, nthr = 3, mib = 6, dev_mib = 4;
static int thp;		/* -H: THP "always", 2 MiB aligned migrations too */
static int peer;	/* -P: peer_access=1, devices map each other's memory */
static uint8_t *R, *S;
static size_t npages;
static int fds[2];
static double deadline;
static atomic_long ops[16];
static atomic_int failed;

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#define FAILX(...)                                                        \
	do {                                                              \
		fprintf(stderr, "[pid %d] ", getpid());                   \
		fprintf(stderr, __VA_ARGS__);                             \
		fprintf(stderr, "\n");                                    \
		atomic_store(&failed, 1);                                 \
		return NULL;                                              \
	} while (0)

static int cmp_page(const uint8_t *got, size_t pg, const char *what)
{
	const uint8_t *want = S + pg * PAGE;
	size_t i;

	for (i = 0; i < PAGE; i++) {
		if (got[i] != want[i]) {
			fprintf(stderr, "[pid %d] MISMATCH (%s) page %zu +%zu: "
				"0x%02x want 0x%02x\n", getpid(), what, pg, i,
				got[i], want[i]);
			return -1;
		}
	}
	return 0;
}

static void *worker(void *arg)
{
	long me = (long)arg;
	uint64_t seed = (uint64_t)getpid() * 1000 + me;
	uint8_t *buf = malloc(PAGE);
	size_t mine = npages / nthr;

	while (ut_now() < deadline && !atomic_load(&failed)) {
		size_t pg = (rnd(&seed) % mine) * nthr + me;
		uint8_t *pp = R + pg * PAGE, *sp = S + pg * PAGE;
		size_t off = rnd(&seed) % PAGE;
		size_t len = 1 + rnd(&seed) % (PAGE - off);
		int fd = fds[rnd(&seed) & 1];
		int op = rnd(&seed) % 20;
		struct unimem_dev_op d;
		size_t i;

		memset(&d, 0, sizeof(d));
		switch (op) {
		case 0: case 1: case 2:		/* CPU write */
			for (i = 0; i < len; i++)
				sp[off + i] = pp[off + i] = (uint8_t)rnd(&seed);
			break;
		case 3: case 4: case 5:		/* device write */
			for (i = 0; i < len; i++)
				buf[i] = (uint8_t)rnd(&seed);
			d.op = UNIMEM_OP_WRITE;
			d.addr = (uintptr_t)pp + off;
			d.length = len;
			d.buf = (uintptr_t)buf;
			if (ut_exec(fd, &d))
				FAILX("device write: %s", strerror(errno));
			memcpy(sp + off, buf, len);
			break;
		case 6: case 7:			/* device read */
			d.op = UNIMEM_OP_READ;
			d.addr = (uintptr_t)pp;
			d.length = PAGE;
			d.buf = (uintptr_t)buf;
			if (ut_exec(fd, &d))
				FAILX("device read: %s", strerror(errno));
			if (cmp_page(buf, pg, "device read"))
				FAILX("data mismatch");
			break;
		case 8:				/* CPU read */
			memcpy(buf, pp, PAGE);
			if (cmp_page(buf, pg, "CPU read"))
				FAILX("data mismatch");
			break;
		case 9: case 10: {		/* device atomic */
			size_t w = (rnd(&seed) & 1) ? 8 : 4;
			size_t o = (rnd(&seed) % (PAGE / w)) * w;
			uint64_t v = rnd(&seed), old = 0;

			if (w == 4)
				v &= 0xffffffffu;
			d.op = UNIMEM_OP_ATOMIC_ADD;
			d.addr = (uintptr_t)pp + o;
			d.width = w;
			d.value = v;
			if (ut_exec(fd, &d))
				FAILX("device atomic: %s", strerror(errno));
			memcpy(&old, sp + o, w);
			if (d.result != old)
				FAILX("atomic old value 0x%llx want 0x%llx page %zu",
				      (unsigned long long)d.result,
				      (unsigned long long)old, pg);
			old += v;
			memcpy(sp + o, &old, w);
			break;
		}
		case 11: case 12: case 13: {	/* migrate any range */
			size_t s = rnd(&seed) % npages;
			size_t n = 1 + rnd(&seed) % 256;
			uint32_t t = rnd(&seed) % 3;
			struct unimem_migrate m = { 0 };

			if (thp && (rnd(&seed) & 1)) {	/* whole THPs */
				s -= s % 512;
				n = 512;
			}
			if (s + n > npages)
				n = npages - s;
			m.addr = (uintptr_t)(R + s * PAGE);
			m.length = n * PAGE;
			m.target = t == 2 ? UNIMEM_TARGET_SYSTEM : t;
			if (ioctl(fd, UNIMEM_IOCTL_MIGRATE, &m))
				FAILX("migrate: %s", strerror(errno));
			if (m.moved + m.already + m.not_present + m.unmapped +
			    m.unsupported + m.busy + m.nomem != n)
				FAILX("migrate counts do not add up to %zu: %s",
				      n, ut_migrate_str(&m));
			if (m.unmapped || m.unsupported)
				FAILX("migrate: unmapped %llu unsupported %llu",
				      (unsigned long long)m.unmapped,
				      (unsigned long long)m.unsupported);
			break;
		}
		case 14:			/* replace the page: mmap */
			if (mmap(pp, PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				 0) != pp)
				FAILX("mmap fixed: %s", strerror(errno));
			memset(sp, 0, PAGE);
			break;
		case 15:			/* MADV_DONTNEED */
			if (madvise(pp, PAGE, MADV_DONTNEED))
				FAILX("madvise: %s", strerror(errno));
			memset(sp, 0, PAGE);
			break;
		case 16:			/* device fill */
			d.op = UNIMEM_OP_FILL;
			d.addr = (uintptr_t)pp + off;
			d.length = len;
			d.width = 1;
			d.value = rnd(&seed) & 0xff;
			if (ut_exec(fd, &d))
				FAILX("device fill: %s", strerror(errno));
			memset(sp + off, (int)d.value, len);
			break;
		case 17: {			/* fork: child checks my pages */
			pid_t pid;
			int st;

			if (me || rnd(&seed) % 8)
				break;
			pid = fork();
			if (pid < 0)
				FAILX("fork: %s", strerror(errno));
			if (!pid) {
				int cfd = ut_open(rnd(&seed) & 1);
				size_t k;

				for (k = me; k < npages; k += nthr * 7) {
					struct unimem_dev_op r = {
						.op = UNIMEM_OP_READ,
						.addr = (uintptr_t)(R + k * PAGE),
						.length = PAGE,
						.buf = (uintptr_t)buf,
					};
					if (cmp_page(R + k * PAGE, k, "fork child CPU"))
						_exit(1);
					if (ut_exec(cfd, &r) ||
					    cmp_page(buf, k, "fork child device"))
						_exit(1);
				}
				/* write in the child: must not reach the parent */
				memset(R + me * PAGE, 0xcc, PAGE);
				_exit(0);
			}
			if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
			    WEXITSTATUS(st))
				FAILX("fork child failed (status 0x%x)", st);
			break;
		}
		default:			/* CPU read of a byte range */
			if (memcmp(pp + off, sp + off, len)) {
				memcpy(buf, pp, PAGE);
				cmp_page(buf, pg, "CPU read range");
				FAILX("data mismatch");
			}
			break;
		}
		atomic_fetch_add(&ops[op < 16 ? op : 15], 1);
	}
	free(buf);
	return NULL;
}

static int run_process(int idx)
{
	pthread_t th[16];
	long i;
	size_t pg;
	uint8_t *buf = malloc(PAGE);

	npages = (size_t)mib * 256;
	npages -= npages % nthr;
	R = ut_map(npages * PAGE + (thp ? 2 << 20 : 0));
	if (thp)	/* 2 MiB aligned, THP-backed */
		R = (uint8_t *)(((uintptr_t)R + (2 << 20) - 1) &
				~(uintptr_t)((2 << 20) - 1));
	S = malloc(npages * PAGE);
	if (thp)
		madvise(R, npages * PAGE, MADV_HUGEPAGE);
	else if (idx & 1)
		madvise(R, npages * PAGE, MADV_NOHUGEPAGE);
	ut_pattern(R, npages * PAGE, idx + 1);
	memcpy(S, R, npages * PAGE);
	fds[0] = ut_open(0);
	fds[1] = ut_open(1);
	for (i = 0; i < nthr; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (i = 0; i < nthr; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&failed))
		return 1;
	/* final check of everything, by the CPU and by both devices */
	for (pg = 0; pg < npages; pg++) {
		if (cmp_page(R + pg * PAGE, pg, "final CPU"))
			return 1;
	}
	ut_migrate(fds[0], R, npages * PAGE, 0, 0);
	for (pg = 0; pg < npages; pg++) {
		ut_dev_read(fds[pg & 1], R + pg * PAGE, buf, PAGE);
		if (cmp_page(buf, pg, "final device"))
			return 1;
	}
	printf("[pid %d] ops:", getpid());
	for (i = 0; i < 16; i++)
		printf(" %ld", atomic_load(&ops[i]));
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	int c, i, st, rc = 0;
	pid_t pids[16];
	char params[128];
	uint64_t ev;

	while ((c = getopt(argc, argv, "t:p:T:s:m:HP")) != -1) {
		switch (c) {
		case 'H': thp = 1; break;
		case 'P': peer = 1; break;
		case 't': secs = atoi(optarg); break;
		case 'p': nproc = atoi(optarg); break;
		case 'T': nthr = atoi(optarg); break;
		case 's': mib = atoi(optarg); break;
		case 'm': dev_mib = atoi(optarg); break;
		default: return 2;
		}
	}
	if (nproc < 1 || nproc > 16 || nthr < 1 || nthr > 16)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("stress: %d s, %d processes x %d threads, %d MiB each, "
	       "2 devices x %d MiB\n", secs, nproc, nthr, mib, dev_mib);
	snprintf(params, sizeof(params), "ndevices=2 mem_mib=%d%s", dev_mib,
		 peer ? " peer_access=1" : "");
	ut_load(params);
	if (thp)
		ut_thp("always");
	deadline = ut_now() + secs;
	for (i = 0; i < nproc; i++) {
		pids[i] = fork();
		if (!pids[i])
			_exit(run_process(i));
	}
	for (i = 0; i < nproc; i++) {
		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "process %d failed (status 0x%x)\n", i, st);
			rc = 1;
		}
	}
	{
		int fd = ut_open(0);

		ev = ut_dctr(fd, 0, UNIMEM_CNT_EVICTIONS) +
		     ut_dctr(fd, 1, UNIMEM_CNT_EVICTIONS);
		printf("evictions %llu, cpu faults %llu, device faults %llu\n",
		       (unsigned long long)ev,
		       (unsigned long long)(ut_dctr(fd, 0, UNIMEM_CNT_CPU_FAULTS) +
					    ut_dctr(fd, 1, UNIMEM_CNT_CPU_FAULTS)),
		       (unsigned long long)(ut_dctr(fd, 0, UNIMEM_CNT_DEVICE_FAULTS) +
					    ut_dctr(fd, 1, UNIMEM_CNT_DEVICE_FAULTS)));
		/* all processes exited: every device page is free again */
		ASSERT_EQ(ut_mem_free(fd, 0), (uint64_t)dev_mib << 20);
		ASSERT_EQ(ut_mem_free(fd, 1), (uint64_t)dev_mib << 20);
		close(fd);
	}
	ut_unload();
	if (thp)
		ut_thp("madvise");
	if (!rc)
		printf("PASS: zero mismatches\n");
	return rc;
}
