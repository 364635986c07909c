/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unimem: the one place for kernel-version differences (6.1 LTS .. 6.12).
 */
#ifndef _UNIMEM_COMPAT_H
#define _UNIMEM_COMPAT_H

#include <linux/version.h>
#include <linux/device.h>
#include <linux/gfp.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/rmap.h>

/* class_create() lost its owner argument in 6.4. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define unimem_class_create(name) class_create(THIS_MODULE, name)
#else
#define unimem_class_create(name) class_create(name)
#endif

/* dev_uevent callbacks take a const struct device since 6.2. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define UNIMEM_UEVENT_CONST
#else
#define UNIMEM_UEVENT_CONST const
#endif

/* Bulk page allocation into an array (only NULL slots are filled). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
#define unimem_alloc_bulk(gfp, n, arr) alloc_pages_bulk(gfp, n, arr)
#else
#define unimem_alloc_bulk(gfp, n, arr) alloc_pages_bulk_array(gfp, n, arr)
#endif

/* The pgmap of a ZONE_DEVICE page: page_pgmap() appeared in 6.15. */
static inline struct dev_pagemap *unimem_page_pgmap(struct page *page)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
	return page_pgmap(page);
#else
	return page->pgmap;
#endif
}

/*
 * Device-exclusive access.  make_device_exclusive_range() exists from 5.14
 * to 6.14 (6.15 replaced it by make_device_exclusive() on one page).  It is
 * only built with CONFIG_DEVICE_PRIVATE.
 */
static inline int unimem_make_exclusive(struct mm_struct *mm,
					unsigned long addr,
					struct page **page, void *owner)
{
#if IS_ENABLED(CONFIG_DEVICE_PRIVATE)
	return make_device_exclusive_range(mm, addr, addr + PAGE_SIZE, page,
					   owner);
#else
	*page = NULL;
	return -EOPNOTSUPP;
#endif
}

#endif /* _UNIMEM_COMPAT_H */
