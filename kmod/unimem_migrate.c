// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem: migration between system memory and device memory.
 *
 * DOC: Migration
 *
 * UNIMEM_IOCTL_MIGRATE walks the VMAs of the range and migrates each
 * anonymous part in batches of UNIMEM_MIGRATE_BATCH pages with
 * migrate_vma_setup()/migrate_vma_pages()/migrate_vma_finalize().  A
 * collection pass selects the device pages of one pgmap owner, and each
 * device is its own owner: a batch makes one pass for the target's owner
 * (with system pages and holes) and one per other device with pages in use,
 * whose pages are copied straight from its storage into the target's
 * (device to device, no bounce through system memory).  With peer_access
 * all devices share one owner and one pass does it all.  Every page of the
 * range ends up in exactly one result counter.
 *
 * Before a batch the target device is given room: if it has fewer free
 * pages than the batch needs, its coldest pages are evicted (see
 * unimem_evict()); an allocation that still fails evicts again, and pages
 * that found no room are retried after another eviction.
 *
 * The mmap lock is held for one batch at a time, never while waiting for
 * another task's eviction sweep: those are serialised per device and can
 * take long, and the caller's own munmap(), mprotect() and page faults
 * would queue behind the lock.  Eviction with the lock held only tries the
 * device's eviction lock; when it is taken, the batch ends, the mmap lock is
 * dropped and the eviction runs unlocked (killably), then the walk goes on
 * from where it was, looking the VMA up again.
 *
 * A CPU fault on a device page (migrate_to_ram) migrates the faulting page
 * and the other pages of its device in an aligned window of
 * unimem_fault_window pages around it, within the faulting VMA (a device
 * fault on a peer's page comes here too, see unimem_main.c).  Only the faulting page must
 * come back; if its allocation fails the fault returns VM_FAULT_OOM, and
 * VM_FAULT_SIGBUS is returned only when migrate_vma_setup() itself fails.
 *
 * With device-private THP (unimem_device_thp(), 6.19+) every pass selects
 * 2 MiB folios whole (MIGRATE_VMA_SELECT_COMPOUND) and batches end on
 * 2 MiB boundaries: a THP, or an aligned never-populated 2 MiB, becomes one
 * 2 MiB device folio, and a device folio comes back as one THP; when no
 * block (or THP) is free the 512 pages move as small pages instead (the
 * core splits the source), so nothing fails that the 4 KiB path would do.
 */
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "unimem_internal.h"
#include "unimem_policy.h"

struct unimem_mig {
	struct unimem_ctx *ctx;
	struct unimem_device *target;	/* NULL: system memory */
	u32 flags;
	unsigned long *src, *dst;
	struct page **pool;		/* bulk-allocated system pages */
	unsigned long npool, ipool;
	bool evict_futile;		/* an eviction of this batch freed nothing */
	bool evict_busy;		/* another sweep runs: evict unlocked */
	struct page **repl;		/* device -> system: new storage */
	unsigned long *counted;		/* entries of the batch counted so far */
	bool handover;			/* device -> system: no copy (see main) */
	struct vm_area_struct *vma;	/* for alloc_page_vma() */
	unsigned long addr;
	struct unimem_migrate *res;	/* counters of the current batch */
	struct unimem_evict_self self;	/* the request's own evictions */
	unsigned long want;		/* evict this many before the next try */
	bool room_made;			/* the batch at @next had its eviction */
	unsigned long bend;		/* end of that batch (after its first try) */
	u64 left;			/* pages of that batch still without room */
	unsigned int tries;		/* retries of that batch so far */
};

/*
 * Bulk allocation and storage hand-over ignore NUMA memory policy: use them
 * only when neither the VMA nor the task has one.
 */
static bool unimem_default_policy(struct vm_area_struct *vma)
{
#ifdef CONFIG_NUMA
	return !vma->vm_policy && !current->mempolicy;
#else
	return true;
#endif
}

/*
 * Anonymous memory, and the anonymous (copy-on-write) pages of private file
 * mappings: the file's own pages stay where they are (unsupported).
 */
static bool unimem_vma_supported(struct vm_area_struct *vma)
{
	/* PROT_NONE (guard) mappings are not migrated nor populated */
	return (vma_is_anonymous(vma) || !(vma->vm_flags & VM_MAYSHARE)) &&
	       !is_vm_hugetlb_page(vma) && !vma_is_dax(vma) &&
	       !(vma->vm_flags & VM_SPECIAL) &&
	       (vma->vm_flags & (VM_READ | VM_WRITE));
}

/*
 * Test hook: the next N device-page allocations of migrations fail as if
 * another task had taken the room, without an eviction of their own.  Lets
 * a test reach the retry of a batch (unimem_migrate_retry()) on purpose.
 */
static int inject_migrate_nomem;
module_param(inject_migrate_nomem, int, 0600);
MODULE_PARM_DESC(inject_migrate_nomem,
		 "test only: fail the next N device allocations of migrations");

static bool unimem_inject_nomem(void)
{
	int n = READ_ONCE(inject_migrate_nomem), old;

	while (n > 0) {
		old = cmpxchg(&inject_migrate_nomem, n, n - 1);
		if (old == n)
			return true;
		n = old;
	}
	return false;
}

/* Destination page for a migration to @target (NULL: system). */
static struct page *unimem_mig_alloc(struct unimem_mig *st, bool zero,
				     unsigned long need)
{
	struct page *page;

	if (!st->target) {
		page = NULL;
		if (st->ipool < st->npool) {
			page = st->pool[st->ipool];
			st->pool[st->ipool++] = NULL;
		}
		if (!page)
			page = alloc_page_vma(GFP_HIGHUSER_MOVABLE |
					      __GFP_NOWARN, st->vma, st->addr);
		if (page) {
			if (zero)
				clear_highpage(page);
			lock_page(page);
		}
		return page;
	}
	if (unlikely(unimem_inject_nomem()))
		return NULL;
	page = unimem_alloc_page(st->target, zero);
	if (!page && !st->evict_futile) {
		/* one fruitless sweep per batch is enough */
		long n = unimem_evict(st->target, need, st->ctx, &st->self,
				      true);

		if (n <= 0)
			st->evict_futile = true;
		if (n == -EBUSY)
			st->evict_busy = true;
		page = unimem_alloc_page(st->target, zero);
	}
	return page;
}

/* Entries covered by src[i] of an @npages batch: 512 for a 2 MiB folio. */
static unsigned long unimem_mig_nr(unsigned long src, unsigned long i,
				   unsigned long npages)
{
	if (!(src & UNIMEM_PFN_COMPOUND))
		return 1;
	return min(UNIMEM_HUGE_PAGES, npages - i);
}

/* Unlock and drop destination pages dst[0..n) not handed to the core. */
static void unimem_mig_release(unsigned long *dst, unsigned long n)
{
	unsigned long j;

	for (j = 0; j < n; j++) {
		struct page *page = migrate_pfn_to_page(dst[j]);

		dst[j] = 0;
		if (page) {
			unlock_page(page);
			put_page(page);
		}
	}
}

/*
 * Destination of one 2 MiB source entry (MIGRATE_PFN_COMPOUND: a THP, a
 * device THP, or an aligned never-populated range) at index @i of a batch
 * from @start: one folio (a 2 MiB device folio, or a system THP), else 512
 * small pages, all or none (the core splits the source, or inserts a
 * never-populated range page by page).  Results go to st->res.
 *
 * Return: the number of entries covered.
 */
static unsigned long unimem_mig_huge(struct unimem_mig *st,
				     struct vm_area_struct *vma,
				     unsigned long start, unsigned long i,
				     unsigned long npages)
{
	struct unimem_migrate *res = st->res;
	unsigned long s = st->src[i], addr = start + (i << PAGE_SHIFT);
	unsigned long nr = unimem_mig_nr(s, i, npages), w, j;
	struct page *spage = migrate_pfn_to_page(s), *dpage;
	bool ours = spage && unimem_is_our_page(spage);
	bool here = spage && (st->target ? ours && unimem_page_device(spage) ==
			      st->target : !ours);

	if (!(s & MIGRATE_PFN_MIGRATE)) {
		if (here)
			res->already += nr;
		else
			res->busy += nr;
		return nr;
	}
	if (spage && !ours && !PageAnon(spage)) {
		res->unsupported += nr;
		return nr;
	}
	if (!spage && (!st->target ||
		       !(st->flags & UNIMEM_MIGRATE_POPULATE))) {
		res->not_present += nr;
		return nr;
	}
	if (here) {
		if (ours)	/* see unimem_pt_install() */
			unimem_rmap_update_range(spage, nr, st->ctx->umm, addr);
		res->already += nr;
		return nr;
	}
	w = s & MIGRATE_PFN_WRITE;
	if (!spage && (vma->vm_flags & VM_WRITE))
		w = MIGRATE_PFN_WRITE;

	if (nr == UNIMEM_HUGE_PAGES) {
		dpage = st->target ? unimem_alloc_huge(st->target, !spage) :
			unimem_alloc_system_huge(vma, addr, 0);
		if (dpage) {
			if (spage)
				unimem_copy_pages(dpage, spage, nr);
			st->dst[i] = migrate_pfn(page_to_pfn(dpage)) |
				     UNIMEM_PFN_COMPOUND | w;
			return nr;
		}
	}
	/* no 2 MiB block (or THP) free: 4 KiB pages, which may evict */
	unimem_count(st->ctx, UNIMEM_CNT_THP_FALLBACK, nr == UNIMEM_HUGE_PAGES);
	unimem_dcount(st->target ? st->target : st->ctx->udev,
		      UNIMEM_CNT_THP_FALLBACK, nr == UNIMEM_HUGE_PAGES);
	for (j = 0; j < nr; j++) {
		st->vma = vma;
		st->addr = addr + (j << PAGE_SHIFT);
		dpage = unimem_mig_alloc(st, !spage, npages - i - j);
		if (!dpage) {
			unimem_mig_release(&st->dst[i], j);
			res->nomem += nr;
			return nr;
		}
		if (spage)
			copy_highpage(unimem_backing(dpage),
				      unimem_backing(spage + j));
		st->dst[i + j] = migrate_pfn(page_to_pfn(dpage)) | w;
	}
	return nr;
}

static void unimem_fence(struct unimem_ctx *ctx, unsigned long start,
			 unsigned long end)
{
	mutex_lock(&ctx->lock);
	WRITE_ONCE(ctx->mig_start, start);
	WRITE_ONCE(ctx->mig_end, end);
	unimem_notifiers_bump(ctx, start, end);
	unimem_pt_clear(ctx, start, end);
	mutex_unlock(&ctx->lock);
	WRITE_ONCE(ctx->migrator, current);
}

static void unimem_unfence(struct unimem_ctx *ctx)
{
	WRITE_ONCE(ctx->migrator, NULL);
	mutex_lock(&ctx->lock);
	unimem_notifiers_bump(ctx, ctx->mig_start, ctx->mig_end);
	WRITE_ONCE(ctx->mig_end, 0);
	mutex_unlock(&ctx->lock);
	wake_up_all(&ctx->mig_wq);
}

/*
 * One migrate_vma pass over a batch: the pages of pgmap owner @owner (and
 * system pages and holes with MIGRATE_VMA_SELECT_SYSTEM) go to st->target.
 * Entries that an earlier pass of the batch counted are left alone, and an
 * entry this pass cannot see (not collected, no page: another owner's page,
 * a swap entry, a system page when moving to system) is left for a later
 * pass or for unimem_migrate_batch() to count.  Batch fenced by the caller.
 */
static int unimem_migrate_pass(struct unimem_mig *st,
			       struct vm_area_struct *vma,
			       unsigned long start, unsigned long end,
			       void *owner, unsigned long select)
{
	struct unimem_ctx *ctx = st->ctx;
	struct unimem_migrate *res = st->res;
	unsigned long npages = (end - start) >> PAGE_SHIFT, i;
	unsigned long d2d = 0, todev = 0, tosys = 0, thp = 0;
	unsigned long copied = 0;
	struct migrate_vma args = {
		.vma = vma,
		.start = start,
		.end = end,
		.src = st->src,
		.dst = st->dst,
		.pgmap_owner = owner,
		.flags = select |
			 (unimem_device_thp() ? UNIMEM_SELECT_COMPOUND : 0),
	};
	unsigned long nr;
	int ret;

	ret = migrate_vma_setup(&args);
	if (ret)
		return ret;

	st->npool = 0;
	st->ipool = 0;
	st->handover = READ_ONCE(unimem_storage_handover);
	if (!st->target && unimem_default_policy(vma)) {
		/* one bulk allocation for the pages that will move */
		unsigned long need = 0;

		for (i = 0; i < npages; i++) {
			struct page *sp = migrate_pfn_to_page(st->src[i]);

			if ((st->src[i] & MIGRATE_PFN_MIGRATE) && sp &&
			    !test_bit(i, st->counted) &&
			    !(st->src[i] & UNIMEM_PFN_COMPOUND) &&
			    unimem_is_our_page(sp))
				need++;
		}
		memset(st->pool, 0, need * sizeof(*st->pool));
		/*
		 * Handed over, the pool becomes device storage: off the LRU
		 * for good, so not from movable or CMA pageblocks.  Copied
		 * into, it becomes user memory like any other.
		 */
		st->npool = need ? unimem_alloc_bulk((st->handover ?
						      GFP_HIGHUSER :
						      GFP_HIGHUSER_MOVABLE) |
						     __GFP_NOWARN, need,
						     st->pool) : 0;
		st->ipool = 0;
	}

	memset(st->dst, 0, npages * sizeof(*st->dst));
	for (i = 0; i < npages; i += nr) {
		unsigned long s = st->src[i];
		struct page *spage = migrate_pfn_to_page(s);
		struct page *dpage;
		bool ours = spage && unimem_is_our_page(spage);

		nr = unimem_mig_nr(s, i, npages);
		if (test_bit(i, st->counted))
			continue;	/* an earlier pass's */
		if (!spage && !(s & MIGRATE_PFN_MIGRATE))
			continue;	/* not this pass's to say */
		bitmap_set(st->counted, i, nr);
		if (s & UNIMEM_PFN_COMPOUND) {
			nr = unimem_mig_huge(st, vma, start, i, npages);
			continue;
		}
		if (spage && !ours && !PageAnon(spage)) {
			/* a file page of a private file mapping */
			res->unsupported++;
			continue;
		}
		if (!(s & MIGRATE_PFN_MIGRATE)) {
			if (st->target ? (ours && unimem_page_device(spage) ==
					  st->target) : !ours)
				res->already++;
			else
				res->busy++;
			continue;
		}
		if (!spage) {
			/* never populated */
			if (!st->target ||
			    !(st->flags & UNIMEM_MIGRATE_POPULATE)) {
				res->not_present++;
				continue;
			}
		} else if (st->target ? (ours && unimem_page_device(spage) ==
					 st->target) : !ours) {
			if (ours)	/* see unimem_pt_install() */
				unimem_rmap_update(spage, ctx->umm, start +
						   (i << PAGE_SHIFT));
			res->already++;
			continue;
		}

		if (!st->target && ours && st->handover &&
		    st->ipool < st->npool) {
			/*
			 * Device -> system without a copy: the device page's
			 * storage becomes the system page and the device page
			 * gets fresh storage.  Our extra reference keeps the
			 * storage if the migration of this page fails.
			 */
			dpage = unimem_backing(spage);
			st->repl[i] = st->pool[st->ipool];
			st->pool[st->ipool++] = NULL;
			get_page(dpage);
			lock_page(dpage);
			st->dst[i] = migrate_pfn(page_to_pfn(dpage));
			if (s & MIGRATE_PFN_WRITE)
				st->dst[i] |= MIGRATE_PFN_WRITE;
			continue;
		}
		st->vma = vma;
		st->addr = start + (i << PAGE_SHIFT);
		dpage = unimem_mig_alloc(st, !spage, npages - i);
		if (!dpage) {
			res->nomem++;
			continue;
		}
		if (spage)
			copy_highpage(unimem_backing(dpage),
				      unimem_backing(spage));
		st->dst[i] = migrate_pfn(page_to_pfn(dpage));
		if ((s & MIGRATE_PFN_WRITE) ||
		    (!spage && (vma->vm_flags & VM_WRITE)))
			st->dst[i] |= MIGRATE_PFN_WRITE;
	}

	migrate_vma_pages(&args);
	/* bulk pages not used (raced away) */
	for (; st->ipool < st->npool; st->ipool++)
		if (st->pool[st->ipool])
			__free_page(st->pool[st->ipool]);
	st->npool = 0;
	st->ipool = 0;

	/* a 2 MiB entry still marked compound moved (or failed) whole */
	for (i = 0; i < npages; i += nr) {
		struct page *spage = migrate_pfn_to_page(st->src[i]);

		nr = unimem_mig_nr(st->src[i], i, npages);
		if (!st->dst[i])
			continue;
		if (!(st->src[i] & MIGRATE_PFN_MIGRATE)) {
			if (st->repl[i]) {
				/* storage stays with the device page */
				__free_page(st->repl[i]);
				st->repl[i] = NULL;
			}
			res->busy += nr;
			continue;
		}
		res->moved += nr;
		thp += nr > 1;
		if (st->target)		/* where eviction will find it */
			unimem_rmap_update_range(migrate_pfn_to_page(st->dst[i]),
						 nr, ctx->umm,
						 start + (i << PAGE_SHIFT));
		if (st->repl[i])
			unimem_set_backing(spage, st->repl[i]);
		else if (spage)
			copied += nr;
		if (!st->target) {
			unsigned long j;

			for (j = 0; j < nr; j++)	/* a folio, or its pages */
				if (st->dst[i + j])
					unimem_dirty_from_device(st->dst[i + j]);
			tosys += nr;
		} else if (spage && unimem_is_our_page(spage)) {
			d2d += nr;
		} else {
			todev += nr;
		}
	}

	migrate_vma_finalize(&args);
	for (i = 0; i < npages; i++) {
		if (!st->repl[i])
			continue;
		/* the storage is a user page now: drop the device's ref */
		put_page(migrate_pfn_to_page(st->dst[i]));
		st->repl[i] = NULL;
	}

	unimem_count(ctx, UNIMEM_CNT_THP_MIGRATED, thp);
	unimem_dcount(st->target ? st->target : ctx->udev,
		      UNIMEM_CNT_THP_MIGRATED, thp);
	unimem_count(ctx, UNIMEM_CNT_MIGRATED_TO_DEVICE, todev);
	unimem_count(ctx, UNIMEM_CNT_MIGRATED_TO_SYSTEM, tosys);
	unimem_count(ctx, UNIMEM_CNT_MIGRATED_DEV_TO_DEV, d2d);
	unimem_count(ctx, UNIMEM_CNT_BYTES_COPIED, copied << PAGE_SHIFT);
	if (st->target) {
		unimem_dcount(st->target, UNIMEM_CNT_MIGRATED_TO_DEVICE, todev);
		unimem_dcount(st->target, UNIMEM_CNT_MIGRATED_DEV_TO_DEV, d2d);
		unimem_dcount(st->target, UNIMEM_CNT_BYTES_COPIED,
			      copied << PAGE_SHIFT);
	} else {
		unimem_dcount(ctx->udev, UNIMEM_CNT_MIGRATED_TO_SYSTEM, tosys);
		unimem_dcount(ctx->udev, UNIMEM_CNT_BYTES_COPIED,
			      copied << PAGE_SHIFT);
	}
	return 0;
}

/*
 * Migrate the batch [start, end) of @vma to st->target, counting every page
 * once in st->res.  Each device is its own pgmap owner (unless peer_access),
 * and migrate_vma collects one owner's device pages per pass: a pass for
 * the target's owner with system pages and holes, then one per other device
 * with pages in use, which copies them straight to the target.  What no
 * pass could see is counted last.
 */
static int unimem_migrate_batch(struct unimem_mig *st,
				struct vm_area_struct *vma,
				unsigned long start, unsigned long end)
{
	struct unimem_migrate *res = st->res;
	unsigned long npages = (end - start) >> PAGE_SHIFT, i;
	unsigned long devsel = MIGRATE_VMA_SELECT_DEVICE_PRIVATE;
	unsigned int d;
	int ret = 0;

	/*
	 * Evicted pages of this request up to here are counted; this batch's
	 * own range is left alone (its pages are locked during the batch, and
	 * a retry must not evict what the previous attempt moved).
	 */
	st->self.end = start;
	st->self.keep_end = end;
	st->evict_futile = false;
	bitmap_zero(st->counted, npages);

	unimem_fence(st->ctx, start, end);
	if (unimem_peer_access) {
		ret = unimem_migrate_pass(st, vma, start, end, &unimem_owner,
					  devsel | (st->target ?
						    MIGRATE_VMA_SELECT_SYSTEM :
						    0));
		goto out;
	}
	if (st->target) {
		ret = unimem_migrate_pass(st, vma, start, end,
					  st->target->owner,
					  devsel | MIGRATE_VMA_SELECT_SYSTEM);
		if (ret)
			goto out;
	}
	for (d = 0; d < unimem_ndevices; d++) {
		struct unimem_device *udev = unimem_devices[d];

		if (udev == st->target || !unimem_dev_in_use(udev) ||
		    bitmap_full(st->counted, npages))
			continue;
		ret = unimem_migrate_pass(st, vma, start, end, udev->owner,
					  devsel);
		if (ret)
			goto out;
	}
out:
	unimem_unfence(st->ctx);
	if (ret)
		return ret;
	for_each_clear_bit(i, st->counted, npages) {
		if (st->target && !vma_is_anonymous(vma))
			res->not_present++;	/* private file: not faulted in */
		else if (st->target)
			res->busy++;		/* a swap or foreign entry */
		else
			res->already++;		/* system memory, swap, foreign */
	}
	return 0;
}

/*
 * The retry of the batch [@start, st->bend) for its st->left pages that
 * found no room, mmap lock held.  The lock was dropped for the eviction
 * before it, so the address space may have changed: the retry walks the
 * VMAs now in the range and skips what is no longer a supported mapping.
 * Each page keeps the one count its first attempt gave it; only pages that
 * move now go from "nomem" to "moved".  Return 0 when the batch is done,
 * -EAGAIN to evict and retry again, or a negative errno.
 */
static int unimem_migrate_retry(struct unimem_mig *st, unsigned long start)
{
	struct mm_struct *mm = st->ctx->notifier.mm;
	struct unimem_migrate *res = st->res, r2 = { 0 };
	unsigned long addr = start, vend;
	struct vm_area_struct *vma;
	u64 moved;
	int ret = 0;

	st->res = &r2;
	st->evict_busy = false;
	while (addr < st->bend) {
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start >= st->bend)
			break;
		addr = max(addr, vma->vm_start);
		vend = min(vma->vm_end, st->bend);
		if (unimem_vma_supported(vma)) {
			ret = unimem_migrate_batch(st, vma, addr, vend);
			if (ret)
				break;
		}
		addr = vend;
	}
	st->res = res;
	/* the next eviction leaves the whole batch alone again */
	st->self.end = start;
	st->self.keep_end = st->bend;
	if (ret)
		return ret;
	moved = min(r2.moved, st->left);
	res->moved += moved;
	res->nomem -= moved;
	st->left -= moved;
	st->tries++;
	return st->left && st->tries < 8 ? -EAGAIN : 0;
}

