// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem: device-private memory of the virtual accelerators.
 *
 * Each device owns mem_mib of MEMORY_DEVICE_PRIVATE struct pages, created by
 * memremap_pages() over ranges from request_free_mem_region() in chunks of at
 * most UNIMEM_CHUNK_MAX.  Behind every device page sits one driver-allocated
 * system page, the device's "VRAM": the CPU never maps it, only the device
 * engine and the migration copy code touch it.
 *
 * Free pages are kept per 2 MiB block (a bitmap each): blocks with every
 * page free are on @free_huge, where 2 MiB device folios come from; 4 KiB
 * pages come from partly used blocks (@free_partial) first, and a block
 * whose pages are all freed again goes back to @free_huge.
 */
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

#include "unimem_internal.h"

/**
 * unimem_is_our_page() - is @page device-private memory of a unimem device
 * @page: any page
 *
 * Return: true for a unimem device page.
 */
bool unimem_is_our_page(struct page *page)
{
	return is_device_private_page(page) &&
	       unimem_page_pgmap(page)->ops == &unimem_devmem_ops;
}

/**
 * unimem_page_device() - device that owns a unimem device page
 * @page: a page for which unimem_is_our_page() is true
 *
 * Return: the owning device.
 */
struct unimem_device *unimem_page_device(struct page *page)
{
	return unimem_page_chunk(page)->udev;
}

/**
 * unimem_backing() - storage behind a device page
 * @page: a unimem device page, or a system page (returned unchanged)
 *
 * Return: the page whose contents are the data of @page.
 */
struct page *unimem_backing(struct page *page)
{
	struct unimem_chunk *chunk;

	if (!unimem_is_our_page(page))
		return page;
	chunk = unimem_page_chunk(page);
	return chunk->backing[page_to_pfn(page) - chunk->pfn_first];
}

/**
 * unimem_copy_pages() - copy @nr pages of data, device or system on either side
 * @dst: first destination page (a device page's storage is written)
 * @src: first source page (a device page's storage is read)
 * @nr: pages, consecutive on both sides (the pages of a folio)
 */
void unimem_copy_pages(struct page *dst, struct page *src, unsigned long nr)
{
	unsigned long j;

	for (j = 0; j < nr; j++)
		copy_highpage(unimem_backing(dst + j), unimem_backing(src + j));
}

/**
 * unimem_set_backing() - give a device page new storage
 * @page: a unimem device page being migrated away (locked, unmapped)
 * @storage: the new storage page; the old one now belongs to the caller
 */
void unimem_set_backing(struct page *page, struct page *storage)
{
	struct unimem_chunk *chunk = unimem_page_chunk(page);

	WRITE_ONCE(chunk->backing[page_to_pfn(page) - chunk->pfn_first],
		   storage);
}

/**
 * unimem_page_touch() - mark a device page recently used for the CLOCK
 * @page: a unimem device page
 */
void unimem_page_touch(struct page *page)
{
	struct unimem_chunk *chunk = unimem_page_chunk(page);
	unsigned long off = page_to_pfn(page) - chunk->pfn_first;

	if (!test_bit(off / UNIMEM_WINDOW_PAGES, chunk->referenced))
		set_bit(off / UNIMEM_WINDOW_PAGES, chunk->referenced);
}

/**
 * unimem_nfree() - number of free pages of @udev
 * @udev: the device
 *
 * Return: the number of free device pages (a snapshot).
 */
unsigned long unimem_nfree(struct unimem_device *udev)
{
	return READ_ONCE(udev->nfree);
}

static struct unimem_block *unimem_page_block(struct page *page)
{
	struct unimem_chunk *chunk = unimem_page_chunk(page);

	return &chunk->blocks[(page_to_pfn(page) - chunk->pfn_first) /
			      UNIMEM_WINDOW_PAGES];
}

/* Take one free page, from a partly used block first; free_lock held. */
static struct page *unimem_take_page(struct unimem_device *udev)
{
	struct unimem_block *b;
	unsigned long i;

	b = list_first_entry_or_null(&udev->free_partial, struct unimem_block,
				     node);
	if (!b) {
		b = list_first_entry_or_null(&udev->free_huge,
					     struct unimem_block, node);
		if (!b)
			return NULL;
		list_move(&b->node, &udev->free_partial);
		udev->nfree_huge--;
	}
	i = find_first_bit(b->free, UNIMEM_WINDOW_PAGES);
	__clear_bit(i, b->free);
	if (!--b->nfree)
		list_del_init(&b->node);
	udev->nfree--;
	return pfn_to_page(b->pfn + i);
}

/* Return @n pages from @page on to their block; free_lock held. */
static void unimem_put_pages(struct unimem_device *udev, struct page *page,
			     unsigned long n)
{
	struct unimem_block *b = unimem_page_block(page);
	unsigned long i = page_to_pfn(page) - b->pfn;

	if (WARN_ON_ONCE(i + n > UNIMEM_WINDOW_PAGES ||
			 b->nfree + n > UNIMEM_WINDOW_PAGES))
		return;
	bitmap_set(b->free, i, n);
	if (!b->nfree)
		list_add(&b->node, &udev->free_partial);
	b->nfree += n;
	udev->nfree += n;
	if (b->nfree == UNIMEM_WINDOW_PAGES) {
		/* whole again: a 2 MiB folio can have it */
		list_move_tail(&b->node, &udev->free_huge);
		udev->nfree_huge++;
	}
}

