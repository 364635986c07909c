// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem: contexts, the device page table, device faults and the device
 * engine.
 *
 * DOC: Mirroring
 *
 * Each open file is a context bound to the opener's mm.  Its device page
 * table maps each virtual page to the struct page currently backing that
 * address (a system page or a unimem device page, of any unimem device),
 * tagged writable or not; a 2 MiB device folio mapped by one PMD is one
 * entry (see unimem_pt_get()).  No page reference is held:
 * mmu_interval_notifiers clear entries before the core mm changes or frees
 * what they point to.  The device engine only dereferences entries with
 * @ctx->lock held, the same lock the invalidation callbacks take, so once
 * an invalidation returns the device no longer accesses the old page.
 *
 * As in drm_gpusvm, the notifiers cover bounded parts of the address space
 * (64 MiB, struct unimem_notifier), created by the first device fault in
 * their part: an invalidation elsewhere - another thread's migration, an
 * munmap() - neither takes @ctx->lock nor restarts a device fault here.  A
 * part unmapped whole is removed at the next insertion.  One more notifier
 * covers the whole address space without guarding entries: it names the mm,
 * lets attributes follow munmap() and serves non-faulting scans.
 *
 * A device access to an absent entry is a device fault: hmm_range_fault() in
 * the usual mmu_interval_read_begin()/read_retry() loop, asking for write
 * access when the device writes, then the entries are installed under
 * @ctx->lock.  Non-blockable invalidations trylock and fail if they cannot.
 *
 * Invalidations of MMU_NOTIFY_MIGRATE caused by a migration this context is
 * itself running (range->owner is a unimem pgmap owner and the context's
 * migrator is the current task) are skipped: the migration code clears the
 * affected entries itself beforehand and holds new faults off that range
 * until the migration is complete.  Because a skipped invalidation does not
 * advance the notifier sequence, the migration also bumps the generation of
 * the parts it covers when it starts and ends, and a device fault that
 * sampled an older generation before hmm_range_fault() retries instead of
 * installing stale pages.
 */
#include <linux/hmm.h>
#include <linux/migrate.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>
#include <linux/vmalloc.h>

#include "unimem_internal.h"
#include "unimem_policy.h"

#define UNIMEM_FAULT_TIMEOUT_MS	20000

/*
 * The device page table: an xarray of leaves, one per 2 MiB of virtual
 * address space, each an array of 512 entries (page pointer | writable
 * bit), like a real device's last-level page table.  A 2 MiB device folio
 * that the CPU maps with one PMD is mirrored by one entry in place of a
 * leaf, like a device's 2 MiB page-table entry: an xarray value entry
 * holding the folio's first pfn and the writable bit (see
 * unimem_pt_install()).  Entries and leaves change only under @ctx->lock.
 */
/**
 * unimem_pt_huge_entry() - the entry mirroring a whole 2 MiB device folio
 * @pfn: its first pfn
 * @write: the device may write it
 *
 * Return: the xarray value entry that takes the place of a leaf.
 */
static void *unimem_pt_huge_entry(unsigned long pfn, bool write)
{
	return xa_mk_value((pfn << 1) | (write ? UNIMEM_PTE_WRITE : 0));
}

/**
 * unimem_pt_get() - the device page-table entry of @addr
 * @ctx: context, @ctx->lock held
 * @addr: the address
 *
 * Return: struct page pointer | UNIMEM_PTE_WRITE, or 0 when not mirrored.
 */
static unsigned long unimem_pt_get(struct unimem_ctx *ctx, unsigned long addr)
{
	unsigned long vpn = addr >> PAGE_SHIFT;
	unsigned long i = vpn & (UNIMEM_PT_LEAF_ENTRIES - 1);
	void *e = xa_load(&ctx->pt, vpn >> UNIMEM_PT_LEAF_SHIFT);
	unsigned long v;

	if (!e)
		return 0;
	if (!xa_is_value(e))
		return ((struct unimem_pt_leaf *)e)->e[i];
	v = xa_to_value(e);
	return (unsigned long)pfn_to_page((v >> 1) + i) |
	       (v & UNIMEM_PTE_WRITE);
}

/* The page mirrored at @addr, or NULL; @ctx->lock held. */
static struct page *unimem_pt_lookup(struct unimem_ctx *ctx,
				     unsigned long addr)
{
	return (struct page *)(unimem_pt_get(ctx, addr) & ~UNIMEM_PTE_WRITE);
}

/**
 * unimem_pt_clear() - drop device page-table entries of [start, end)
 * @ctx: context, @ctx->lock held
 * @start: first address
 * @end: end address (exclusive)
 *
 * Leaves wholly inside the range are freed, others are cleared in part.
 */
void unimem_pt_clear(struct unimem_ctx *ctx, unsigned long start,
		     unsigned long end)
{
	const unsigned long lsize = UNIMEM_PT_LEAF_ENTRIES << PAGE_SHIFT;
	struct unimem_pt_leaf *leaf;
	unsigned long idx;
	void *entry;

	lockdep_assert_held(&ctx->lock);
	if (end <= start)
		return;
	xa_for_each_range(&ctx->pt, idx, entry, start / lsize,
			  (end - 1) / lsize) {
		unsigned long ls = idx * lsize;
		unsigned long s = max(start, ls), e = min(end, ls + lsize);

		/* a 2 MiB entry goes whole: the device faults the rest again */
		if (xa_is_value(entry) || (s == ls && e == ls + lsize)) {
			xa_erase(&ctx->pt, idx);
			if (!xa_is_value(entry))
				kfree(entry);
			continue;
		}
		leaf = entry;
		memset(&leaf->e[(s - ls) >> PAGE_SHIFT], 0,
		       ((e - s) >> PAGE_SHIFT) * sizeof(leaf->e[0]));
	}
}

static void unimem_pt_destroy(struct unimem_ctx *ctx)
{
	unsigned long idx;
	void *entry;

	xa_for_each(&ctx->pt, idx, entry)
		if (!xa_is_value(entry))
			kfree(entry);
	xa_destroy(&ctx->pt);
}

#define UNIMEM_PT_SPARES	2	/* leaves a fault window can span */

/*
 * Allocate the leaves that installing [start, end) needs, and reserve
 * their slots, before @ctx->lock is taken: under it nothing may allocate
 * with reclaim (reclaim can call back into the invalidation, which takes
 * @ctx->lock), and atomic allocations would be neither charged to the
 * caller nor reliable.
 */
static void unimem_pt_prealloc(struct unimem_ctx *ctx, unsigned long start,
			       unsigned long end,
			       struct unimem_pt_leaf **spare)
{
	const unsigned int shift = PAGE_SHIFT + UNIMEM_PT_LEAF_SHIFT;
	unsigned long li;
	int k = 0;

	for (li = start >> shift; li <= (end - 1) >> shift; li++) {
		void *e = xa_load(&ctx->pt, li);

		/* a slot with a 2 MiB entry may need a leaf instead */
		if (k == UNIMEM_PT_SPARES || (e && !xa_is_value(e)) ||
		    (!e && xa_reserve(&ctx->pt, li, GFP_KERNEL_ACCOUNT)))
			continue;
		spare[k++] = kzalloc(sizeof(**spare), GFP_KERNEL_ACCOUNT);
	}
}

