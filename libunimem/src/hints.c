/* SPDX-License-Identifier: MIT */
/*
 * hints.c - prefetch, advise, granularity and range attributes.
 *
 * Advice lives in a range table (sorted, non-overlapping segments of
 * address space with their attributes), so unimem_range_get_attr() returns
 * what was set whatever the backend could apply. Applied are: a host
 * preferred location (a non-strict hwloc bind, i.e. MPOL_PREFERRED, without
 * migration: pages move only on prefetch), and, when the module has range
 * attributes (UNIMEM_IOCTL_ATTR), everything, pushed to the module after
 * each change. Without the module, read-mostly, accessed-by and granularity
 * are advisory.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "backend.h"

#define DEFAULT_GRANULARITY 9   /* 2 MiB of 4 KiB pages */
#define MAX_GRANULARITY 12      /* 16 MiB of 4 KiB pages (the module's cap) */
#define SYSTEM_BIT 63           /* accessed-by bit of UNIMEM_LOC_SYSTEM */

struct attrs {
	unimem_location_t preferred;     /* NONE: unset */
	unimem_location_t placement;     /* set by um_place_range() */
	unimem_location_t last_prefetch; /* NONE: never prefetched */
	uint64_t accessed_by;            /* bit i: location table index i */
	uint8_t read_mostly;
	uint8_t granularity;
};

static const struct attrs defaults = {
	.preferred = UNIMEM_LOC_NONE,
	.placement = UNIMEM_LOC_NONE,
	.last_prefetch = UNIMEM_LOC_NONE,
	.granularity = DEFAULT_GRANULARITY,
};

struct seg {
	uintptr_t start, end;
	struct attrs a;
};

static struct {
	pthread_mutex_t lock;
	struct seg *v;
	size_t n;
} rt = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void rt_fork_prepare(void) { pthread_mutex_lock(&rt.lock); }
static void rt_fork_release(void) { pthread_mutex_unlock(&rt.lock); }
UM_FORK_HOOKS(rt_fork_hooks, UM_FORK_RANK_RANGES, rt_fork_prepare, rt_fork_release,
	      rt_fork_release);

static bool attrs_equal(const struct attrs *x, const struct attrs *y)
{
	return x->preferred == y->preferred && x->placement == y->placement &&
	       x->last_prefetch == y->last_prefetch && x->accessed_by == y->accessed_by &&
	       x->read_mostly == y->read_mostly && x->granularity == y->granularity;
}

struct change {
	enum { CH_PREFERRED, CH_PLACEMENT, CH_PREFETCH, CH_ACCESSED_SET,
	       CH_ACCESSED_CLEAR, CH_READ_MOSTLY, CH_GRANULARITY, CH_FORGET } what;
	uint64_t value;
};

static struct attrs changed(struct attrs a, const struct change *c)
{
	switch (c->what) {
	case CH_PREFERRED: a.preferred = (unimem_location_t)c->value; break;
	case CH_PLACEMENT: a.placement = (unimem_location_t)c->value; break;
	case CH_PREFETCH: a.last_prefetch = (unimem_location_t)c->value; break;
	case CH_ACCESSED_SET: a.accessed_by |= c->value; break;
	case CH_ACCESSED_CLEAR: a.accessed_by &= ~c->value; break;
	case CH_READ_MOSTLY: a.read_mostly = (uint8_t)c->value; break;
	case CH_GRANULARITY: a.granularity = (uint8_t)c->value; break;
	case CH_FORGET: a = defaults; break;
	}
	return a;
}

static void push(struct seg *out, size_t *n, uintptr_t s, uintptr_t e, struct attrs a)
{
	if (s >= e || attrs_equal(&a, &defaults))
		return; /* defaults are implicit: the table only holds advice */
	if (*n && out[*n - 1].end == s && attrs_equal(&out[*n - 1].a, &a)) {
		out[*n - 1].end = e; /* merge with the previous neighbour */
		return;
	}
	out[*n].start = s;
	out[*n].end = e;
	out[*n].a = a;
	(*n)++;
}

