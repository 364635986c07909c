/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unimem: internal definitions shared by the module's source files.
 */
#ifndef _UNIMEM_INTERNAL_H
#define _UNIMEM_INTERNAL_H

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/list.h>
#include <linux/memremap.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/unimem.h>

#include "unimem_compat.h"

#define UNIMEM_NAME		"unimem"
/* Granule of memremap_pages() and of the eviction clock. */
#define UNIMEM_CHUNK_MAX	(64UL << 20)
#define UNIMEM_WINDOW_PAGES	512UL	/* eviction window: 2 MiB */
#define UNIMEM_MIGRATE_BATCH	2048UL	/* pages per migrate_vma batch */
#define UNIMEM_FAULT_BATCH	512UL	/* pages per hmm_range_fault */
#define UNIMEM_HUGE_PAGES	512UL	/* pages of a 2 MiB device folio */
#define UNIMEM_HUGE_SIZE	(UNIMEM_HUGE_PAGES << PAGE_SHIFT)

struct unimem_device;

/**
 * struct unimem_mm - an mm that device pages are mapped in
 * @mm: the mm, grabbed (the struct stays valid, not its address space)
 * @refs: one per open context of @mm and per device page recording it
 * @node: entry in the list of all of them (unimem_rmap.c)
 * @free_work: frees the object once @refs reaches zero
 */
struct unimem_mm {
	struct mm_struct *mm;
	atomic_long_t refs;
	struct list_head node;
	struct work_struct free_work;
};

/**
 * struct unimem_rmap - where a device page is mapped (see unimem_rmap.c)
 * @umm: the mm, NULL for a free page or one not yet recorded
 * @addr: its address in @umm
 */
struct unimem_rmap {
	struct unimem_mm *umm;
	unsigned long addr;
};

/**
 * struct unimem_rmap_ent - a recorded mapping and its page, for eviction
 * @umm: the mm, referenced
 * @addr: the recorded address in @umm
 * @page: the device page
 */
struct unimem_rmap_ent {
	struct unimem_mm *umm;
	unsigned long addr;
	struct page *page;
};

/**
 * struct unimem_block - free pages of one 2 MiB block of device memory
 * @node: entry in the device's @free_huge (all free) or @free_partial
 *        (some free) list; unlinked when none is free
 * @pfn: its first pfn
 * @nfree: number of free pages
 * @free: one bit per free page
 */
struct unimem_block {
	struct list_head node;
	unsigned long pfn;
	unsigned int nfree;
	DECLARE_BITMAP(free, UNIMEM_WINDOW_PAGES);
};

/**
 * struct unimem_chunk - one memremap_pages() range of device memory
 * @pagemap: the MEMORY_DEVICE_PRIVATE pagemap
 * @udev: owning device
 * @res: region from request_free_mem_region()
 * @pfn_first: first pfn of the range
 * @npages: number of pages
 * @backing: "VRAM": the driver-owned storage behind each device page
 * @rmap: one mapping of each device page, under the device's @free_lock
 * @referenced: one bit per eviction window, the CLOCK reference bit
 * @blocks: free pages of each 2 MiB block (an eviction window), under the
 *          device's @free_lock
 */
struct unimem_chunk {
	struct dev_pagemap pagemap;
	struct unimem_device *udev;
	struct resource *res;
	unsigned long pfn_first;
	unsigned long npages;
	struct page **backing;
	struct unimem_rmap *rmap;
	unsigned long *referenced;
	struct unimem_block *blocks;
};

/**
 * struct unimem_device - one virtual accelerator
 * @index: N of /dev/unimemN
 * @cdev: its character device
 * @dev: its class device (/sys/class/unimem/unimemN)
 * @chunks: memremap_pages() ranges of its memory
 * @nchunks: number of @chunks
 * @npages: total device pages
 * @free_lock: protects the free lists, @nfree, @nfree_huge, @removing and
 *             the chunks' @rmap and @blocks
 * @free_huge: 2 MiB blocks whose pages are all free
 * @free_partial: blocks with some free pages: 4 KiB pages are taken from
 *                these first, so whole blocks stay whole for 2 MiB folios
 * @nfree: number of free pages
 * @nfree_huge: number of blocks on @free_huge
 * @removing: unloading: no new allocations
 * @evict_lock: serialises eviction and guards @clock_hand
 * @clock_hand: next eviction window (global window index)
 * @ctx_lock: protects @ctx_list
 * @ctx_list: contexts open on this device
 * @cnt: device counters, indexed by enum unimem_counter
 */
