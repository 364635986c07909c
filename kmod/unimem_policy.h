/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unimem: range attributes and placement policy - the interface the core
 * (mirror, migrate, main) calls.  See unimem_attr.c and unimem_policy.c.
 */
#ifndef _UNIMEM_POLICY_H
#define _UNIMEM_POLICY_H

#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <linux/unimem.h>

struct unimem_ctx;
struct unimem_device;
struct vm_area_struct;

/**
 * struct unimem_attrs - the attributes of one page
 * @pref: preferred location: device index, UNIMEM_TARGET_SYSTEM or
 *        UNIMEM_TARGET_NONE
 * @accessed_by: bitmask of devices that map the page where it lives
 * @gran: migration granularity, log2 pages
 * @read_mostly: read-mostly hint
 * @no_access: devices must not access the page
 */
struct unimem_attrs {
	u32 pref;
	u32 accessed_by;
	u8 gran;
	u8 read_mostly;
	u8 no_access;
};

/**
 * struct unimem_anode - attributes of one address range
 * @it: interval tree node, [it.start, it.last] in bytes
 * @pgoff: linear page index of @it.start in its (anonymous) VMA
 * @a: the attributes
 * @link: list linkage while planning, or on the orphan list
 */
struct unimem_anode {
	struct interval_tree_node it;
	unsigned long pgoff;
	struct unimem_attrs a;
	struct list_head link;
};

/**
 * struct unimem_pstore - attributes and policy state of one address space
 * @kref: one reference per context of the mm, plus temporary lookups
 * @hnode: registry linkage (keyed by @mm)
 * @mm: the address space (not referenced: a context holds it alive)
 * @lock: protects @tree, @orphans and the contents of @blocks; never held
 *        across an allocation that may sleep (taken in notifier context)
 * @set_lock: serialises writers of @tree in process context (SET,
 *            adoption of orphans); taken under mmap_lock
 * @tree: non-overlapping attribute ranges
 * @orphans: ranges cut by MMU_NOTIFY_UNMAP, waiting for mremap adoption
 * @blocks: per-block history for first touch and thrashing, indexed by the
 *          page number of the aligned block start
 * @flags: UNIMEM_POLICY_* in force
 * @thrash_threshold: migrations within the window that mark thrashing
 * @thrash_window: window, jiffies
 * @thrash_backoff: first back-off, jiffies (doubles on repeat, up to 32x)
 * @nstate: attribute ranges (in @tree or @orphans) and @blocks entries,
 *          capped by unimem_max_attr_ranges
 * @cnt: policy counters of this address space
 */
struct unimem_pstore {
	struct kref kref;
	struct hlist_node hnode;
	struct mm_struct *mm;
	spinlock_t lock;
	struct mutex set_lock;
	struct rb_root_cached tree;
	struct list_head orphans;
	struct xarray blocks;
	u32 flags;
	u32 thrash_threshold;
	unsigned long thrash_window;
	unsigned long thrash_backoff;
	atomic_long_t nstate;
	atomic64_t cnt[UNIMEM_PCNT_NR];
};

/* unimem_attr.c: the store */
extern unsigned int unimem_max_attr_ranges;
struct unimem_pstore *unimem_pstore_get(struct mm_struct *mm);
void unimem_pstore_put(struct unimem_pstore *ps);
int unimem_pstore_attach(struct mm_struct *mm);
void unimem_pstore_detach(struct mm_struct *mm);
void unimem_attr_defaults(struct unimem_attrs *a);
bool unimem_attr_lookup(struct unimem_pstore *ps, unsigned long addr,
			struct unimem_attrs *a, unsigned long *lo,
			unsigned long *hi);
void unimem_attr_unmap(struct unimem_pstore *ps, unsigned long start,
		       unsigned long end);
void unimem_attr_reconcile(struct unimem_pstore *ps);
long unimem_attr_ioctl(struct unimem_ctx *ctx, void __user *uarg);

/* unimem_policy.c: decisions */

/**
 * enum unimem_place - what to do on a device access to non-resident pages
 * @UNIMEM_PLACE_REMOTE: map the pages where they are
 * @UNIMEM_PLACE_MIGRATE: migrate the block to the accessing device
 * @UNIMEM_PLACE_DENY: the range forbids device access
 */
enum unimem_place {
	UNIMEM_PLACE_REMOTE,
	UNIMEM_PLACE_MIGRATE,
	UNIMEM_PLACE_DENY,
};

enum unimem_place unimem_policy_decide(const struct unimem_attrs *a,
				       u32 dev, bool first_touch,
				       bool first_touch_on, bool pinned,
				       enum unimem_policy_counter *why);
void unimem_policy_block(const struct unimem_attrs *a, unsigned long addr,
			 unsigned long lo, unsigned long hi,
			 unsigned long vm_start, unsigned long vm_end,
			 unsigned long *start, unsigned long *end);
void unimem_pcount(struct unimem_pstore *ps, int dev,
		   enum unimem_policy_counter c, u64 n);

/* Hooks called by the core. */
int unimem_policy_ctx_open(struct unimem_ctx *ctx);
void unimem_policy_ctx_release(struct unimem_ctx *ctx);
void unimem_policy_invalidate(struct unimem_ctx *ctx,
			      const struct mmu_notifier_range *range);
int unimem_policy_device_fault(struct unimem_ctx *ctx, unsigned long start,
			       unsigned long end, bool write);
bool unimem_policy_cpu_fault_window(struct vm_area_struct *vma,
				    unsigned long addr, unsigned long *start,
				    unsigned long *end);
void unimem_policy_cpu_fault_done(struct vm_area_struct *vma,
				  struct unimem_device *udev,
				  unsigned long start, unsigned long moved);
long unimem_policy_ioctl(struct unimem_ctx *ctx, unsigned int cmd,
			 void __user *uarg);

#endif /* _UNIMEM_POLICY_H */
