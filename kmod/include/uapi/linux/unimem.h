/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note OR MIT */
/*
 * unimem - unified memory runtime: kernel ABI of unimem.ko
 *
 * This header is the whole kernel ABI of the unimem module.  Every structure
 * has an explicit, fixed size (checked at build time below), all padding is
 * spelled out, and every field marked "reserved" or "in: zero" must be zero on
 * input or the ioctl fails with -EINVAL.  New features are added by using
 * reserved fields together with a new flag bit or feature bit, or by adding
 * new ioctl numbers; existing layouts never change.
 *
 * One open file of /dev/unimemN is one context: it is bound to the mm of the
 * process that opened it and mirrors that address space into the page table
 * of device N.  Addresses passed in ioctls are virtual addresses of that
 * process.
 *
 * Errors (negative errno as usual from ioctl(2)):
 *   EINVAL     reserved field or unknown flag set, bad alignment, zero length,
 *              unknown op/target/counter scope
 *   EOVERFLOW  addr + length wraps around
 *   EFAULT     range not within user space, not mapped or not accessible,
 *              or a user buffer is unreadable/unwritable
 *   EPERM      device write (or atomic) to memory mapped read-only
 *   E2BIG      length/count above the documented cap
 *   ENODEV     device index does not exist
 *   ESRCH      the process that opened the file has exited / is not the
 *              caller's address space (a context is usable only from its mm)
 *   ENOTTY     unknown ioctl
 *   EBUSY      a device fault could not settle (constant invalidation)
 *   EINTR      fatal signal while working
 *   ENOMEM     kernel memory for bookkeeping could not be allocated
 */
#ifndef _UAPI_LINUX_UNIMEM_H
#define _UAPI_LINUX_UNIMEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define UNIMEM_API_VERSION_MAJOR	1
#define UNIMEM_API_VERSION_MINOR	3
#define UNIMEM_API_VERSION \
	((UNIMEM_API_VERSION_MAJOR << 16) | UNIMEM_API_VERSION_MINOR)

/* Device nodes are /dev/unimem0 ... /dev/unimem<ndevices-1>. */
#define UNIMEM_MAX_DEVICES		16
#define UNIMEM_DEVICE_SELF		0xffffffffu	/* device of the open file */
#define UNIMEM_TARGET_SYSTEM		0xffffffffu	/* migrate target: CPU RAM */

/* Caps on a single request. */
#define UNIMEM_MAX_SNAPSHOT_PAGES	(1u << 20)	/* 4 GiB of 4 KiB pages */
#define UNIMEM_MAX_DEV_OP_LENGTH	(1ull << 30)	/* 1 GiB */

/* ------------------------------------------------------------------ */
/* UNIMEM_IOCTL_VERSION */

#define UNIMEM_FEAT_MIGRATE		(1ull << 0) /* UNIMEM_IOCTL_MIGRATE */
#define UNIMEM_FEAT_DEV_TO_DEV		(1ull << 1) /* direct device->device */
#define UNIMEM_FEAT_EVICTION		(1ull << 2) /* device memory overcommit */
#define UNIMEM_FEAT_DEV_EXEC		(1ull << 3) /* UNIMEM_IOCTL_DEV_EXEC */
#define UNIMEM_FEAT_ATOMICS		(1ull << 4) /* UNIMEM_OP_ATOMIC_* */
#define UNIMEM_FEAT_SNAPSHOT		(1ull << 5) /* UNIMEM_IOCTL_SNAPSHOT */
#define UNIMEM_FEAT_COUNTERS		(1ull << 6) /* UNIMEM_IOCTL_COUNTERS */
#define UNIMEM_FEAT_REMOTE_MAP		(1ull << 7) /* dev may map peer memory */
#define UNIMEM_FEAT_DEVICE_THP		(1ull << 8) /* 2 MiB device folios:
						     * THPs migrate whole */
#define UNIMEM_FEAT_MIGRATE_BATCH	(1ull << 9) /* UNIMEM_IOCTL_MIGRATE_BATCH
						     * (API 1.3) */

