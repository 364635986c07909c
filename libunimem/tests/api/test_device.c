/* SPDX-License-Identifier: MIT */
/*
 * test_device.c - device locations.
 *
 * Without the module (any host): every device request fails with -ENODEV
 * and a message naming the cause, never a crash.
 * With the module (the VM test): prefetch to a device, a CPU read sees the
 * same bytes, the module's counters show the migration both ways, and the
 * range attributes say where the pages are.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <unistd.h>

#include "um_test.h"
#include <linux/unimem.h>

#pragma weak unimem_malloc
#pragma weak unimem_free

static size_t ps;

static int no_module(void)
{
	struct unimem_location_info info;
	char *mem = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unimem_queue_t *q;

	printf("  no unimem module: checking the -ENODEV paths\n");
	CHECK_ERR(unimem_module_version(), -ENODEV);
	CHECK(strstr(unimem_last_error(), "module") != NULL);
	CHECK_ERR(unimem_prefetch(mem, ps, UNIMEM_LOC_DEVICE(0), 0), -ENODEV);
	CHECK(strstr(unimem_last_error(), "no unimem module loaded") != NULL);
	CHECK_ERR(unimem_advise(mem, ps, UNIMEM_ADVISE_SET_PREFERRED_LOCATION,
				UNIMEM_LOC_DEVICE(0)), -ENODEV);
	CHECK_ERR(unimem_advise(mem, ps, UNIMEM_ADVISE_SET_ACCESSED_BY, UNIMEM_LOC_DEVICE(0)),
		  -ENODEV);
	CHECK_ERR(unimem_location_query(UNIMEM_LOC_DEVICE(0), &info), -ENODEV);
	CHECK_EQ(unimem_queue_create(&q), 0);
	CHECK_ERR(unimem_prefetch_async(q, mem, ps, UNIMEM_LOC_DEVICE(0), 0, NULL), -ENODEV);
	CHECK_EQ(unimem_queue_destroy(q), 0);
	/* No device in the table; host memory still works. */
	for (int i = 0; i < unimem_location_count(); i++) {
		CHECK_EQ(unimem_location_get(i, &info), 0);
		CHECK(UNIMEM_LOC_KIND(info.location) == UNIMEM_LOC_KIND_HOST);
	}
	CHECK_EQ(unimem_prefetch(mem, 4 * ps, UNIMEM_LOC_SYSTEM, 0), 4);
	munmap(mem, 4 * ps);
	return um_test_done("test_device (no module)");
}

/* Sum of a counter over all devices (device scope). */
static unsigned long long counter(int fd, int ndev, enum unimem_counter c)
{
	unsigned long long sum = 0;

	for (int d = 0; d < ndev; d++) {
		struct unimem_counters k;
		memset(&k, 0, sizeof(k));
		k.scope = UNIMEM_SCOPE_DEVICE;
		k.device = (unsigned)d;
		if (ioctl(fd, UNIMEM_IOCTL_COUNTERS, &k) < 0)
			return 0;
		sum += k.values[c];
	}
	return sum;
}

static unimem_location_t attr(const void *p, size_t size, enum unimem_range_attr a)
{
	unimem_location_t loc = 0;
	CHECK_EQ(unimem_range_get_attr(p, size, a, &loc, sizeof(loc)), 0);
	return loc;
}

/*
 * Small blocks on a device stay there (issue 13, defect 6): the allocator
 * keeps their metadata in host memory, so allocating, freeing and
 * allocating again does not fault device pages back.
 */