/**
 * unimem_alloc_page() - allocate one device page
 * @udev: the device
 * @zero: clear its storage (the page will not be fully overwritten)
 *
 * The page is returned locked with one reference, as migrate_vma_pages()
 * expects of a destination page.  Pages are zeroed when they are not the
 * destination of a full-page copy, so no data of a previous user survives.
 *
 * Return: the page, or NULL when the device is full or going away.
 */
struct page *unimem_alloc_page(struct unimem_device *udev, bool zero)
{
	struct page *page = NULL;

	spin_lock(&udev->free_lock);
	if (!udev->removing)
		page = unimem_take_page(udev);
	spin_unlock(&udev->free_lock);
	if (!page)
		return NULL;
	if (zero)
		clear_highpage(unimem_backing(page));
	unimem_zone_device_folio_init(page, unimem_page_pgmap(page), 0);
	unimem_page_touch(page);
	return page;
}

/**
 * unimem_alloc_huge() - allocate one 2 MiB device folio
 * @udev: the device
 * @zero: clear its storage (it will not be fully overwritten)
 *
 * Takes a whole free block (never evicts: a caller falls back to 4 KiB
 * pages, which do).  Each page of the folio keeps its own storage page.
 *
 * Return: the head page of the folio, locked with one reference, or NULL
 * when no block is free, the device is going away, or the kernel has no
 * device-private THP.
 */
struct page *unimem_alloc_huge(struct unimem_device *udev, bool zero)
{
	struct unimem_block *b = NULL;
	struct page *page;
	unsigned long i;

	if (!unimem_device_thp())
		return NULL;
	spin_lock(&udev->free_lock);
	if (!udev->removing)
		b = list_first_entry_or_null(&udev->free_huge,
					     struct unimem_block, node);
	if (b) {
		list_del_init(&b->node);
		bitmap_zero(b->free, UNIMEM_WINDOW_PAGES);
		b->nfree = 0;
		udev->nfree -= UNIMEM_WINDOW_PAGES;
		udev->nfree_huge--;
	}
	spin_unlock(&udev->free_lock);
	if (!b)
		return NULL;
	page = pfn_to_page(b->pfn);
	if (zero)
		for (i = 0; i < UNIMEM_WINDOW_PAGES; i++)
			clear_highpage(unimem_backing(page + i));
	unimem_zone_device_folio_init(page, unimem_page_pgmap(page),
				      UNIMEM_THP_ORDER);
	unimem_page_touch(page);
	return page;
}

/**
 * unimem_alloc_system_huge() - a system THP for device -> system migration
 * @vma: the VMA it will be mapped in (for NUMA policy)
 * @addr: its address, 2 MiB aligned
 * @gfp: extra allocation flags
 *
 * Light allocation (no compaction stall): the caller falls back to 4 KiB
 * pages.
 *
 * Return: the head page, locked, or NULL.
 */
struct page *unimem_alloc_system_huge(struct vm_area_struct *vma,
				      unsigned long addr, gfp_t gfp)
{
#ifdef UNIMEM_DEVICE_THP
	struct folio *folio;

	if (!unimem_device_thp())
		return NULL;
	folio = vma_alloc_folio(GFP_TRANSHUGE_LIGHT | __GFP_NOWARN | gfp,
				HPAGE_PMD_ORDER, vma, addr);
	if (!folio)
		return NULL;
	folio_lock(folio);
	return &folio->page;
#else
	return NULL;
#endif
}

/*
 * dev_pagemap_ops free callback: a device folio of @order (0, or a 2 MiB
 * folio) lost its last reference.  Forget where its pages were mapped and
 * put them back on the free lists.
 */
static void unimem_devmem_page_free(struct page *page, unsigned int order)
{
	struct unimem_device *udev = unimem_page_device(page);
	unsigned long i, n = 1UL << order;
	struct unimem_mm *umm;

	spin_lock(&udev->free_lock);
	for (i = 0; i < n; i++) {
		umm = unimem_rmap_clear(page + i);
		/* the last reference only queues work: fine here */
		if (umm)
			unimem_mm_put(umm, 1);
	}
	unimem_put_pages(udev, page, n);
	spin_unlock(&udev->free_lock);
}

UNIMEM_DEFINE_PGMAP_FREE(unimem_devmem_free, unimem_devmem_page_free)

#ifdef UNIMEM_DEVICE_THP
/**
 * unimem_devmem_folio_split() - dev_pagemap_ops.folio_split
 * @head: a 2 MiB device folio being split by the core mm (partial munmap,
 *        mprotect, a migration that falls back to 4 KiB pages)
 * @tail: one of the new folios, or NULL once all are done
 *
 * Each new folio gets what the core would give it without this callback
 * (its pgmap and mapping).  The driver's own per-page state needs nothing:
 * storage (@backing) and the recorded mapping (@rmap) are kept per page,
 * by pfn, so they stay right for every piece; the pieces go back to the
 * free lists one by one (a block becomes whole again when all have).
 */
