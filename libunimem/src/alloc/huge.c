/* SPDX-License-Identifier: MIT */
/*
 * huge.c - allocations above UM_SMALL_MAX: each its own mapping with the
 * header (struct um_segment, kind HUGE) in its first page, realloc through
 * mremap, and a bounded cache of freed mappings.
 */
#include <errno.h>
#include <string.h>

#include "alloc/alloc.h"

/*
 * Freed huge mappings kept for reuse, so a loop of 1 MiB malloc/free (or
 * a producer/consumer pair, or blocks of ever different sizes) does not
 * mmap, fault and munmap every time. A cached mapping serves any size:
 * whole when it is bigger (its pages are resident anyway) while the bytes
 * kept beyond what was asked for stay within the budget, else trimmed
 * (mremap, the tail unmapped), and grown (mremap: its resident pages
 * move, only the new tail faults) when no cached one is big enough.
 * Bounded in count (128) and address space (256 MiB), and in memory by a
 * byte budget: cached resident bytes plus what live blocks hold beyond
 * their size (slack) stay under 32 MiB, or under the recent peak of bytes
 * in live huge blocks when that is more (a producer/consumer pair cycles
 * its blocks in flight through the cache: a fixed 32 MiB made
 * cross-thread 1 MiB blocks 10x slower; the peak decays to what is live
 * after UM_HUGE_IDLE_MS), and entries of
 * 4 MiB and more stay under 64 MiB resident whatever the peak; beyond
 * that the oldest entries are discarded (pages back to the OS, the
 * mapping stays and refaults as zero). Entries idle for UM_HUGE_IDLE_MS
 * are discarded too. unimem_collect() empties the cache.
 */
#define UM_HUGE_CACHE_MAX 128
#define UM_HUGE_CACHE_BYTES ((size_t)256 << 20)
#define UM_HUGE_CACHE_RESIDENT ((size_t)32 << 20)
#define UM_HUGE_CACHE_RESIDENT_BIG ((size_t)64 << 20)
#define UM_HUGE_BIG UM_SEGMENT_SIZE /* 4 MiB */
#define UM_HUGE_IDLE_MS 1000
static uint64_t um_huge_aged_ms;
static um_mutex_t um_huge_mutex;
static struct um_segment *um_huge_cache; /* newest first */
static size_t um_huge_cache_count, um_huge_cache_bytes;
static size_t um_huge_cache_resident; /* of entries not discarded */
static size_t um_huge_cache_resident_big; /* of those, UM_HUGE_BIG and more */
static size_t um_huge_slack; /* live blocks' huge_slack, summed */
static size_t um_huge_live;  /* bytes of live huge mappings */
static size_t um_huge_peak;  /* recent peak of um_huge_live */
static uint64_t um_huge_peak_ms;
static uint64_t um_huge_now; /* the clock at a recent free: enough for aging */
static unsigned um_huge_frees;

/* The rare paths where a mapping's size is not what was counted. */
static void um_huge_live_adjust(size_t add, size_t sub)
{
	um_mutex_lock(&um_huge_mutex);
	um_huge_live += add;
	um_huge_live -= um_huge_live >= sub ? sub : um_huge_live;
	um_mutex_unlock(&um_huge_mutex);
}

/* Caller holds um_huge_mutex. */
static size_t um_huge_budget(void)
{
	if (um_huge_live > um_huge_peak)
		um_huge_peak = um_huge_live;
	return um_huge_peak > UM_HUGE_CACHE_RESIDENT ? um_huge_peak : UM_HUGE_CACHE_RESIDENT;
}

/* Caller holds um_huge_mutex. */
static void um_huge_discard(struct um_segment *s)
{
	/* private anonymous: refaults as zero, unless the kernel refused
	 * (mlock'ed): then the bytes stay, and the entry counts as given
	 * back all the same (there is nothing more to do for it) */
	if (um_os_discard((uint8_t *)s + s->huge_offset, s->map_size - s->huge_offset))
		s->huge_zero = true;
	s->huge_discarded = true;
	um_huge_cache_resident -= s->map_size;
	if (s->map_size >= UM_HUGE_BIG)
		um_huge_cache_resident_big -= s->map_size;
}

