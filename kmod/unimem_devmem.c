// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem: device-private memory of the virtual accelerators.
 *
 * Each device owns mem_mib of MEMORY_DEVICE_PRIVATE struct pages, created by
 * memremap_pages() over ranges from request_free_mem_region() in chunks of at
 * most UNIMEM_CHUNK_MAX.  Behind every device page sits one driver-allocated
 * system page, the device's "VRAM": the CPU never maps it, only the device
 * engine and the migration copy code touch it.
 */
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "unimem_internal.h"

static struct unimem_chunk *unimem_page_chunk(struct page *page)
{
	return container_of(unimem_page_pgmap(page), struct unimem_chunk,
			    pagemap);
}

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
	if (!udev->removing && udev->nfree)
		page = udev->free_stack[--udev->nfree];
	spin_unlock(&udev->free_lock);
	if (!page)
		return NULL;
	if (zero)
		clear_highpage(unimem_backing(page));
	zone_device_page_init(page);
	unimem_page_touch(page);
	return page;
}

static void unimem_devmem_page_free(struct page *page)
{
	struct unimem_device *udev = unimem_page_device(page);

	spin_lock(&udev->free_lock);
	if (!WARN_ON_ONCE(udev->nfree >= udev->npages))
		udev->free_stack[udev->nfree++] = page;
	spin_unlock(&udev->free_lock);
}

const struct dev_pagemap_ops unimem_devmem_ops = {
	.page_free	= unimem_devmem_page_free,
	.migrate_to_ram	= unimem_migrate_to_ram,
};

/*
 * Evict one window of a chunk to system memory.  migrate_device_range()
 * takes every in-use page of the window that it can lock; pages that are
 * locked by someone else (e.g. being migrated) are skipped.
 */
static unsigned long unimem_evict_window(struct unimem_chunk *chunk,
					 unsigned long off, unsigned long n,
					 unsigned long *src, unsigned long *dst,
					 gfp_t gfp)
{
	unsigned long i, moved = 0;

	migrate_device_range(src, chunk->pfn_first + off, n);
	for (i = 0; i < n; i++) {
		struct page *spage = migrate_pfn_to_page(src[i]);
		struct page *dpage;

		dst[i] = 0;
		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		dpage = alloc_page(gfp);
		if (!dpage)
			continue;
		lock_page(dpage);
		copy_highpage(dpage, unimem_backing(spage));
		dst[i] = migrate_pfn(page_to_pfn(dpage));
		if (src[i] & MIGRATE_PFN_WRITE)
			dst[i] |= MIGRATE_PFN_WRITE;
	}
	migrate_device_pages(src, dst, n);
	for (i = 0; i < n; i++)
		if ((src[i] & MIGRATE_PFN_MIGRATE) && dst[i])
			moved++;
	migrate_device_finalize(src, dst, n);
	return moved;
}

/*
 * Eviction moves pages of any process without holding that process's mmap
 * lock: migrate_device_range() unmaps them to migration entries and
 * migrate_device_finalize() walks their anon_vma to restore the mappings.
 * remove_migration_ptes() requires callers that do not hold the mmap lock
 * to hold a reference on the anon_vma, which a module cannot take, so a
 * process that unmaps the VMA in between (munmap, MAP_FIXED, exit) frees
 * the anon_vma under the walk: a use-after-free in rmap_walk_anon, seen in
 * kmod-stress.  Eviction therefore holds, for read, the mmap lock of every
 * process with a context open on a unimem device; unmapping takes it for
 * write and waits.  The caller already holds its own.  The others are only
 * tried, never waited for (we hold an mmap lock already, and their holders
 * may be waiting on us): when one stays busy the sweep is skipped and the
 * caller counts the pages as nomem.  Pages of a process with no context
 * open (it closed its files, or a child sharing pages after fork) are not
 * covered; see docs/kmod.md.
 */
#define UNIMEM_EVICT_MAX_MMS	64
#define UNIMEM_EVICT_LOCK_TRIES	100

struct unimem_mm_set {
	unsigned int n;
	struct mm_struct *mm[UNIMEM_EVICT_MAX_MMS];
};

