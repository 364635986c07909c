/* SPDX-License-Identifier: MIT */
/*
 * ranges.c - the range map (see ranges.h).
 *
 * A sorted array rebuilt on each change into a spare buffer and swapped:
 * updates are rare next to lookups and the array stays small now that
 * advice is forgotten with the memory. Both buffers are mmap'ed and grown
 * under the lock: no malloc, so the allocator may call in from anywhere.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "ranges/ranges.h"

const struct um_advice um_advice_default = {
	.preferred = UNIMEM_LOC_NONE,
	.placement = UNIMEM_LOC_NONE,
	.last_prefetch = UNIMEM_LOC_NONE,
	.granularity = UM_DEFAULT_GRANULARITY,
};

struct piece {
	uintptr_t start, end;
	struct um_advice a;
};

static struct {
	pthread_mutex_t lock;
	struct piece *v, *spare;
	size_t n, cap, spare_cap;
} map = { .lock = PTHREAD_MUTEX_INITIALIZER };
/* map.n, readable without the lock */
_Atomic size_t um_ranges_records;

static void map_fork_prepare(void) { pthread_mutex_lock(&map.lock); }
static void map_fork_release(void) { pthread_mutex_unlock(&map.lock); }
UM_FORK_HOOKS(map_fork_hooks, UM_FORK_RANK_RANGES, map_fork_prepare, map_fork_release,
	      map_fork_release);

static struct piece *pieces_map(size_t n)
{
	void *p = mmap(NULL, n * sizeof(struct piece), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void pieces_unmap(struct piece *p, size_t n)
{
	if (p)
		munmap(p, n * sizeof(struct piece));
}

static bool advice_equal(const struct um_advice *x, const struct um_advice *y)
{
	return x->preferred == y->preferred && x->placement == y->placement &&
	       x->last_prefetch == y->last_prefetch && x->accessed_by == y->accessed_by &&
	       x->read_mostly == y->read_mostly && x->granularity == y->granularity;
}

static struct um_advice changed(struct um_advice a, const struct um_range_change *c)
{
	switch (c->what) {
	case UM_CH_PREFERRED: a.preferred = (unimem_location_t)c->value; break;
	case UM_CH_PLACEMENT: a.placement = (unimem_location_t)c->value; break;
	case UM_CH_PREFETCH: a.last_prefetch = (unimem_location_t)c->value; break;
	case UM_CH_ACCESSED_SET: a.accessed_by |= c->value; break;
	case UM_CH_ACCESSED_CLEAR: a.accessed_by &= ~c->value; break;
	case UM_CH_READ_MOSTLY: a.read_mostly = (uint8_t)c->value; break;
	case UM_CH_GRANULARITY: a.granularity = (uint8_t)c->value; break;
	case UM_CH_FORGET: a = um_advice_default; break;
	}
	return a;
}

static void push(struct piece *out, size_t *n, uintptr_t s, uintptr_t e, struct um_advice a)
{
	if (s >= e || advice_equal(&a, &um_advice_default))
		return; /* defaults are implicit: the map only holds advice */
	if (*n && out[*n - 1].end == s && advice_equal(&out[*n - 1].a, &a)) {
		out[*n - 1].end = e; /* merge with the previous neighbour */
		return;
	}
	out[*n].start = s;
	out[*n].end = e;
	out[*n].a = a;
	(*n)++;
}

int um_ranges_update(uintptr_t start, uintptr_t end, const struct um_range_change *c)
{
	uintptr_t pos = start;
	size_t n = 0;

	pthread_mutex_lock(&map.lock);
	if (map.spare_cap < map.n + 3) { /* one change adds at most 2 splits + a gap */
		size_t cap = (map.n + 3) * 2 < 256 ? 256 : (map.n + 3) * 2;
		struct piece *p = pieces_map(cap);
		if (!p) {
			pthread_mutex_unlock(&map.lock);
			return um_error(-ENOMEM, "advise: out of memory for the range map");
		}
		pieces_unmap(map.spare, map.spare_cap);
		map.spare = p;
		map.spare_cap = cap;
	}
	struct piece *out = map.spare;
	for (size_t i = 0; i < map.n; i++) {
		const struct piece *s = &map.v[i];

		if (s->end <= start) {
			push(out, &n, s->start, s->end, s->a);
			continue;
		}
		if (s->start >= end) {
			push(out, &n, pos, end, changed(um_advice_default, c));
			pos = end;
			push(out, &n, s->start, s->end, s->a);
			continue;
		}
		push(out, &n, s->start, start, s->a);          /* part before */
		uintptr_t os = s->start > start ? s->start : start;
		uintptr_t oe = s->end < end ? s->end : end;
		push(out, &n, pos, os, changed(um_advice_default, c)); /* gap before it */
		push(out, &n, os, oe, changed(s->a, c));       /* the overlap */
		pos = oe;
		push(out, &n, end, s->end, s->a);              /* part after */
	}
	push(out, &n, pos, end, changed(um_advice_default, c));
	map.spare = map.v;
	map.v = out;
	size_t cap = map.spare_cap;
	map.spare_cap = map.cap;
	map.cap = cap;
	map.n = n;
	atomic_store_explicit(&um_ranges_records, n, memory_order_relaxed);
	pthread_mutex_unlock(&map.lock);
	return 0;
}

int um_ranges_walk(uintptr_t start, uintptr_t end, um_ranges_fn fn, void *arg)
{
	struct piece stack[32], *copy = stack;
	size_t n = 0, cap = 32, need;
	uintptr_t pos = start;
	int r = 0;

	for (;;) {
		pthread_mutex_lock(&map.lock);
		need = 0;
		for (size_t i = 0; i < map.n; i++)
			need += map.v[i].end > start && map.v[i].start < end;
		if (need <= cap)
			break;
		pthread_mutex_unlock(&map.lock);
		if (copy != stack)
			pieces_unmap(copy, cap);
		cap = need;
		copy = pieces_map(cap);
		if (!copy)
			return um_error(-ENOMEM, "range map: out of memory");
	}
	for (size_t i = 0; i < map.n; i++)
		if (map.v[i].end > start && map.v[i].start < end)
			copy[n++] = map.v[i];
	pthread_mutex_unlock(&map.lock);

	for (size_t i = 0; i < n && pos < end && r == 0; i++) {
		const struct piece *s = &copy[i];
		uintptr_t b = s->start > pos ? s->start : pos;
		uintptr_t e = s->end < end ? s->end : end;

		if (b > pos)
			r = fn(pos, b, &um_advice_default, arg);
		if (r == 0)
			r = fn(b, e, &s->a, arg);
		pos = e;
	}
	if (r == 0 && pos < end)
		r = fn(pos, end, &um_advice_default, arg);
	if (copy != stack)
		pieces_unmap(copy, cap);
	return r;
}

static int has_preferred(uintptr_t s, uintptr_t e, const struct um_advice *a, void *arg)
{
	(void)s;
	(void)e;
	(void)arg;
	return a->preferred != UNIMEM_LOC_NONE;
}

bool um_ranges_forget(uintptr_t start, uintptr_t end)
{
	struct um_range_change c = { UM_CH_FORGET, 0 };

	if (atomic_load_explicit(&um_ranges_records, memory_order_relaxed) == 0)
		return false;
	bool preferred = um_ranges_walk(start, end, has_preferred, NULL) == 1;
	(void)um_ranges_update(start, end, &c);
	return preferred;
}