static void unimem_devmem_folio_split(struct folio *head, struct folio *tail)
{
	if (!tail)
		return;
	tail->pgmap = head->pgmap;
	tail->page.mapping = head->page.mapping;
}
#endif

const struct dev_pagemap_ops unimem_devmem_ops = {
	UNIMEM_PGMAP_FREE_OP(unimem_devmem_free),
	.migrate_to_ram	= unimem_migrate_to_ram,
#ifdef UNIMEM_DEVICE_THP
	.folio_split	= unimem_devmem_folio_split,
#endif
};

/**
 * unimem_dirty_from_device() - a page came back from device memory
 * @dst: the migrate_vma destination entry (its page locked)
 *
 * The device writes its memory without the core mm knowing, so the new
 * system page is marked dirty: a clean one of a lazily-freed (MADV_FREE)
 * range would be discarded by reclaim, losing what the device wrote.
 */
void unimem_dirty_from_device(unsigned long dst)
{
	folio_mark_dirty(page_folio(migrate_pfn_to_page(dst)));
}

/*
 * Eviction's copy: fill the new system page @dpage with the data of device
 * page @spage (migrate entry @src) and return @dpage, locked, as its
 * destination entry.
 */
static unsigned long unimem_evict_copy(struct page *dpage, struct page *spage,
				       unsigned long src)
{
	lock_page(dpage);
	copy_highpage(dpage, unimem_backing(spage));
	return migrate_pfn(page_to_pfn(dpage)) | (src & MIGRATE_PFN_WRITE);
}

/*
 * Is @mm exiting?  Its exit unmaps its pages itself.  Once exit_mmap() is
 * done (it empties the VMA tree under the mmap lock) a page recorded there
 * lives on only in other mms, e.g. a fork child, and the record is stale.
 */
static bool unimem_mm_exiting(struct mm_struct *mm)
{
	bool exiting;

	if (atomic_read(&mm->mm_users))
		return false;
	mmap_read_lock(mm);
	exiting = find_vma(mm, 0);
	mmap_read_unlock(mm);
	return exiting;
}

/**
 * unimem_evict_page_pfn() - unload: evict one page or device folio by pfn
 * @chunk: its chunk
 * @off: index of the page in @chunk
 * @src: migrate source array of at least UNIMEM_HUGE_PAGES entries
 * @dst: migrate destination array, as large
 *
 * Module unload only, for pages whose recorded mapping is gone (see
 * unimem_rmap.c): evict by pfn with migrate_device_range(), as test_hmm
 * and nouveau do.  A page recorded in an mm that is exiting is left to
 * that exit: migrate_device_range() holds no mmap lock, and the exit may
 * free the anon_vma that the restore walks.  A page whose recorded mm has
 * finished exiting goes by pfn too (a fork child that outlived the owner
 * still maps it).
 *
 * Return: the number of pages moved.
 */
static unsigned long unimem_evict_page_pfn(struct unimem_chunk *chunk,
					   unsigned long off, unsigned long *src,
					   unsigned long *dst)
{
	struct unimem_device *udev = chunk->udev;
	struct unimem_rmap *r = &chunk->rmap[off];
	struct page *page = pfn_to_page(chunk->pfn_first + off);
	unsigned long npages = 1, nr, moved = 0, i, j;
	struct unimem_mm *umm;
	bool exiting = false;

	/* free, or a tail page of a device folio (moved with its head) */
	if (!page_ref_count(page))
		return 0;
	spin_lock(&udev->free_lock);
	umm = r->umm;
	if (umm)
		atomic_long_inc(&umm->refs);
	spin_unlock(&udev->free_lock);
	if (umm) {
		exiting = unimem_mm_exiting(umm->mm);
		unimem_mm_put(umm, 1);
	}
	if (exiting)
		return 0;

	/*
	 * migrate_device_range() takes a large folio only with all of its
	 * pfns (for fewer it skips it), so a 2 MiB device folio (2 MiB
	 * aligned) is asked for whole from its head.  Racy, but a folio
	 * split meanwhile just gives 512 order-0 entries.
	 */
	if (unimem_device_thp() && !(off % UNIMEM_HUGE_PAGES) &&
	    off + UNIMEM_HUGE_PAGES <= chunk->npages &&
	    folio_test_large(page_folio(page)))
		npages = UNIMEM_HUGE_PAGES;
	migrate_device_range(src, chunk->pfn_first + off, npages);
	memset(dst, 0, npages * sizeof(*dst));
	for (i = 0; i < npages; i += nr) {
		struct page *spage = migrate_pfn_to_page(src[i]);
		struct folio *folio = NULL;

		nr = (src[i] & UNIMEM_PFN_COMPOUND) ?
		     min(UNIMEM_HUGE_PAGES, npages - i) : 1;
		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if (nr == 1) {
			dst[i] = unimem_evict_copy(alloc_page(GFP_HIGHUSER_MOVABLE |
							      __GFP_NOFAIL),
						   spage, src[i]);
			continue;
		}
		/*
		 * A 2 MiB device folio moves whole (by pfn the core cannot
		 * split it); if no THP can be had now, a later pass retries.
		 */
#ifdef UNIMEM_DEVICE_THP
		folio = folio_alloc(GFP_HIGHUSER_MOVABLE | __GFP_RETRY_MAYFAIL |
				    __GFP_NOWARN, HPAGE_PMD_ORDER);
#endif
		if (!folio || folio_nr_pages(folio) != nr) {
			if (folio)
				folio_put(folio);
			continue;
		}
		folio_lock(folio);
		for (j = 0; j < nr; j++)
			copy_highpage(folio_page(folio, j),
				      unimem_backing(spage + j));
		dst[i] = migrate_pfn(folio_pfn(folio)) | UNIMEM_PFN_COMPOUND |
			 (src[i] & MIGRATE_PFN_WRITE);
	}
	migrate_device_pages(src, dst, npages);
	for (i = 0; i < npages; i += nr) {
		nr = (src[i] & UNIMEM_PFN_COMPOUND) ?
		     min(UNIMEM_HUGE_PAGES, npages - i) : 1;
		if (!(src[i] & MIGRATE_PFN_MIGRATE) || !dst[i])
			continue;
		unimem_dirty_from_device(dst[i]);
		moved += nr;
		if (nr > 1)
			unimem_dcount(udev, UNIMEM_CNT_THP_MIGRATED, 1);
	}
	migrate_device_finalize(src, dst, npages);
	return moved;
}