static bool unimem_mm_set_add(struct unimem_mm_set *set, struct mm_struct *mm)
{
	unsigned int i;

	for (i = 0; i < set->n; i++)
		if (set->mm[i] == mm)
			return true;
	if (set->n == UNIMEM_EVICT_MAX_MMS)
		return false;
	mmgrab(mm);
	set->mm[set->n++] = mm;
	return true;
}

/* Unlock the first @locked mms of @set (but @held) and drop them all. */
static void unimem_mm_set_release(struct unimem_mm_set *set,
				  unsigned int locked, struct mm_struct *held)
{
	unsigned int i;

	for (i = 0; i < set->n; i++) {
		if (i < locked && set->mm[i] != held)
			mmap_read_unlock(set->mm[i]);
		mmdrop(set->mm[i]);
	}
	set->n = 0;
}

/**
 * unimem_evict_lock_mms() - read-lock the mm of every open context
 * @set: filled with the mms, each grabbed
 * @held: the mm whose mmap lock the caller holds already
 *
 * Return: true with every mm of @set but @held read-locked; false with
 * none locked and @set empty.
 */
static bool unimem_evict_lock_mms(struct unimem_mm_set *set,
				  struct mm_struct *held)
{
	unsigned int d, i, tries;
	bool fits = true;

	set->n = 0;
	for (d = 0; d < unimem_ndevices && fits; d++) {
		struct unimem_device *udev = unimem_devices[d];
		struct unimem_ctx *ctx;

		spin_lock(&udev->ctx_lock);
		list_for_each_entry(ctx, &udev->ctx_list, node) {
			fits = unimem_mm_set_add(set, ctx->notifier.mm);
			if (!fits)
				break;
		}
		spin_unlock(&udev->ctx_lock);
	}
	if (!fits) {
		unimem_mm_set_release(set, 0, held);
		return false;
	}
	for (i = 0; i < set->n; i++) {
		if (set->mm[i] == held)
			continue;
		for (tries = 0; !mmap_read_trylock(set->mm[i]); tries++) {
			if (tries == UNIMEM_EVICT_LOCK_TRIES) {
				unimem_mm_set_release(set, i, held);
				return false;
			}
			usleep_range(100, 200);
		}
	}
	return true;
}

/**
 * unimem_evict() - make room on a device by evicting its coldest pages
 * @udev: the device
 * @want: number of pages wanted free
 * @ctx: context to charge the evictions to (may be NULL)
 *
 * A CLOCK over 2 MiB windows of device memory approximates LRU: a window
 * whose reference bit is set (a page of it was allocated or accessed by the
 * device since the hand last passed) gets a second chance, the others are
 * migrated back to system memory with migrate_device_range().  The caller
 * must not hold locked device pages it expects to be evicted, nor any
 * context lock.
 *
 * Return: number of pages evicted.
 */
unsigned long unimem_evict(struct unimem_device *udev, unsigned long want,
			   struct unimem_ctx *ctx)
{
	unsigned long nwin = udev->npages / UNIMEM_WINDOW_PAGES;
	struct mm_struct *held = ctx ? ctx->notifier.mm : NULL;
	unsigned long *src, *dst, scanned, evicted = 0;
	struct unimem_mm_set *mms;

	if (!nwin)
		return 0;
	src = kmalloc_array(UNIMEM_WINDOW_PAGES, sizeof(*src), GFP_KERNEL);
	dst = kmalloc_array(UNIMEM_WINDOW_PAGES, sizeof(*dst), GFP_KERNEL);
	mms = kmalloc(sizeof(*mms), GFP_KERNEL);
	if (!src || !dst || !mms)
		goto out;