/*
 * One step of the walk, mmap lock held: account the unmapped and
 * unsupported parts before the next batch at *@next and run that batch, or
 * its retry.  Return 0 with *@next advanced, -EAGAIN when the target needs
 * room first (st->want pages, to be evicted with the mmap lock dropped), or
 * a negative errno that stops the walk.
 */
static int unimem_migrate_step(struct unimem_mig *st, unsigned long *next,
			       unsigned long end, unsigned long batch)
{
	struct mm_struct *mm = st->ctx->notifier.mm;
	struct unimem_migrate *res = st->res;
	unsigned long addr = *next, vend, bend;
	struct vm_area_struct *vma;
	u64 nomem0;
	int ret;

	if (st->left) {
		ret = unimem_migrate_retry(st, addr);
		if (!ret)
			goto done;
		if (ret == -EAGAIN)
			st->want = st->left;
		return ret;
	}
	for (;;) {
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start >= end) {
			res->unmapped += (end - addr) >> PAGE_SHIFT;
			*next = end;
			return 0;
		}
		if (vma->vm_start > addr) {
			res->unmapped += (vma->vm_start - addr) >> PAGE_SHIFT;
			addr = vma->vm_start;
		}
		vend = min(end, vma->vm_end);
		if (unimem_vma_supported(vma))
			break;
		res->unsupported += (vend - addr) >> PAGE_SHIFT;
		addr = vend;
		if (addr >= end) {
			*next = end;
			return 0;
		}
	}
	if (addr != *next) {	/* a new batch */
		*next = addr;
		st->room_made = false;
	}
	bend = min(vend, addr + (batch << PAGE_SHIFT));
	/* whole 2 MiB folios: batches end on 2 MiB */
	if (unimem_device_thp() && bend < vend &&
	    ALIGN_DOWN(bend, UNIMEM_HUGE_SIZE) > addr)
		bend = ALIGN_DOWN(bend, UNIMEM_HUGE_SIZE);

	if (st->target && !st->room_made &&
	    unimem_nfree(st->target) < (bend - addr) >> PAGE_SHIFT) {
		st->self.end = addr;
		st->self.keep_end = bend;
		st->room_made = true;
		st->want = (bend - addr) >> PAGE_SHIFT;
		return -EAGAIN;
	}
	st->evict_busy = false;
	nomem0 = res->nomem;
	ret = unimem_migrate_batch(st, vma, addr, bend);
	if (ret)
		return ret;
	st->bend = bend;
	st->left = res->nomem - nomem0;
	st->tries = 0;
	/* pages that found no room: evict (unlocked) and retry */
	if (st->target && st->left) {
		st->want = st->left;
		return -EAGAIN;
	}
