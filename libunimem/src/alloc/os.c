/* SPDX-License-Identifier: MIT */
/*
 * os.c - the allocator's OS layer: the only place it calls the kernel's
 * memory syscalls. Everything above works in terms of "map aligned",
 * "unmap", "discard" and "remap", so another OS fits behind this file.
 * (Where pages live is the providers' business, not this file's.)
 *
 * Nothing here goes through a libc function that a sanitizer runtime
 * interposes (mmap, pthread_mutex_lock, clock_gettime, getrandom): under
 * the preload the first malloc can come from inside ASan's or TSan's own
 * start-up, before their interceptors know the real functions. So the
 * syscalls are made with syscall(2) and the locks are futex words; the
 * clock switches to libc's (vDSO, fast) once start-up is over. A library
 * built with a sanitizer itself keeps libc's calls: its runtime must see
 * every mapping to keep its shadow right.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc/alloc.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UM_OS_LIBC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define UM_OS_LIBC 1
#endif
#endif

#ifdef UM_OS_LIBC
#define um_sys_mmap(a, l, p, f) mmap(a, l, p, f, -1, 0)
#define um_sys_munmap munmap
#define um_sys_madvise madvise
#define um_sys_mremap mremap
#else
static void *um_sys_mmap(void *addr, size_t len, int prot, int flags)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, -1, 0);
}
static int um_sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}
static int um_sys_madvise(void *addr, size_t len, int advice)
{
	return (int)syscall(SYS_madvise, addr, len, advice);
}
static void *um_sys_mremap(void *addr, size_t old, size_t len, int flags, ...)
{
	void *dst = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		dst = va_arg(ap, void *);
		va_end(ap);
	}
	return (void *)syscall(SYS_mremap, addr, old, len, flags, dst);
}
#endif

/* ---- locks ----------------------------------------------------------- */

/* Drepper's mutex: 0 free, 1 locked, 2 locked with waiters. Acquire and
 * release on the word itself, which TSan understands as a lock. */
void um_mutex_lock(um_mutex_t *m)
{
	int c = 0;
	if (atomic_compare_exchange_strong_explicit(&m->v, &c, 1, memory_order_acquire,
						    memory_order_relaxed))
		return;
	if (c != 2)
		c = atomic_exchange_explicit(&m->v, 2, memory_order_acquire);
	while (c != 0) {
		syscall(SYS_futex, &m->v, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
		c = atomic_exchange_explicit(&m->v, 2, memory_order_acquire);
	}
}

void um_mutex_unlock(um_mutex_t *m)
{
	if (atomic_exchange_explicit(&m->v, 0, memory_order_release) == 2)
		syscall(SYS_futex, &m->v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- clock --------------------------------------------------------------- */

static _Atomic int um_os_libc_ok;

void um_os_started(void)
{
	atomic_store_explicit(&um_os_libc_ok, 1, memory_order_relaxed);
}

uint64_t um_now_ms(void)
{
	struct timespec ts;
	if (um_likely(atomic_load_explicit(&um_os_libc_ok, memory_order_relaxed)))
		clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	else
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- mappings ------------------------------------------------------------ */

static void *um_os_mmap(void *hint, size_t size, int prot)
{
	void *p = um_sys_mmap(hint, size, prot,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
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
		um_sys_munmap(raw, head);
	if (tail)
		um_sys_munmap((void *)(start + size), tail);
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
		um_sys_munmap(addr, size);
}

bool um_os_discard(void *addr, size_t size)
{
	if (addr == NULL || size == 0)
		return true;
	if (um_sys_madvise(addr, size, MADV_DONTNEED) != 0)
		return false;
	atomic_fetch_add_explicit(&um_stat_purged, size, memory_order_relaxed);
	return true;
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
	void *p = um_sys_mremap(addr, old_size, new_size, 0);
	if (p != MAP_FAILED)
		return p;
	void *dst = um_os_map_prot(new_size, align, PROT_NONE);
	if (dst == NULL)
		return NULL;
	p = um_sys_mremap(addr, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (p == MAP_FAILED) {
		um_sys_munmap(dst, new_size);
		return NULL;
	}
	return p;
}

/* Entropy for the allocator's cookies; never blocks, never fails. */
uintptr_t um_os_random(void)
{
	uintptr_t r = 0;
	if (syscall(SYS_getrandom, &r, sizeof(r), GRND_NONBLOCK) != (long)sizeof(r)) {
		struct timespec ts;
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
		r = (uintptr_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uintptr_t)&r;
	}
	return r;
}