/*
 * Apply @c to [start, end): rebuild the table (it stays small). No malloc
 * under the lock: in the preload library malloc may grow a located heap,
 * which places it (um_place_range) and records that here.
 */
static int table_update(uintptr_t start, uintptr_t end, const struct change *c)
{
	struct seg *out = NULL;
	size_t n = 0, cap = 0;
	uintptr_t pos = start;

	pthread_mutex_lock(&rt.lock);
	while (cap < rt.n + 3) { /* one change adds at most 2 splits + a gap */
		cap = rt.n + 8;
		pthread_mutex_unlock(&rt.lock);
		free(out);
		out = malloc(cap * sizeof(*out));
		if (!out)
			return um_error(-ENOMEM, "advise: out of memory for the range table");
		pthread_mutex_lock(&rt.lock);
	}
	for (size_t i = 0; i < rt.n; i++) {
		const struct seg *s = &rt.v[i];

		if (s->end <= start) {
			push(out, &n, s->start, s->end, s->a);
			continue;
		}
		if (s->start >= end) {
			push(out, &n, pos, end, changed(defaults, c));
			pos = end;
			push(out, &n, s->start, s->end, s->a);
			continue;
		}
		push(out, &n, s->start, start, s->a);          /* part before */
		uintptr_t os = s->start > start ? s->start : start;
		uintptr_t oe = s->end < end ? s->end : end;
		push(out, &n, pos, os, changed(defaults, c));  /* gap before it */
		push(out, &n, os, oe, changed(s->a, c));       /* the overlap */
		pos = oe;
		push(out, &n, end, s->end, s->a);              /* part after */
	}
	push(out, &n, pos, end, changed(defaults, c));
	struct seg *old = rt.v;
	rt.v = out;
	rt.n = n;
	pthread_mutex_unlock(&rt.lock);
	free(old);
	return 0;
}

/*
 * Walk the pieces of [start, end) with their attributes (defaults in the
 * gaps), on a copy taken under the lock: the callbacks may call hwloc or
 * the module, which may malloc (see table_update). Stops early if @fn
 * returns non-zero.
 */
static int table_walk(uintptr_t start, uintptr_t end,
		      int (*fn)(uintptr_t s, uintptr_t e, const struct attrs *a, void *arg),
		      void *arg)
{
	struct seg *copy = NULL;
	size_t n = 0, cap = 0, need;
	uintptr_t pos = start;
	int r = 0;

	for (;;) {
		pthread_mutex_lock(&rt.lock);
		need = 0;
		for (size_t i = 0; i < rt.n; i++)
			need += rt.v[i].end > start && rt.v[i].start < end;
		if (need <= cap)
			break;
		pthread_mutex_unlock(&rt.lock);
		free(copy);
		cap = need;
		copy = malloc(cap * sizeof(*copy));
		if (!copy)
			return um_error(-ENOMEM, "range table: out of memory");
	}
	for (size_t i = 0; i < rt.n; i++)
		if (rt.v[i].end > start && rt.v[i].start < end)
			copy[n++] = rt.v[i];
	pthread_mutex_unlock(&rt.lock);

	for (size_t i = 0; i < n && pos < end && r == 0; i++) {
		const struct seg *s = &copy[i];
		uintptr_t b = s->start > pos ? s->start : pos;
		uintptr_t e = s->end < end ? s->end : end;

		if (b > pos)
			r = fn(pos, b, &defaults, arg);
		if (r == 0)
			r = fn(b, e, &s->a, arg);
		pos = e;
	}
	if (r == 0 && pos < end)
		r = fn(pos, end, &defaults, arg);
	free(copy);
	return r;
}