/* Free the leaves unimem_pt_install() did not use, release their slots. */
static void unimem_pt_spares_free(struct unimem_ctx *ctx, unsigned long start,
				  unsigned long end,
				  struct unimem_pt_leaf **spare)
{
	const unsigned int shift = PAGE_SHIFT + UNIMEM_PT_LEAF_SHIFT;
	unsigned long li;
	int k;

	for (k = 0; k < UNIMEM_PT_SPARES; k++)
		kfree(spare[k]);
	for (li = start >> shift; li <= (end - 1) >> shift; li++)
		xa_release(&ctx->pt, li);	/* only if still reserved */
}

/* Does a migration of this context run over part of [start, end)? */
static bool unimem_mig_overlap(struct unimem_ctx *ctx, unsigned long start,
			       unsigned long end)
{
	unsigned long ms = READ_ONCE(ctx->mig_start);
	unsigned long me = READ_ONCE(ctx->mig_end);

	return me && start < me && end > ms;
}

/**
 * unimem_pt_huge_pfn() - can a page be mirrored by a 2 MiB entry
 * @ctx: context, @ctx->lock held
 * @hpfn: the page's entry from hmm_range_fault()
 * @addr: its address
 *
 * A 2 MiB device folio that the CPU maps with one PMD is mirrored with one
 * entry, but not while a migration of this context runs over part of its
 * 2 MiB: that migration clears and holds off only its own range and skips
 * its own invalidations.
 *
 * Return: the folio's first pfn, or 0 when the page takes a leaf entry.
 */
static unsigned long unimem_pt_huge_pfn(struct unimem_ctx *ctx,
					unsigned long hpfn, unsigned long addr)
{
	unsigned long start = ALIGN_DOWN(addr, UNIMEM_HUGE_SIZE);

	if (!unimem_device_thp() || !(hpfn & HMM_PFN_VALID) ||
	    hmm_pfn_to_map_order(hpfn) != UNIMEM_THP_ORDER ||
	    !unimem_is_our_page(hmm_pfn_to_page(hpfn)) ||
	    unimem_mig_overlap(ctx, start, start + UNIMEM_HUGE_SIZE))
		return 0;
	/* device folios are 2 MiB aligned in pfn space */
	return ALIGN_DOWN(page_to_pfn(hmm_pfn_to_page(hpfn)),
			  UNIMEM_HUGE_PAGES);
}

/**
 * unimem_pt_leaf_get() - the leaf of a slot of the device page table
 * @ctx: context, @ctx->lock held
 * @li: the slot (virtual address / 2 MiB)
 * @spare: leaves from unimem_pt_prealloc(); one is taken if needed
 *
 * A slot with no leaf, or with a 2 MiB entry (whose other pages the
 * device then faults in again), gets a new one: a spare, else one
 * allocated without reclaim.
 *
 * Return: the leaf, or an ERR_PTR() on allocation failure.
 */
static struct unimem_pt_leaf *unimem_pt_leaf_get(struct unimem_ctx *ctx,
						 unsigned long li,
						 struct unimem_pt_leaf **spare)
{
	const gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN | __GFP_ACCOUNT;
	struct unimem_pt_leaf *leaf = xa_load(&ctx->pt, li);
	int k = spare[0] ? 0 : 1;
	void *old;

	if (leaf && !xa_is_value(leaf))
		return leaf;
	leaf = spare[k];
	spare[k] = NULL;
	if (!leaf)
		leaf = kzalloc(sizeof(*leaf), gfp);
	if (!leaf)
		return ERR_PTR(-ENOMEM);
	old = xa_store(&ctx->pt, li, leaf, gfp);
	if (xa_is_err(old)) {
		kfree(leaf);
		return ERR_PTR(xa_err(old));
	}
	return leaf;
}

/*
 * Enter @n pages from hmm_range_fault() at @start into the device page
 * table; @ctx->lock held.  A 2 MiB device folio mapped by one PMD gets one
 * entry for its whole 2 MiB, even when only part of it was asked for: the
 * notifier covers the whole address space, so any change to that PMD
 * invalidates the entry.  Other pages go into leaves, which come from
 * @spare (unimem_pt_prealloc()); one freed by an invalidation meanwhile
 * is replaced without reclaim.
 */
static int unimem_pt_install(struct unimem_ctx *ctx, unsigned long start,
			     unsigned long n, const unsigned long *pfns,
			     struct unimem_pt_leaf **spare)
{
	const gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN | __GFP_ACCOUNT;
	unsigned long i, vpn = start >> PAGE_SHIFT;
	struct unimem_pt_leaf *leaf = NULL;
	struct page *page;

	lockdep_assert_held(&ctx->lock);
	for (i = 0; i < n; i++, vpn++) {
		unsigned long li = vpn >> UNIMEM_PT_LEAF_SHIFT;
		unsigned long hpfn = unimem_pt_huge_pfn(ctx, pfns[i],
							vpn << PAGE_SHIFT);

		if (hpfn) {
			unsigned long skip;
			void *old;

			old = xa_store(&ctx->pt, li,
				       unimem_pt_huge_entry(hpfn, pfns[i] &
							    HMM_PFN_WRITE),
				       gfp);
			if (xa_is_err(old))
				return xa_err(old);
			if (old && !xa_is_value(old))
				kfree(old);
			leaf = NULL;
			/* keep the pages evictable where they are now */
			unimem_rmap_update_range(pfn_to_page(hpfn),
						 UNIMEM_HUGE_PAGES, ctx->umm,
						 (li * UNIMEM_PT_LEAF_ENTRIES) <<
						 PAGE_SHIFT);
			unimem_count(ctx, UNIMEM_CNT_THP_MIRRORED, 1);
			unimem_dcount(ctx->udev, UNIMEM_CNT_THP_MIRRORED, 1);
			/* on to the last page of this 2 MiB in the range */
			skip = min(n - 1 - i, UNIMEM_PT_LEAF_ENTRIES - 1 -
				   (vpn & (UNIMEM_PT_LEAF_ENTRIES - 1)));
			i += skip;
			vpn += skip;
			continue;
		}
		if (!leaf || !(vpn & (UNIMEM_PT_LEAF_ENTRIES - 1))) {
			leaf = unimem_pt_leaf_get(ctx, li, spare);
			if (IS_ERR(leaf))
				return PTR_ERR(leaf);
		}
		page = hmm_pfn_to_page(pfns[i]);
		leaf->e[vpn & (UNIMEM_PT_LEAF_ENTRIES - 1)] =
			(unsigned long)page |
			((pfns[i] & HMM_PFN_WRITE) ? UNIMEM_PTE_WRITE : 0);
		/* keep the page evictable where it is now (mremap, fork) */
		if (unimem_is_our_page(page))
			unimem_rmap_update(page, ctx->umm, vpn << PAGE_SHIFT);
	}
	return 0;
}

