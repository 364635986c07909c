/* SPDX-License-Identifier: MIT */
/*
 * preload.c - libunimem-preload.so: the whole malloc family for LD_PRELOAD.
 *
 * Works from the first malloc ld.so or libc makes, before any constructor:
 * the allocator initialises itself lazily and needs nothing from libc's
 * malloc (no dlsym, no lazy binding: the library is linked -z now).
 * fork() is safe through the library's fork-handler registry. malloc_trim,
 * mallinfo/mallinfo2, malloc_stats and mallopt are unimem's too.
 *
 * Environment:
 *   UNIMEM_LOCATION=<name>    place the heap there ("node1", "host:1",
 *                             "system", "unimem0"); a bad or unreachable
 *                             location is reported and ignored.
 *   UNIMEM_PRELOAD_STATS=1    print one line of statistics at exit.
 *
 * A program built with a sanitizer (ASan, TSan, MSan, LSan) is refused
 * at start with a message on stderr and exit status 86.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "alloc/alloc.h"

#define UM_PRELOAD_API __attribute__((visibility("default")))
#define UM_PRELOAD_REFUSED 86 /* exit status: the preload refused to run */

/* A sanitizer runtime in the process (weak: null when absent; -z now
 * resolves them at load, no dlsym). */
extern void __asan_init(void) __attribute__((weak));
extern void __tsan_init(void) __attribute__((weak));
extern void __msan_init(void) __attribute__((weak));
extern void __hwasan_init(void) __attribute__((weak));
extern void __lsan_init(void) __attribute__((weak));

/* Tolerate a library built without the locations part. */
#pragma weak unimem_location_parse
#pragma weak unimem_location_name

static bool um_is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

UM_PRELOAD_API void *malloc(size_t size) { return um_malloc(size); }
UM_PRELOAD_API void free(void *p) { um_free(p); }
UM_PRELOAD_API void *calloc(size_t n, size_t size) { return um_calloc(n, size); }
UM_PRELOAD_API void *realloc(void *p, size_t size) { return um_realloc(p, size); }
UM_PRELOAD_API size_t malloc_usable_size(void *p) { return um_usable_size(p); }

UM_PRELOAD_API void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return um_realloc(p, total);
}

/* glibc's memalign rounds a non-power-of-two alignment up. */
UM_PRELOAD_API void *memalign(size_t align, size_t size)
{
	if (align > ((size_t)1 << (sizeof(size_t) * 8 - 2))) {
		errno = EINVAL;
		return NULL;
	}
	if (!um_is_pow2(align)) {
		size_t a = UM_MIN_ALIGN;
		while (a < align)
			a <<= 1;
		align = a;
	}
	return um_aligned(align, size);
}

/* glibc 2.36's aligned_alloc is memalign (2.38 started rejecting
 * non-powers of two): programs built against it rely on that. */
UM_PRELOAD_API void *aligned_alloc(size_t align, size_t size)
{
	return memalign(align, size);
}

