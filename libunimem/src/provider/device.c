/* SPDX-License-Identifier: MIT */
/*
 * device.c - the device provider: devices of the unimem kernel module
 * (/dev/unimemN), all through its ioctls.
 *
 * One open file of /dev/unimem0 is this process's context (the module binds
 * it to our mm); migrations name their target device by index, so one file
 * serves every device. A fork()ed child gets its own context on first use.
 *
 * Range advice: when the module has range attributes (UNIMEM_IOCTL_ATTR),
 * its store is the truth for preferred location, read-mostly and
 * granularity; hints/ sets and reads them through um_device_attrs().
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "provider/provider.h"
#include <linux/unimem.h>

#define MODULE_DEV_FMT "/dev/unimem%u"

static struct {
	pthread_once_t once;
	int init_err;
	char init_msg[160]; /* why the module is unusable, for every caller */
	struct unimem_version version;
	int ndevices;
	struct unimem_device_info dev[UNIMEM_MAX_DEVICES];
	pthread_mutex_t lock; /* guards fd/pid */
	int fd;
	pid_t pid;
} mod = { .once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

/* The child reopens its own context (context_fd() compares the pid). */
static _Atomic int mod_initialising;
static void module_init_once(void);
/* A probe under way finishes before the fork (the child re-runs it). */
static void mod_fork_prepare(void)
{
	if (atomic_load(&mod_initialising))
		pthread_once(&mod.once, module_init_once);
	pthread_mutex_lock(&mod.lock);
}
static void mod_fork_release(void) { pthread_mutex_unlock(&mod.lock); }
UM_FORK_HOOKS(mod_fork_hooks, UM_FORK_RANK_DEVICE, mod_fork_prepare, mod_fork_release,
	      mod_fork_release);

static int open_context(void)
{
	char path[32];

	snprintf(path, sizeof(path), MODULE_DEV_FMT, 0u);
	return open(path, O_RDWR | O_CLOEXEC);
}

static void module_init_once(void)
{
	atomic_store(&mod_initialising, 1);
	int fd = open_context();

	if (fd < 0) {
		int err = errno;
		mod.init_err = -ENODEV;
		snprintf(mod.init_msg, sizeof(mod.init_msg),
			 "no unimem module loaded (/dev/unimem0: %s)", strerror(err));
		goto done;
	}
	if (ioctl(fd, UNIMEM_IOCTL_VERSION, &mod.version) < 0) {
		int err = errno;
		close(fd);
		mod.init_err = -ENODEV;
		snprintf(mod.init_msg, sizeof(mod.init_msg), "/dev/unimem0 does not answer "
			 "the unimem version ioctl: %s", strerror(err));
		goto done;
	}
	if ((mod.version.api_version >> 16) != UNIMEM_API_VERSION_MAJOR) {
		close(fd);
		mod.init_err = -ENODEV;
		snprintf(mod.init_msg, sizeof(mod.init_msg), "unimem module API %u.%u is not "
			 "supported (library speaks %u.x)", mod.version.api_version >> 16,
			 mod.version.api_version & 0xffff, UNIMEM_API_VERSION_MAJOR);
		goto done;
	}
	mod.ndevices = mod.version.ndevices > UNIMEM_MAX_DEVICES ? UNIMEM_MAX_DEVICES
								 : (int)mod.version.ndevices;
	for (int i = 0; i < mod.ndevices; i++) {
		mod.dev[i].device = (uint32_t)i;
		if (ioctl(fd, UNIMEM_IOCTL_DEVICE_INFO, &mod.dev[i]) < 0) {
			mod.ndevices = i;
			break;
		}
	}
	mod.fd = fd;
	mod.pid = getpid();
done:
	atomic_store(&mod_initialising, 0);
}

/* Quiet probe: absence of the module is not an error by itself. */
static int module_probe(void)
{
	pthread_once(&mod.once, module_init_once);
	return mod.init_err;
}

/* Probe for a request that needs the module: says why it is unusable. */
static int module_init(void)
{
	int err = module_probe();

	return err < 0 ? um_error(err, "%s", mod.init_msg) : 0;
}

bool um_device_present(void)
{
	return module_probe() == 0;
}

/* The context fd of this process (reopened after fork). */
static int context_fd(void)
{
	int fd;

	if (module_init() < 0)
		return mod.init_err;
	pthread_mutex_lock(&mod.lock);
	if (mod.pid != getpid()) {
		int nfd = open_context();
		if (nfd >= 0) {
			close(mod.fd); /* the parent's context, useless here */
			mod.fd = nfd;
			mod.pid = getpid();
		}
	}
	fd = mod.fd;
	pthread_mutex_unlock(&mod.lock);
	return fd;
}

static int module_location_count(void)
{
	return module_probe() < 0 ? 0 : mod.ndevices;
}

static void module_refresh_free(struct unimem_location_info *info)
{
	struct unimem_device_info di;
	int fd = context_fd();

	if (fd < 0)
		return;
	memset(&di, 0, sizeof(di));
	di.device = UNIMEM_LOC_INDEX(info->location);
	if (ioctl(fd, UNIMEM_IOCTL_DEVICE_INFO, &di) == 0) {
		info->free_bytes = di.mem_free;
		info->total_bytes = di.mem_total;
	}
}

static int module_location_info(int i, struct unimem_location_info *info)
{
	if (module_probe() < 0 || i < 0 || i >= mod.ndevices)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->location = UNIMEM_LOC_DEVICE(mod.dev[i].index);
	/* Device-private memory: the CPU reaches it only by migrating back. */
	info->flags = 0;
	snprintf(info->name, sizeof(info->name), "unimem%u", mod.dev[i].index);
	info->total_bytes = mod.dev[i].mem_total;
	info->free_bytes = mod.dev[i].mem_free;
	info->nearest_cpu_count = 0;
	module_refresh_free(info);
	return 0;
}

static int migrate_errno(int err, const char *what, unimem_location_t loc)
{
	char name[32];

	unimem_location_name(loc, name, sizeof(name));
	switch (err) {
	case EFAULT:
		return um_error(-EFAULT, "%s to %s: range is not in user space", what, name);
	case ENODEV:
		return um_error(-ENODEV, "%s: the module has no device %s", what, name);
	default:
		return um_error(-err, "%s to %s: module migrate failed: %s", what, name,
				strerror(err));
	}
}

/* One migration request: @loc a device, or anything else for system memory. */
static void migrate_request(struct unimem_migrate *m, uintptr_t addr, size_t len,
			    unimem_location_t loc)
{
	bool to_device = UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_DEVICE;

	memset(m, 0, sizeof(*m));
	m->addr = addr;
	m->length = len;
	m->target = to_device ? UNIMEM_LOC_INDEX(loc) : UNIMEM_TARGET_SYSTEM;
	m->flags = to_device ? UNIMEM_MIGRATE_POPULATE : 0;
}

/*
 * Migrate a page-aligned range to a device (or back to system memory for
 * host/system targets). Returns pages at the target afterwards.
 */
static long device_place(void *addr, size_t size, unimem_location_t loc, unsigned int flags)
{
	bool to_device = UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_DEVICE;
	long at_target = 0;
	int fd = context_fd();

	if (fd < 0)
		return fd;
	if (!(mod.version.features & UNIMEM_FEAT_MIGRATE))
		return um_error(-ENOTSUP, "prefetch: this unimem module cannot migrate");
	/*
	 * All or nothing: what can be known before anything moves is checked
	 * before the first chunk (a range larger than the device would
	 * otherwise move its first gigabytes, then fail). Busy pages are only
	 * known chunk by chunk: the chunks before such a failure stay moved.
	 */
	if ((flags & UNIMEM_PREFETCH_ALL_OR_NOTHING) && to_device) {
		for (int i = 0; i < mod.ndevices; i++)
			if (mod.dev[i].index == UNIMEM_LOC_INDEX(loc) &&
			    size > mod.dev[i].mem_total)
				return um_error(-ENOMEM, "prefetch: [%p, +%zu) is larger than "
						"device unimem%u (%llu bytes)", addr, size,
						UNIMEM_LOC_INDEX(loc),
						(unsigned long long)mod.dev[i].mem_total);
	}
	for (size_t off = 0; off < size;) {
		struct unimem_migrate m;
		size_t len = size - off;

		if (len > UNIMEM_MAX_DEV_OP_LENGTH)
			len = UNIMEM_MAX_DEV_OP_LENGTH;
		migrate_request(&m, (uintptr_t)addr + off, len, loc);
		if (ioctl(fd, UNIMEM_IOCTL_MIGRATE, &m) < 0)
			return migrate_errno(errno, "prefetch", loc);
		if (flags & UNIMEM_PREFETCH_ALL_OR_NOTHING) {
			if (m.unmapped)
				return um_error(-EFAULT, "prefetch: %llu pages are not mapped",
						(unsigned long long)m.unmapped);
			if (m.unsupported)
				return um_error(-ENOTSUP, "prefetch: %llu pages cannot be migrated "
						"(file-backed, shared or huge)",
						(unsigned long long)m.unsupported);
			if (m.busy)
				return um_error(-EBUSY, "prefetch: %llu pages were busy",
						(unsigned long long)m.busy);
			if (m.nomem)
				return um_error(-ENOMEM, "prefetch: no room for %llu pages",
						(unsigned long long)m.nomem);
		}
		/* a range larger than the device evicts its own first pages */
		at_target += (long)(m.moved + m.already - m.evicted);
		off += len;
	}
	return at_target;
}

/*
 * A batch in as few calls as the module allows: device items to their
 * device and host items back to system memory (their pages then move on
 * the host), in UNIMEM_IOCTL_MIGRATE_BATCH calls of up to
 * UNIMEM_MAX_MIGRATE_BATCH entries (one call for most batches). A module
 * without it (API < 1.3), or an all-or-nothing request (checked range by
 * range), goes item by item. Returns the device items' pages at their
 * target afterwards.
 */
long um_device_place_many(const struct um_place_item *items, size_t count,
			  unsigned int flags)
{
	struct unimem_migrate e[64];
	bool ondev[64];
	size_t n = 0;
	long at_target = 0;
	int fd = context_fd();

	if (fd < 0)
		return fd;
	if (!(mod.version.features & UNIMEM_FEAT_MIGRATE_BATCH) ||
	    (flags & UNIMEM_PREFETCH_ALL_OR_NOTHING)) {
		for (size_t i = 0; i < count; i++) {
			bool to_dev = UNIMEM_LOC_KIND(items[i].loc) == UNIMEM_LOC_KIND_DEVICE;
			long r = device_place((void *)items[i].start,
					      items[i].end - items[i].start,
					      to_dev ? items[i].loc : UNIMEM_LOC_SYSTEM,
					      to_dev ? flags : 0);
			if (r < 0)
				return r;
			if (to_dev)
				at_target += r;
		}
		return at_target;
	}
	for (size_t i = 0; i < count; i++) {
		bool to_dev = UNIMEM_LOC_KIND(items[i].loc) == UNIMEM_LOC_KIND_DEVICE;

		for (uintptr_t a = items[i].start; a < items[i].end;) {
			size_t len = items[i].end - a;

			if (len > UNIMEM_MAX_DEV_OP_LENGTH)
				len = UNIMEM_MAX_DEV_OP_LENGTH;
			migrate_request(&e[n], a, len, items[i].loc);
			ondev[n++] = to_dev;
			a += len;
			/* a full buffer, or the last entry: one call */
			if (n == sizeof(e) / sizeof(e[0]) ||
			    (i == count - 1 && a >= items[i].end)) {
				struct unimem_migrate_batch b = {
					.entries = (uintptr_t)e, .count = (__u32)n,
				};

				if (ioctl(fd, UNIMEM_IOCTL_MIGRATE_BATCH, &b) < 0)
					return migrate_errno(errno, "prefetch batch",
							     items[i].loc);
				for (size_t k = 0; k < n; k++)
					if (ondev[k])
						at_target += (long)(e[k].moved + e[k].already -
								    e[k].evicted);
				n = 0;
			}
		}
	}
	return at_target;
}

/* Advice was ever set in the module: its store then needs resetting when
 * the allocator hands memory to a new owner. */
_Atomic int um_device_advised;

/*
 * map: BIND (allocation placement) populates the fresh pages in device
 * memory now (best effort: pages that do not fit stay unpopulated and
 * land in host memory on first touch); PREFER is the module's preferred
 * location attribute (kept by the module, if it has range attributes).
 */
static int device_map(void *addr, size_t size, unimem_location_t loc, enum um_map_mode mode)
{
	if (mode == UM_MAP_PREFER) {
		struct unimem_attr a = { UNIMEM_RANGE_ATTR_PREFERRED_LOC, um_device_target(loc) };
		int r = um_device_attrs(UNIMEM_RANGE_ATTR_OP_SET, (uintptr_t)addr,
					(uintptr_t)addr + size, &a, 1);
		return r < 0 ? r : 0;
	}
	long r = device_place(addr, size, loc, 0);
	return r < 0 ? (int)r : 0;
}

/*
 * Dropping device pages is dropping the mapping's pages: the kernel's job
 * (MADV_DONTNEED zaps device-private entries, and the module gets its pages
 * back through its page_free callback). MADV_FREE leaves device pages
 * where they are (the kernel skips non-present entries).
 */
static int device_discard(void *addr, size_t size, bool lazy)
{
	if (madvise(addr, size, lazy ? MADV_FREE : MADV_DONTNEED) < 0) {
		int err = errno;
		return um_error(err == ENOMEM ? -EFAULT : -err, "discard: the kernel refused "
				"[%p, +%zu): %s", addr, size, strerror(err));
	}
	return 0;
}

/* The module drops attributes on munmap; a range the allocator hands to a
 * new owner gets the defaults back. */
static void device_unmap(void *addr, size_t size)
{
	if (!atomic_load_explicit(&um_device_advised, memory_order_relaxed))
		return;
	struct unimem_attr a[4] = {
		{ UNIMEM_RANGE_ATTR_PREFERRED_LOC, UNIMEM_TARGET_NONE },
		{ UNIMEM_RANGE_ATTR_ACCESSED_BY, 0 },
		{ UNIMEM_RANGE_ATTR_READ_MOSTLY, 0 },
		{ UNIMEM_RANGE_ATTR_GRANULARITY, UNIMEM_GRANULARITY_DEFAULT },
	};
	(void)um_device_attrs(UNIMEM_RANGE_ATTR_OP_SET, (uintptr_t)addr,
			      (uintptr_t)addr + size, a, 4);
}

static int device_describe(const void *addr, size_t npages, unimem_location_t *out)
{
	size_t ps = um_page_size();
	uint32_t *entries;
	size_t chunk = npages < 65536 ? npages : 65536;
	int fd = context_fd();

	if (fd < 0)
		return fd;
	if (!(mod.version.features & UNIMEM_FEAT_SNAPSHOT))
		return 0; /* cannot see device pages: report what the host sees */
	entries = malloc(chunk * sizeof(*entries));
	if (!entries)
		return um_error(-ENOMEM, "range query: out of memory");
	for (size_t done = 0; done < npages;) {
		size_t n = npages - done < chunk ? npages - done : chunk;
		struct unimem_snapshot s;

		memset(&s, 0, sizeof(s));
		s.addr = (uintptr_t)addr + done * ps;
		s.npages = n;
		s.entries = (uintptr_t)entries;
		if (ioctl(fd, UNIMEM_IOCTL_SNAPSHOT, &s) < 0) {
			int err = errno;
			free(entries);
			return um_error(-err, "range query: module snapshot failed: %s",
					strerror(err));
		}
		for (size_t i = 0; i < n; i++)
			if ((entries[i] & UNIMEM_RES_LOC_MASK) == UNIMEM_RES_DEVICE)
				out[done + i] = UNIMEM_LOC_DEVICE(UNIMEM_RES_DEV(entries[i]));
		done += n;
	}
	free(entries);
	return 0;
}

/*
 * Range attributes in the module (UNIMEM_IOCTL_ATTR): when it has them, its
 * store is the truth for preferred location, read-mostly and granularity
 * (the library keeps no copy). A module without the ioctl (ENOTTY) is
 * remembered and skipped quietly.
 */
static int attr_ioctl = -1; /* -1 unknown, 0 absent, 1 present */

int um_device_attrs(uint32_t op, uintptr_t start, uintptr_t end, struct unimem_attr *a,
		    unsigned n)
{
	struct unimem_attr_op req;
	int fd;

	if (__atomic_load_n(&attr_ioctl, __ATOMIC_RELAXED) == 0 || module_probe() < 0)
		return 0;
	fd = context_fd();
	if (fd < 0)
		return 0;
	memset(&req, 0, sizeof(req));
	req.addr = start;
	req.length = end - start;
	req.op = op;
	req.nattrs = n;
	req.attrs = (uintptr_t)a;
	if (ioctl(fd, UNIMEM_IOCTL_ATTR, &req) < 0) {
		int err = errno;

		if (err == ENOTTY) {
			__atomic_store_n(&attr_ioctl, 0, __ATOMIC_RELAXED);
			return 0;
		}
		return um_error(-err, "%s: the unimem module refused the range attributes "
				"of [%p, +%zu): %s", op == UNIMEM_RANGE_ATTR_OP_SET ? "advise"
				: "range_get_attr", (void *)start, (size_t)(end - start),
				strerror(err));
	}
	__atomic_store_n(&attr_ioctl, 1, __ATOMIC_RELAXED);
	if (op == UNIMEM_RANGE_ATTR_OP_SET)
		atomic_store_explicit(&um_device_advised, 1, memory_order_relaxed);
	return 1;
}

bool um_device_has_attrs(void)
{
	static char probe_page[1] __attribute__((aligned(4096)));
	int known = __atomic_load_n(&attr_ioctl, __ATOMIC_RELAXED);

	if (known >= 0)
		return known == 1;
	if (module_probe() < 0)
		return false;
	struct unimem_attr a = { UNIMEM_RANGE_ATTR_READ_MOSTLY, 0 };
	uintptr_t s = (uintptr_t)probe_page;
	return um_device_attrs(UNIMEM_RANGE_ATTR_OP_GET, s, s + um_page_size(), &a, 1) == 1;
}

uint32_t um_device_target(unimem_location_t loc)
{
	switch (UNIMEM_LOC_KIND(loc)) {
	case UNIMEM_LOC_KIND_DEVICE:
		return UNIMEM_LOC_INDEX(loc);
	case UNIMEM_LOC_KIND_HOST: /* the module knows only CPU RAM as a whole */
	case UNIMEM_LOC_KIND_SYSTEM:
		return UNIMEM_TARGET_SYSTEM;
	default:
		return UNIMEM_TARGET_NONE;
	}
}

bool um_device_exists(unsigned index)
{
	if (module_probe() < 0)
		return false;
	for (int i = 0; i < mod.ndevices; i++)
		if (mod.dev[i].index == index)
			return true;
	return false;
}

int um_device_api_version(uint64_t *features)
{
	int err = module_init();

	if (err < 0)
		return err;
	if (features)
		*features = mod.version.features;
	return (int)mod.version.api_version;
}

int unimem_module_version(void)
{
	return um_device_api_version(NULL);
}

const struct um_provider um_provider_device = {
	.name = "device",
	.init = module_init,
	.count = module_location_count,
	.info = module_location_info,
	.refresh = module_refresh_free,
	.map = device_map,
	.place = device_place,
	.discard = device_discard,
	.unmap = device_unmap,
	.describe = device_describe,
};