/* Invalidation of one part of the device page table. */
static bool unimem_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct unimem_notifier *nt = container_of(mni, struct unimem_notifier,
						  mni);
	const unsigned long size = 1UL << UNIMEM_NOTIFIER_SHIFT;
	struct unimem_ctx *ctx = nt->ctx;

	/*
	 * Our own migration: it handles its page-table entries itself.  An
	 * eviction it runs meanwhile migrates other ranges of the same mm,
	 * which must be invalidated as usual.
	 */
	if (range->event == MMU_NOTIFY_MIGRATE &&
	    READ_ONCE(ctx->migrator) == current &&
	    range->start >= READ_ONCE(ctx->mig_start) &&
	    range->end <= READ_ONCE(ctx->mig_end) &&
	    unimem_is_owner(range->owner))
		return true;

	if (mmu_notifier_range_blockable(range)) {
		mutex_lock(&ctx->lock);
	} else if (!mutex_trylock(&ctx->lock)) {
		/* the OOM reaper: it tries this range again later */
		unimem_count(ctx, UNIMEM_CNT_INVAL_BUSY, 1);
		unimem_dcount(ctx->udev, UNIMEM_CNT_INVAL_BUSY, 1);
		return false;
	}

	mmu_interval_set_seq(mni, cur_seq);
	unimem_pt_clear(ctx, max(range->start, nt->start),
			min(range->end, nt->start + size));
	if (range->event == MMU_NOTIFY_UNMAP && range->start <= nt->start &&
	    range->end >= nt->start + size && !nt->dead) {
		nt->dead = true;
		atomic_inc(&ctx->notifiers_dead);
	}
	mutex_unlock(&ctx->lock);

	unimem_count(ctx, UNIMEM_CNT_INVALIDATIONS, 1);
	unimem_dcount(ctx->udev, UNIMEM_CNT_INVALIDATIONS, 1);
	if (!mmu_notifier_range_blockable(range)) {
		unimem_count(ctx, UNIMEM_CNT_INVAL_NONBLOCK, 1);
		unimem_dcount(ctx->udev, UNIMEM_CNT_INVAL_NONBLOCK, 1);
	}
	return true;
}

static const struct mmu_interval_notifier_ops unimem_mn_ops = {
	.invalidate = unimem_invalidate,
};

/*
 * Invalidation anywhere in the mm: attributes follow munmap/mremap (no-op
 * for other events); the sequence moves for the non-faulting scans.
 */
static bool unimem_invalidate_all(struct mmu_interval_notifier *mni,
				  const struct mmu_notifier_range *range,
				  unsigned long cur_seq)
{
	struct unimem_ctx *ctx = container_of(mni, struct unimem_ctx,
					      notifier);

	unimem_policy_invalidate(ctx, range);
	mmu_interval_set_seq(mni, cur_seq);
	return true;
}

static const struct mmu_interval_notifier_ops unimem_mn_all_ops = {
	.invalidate = unimem_invalidate_all,
};

/**
 * unimem_notifiers_bump() - a migration of @ctx starts or ends over a range
 * @ctx: the context, its @lock held
 * @start: start of the range
 * @end: end of the range
 *
 * Device faults in the parts it covers that sampled the generation before
 * retry (see the DOC above).
 */
void unimem_notifiers_bump(struct unimem_ctx *ctx, unsigned long start,
			   unsigned long end)
{
	struct unimem_notifier *nt;
	unsigned long idx;

	lockdep_assert_held(&ctx->lock);
	if (end <= start)
		return;
	xa_for_each_range(&ctx->notifiers, idx, nt,
			  start >> UNIMEM_NOTIFIER_SHIFT,
			  (end - 1) >> UNIMEM_NOTIFIER_SHIFT)
		WRITE_ONCE(nt->gen, nt->gen + 1);
}

/* Remove one notifier; @ctx->notifiers_sem held for write (or unshared). */
static void unimem_notifier_remove(struct unimem_ctx *ctx,
				   struct unimem_notifier *nt)
{
	const unsigned long size = 1UL << UNIMEM_NOTIFIER_SHIFT;

	/* its entries lose their guard: drop them first */
	mutex_lock(&ctx->lock);
	xa_erase(&ctx->notifiers, nt->start >> UNIMEM_NOTIFIER_SHIFT);
	unimem_pt_clear(ctx, nt->start, nt->start + size);
	mutex_unlock(&ctx->lock);
	mmu_interval_notifier_remove(&nt->mni);
	kfree(nt);
}

/*
 * Create the notifier of the part holding @addr unless it exists; notifiers
 * of parts unmapped whole are removed first, so their number stays bounded
 * by the parts mapped and mirrored.
 */
static int unimem_notifier_insert(struct unimem_ctx *ctx, unsigned long addr)
{
	const unsigned long size = 1UL << UNIMEM_NOTIFIER_SHIFT;
	unsigned long idx = addr >> UNIMEM_NOTIFIER_SHIFT;
	struct unimem_notifier *nt;
	int ret = 0;

	if (down_write_killable(&ctx->notifiers_sem))
		return -EINTR;
	if (atomic_read(&ctx->notifiers_dead)) {
		unsigned long i;

		atomic_set(&ctx->notifiers_dead, 0);
		xa_for_each(&ctx->notifiers, i, nt)
			if (READ_ONCE(nt->dead))
				unimem_notifier_remove(ctx, nt);
	}
	if (xa_load(&ctx->notifiers, idx))
		goto out;
	nt = kzalloc(sizeof(*nt), GFP_KERNEL_ACCOUNT);
	if (!nt) {
		ret = -ENOMEM;
		goto out;
	}
	nt->ctx = ctx;
	nt->start = idx << UNIMEM_NOTIFIER_SHIFT;
	ret = mmu_interval_notifier_insert(&nt->mni, ctx->notifier.mm,
					   nt->start, size, &unimem_mn_ops);
	if (ret) {
		kfree(nt);
		goto out;
	}
	mutex_lock(&ctx->lock);	/* unimem_notifiers_bump() walks them */
	ret = xa_err(xa_store(&ctx->notifiers, idx, nt, GFP_KERNEL_ACCOUNT));
	mutex_unlock(&ctx->lock);
	if (ret) {
		mmu_interval_notifier_remove(&nt->mni);
		kfree(nt);
	}
out:
	up_write(&ctx->notifiers_sem);
	return ret;
}

/*
 * The notifiers of the parts [start, end) touches (at most two: callers
 * fault at most UNIMEM_FAULT_BATCH pages at a time), created if needed.
 * Returns with @ctx->notifiers_sem held for read, or a negative errno.
 */
static int unimem_notifiers_get(struct unimem_ctx *ctx, unsigned long start,
				unsigned long end,
				struct unimem_notifier **nt)
{
	unsigned long first = start >> UNIMEM_NOTIFIER_SHIFT;
	unsigned long last = (end - 1) >> UNIMEM_NOTIFIER_SHIFT;
	int ret;

	for (;;) {
		if (down_read_killable(&ctx->notifiers_sem))
			return -EINTR;
		nt[0] = xa_load(&ctx->notifiers, first);
		nt[1] = last != first ? xa_load(&ctx->notifiers, last) : NULL;
		if (nt[0] && (last == first || nt[1]))
			return 0;
		up_read(&ctx->notifiers_sem);
		ret = unimem_notifier_insert(ctx, nt[0] ? end - 1 : start);
		if (ret)
			return ret;
	}
}