struct unimem_version {
	__u32 api_version;	/* out: UNIMEM_API_VERSION of the module */
	__u32 ndevices;		/* out: number of devices */
	__u64 features;		/* out: UNIMEM_FEAT_* */
	__u64 reserved[4];	/* in: zero */
};

/* ------------------------------------------------------------------ */
/* UNIMEM_IOCTL_DEVICE_INFO */

struct unimem_device_info {
	__u32 device;		/* in: index, or UNIMEM_DEVICE_SELF */
	__u32 flags;		/* in: zero */
	__u32 ndevices;		/* out */
	__u32 page_size;	/* out: device page size in bytes */
	__u64 mem_total;	/* out: device-private memory, bytes */
	__u64 mem_free;		/* out: bytes not holding data */
	__u64 chunk_size;	/* out: granule of memremap_pages, bytes */
	__s32 numa_node;	/* out: node the device is attached to, or -1 */
	__u32 index;		/* out: index of the device described */
	char name[32];		/* out: "unimemN", NUL terminated */
	__u64 reserved[8];	/* in: zero */
};

/* ------------------------------------------------------------------ */
/* UNIMEM_IOCTL_MIGRATE */

/*
 * Migrate [addr, addr + length) to @target: a device index or
 * UNIMEM_TARGET_SYSTEM.  The range may span several VMAs.  Device to device
 * migration copies directly between device memories.  When the target
 * device is full, its coldest pages are evicted to system memory first.
 *
 * On return (also on partial success, return value 0) every page of the
 * range is accounted in exactly one of the out counters:
 *   moved + already + not_present + unmapped + unsupported + busy + nomem
 *     == length / page size
 */
#define UNIMEM_MIGRATE_POPULATE		(1u << 0) /* allocate never-touched
						   * anonymous pages on a
						   * device target (zeroed) */
#define UNIMEM_MIGRATE_FLAGS_ALL	(UNIMEM_MIGRATE_POPULATE)

struct unimem_migrate {
	__u64 addr;		/* in: page aligned */
	__u64 length;		/* in: page aligned, non-zero */
	__u32 target;		/* in: device index or UNIMEM_TARGET_SYSTEM */
	__u32 flags;		/* in: UNIMEM_MIGRATE_* */
	__u64 moved;		/* out: pages moved by this call */
	__u64 already;		/* out: pages already resident at target */
	__u64 not_present;	/* out: never populated (no page to move) */
	__u64 unmapped;		/* out: not covered by any VMA */
	__u64 unsupported;	/* out: file-backed, shared, hugetlb, special,
				 * PROT_NONE */
	__u64 busy;		/* out: pinned, locked or raced; retry later */
	__u64 nomem;		/* out: no room even after eviction */
	__u64 evicted;		/* out (1.1): pages this call moved or found
				 * at the target, then evicted itself to make
				 * room (a range larger than the device): it
				 * left moved + already - evicted there
				 * (exact when no other thread works on the
				 * range meanwhile) */
	__u64 reserved[3];	/* in: zero */
};

/*
 * UNIMEM_IOCTL_MIGRATE_BATCH (API 1.3): several UNIMEM_IOCTL_MIGRATE
 * requests in one call, each with its own range and target (a device or
 * UNIMEM_TARGET_SYSTEM), done in order.  Every entry is checked before any
 * page moves (-EINVAL, -EOVERFLOW, -EFAULT, -ENODEV as for
 * UNIMEM_IOCTL_MIGRATE, and nothing moved); the out counters of each entry
 * are written as it completes.  A failure while migrating (-EINTR, -ENOMEM)
 * stops the batch: @done says how many entries completed.
 */
#define UNIMEM_MAX_MIGRATE_BATCH	1024

struct unimem_migrate_batch {
	__u64 entries;		/* in: user pointer to @count
				 * struct unimem_migrate (in/out) */
	__u32 count;		/* in: 1 .. UNIMEM_MAX_MIGRATE_BATCH */
	__u32 done;		/* out: entries completed */
	__u64 reserved[2];	/* in: zero */
};

/* ------------------------------------------------------------------ */
/* UNIMEM_IOCTL_DEV_EXEC: work executed by the device engine through the
 * device's page table (mirroring the context's mm, faulting as needed). */

