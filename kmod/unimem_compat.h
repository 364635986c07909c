/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unimem: the one place for kernel API differences (6.1 LTS .. 7.3).
 *
 * What a kernel has is decided by feature probes (conftest.sh, run by Kbuild
 * against the target kernel's headers), not by its version: distributions
 * backport, and zone_device_page_init() changed twice within one cycle.
 */
#ifndef _UNIMEM_COMPAT_H
#define _UNIMEM_COMPAT_H

#include <linux/device.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/hmm.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/huge_mm.h>
#include <linux/rmap.h>

#include "unimem_conftest.h"

#ifdef UNIMEM_HAVE_CLASS_CREATE_NO_OWNER
#define unimem_class_create(name) class_create(name)
#else
#define unimem_class_create(name) class_create(THIS_MODULE, name)
#endif

#ifdef UNIMEM_HAVE_DEVNODE_CONST_DEVICE
#define UNIMEM_UEVENT_CONST const
#else
#define UNIMEM_UEVENT_CONST
#endif

/* Bulk page allocation into an array (only NULL slots are filled). */
#ifdef UNIMEM_HAVE_ALLOC_PAGES_BULK_ARRAY3
#define unimem_alloc_bulk(gfp, n, arr) alloc_pages_bulk(gfp, n, arr)
#else
#define unimem_alloc_bulk(gfp, n, arr) alloc_pages_bulk_array(gfp, n, arr)
#endif

/* The pgmap of a ZONE_DEVICE page. */
static inline struct dev_pagemap *unimem_page_pgmap(struct page *page)
{
#ifdef UNIMEM_HAVE_PAGE_PGMAP
	return page_pgmap(page);
#else
	return page->pgmap;
#endif
}

/*
 * Hand out a free device page of @pgmap as an order-0 folio with one
 * reference, locked (what migrate_vma_pages() expects of a destination).
 */
static inline void unimem_zone_device_page_init(struct page *page,
						struct dev_pagemap *pgmap)
{
#if defined(UNIMEM_HAVE_ZONE_DEVICE_PAGE_INIT_PGMAP_ORDER)
	zone_device_page_init(page, pgmap, 0);
#elif defined(UNIMEM_HAVE_ZONE_DEVICE_PAGE_INIT_ORDER)
	zone_device_page_init(page, 0);
#else
	zone_device_page_init(page);
#endif
}

/*
 * dev_pagemap_ops.page_free(struct page *) became folio_free(struct folio *)
 * in 6.19.  UNIMEM_PGMAP_FREE_OP(fn) sets the member to a wrapper of
 * fn(struct page *head, unsigned int order): order 0 before 6.19, the
 * folio's order after (a 2 MiB device folio, UNIMEM_DEVICE_THP, is freed
 * in one call).
 */
#ifdef UNIMEM_HAVE_PGMAP_FOLIO_FREE
#define UNIMEM_DEFINE_PGMAP_FREE(name, fn)		\
	static void name(struct folio *folio)		\
	{						\
		fn(&folio->page, folio_order(folio));	\
	}
#define UNIMEM_PGMAP_FREE_OP(name) .folio_free = name
#else
#define UNIMEM_DEFINE_PGMAP_FREE(name, fn)		\
	static void name(struct page *page)		\
	{						\
		fn(page, 0);				\
	}
#define UNIMEM_PGMAP_FREE_OP(name) .page_free = name
#endif

/*
 * Device-private THP (6.19+): 2 MiB device folios, migrated whole with
 * MIGRATE_VMA_SELECT_COMPOUND / MIGRATE_PFN_COMPOUND.  Needs THP and THP
 * migration (PMD migration entries), checked at run time by
 * unimem_device_thp().  Without the probe every flag is 0 and every device
 * page is order 0.
 */
#if defined(UNIMEM_HAVE_DEVICE_PRIVATE_THP) && \
	IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) && \
	IS_ENABLED(CONFIG_DEVICE_PRIVATE)
#define UNIMEM_DEVICE_THP 1
#define UNIMEM_SELECT_COMPOUND	MIGRATE_VMA_SELECT_COMPOUND
#define UNIMEM_PFN_COMPOUND	MIGRATE_PFN_COMPOUND
#define UNIMEM_THP_ORDER	HPAGE_PMD_ORDER
#else
#define UNIMEM_SELECT_COMPOUND	0
#define UNIMEM_PFN_COMPOUND	0UL
#define UNIMEM_THP_ORDER	0
#endif