void um_hints_record_placement(uintptr_t start, uintptr_t end, unimem_location_t loc)
{
	struct change c = { CH_PLACEMENT, loc };
	(void)table_update(start, end, &c);
}

void um_hints_record_prefetch(uintptr_t start, uintptr_t end, unimem_location_t loc)
{
	struct change c = { CH_PREFETCH, loc };
	(void)table_update(start, end, &c);
}

void um_hints_forget(void *addr, size_t size)
{
	uintptr_t start, end;
	struct change c = { CH_FORGET, 0 };
	size_t n;

	/* Cheap when nothing was ever advised: the allocator may call it often. */
	pthread_mutex_lock(&rt.lock);
	n = rt.n;
	pthread_mutex_unlock(&rt.lock);
	if (n == 0)
		return;
	if (um_page_range("forget", addr, size, &start, &end) == 0)
		(void)table_update(start, end, &c);
}

/* The host policy a piece should have: preferred, else placement, else default. */
static int restore_piece(uintptr_t s, uintptr_t e, const struct attrs *a, void *arg)
{
	int *first_err = arg, err;

	if (UNIMEM_LOC_KIND(a->preferred) == UNIMEM_LOC_KIND_HOST ||
	    a->preferred == UNIMEM_LOC_SYSTEM) /* system: the kernel's choice */
		err = um_backend_host.apply_preferred((void *)s, e - s, a->preferred);
	else if (UNIMEM_LOC_KIND(a->placement) == UNIMEM_LOC_KIND_HOST)
		err = um_backend_host.place((void *)s, e - s, a->placement);
	else
		err = um_backend_host.apply_preferred((void *)s, e - s, UNIMEM_LOC_NONE);
	if (err < 0 && *first_err == 0)
		*first_err = err;
	return 0;
}

/* Push a piece's advice to the module (devices only know devices). */
static int push_piece(uintptr_t s, uintptr_t e, const struct attrs *a, void *arg)
{
	uint32_t devices = 0;
	int err;

	for (int bit = 0; bit < SYSTEM_BIT; bit++) {
		unimem_location_t loc;

		if (!(a->accessed_by & (1ull << bit)))
			continue;
		loc = um_location_at(bit);
		if (UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_DEVICE && UNIMEM_LOC_INDEX(loc) < 32)
			devices |= 1u << UNIMEM_LOC_INDEX(loc);
	}
	err = um_module_set_range_attrs(s, e, a->preferred, devices, a->read_mostly,
					a->granularity);
	if (err < 0) {
		*(int *)arg = err;
		return 1;
	}
	return 0;
}

static int push_to_module(uintptr_t start, uintptr_t end)
{
	int err = 0;

	if (!um_module_present())
		return 0;
	if (table_walk(start, end, push_piece, &err) < 0 && err == 0)
		err = -ENOMEM;
	return err;
}

int um_hints_restore_policy(uintptr_t start, uintptr_t end)
{
	int err = 0;

	if (table_walk(start, end, restore_piece, &err) < 0 && err == 0)
		err = -ENOMEM;
	return err;
}

/* ------------------------------------------------------------------------
 * Prefetch
 * ------------------------------------------------------------------------ */
static int check_mapped(const char *what, uintptr_t start, uintptr_t end)
{
	if (msync((void *)start, end - start, MS_ASYNC) < 0 && errno == ENOMEM)
		return um_error(-EFAULT, "%s: [%p, +%zu) is not (fully) mapped", what,
				(void *)start, (size_t)(end - start));
	return 0;
}

#define PREFETCH_FLAGS_ALL (UNIMEM_PREFETCH_CONTENT_UNDEFINED | UNIMEM_PREFETCH_ALL_OR_NOTHING)