/**
 * unimem_ctx_open() - create a context for current->mm on @udev
 * @udev: device
 * @out: the new context
 *
 * Return: 0 or a negative errno.
 */
int unimem_ctx_open(struct unimem_device *udev, struct unimem_ctx **out)
{
	struct unimem_ctx *ctx;
	int ret;

	if (!current->mm)
		return -EINVAL;
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	ctx->udev = udev;
	ctx->umm = unimem_mm_get(current->mm);
	if (!ctx->umm) {
		kfree(ctx);
		return -ENOMEM;
	}
	mutex_init(&ctx->lock);
	mutex_init(&ctx->migrate_lock);
	xa_init(&ctx->pt);
	init_waitqueue_head(&ctx->mig_wq);
	xa_init(&ctx->notifiers);
	init_rwsem(&ctx->notifiers_sem);
	ret = mmu_interval_notifier_insert(&ctx->notifier, current->mm, 0,
					   ULONG_MAX & PAGE_MASK,
					   &unimem_mn_all_ops);
	if (ret)
		goto err_umm;
	ret = unimem_policy_ctx_open(ctx);
	if (ret)
		goto err_notifier;
	spin_lock(&udev->ctx_lock);
	list_add_tail(&ctx->node, &udev->ctx_list);
	spin_unlock(&udev->ctx_lock);
	*out = ctx;
	return 0;

err_notifier:
	mmu_interval_notifier_remove(&ctx->notifier);
err_umm:
	unimem_mm_put(ctx->umm, 1);
	kfree(ctx);
	return ret;
}

/**
 * unimem_ctx_release() - tear down a context
 * @ctx: the context; no ioctl can be running on it any more
 */
void unimem_ctx_release(struct unimem_ctx *ctx)
{
	struct unimem_device *udev = ctx->udev;
	struct unimem_notifier *nt;
	unsigned long idx;

	spin_lock(&udev->ctx_lock);
	list_del(&ctx->node);
	spin_unlock(&udev->ctx_lock);
	unimem_policy_ctx_release(ctx);
	xa_for_each(&ctx->notifiers, idx, nt)
		unimem_notifier_remove(ctx, nt);
	xa_destroy(&ctx->notifiers);
	mmu_interval_notifier_remove(&ctx->notifier);
	unimem_pt_destroy(ctx);
	unimem_mm_put(ctx->umm, 1);
	kfree(ctx);
}

/**
 * unimem_count_cpu_fault() - account a CPU fault on a device page
 * @mm: faulting mm
 * @udev: device that owned the page
 * @pages: pages brought back to system memory
 */
void unimem_count_cpu_fault(struct mm_struct *mm, struct unimem_device *udev,
			    unsigned long pages)
{
	struct unimem_ctx *ctx;

	unimem_dcount(udev, UNIMEM_CNT_CPU_FAULTS, 1);
	unimem_dcount(udev, UNIMEM_CNT_FAULT_TO_SYSTEM, pages);
	spin_lock(&udev->ctx_lock);
	list_for_each_entry(ctx, &udev->ctx_list, node) {
		if (ctx->notifier.mm != mm)
			continue;
		unimem_count(ctx, UNIMEM_CNT_CPU_FAULTS, 1);
		unimem_count(ctx, UNIMEM_CNT_FAULT_TO_SYSTEM, pages);
	}
	spin_unlock(&udev->ctx_lock);
}

static bool unimem_pt_present(struct unimem_ctx *ctx, unsigned long start,
			      unsigned long end, bool write)
{
	unsigned long addr;

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		unsigned long pte = unimem_pt_get(ctx, addr);

		if (!pte)
			return false;
		if (write && !(pte & UNIMEM_PTE_WRITE))
			return false;
	}
	return true;
}

static bool unimem_all_writable(const unsigned long *pfns, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		if (!(pfns[i] & HMM_PFN_WRITE))
			return false;
	return true;
}

/* Is part of [start, end) registered with userfaultfd?  mmap lock held. */
static bool unimem_uffd_armed(struct mm_struct *mm, unsigned long start,
			      unsigned long end)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;

	for_each_vma_range(vmi, vma, end)
		if (userfaultfd_armed(vma))
			return true;
	return false;
}

/*
 * Fault in the pages of a userfaultfd range that @pfns (a non-faulting
 * hmm_range_fault() of it) shows missing, or read-only for a write.
 * hmm_range_fault() faults without FAULT_FLAG_ALLOW_RETRY, which
 * handle_userfault() refuses (-EFAULT and a warning); fixup_user_fault()
 * allows the retry, so the fault waits for the userfaultfd handler like a
 * CPU access.  mmap lock held for read (dropped and retaken meanwhile).
 *
 * Return: true if a page was faulted (the caller samples again), or a
 * negative errno through @err.
 */
static bool unimem_uffd_fault(struct mm_struct *mm, unsigned long start,
			      unsigned long n, const unsigned long *pfns,
			      bool write, int *err)
{
	unsigned long i;
	bool faulted = false;

	*err = 0;
	for (i = 0; i < n; i++) {
		bool unlocked = false;

		if ((pfns[i] & HMM_PFN_VALID) &&
		    (!write || (pfns[i] & HMM_PFN_WRITE)))
			continue;
		*err = fixup_user_fault(mm, start + (i << PAGE_SHIFT),
					write ? FAULT_FLAG_WRITE : 0,
					&unlocked);
		if (*err)
			break;
		faulted = true;
		if (fatal_signal_pending(current)) {
			*err = -EINTR;
			break;
		}
	}
	return faulted;
}

/*
 * One attempt of a device fault of [start, end): sample the notifiers of its
 * parts, hmm_range_fault() each part, and on success return 0 with
 * @ctx->lock held and the sequences still valid.  -EAGAIN means try again.
 */