/* Can 2 MiB device folios be used on this kernel? */
static inline bool unimem_device_thp(void)
{
#ifdef UNIMEM_DEVICE_THP
	/* device memory comes in 2 MiB blocks */
	return thp_migration_supported() && HPAGE_PMD_SIZE == SZ_2M;
#else
	return false;
#endif
}

/*
 * hmm_range_fault() of 6.19 to 7.3 reports a device-private PMD (a 2 MiB
 * device folio) from the folio's first pfn even when the range starts
 * inside it (hmm_vma_handle_absent_pmd() adds no offset, unlike the
 * present-PMD path).  unimem's device folios are 2 MiB aligned in pfn
 * space, so the right pfn of the page at @start + i pages is the aligned
 * pfn plus the page's index in its 2 MiB: correct whether or not the
 * kernel has the bug.  Call after every hmm_range_fault().
 */
static inline void unimem_hmm_pmd_fixup(unsigned long *pfns, unsigned long n,
					unsigned long start)
{
#ifdef UNIMEM_DEVICE_THP
	unsigned long i, nr = 1UL << HPAGE_PMD_ORDER;

	for (i = 0; i < n; i++) {
		unsigned long e = pfns[i], pfn;

		if (!(e & HMM_PFN_VALID) ||
		    hmm_pfn_to_map_order(e) != HPAGE_PMD_ORDER ||
		    !is_device_private_page(hmm_pfn_to_page(e)))
			continue;
		pfn = ALIGN_DOWN(e & ~HMM_PFN_FLAGS, nr) +
		      (((start >> PAGE_SHIFT) + i) & (nr - 1));
		pfns[i] = (e & HMM_PFN_FLAGS) | pfn;
	}
#endif
}

/*
 * Hand out free device pages of @pgmap as one folio of @order with one
 * reference, locked (what migrate_vma_pages() expects of a destination).
 */
static inline void unimem_zone_device_folio_init(struct page *page,
						 struct dev_pagemap *pgmap,
						 unsigned int order)
{
#ifdef UNIMEM_DEVICE_THP
	/*
	 * Not page_folio(page): a page that was a tail of a freed 2 MiB
	 * folio still points at its old head until this call resets it.
	 */
	zone_device_folio_init((struct folio *)page, pgmap, order);
#else
	WARN_ON_ONCE(order);
	unimem_zone_device_page_init(page, pgmap);
#endif
}

/*
 * Device-exclusive access to the page at @addr: on success *@page is the
 * page, locked and with a reference (unlock_page() + put_page() when done),
 * and a CPU access invalidates the device mapping.
 *
 * From 6.15 make_device_exclusive() takes one page and handles large folios
 * itself (it splits a PMD mapping and works on a PTE-mapped large folio).
 * make_device_exclusive_range() before it refuses large folios: callers
 * must split a THP first (UNIMEM_EXCLUSIVE_NEEDS_SPLIT).  Both exist only
 * with CONFIG_DEVICE_PRIVATE.
 *
 * Return: 0, -EBUSY when the page could not be made exclusive this time,
 * -EOPNOTSUPP when it never can, or another negative errno.
 */
#ifndef UNIMEM_HAVE_MAKE_DEVICE_EXCLUSIVE
#define UNIMEM_EXCLUSIVE_NEEDS_SPLIT 1
#endif

static inline int unimem_make_exclusive(struct mm_struct *mm,
					unsigned long addr, void *owner,
					struct page **page)
{
#if !IS_ENABLED(CONFIG_DEVICE_PRIVATE)
	*page = NULL;
	return -EOPNOTSUPP;
#elif defined(UNIMEM_HAVE_MAKE_DEVICE_EXCLUSIVE)
	struct folio *folio;
	struct page *p = make_device_exclusive(mm, addr, owner, &folio);

	if (IS_ERR(p)) {
		*page = NULL;
		return PTR_ERR(p);
	}
	*page = p;
	return 0;
#else
	int ret;

	*page = NULL;
	ret = make_device_exclusive_range(mm, addr, addr + PAGE_SIZE, page,
					  owner);
	if (ret < 0)
		return ret;
	return ret == 1 && *page ? 0 : -EBUSY;
#endif
}

#endif /* _UNIMEM_COMPAT_H */