int um_prefetch_validate(const char *what, const struct unimem_range *ranges,
			 size_t count, unimem_location_t loc, unsigned int flags)
{
	uintptr_t s, e;
	int err;

	if (flags & ~PREFETCH_FLAGS_ALL)
		return um_error(-EINVAL, "%s: unknown flags 0x%x", what,
				flags & ~PREFETCH_FLAGS_ALL);
	if (count && !ranges)
		return um_error(-EINVAL, "%s: ranges is NULL with count %zu", what, count);
	for (size_t i = 0; i < count; i++) {
		err = um_page_range(what, ranges[i].ptr, ranges[i].size, &s, &e);
		if (err < 0)
			return um_error(err, "%s: range %zu: %s", what, i, unimem_last_error());
	}
	return um_location_check(what, loc);
}

long um_prefetch_user_range(const char *what, const void *ptr, size_t size,
			    unimem_location_t loc, unsigned int flags)
{
	uintptr_t start, end, ps = um_page_size();
	int err;

	err = um_page_range(what, ptr, size, &start, &end);
	if (err < 0)
		return err;
	if (flags & UNIMEM_PREFETCH_CONTENT_UNDEFINED) {
		/*
		 * Drop the pages wholly inside the range instead of copying them;
		 * the partial pages at the ends hold other data and are moved.
		 */
		uintptr_t in_start = ((uintptr_t)ptr + ps - 1) & ~(ps - 1);
		uintptr_t in_end = ((uintptr_t)ptr + size) & ~(ps - 1);

		err = check_mapped(what, start, end);
		if (err < 0)
			return err;
		if (in_start < in_end)
			um_os_discard((void *)in_start, in_end - in_start);
	}
	return um_prefetch_range(start, end, loc, flags);
}

long unimem_prefetch(const void *ptr, size_t size, unimem_location_t loc,
		     unsigned int flags)
{
	struct unimem_range r = { ptr, size };
	int err;

	err = um_prefetch_validate("prefetch", &r, 1, loc, flags);
	if (err < 0)
		return err;
	return um_prefetch_user_range("prefetch", ptr, size, loc, flags);
}

long unimem_prefetch_batch(const struct unimem_range *ranges, size_t count,
			   unimem_location_t loc, unsigned int flags)
{
	long total = 0;
	int err;

	err = um_prefetch_validate("prefetch_batch", ranges, count, loc, flags);
	if (err < 0)
		return err;
	for (size_t i = 0; i < count; i++) {
		long r = um_prefetch_user_range("prefetch_batch", ranges[i].ptr, ranges[i].size,
						 loc, flags);

		if (r < 0)
			return um_error((int)r, "prefetch_batch: range %zu: %s", i,
					unimem_last_error());
		total += r;
	}
	return total;
}

/* ------------------------------------------------------------------------
 * Advice
 * ------------------------------------------------------------------------ */
/* The accessed-by bit of a location (its table index; SYSTEM has its own). */
static int accessed_bit(unimem_location_t loc)
{
	if (loc == UNIMEM_LOC_SYSTEM)
		return SYSTEM_BIT;
	return um_location_index(loc);
}