enum unimem_op {
	UNIMEM_OP_READ = 1,		/* buf <- [addr, addr+length) */
	UNIMEM_OP_WRITE = 2,		/* [addr, addr+length) <- buf */
	UNIMEM_OP_FILL = 3,		/* [addr, ..) <- value, width 1,2,4,8 */
	UNIMEM_OP_COPY = 4,		/* [addr, ..) <- [src, ..), no overlap */
	UNIMEM_OP_ATOMIC_ADD = 5,	/* *addr += value, old -> result */
	UNIMEM_OP_ATOMIC_XCHG = 6,	/* *addr = value, old -> result */
	UNIMEM_OP_ATOMIC_CMPXCHG = 7,	/* if (*addr == compare) *addr = value */
};

struct unimem_dev_op {
	__u32 op;		/* in: enum unimem_op */
	__u32 flags;		/* in: zero */
	__u64 addr;		/* in: mirrored destination/source address */
	__u64 length;		/* in: bytes (READ/WRITE/FILL/COPY), at most
				 * UNIMEM_MAX_DEV_OP_LENGTH; atomics: 0 */
	__u64 buf;		/* in: user buffer (READ/WRITE) */
	__u64 src;		/* in: mirrored source address (COPY) */
	__u64 value;		/* in: fill pattern / atomic operand */
	__u64 compare;		/* in: CMPXCHG expected value */
	__u32 width;		/* in: FILL 1,2,4,8; atomics 4 or 8 (addr
				 * aligned to width) */
	__u32 reserved0;	/* in: zero */
	__u64 result;		/* out: atomics: previous value */
	__u64 faults;		/* out: device faults taken by this op */
	__u64 reserved[4];	/* in: zero */
};

/* ------------------------------------------------------------------ */
/* UNIMEM_IOCTL_SNAPSHOT: per-page residency of [addr, addr + npages pages) */

/* Bits 0-3 of each entry: where the page lives. */
#define UNIMEM_RES_NONE		0	/* not populated */
#define UNIMEM_RES_SYSTEM	1	/* CPU RAM */
#define UNIMEM_RES_DEVICE	2	/* device-private memory, see DEV() */
#define UNIMEM_RES_UNMAPPED	3	/* no VMA / not accessible */
#define UNIMEM_RES_LOC_MASK	0xfu
#define UNIMEM_RES_WRITE	(1u << 4) /* mapped writable */
#define UNIMEM_RES_MIRRORED	(1u << 5) /* present in this context's
					   * device page table */
#define UNIMEM_RES_HUGE		(1u << 6) /* part of a PMD mapping */
#define UNIMEM_RES_ZERO		(1u << 7) /* the shared zero page (system,
					   * read-only; API 1.2); the huge
					   * zero page shows as HUGE without
					   * WRITE */
#define UNIMEM_RES_DEV_SHIFT	8	/* bits 8-15: device index */
#define UNIMEM_RES_DEV(e)	(((e) >> UNIMEM_RES_DEV_SHIFT) & 0xffu)

struct unimem_snapshot {
	__u64 addr;		/* in: page aligned */
	__u64 npages;		/* in: 1 .. UNIMEM_MAX_SNAPSHOT_PAGES */
	__u64 entries;		/* in: user pointer to __u32[npages],
				 * 4-byte aligned */
	__u32 flags;		/* in: zero */
	__u32 reserved0;	/* in: zero */
	__u64 reserved[4];	/* in: zero */
};

/* ------------------------------------------------------------------ */
/* UNIMEM_IOCTL_COUNTERS */