struct unimem_device {
	unsigned int index;
	void *owner;			/* pgmap owner of its memory */
	struct cdev cdev;
	struct device *dev;

	/* device memory */
	struct unimem_chunk **chunks;
	unsigned int nchunks;
	unsigned long npages;		/* total device pages */
	spinlock_t free_lock;		/* free lists and page records */
	struct list_head free_huge;
	struct list_head free_partial;
	unsigned long nfree;
	unsigned long nfree_huge;
	bool removing;			/* unloading: no new allocations */

	/* eviction CLOCK */
	struct mutex evict_lock;	/* serialises eviction, guards hand */
	unsigned long clock_hand;	/* global window index */

	/* contexts open on this device */
	spinlock_t ctx_lock;
	struct list_head ctx_list;

	atomic64_t cnt[UNIMEM_CNT_NR];
};

/**
 * struct unimem_ctx - one open file: a mirror of one mm in one device
 * @udev: the device whose page table this is
 * @umm: the mm's record for the device page reverse map
 * @notifier: interval notifier over the whole user address space: names
 *            the mm, lets attributes follow munmap, and serves the
 *            non-faulting scans (snapshots, the placement policy)
 * @notifiers: the notifiers of the device page table, struct
 *             unimem_notifier by vaddr >> UNIMEM_NOTIFIER_SHIFT, created on
 *             the first device fault in their range
 * @notifiers_sem: read by a device fault while it uses a notifier of
 *                 @notifiers, written to insert or remove one
 * @notifiers_dead: notifiers whose range was unmapped whole (to remove)
 * @lock: protects @pt and @mig_*; taken by the invalidation callbacks
 * @pt: the device page table: xarray of struct unimem_pt_leaf indexed by
 *      vaddr / 2 MiB
 * @migrate_lock: serialises migrations issued through this context
 * @migrator: task currently migrating through this context (owner skip)
 * @mig_start: start of the range being migrated (no faults installed there)
 * @mig_end: end of it, 0 when no migration is running
 * @mig_wq: faulters wait here for a migration of their range to finish
 * @node: entry in the device's @ctx_list
 * @cnt: context counters, indexed by enum unimem_counter
 */
struct unimem_ctx {
	struct unimem_device *udev;
	struct unimem_mm *umm;
	struct mmu_interval_notifier notifier;
	struct xarray notifiers;
	struct rw_semaphore notifiers_sem;
	atomic_t notifiers_dead;
	struct mutex lock;		/* see above */
	struct xarray pt;
	struct mutex migrate_lock;	/* see above */
	struct task_struct *migrator;
	unsigned long mig_start, mig_end;
	wait_queue_head_t mig_wq;
	struct list_head node;
	atomic64_t cnt[UNIMEM_CNT_NR];
};

/*
 * The device page table is watched by interval notifiers over 64 MiB parts
 * of the address space, as drm_gpusvm does: an invalidation restarts only
 * the device faults of the parts it touches.  Smaller parts mean fewer
 * restarts and more notifiers to walk per invalidation.
 */
#define UNIMEM_NOTIFIER_SHIFT	26

/**
 * struct unimem_notifier - the interval notifier of one part of a mirror
 * @mni: the notifier, over one UNIMEM_NOTIFIER_SHIFT-aligned part
 * @ctx: the context whose device page table it guards
 * @start: first address of the part
 * @gen: bumped (under @ctx->lock) when a migration of @ctx over this part
 *       starts and ends; a device fault that raced with one retries (our
 *       own migrations skip the notifier, so its sequence does not move)
 * @dead: its whole range was unmapped: removed at the next insertion
 */
struct unimem_notifier {
	struct mmu_interval_notifier mni;
	struct unimem_ctx *ctx;
	unsigned long start;
	unsigned long gen;
	bool dead;
};

void unimem_notifiers_bump(struct unimem_ctx *ctx, unsigned long start,
			   unsigned long end);

#define UNIMEM_PTE_WRITE	1UL
#define UNIMEM_PT_LEAF_SHIFT	9
#define UNIMEM_PT_LEAF_ENTRIES	(1UL << UNIMEM_PT_LEAF_SHIFT)