/* Caller holds um_huge_mutex. Idle entries: scans at most every 50 ms. */
static void um_huge_cache_age(uint64_t now)
{
	/* Over the memory budget: the oldest resident entries go at once. */
	while (um_huge_cache_resident + um_huge_slack > um_huge_budget()) {
		struct um_segment *oldest = NULL;
		for (struct um_segment *s = um_huge_cache; s; s = s->cache_next)
			if (!s->huge_discarded)
				oldest = s;
		if (oldest == NULL)
			break;
		um_huge_discard(oldest);
	}
	/* and big entries by a fixed bound, whatever the peak */
	while (um_huge_cache_resident_big > UM_HUGE_CACHE_RESIDENT_BIG) {
		struct um_segment *oldest = NULL;
		for (struct um_segment *s = um_huge_cache; s; s = s->cache_next)
			if (!s->huge_discarded && s->map_size >= UM_HUGE_BIG)
				oldest = s;
		if (oldest == NULL)
			break;
		um_huge_discard(oldest);
	}
	if (now - um_huge_aged_ms < 50)
		return;
	um_huge_aged_ms = now;
	if (now - um_huge_peak_ms >= UM_HUGE_IDLE_MS) {
		um_huge_peak_ms = now;
		um_huge_peak = um_huge_live;
	}
	for (struct um_segment *s = um_huge_cache; s; s = s->cache_next)
		if (!s->huge_discarded && now - s->cached_at_ms >= UM_HUGE_IDLE_MS)
			um_huge_discard(s);
}

static void um_huge_fork_prepare(void) { um_mutex_lock(&um_huge_mutex); }
static void um_huge_fork_release(void) { um_mutex_unlock(&um_huge_mutex); }
UM_FORK_HOOKS(um_huge_fork_hooks, UM_FORK_RANK_HUGE, um_huge_fork_prepare,
	      um_huge_fork_release, um_huge_fork_release);

/*
 * Where the user block starts in its mapping: after the header page, or at
 * the alignment asked for. Alignments above a segment put the block one
 * segment in, on a mapping placed so that this is aligned: the address
 * space taken is size + 4 MiB whatever the alignment (it used to be
 * size + alignment: a terabyte for posix_memalign(1 << 40)).
 */
static size_t um_huge_offset(size_t align)
{
	size_t off = um_page_size();
	if (align > UM_SEGMENT_SIZE)
		return UM_SEGMENT_SIZE;
	return align > off ? align : off;
}

/* Caller holds um_huge_mutex: unlink @s (*pp points at it). */
static void um_huge_cache_unlink(struct um_segment **pp, struct um_segment *s)
{
	*pp = s->cache_next;
	um_huge_cache_count--;
	um_huge_cache_bytes -= s->map_size;
	if (!s->huge_discarded) {
		um_huge_cache_resident -= s->map_size;
		if (s->map_size >= UM_HUGE_BIG)
			um_huge_cache_resident_big -= s->map_size;
	}
}

static struct um_segment *um_huge_resize(struct um_segment *seg, size_t need);
static void um_huge_unmap(struct um_segment *seg);

/*
 * A cached mapping for @map_size bytes: the newest that fits within 25 %,
 * else the smallest that is big enough, else the biggest resident one,
 * grown. Same placement and alignment only. Each entry read is a header
 * in its own mapping, a likely cache and TLB miss: the first good fit
 * ends the search (newest first: the warmest), and the others look at
 * the newest UM_HUGE_SCAN entries only.
 */