enum unimem_counter {
	UNIMEM_CNT_DEVICE_FAULTS = 0,	/* device PT misses (hmm_range_fault) */
	UNIMEM_CNT_PAGES_MIRRORED,	/* pages entered into device PT */
	UNIMEM_CNT_INVALIDATIONS,	/* notifier invalidations acted on */
	UNIMEM_CNT_MIGRATED_TO_DEVICE,	/* explicit, pages */
	UNIMEM_CNT_MIGRATED_TO_SYSTEM,	/* explicit, pages */
	UNIMEM_CNT_MIGRATED_DEV_TO_DEV,	/* explicit, pages (counted at the
					 * target device/context) */
	UNIMEM_CNT_FAULT_TO_SYSTEM,	/* pages brought back on CPU faults */
	UNIMEM_CNT_FAULT_TO_DEVICE,	/* pages moved on device access */
	UNIMEM_CNT_CPU_FAULTS,		/* CPU faults on device pages */
	UNIMEM_CNT_EVICTIONS,		/* pages evicted to make room */
	UNIMEM_CNT_BYTES_COPIED,	/* bytes copied by migrations */
	UNIMEM_CNT_DEV_BYTES_READ,	/* device engine bytes read */
	UNIMEM_CNT_DEV_BYTES_WRITTEN,	/* device engine bytes written */
	UNIMEM_CNT_ATOMICS,		/* device atomic operations */
	UNIMEM_CNT_SIGBUS,		/* CPU faults that could not be served */
	UNIMEM_CNT_INVAL_NONBLOCK,	/* invalidations that could not sleep
					 * (OOM reaper), acted on */
	UNIMEM_CNT_INVAL_BUSY,		/* ones that could not sleep, refused:
					 * page table busy, caller retries */
	UNIMEM_CNT_THP_MIGRATED,	/* 2 MiB folios moved whole (any
					 * direction; their pages are also
					 * in the page counters) */
	UNIMEM_CNT_THP_FALLBACK,	/* 2 MiB folios moved as 4 KiB pages:
					 * no block or THP was free */
	UNIMEM_CNT_THP_MIRRORED,	/* 2 MiB device folios entered in a
					 * device page table as one entry */
	UNIMEM_CNT_NR			/* number of defined counters */
};

/*
 * Printable counter names, indexed by enum unimem_counter: what
 * /sys/class/unimem/unimemN/counters prints and tools show.
 * Use as: static const char *const names[UNIMEM_CNT_NR] = UNIMEM_COUNTER_NAMES;
 */
#define UNIMEM_COUNTER_NAMES {						\
	[UNIMEM_CNT_DEVICE_FAULTS]	= "device_faults",		\
	[UNIMEM_CNT_PAGES_MIRRORED]	= "pages_mirrored",		\
	[UNIMEM_CNT_INVALIDATIONS]	= "invalidations",		\
	[UNIMEM_CNT_MIGRATED_TO_DEVICE]	= "migrated_to_device",		\
	[UNIMEM_CNT_MIGRATED_TO_SYSTEM]	= "migrated_to_system",		\
	[UNIMEM_CNT_MIGRATED_DEV_TO_DEV] = "migrated_dev_to_dev",	\
	[UNIMEM_CNT_FAULT_TO_SYSTEM]	= "fault_to_system",		\
	[UNIMEM_CNT_FAULT_TO_DEVICE]	= "fault_to_device",		\
	[UNIMEM_CNT_CPU_FAULTS]		= "cpu_faults",			\
	[UNIMEM_CNT_EVICTIONS]		= "evictions",			\
	[UNIMEM_CNT_BYTES_COPIED]	= "bytes_copied",		\
	[UNIMEM_CNT_DEV_BYTES_READ]	= "dev_bytes_read",		\
	[UNIMEM_CNT_DEV_BYTES_WRITTEN]	= "dev_bytes_written",		\
	[UNIMEM_CNT_ATOMICS]		= "atomics",			\
	[UNIMEM_CNT_SIGBUS]		= "sigbus",			\
	[UNIMEM_CNT_INVAL_NONBLOCK]	= "invalidations_nonblock",	\
	[UNIMEM_CNT_INVAL_BUSY]		= "invalidations_busy",		\
	[UNIMEM_CNT_THP_MIGRATED]	= "thp_migrated",		\
	[UNIMEM_CNT_THP_FALLBACK]	= "thp_fallback",		\
	[UNIMEM_CNT_THP_MIRRORED]	= "thp_mirrored",		\
}

#define UNIMEM_COUNTERS_MAX		64	/* room to grow */
#define UNIMEM_SCOPE_CONTEXT		0	/* this open file */
#define UNIMEM_SCOPE_DEVICE		1	/* device @device, all contexts */