/* One last-level table: 512 entries, struct page pointer | UNIMEM_PTE_WRITE */
struct unimem_pt_leaf {
	unsigned long e[UNIMEM_PT_LEAF_ENTRIES];
};

extern struct unimem_device **unimem_devices;
extern unsigned int unimem_ndevices;
extern unsigned int unimem_fault_window;
extern bool unimem_storage_handover;
/* The one pgmap owner of all unimem devices (see DOC in unimem_main.c). */
extern int unimem_owner;
extern bool unimem_peer_access;
bool unimem_is_owner(const void *owner);
extern const struct dev_pagemap_ops unimem_devmem_ops;

static inline void unimem_count(struct unimem_ctx *ctx, enum unimem_counter c,
				u64 n)
{
	if (ctx)
		atomic64_add(n, &ctx->cnt[c]);
}

static inline void unimem_dcount(struct unimem_device *udev,
				 enum unimem_counter c, u64 n)
{
	atomic64_add(n, &udev->cnt[c]);
}

static inline struct unimem_chunk *unimem_page_chunk(struct page *page)
{
	return container_of(unimem_page_pgmap(page), struct unimem_chunk,
			    pagemap);
}

/* rmap */
int unimem_rmap_init(void);
void unimem_rmap_fini(void);
struct unimem_mm *unimem_mm_get(struct mm_struct *mm);
void unimem_mm_put(struct unimem_mm *umm, unsigned long refs);
void unimem_rmap_update(struct page *page, struct unimem_mm *umm,
			unsigned long addr);
void unimem_rmap_update_range(struct page *page, unsigned long n,
			      struct unimem_mm *umm, unsigned long addr);
struct unimem_mm *unimem_rmap_clear(struct page *page);
unsigned long unimem_rmap_snapshot(struct unimem_chunk *chunk,
				   unsigned long off, unsigned long n,
				   struct unimem_rmap_ent *out);

/* devmem */
int unimem_devmem_init(struct unimem_device *udev, unsigned long bytes);
void unimem_devmem_fini(struct unimem_device *udev);
bool unimem_is_our_page(struct page *page);
struct unimem_device *unimem_page_device(struct page *page);
struct page *unimem_backing(struct page *page);
void unimem_copy_pages(struct page *dst, struct page *src, unsigned long nr);
void unimem_set_backing(struct page *page, struct page *storage);
struct page *unimem_alloc_page(struct unimem_device *udev, bool zero);
struct page *unimem_alloc_huge(struct unimem_device *udev, bool zero);
struct page *unimem_alloc_system_huge(struct vm_area_struct *vma,
				      unsigned long addr, gfp_t gfp);
unsigned long unimem_nfree(struct unimem_device *udev);

/* Has @udev any page allocated?  (A hint: pages come and go meanwhile.) */
static inline bool unimem_dev_in_use(struct unimem_device *udev)
{
	return unimem_nfree(udev) < udev->npages;
}
void unimem_dirty_from_device(unsigned long dst);
/**
 * struct unimem_evict_self - a migration asking for room, in its own mm
 * @start: first address of its range
 * @end: end of the part it has finished
 * @keep_end: [@end, @keep_end) is the batch in progress: never evicted
 * @evicted: incremented for each page of [@start, @end) that is evicted
 */
struct unimem_evict_self {
	unsigned long start, end, keep_end;
	u64 *evicted;
};

long unimem_evict(struct unimem_device *udev, unsigned long want,
		  struct unimem_ctx *ctx, struct unimem_evict_self *self,
		  bool locked);
void unimem_page_touch(struct page *page);

/* mirror */
int unimem_ctx_open(struct unimem_device *udev, struct unimem_ctx **out);
void unimem_ctx_release(struct unimem_ctx *ctx);
int unimem_dev_exec(struct unimem_ctx *ctx, struct unimem_dev_op *op);
int unimem_snapshot(struct unimem_ctx *ctx, struct unimem_snapshot *snap);
void unimem_pt_clear(struct unimem_ctx *ctx, unsigned long start,
		     unsigned long end);
void unimem_count_cpu_fault(struct mm_struct *mm, struct unimem_device *udev,
			    unsigned long pages);

/* migrate */
int unimem_migrate(struct unimem_ctx *ctx, struct unimem_migrate *m);
vm_fault_t unimem_migrate_to_ram(struct vm_fault *vmf);

#endif /* _UNIMEM_INTERNAL_H */