done:
	st->left = 0;
	st->room_made = false;
	*next = st->bend;
	return 0;
}

/**
 * unimem_migrate() - UNIMEM_IOCTL_MIGRATE on a validated request
 * @ctx: context; current->mm is its mm
 * @m: request; the out counters are filled in
 *
 * Return: 0 (also on partial success, see the counters) or a negative
 * errno for a failure that stopped the walk.
 */
int unimem_migrate(struct unimem_ctx *ctx, struct unimem_migrate *m)
{
	struct mm_struct *mm = ctx->notifier.mm;
	unsigned long addr = m->addr, end = m->addr + m->length;
	unsigned long batch = min_t(unsigned long, UNIMEM_MIGRATE_BATCH,
				    m->length >> PAGE_SHIFT);
	struct unimem_mig st = {
		.ctx = ctx,
		.flags = m->flags,
		.res = m,
		.self = { .start = m->addr, .end = m->addr,
			  .keep_end = m->addr, .evicted = &m->evicted },
	};
	int ret = 0;

	if (m->target != UNIMEM_TARGET_SYSTEM) {
		st.target = unimem_devices[m->target];
		/* a batch holds its destination pages locked: leave room */
		batch = clamp(st.target->npages / 4, 1UL, batch);
	}
	st.src = kvmalloc_array(batch, sizeof(*st.src), GFP_KERNEL_ACCOUNT);
	st.dst = kvmalloc_array(batch, sizeof(*st.dst), GFP_KERNEL_ACCOUNT);
	st.pool = kvmalloc_array(batch, sizeof(*st.pool), GFP_KERNEL_ACCOUNT);
	st.repl = kvcalloc(batch, sizeof(*st.repl), GFP_KERNEL_ACCOUNT);
	st.counted = bitmap_zalloc(batch, GFP_KERNEL_ACCOUNT);
	if (!st.src || !st.dst || !st.pool || !st.repl || !st.counted) {
		ret = -ENOMEM;
		goto out_free;
	}

	if (mutex_lock_killable(&ctx->migrate_lock)) {
		ret = -EINTR;
		goto out_free;
	}
	while (addr < end) {
		if (mmap_read_lock_killable(mm)) {
			ret = -EINTR;
			break;
		}
		ret = unimem_migrate_step(&st, &addr, end, batch);
		mmap_read_unlock(mm);
		if (ret == -EAGAIN) {
			long n = unimem_evict(st.target, st.want, ctx,
					      &st.self, false);

			ret = 0;
			if (n == -EINTR) {
				ret = -EINTR;
				break;
			}
			/* a retry found room taken by others meanwhile */
			if (st.left && !st.evict_busy)
				schedule_timeout_killable(1);
		}
		if (ret)
			break;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	mutex_unlock(&ctx->migrate_lock);
out_free:
	bitmap_free(st.counted);
	kvfree(st.repl);
	kvfree(st.pool);
	kvfree(st.src);
	kvfree(st.dst);
	return ret;
}

/**
 * unimem_migrate_to_ram() - dev_pagemap_ops.migrate_to_ram
 * @vmf: the CPU fault on a unimem device page
 *
 * Return: 0 (the fault is retried by the core mm), VM_FAULT_OOM or
 * VM_FAULT_SIGBUS.
 */
vm_fault_t unimem_migrate_to_ram(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct unimem_device *udev = unimem_page_device(vmf->page);
	unsigned long wsize = (unsigned long)unimem_fault_window << PAGE_SHIFT;
	unsigned long fault_addr = ALIGN_DOWN(vmf->address, PAGE_SIZE);
	unsigned long one_src, one_dst, *src, *dst, npages, i, j, nr, moved = 0;
	unsigned long need = 0, used = 0, got = 0, copied = 0;
	struct page *one_pool, *one_repl = NULL, **pool, **repl;
	struct migrate_vma args = {
		.vma = vma,
		.pgmap_owner = udev->owner,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE |
			 (unimem_device_thp() ? UNIMEM_SELECT_COMPOUND : 0),
		.fault_page = vmf->page,
	};
	bool handover = READ_ONCE(unimem_storage_handover);
	vm_fault_t ret = 0;

	/*
	 * No module reference is needed: do_swap_page() holds a reference on
	 * the faulting device page across this call, so memunmap_pages() in
	 * module exit cannot complete before we return.
	 */
	args.start = max(vma->vm_start, ALIGN_DOWN(fault_addr, wsize));
	args.end = min(vma->vm_end, ALIGN_DOWN(fault_addr, wsize) + wsize);
	/* managed memory: exactly the granularity block of the fault */
	unimem_policy_cpu_fault_window(vma, fault_addr, &args.start, &args.end);
	/*
	 * A page of a large device folio mapped by PTEs (its PMD was split:
	 * mprotect, partial munmap, mremap, fork) comes back alone, as in
	 * test_hmm.  The collection splits that folio and moves the caller's
	 * lock and reference to the faulting page's new folio, but (6.19 to
	 * 7.3) goes on treating the old folio, now the first page alone and
	 * unlocked, as the fault's: that page in the range would be migrated
	 * without its lock and unlocked twice.  With one page the collection
	 * splits the folio and skips the faulting page (unless it is the
	 * first); the retried fault then finds small pages and the usual
	 * window.  A PMD-mapped folio needs nothing: vmf->page is its head.
	 */
	if (vmf->pte && folio_test_large(page_folio(vmf->page))) {
		args.start = fault_addr;
		args.end = fault_addr + PAGE_SIZE;
	}
	npages = (args.end - args.start) >> PAGE_SHIFT;
	src = kmalloc_array(npages, sizeof(*src), GFP_KERNEL | __GFP_NOWARN);
	dst = kmalloc_array(npages, sizeof(*dst), GFP_KERNEL | __GFP_NOWARN);
	pool = kmalloc_array(npages, sizeof(*pool), GFP_KERNEL | __GFP_NOWARN);
	repl = kcalloc(npages, sizeof(*repl), GFP_KERNEL | __GFP_NOWARN);
	if (!src || !dst || !pool || !repl) {
		kfree(src);
		kfree(dst);
		kfree(pool);
		kfree(repl);
		src = &one_src;
		dst = &one_dst;
		pool = &one_pool;
		repl = &one_repl;
		args.start = fault_addr;
		args.end = fault_addr + PAGE_SIZE;
		npages = 1;
	}
	args.src = src;
	args.dst = dst;

	if (migrate_vma_setup(&args)) {
		ret = VM_FAULT_SIGBUS;
		unimem_dcount(udev, UNIMEM_CNT_SIGBUS, 1);
		goto out;
	}

	/*
	 * With the default memory policy, take the pages from one bulk
	 * allocation: copy into them, or (storage_handover) hand each device
	 * page's storage to the process and give the device the new page as
	 * storage.  Under an explicit policy, allocate every page with
	 * alloc_page_vma() so it lands where the policy says, and copy.
	 */
	if (npages > 1 && unimem_default_policy(vma)) {
		for (i = 0; i < npages; i++) {
			struct page *spage = migrate_pfn_to_page(src[i]);

			if (spage && (src[i] & MIGRATE_PFN_MIGRATE) &&
			    !(src[i] & UNIMEM_PFN_COMPOUND) &&
			    unimem_is_our_page(spage))
				need++;
		}
		memset(pool, 0, need * sizeof(*pool));
		if (need)	/* handed over: storage, off the LRU */
			got = unimem_alloc_bulk((handover ? GFP_HIGHUSER :
						 GFP_HIGHUSER_MOVABLE) |
						__GFP_NOWARN | __GFP_NORETRY,
						need, pool);
	}

	memset(dst, 0, npages * sizeof(*dst));
	for (i = 0; i < npages; i++) {
		struct page *spage = migrate_pfn_to_page(src[i]);
		bool is_fault = args.start + (i << PAGE_SHIFT) == fault_addr;
		struct page *dpage = NULL;

		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE) ||
		    !unimem_is_our_page(spage))
			continue;
		if (src[i] & UNIMEM_PFN_COMPOUND) {
			/* a 2 MiB device folio: back as a THP if we can */
			unsigned long addr = args.start + (i << PAGE_SHIFT);
			unsigned long j;

			nr = unimem_mig_nr(src[i], i, npages);
			dpage = nr == UNIMEM_HUGE_PAGES ?
				unimem_alloc_system_huge(vma, addr, 0) : NULL;
			if (dpage) {
				unimem_copy_pages(dpage, spage, nr);
				dst[i] = migrate_pfn(page_to_pfn(dpage)) |
					 UNIMEM_PFN_COMPOUND |
					 (src[i] & MIGRATE_PFN_WRITE);
				i += nr - 1;
				continue;
			}
			/*
			 * Else 4 KiB pages (the core splits the device
			 * folio), all or none.
			 */
			unimem_dcount(udev, UNIMEM_CNT_THP_FALLBACK, 1);
			for (j = 0; j < nr; j++, addr += PAGE_SIZE) {
				dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE,
						       vma, addr);
				if (!dpage)
					break;
				lock_page(dpage);
				copy_highpage(dpage, unimem_backing(spage + j));
				dst[i + j] = migrate_pfn(page_to_pfn(dpage)) |
					     (src[i] & MIGRATE_PFN_WRITE);
			}
			if (j < nr) {
				unimem_mig_release(&dst[i], j);
				if (fault_addr >= args.start +
				    (i << PAGE_SHIFT) &&
				    fault_addr < args.start +
				    ((i + nr) << PAGE_SHIFT))
					ret = VM_FAULT_OOM;
			}
			i += nr - 1;
			continue;
		}
		if (used < got && pool[used] && handover) {
			/* see unimem_migrate_batch(): storage hand-over */
			dpage = unimem_backing(spage);
			repl[i] = pool[used];
			pool[used++] = NULL;
			get_page(dpage);
			lock_page(dpage);
		} else if (used < got && pool[used]) {
			dpage = pool[used];
			pool[used++] = NULL;
			lock_page(dpage);
			copy_highpage(dpage, unimem_backing(spage));
		} else {
			dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE |
					       (is_fault ? 0 : __GFP_NOWARN |
						__GFP_NORETRY),
					       vma,
					       args.start + (i << PAGE_SHIFT));
			if (!dpage) {
				if (is_fault)
					ret = VM_FAULT_OOM;
				continue;
			}
			lock_page(dpage);
			copy_highpage(dpage, unimem_backing(spage));
		}
		dst[i] = migrate_pfn(page_to_pfn(dpage));
		if (src[i] & MIGRATE_PFN_WRITE)
			dst[i] |= MIGRATE_PFN_WRITE;
	}
	migrate_vma_pages(&args);
	for (; used < got; used++)
		if (pool[used])
			__free_page(pool[used]);
	for (i = 0; i < npages; i += nr) {
		nr = unimem_mig_nr(src[i], i, npages);
		if (!dst[i])
			continue;
		if (!(src[i] & MIGRATE_PFN_MIGRATE)) {
			if (repl[i]) {
				__free_page(repl[i]);
				repl[i] = NULL;
			}
			continue;
		}
		moved += nr;
		for (j = 0; j < nr; j++)	/* a folio, or its pages */
			if (dst[i + j])
				unimem_dirty_from_device(dst[i + j]);
		if (nr > 1)
			unimem_dcount(udev, UNIMEM_CNT_THP_MIGRATED, 1);
		if (repl[i])
			unimem_set_backing(migrate_pfn_to_page(src[i]), repl[i]);
		else
			copied += nr;
	}
	migrate_vma_finalize(&args);
	for (i = 0; i < npages; i++)
		if (repl[i])
			put_page(migrate_pfn_to_page(dst[i]));

	unimem_count_cpu_fault(vma->vm_mm, udev, moved);
	unimem_policy_cpu_fault_done(vma, udev, args.start, moved);
	unimem_dcount(udev, UNIMEM_CNT_BYTES_COPIED, copied << PAGE_SHIFT);
out:
	if (src != &one_src) {
		kfree(src);
		kfree(dst);
		kfree(pool);
		kfree(repl);
	}
	return ret;
}