struct unimem_counters {
	__u32 scope;		/* in: UNIMEM_SCOPE_* */
	__u32 device;		/* in: SCOPE_DEVICE: index or DEVICE_SELF */
	__u32 ncounters;	/* out: number of valid values (UNIMEM_CNT_NR) */
	__u32 flags;		/* in: zero */
	__u64 reserved[2];	/* in: zero */
	__u64 values[UNIMEM_COUNTERS_MAX]; /* out, indexed by unimem_counter */
};

/* ------------------------------------------------------------------ */
/* ioctl numbers.  0x10-0x2f are reserved for range attributes and policy. */

#define UNIMEM_IOCTL_MAGIC	0xB7

#define UNIMEM_IOCTL_VERSION	_IOWR(UNIMEM_IOCTL_MAGIC, 0x00, struct unimem_version)
#define UNIMEM_IOCTL_DEVICE_INFO _IOWR(UNIMEM_IOCTL_MAGIC, 0x01, struct unimem_device_info)
#define UNIMEM_IOCTL_MIGRATE	_IOWR(UNIMEM_IOCTL_MAGIC, 0x02, struct unimem_migrate)
#define UNIMEM_IOCTL_DEV_EXEC	_IOWR(UNIMEM_IOCTL_MAGIC, 0x03, struct unimem_dev_op)
#define UNIMEM_IOCTL_SNAPSHOT	_IOWR(UNIMEM_IOCTL_MAGIC, 0x04, struct unimem_snapshot)
#define UNIMEM_IOCTL_COUNTERS	_IOWR(UNIMEM_IOCTL_MAGIC, 0x05, struct unimem_counters)
#define UNIMEM_IOCTL_MIGRATE_BATCH _IOWR(UNIMEM_IOCTL_MAGIC, 0x06, struct unimem_migrate_batch)

/* Layout checks (sizes are ABI). */
#ifdef __cplusplus
#define UNIMEM_STATIC_ASSERT(c, m) static_assert(c, m)
#elif defined(__KERNEL__)
#define UNIMEM_STATIC_ASSERT(c, m) _Static_assert(c, m)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define UNIMEM_STATIC_ASSERT(c, m) _Static_assert(c, m)
#else
#define UNIMEM_STATIC_ASSERT(c, m)
#endif
UNIMEM_STATIC_ASSERT(sizeof(struct unimem_version) == 48, "unimem_version");
UNIMEM_STATIC_ASSERT(sizeof(struct unimem_device_info) == 144, "unimem_device_info");
UNIMEM_STATIC_ASSERT(sizeof(struct unimem_migrate) == 112, "unimem_migrate");
UNIMEM_STATIC_ASSERT(sizeof(struct unimem_migrate_batch) == 32,
		     "unimem_migrate_batch");
UNIMEM_STATIC_ASSERT(sizeof(struct unimem_dev_op) == 112, "unimem_dev_op");
UNIMEM_STATIC_ASSERT(sizeof(struct unimem_snapshot) == 64, "unimem_snapshot");
UNIMEM_STATIC_ASSERT(sizeof(struct unimem_counters) == 544, "unimem_counters");
#undef UNIMEM_STATIC_ASSERT

/* ================================================================== */
/* Range attributes and placement policy (unimem_attr.c, unimem_policy.c).
 * Self-contained block; ioctl numbers 0x40 and up.
 *
 * UNIMEM_IOCTL_ATTR sets or reads a list of attributes over an arbitrary
 * page-aligned range, as AMDKFD_IOC_SVM does.  Attributes belong to the
 * address space (all contexts of one process share them), follow the
 * memory (dropped on munmap, kept per page across mprotect, carried through
 * mremap, inherited by a child that opens a device after fork), and never
 * change data: they steer where pages go (see docs/policy.md).
 *
 * SET: the range must be covered by VMAs (EFAULT otherwise); the attributes
 * are applied in list order.  GET: for each listed type, the value shared
 * by every page of the range (pages never set report the default), or
 * UNIMEM_RANGE_ATTR_MIXED when the pages differ.
 *
 * Errors besides the generic ones: EINVAL unknown op/type, value out of
 * range, nattrs == 0; E2BIG nattrs > UNIMEM_MAX_ATTRS; ENODEV preferred
 * location or accessed-by naming a device that does not exist.
 */