static void small_blocks_stay_on_device(void)
{
	enum { N = 2000 };
	static char *v[N];
	unimem_location_t dev = UNIMEM_LOC_DEVICE(0);

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			v[i] = unimem_malloc_on(64 + (size_t)(i % 4) * 400, dev);
			CHECK(v[i] != NULL);
		}
		size_t off_device = 0;
		for (int i = 0; i < N; i++)
			if (v[i])
				off_device += um_pages_not_at((void *)((uintptr_t)v[i] & ~(ps - 1)),
							      1, ps, dev);
		CHECK_EQ(off_device, 0);
		for (int i = 0; i < N; i += 1 + round)
			unimem_free(v[i]);
		for (int i = 0; i < N; i += 1 + round)
			v[i] = NULL;
		for (int i = 0; i < N; i++)
			unimem_free(v[i]);
	}
	/* Given back (discarded) within a segment that stays (one block
	 * lives on), then allocated again: placed on the device again, not
	 * left unpopulated or refaulted into host memory. */
	for (int i = 0; i < N; i++)
		v[i] = unimem_malloc_on(64 + (size_t)(i % 4) * 400, dev);
	for (int i = 1; i < N; i++)
		unimem_free(v[i]);
	CHECK(unimem_collect() > 0);
	unimem_free(v[0]);
	size_t off_device = 0;
	for (int i = 0; i < N; i++) {
		v[i] = unimem_malloc_on(64 + (size_t)(i % 4) * 400, dev);
		CHECK(v[i] != NULL);
		if (v[i])
			off_device += um_pages_not_at((void *)((uintptr_t)v[i] & ~(ps - 1)),
						      1, ps, dev);
	}
	CHECK_EQ(off_device, 0);
	for (int i = 0; i < N; i++)
		unimem_free(v[i]);
}