UM_PRELOAD_API int posix_memalign(void **memptr, size_t align, size_t size)
{
	/* memptr is declared nonnull by glibc: no NULL check */
	if (!um_is_pow2(align) || align < sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = um_aligned(align, size);
	errno = saved;
	if (p == NULL)
		return ENOMEM;
	*memptr = p;
	return 0;
}

UM_PRELOAD_API void *valloc(size_t size)
{
	return um_aligned(um_page_size(), size);
}

UM_PRELOAD_API void *pvalloc(size_t size)
{
	size_t ps = um_page_size();
	size_t rounded = (size + ps - 1) & ~(ps - 1);
	if (rounded < size) {
		errno = ENOMEM;
		return NULL;
	}
	return um_aligned(ps, rounded ? rounded : ps);
}

/* ---- statistics and trimming (glibc's names) ------------------------- */

/*
 * mallinfo2: small segments are the "arena" (uordblks counts the slices in
 * pages, whose blocks are live or free: an upper bound of what is in use),
 * huge allocations the "mmapped" blocks.
 */
UM_PRELOAD_API struct mallinfo2 mallinfo2(void)
{
	struct um_alloc_stats st;
	struct mallinfo2 mi;
	um_alloc_get_stats(&st);
	memset(&mi, 0, sizeof(mi));
	mi.arena = st.segments_mapped * UM_SEGMENT_SIZE;
	mi.uordblks = st.page_bytes;
	mi.fordblks = mi.arena > mi.uordblks ? mi.arena - mi.uordblks : 0;
	mi.hblks = st.huge_live;
	mi.hblkhd = st.huge_bytes;
	return mi;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
UM_PRELOAD_API struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi;
	memset(&mi, 0, sizeof(mi));
	/* int fields, as glibc: they wrap above 2 GiB */
	mi.arena = (int)m2.arena;
	mi.uordblks = (int)m2.uordblks;
	mi.fordblks = (int)m2.fordblks;
	mi.hblks = (int)m2.hblks;
	mi.hblkhd = (int)m2.hblkhd;
	return mi;
}
#pragma GCC diagnostic pop

/* Everything the allocator keeps for reuse goes back; @pad does not apply. */
UM_PRELOAD_API int malloc_trim(size_t pad)
{
	(void)pad;
	return unimem_collect() > 0;
}

/* Same layout as glibc's, on stderr. */
UM_PRELOAD_API void malloc_stats(void)
{
	struct mallinfo2 mi = mallinfo2();
	char msg[512];
	int len = snprintf(msg, sizeof(msg),
			   "Arena 0:\nsystem bytes     = %10zu\nin use bytes     = %10zu\n"
			   "Total (incl. mmap):\nsystem bytes     = %10zu\n"
			   "in use bytes     = %10zu\nmax mmap regions = %10zu\n"
			   "max mmap bytes   = %10zu\n",
			   mi.arena, mi.uordblks, mi.arena + mi.hblkhd, mi.uordblks + mi.hblkhd,
			   mi.hblks, mi.hblkhd);
	if (len > 0) {
		ssize_t r = write(STDERR_FILENO, msg, (size_t)len < sizeof(msg) ? (size_t)len
								  : sizeof(msg) - 1);
		(void)r;
	}
}

/* glibc's tunables steer glibc's heap: accepted, nothing to do here. */
UM_PRELOAD_API int mallopt(int param, int value)
{
	(void)param;
	(void)value;
	return 1;
}

/* ---- environment ----------------------------------------------------- */

/* "nodeN", "host:N", "system": enough if location.c is absent. */
static int um_parse_minimal(const char *s, unimem_location_t *loc)
{
	char *end;
	unsigned long n;
	if (strcmp(s, "system") == 0) {
		*loc = UNIMEM_LOC_SYSTEM;
		return 0;
	}
	if (strncmp(s, "node", 4) == 0)
		s += 4;
	else if (strncmp(s, "host:", 5) == 0)
		s += 5;
	else
		return -EINVAL;
	n = strtoul(s, &end, 10);
	if (end == s || *end != '\0' || n > UNIMEM_LOC_INDEX_MASK)
		return -EINVAL;
	*loc = UNIMEM_LOC_HOST(n);
	return 0;
}

static void um_preload_say(const char *msg)
{
	ssize_t r = write(STDERR_FILENO, msg, strlen(msg));
	(void)r;
}

/* Programs may close stderr before exit (coreutils do): keep our own. */
static int um_stats_fd = -1;

/*
 * A sanitizer runtime is an allocator too, and not all of its allocations
 * go through malloc: ASan's strdup, for one, takes its own heap, whose
 * blocks the program then frees to ours. Two allocators cannot share a
 * process, so refuse clearly rather than leak, misreport or crash later.
 * (The start-up itself is safe: the allocator's early calls do not go
 * through the runtime's interceptors, see alloc/os.c.)
 */
static void um_preload_refuse_sanitizer(void)
{
	const char *which = NULL;
	if (__asan_init || __hwasan_init)
		which = "AddressSanitizer";
	else if (__tsan_init)
		which = "ThreadSanitizer";
	else if (__msan_init)
		which = "MemorySanitizer";
	else if (__lsan_init)
		which = "LeakSanitizer";
	if (which == NULL)
		return;
	char msg[400];
	snprintf(msg, sizeof(msg),
		 "unimem-preload: this program runs with %s, whose runtime has its own "
		 "allocator; it cannot share the process with libunimem-preload.so. Run "
		 "it without LD_PRELOAD (the sanitizer checks its allocations), or build "
		 "it without -fsanitize to use unimem's malloc.\n",
		 which);
	um_preload_say(msg);
	_exit(UM_PRELOAD_REFUSED);
}

__attribute__((constructor)) static void um_preload_init(void)
{
	um_os_started();
	um_preload_refuse_sanitizer();
	const char *stats = getenv("UNIMEM_PRELOAD_STATS");
	if (stats != NULL && strcmp(stats, "1") == 0)
		um_stats_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 64);

	const char *name = getenv("UNIMEM_LOCATION");
	if (name == NULL || *name == '\0')
		return;
	unimem_location_t loc;
	int err = unimem_location_parse ? unimem_location_parse(name, &loc)
					: um_parse_minimal(name, &loc);
	char msg[256];
	if (err != 0) {
		snprintf(msg, sizeof(msg),
			 "unimem-preload: UNIMEM_LOCATION=%s is not a location; using the default\n",
			 name);
		um_preload_say(msg);
		return;
	}
	/* One allocation there proves the provider can place memory on it. */
	void *probe = unimem_malloc_on(1, loc);
	if (probe == NULL) {
		snprintf(msg, sizeof(msg),
			 "unimem-preload: cannot place the heap on %s (%s); using the default\n",
			 name, strerror(errno));
		um_preload_say(msg);
		return;
	}
	um_free(probe);
	um_alloc_set_default_location(loc);
}

__attribute__((destructor)) static void um_preload_fini(void)
{
	if (um_stats_fd < 0)
		return;
	struct um_alloc_stats st;
	char where[32] = "none", msg[320];
	um_alloc_get_stats(&st);
	if (unimem_location_name)
		unimem_location_name(um_alloc_default_location(), where, sizeof(where));
	snprintf(msg, sizeof(msg),
		 "unimem-preload: active pid=%d location=%s segments=%llu "
		 "segments_total=%llu huge_live=%llu huge_total=%llu "
		 "invalid_frees=%llu abandoned_heaps=%llu\n",
		 (int)getpid(), where, (unsigned long long)st.segments_mapped,
		 (unsigned long long)st.segments_total,
		 (unsigned long long)st.huge_live, (unsigned long long)st.huge_total,
		 (unsigned long long)st.invalid_frees,
		 (unsigned long long)st.heaps_abandoned);
	ssize_t r = write(um_stats_fd, msg, strlen(msg));
	(void)r;
}