#define UNIMEM_MAX_ATTRS		64

enum unimem_attr_type {
	/* device index, UNIMEM_TARGET_SYSTEM or UNIMEM_TARGET_NONE (default) */
	UNIMEM_RANGE_ATTR_PREFERRED_LOC = 1,
	/* bitmask of device indices that map the range where it lives
	 * instead of migrating it (default 0) */
	UNIMEM_RANGE_ATTR_ACCESSED_BY = 2,
	/* 0 (default) or 1 */
	UNIMEM_RANGE_ATTR_READ_MOSTLY = 3,
	/* migration block, log2 pages, 0..UNIMEM_GRANULARITY_MAX, default
	 * UNIMEM_GRANULARITY_DEFAULT */
	UNIMEM_RANGE_ATTR_GRANULARITY = 4,
	/* 0 (default) or 1: device access fails with EACCES */
	UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS = 5,
};

/* UNIMEM_TARGET_SYSTEM (CPU RAM) is a preferred location too. */
#define UNIMEM_TARGET_NONE		0xfffffffdu	/* no preference */
#define UNIMEM_RANGE_ATTR_MIXED		0xfffffffeu	/* GET: range differs */
#define UNIMEM_GRANULARITY_DEFAULT	9		/* 2 MiB */
#define UNIMEM_GRANULARITY_MAX		12		/* 16 MiB */

#define UNIMEM_RANGE_ATTR_OP_SET		1
#define UNIMEM_RANGE_ATTR_OP_GET		2

struct unimem_attr {
	__u32 type;		/* in: enum unimem_attr_type */
	__u32 value;		/* in (SET) / out (GET) */
};

struct unimem_attr_op {
	__u64 addr;		/* in: page aligned */
	__u64 length;		/* in: page aligned, non-zero */
	__u32 op;		/* in: UNIMEM_RANGE_ATTR_OP_* */
	__u32 nattrs;		/* in: 1..UNIMEM_MAX_ATTRS */
	__u64 attrs;		/* in: user pointer to unimem_attr[nattrs] */
	__u64 reserved[4];	/* in: zero */
};

/*
 * UNIMEM_IOCTL_PREFETCH: migrate [addr, addr + length) to @target now.  The
 * range is widened to whole granularity blocks (each clipped to its VMA)
 * unless UNIMEM_PREFETCH_EXACT; never-populated pages are populated on a
 * device target.  Safe to call from several threads at once.
 */
#define UNIMEM_PREFETCH_EXACT		(1u << 0)
#define UNIMEM_PREFETCH_FLAGS_ALL	(UNIMEM_PREFETCH_EXACT)

struct unimem_prefetch {
	__u64 addr;		/* in: page aligned */
	__u64 length;		/* in: page aligned, non-zero */
	__u32 target;		/* in: device index or UNIMEM_TARGET_SYSTEM */
	__u32 flags;		/* in: UNIMEM_PREFETCH_* */
	__u64 moved;		/* out: pages moved */
	__u64 already;		/* out: pages already at target */
	__u64 skipped;		/* out: every other page of the blocks */
	__u64 reserved[2];	/* in: zero */
};

/*
 * UNIMEM_IOCTL_POLICY: read or change the placement policy of this address
 * space (shared by its contexts).  Thrashing: a block that migrates more
 * than @thrash_threshold times within @thrash_window_ms is pinned in system
 * memory (mapped remotely by devices) for @thrash_backoff_ms.
 */
#define UNIMEM_POLICY_OP_SET		1
#define UNIMEM_POLICY_OP_GET		2
#define UNIMEM_POLICY_THRASH		(1u << 0) /* thrashing control on */
#define UNIMEM_POLICY_FIRST_TOUCH	(1u << 1) /* migrate on first touch */
#define UNIMEM_POLICY_FLAGS_ALL \
	(UNIMEM_POLICY_THRASH | UNIMEM_POLICY_FIRST_TOUCH)
#define UNIMEM_THRASH_THRESHOLD_MAX	1000
#define UNIMEM_THRASH_MS_MAX		600000