static int with_module(void)
{
	const size_t npages = 256, size = npages * ps;
	struct unimem_location_info info;
	unsigned long long to_dev, to_sys;
	int ndev = 0, fd, version = unimem_module_version();
	unimem_location_t *locs;
	size_t bad = 0;
	char *mem;

	printf("  unimem module API %d.%d\n", version >> 16, version & 0xffff);
	CHECK_EQ(version >> 16, UNIMEM_API_VERSION_MAJOR);
	for (int i = 0; i < unimem_location_count(); i++) {
		CHECK_EQ(unimem_location_get(i, &info), 0);
		if (UNIMEM_LOC_KIND(info.location) != UNIMEM_LOC_KIND_DEVICE)
			continue;
		CHECK_EQ(UNIMEM_LOC_INDEX(info.location), ndev);
		CHECK(info.total_bytes > 0 && info.free_bytes <= info.total_bytes);
		CHECK_EQ(info.flags & UNIMEM_LOCF_CPU_ACCESS, 0);
		printf("  %s: %llu MiB, %llu MiB free\n", info.name,
		       (unsigned long long)info.total_bytes >> 20,
		       (unsigned long long)info.free_bytes >> 20);
		ndev++;
	}
	if (ndev == 0) {
		printf("SKIP: module loaded but no device listed\n");
		return UM_SKIP;
	}
	CHECK_ERR(unimem_prefetch(&info, 1, UNIMEM_LOC_DEVICE(ndev), 0), -ENODEV);
	fd = open("/dev/unimem0", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	locs = calloc(npages, sizeof(*locs));
	for (size_t i = 0; i < size; i++)
		mem[i] = (char)(i * 13 + 1);
	to_dev = counter(fd, ndev, UNIMEM_CNT_MIGRATED_TO_DEVICE);
	to_sys = counter(fd, ndev, UNIMEM_CNT_MIGRATED_TO_SYSTEM);

	/* Host -> device: all pages there, the counter moved. */
	CHECK_EQ(unimem_prefetch(mem, size, UNIMEM_LOC_DEVICE(0), 0), npages);
	CHECK_EQ(attr(mem, size, UNIMEM_ATTR_LOCATION), UNIMEM_LOC_DEVICE(0));
	CHECK_EQ(unimem_range_get_attr(mem, size, UNIMEM_ATTR_PAGE_LOCATIONS, locs,
				       npages * sizeof(*locs)), 0);
	for (size_t i = 0; i < npages; i++)
		bad += locs[i] != UNIMEM_LOC_DEVICE(0);
	CHECK_EQ(bad, 0);
	CHECK_EQ(attr(mem, size, UNIMEM_ATTR_LAST_PREFETCH_LOCATION), UNIMEM_LOC_DEVICE(0));
	CHECK(counter(fd, ndev, UNIMEM_CNT_MIGRATED_TO_DEVICE) >= to_dev + npages);

	/* Device -> system by prefetch: counter moved the other way, same bytes. */
	CHECK_EQ(unimem_prefetch(mem, size, UNIMEM_LOC_SYSTEM, 0), npages);
	CHECK(counter(fd, ndev, UNIMEM_CNT_MIGRATED_TO_SYSTEM) >= to_sys + npages);
	CHECK(UNIMEM_LOC_KIND(attr(mem, size, UNIMEM_ATTR_LOCATION)) == UNIMEM_LOC_KIND_HOST ||
	      attr(mem, size, UNIMEM_ATTR_LOCATION) == UNIMEM_LOC_MIXED);
	bad = 0;
	for (size_t i = 0; i < size; i++)
		bad += mem[i] != (char)(i * 13 + 1);
	CHECK_EQ(bad, 0);

	/* Back to the device, then a plain CPU read faults the pages home. */
	CHECK_EQ(unimem_prefetch(mem, size, UNIMEM_LOC_DEVICE(ndev - 1), 0), npages);
	bad = 0;
	for (size_t i = 0; i < size; i++)
		bad += mem[i] != (char)(i * 13 + 1);
	CHECK_EQ(bad, 0);
	CHECK(UNIMEM_LOC_KIND(attr(mem, size, UNIMEM_ATTR_LOCATION)) == UNIMEM_LOC_KIND_HOST);

	/* To a host node from a device: via system memory, then the node. */
	CHECK_EQ(unimem_prefetch(mem, size, UNIMEM_LOC_DEVICE(0), 0), npages);
	CHECK_EQ(unimem_prefetch(mem, size, UNIMEM_LOC_HOST(0), 0), npages);
	CHECK_EQ(attr(mem, size, UNIMEM_ATTR_LOCATION), UNIMEM_LOC_HOST(0));

	/* Untouched memory prefetched to a device reads back as zeros. */
	{
		char *fresh = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK_EQ(unimem_prefetch(fresh, 16 * ps, UNIMEM_LOC_DEVICE(0), 0), 16);
		bad = 0;
		for (size_t i = 0; i < 16 * ps; i++)
			bad += fresh[i] != 0;
		CHECK_EQ(bad, 0);
		munmap(fresh, 16 * ps);
	}

	/* Contents not needed: device pages are dropped, not copied back. */
	{
		char *tmp = mmap(NULL, 32 * ps, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memset(tmp, 0x21, 32 * ps);
		CHECK_EQ(unimem_prefetch(tmp, 32 * ps, UNIMEM_LOC_DEVICE(0), 0), 32);
		CHECK_EQ(unimem_prefetch(tmp, 32 * ps, UNIMEM_LOC_SYSTEM,
					 UNIMEM_PREFETCH_CONTENT_UNDEFINED), 32);
		CHECK_EQ(unimem_prefetch(tmp, 32 * ps, UNIMEM_LOC_DEVICE(0),
					 UNIMEM_PREFETCH_CONTENT_UNDEFINED), 32);
		CHECK_EQ(attr(tmp, 32 * ps, UNIMEM_ATTR_LOCATION), UNIMEM_LOC_DEVICE(0));
		munmap(tmp, 32 * ps);
	}

	/* Advice with a device: kept in the range table. */
	CHECK_EQ(unimem_advise(mem, size, UNIMEM_ADVISE_SET_PREFERRED_LOCATION,
			       UNIMEM_LOC_DEVICE(0)), 0);
	CHECK_EQ(attr(mem, size, UNIMEM_ATTR_PREFERRED_LOCATION), UNIMEM_LOC_DEVICE(0));
	CHECK_EQ(unimem_advise(mem, size, UNIMEM_ADVISE_SET_ACCESSED_BY, UNIMEM_LOC_DEVICE(0)), 0);
	{
		unimem_location_t by[2];
		CHECK_EQ(unimem_range_get_attr(mem, size, UNIMEM_ATTR_ACCESSED_BY, by,
					       sizeof(by)), 0);
		CHECK_EQ(by[0], UNIMEM_LOC_DEVICE(0));
	}

	/* The module sees the advice too, when it has range attributes. */
	{
		struct unimem_attr a[3] = { { UNIMEM_RANGE_ATTR_PREFERRED_LOC, 0 },
					    { UNIMEM_RANGE_ATTR_ACCESSED_BY, 0 },
					    { UNIMEM_RANGE_ATTR_READ_MOSTLY, 0 } };
		struct unimem_attr_op op;

		CHECK_EQ(unimem_advise(mem, size, UNIMEM_ADVISE_SET_READ_MOSTLY, 0), 0);
		memset(&op, 0, sizeof(op));
		op.addr = (uintptr_t)mem;
		op.length = size;
		op.op = UNIMEM_RANGE_ATTR_OP_GET;
		op.nattrs = 3;
		op.attrs = (uintptr_t)a;
		if (ioctl(fd, UNIMEM_IOCTL_ATTR, &op) < 0) {
			CHECK_EQ(errno, ENOTTY);
			printf("  module has no range attributes (ENOTTY): advice kept in the library\n");
		} else {
			CHECK_EQ(a[0].value, 0);   /* preferred: device 0 */
			CHECK_EQ(a[1].value, 1u);  /* accessed by device 0 */
			CHECK_EQ(a[2].value, 1);   /* read-mostly */
			printf("  module range attributes match the advice\n");
		}
		CHECK_EQ(unimem_advise(mem, size, UNIMEM_ADVISE_UNSET_READ_MOSTLY, 0), 0);
	}

	/* Async to a device. */
	{
		unimem_queue_t *q;
		unimem_event_t *ev;
		CHECK_EQ(unimem_queue_create(&q), 0);
		CHECK_EQ(unimem_prefetch_async(q, mem, size, UNIMEM_LOC_DEVICE(0), 0, &ev), 0);
		CHECK_EQ(unimem_event_wait(ev), npages);
		unimem_event_release(ev);
		CHECK_EQ(unimem_queue_destroy(q), 0);
	}

	/* A forked child gets its own module context (the parent's is bound to
	 * the parent's mm) and can move its copy of the pages. */
	{
		pid_t pid;
		int status = -1;

		CHECK_EQ(unimem_prefetch(mem, size, UNIMEM_LOC_SYSTEM, 0), npages);
		pid = fork();
		if (pid == 0) {
			long r = unimem_prefetch(mem, size, UNIMEM_LOC_DEVICE(0), 0);
			size_t wrong = 0;
			for (size_t i = 0; i < size; i++)
				wrong += mem[i] != (char)(i * 13 + 1);
			if (r != (long)npages || wrong)
				fprintf(stderr, "child: prefetch %ld (%s), %zu bytes wrong\n", r,
					r < 0 ? unimem_last_error() : "ok", wrong);
			_exit(r == (long)npages && !wrong ? 0 : 1);
		}
		CHECK(pid > 0);
		CHECK_EQ(waitpid(pid, &status, 0), pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		/* The parent's context still works. */
		CHECK_EQ(unimem_prefetch(mem, size, UNIMEM_LOC_DEVICE(0), 0), npages);
	}

	/* The allocator's memory, too. */
	if (unimem_malloc) {
		char *p = unimem_malloc(size);
		CHECK(p != NULL);
		if (p) {
			memset(p, 0x3c, size);
			CHECK(unimem_prefetch(p, size, UNIMEM_LOC_DEVICE(0), 0) >= (long)npages);
			bad = 0;
			for (size_t i = 0; i < size; i++)
				bad += p[i] != 0x3c;
			CHECK_EQ(bad, 0);
			unimem_free(p);
		}
	}
	printf("  counters: to device %llu, to system %llu pages\n",
	       counter(fd, ndev, UNIMEM_CNT_MIGRATED_TO_DEVICE),
	       counter(fd, ndev, UNIMEM_CNT_MIGRATED_TO_SYSTEM));
	free(locs);
	munmap(mem, size);
	close(fd);
	small_blocks_stay_on_device();
	return um_test_done("test_device (module)");
}

int main(int argc, char **argv)
{
	int require = argc > 1 && strcmp(argv[1], "--require-module") == 0;

	ps = (size_t)sysconf(_SC_PAGESIZE);
	if (unimem_module_version() < 0) {
		if (require) {
			printf("SKIP: no unimem module loaded (%s)\n", unimem_last_error());
			return UM_SKIP;
		}
		return no_module();
	}
	return with_module();
}