static int unimem_mirror_try(struct unimem_ctx *ctx, unsigned long start,
			     unsigned long end, bool write,
			     unsigned long *pfns, void **owner)
{
	struct mm_struct *mm = ctx->notifier.mm;
	unsigned long n = (end - start) >> PAGE_SHIFT;
	unsigned long gen[2], split;
	struct unimem_notifier *nt[2];
	struct hmm_range range[2];
	int i, nparts, ret;
	bool uffd;

	ret = unimem_notifiers_get(ctx, start, end, nt);
	if (ret)
		return ret;
	nparts = nt[1] ? 2 : 1;
	split = nt[1] ? nt[1]->start : end;
	for (i = 0; i < nparts; i++) {
		range[i] = (struct hmm_range) {
			.notifier = &nt[i]->mni,
			.start = i ? split : start,
			.end = i ? end : split,
			.hmm_pfns = i ? pfns + ((split - start) >> PAGE_SHIFT) :
					pfns,
			.dev_private_owner = *owner,
		};
		range[i].notifier_seq = mmu_interval_read_begin(&nt[i]->mni);
		/* sample before walking the page tables (see DOC) */
		gen[i] = smp_load_acquire(&nt[i]->gen);
	}

	mmap_read_lock(mm);
	/* userfaultfd ranges: look only, fault below (see there) */
	uffd = unimem_uffd_armed(mm, start, end);
	for (i = 0, ret = 0; i < nparts && !ret; i++) {
		range[i].default_flags = uffd ? 0 : HMM_PFN_REQ_FAULT |
					 (write ? HMM_PFN_REQ_WRITE : 0);
		ret = hmm_range_fault(&range[i]);
	}
	if (!ret && uffd && unimem_uffd_fault(mm, start, n, pfns, write, &ret))
		ret = ret ? ret : -EAGAIN;
	mmap_read_unlock(mm);
	if (ret == -EBUSY)
		ret = -EAGAIN;
	if (ret)
		goto out;
	unimem_hmm_pmd_fixup(pfns, n, start);
	/*
	 * hmm_range_fault() reports our own device pages without faulting,
	 * even read-only ones (shared copy-on-write after fork).  A write to
	 * one must break the sharing: fault again as a foreign owner, which
	 * brings the page back to system memory and copies it.
	 */
	if (write && !unimem_all_writable(pfns, n)) {
		*owner = NULL;
		ret = -EAGAIN;
		goto out;
	}
	mutex_lock(&ctx->lock);
	for (i = 0; i < nparts; i++)
		if (mmu_interval_read_retry(&nt[i]->mni,
					    range[i].notifier_seq) ||
		    READ_ONCE(nt[i]->gen) != gen[i])
			ret = -EAGAIN;
	if (!ret && unimem_mig_overlap(ctx, start, end))
		ret = -EAGAIN;
	if (ret)
		mutex_unlock(&ctx->lock);
out:
	up_read(&ctx->notifiers_sem);
	return ret;
}

/* unimem_mirror_lock(), with @spare for unimem_pt_install(). */
static int __unimem_mirror_lock(struct unimem_ctx *ctx, unsigned long start,
				unsigned long end, bool write,
				unsigned long *pfns, u64 *faults,
				struct unimem_pt_leaf **spare)
{
	unsigned long timeout = jiffies +
				msecs_to_jiffies(UNIMEM_FAULT_TIMEOUT_MS);
	unsigned long n = (end - start) >> PAGE_SHIFT;
	void *owner = ctx->udev->owner;
	int ret;

	mutex_lock(&ctx->lock);
	if (!unimem_mig_overlap(ctx, start, end) &&
	    unimem_pt_present(ctx, start, end, write))
		return 0;
	mutex_unlock(&ctx->lock);

	/* Placement policy: migrate what belongs on this device. */
	ret = unimem_policy_device_fault(ctx, start, end, write);
	if (ret)
		return ret;
	unimem_pt_prealloc(ctx, start, end, spare);

	(*faults)++;
	unimem_count(ctx, UNIMEM_CNT_DEVICE_FAULTS, 1);
	unimem_dcount(ctx->udev, UNIMEM_CNT_DEVICE_FAULTS, 1);
	for (;;) {
		if (time_after(jiffies, timeout))
			return -EBUSY;
		if (fatal_signal_pending(current))
			return -EINTR;
		if (unimem_mig_overlap(ctx, start, end)) {
			wait_event_timeout(ctx->mig_wq,
					   !unimem_mig_overlap(ctx, start, end),
					   HZ);
			continue;
		}
		ret = unimem_mirror_try(ctx, start, end, write, pfns, &owner);
		if (ret != -EAGAIN)
			break;
		cond_resched();
	}
	if (ret)
		return ret;

	ret = unimem_pt_install(ctx, start, n, pfns, spare);
	if (ret) {
		mutex_unlock(&ctx->lock);
		return ret;
	}
	unimem_count(ctx, UNIMEM_CNT_PAGES_MIRRORED, n);
	unimem_dcount(ctx->udev, UNIMEM_CNT_PAGES_MIRRORED, n);
	return 0;
}

/*
 * Make [start, end) (at most UNIMEM_FAULT_BATCH pages, page aligned)
 * present in the device page table, writable when @write.  On success
 * returns 0 with @ctx->lock held: the entries stay valid until it is
 * dropped.
 */
static int unimem_mirror_lock(struct unimem_ctx *ctx, unsigned long start,
			      unsigned long end, bool write,
			      unsigned long *pfns, u64 *faults)
{
	struct unimem_pt_leaf *spare[UNIMEM_PT_SPARES] = { };
	int ret;

	ret = __unimem_mirror_lock(ctx, start, end, write, pfns, faults,
				   spare);
	unimem_pt_spares_free(ctx, start, end, spare);
	return ret;
}

/* The storage behind the mirrored page at @addr; @ctx->lock held. */
static struct page *unimem_pt_page(struct unimem_ctx *ctx, unsigned long addr)
{
	struct page *page = unimem_pt_lookup(ctx, addr);

	if (unimem_is_our_page(page)) {
		unimem_page_touch(page);
		return unimem_backing(page);
	}
	return page;
}

/*
 * The device wrote the page mirrored at @addr through a kernel mapping, so
 * no PTE dirty bit records it: mark the folio dirty, or reclaim discards a
 * lazily-freed (MADV_FREE) page and writeback misses a file page.  The
 * entry is valid under @ctx->lock, so the page is still mapped and cannot
 * be truncated meanwhile (as in ib_umem_odp).  Device pages are marked
 * when they come back to system memory (unimem_dirty_from_device()).
 */
static void unimem_pt_dirty(struct unimem_ctx *ctx, unsigned long addr)
{
	struct page *page = unimem_pt_lookup(ctx, addr);
	struct folio *folio;

	if (!page || unimem_is_our_page(page))
		return;
	folio = page_folio(page);
	if (!folio_test_dirty(folio))
		folio_mark_dirty(folio);
}

enum unimem_xfer { UNIMEM_TO_BUF, UNIMEM_FROM_BUF, UNIMEM_FILL_PAT };

/*
 * memcpy() of a variable size becomes "rep movsb" on CPUs with ERMS/FSRM,
 * which TCG emulates a byte at a time; constant-size copies are inlined as
 * wide moves.  Copy whole pages and 64-byte blocks with constant sizes.
 */
static void unimem_copy(u8 *d, const u8 *s, size_t n)
{
	if (n == PAGE_SIZE) {
		memcpy(d, s, PAGE_SIZE);
		return;
	}
	for (; n >= 64; n -= 64, d += 64, s += 64)
		memcpy(d, s, 64);
	memcpy(d, s, n);
}

/*
 * Fill [p, p + n), the mapping of virtual address @addr, with the pattern
 * @pat64: the fill value replicated to 8 bytes.  FILL requires addr and
 * length aligned to the width, so the byte at address A is byte A % 8 of the
 * replicated pattern.
 */
static void unimem_fill(u8 *p, unsigned long addr, size_t n, u64 pat64)
{
	const u8 *pb = (const u8 *)&pat64;

	for (; n && (addr & 7); n--, addr++, p++)
		*p = pb[addr & 7];
	for (; n >= 8; n -= 8, addr += 8, p += 8)
		*(u64 *)p = pat64;
	for (; n; n--, addr++, p++)
		*p = pb[addr & 7];
}