int unimem_advise(const void *ptr, size_t size, enum unimem_advice advice,
		  unimem_location_t loc)
{
	uintptr_t start, end;
	struct change c;
	int err, bit;

	err = um_page_range("advise", ptr, size, &start, &end);
	if (err < 0)
		return err;
	switch (advice) {
	case UNIMEM_ADVISE_SET_PREFERRED_LOCATION:
	case UNIMEM_ADVISE_SET_ACCESSED_BY:
	case UNIMEM_ADVISE_UNSET_ACCESSED_BY:
		err = um_location_check("advise", loc);
		if (err < 0)
			return err;
		break;
	case UNIMEM_ADVISE_UNSET_PREFERRED_LOCATION:
	case UNIMEM_ADVISE_SET_READ_MOSTLY:
	case UNIMEM_ADVISE_UNSET_READ_MOSTLY:
		break; /* loc ignored */
	default:
		return um_error(-EINVAL, "advise: unknown advice %d", (int)advice);
	}
	err = check_mapped("advise", start, end);
	if (err < 0)
		return err;

	switch (advice) {
	case UNIMEM_ADVISE_SET_PREFERRED_LOCATION:
		c = (struct change){ CH_PREFERRED, loc };
		break;
	case UNIMEM_ADVISE_UNSET_PREFERRED_LOCATION:
		c = (struct change){ CH_PREFERRED, UNIMEM_LOC_NONE };
		break;
	case UNIMEM_ADVISE_SET_ACCESSED_BY:
	case UNIMEM_ADVISE_UNSET_ACCESSED_BY:
		bit = accessed_bit(loc);
		if (bit < 0)
			return um_error(-ENODEV, "advise: location 0x%08x is not in the table", loc);
		c = (struct change){ advice == UNIMEM_ADVISE_SET_ACCESSED_BY ? CH_ACCESSED_SET
									   : CH_ACCESSED_CLEAR,
				     1ull << bit };
		break;
	case UNIMEM_ADVISE_SET_READ_MOSTLY:
		c = (struct change){ CH_READ_MOSTLY, 1 };
		break;
	default: /* UNIMEM_ADVISE_UNSET_READ_MOSTLY */
		c = (struct change){ CH_READ_MOSTLY, 0 };
		break;
	}
	err = table_update(start, end, &c);
	if (err < 0)
		return err;
	err = push_to_module(start, end);
	if (err < 0)
		return err;
	if (c.what == CH_PREFERRED) {
		/* Host: future faults go there (no migration now); devices: kept. */
		err = um_hints_restore_policy(start, end);
		if (err < 0)
			return err;
		if (UNIMEM_LOC_KIND(loc) == UNIMEM_LOC_KIND_DEVICE &&
		    advice == UNIMEM_ADVISE_SET_PREFERRED_LOCATION)
			err = um_backend_module.apply_preferred((void *)start, end - start, loc);
	}
	return err;
}

int unimem_set_granularity(const void *ptr, size_t size, unsigned int log2_pages)
{
	uintptr_t start, end;
	struct change c = { CH_GRANULARITY, log2_pages };
	int err;

	err = um_page_range("set_granularity", ptr, size, &start, &end);
	if (err < 0)
		return err;
	if (log2_pages > MAX_GRANULARITY)
		return um_error(-EINVAL, "set_granularity: log2_pages %u above the maximum %d "
				"(16 MiB of 4 KiB pages)", log2_pages, MAX_GRANULARITY);
	err = check_mapped("set_granularity", start, end);
	if (err < 0)
		return err;
	err = table_update(start, end, &c);
	return err < 0 ? err : push_to_module(start, end);
}

/* ------------------------------------------------------------------------
 * Range attributes
 * ------------------------------------------------------------------------ */
struct summary {
	enum unimem_range_attr attr;
	bool first;
	unimem_location_t loc;    /* PREFERRED, LAST_PREFETCH */
	int read_mostly;
	uint64_t accessed_by;
	unsigned granularity;
};

static int summarize(uintptr_t s, uintptr_t e, const struct attrs *a, void *arg)
{
	struct summary *sum = arg;

	switch (sum->attr) {
	case UNIMEM_ATTR_PREFERRED_LOCATION:
		if (sum->first)
			sum->loc = a->preferred;
		else if (sum->loc != a->preferred)
			sum->loc = UNIMEM_LOC_MIXED;
		break;
	case UNIMEM_ATTR_LAST_PREFETCH_LOCATION:
		/* Only a prefetch that covered all of the range counts. */
		if (sum->first)
			sum->loc = a->last_prefetch;
		else if (sum->loc != a->last_prefetch)
			sum->loc = UNIMEM_LOC_NONE;
		break;
	case UNIMEM_ATTR_READ_MOSTLY:
		sum->read_mostly = (sum->first || sum->read_mostly) && a->read_mostly;
		break;
	case UNIMEM_ATTR_ACCESSED_BY:
		sum->accessed_by = sum->first ? a->accessed_by : sum->accessed_by & a->accessed_by;
		break;
	case UNIMEM_ATTR_GRANULARITY:
		if (sum->first)
			sum->granularity = a->granularity;
		else if (sum->granularity != a->granularity)
			sum->granularity = UINT_MAX;
		break;
	default:
		break;
	}
	sum->first = false;
	return 0;
}