struct unimem_policy {
	__u32 op;		/* in: UNIMEM_POLICY_OP_* */
	__u32 flags;		/* in/out: UNIMEM_POLICY_* */
	__u32 thrash_threshold;	/* in/out: 1..UNIMEM_THRASH_THRESHOLD_MAX */
	__u32 thrash_window_ms;	/* in/out: 1..UNIMEM_THRASH_MS_MAX */
	__u32 thrash_backoff_ms; /* in/out: 1..UNIMEM_THRASH_MS_MAX */
	__u32 reserved0;	/* in: zero */
	__u64 reserved[5];	/* in: zero */
};

/* UNIMEM_IOCTL_POLICY_COUNTERS: counters of policy decisions. */
enum unimem_policy_counter {
	UNIMEM_PCNT_FIRST_TOUCH = 0,	/* blocks migrated on first touch */
	UNIMEM_PCNT_PREFERRED,		/* blocks migrated to preferred dev */
	UNIMEM_PCNT_REMOTE_MAP,		/* device accesses mapped remotely */
	UNIMEM_PCNT_THROTTLED,		/* migrations refused: block pinned */
	UNIMEM_PCNT_PINNED,		/* blocks pinned for thrashing */
	UNIMEM_PCNT_POLICY_PAGES,	/* pages moved by policy migrations */
	UNIMEM_PCNT_CPU_FAULT_BLOCKS,	/* CPU faults served block-wise */
	UNIMEM_PCNT_BLOCK_MIGRATIONS,	/* block moves seen by the detector */
	UNIMEM_PCNT_PREFETCH_CALLS,	/* UNIMEM_IOCTL_PREFETCH calls */
	UNIMEM_PCNT_PREFETCH_PAGES,	/* pages moved by prefetch */
	UNIMEM_PCNT_DENIED,		/* device accesses refused (no access) */
	UNIMEM_PCNT_NR
};

#define UNIMEM_PCOUNTERS_MAX		32
#define UNIMEM_PSCOPE_MM		0	/* this address space */
#define UNIMEM_PSCOPE_DEVICE		1	/* decisions for @device */

struct unimem_policy_counters {
	__u32 scope;		/* in: UNIMEM_PSCOPE_* */
	__u32 device;		/* in: PSCOPE_DEVICE: index or DEVICE_SELF */
	__u32 ncounters;	/* out: UNIMEM_PCNT_NR */
	__u32 flags;		/* in: zero */
	__u64 reserved[2];	/* in: zero */
	__u64 values[UNIMEM_PCOUNTERS_MAX]; /* out */
};

#define UNIMEM_IOCTL_ATTR	_IOWR(UNIMEM_IOCTL_MAGIC, 0x40, struct unimem_attr_op)
#define UNIMEM_IOCTL_PREFETCH	_IOWR(UNIMEM_IOCTL_MAGIC, 0x41, struct unimem_prefetch)
#define UNIMEM_IOCTL_POLICY	_IOWR(UNIMEM_IOCTL_MAGIC, 0x42, struct unimem_policy)
#define UNIMEM_IOCTL_POLICY_COUNTERS _IOWR(UNIMEM_IOCTL_MAGIC, 0x43, struct unimem_policy_counters)

#ifdef __cplusplus
#define UNIMEM_POLICY_ASSERT(c, m) static_assert(c, m)
#elif defined(__KERNEL__) || \
	(defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L)
#define UNIMEM_POLICY_ASSERT(c, m) _Static_assert(c, m)
#else
#define UNIMEM_POLICY_ASSERT(c, m)
#endif
UNIMEM_POLICY_ASSERT(sizeof(struct unimem_attr) == 8, "unimem_attr");
UNIMEM_POLICY_ASSERT(sizeof(struct unimem_attr_op) == 64, "unimem_attr_op");
UNIMEM_POLICY_ASSERT(sizeof(struct unimem_prefetch) == 64, "unimem_prefetch");
UNIMEM_POLICY_ASSERT(sizeof(struct unimem_policy) == 64, "unimem_policy");
UNIMEM_POLICY_ASSERT(sizeof(struct unimem_policy_counters) == 288,
		     "unimem_policy_counters");
#undef UNIMEM_POLICY_ASSERT

#endif /* _UAPI_LINUX_UNIMEM_H */