#define UM_HUGE_SCAN 32
static struct um_segment *um_huge_cache_take(size_t map_size, size_t offset,
					     size_t align, unimem_location_t loc)
{
	struct um_segment *fit = NULL, **fitp = NULL, *grow = NULL, **growp = NULL;
	int scanned = 0;
	um_mutex_lock(&um_huge_mutex);
	um_huge_cache_age(um_huge_now); /* no clock read on the allocation path */
	for (struct um_segment **pp = &um_huge_cache; *pp; pp = &(*pp)->cache_next) {
		struct um_segment *s = *pp;
		if (s->loc != loc || s->huge_offset != offset ||
		    (align > offset && (((uintptr_t)s + offset) & (align - 1)) != 0))
			continue;
		if (s->map_size >= map_size && s->map_size - map_size <= map_size / 4) {
			fit = s, fitp = pp; /* good enough: stop here */
			break;
		}
		if (++scanned > UM_HUGE_SCAN) {
			if (fit != NULL || grow != NULL)
				break;
			continue; /* still looking for a close fit */
		}
		if (s->map_size >= map_size) {
			/* smallest; among equals a resident one */
			if (fit == NULL || s->map_size < fit->map_size ||
			    (s->map_size == fit->map_size && fit->huge_discarded))
				fit = s, fitp = pp;
		} else if (!s->huge_discarded && (grow == NULL || s->map_size > grow->map_size)) {
			grow = s, growp = pp;
		}
	}
	struct um_segment *found = fit ? fit : grow;
	bool whole = false;
	if (found) {
		um_huge_cache_unlink(fit ? fitp : growp, found);
		/* Bigger is used whole while the slack fits the budget: its
		 * pages are resident already, and trimming them to grow again
		 * later would fault them back. */
		size_t slack = found->map_size - map_size;
		whole = fit != NULL &&
			(slack <= map_size / 4 ||
			 um_huge_cache_resident + um_huge_slack + slack <= um_huge_budget());
		if (whole) {
			found->huge_slack = slack;
			um_huge_slack += slack;
		}
	}
	/* counted now, hit or miss (a miss maps @map_size) */
	um_huge_live += whole ? found->map_size : map_size;
	um_mutex_unlock(&um_huge_mutex);
	if (found != NULL && found->huge_discarded)
		atomic_fetch_add_explicit(&um_stat_huge_fresh, found->map_size,
					  memory_order_relaxed);
	if (found == NULL || whole)
		return found;
	/* Another size: the mapping moves or shrinks, its pages stay. The
	 * alignment above a segment is not kept by a move. */
	size_t old_size = found->map_size;
	bool was_discarded = found->huge_discarded;
	struct um_segment *r = align > UM_SEGMENT_SIZE && found->map_size < map_size
				       ? NULL
				       : um_huge_resize(found, map_size);
	if (r == NULL) {
		if (found->map_size >= map_size) {
			um_huge_live_adjust(found->map_size, map_size);
			return found; /* could not trim: use it whole */
		}
		um_huge_unmap(found);
		return NULL;
	}
	/* huge_zero holds: a grown tail is fresh, the rest as it was */
	if (!was_discarded && r->map_size > old_size)
		atomic_fetch_add_explicit(&um_stat_huge_fresh, r->map_size - old_size,
					  memory_order_relaxed);
	return r;
}

/*
 * The per-thread stash: a thread's last few freed huge blocks (up to
 * UM_HUGE_STASH, UM_HUGE_STASH_BYTES, each at most UM_HUGE_STASH_BLOCK),
 * reused by its next huge allocations of a close size without the
 * cache's lock: two lock round trips were half of a cached 1 MiB
 * malloc+free. A stashed block stays counted as live in the cache's
 * budget (what it keeps resident is accounted, only not reusable by
 * other threads). It goes to the shared cache when the stash is full
 * (oldest first), when the thread asks for a size the stash cannot
 * serve (the shared cache grows and trims blocks to fit: a stash that
 * held on to them made python3's footprint grow by 15 MiB), and when its
 * thread exits. unimem_collect() unmaps the caller's stash and bumps
 * um_huge_stash_gen: every other thread unmaps its stash at its next
 * huge allocation or free (a thread that never makes one again keeps at
 * most its stash). Device blocks are never stashed: the cache places
 * them again when it hands them out.
 */
#define UM_HUGE_STASH_BYTES ((size_t)12 << 20)
#define UM_HUGE_STASH_BLOCK UM_HUGE_BIG
static _Atomic uint32_t um_huge_stash_gen;

static void um_huge_cache_put(struct um_segment *seg);

/* Empty @tld's stash: into the shared cache, or (@unmap) to the OS. */
static size_t um_huge_stash_empty(struct um_tld *tld, bool unmap)
{
	uint32_t n = tld->huge_stash_count;
	size_t bytes = tld->huge_stash_bytes, slack = 0;
	tld->huge_stash_count = 0;
	tld->huge_stash_bytes = 0;
	tld->huge_stash_gen = atomic_load_explicit(&um_huge_stash_gen, memory_order_relaxed);
	if (!unmap) {
		for (uint32_t i = 0; i < n; i++)
			um_huge_cache_put(tld->huge_stash[i]);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++)
		slack += tld->huge_stash[i]->huge_slack;
	um_mutex_lock(&um_huge_mutex); /* they were counted live */
	um_huge_live -= um_huge_live >= bytes ? bytes : um_huge_live;
	um_huge_slack -= slack;
	um_mutex_unlock(&um_huge_mutex);
	for (uint32_t i = 0; i < n; i++)
		um_huge_unmap(tld->huge_stash[i]);
	return bytes;
}