static int need(const char *what, size_t out_size, size_t size)
{
	if (out_size < size)
		return um_error(-EINVAL, "range_get_attr: %s needs %zu bytes of output, got %zu",
				what, size, out_size);
	return 0;
}

int unimem_range_get_attr(const void *ptr, size_t size, enum unimem_range_attr attr,
			  void *out, size_t out_size)
{
	struct summary sum = { .attr = attr, .first = true };
	uintptr_t start, end;
	size_t npages;
	int err;

	err = um_page_range("range_get_attr", ptr, size, &start, &end);
	if (err < 0)
		return err;
	if (!out)
		return um_error(-EINVAL, "range_get_attr: out is NULL");
	npages = (end - start) / um_page_size();
	switch (attr) {
	case UNIMEM_ATTR_LOCATION:
	case UNIMEM_ATTR_LAST_PREFETCH_LOCATION:
	case UNIMEM_ATTR_PREFERRED_LOCATION:
		err = need("a location attribute", out_size, sizeof(unimem_location_t));
		break;
	case UNIMEM_ATTR_PAGE_LOCATIONS:
		if (npages > SIZE_MAX / sizeof(unimem_location_t))
			return um_error(-EINVAL, "range_get_attr: range too large");
		err = need("PAGE_LOCATIONS (one slot a page)", out_size,
			   npages * sizeof(unimem_location_t));
		break;
	case UNIMEM_ATTR_READ_MOSTLY:
		err = need("READ_MOSTLY", out_size, sizeof(int));
		break;
	case UNIMEM_ATTR_ACCESSED_BY:
		err = need("ACCESSED_BY", out_size, sizeof(unimem_location_t));
		break;
	case UNIMEM_ATTR_GRANULARITY:
		err = need("GRANULARITY", out_size, sizeof(unsigned int));
		break;
	default:
		return um_error(-EINVAL, "range_get_attr: unknown attribute %d", (int)attr);
	}
	if (err < 0)
		return err;
	err = check_mapped("range_get_attr", start, end);
	if (err < 0)
		return err;

	if (attr == UNIMEM_ATTR_LOCATION) {
		unimem_location_t loc = um_range_location((const void *)start, end - start);
		memcpy(out, &loc, sizeof(loc));
		return 0;
	}
	if (attr == UNIMEM_ATTR_PAGE_LOCATIONS)
		return um_page_locations(start, npages, out);

	err = table_walk(start, end, summarize, &sum);
	if (err < 0)
		return err;

	switch (attr) {
	case UNIMEM_ATTR_READ_MOSTLY:
		memcpy(out, &sum.read_mostly, sizeof(int));
		break;
	case UNIMEM_ATTR_GRANULARITY:
		memcpy(out, &sum.granularity, sizeof(unsigned));
		break;
	case UNIMEM_ATTR_ACCESSED_BY: {
		size_t slots = out_size / sizeof(unimem_location_t), k = 0;
		unimem_location_t *locs = out;

		for (int bit = 0; bit < 64 && k < slots; bit++)
			if (sum.accessed_by & (1ull << bit))
				locs[k++] = bit == SYSTEM_BIT ? UNIMEM_LOC_SYSTEM : um_location_at(bit);
		while (k < slots)
			locs[k++] = UNIMEM_LOC_NONE;
		break;
	}
	default:
		memcpy(out, &sum.loc, sizeof(sum.loc));
		break;
	}
	return 0;
}