/* Copy between a kernel buffer and mirrored memory; @ctx->lock held. */
static void unimem_xfer_locked(struct unimem_ctx *ctx, unsigned long addr,
			       size_t len, u8 *buf, enum unimem_xfer dir,
			       u64 pat64)
{
	while (len) {
		size_t off = offset_in_page(addr);
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		u8 *p = kmap_local_page(unimem_pt_page(ctx, addr));

		if (dir != UNIMEM_TO_BUF)
			unimem_pt_dirty(ctx, addr);
		switch (dir) {
		case UNIMEM_TO_BUF:
			unimem_copy(buf, p + off, n);
			break;
		case UNIMEM_FROM_BUF:
			unimem_copy(p + off, buf, n);
			break;
		case UNIMEM_FILL_PAT:
			unimem_fill(p + off, addr, n, pat64);
			break;
		}
		kunmap_local(p);
		buf += n;
		addr += n;
		len -= n;
	}
}

/*
 * Copy between pinned user-buffer pages and mirrored pages: one copy, no
 * bounce.  @upages maps the user buffer from ALIGN_DOWN(@uaddr); @ctx->lock
 * held.
 */
static void unimem_xfer_pinned(struct unimem_ctx *ctx, unsigned long addr,
			       size_t len, unsigned long uaddr,
			       struct page **upages, bool to_user)
{
	unsigned long ubase = ALIGN_DOWN(uaddr, PAGE_SIZE);
	size_t done = 0;

	while (done < len) {
		unsigned long a = addr + done, u = uaddr + done;
		size_t n = min3(len - done, PAGE_SIZE - offset_in_page(a),
				PAGE_SIZE - offset_in_page(u));
		u8 *m = kmap_local_page(unimem_pt_page(ctx, a));
		u8 *b = kmap_local_page(upages[(u - ubase) >> PAGE_SHIFT]);

		if (to_user) {
			unimem_copy(b + offset_in_page(u),
				    m + offset_in_page(a), n);
		} else {
			unimem_copy(m + offset_in_page(a),
				    b + offset_in_page(u), n);
			unimem_pt_dirty(ctx, a);
		}
		kunmap_local(b);
		kunmap_local(m);
		done += n;
	}
}

/*
 * Run a transfer over [addr, addr + len) in windows of at most
 * UNIMEM_FAULT_BATCH pages.  @ubuf is the user buffer for READ/WRITE.
 */