void um_huge_stash_flush(struct um_tld *tld)
{
	um_huge_stash_empty(tld, false);
}

/* unimem_collect() ran since @tld last looked: its stash goes to the OS. */
static inline void um_huge_stash_check(struct um_tld *tld)
{
	if (um_unlikely(tld->huge_stash_gen !=
			atomic_load_explicit(&um_huge_stash_gen, memory_order_relaxed)))
		um_huge_stash_empty(tld, true);
}

/* Keep freed @seg in the calling thread's stash; false: not stashable. */
static bool um_huge_stash_put(struct um_tld *tld, struct um_segment *seg)
{
	if (seg->map_size > UM_HUGE_STASH_BLOCK ||
	    UNIMEM_LOC_KIND(seg->loc) == UNIMEM_LOC_KIND_DEVICE)
		return false;
	um_huge_stash_check(tld);
	while (tld->huge_stash_count == UM_HUGE_STASH ||
	       (tld->huge_stash_count > 0 &&
		tld->huge_stash_bytes + seg->map_size > UM_HUGE_STASH_BYTES)) {
		struct um_segment *oldest = tld->huge_stash[0];
		tld->huge_stash_count--;
		tld->huge_stash_bytes -= oldest->map_size;
		memmove(&tld->huge_stash[0], &tld->huge_stash[1],
			tld->huge_stash_count * sizeof(tld->huge_stash[0]));
		um_huge_cache_put(oldest);
	}
	tld->huge_stash[tld->huge_stash_count++] = seg;
	tld->huge_stash_bytes += seg->map_size;
	return true;
}

/* A stashed block for @map_size bytes: the newest within 25 %, or NULL. */
static struct um_segment *um_huge_stash_take(struct um_tld *tld, size_t map_size,
					     size_t offset, size_t align,
					     unimem_location_t loc)
{
	um_huge_stash_check(tld);
	for (uint32_t i = tld->huge_stash_count; i-- > 0;) {
		struct um_segment *s = tld->huge_stash[i];
		if (s->loc != loc || s->huge_offset != offset || s->map_size < map_size ||
		    s->map_size - map_size > map_size / 4 ||
		    (align > offset && (((uintptr_t)s + offset) & (align - 1)) != 0))
			continue;
		tld->huge_stash_count--;
		tld->huge_stash_bytes -= s->map_size;
		memmove(&tld->huge_stash[i], &tld->huge_stash[i + 1],
			(tld->huge_stash_count - i) * sizeof(tld->huge_stash[0]));
		return s;
	}
	return NULL;
}

static void um_huge_unmap(struct um_segment *seg)
{
	um_alloc_forget(seg, seg->map_size);
	um_registry_clear(seg, seg->map_size, seg);
	seg->magic = 0;
	um_os_unmap(seg, seg->map_size);
}