/* Recorded mappings closer than this are evicted by one migrate_vma. */
#define UNIMEM_EVICT_GAP	8UL
#define UNIMEM_EVICT_SPAN	(2 * UNIMEM_WINDOW_PAGES)
#define UNIMEM_EVICT_LOCK_TRIES	20
#define UNIMEM_EVICT_BUSY_MAX	8

/**
 * struct unimem_evictor - state of one eviction sweep
 * @udev: the device being evicted
 * @own: mm of the migration that asked for room (@self), or NULL
 * @held: mm whose mmap lock the caller holds, or NULL
 * @wait: sleep for other mms' mmap locks (unload) instead of trying them
 * @gfp: allocation flags of the system pages
 * @rmap: recorded mappings of the current window
 * @self: the migration that asked for room (its range in @held), or NULL
 * @busy: mms whose lock could not be taken in this sweep: not tried again
 * @nbusy: number of @busy
 * @src: migrate_vma source array, UNIMEM_EVICT_SPAN entries
 * @dst: migrate_vma destination array, UNIMEM_EVICT_SPAN entries
 */
struct unimem_evictor {
	struct unimem_device *udev;
	struct mm_struct *own;
	struct mm_struct *held;
	bool wait;
	gfp_t gfp;
	struct unimem_rmap_ent *rmap;
	struct unimem_evict_self *self;
	struct mm_struct *busy[UNIMEM_EVICT_BUSY_MAX];
	unsigned int nbusy;
	unsigned long *src, *dst;
};

/* Is @addr of @mm part of the batch that asked for room? */
static bool unimem_evict_keep(const struct unimem_evictor *ev,
			      struct mm_struct *mm, unsigned long addr)
{
	return ev->self && mm == ev->own && addr >= ev->self->end &&
	       addr < ev->self->keep_end;
}

static int unimem_rmap_cmp(const void *a, const void *b)
{
	const struct unimem_rmap_ent *x = a, *y = b;

	if (x->umm != y->umm)
		return x->umm < y->umm ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return 0;
}

/* Entries covered by src[i] of an @npages range: 512 for a 2 MiB folio. */
static unsigned long unimem_evict_nr(unsigned long src, unsigned long i,
				     unsigned long npages)
{
	if (!(src & UNIMEM_PFN_COMPOUND))
		return 1;
	return min(UNIMEM_HUGE_PAGES, npages - i);
}

/*
 * Migrate the pages of @ev->udev mapped in [start, end) of @vma to system
 * memory; the mmap lock of its mm is held.  Pages of other devices in the
 * range are collected too when they share the owner (peer_access) and put
 * back untouched.
 */
