/* SPDX-License-Identifier: MIT */
/*
 * os.c - the allocator's OS layer: the only place it calls the kernel's
 * memory syscalls. Everything above works in terms of "map aligned",
 * "unmap", "discard" and "remap", so another OS fits behind this file.
 * (Where pages live is the providers' business, not this file's.)
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "alloc/alloc.h"

static void *um_os_mmap(void *hint, size_t size, int prot)
{
	void *p = mmap(hint, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * Over-map by @align and trim both ends: up to three syscalls, but only
 * when a segment or a huge allocation is created, which the heaps and the
 * huge cache make rare.
 */
static void *um_os_map_prot_at(size_t size, size_t align, size_t offset, int prot)
{
	size_t ps = um_page_size();
	if (align < ps)
		align = ps;
	size = (size + ps - 1) & ~(ps - 1);
	if (size == 0 || size + align < size)
		return NULL;

	if (align == ps)
		return um_os_mmap(NULL, size, prot);

	size_t over = size + align;
	uint8_t *raw = um_os_mmap(NULL, over, prot);
	if (raw == NULL)
		return NULL;
	/* the first address >= raw where start + offset is aligned */
	uintptr_t start = (((uintptr_t)raw + offset + align - 1) & ~(uintptr_t)(align - 1)) -
			  offset;
	if (start < (uintptr_t)raw)
		start += align;
	size_t head = start - (uintptr_t)raw;
	size_t tail = over - head - size;
	if (head)
		munmap(raw, head);
	if (tail)
		munmap((void *)(start + size), tail);
	return (void *)start;
}

static void *um_os_map_prot(size_t size, size_t align, int prot)
{
	return um_os_map_prot_at(size, align, 0, prot);
}

void *um_os_map(size_t size, size_t align)
{
	return um_os_map_prot(size, align, PROT_READ | PROT_WRITE);
}

void *um_os_map_at_offset(size_t size, size_t align, size_t offset)
{
	return um_os_map_prot_at(size, align, offset, PROT_READ | PROT_WRITE);
}

void um_os_unmap(void *addr, size_t size)
{
	if (addr != NULL && size != 0)
		munmap(addr, size);
}

void um_os_discard(void *addr, size_t size)
{
	if (addr != NULL && size != 0)
		madvise(addr, size, MADV_DONTNEED);
}

/*
 * Resize a mapping keeping its start aligned to @align: grow or shrink in
 * place when the kernel can, otherwise move onto a fresh aligned
 * reservation (MREMAP_FIXED replaces it), so no bytes are copied.
 */
void *um_os_remap(void *addr, size_t old_size, size_t new_size, size_t align)
{
	size_t ps = um_page_size();
	new_size = (new_size + ps - 1) & ~(ps - 1);
	void *p = mremap(addr, old_size, new_size, 0);
	if (p != MAP_FAILED)
		return p;
	void *dst = um_os_map_prot(new_size, align, PROT_NONE);
	if (dst == NULL)
		return NULL;
	p = mremap(addr, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (p == MAP_FAILED) {
		munmap(dst, new_size);
		return NULL;
	}
	return p;
}

/* Entropy for the allocator's cookies; never blocks, never fails. */
uintptr_t um_os_random(void)
{
	uintptr_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uintptr_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uintptr_t)&r;
	}
	return r;
}