void *um_huge_alloc(struct um_heap *heap, size_t size, size_t align, bool zero)
{
	size_t ps = um_page_size();
	size_t offset = um_huge_offset(align);
	size_t map_size = offset + ((size + ps - 1) & ~(ps - 1));
	if (size > PTRDIFF_MAX || map_size < size) {
		errno = ENOMEM;
		return NULL;
	}
	size_t map_align = align > UM_SEGMENT_SIZE ? align : UM_SEGMENT_SIZE;
	size_t map_offset = align > UM_SEGMENT_SIZE ? offset : 0;
	unimem_location_t loc = heap->loc;

	struct um_tld *tld = um_thread_tld;
	struct um_segment *seg = NULL;
	if (tld != NULL && tld->huge_stash_count > 0) {
		seg = um_huge_stash_take(tld, map_size, offset, align, loc);
		/* a miss: the shared cache reuses across sizes, so it gets
		 * the stash's blocks before it is asked */
		if (seg == NULL)
			um_huge_stash_flush(tld);
	}
	if (seg == NULL)
		seg = um_huge_cache_take(map_size, offset, align, loc);
	if (seg != NULL && UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_DEVICE) {
		/* A cached block may have been discarded meanwhile, and a device
		 * has no fault-time policy: place it again (what is there stays). */
		size_t skip = heap->oob ? offset : 0;
		(void)um_alloc_place(loc, (uint8_t *)seg + skip, seg->map_size - skip);
	}
	if (seg == NULL) {
		seg = um_os_map_at_offset(map_size, map_align, map_offset);
		if (seg == NULL) {
			um_huge_live_adjust(0, map_size);
			errno = ENOMEM;
			return NULL;
		}
		um_alloc_forget(seg, map_size);
		/* On a device the header page stays in host memory; a host bind
		 * covers it too (one VMA, so realloc's mremap works). */
		size_t skip = heap->oob ? offset : 0;
		int err = um_alloc_place(loc, (uint8_t *)seg + skip, map_size - skip);
		if (err == 0)
			err = um_registry_set(seg, map_size, seg);
		if (err != 0) {
			um_os_unmap(seg, map_size);
			um_huge_live_adjust(0, map_size);
			errno = -err;
			return NULL;
		}
		seg->magic = UM_SEG_MAGIC;
		seg->kind = UM_SEG_HUGE;
		seg->map_size = map_size;
		seg->loc = loc;
		seg->huge_offset = offset;
		seg->huge_zero = true;
		atomic_fetch_add_explicit(&um_stat_huge_total, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&um_stat_huge_fresh, map_size, memory_order_relaxed);
	}
	uint8_t *p = (uint8_t *)seg + offset;
	if (zero && !seg->huge_zero)
		memset(p, 0, size); /* the rest is never handed out as zero */
	seg->huge_zero = false;
	atomic_store_explicit(&seg->huge_state, UM_HUGE_LIVE, memory_order_release);
	um_huge_account(1, (int64_t)seg->map_size);
	return p;
}

void um_huge_free(struct um_segment *seg, void *p)
{
	int live = UM_HUGE_LIVE;
	if ((uint8_t *)p != (uint8_t *)seg + seg->huge_offset ||
	    !atomic_compare_exchange_strong(&seg->huge_state, &live, UM_HUGE_CACHED)) {
		um_report_invalid("free", p, "double free or not a live unimem allocation");
		return;
	}
	um_huge_account(-1, -(int64_t)seg->map_size);
	/* cached blocks carry no advice: the next owner starts clean */
	um_alloc_reuse(p, seg->map_size - seg->huge_offset, seg->loc);
	struct um_tld *tld = um_thread_tld;
	if (tld != NULL && um_huge_stash_put(tld, seg))
		return;
	um_huge_cache_put(seg);
}

/* Freed @seg (state CACHED, advice dropped) into the shared cache. */
static void um_huge_cache_put(struct um_segment *seg)
{
	struct um_segment *evict = NULL;
	um_mutex_lock(&um_huge_mutex);
	/* The clock every 8th free: a vDSO read is a third of a cached
	 * 1 MiB malloc+free, and aging needs no better. */
	if ((um_huge_frees++ & 7) == 0)
		um_huge_now = um_now_ms();
	uint64_t now = um_huge_now;
	um_huge_live -= um_huge_live >= seg->map_size ? seg->map_size : um_huge_live;
	size_t slack = seg->huge_slack;
	um_huge_slack -= slack;
	seg->huge_slack = 0;
	/* Cached whole it would put the cache over its budget: give the
	 * slack back first (mremap shrinks in place), so the mappings adapt
	 * to the sizes asked for instead of older entries being discarded. */
	if (slack >= ((size_t)1 << 20) &&
	    um_huge_cache_resident + um_huge_slack + seg->map_size > um_huge_budget()) {
		um_mutex_unlock(&um_huge_mutex);
		struct um_segment *t = um_huge_resize(seg, seg->map_size - slack);
		if (t != NULL)
			seg = t;
		um_mutex_lock(&um_huge_mutex);
	}
	um_huge_cache_age(now);
	if (seg->map_size <= UM_HUGE_CACHE_BYTES / 4) {
		seg->cached_at_ms = now;
		seg->huge_discarded = false;
		seg->cache_next = um_huge_cache;
		um_huge_cache = seg;
		um_huge_cache_count++;
		um_huge_cache_bytes += seg->map_size;
		um_huge_cache_resident += seg->map_size;
		if (seg->map_size >= UM_HUGE_BIG)
			um_huge_cache_resident_big += seg->map_size;
		if (seg->map_size > um_huge_budget())
			um_huge_discard(seg); /* alone over the budget: not the others */
		seg = NULL;
		/* over budget: drop the oldest (the tail) */
		if (um_huge_cache_count > UM_HUGE_CACHE_MAX ||
		    um_huge_cache_bytes > UM_HUGE_CACHE_BYTES) {
			struct um_segment **pp = &um_huge_cache;
			while ((*pp)->cache_next)
				pp = &(*pp)->cache_next;
			evict = *pp;
			um_huge_cache_unlink(pp, evict);
		}
		um_huge_cache_age(now); /* the memory budget, with the new entry */
	}
	um_mutex_unlock(&um_huge_mutex);
	if (seg)
		um_huge_unmap(seg);
	if (evict)
		um_huge_unmap(evict);
}