static unsigned long unimem_evict_range(struct unimem_evictor *ev,
					struct vm_area_struct *vma,
					unsigned long start, unsigned long end)
{
	struct migrate_vma args = {
		.vma = vma,
		.start = start,
		.end = end,
		.src = ev->src,
		.dst = ev->dst,
		.pgmap_owner = ev->udev->owner,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE |
			 (unimem_device_thp() ? UNIMEM_SELECT_COMPOUND : 0),
	};
	unsigned long i, j, nr, npages = (end - start) >> PAGE_SHIFT;
	unsigned long moved = 0;

	if (migrate_vma_setup(&args))
		return 0;
	memset(args.dst, 0, npages * sizeof(*args.dst));
	for (i = 0; i < npages; i += nr) {
		unsigned long addr = start + (i << PAGE_SHIFT);
		struct page *spage = migrate_pfn_to_page(args.src[i]);
		struct page *dpage;

		nr = unimem_evict_nr(args.src[i], i, npages);
		if (!spage || !(args.src[i] & MIGRATE_PFN_MIGRATE) ||
		    !unimem_is_our_page(spage) ||
		    unimem_page_device(spage) != ev->udev ||
		    unimem_evict_keep(ev, vma->vm_mm, addr))
			continue;
		if (nr == 1) {
			dpage = alloc_page_vma(ev->gfp, vma, addr);
			if (dpage)
				args.dst[i] = unimem_evict_copy(dpage, spage,
								args.src[i]);
			continue;
		}
		/* a 2 MiB device folio: whole, else as 4 KiB pages */
		dpage = nr == UNIMEM_HUGE_PAGES ?
			unimem_alloc_system_huge(vma, addr, 0) : NULL;
		if (dpage) {
			unimem_copy_pages(dpage, spage, nr);
			args.dst[i] = migrate_pfn(page_to_pfn(dpage)) |
				      UNIMEM_PFN_COMPOUND |
				      (args.src[i] & MIGRATE_PFN_WRITE);
			continue;
		}
		unimem_dcount(ev->udev, UNIMEM_CNT_THP_FALLBACK, 1);
		for (j = 0; j < nr; j++) {
			dpage = alloc_page_vma(ev->gfp, vma,
					       addr + (j << PAGE_SHIFT));
			if (!dpage)
				break;
			args.dst[i + j] = unimem_evict_copy(dpage, spage + j,
							    args.src[i]);
		}
		if (j < nr) {	/* all or none */
			while (j--) {
				dpage = migrate_pfn_to_page(args.dst[i + j]);
				args.dst[i + j] = 0;
				unlock_page(dpage);
				put_page(dpage);
			}
		}
	}
	migrate_vma_pages(&args);
	for (i = 0; i < npages; i += nr) {
		unsigned long addr = start + (i << PAGE_SHIFT);

		nr = unimem_evict_nr(args.src[i], i, npages);
		if (!args.dst[i] || !(args.src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		for (j = 0; j < nr; j++)	/* a folio, or its pages */
			if (args.dst[i + j])
				unimem_dirty_from_device(args.dst[i + j]);
		moved += nr;
		if (nr > 1)
			unimem_dcount(ev->udev, UNIMEM_CNT_THP_MIGRATED, 1);
		if (ev->self && vma->vm_mm == ev->own &&
		    addr >= ev->self->start && addr < ev->self->end)
			*ev->self->evicted += nr;
	}
	migrate_vma_finalize(&args);
	return moved;
}

static bool unimem_evict_lock(struct unimem_evictor *ev, struct mm_struct *mm)
{
	unsigned int tries, i;

	if (mm == ev->held)
		return true;
	if (ev->wait) {
		mmap_read_lock(mm);
		return true;
	}
	for (i = 0; i < ev->nbusy; i++)
		if (ev->busy[i] == mm)
			return false;
	/*
	 * Only tried, never waited for: we may hold another mmap lock, and
	 * its writer may be waiting on us.  One that stays busy is skipped
	 * for the rest of the sweep.
	 */
	for (tries = 0; !mmap_read_trylock(mm); tries++) {
		if (tries == UNIMEM_EVICT_LOCK_TRIES) {
			if (ev->nbusy < UNIMEM_EVICT_BUSY_MAX)
				ev->busy[ev->nbusy++] = mm;
			return false;
		}
		usleep_range(50, 100);
	}
	return true;
}

/* Does anonymous @vma map linear page index @idx? */
static bool unimem_vma_has_index(struct vm_area_struct *vma, pgoff_t idx)
{
	return vma_is_anonymous(vma) && idx >= vma->vm_pgoff &&
	       idx - vma->vm_pgoff < vma_pages(vma);
}

/*
 * Where @e->page is mapped in @mm now.  mremap() moves device-private
 * entries without telling us, so a record can name the old address; an
 * anonymous page keeps its linear page index (folio->index plus the page's
 * offset in its folio: each page of a 2 MiB device folio has a record)
 * and the moved VMA its vm_pgoff, which gives the new address.  The index is read
 * without the page lock, so the result is a hint only: migrate_vma at a
 * wrong address moves nothing of ours, or another page of the device,
 * safe either way.  mmap lock of @mm held; @cache is the last VMA found.
 */
static void unimem_evict_relocate(struct mm_struct *mm,
				  struct unimem_rmap_ent *e,
				  struct vm_area_struct **cache)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct folio *folio = page_folio(e->page);
	struct vm_area_struct *vma = vma_lookup(mm, e->addr);
	pgoff_t idx;

	/* a page of a 2 MiB device folio: the folio's index plus its offset */
	idx = READ_ONCE(folio->index) +
	      ((page_to_pfn(e->page) - folio_pfn(folio)) &
	       (UNIMEM_HUGE_PAGES - 1));

	if (vma && vma_is_anonymous(vma) &&
	    vma->vm_pgoff + ((e->addr - vma->vm_start) >> PAGE_SHIFT) == idx)
		return;
	vma = *cache;
	if (!vma || !unimem_vma_has_index(vma, idx)) {
		for_each_vma(vmi, vma)
			if (unimem_vma_has_index(vma, idx))
				break;
		if (!vma)
			return;
		*cache = vma;
	}
	e->addr = vma->vm_start + ((idx - vma->vm_pgoff) << PAGE_SHIFT);
}

/*
 * Evict the recorded mappings @r[0..n) of one mm: runs of nearby
 * addresses within one VMA go through one migrate_vma.
 */
static unsigned long unimem_evict_mm(struct unimem_evictor *ev,
				     struct unimem_rmap_ent *r,
				     unsigned long n)
{
	struct mm_struct *mm = r[0].umm->mm;
	struct vm_area_struct *cache = NULL;
	unsigned long i = 0, moved = 0;

	/* an exiting mm frees its pages itself */
	if (!atomic_read(&mm->mm_users) || !unimem_evict_lock(ev, mm))
		return 0;
	for (i = 0; i < n; i++) {
		unimem_evict_relocate(mm, &r[i], &cache);
		cond_resched();
	}
	sort(r, n, sizeof(*r), unimem_rmap_cmp, NULL);
	i = 0;
	while (i < n) {
		unsigned long start = r[i].addr, end = start + PAGE_SIZE;
		struct vm_area_struct *vma = vma_lookup(mm, start);
		unsigned long j;

		/*
		 * A stale record (the page moved away) finds nothing here, or
		 * another page; migrate_vma_setup() may split a THP now there.
		 */
		if (!vma || (!vma_is_anonymous(vma) &&
			     (vma->vm_flags & VM_MAYSHARE)) ||
		    unimem_evict_keep(ev, mm, start)) {
			i++;
			continue;
		}
		for (j = i + 1; j < n; j++) {
			unsigned long next = r[j].addr + PAGE_SIZE;

			if (r[j].addr >= vma->vm_end ||
			    unimem_evict_keep(ev, mm, r[j].addr) ||
			    (r[j].addr > end &&
			     r[j].addr - end > UNIMEM_EVICT_GAP * PAGE_SIZE) ||
			    next - start > UNIMEM_EVICT_SPAN * PAGE_SIZE)
				break;
			end = max(end, next);
		}
		moved += unimem_evict_range(ev, vma, start, end);
		i = j;
	}
	if (mm != ev->held)
		mmap_read_unlock(mm);
	return moved;
}

/*
 * Evict the in-use pages of one window of a chunk, at the addresses they
 * are recorded at, one mm at a time.
 */
static unsigned long unimem_evict_window(struct unimem_evictor *ev,
					 struct unimem_chunk *chunk,
					 unsigned long off, unsigned long n)
{
	unsigned long i, j, k, moved = 0;

	k = unimem_rmap_snapshot(chunk, off, n, ev->rmap);
	sort(ev->rmap, k, sizeof(*ev->rmap), unimem_rmap_cmp, NULL);
	for (i = 0; i < k; i = j) {
		for (j = i + 1; j < k && ev->rmap[j].umm == ev->rmap[i].umm; j++)
			;
		moved += unimem_evict_mm(ev, &ev->rmap[i], j - i);
		unimem_mm_put(ev->rmap[i].umm, j - i);
	}
	return moved;
}

/**
 * unimem_evict_window_pfn() - unload: evict a window of a chunk by pfn
 * @ev: the unload's evictor (its @src and @dst arrays are used)
 * @chunk: the chunk
 * @off: first page of the window (index in @chunk)
 * @n: number of pages
 *
 * Return: the number of pages moved.
 */
static unsigned long unimem_evict_window_pfn(struct unimem_evictor *ev,
					     struct unimem_chunk *chunk,
					     unsigned long off, unsigned long n)
{
	unsigned long i, moved = 0;

	for (i = off; i < off + n; i++)
		moved += unimem_evict_page_pfn(chunk, i, ev->src, ev->dst);
	return moved;
}

static int unimem_evictor_init(struct unimem_evictor *ev,
			       struct unimem_device *udev,
			       struct mm_struct *held, bool unload)
{
	gfp_t gfp = GFP_KERNEL | (unload ? __GFP_NOFAIL : 0);

	ev->udev = udev;
	ev->own = held;
	ev->held = held;
	ev->self = NULL;
	ev->nbusy = 0;
	ev->wait = unload;
	ev->gfp = GFP_HIGHUSER_MOVABLE | (unload ? __GFP_NOFAIL : __GFP_NOWARN);
	ev->rmap = kmalloc_array(UNIMEM_WINDOW_PAGES, sizeof(*ev->rmap), gfp);
	ev->src = kmalloc_array(UNIMEM_EVICT_SPAN, sizeof(*ev->src), gfp);
	ev->dst = kmalloc_array(UNIMEM_EVICT_SPAN, sizeof(*ev->dst), gfp);
	return ev->rmap && ev->src && ev->dst ? 0 : -ENOMEM;
}

static void unimem_evictor_fini(struct unimem_evictor *ev)
{
	kfree(ev->rmap);
	kfree(ev->src);
	kfree(ev->dst);
}

/*
 * Test hook: 1 makes the next eviction sweep stop once it holds the
 * device's eviction lock, report 2, and wait until it is set back to 0
 * (or its task is killed).  Lets a test hold a sweep open on purpose.
 */
static int inject_evict_hold;
module_param(inject_evict_hold, int, 0600);
MODULE_PARM_DESC(inject_evict_hold,
		 "test only: 1 = hold the next eviction sweep until set to 0");

static void unimem_evict_hold(void)
{
	if (likely(!READ_ONCE(inject_evict_hold)))
		return;
	WRITE_ONCE(inject_evict_hold, 2);
	while (READ_ONCE(inject_evict_hold) && !fatal_signal_pending(current))
		msleep_interruptible(10);
}

/**
 * unimem_evict() - make room on a device by evicting its coldest pages
 * @udev: the device
 * @want: number of pages wanted free
 * @ctx: context to charge the evictions to (may be NULL)
 * @self: the migration of @ctx asking for room (may be NULL): evicted
 *        pages of the part of its range it has done are counted there
 * @locked: the caller holds the mmap lock of @ctx's mm for read
 *
 * A CLOCK over 2 MiB windows of device memory approximates LRU: a window
 * whose reference bit is set (a page of it was allocated or accessed by the
 * device since the hand last passed) gets a second chance, the others are
 * migrated back to system memory by address, under the mmap lock of the mm
 * each page is mapped in (see unimem_rmap.c).  Pages of an mm whose lock
 * is busy stay for a later sweep.  The caller must not hold locked device
 * pages it expects to be evicted, nor any context lock.
 *
 * Sweeps of one device are serialised and can be long.  A caller that holds
 * an mmap lock never waits for another's sweep (its own process's munmap()
 * and faults would queue behind it): it gets -EBUSY and should drop the lock
 * and call again unlocked, which waits, killably.
 *
 * Return: number of pages evicted, -EBUSY (see above) or -EINTR.
 */
long unimem_evict(struct unimem_device *udev, unsigned long want,
		  struct unimem_ctx *ctx, struct unimem_evict_self *self,
		  bool locked)
{
	unsigned long nwin = udev->npages / UNIMEM_WINDOW_PAGES;
	unsigned long per = UNIMEM_CHUNK_MAX / PAGE_SIZE / UNIMEM_WINDOW_PAGES;
	struct mm_struct *mm = ctx ? ctx->notifier.mm : NULL;
	unsigned long scanned, evicted = 0;
	struct unimem_evictor ev;
	long ret = 0;

	if (!nwin)
		return 0;
	if (unimem_evictor_init(&ev, udev, mm, false))
		goto out;
	ev.self = ctx ? self : NULL;
	if (!locked)
		ev.held = NULL;	/* every mm is only tried, our own too */

	if (locked) {
		if (!mutex_trylock(&udev->evict_lock)) {
			ret = -EBUSY;
			goto out;
		}
	} else if (mutex_lock_killable(&udev->evict_lock)) {
		ret = -EINTR;
		goto out;
	}
	unimem_evict_hold();
	for (scanned = 0; scanned < 2 * nwin + 1; scanned++) {
		unsigned long w = udev->clock_hand++ % nwin;
		struct unimem_chunk *chunk = udev->chunks[w / per];
		unsigned long cw = w % per;

		if (unimem_nfree(udev) >= want)
			break;
		if (test_and_clear_bit(cw, chunk->referenced))
			continue;
		evicted += unimem_evict_window(&ev, chunk,
					       cw * UNIMEM_WINDOW_PAGES,
					       min(UNIMEM_WINDOW_PAGES,
						   chunk->npages -
						   cw * UNIMEM_WINDOW_PAGES));
		cond_resched();	/* a full sweep can be long */
	}
	mutex_unlock(&udev->evict_lock);
out:
	unimem_evictor_fini(&ev);
	unimem_dcount(udev, UNIMEM_CNT_EVICTIONS, evicted);
	unimem_count(ctx, UNIMEM_CNT_EVICTIONS, evicted);
	return ret ? ret : evicted;
}

static void unimem_chunk_free(struct unimem_chunk *chunk, bool mapped)
{
	unsigned long i;

	if (mapped)
		memunmap_pages(&chunk->pagemap);
	if (chunk->res)
		release_mem_region(chunk->res->start, resource_size(chunk->res));
	if (chunk->backing)
		for (i = 0; i < chunk->npages; i++)
			if (chunk->backing[i])
				__free_page(chunk->backing[i]);
	kvfree(chunk->backing);
	kvfree(chunk->rmap);
	kvfree(chunk->blocks);
	bitmap_free(chunk->referenced);
	kfree(chunk);
}

static int unimem_chunk_add(struct unimem_device *udev, unsigned long bytes)
{
	struct unimem_chunk *chunk;
	unsigned long i;
	void *ptr;
	int ret = -ENOMEM;

	chunk = kzalloc(sizeof(*chunk), GFP_KERNEL);
	if (!chunk)
		return -ENOMEM;
	chunk->udev = udev;
	chunk->npages = bytes >> PAGE_SHIFT;
	chunk->backing = kvcalloc(chunk->npages, sizeof(*chunk->backing),
				  GFP_KERNEL);
	chunk->rmap = kvcalloc(chunk->npages, sizeof(*chunk->rmap), GFP_KERNEL);
	chunk->referenced = bitmap_zalloc(DIV_ROUND_UP(chunk->npages,
						       UNIMEM_WINDOW_PAGES),
					  GFP_KERNEL);
	chunk->blocks = kvcalloc(chunk->npages / UNIMEM_WINDOW_PAGES,
				 sizeof(*chunk->blocks), GFP_KERNEL);
	if (!chunk->backing || !chunk->rmap || !chunk->referenced ||
	    !chunk->blocks)
		goto err;
	for (i = 0; i < chunk->npages; i++) {
		chunk->backing[i] = alloc_page(GFP_KERNEL | __GFP_NOWARN);
		if (!chunk->backing[i])
			goto err;
		if (!(i % 4096))
			cond_resched();
	}

	chunk->res = request_free_mem_region(&iomem_resource, bytes,
					     UNIMEM_NAME);
	if (IS_ERR_OR_NULL(chunk->res)) {
		ret = chunk->res ? PTR_ERR(chunk->res) : -ENOMEM;
		chunk->res = NULL;
		goto err;
	}
	chunk->pagemap.type = MEMORY_DEVICE_PRIVATE;
	chunk->pagemap.range.start = chunk->res->start;
	chunk->pagemap.range.end = chunk->res->end;
	chunk->pagemap.nr_range = 1;
	chunk->pagemap.ops = &unimem_devmem_ops;
	chunk->pagemap.owner = udev->owner;
	ptr = memremap_pages(&chunk->pagemap, numa_node_id());
	if (IS_ERR_OR_NULL(ptr)) {
		ret = ptr ? PTR_ERR(ptr) : -EFAULT;
		goto err;
	}
	chunk->pfn_first = chunk->res->start >> PAGE_SHIFT;

	/* chunks are multiples of 2 MiB, 2 MiB aligned: whole blocks */
	spin_lock(&udev->free_lock);
	for (i = 0; i < chunk->npages / UNIMEM_WINDOW_PAGES; i++) {
		struct unimem_block *b = &chunk->blocks[i];

		b->pfn = chunk->pfn_first + i * UNIMEM_WINDOW_PAGES;
		INIT_LIST_HEAD(&b->node);
		unimem_put_pages(udev, pfn_to_page(b->pfn),
				 UNIMEM_WINDOW_PAGES);
	}
	spin_unlock(&udev->free_lock);
	udev->chunks[udev->nchunks++] = chunk;
	return 0;
err:
	unimem_chunk_free(chunk, false);
	return ret;
}

/* Free the memory of @udev; memunmap_pages() waits for its last users. */
static void unimem_devmem_release(struct unimem_device *udev)
{
	unsigned int c;

	for (c = 0; c < udev->nchunks; c++)
		unimem_chunk_free(udev->chunks[c], true);
	udev->nchunks = 0;
	kfree(udev->chunks);
	udev->chunks = NULL;
	INIT_LIST_HEAD(&udev->free_huge);
	INIT_LIST_HEAD(&udev->free_partial);
}

/**
 * unimem_devmem_init() - create the device memory of @udev
 * @udev: the device
 * @bytes: size, a multiple of 2 MiB
 *
 * Return: 0 or a negative errno.
 */
int unimem_devmem_init(struct unimem_device *udev, unsigned long bytes)
{
	unsigned long left = bytes;
	int ret;

	spin_lock_init(&udev->free_lock);
	mutex_init(&udev->evict_lock);
	udev->npages = bytes >> PAGE_SHIFT;
	INIT_LIST_HEAD(&udev->free_huge);
	INIT_LIST_HEAD(&udev->free_partial);
	udev->chunks = kcalloc(DIV_ROUND_UP(bytes, UNIMEM_CHUNK_MAX),
			       sizeof(*udev->chunks), GFP_KERNEL);
	if (!udev->chunks) {
		ret = -ENOMEM;
		goto err;
	}
	while (left) {
		unsigned long sz = min(left, UNIMEM_CHUNK_MAX);

		ret = unimem_chunk_add(udev, sz);
		if (ret)
			goto err;
		left -= sz;
	}
	return 0;
err:
	/* no page is in use yet: nothing to migrate back */
	unimem_devmem_release(udev);
	return ret;
}

/**
 * unimem_devmem_fini() - migrate every live device page back, then free
 * @udev: the device
 *
 * Called at module unload (no file is open then, but processes may still
 * have device pages mapped).  Their data is migrated to system memory with
 * allocations that cannot fail, so no data is lost.
 */
void unimem_devmem_fini(struct unimem_device *udev)
{
	struct unimem_evictor ev;
	unsigned int c, pass;

	spin_lock(&udev->free_lock);
	udev->removing = true;
	spin_unlock(&udev->free_lock);

	unimem_evictor_init(&ev, udev, NULL, true);	/* cannot fail */
	for (pass = 0; pass < 100 && udev->nfree < udev->npages; pass++) {
		/*
		 * By address first; what is left after a few passes has no
		 * known mapping any more (see unimem_rmap.c) and goes by pfn,
		 * as test_hmm and nouveau do at unload.
		 */
		bool by_pfn = pass >= 3;

		for (c = 0; c < udev->nchunks; c++) {
			struct unimem_chunk *chunk = udev->chunks[c];
			unsigned long off, n, moved;

			for (off = 0; off < chunk->npages; off += n) {
				n = min(UNIMEM_WINDOW_PAGES,
					chunk->npages - off);
				moved = by_pfn ?
					unimem_evict_window_pfn(&ev, chunk,
								off, n) :
					unimem_evict_window(&ev, chunk, off, n);
				unimem_dcount(udev, UNIMEM_CNT_EVICTIONS, moved);
			}
		}
		if (udev->nfree < udev->npages)
			msleep(20);
	}
	unimem_evictor_fini(&ev);

	/* memunmap_pages() waits for any last reference to go away. */
	unimem_devmem_release(udev);
}