static int unimem_xfer(struct unimem_ctx *ctx, unsigned long addr, size_t len,
		       u8 __user *ubuf, enum unimem_xfer dir, u64 pat64,
		       u8 *bounce, struct page **upages, unsigned long *pfns,
		       u64 *faults)
{
	const unsigned long wsize = UNIMEM_FAULT_BATCH << PAGE_SHIFT;
	int ret;

	while (len) {
		unsigned long wend = min_t(unsigned long, addr + len,
					   ALIGN_DOWN(addr, wsize) + wsize);
		size_t n = wend - addr;
		int pinned = 0, want = 0;

		if (ubuf) {
			/*
			 * Pin the user buffer before taking the context lock
			 * (faulting it in may need that lock); fall back to
			 * the bounce buffer if it cannot be pinned whole.
			 */
			unsigned long u = (unsigned long)ubuf;

			want = (ALIGN(u + n, PAGE_SIZE) -
				ALIGN_DOWN(u, PAGE_SIZE)) >> PAGE_SHIFT;
			pinned = pin_user_pages_fast(ALIGN_DOWN(u, PAGE_SIZE),
						     want,
						     dir == UNIMEM_TO_BUF ?
						     FOLL_WRITE : 0, upages);
			if (pinned != want) {
				if (pinned > 0)
					unpin_user_pages(upages, pinned);
				pinned = 0;
			}
		}
		if (!pinned && dir == UNIMEM_FROM_BUF &&
		    copy_from_user(bounce, ubuf, n))
			return -EFAULT;
		ret = unimem_mirror_lock(ctx, ALIGN_DOWN(addr, PAGE_SIZE),
					 ALIGN(wend, PAGE_SIZE),
					 dir != UNIMEM_TO_BUF, pfns, faults);
		if (ret) {
			if (pinned)
				unpin_user_pages(upages, pinned);
			return ret;
		}
		if (pinned)
			unimem_xfer_pinned(ctx, addr, n, (unsigned long)ubuf,
					   upages, dir == UNIMEM_TO_BUF);
		else
			unimem_xfer_locked(ctx, addr, n, bounce, dir, pat64);
		mutex_unlock(&ctx->lock);
		if (pinned)
			unpin_user_pages_dirty_lock(upages, pinned,
						    dir == UNIMEM_TO_BUF);
		else if (dir == UNIMEM_TO_BUF && copy_to_user(ubuf, bounce, n))
			return -EFAULT;
		if (dir == UNIMEM_TO_BUF)
			unimem_count(ctx, UNIMEM_CNT_DEV_BYTES_READ, n);
		else
			unimem_count(ctx, UNIMEM_CNT_DEV_BYTES_WRITTEN, n);
		addr += n;
		len -= n;
		if (ubuf)
			ubuf += n;
		cond_resched();
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

/* Atomic on a kernel mapping of the word; returns the old value. */
static u64 unimem_atomic_apply(void *p, const struct unimem_dev_op *op)
{
	if (op->width == 4) {
		u32 *w = p, old = READ_ONCE(*w);

		switch (op->op) {
		case UNIMEM_OP_ATOMIC_ADD:
			while (!try_cmpxchg(w, &old, old + (u32)op->value))
				;
			return old;
		case UNIMEM_OP_ATOMIC_XCHG:
			return xchg(w, (u32)op->value);
		default:
			return cmpxchg(w, (u32)op->compare, (u32)op->value);
		}
	} else {
		u64 *w = p, old = READ_ONCE(*w);

		switch (op->op) {
		case UNIMEM_OP_ATOMIC_ADD:
			while (!try_cmpxchg(w, &old, old + op->value))
				;
			return old;
		case UNIMEM_OP_ATOMIC_XCHG:
			return xchg(w, op->value);
		default:
			return cmpxchg(w, op->compare, op->value);
		}
	}
}

#ifdef UNIMEM_EXCLUSIVE_NEEDS_SPLIT
/*
 * make_device_exclusive_range() refuses pages of large folios before 6.15.
 * A migrate_vma collection splits a PMD-mapped THP (and we then move
 * nothing), so the page can be made exclusive on the next try.
 */
static void unimem_split_large(struct mm_struct *mm, unsigned long addr)
{
	unsigned long src = 0, dst = 0;
	struct migrate_vma args = {
		.start = addr,
		.end = addr + PAGE_SIZE,
		.src = &src,
		.dst = &dst,
		.pgmap_owner = &unimem_owner,
		.flags = MIGRATE_VMA_SELECT_SYSTEM,
	};

	mmap_read_lock(mm);
	args.vma = vma_lookup(mm, addr);
	if (args.vma && vma_is_anonymous(args.vma) &&
	    !migrate_vma_setup(&args)) {
		dst = 0;	/* move nothing: put the page back */
		migrate_vma_pages(&args);
		migrate_vma_finalize(&args);
	}
	mmap_read_unlock(mm);
}

/* A page make_device_exclusive_range() refuses: part of a large folio. */
static bool unimem_exclusive_refuses(struct page *page)
{
	return !unimem_is_our_page(page) && folio_test_large(page_folio(page));
}
#else
static bool unimem_exclusive_refuses(struct page *page)
{
	return false;
}
#endif

/*
 * Device atomic.  On device memory the device has the page to itself (the
 * CPU cannot map it) and the context lock keeps it there.  On system memory
 * the page is made device-exclusive for the duration of the operation
 * (unimem_make_exclusive()), so a CPU access in between faults and waits
 * for the page lock, and a CPU access afterwards restores the CPU mapping
 * through an invalidation.  Before 6.15 a PMD-mapped THP is split first
 * (the core call refuses large folios there; from 6.15 it splits the PMD
 * itself).  Pages that still cannot be made exclusive - before 6.15 a
 * PTE-mapped large folio, which cannot be split this way, or a contended
 * page - are updated in place through the mirror with a locked
 * read-modify-write: the virtual device's engine is cache coherent with
 * the CPU, so this is a system-scope atomic too.
 */
static int unimem_atomic(struct unimem_ctx *ctx, struct unimem_dev_op *op,
			 unsigned long *pfns)
{
	struct mm_struct *mm = ctx->notifier.mm;
	unsigned long pa = ALIGN_DOWN(op->addr, PAGE_SIZE);
	size_t off = offset_in_page(op->addr);
	bool split_tried = false;
	int tries, ret;

	for (tries = 0; ; tries++) {
		struct page *page;
		bool refused;
		u8 *p;

		ret = unimem_mirror_lock(ctx, pa, pa + PAGE_SIZE, true, pfns,
					 &op->faults);
		if (ret)
			return ret;
		page = unimem_pt_lookup(ctx, pa);
		refused = unimem_exclusive_refuses(page);
		if (unimem_is_our_page(page) || (refused && split_tried) ||
		    tries >= 4) {
			p = kmap_local_page(unimem_pt_page(ctx, pa));
			op->result = unimem_atomic_apply(p + off, op);
			kunmap_local(p);
			unimem_pt_dirty(ctx, pa);
			mutex_unlock(&ctx->lock);
			break;
		}
		mutex_unlock(&ctx->lock);

#ifdef UNIMEM_EXCLUSIVE_NEEDS_SPLIT
		if (refused) {
			unimem_split_large(mm, pa);
			split_tried = true;
			continue;
		}
#endif

		/*
		 * The mmap lock is held until the page is unlocked: fork()
		 * gives up with ENOMEM on a device-exclusive entry whose
		 * page it cannot lock (copy_nonpresent_pte()).
		 */
		mmap_read_lock(mm);
		ret = unimem_make_exclusive(mm, pa, ctx->udev->owner, &page);
		if (!ret) {
			p = kmap_local_page(page);
			op->result = unimem_atomic_apply(p + off, op);
			kunmap_local(p);
			folio_mark_dirty(page_folio(page));	/* locked */
			unlock_page(page);
			mmap_read_unlock(mm);
			put_page(page);
			break;
		}
		mmap_read_unlock(mm);
		if (ret != -EOPNOTSUPP && ret != -EBUSY)
			return ret;
		cond_resched();
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	unimem_count(ctx, UNIMEM_CNT_ATOMICS, 1);
	unimem_dcount(ctx->udev, UNIMEM_CNT_ATOMICS, 1);
	return 0;
}

/**
 * unimem_dev_exec() - execute one device-engine operation
 * @ctx: context (current->mm is its mm)
 * @op: validated operation
 *
 * Return: 0 or a negative errno.
 */
int unimem_dev_exec(struct unimem_ctx *ctx, struct unimem_dev_op *op)
{
	unsigned long *pfns;
	u64 pat64;
	struct page **upages = NULL;
	u8 *bounce = NULL;
	size_t bsize = 0;
	unsigned int i;
	int ret = 0;

	/* zeroed: since 6.17 hmm_range_fault() keeps input bits (INOUT) */
	pfns = kcalloc(UNIMEM_FAULT_BATCH, sizeof(*pfns), GFP_KERNEL_ACCOUNT);
	if (!pfns)
		return -ENOMEM;
	if (op->op == UNIMEM_OP_READ || op->op == UNIMEM_OP_WRITE ||
	    op->op == UNIMEM_OP_COPY) {
		bsize = min_t(size_t, op->length + PAGE_SIZE,
			      UNIMEM_FAULT_BATCH << PAGE_SHIFT);
		bounce = kvmalloc(bsize, GFP_KERNEL_ACCOUNT);
		upages = kmalloc_array(UNIMEM_FAULT_BATCH + 1, sizeof(*upages),
				       GFP_KERNEL_ACCOUNT);
		if (!bounce || !upages) {
			ret = -ENOMEM;
			goto out;
		}
	}

	switch (op->op) {
	case UNIMEM_OP_READ:
		ret = unimem_xfer(ctx, op->addr, op->length,
				  u64_to_user_ptr(op->buf), UNIMEM_TO_BUF,
				  0, bounce, upages, pfns, &op->faults);
		break;
	case UNIMEM_OP_WRITE:
		ret = unimem_xfer(ctx, op->addr, op->length,
				  u64_to_user_ptr(op->buf), UNIMEM_FROM_BUF,
				  0, bounce, upages, pfns, &op->faults);
		break;
	case UNIMEM_OP_FILL:
		pat64 = op->value;
		if (op->width < 8)
			pat64 &= (1ULL << (8 * op->width)) - 1;
		for (i = op->width; i < 8; i *= 2)
			pat64 |= pat64 << (8 * i);	/* little endian */
		ret = unimem_xfer(ctx, op->addr, op->length, NULL,
				  UNIMEM_FILL_PAT, pat64, NULL, NULL, pfns,
				  &op->faults);
		break;
	case UNIMEM_OP_COPY: {
		/*
		 * Device-internal copy, staged through the engine buffer in
		 * pieces of at most UNIMEM_FAULT_BATCH - 1 pages, so source
		 * and destination each span at most one fault batch.
		 */
		size_t piece = min_t(size_t, bsize,
				     (UNIMEM_FAULT_BATCH - 1) << PAGE_SHIFT);
		unsigned long done = 0;

		while (done < op->length && !ret) {
			size_t n = min_t(size_t, op->length - done, piece);
			unsigned long s = op->src + done, d = op->addr + done;

			ret = unimem_mirror_lock(ctx, ALIGN_DOWN(s, PAGE_SIZE),
						 ALIGN(s + n, PAGE_SIZE), false,
						 pfns, &op->faults);
			if (ret)
				break;
			unimem_xfer_locked(ctx, s, n, bounce, UNIMEM_TO_BUF, 0);
			mutex_unlock(&ctx->lock);
			ret = unimem_mirror_lock(ctx, ALIGN_DOWN(d, PAGE_SIZE),
						 ALIGN(d + n, PAGE_SIZE), true,
						 pfns, &op->faults);
			if (ret)
				break;
			unimem_xfer_locked(ctx, d, n, bounce, UNIMEM_FROM_BUF,
					   0);
			mutex_unlock(&ctx->lock);
			unimem_count(ctx, UNIMEM_CNT_DEV_BYTES_READ, n);
			unimem_count(ctx, UNIMEM_CNT_DEV_BYTES_WRITTEN, n);
			done += n;
			cond_resched();
			if (fatal_signal_pending(current))
				ret = -EINTR;
		}
		break;
	}
	default:
		ret = unimem_atomic(ctx, op, pfns);
		break;
	}
out:
	kfree(upages);
	kvfree(bounce);
	kfree(pfns);
	return ret;
}

static u32 unimem_snap_entry(unsigned long hpfn)
{
	struct page *page;
	u32 e;

	if (hpfn & HMM_PFN_ERROR)
		return UNIMEM_RES_UNMAPPED;
	if (!(hpfn & HMM_PFN_VALID))
		return UNIMEM_RES_NONE;
	page = hmm_pfn_to_page(hpfn);
	if (unimem_is_our_page(page))
		e = UNIMEM_RES_DEVICE |
		    (unimem_page_device(page)->index << UNIMEM_RES_DEV_SHIFT);
	else if (is_zero_pfn(page_to_pfn(page)))
		/* the huge zero page is not exported: HUGE, read-only */
		e = UNIMEM_RES_SYSTEM | UNIMEM_RES_ZERO;
	else
		e = UNIMEM_RES_SYSTEM;
	if (hpfn & HMM_PFN_WRITE)
		e |= UNIMEM_RES_WRITE;
	if (hmm_pfn_to_map_order(hpfn) > 0)
		e |= UNIMEM_RES_HUGE;
	return e;
}

/* One non-faulting walk of @range as @owner sees it; mmap lock held. */
static int unimem_snap_walk(struct unimem_ctx *ctx, struct hmm_range *range,
			    void *owner, unsigned long n)
{
	int ret;

	/* zeroed: since 6.17 hmm_range_fault() keeps input bits (INOUT) */
	memset(range->hmm_pfns, 0, n * sizeof(*range->hmm_pfns));
	range->dev_private_owner = owner;
	do {
		range->notifier_seq = mmu_interval_read_begin(&ctx->notifier);
		ret = hmm_range_fault(range);
	} while (ret == -EBUSY && !fatal_signal_pending(current));
	return ret;
}

/*
 * A peer device's pages (its own pgmap owner) are absent to a walk as
 * @ctx's device (a PTE: no entry; a 2 MiB device folio's PMD: an error):
 * look again as each other device with pages in use, into @peer, and take
 * the pages those walks find where @range found none.
 */
static void unimem_snap_peers(struct unimem_ctx *ctx, struct hmm_range *range,
			      unsigned long *peer, unsigned long n)
{
	unsigned long *pfns = range->hmm_pfns, i;
	unsigned int d;
	bool absent = false;

	for (i = 0; i < n && !absent; i++)
		absent = !(pfns[i] & HMM_PFN_VALID);
	if (!absent || unimem_peer_access)
		return;
	range->hmm_pfns = peer;
	for (d = 0; d < unimem_ndevices; d++) {
		struct unimem_device *udev = unimem_devices[d];

		if (udev == ctx->udev || !unimem_dev_in_use(udev) ||
		    unimem_snap_walk(ctx, range, udev->owner, n))
			continue;
		for (i = 0; i < n; i++)
			if (!(pfns[i] & HMM_PFN_VALID) &&
			    (peer[i] & HMM_PFN_VALID))
				pfns[i] = peer[i];
	}
	range->hmm_pfns = pfns;
}

/**
 * unimem_snapshot() - per-page residency of a range, without faulting
 * @ctx: context (current->mm is its mm)
 * @snap: validated request
 *
 * Return: 0 or a negative errno.
 */
int unimem_snapshot(struct unimem_ctx *ctx, struct unimem_snapshot *snap)
{
	struct mm_struct *mm = ctx->notifier.mm;
	unsigned long addr = snap->addr;
	unsigned long end = snap->addr + (snap->npages << PAGE_SHIFT);
	u32 __user *uent = u64_to_user_ptr(snap->entries);
	unsigned long *pfns, *peer;
	u32 *ent;
	int ret = 0;

	pfns = kcalloc(UNIMEM_FAULT_BATCH, sizeof(*pfns), GFP_KERNEL_ACCOUNT);
	peer = kcalloc(UNIMEM_FAULT_BATCH, sizeof(*peer), GFP_KERNEL_ACCOUNT);
	ent = kmalloc_array(UNIMEM_FAULT_BATCH, sizeof(*ent), GFP_KERNEL_ACCOUNT);
	if (!pfns || !peer || !ent) {
		ret = -ENOMEM;
		goto out;
	}

	while (addr < end) {
		unsigned long wend = min(end, ALIGN_DOWN(addr, UNIMEM_FAULT_BATCH
					 << PAGE_SHIFT) +
					 (UNIMEM_FAULT_BATCH << PAGE_SHIFT));
		unsigned long n = (wend - addr) >> PAGE_SHIFT, i;
		struct vm_area_struct *vma;

		mmap_read_lock(mm);
		vma = vma_lookup(mm, addr);
		if (!vma) {
			/* a hole: up to the next vma */
			vma = find_vma(mm, addr);
			if (vma && vma->vm_start < wend)
				wend = vma->vm_start;
			mmap_read_unlock(mm);
			n = (wend - addr) >> PAGE_SHIFT;
			for (i = 0; i < n; i++)
				ent[i] = UNIMEM_RES_UNMAPPED;
		} else {
			struct hmm_range range = {
				.notifier = &ctx->notifier,
				.start = addr,
				.hmm_pfns = pfns,
			};

			wend = min(wend, vma->vm_end);
			range.end = wend;
			n = (wend - addr) >> PAGE_SHIFT;
			ret = unimem_snap_walk(ctx, &range, ctx->udev->owner,
					       n);
			if (!ret)
				unimem_snap_peers(ctx, &range, peer, n);
			mmap_read_unlock(mm);
			if (!ret)
				unimem_hmm_pmd_fixup(pfns, n, addr);
			if (ret == -EFAULT || ret == -EPERM) {
				for (i = 0; i < n; i++)
					pfns[i] = HMM_PFN_ERROR;
				ret = 0;
			}
			if (ret)
				goto out;
			mutex_lock(&ctx->lock);
			for (i = 0; i < n; i++) {
				ent[i] = unimem_snap_entry(pfns[i]);
				if (unimem_pt_lookup(ctx, addr +
						     (i << PAGE_SHIFT)))
					ent[i] |= UNIMEM_RES_MIRRORED;
			}
			mutex_unlock(&ctx->lock);
		}
		if (copy_to_user(uent, ent, n * sizeof(*ent))) {
			ret = -EFAULT;
			goto out;
		}
		uent += n;
		addr = wend;
		cond_resched();
	}
out:
	kfree(ent);
	kfree(peer);
	kfree(pfns);
	return ret;
}