	mutex_lock(&udev->evict_lock);
	if (!unimem_evict_lock_mms(mms, held)) {
		mutex_unlock(&udev->evict_lock);
		goto out;
	}
	for (scanned = 0; scanned < 2 * nwin + 1; scanned++) {
		unsigned long w = udev->clock_hand++ % nwin;
		unsigned long per = UNIMEM_CHUNK_MAX / PAGE_SIZE /
				    UNIMEM_WINDOW_PAGES;
		struct unimem_chunk *chunk = udev->chunks[w / per];
		unsigned long cw = w % per;
		unsigned long n;

		if (unimem_nfree(udev) >= want)
			break;
		if (test_and_clear_bit(cw, chunk->referenced))
			continue;
		n = min(UNIMEM_WINDOW_PAGES,
			chunk->npages - cw * UNIMEM_WINDOW_PAGES);
		evicted += unimem_evict_window(chunk, cw * UNIMEM_WINDOW_PAGES,
					       n, src, dst,
					       GFP_HIGHUSER_MOVABLE |
					       __GFP_NOWARN);
		cond_resched();	/* a full sweep can be long */
	}
	unimem_mm_set_release(mms, mms->n, held);
	mutex_unlock(&udev->evict_lock);
out:
	kfree(mms);
	kfree(src);
	kfree(dst);
	unimem_dcount(udev, UNIMEM_CNT_EVICTIONS, evicted);
	unimem_count(ctx, UNIMEM_CNT_EVICTIONS, evicted);
	return evicted;
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
	chunk->referenced = bitmap_zalloc(DIV_ROUND_UP(chunk->npages,
						       UNIMEM_WINDOW_PAGES),
					  GFP_KERNEL);
	if (!chunk->backing || !chunk->referenced)
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
	chunk->pagemap.owner = &unimem_owner;
	ptr = memremap_pages(&chunk->pagemap, numa_node_id());
	if (IS_ERR_OR_NULL(ptr)) {
		ret = ptr ? PTR_ERR(ptr) : -EFAULT;
		goto err;
	}
	chunk->pfn_first = chunk->res->start >> PAGE_SHIFT;

	spin_lock(&udev->free_lock);
	for (i = chunk->npages; i > 0; i--)
		udev->free_stack[udev->nfree++] =
			pfn_to_page(chunk->pfn_first + i - 1);
	spin_unlock(&udev->free_lock);
	udev->chunks[udev->nchunks++] = chunk;
	return 0;
err:
	unimem_chunk_free(chunk, false);
	return ret;
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
	udev->chunks = kcalloc(DIV_ROUND_UP(bytes, UNIMEM_CHUNK_MAX),
			       sizeof(*udev->chunks), GFP_KERNEL);
	udev->free_stack = kvmalloc_array(udev->npages,
					  sizeof(*udev->free_stack),
					  GFP_KERNEL);
	if (!udev->chunks || !udev->free_stack) {
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
	unimem_devmem_fini(udev);
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
	const gfp_t gfp_nofail = GFP_HIGHUSER_MOVABLE | __GFP_NOFAIL;
	unsigned long *src = NULL, *dst = NULL;
	unsigned int c, pass;

	spin_lock(&udev->free_lock);
	udev->removing = true;
	spin_unlock(&udev->free_lock);

	if (udev->nchunks) {
		src = kmalloc_array(UNIMEM_WINDOW_PAGES, sizeof(*src),
				    GFP_KERNEL | __GFP_NOFAIL);
		dst = kmalloc_array(UNIMEM_WINDOW_PAGES, sizeof(*dst),
				    GFP_KERNEL | __GFP_NOFAIL);
	}
	for (pass = 0; pass < 100 && udev->nfree < udev->npages; pass++) {
		for (c = 0; c < udev->nchunks; c++) {
			struct unimem_chunk *chunk = udev->chunks[c];
			unsigned long off, n;

			for (off = 0; off < chunk->npages; off += n) {
				unsigned long moved;

				n = min(UNIMEM_WINDOW_PAGES,
					chunk->npages - off);
				moved = unimem_evict_window(chunk, off, n, src,
							    dst, gfp_nofail);
				unimem_dcount(udev, UNIMEM_CNT_EVICTIONS, moved);
			}
		}
		if (udev->nfree < udev->npages)
			msleep(20);
	}
	kfree(src);
	kfree(dst);

	/* memunmap_pages() waits for any last reference to go away. */
	for (c = 0; c < udev->nchunks; c++)
		unimem_chunk_free(udev->chunks[c], true);
	udev->nchunks = 0;
	kfree(udev->chunks);
	udev->chunks = NULL;
	kvfree(udev->free_stack);
	udev->free_stack = NULL;
}