/*
 * Resize huge mapping @seg to @need bytes (header included): in place
 * when the kernel can, else moved without copying (mremap). The registry
 * and the placement follow; the statistics are the caller's. NULL when it
 * cannot (@seg unchanged).
 */
static struct um_segment *um_huge_resize(struct um_segment *seg, size_t need)
{
	size_t old_size = seg->map_size;
	unimem_location_t loc = seg->loc;
	struct um_segment *nseg = um_os_remap(seg, old_size, need, UM_SEGMENT_SIZE);
	if (nseg == NULL)
		return NULL;
	if (nseg != seg) {
		/* moved: the old granules are no longer ours */
		um_alloc_forget(seg, old_size);
		um_registry_clear(seg, old_size, seg);
	} else if (need < old_size) {
		um_alloc_forget((uint8_t *)seg + need, old_size - need);
		um_registry_clear((uint8_t *)seg + need, old_size - need, seg);
		um_registry_set(seg, need, seg); /* the shared granule */
	}
	nseg->map_size = need;
	if (need > old_size && loc != UNIMEM_LOC_NONE) {
		/* mremap keeps the policy of the moved part; bind the new tail */
		um_alloc_place(loc, (uint8_t *)nseg + old_size, need - old_size);
	}
	/* cannot fail below 2^47 (the granules were ours or are new leaves
	 * of a mapping the kernel gave us) */
	(void)um_registry_set(nseg, need, nseg);
	return nseg;
}

void *um_huge_realloc(struct um_segment *seg, void *p, size_t size)
{
	size_t ps = um_page_size();
	size_t offset = seg->huge_offset;
	size_t need = offset + ((size + ps - 1) & ~(ps - 1));
	if (size > PTRDIFF_MAX || need < size) {
		errno = ENOMEM;
		return NULL;
	}
	/* fits, and not shrinking by more than half: keep it */
	if (need <= seg->map_size && need >= seg->map_size / 2)
		return p;
	size_t old_size = seg->map_size;
	struct um_segment *nseg = um_huge_resize(seg, need);
	if (nseg == NULL) {
		if (need <= old_size)
			return p; /* could not shrink: harmless */
		errno = ENOMEM;
		return NULL;
	}
	um_huge_account(0, (int64_t)need - (int64_t)old_size);
	um_mutex_lock(&um_huge_mutex);
	um_huge_live += need;
	um_huge_live -= um_huge_live >= old_size ? old_size : um_huge_live;
	um_huge_slack -= nseg->huge_slack; /* sized to the request now */
	nseg->huge_slack = 0;
	um_mutex_unlock(&um_huge_mutex);
	return (uint8_t *)nseg + offset;
}

size_t um_huge_cache_flush(void)
{
	/* every stash goes at its thread's next huge call, ours now */
	atomic_fetch_add_explicit(&um_huge_stash_gen, 1, memory_order_relaxed);
	size_t bytes = um_thread_tld != NULL ? um_huge_stash_empty(um_thread_tld, true) : 0;
	um_mutex_lock(&um_huge_mutex);
	struct um_segment *list = um_huge_cache;
	um_huge_cache = NULL;
	um_huge_cache_count = um_huge_cache_bytes = um_huge_cache_resident = 0;
	um_huge_cache_resident_big = 0;
	um_mutex_unlock(&um_huge_mutex);
	while (list) {
		struct um_segment *next = list->cache_next;
		bytes += list->map_size;
		um_huge_unmap(list);
		list = next;
	}
	return bytes;
}
