// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem: where each device page is mapped, for eviction.
 *
 * DOC: Device page reverse map
 *
 * Eviction must move device pages back to system memory while the
 * processes that map them go on running.  The kernel's
 * migrate_device_range() does that by pfn alone, but then restores the
 * mappings with remove_migration_ptes(), which walks the page's anon_vma:
 * it is only safe while the caller holds a reference on the anon_vma or
 * the mmap lock of an mm whose VMA links it, and a module can do neither
 * for a page it knows only by pfn.  A process that unmaps the VMA in
 * between frees the anon_vma under the walk.
 *
 * So unimem evicts by address, as amdkfd does: each device page records
 * one (mm, address) at which it is mapped, and eviction migrates it with
 * migrate_vma_*() on that address under that mm's mmap lock.  Holding
 * that lock keeps the VMA, hence its anon_vma, alive for the whole
 * migration, including the restore of other processes' mappings of the
 * same page (a fork child's copy-on-write share).
 *
 * A record is written when a page is migrated to a device and rewritten
 * whenever a device of that mm sees the page at an address again (a device
 * fault or a migration over it), so it follows mremap() and fork() once
 * the page is used.  Eviction also finds a page that mremap() moved within
 * its mm before any device saw it again, from its linear page index (see
 * unimem_evict_relocate()).  A record whose mapping went away (the page now lives
 * only in a fork child that no device touched) makes eviction find
 * nothing at that address: the page stays until it is freed or used, but
 * is never moved unsafely.
 *
 * The mm of a record is held by a struct unimem_mm, shared by the open
 * contexts of that mm and by its recorded pages, so pages stay evictable
 * after their process closed every unimem file.  It holds the mm_struct
 * (mmgrab), not the address space: an exited process's pages are freed by
 * its exit, and eviction skips an mm with no users.
 */
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "unimem_internal.h"

static LIST_HEAD(unimem_mms);
static DEFINE_MUTEX(unimem_mms_lock);	/* protects unimem_mms */
static struct workqueue_struct *unimem_wq;

static void unimem_mm_free_work(struct work_struct *work)
{
	struct unimem_mm *umm = container_of(work, struct unimem_mm,
					     free_work);

	mutex_lock(&unimem_mms_lock);
	list_del(&umm->node);
	mutex_unlock(&unimem_mms_lock);
	mmdrop(umm->mm);
	kfree(umm);
}

/**
 * unimem_mm_get() - the struct unimem_mm of @mm, with a new reference
 * @mm: an mm with users (current->mm of an opener)
 *
 * Return: the object, or NULL when out of memory.
 */
struct unimem_mm *unimem_mm_get(struct mm_struct *mm)
{
	struct unimem_mm *umm;

	mutex_lock(&unimem_mms_lock);
	list_for_each_entry(umm, &unimem_mms, node) {
		/* one whose last reference is gone is being freed */
		if (umm->mm == mm && atomic_long_inc_not_zero(&umm->refs))
			goto out;
	}
	umm = kzalloc(sizeof(*umm), GFP_KERNEL_ACCOUNT);
	if (umm) {
		mmgrab(mm);
		umm->mm = mm;
		atomic_long_set(&umm->refs, 1);
		INIT_WORK(&umm->free_work, unimem_mm_free_work);
		list_add(&umm->node, &unimem_mms);
	}
out:
	mutex_unlock(&unimem_mms_lock);
	return umm;
}

/**
 * unimem_mm_put() - drop references on a struct unimem_mm
 * @umm: the object
 * @refs: number of references to drop
 *
 * May be called in atomic context (a device page is freed under a page
 * table lock): the last reference frees the object from a work item.
 */
void unimem_mm_put(struct unimem_mm *umm, unsigned long refs)
{
	if (atomic_long_sub_and_test(refs, &umm->refs))
		queue_work(unimem_wq, &umm->free_work);
}

static struct unimem_rmap *unimem_page_rmap(struct page *page)
{
	struct unimem_chunk *chunk = unimem_page_chunk(page);

	return &chunk->rmap[page_to_pfn(page) - chunk->pfn_first];
}

/**
 * unimem_rmap_update() - record that @page is mapped at @addr in @umm
 * @page: a unimem device page that cannot be freed meanwhile (locked for
 *        migration, or mirrored under its context's lock)
 * @umm: the mm it is mapped in
 * @addr: the address
 */
void unimem_rmap_update(struct page *page, struct unimem_mm *umm,
			unsigned long addr)
{
	struct unimem_device *udev = unimem_page_device(page);
	struct unimem_rmap *r = unimem_page_rmap(page);
	struct unimem_mm *old;

	/* the common case: nothing moved */
	if (READ_ONCE(r->umm) == umm && READ_ONCE(r->addr) == addr)
		return;
	atomic_long_inc(&umm->refs);
	spin_lock(&udev->free_lock);
	old = r->umm;
	WRITE_ONCE(r->umm, umm);
	WRITE_ONCE(r->addr, addr);
	spin_unlock(&udev->free_lock);
	if (old)
		unimem_mm_put(old, 1);
}

/**
 * unimem_rmap_update_range() - record the pages of a device folio
 * @page: first page of @n consecutive unimem device pages of one chunk
 *        that cannot be freed meanwhile (a 2 MiB device folio, locked for
 *        migration, or mirrored under its context's lock)
 * @n: number of pages
 * @umm: the mm they are mapped in
 * @addr: address of @page; the others follow it
 *
 * Every page keeps its own record, so a split of the folio (partial
 * munmap, mprotect, fork) leaves each page evictable where it is.
 */
void unimem_rmap_update_range(struct page *page, unsigned long n,
			      struct unimem_mm *umm, unsigned long addr)
{
	struct unimem_device *udev = unimem_page_device(page);
	struct unimem_rmap *r = unimem_page_rmap(page);
	struct unimem_mm *prev = NULL;
	unsigned long i, nprev = 0;

	if (READ_ONCE(r[0].umm) == umm && READ_ONCE(r[0].addr) == addr &&
	    READ_ONCE(r[n - 1].umm) == umm &&
	    READ_ONCE(r[n - 1].addr) == addr + ((n - 1) << PAGE_SHIFT))
		return;
	atomic_long_add(n, &umm->refs);
	spin_lock(&udev->free_lock);
	for (i = 0; i < n; i++) {
		struct unimem_mm *old = r[i].umm;

		WRITE_ONCE(r[i].umm, umm);
		WRITE_ONCE(r[i].addr, addr + (i << PAGE_SHIFT));
		if (old != prev) {
			/* the last reference only queues work: fine here */
			if (nprev)
				unimem_mm_put(prev, nprev);
			prev = old;
			nprev = 0;
		}
		nprev += !!old;
	}
	spin_unlock(&udev->free_lock);
	if (nprev)
		unimem_mm_put(prev, nprev);
}

/**
 * unimem_rmap_clear() - forget the mapping of a page being freed
 * @page: the device page
 *
 * Called with its device's free_lock held.
 *
 * Return: the struct unimem_mm whose reference the caller must drop once
 * the lock is released, or NULL.
 */
struct unimem_mm *unimem_rmap_clear(struct page *page)
{
	struct unimem_rmap *r = unimem_page_rmap(page);
	struct unimem_mm *old = r->umm;

	lockdep_assert_held(&unimem_page_device(page)->free_lock);
	WRITE_ONCE(r->umm, NULL);
	WRITE_ONCE(r->addr, 0);
	return old;
}

/**
 * unimem_rmap_snapshot() - the recorded mappings of part of a chunk
 * @chunk: the chunk
 * @off: first page (index in the chunk)
 * @n: number of pages
 * @out: filled with one entry per page in use with a record, each holding
 *       a reference on its struct unimem_mm (drop with unimem_mm_put())
 *       and naming the page (not referenced)
 *
 * Return: number of entries in @out.
 */
unsigned long unimem_rmap_snapshot(struct unimem_chunk *chunk,
				   unsigned long off, unsigned long n,
				   struct unimem_rmap_ent *out)
{
	struct unimem_device *udev = chunk->udev;
	unsigned long i, k = 0;

	spin_lock(&udev->free_lock);
	for (i = off; i < off + n; i++) {
		struct unimem_rmap *r = &chunk->rmap[i];

		if (!r->umm)
			continue;
		atomic_long_inc(&r->umm->refs);
		out[k].umm = r->umm;
		out[k].addr = r->addr;
		out[k++].page = pfn_to_page(chunk->pfn_first + i);
	}
	spin_unlock(&udev->free_lock);
	return k;
}

/**
 * unimem_rmap_init() - module init: the work queue that frees mm records
 *
 * Return: 0 or -ENOMEM.
 */
int unimem_rmap_init(void)
{
	unimem_wq = alloc_workqueue("unimem", WQ_UNBOUND, 0);
	return unimem_wq ? 0 : -ENOMEM;
}

/**
 * unimem_rmap_fini() - module exit, once no context nor device page is left
 */
void unimem_rmap_fini(void)
{
	destroy_workqueue(unimem_wq);	/* runs pending frees first */
	WARN_ON(!list_empty(&unimem_mms));
}
