// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem: range attributes (preferred location, accessed-by, read-mostly,
 * granularity, no-device-access), kept per address space.
 *
 * DOC: Range attributes
 *
 * Attributes belong to an address space, not to one open file: every
 * context of a process shares one &struct unimem_pstore, found in a small
 * registry keyed by the mm and created when the first context of the mm is
 * opened.  The store keeps non-overlapping ranges in an interval tree, each
 * with the attributes of all its pages and the linear page index (vm_pgoff
 * based) of its first page.  A range exists only where attributes were set;
 * such memory is "managed" and the placement policy (unimem_policy.c)
 * applies to it.  Pages outside every range have the default attributes
 * and keep the core's behaviour (map where it lives, fault-back window).
 *
 * UNIMEM_IOCTL_ATTR SET splits the ranges at the boundaries of the request
 * and of the VMAs it covers, fills the gaps with default ranges, applies
 * the listed attributes to every range inside, then merges neighbours that
 * became equal.  GET walks the ranges and gaps of the request and reports,
 * per attribute, the common value or UNIMEM_RANGE_ATTR_MIXED.
 *
 * Attributes follow the memory:
 *
 * - munmap (MMU_NOTIFY_UNMAP, blockable): the unmapped part of each range
 *   is cut out and parked on an orphan list, keyed by its linear page
 *   index.  The next time the store is used in process context with the
 *   mmap lock held (ioctl, device fault, CPU fault), orphans are
 *   reconciled: an anonymous VMA that now holds the same linear page
 *   indices at a different address is the destination of an mremap(), and
 *   the orphan is re-inserted there (where no range exists yet); all other
 *   orphans were plain unmaps and are freed.  A new mapping at the old
 *   address has the same page indices at the same address and is not
 *   adopted.
 * - mprotect, partial munmap: ranges are per address, so each part of a
 *   split VMA keeps its attributes; only the unmapped part goes.
 * - fork: a child's store is created when the child opens its first unimem
 *   device; it copies the parent's ranges (if the parent has a store) that
 *   the child still maps with the same page indices.  Not after an exec of
 *   the child or of the parent since the fork (exec ids): the memory is no
 *   longer shared, whatever its page indices.
 *
 * Locking: @ps->lock (spinlock) protects the tree, the orphan list and the
 * block history; it is taken in notifier context, so nothing under it may
 * sleep or allocate with reclaim.  Writers in process context hold the
 * mmap lock (read) and @ps->set_lock, which serialises them; the UNMAP
 * notifier is not serialised with them: munmap() clears PTEs with the
 * mmap lock downgraded to read.  So every access to the tree, reads
 * included, is under @ps->lock, and each lookup-then-change is one
 * critical section with its node allocated beforehand.
 * Order: mmap_lock -> @ps->set_lock -> @ps->lock; registry lock innermost.
 */
#include <linux/delay.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "unimem_internal.h"
#include "unimem_policy.h"

static DEFINE_SPINLOCK(unimem_pstores_lock);
static DEFINE_HASHTABLE(unimem_pstores, 6);

/* Module-wide policy defaults, copied into each new store. */
static bool policy_thrash = true;
module_param(policy_thrash, bool, 0644);
MODULE_PARM_DESC(policy_thrash, "thrashing control on by default (default 1)");

static bool policy_first_touch = true;
module_param(policy_first_touch, bool, 0644);
MODULE_PARM_DESC(policy_first_touch,
		 "migrate managed ranges on first device touch (default 1)");

static unsigned int policy_thrash_threshold = 4;
module_param(policy_thrash_threshold, uint, 0644);
MODULE_PARM_DESC(policy_thrash_threshold,
		 "block migrations within the window that mean thrashing (default 4)");

static unsigned int policy_thrash_window_ms = 1000;
module_param(policy_thrash_window_ms, uint, 0644);
MODULE_PARM_DESC(policy_thrash_window_ms,
		 "thrashing detection window in ms (default 1000)");

static unsigned int policy_thrash_backoff_ms = 1000;
module_param(policy_thrash_backoff_ms, uint, 0644);
MODULE_PARM_DESC(policy_thrash_backoff_ms,
		 "first back-off of a thrashing block in ms, doubling on repeat (default 1000)");

/*
 * Attribute ranges and block histories cost kernel memory that user space
 * controls (alternating attributes page by page, even on PROT_NONE
 * memory), and the unmap notifier walks them under a spinlock: cap them
 * per address space.  They are charged to the caller's memory cgroup too.
 */
unsigned int unimem_max_attr_ranges = 65536;
module_param_named(max_attr_ranges, unimem_max_attr_ranges, uint, 0644);
MODULE_PARM_DESC(max_attr_ranges,
		 "attribute ranges and block histories per address space (default 65536)");

#define UNIMEM_ANODE_END(n)	((n)->it.last + 1)

/**
 * unimem_attr_defaults() - the attributes of a page never set
 * @a: filled in
 */
void unimem_attr_defaults(struct unimem_attrs *a)
{
	memset(a, 0, sizeof(*a));
	a->pref = UNIMEM_TARGET_NONE;
	a->gran = UNIMEM_GRANULARITY_DEFAULT;
}

static bool unimem_attrs_equal(const struct unimem_attrs *a,
			       const struct unimem_attrs *b)
{
	return a->pref == b->pref && a->accessed_by == b->accessed_by &&
	       a->gran == b->gran && a->read_mostly == b->read_mostly &&
	       a->no_access == b->no_access;
}

/* ---------------------------------------------------------------- registry */

static struct unimem_pstore *unimem_pstore_find(struct mm_struct *mm)
{
	struct unimem_pstore *ps;

	hash_for_each_possible(unimem_pstores, ps, hnode, (unsigned long)mm)
		if (ps->mm == mm)
			return ps;
	return NULL;
}

/**
 * unimem_pstore_get() - look up the store of an address space
 * @mm: the address space
 *
 * Callable from any context (notifier, fault).
 *
 * Return: a referenced store, or NULL when no context of @mm is open.
 */
struct unimem_pstore *unimem_pstore_get(struct mm_struct *mm)
{
	struct unimem_pstore *ps;

	spin_lock(&unimem_pstores_lock);
	ps = unimem_pstore_find(mm);
	if (ps && !kref_get_unless_zero(&ps->kref))
		ps = NULL;
	spin_unlock(&unimem_pstores_lock);
	return ps;
}

static void unimem_anode_free_tree(struct rb_root_cached *root)
{
	struct interval_tree_node *it;

	while ((it = interval_tree_iter_first(root, 0, ULONG_MAX))) {
		interval_tree_remove(it, root);
		kfree(container_of(it, struct unimem_anode, it));
		cond_resched();
	}
}

static void unimem_pstore_release(struct kref *kref)
	__releases(&unimem_pstores_lock)
{
	struct unimem_pstore *ps = container_of(kref, struct unimem_pstore,
						kref);
	struct unimem_anode *n, *tmp;
	unsigned long idx;
	void *blk;

	hash_del(&ps->hnode);
	spin_unlock(&unimem_pstores_lock);

	unimem_anode_free_tree(&ps->tree);
	list_for_each_entry_safe(n, tmp, &ps->orphans, link)
		kfree(n);
	xa_for_each(&ps->blocks, idx, blk)
		kfree(blk);
	xa_destroy(&ps->blocks);
	mutex_destroy(&ps->set_lock);
	kfree(ps);
}

/**
 * unimem_pstore_put() - drop a reference taken by unimem_pstore_get()
 * @ps: the store
 */
void unimem_pstore_put(struct unimem_pstore *ps)
{
	kref_put_lock(&ps->kref, unimem_pstore_release, &unimem_pstores_lock);
}

/*
 * A new range of @ps, counted against the cap (the unmap notifier, which
 * must not fail, goes over it by at most two per call).
 */
static struct unimem_anode *unimem_anode_new(struct unimem_pstore *ps,
					     unsigned long start,
					     unsigned long end,
					     unsigned long pgoff,
					     const struct unimem_attrs *a,
					     gfp_t gfp)
{
	struct unimem_anode *n;

	if (gfpflags_allow_blocking(gfp) &&
	    atomic_long_read(&ps->nstate) >= unimem_max_attr_ranges)
		return NULL;
	n = kmalloc(sizeof(*n), gfp | __GFP_ACCOUNT);
	if (!n)
		return NULL;
	atomic_long_inc(&ps->nstate);
	n->it.start = start;
	n->it.last = end - 1;
	n->pgoff = pgoff;
	n->a = *a;
	INIT_LIST_HEAD(&n->link);
	return n;
}

static void unimem_anode_free(struct unimem_pstore *ps, struct unimem_anode *n)
{
	if (n)
		atomic_long_dec(&ps->nstate);
	kfree(n);
}

/* A range could not be added: over the cap, or out of memory. */
static int unimem_anode_err(struct unimem_pstore *ps)
{
	return atomic_long_read(&ps->nstate) >= unimem_max_attr_ranges ?
	       -ENOSPC : -ENOMEM;
}

/* Linear page index of @addr in @vma. */
static unsigned long unimem_vma_pgoff(struct vm_area_struct *vma,
				      unsigned long addr)
{
	return vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
}

/*
 * Copy the ranges of the parent's store that the child (current) still maps
 * at the same address with the same page indices.
 */
static void unimem_attr_inherit(struct unimem_pstore *ps)
{
	struct mm_struct *mm = ps->mm, *pmm = NULL;
	struct unimem_pstore *pps = NULL;
	struct unimem_anode *copy = NULL, *n;
	struct interval_tree_node *it;
	struct task_struct *parent;
	unsigned long cnt = 0, i;

	rcu_read_lock();
	parent = rcu_dereference(current->real_parent);
	/*
	 * Only memory shared with the parent by fork inherits: not after an
	 * exec of either side, where a fresh anonymous mapping at the same
	 * address has the same page indices too.
	 */
	if (parent && (current->self_exec_id != current->parent_exec_id ||
		       READ_ONCE(parent->self_exec_id) !=
		       current->parent_exec_id))
		parent = NULL;
	if (parent)
		get_task_struct(parent);
	rcu_read_unlock();
	if (!parent)
		return;
	pmm = get_task_mm(parent);
	put_task_struct(parent);
	if (!pmm)
		return;
	if (pmm != mm)
		pps = unimem_pstore_get(pmm);
	mmput(pmm);
	if (!pps)
		return;

	spin_lock(&pps->lock);
	for (it = interval_tree_iter_first(&pps->tree, 0, ULONG_MAX); it;
	     it = interval_tree_iter_next(it, 0, ULONG_MAX))
		cnt++;
	spin_unlock(&pps->lock);
	if (cnt)
		copy = kvmalloc_array(cnt, sizeof(*copy), GFP_KERNEL_ACCOUNT);
	if (!copy)
		goto out;
	i = 0;
	spin_lock(&pps->lock);
	for (it = interval_tree_iter_first(&pps->tree, 0, ULONG_MAX);
	     it && i < cnt; it = interval_tree_iter_next(it, 0, ULONG_MAX))
		copy[i++] = *container_of(it, struct unimem_anode, it);
	spin_unlock(&pps->lock);
	cnt = i;

	mmap_read_lock(mm);
	mutex_lock(&ps->set_lock);
	for (i = 0; i < cnt; i++) {
		unsigned long s = copy[i].it.start;
		unsigned long e = UNIMEM_ANODE_END(&copy[i]);
		struct vm_area_struct *vma;
		struct vma_iterator vmi;

		vma_iter_init(&vmi, mm, s);
		for_each_vma_range(vmi, vma, e) {
			unsigned long vs = max(s, vma->vm_start);
			unsigned long ve = min(e, vma->vm_end);
			unsigned long pg = copy[i].pgoff +
					   ((vs - s) >> PAGE_SHIFT);

			if (!vma_is_anonymous(vma) ||
			    unimem_vma_pgoff(vma, vs) != pg)
				continue;
			n = unimem_anode_new(ps, vs, ve, pg, &copy[i].a,
					     GFP_KERNEL);
			if (!n)
				break;
			spin_lock(&ps->lock);
			interval_tree_insert(&n->it, &ps->tree);
			spin_unlock(&ps->lock);
		}
	}
	mutex_unlock(&ps->set_lock);
	mmap_read_unlock(mm);
out:
	kvfree(copy);
	unimem_pstore_put(pps);
}

/**
 * unimem_pstore_attach() - take a context's reference on its mm's store
 * @mm: the context's address space (current->mm)
 *
 * Creates the store on the first context of @mm, inheriting the parent
 * process's attributes (fork).
 *
 * Return: 0 or -ENOMEM.
 */
int unimem_pstore_attach(struct mm_struct *mm)
{
	struct unimem_pstore *ps, *old;

	ps = kzalloc(sizeof(*ps), GFP_KERNEL_ACCOUNT);
	if (!ps)
		return -ENOMEM;
	kref_init(&ps->kref);
	ps->mm = mm;
	spin_lock_init(&ps->lock);
	mutex_init(&ps->set_lock);
	ps->tree = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&ps->orphans);
	xa_init(&ps->blocks);
	ps->flags = (policy_thrash ? UNIMEM_POLICY_THRASH : 0) |
		    (policy_first_touch ? UNIMEM_POLICY_FIRST_TOUCH : 0);
	ps->thrash_threshold = clamp_t(u32, policy_thrash_threshold, 1,
				       UNIMEM_THRASH_THRESHOLD_MAX);
	ps->thrash_window = msecs_to_jiffies(clamp_t(u32,
				policy_thrash_window_ms, 1,
				UNIMEM_THRASH_MS_MAX));
	ps->thrash_backoff = msecs_to_jiffies(clamp_t(u32,
				policy_thrash_backoff_ms, 1,
				UNIMEM_THRASH_MS_MAX));

	spin_lock(&unimem_pstores_lock);
	old = unimem_pstore_find(mm);
	if (old && kref_get_unless_zero(&old->kref)) {
		spin_unlock(&unimem_pstores_lock);
		mutex_destroy(&ps->set_lock);
		kfree(ps);
		return 0;
	}
	hash_add(unimem_pstores, &ps->hnode, (unsigned long)mm);
	spin_unlock(&unimem_pstores_lock);

	unimem_attr_inherit(ps);
	return 0;
}

/**
 * unimem_pstore_detach() - drop a context's reference on its mm's store
 * @mm: the context's address space; must still be alive (call before the
 *      context's notifier is removed)
 */
void unimem_pstore_detach(struct mm_struct *mm)
{
	struct unimem_pstore *ps = unimem_pstore_get(mm);

	if (!ps)
		return;
	unimem_pstore_put(ps);	/* the lookup's */
	unimem_pstore_put(ps);	/* the context's */
}

/* ---------------------------------------------------------------- tree */

/*
 * The range containing @addr, or NULL with the neighbours in @prev/@next.
 * The ranges do not overlap, so the tree is a plain search tree on start.
 */
static struct unimem_anode *unimem_anode_at(struct unimem_pstore *ps,
					    unsigned long addr,
					    struct unimem_anode **prev,
					    struct unimem_anode **next)
{
	struct rb_node *rb = ps->tree.rb_root.rb_node;

	*prev = NULL;
	*next = NULL;
	while (rb) {
		struct unimem_anode *n = rb_entry(rb, struct unimem_anode,
						  it.rb);

		if (addr < n->it.start) {
			*next = n;
			rb = rb->rb_left;
		} else if (addr > n->it.last) {
			*prev = n;
			rb = rb->rb_right;
		} else {
			return n;
		}
	}
	return NULL;
}

/**
 * unimem_attr_lookup() - the attributes of the page at @addr
 * @ps: store
 * @addr: address
 * @a: the attributes (defaults outside every range)
 * @lo: start of the uniform region around @addr (range or gap)
 * @hi: end of it
 *
 * Return: true when @addr is managed (inside a range).
 */
bool unimem_attr_lookup(struct unimem_pstore *ps, unsigned long addr,
			struct unimem_attrs *a, unsigned long *lo,
			unsigned long *hi)
{
	struct unimem_anode *n, *prev, *next;
	bool managed;

	spin_lock(&ps->lock);
	n = unimem_anode_at(ps, addr, &prev, &next);
	managed = n;
	if (n) {
		*a = n->a;
		*lo = n->it.start;
		*hi = UNIMEM_ANODE_END(n);
	} else {
		unimem_attr_defaults(a);
		*lo = prev ? UNIMEM_ANODE_END(prev) : 0;
		*hi = next ? next->it.start : TASK_SIZE;
	}
	spin_unlock(&ps->lock);
	return managed;
}

/* Move @n to [start, end) (pgoff follows the start); @ps->lock held. */
static void unimem_anode_resize(struct unimem_pstore *ps,
				struct unimem_anode *n, unsigned long start,
				unsigned long end)
{
	interval_tree_remove(&n->it, &ps->tree);
	n->pgoff += ((long)start - (long)n->it.start) / (long)PAGE_SIZE;
	n->it.start = start;
	n->it.last = end - 1;
	interval_tree_insert(&n->it, &ps->tree);
}

/**
 * unimem_attr_unmap() - [start, end) was unmapped: cut it out of the ranges
 * @ps: store
 * @start: first address
 * @end: end address
 *
 * Called from the invalidation callback (MMU_NOTIFY_UNMAP, blockable); does
 * not sleep.  The cut parts become orphans for unimem_attr_reconcile().
 * The first-touch and thrashing history of the range is dropped.
 */
void unimem_attr_unmap(struct unimem_pstore *ps, unsigned long start,
		       unsigned long end)
{
	struct unimem_anode *spare[2], *n, *right;
	struct interval_tree_node *it, *nit;
	struct unimem_attrs def;
	unsigned long idx;
	int nspare = 0;
	void *blk;

	unimem_attr_defaults(&def);
	spare[0] = unimem_anode_new(ps, 0, 1, 0, &def,
				    GFP_NOWAIT | __GFP_NOWARN);
	spare[1] = unimem_anode_new(ps, 0, 1, 0, &def,
				    GFP_NOWAIT | __GFP_NOWARN);
	nspare = !!spare[0] + !!spare[1];
	if (!spare[0]) {
		spare[0] = spare[1];
		spare[1] = NULL;
	}

	spin_lock(&ps->lock);
	for (it = interval_tree_iter_first(&ps->tree, start, end - 1); it;
	     it = nit) {
		unsigned long ns = it->start, ne = it->last + 1;
		unsigned long cs = max(ns, start), ce = min(ne, end);
		struct unimem_anode *piece;

		nit = interval_tree_iter_next(it, start, end - 1);
		n = container_of(it, struct unimem_anode, it);
		if (ns >= start && ne <= end) {
			interval_tree_remove(&n->it, &ps->tree);
			list_add_tail(&n->link, &ps->orphans);
			continue;
		}
		if (ns < start && ne > end) {
			/* the remainder on the right keeps mapped memory */
			right = nspare ? spare[--nspare] : NULL;
			if (right) {
				*right = *n;
				right->it.start = end;
				right->pgoff = n->pgoff +
					       ((end - ns) >> PAGE_SHIFT);
				interval_tree_insert(&right->it, &ps->tree);
			}
			piece = nspare ? spare[--nspare] : NULL;
			if (piece) {
				*piece = *n;
				piece->pgoff = n->pgoff +
					       ((cs - ns) >> PAGE_SHIFT);
			}
			unimem_anode_resize(ps, n, ns, start);
		} else {
			piece = nspare ? spare[--nspare] : NULL;
			if (piece) {
				*piece = *n;
				piece->pgoff = n->pgoff +
					       ((cs - ns) >> PAGE_SHIFT);
			}
			if (ns < start)
				unimem_anode_resize(ps, n, ns, start);
			else
				unimem_anode_resize(ps, n, end, ne);
		}
		if (piece) {
			piece->it.start = cs;
			piece->it.last = ce - 1;
			list_add_tail(&piece->link, &ps->orphans);
		}
	}
	xa_for_each_range(&ps->blocks, idx, blk, start >> PAGE_SHIFT,
			  (end - 1) >> PAGE_SHIFT) {
		xa_erase(&ps->blocks, idx);
		kfree(blk);
		atomic_long_dec(&ps->nstate);
	}
	spin_unlock(&ps->lock);
	while (nspare)
		unimem_anode_free(ps, spare[--nspare]);
}

/*
 * Insert ranges with attributes @a over the parts of [start, end) no range
 * covers; @pgoff is the page index of @start.  Caller holds the mmap lock
 * and @ps->set_lock.
 */
static int unimem_attr_fill(struct unimem_pstore *ps, unsigned long start,
			    unsigned long end, unsigned long pgoff,
			    const struct unimem_attrs *a)
{
	struct unimem_anode *n = NULL;
	unsigned long cur = start;

	while (cur < end) {
		struct interval_tree_node *it;
		unsigned long gend;

		spin_lock(&ps->lock);
		it = interval_tree_iter_first(&ps->tree, cur, end - 1);
		if (it && it->start <= cur) {
			cur = it->last + 1;
			spin_unlock(&ps->lock);
			continue;
		}
		if (!n) {
			/* a gap: allocate outside the lock, then look again */
			spin_unlock(&ps->lock);
			n = unimem_anode_new(ps, 0, 1, 0, a, GFP_KERNEL);
			if (!n)
				return unimem_anode_err(ps);
			continue;
		}
		gend = it ? it->start : end;
		n->it.start = cur;
		n->it.last = gend - 1;
		n->pgoff = pgoff + ((cur - start) >> PAGE_SHIFT);
		interval_tree_insert(&n->it, &ps->tree);
		spin_unlock(&ps->lock);
		n = NULL;
		cur = gend;
	}
	unimem_anode_free(ps, n);
	return 0;
}

/* Split the range straddling @addr so that a range starts at @addr. */
static int unimem_attr_split(struct unimem_pstore *ps, unsigned long addr)
{
	struct unimem_anode *n, *prev, *next, *right = NULL;
	struct unimem_attrs def;

	for (;;) {
		spin_lock(&ps->lock);
		n = unimem_anode_at(ps, addr, &prev, &next);
		if (!n || n->it.start == addr)
			break;
		if (right) {
			right->it.start = addr;
			right->it.last = n->it.last;
			right->pgoff = n->pgoff +
				       ((addr - n->it.start) >> PAGE_SHIFT);
			right->a = n->a;
			unimem_anode_resize(ps, n, n->it.start, addr);
			interval_tree_insert(&right->it, &ps->tree);
			right = NULL;
			break;
		}
		/* allocate outside the lock, then look again */
		spin_unlock(&ps->lock);
		unimem_attr_defaults(&def);
		right = unimem_anode_new(ps, 0, 1, 0, &def, GFP_KERNEL);
		if (!right)
			return unimem_anode_err(ps);
	}
	spin_unlock(&ps->lock);
	unimem_anode_free(ps, right);
	return 0;
}

/* Merge neighbours in [start, end] that are equal and contiguous. */
static void unimem_attr_merge(struct unimem_pstore *ps, unsigned long start,
			      unsigned long end)
{
	struct interval_tree_node *it, *nit;

	spin_lock(&ps->lock);
	it = interval_tree_iter_first(&ps->tree, start, end);
	while (it) {
		struct unimem_anode *n = container_of(it, struct unimem_anode,
						      it);
		struct unimem_anode *m;

		nit = interval_tree_iter_next(it, start, end);
		if (!nit)
			break;
		m = container_of(nit, struct unimem_anode, it);
		if (UNIMEM_ANODE_END(n) == m->it.start &&
		    n->pgoff + ((m->it.start - n->it.start) >> PAGE_SHIFT) ==
		    m->pgoff && unimem_attrs_equal(&n->a, &m->a)) {
			unsigned long mend = UNIMEM_ANODE_END(m);

			interval_tree_remove(&m->it, &ps->tree);
			unimem_anode_free(ps, m);
			unimem_anode_resize(ps, n, n->it.start, mend);
			continue;	/* n may merge again */
		}
		it = nit;
	}
	spin_unlock(&ps->lock);
}

/**
 * unimem_attr_reconcile() - settle ranges cut by munmap/mremap
 * @ps: store
 *
 * Caller holds current's mmap lock (read) and not @ps->set_lock.  Orphans
 * whose page indices now live at another address of an anonymous VMA
 * (mremap) are re-inserted there; the others are freed.
 */
void unimem_attr_reconcile(struct unimem_pstore *ps)
{
	struct unimem_anode *o, *tmp;
	LIST_HEAD(work);

	if (list_empty_careful(&ps->orphans))
		return;
	mmap_assert_locked(ps->mm);
	mutex_lock(&ps->set_lock);
	spin_lock(&ps->lock);
	list_splice_init(&ps->orphans, &work);
	spin_unlock(&ps->lock);

	list_for_each_entry_safe(o, tmp, &work, link) {
		unsigned long op0 = o->pgoff;
		unsigned long op1 = op0 + ((UNIMEM_ANODE_END(o) - o->it.start) >>
					   PAGE_SHIFT);
		VMA_ITERATOR(vmi, ps->mm, 0);
		struct vm_area_struct *vma;

		for_each_vma(vmi, vma) {
			unsigned long vp0 = vma->vm_pgoff;
			unsigned long vp1 = vp0 + vma_pages(vma);
			unsigned long p0 = max(vp0, op0), p1 = min(vp1, op1);
			unsigned long naddr, oaddr;

			if (!vma_is_anonymous(vma) || p0 >= p1)
				continue;
			naddr = vma->vm_start + ((p0 - vp0) << PAGE_SHIFT);
			oaddr = o->it.start + ((p0 - op0) << PAGE_SHIFT);
			if (naddr == oaddr)
				continue;	/* a new mapping in its place */
			if (unimem_attr_fill(ps, naddr, naddr +
					     ((p1 - p0) << PAGE_SHIFT), p0,
					     &o->a))
				break;
			unimem_attr_merge(ps, naddr ? naddr - 1 : 0,
					  naddr + ((p1 - p0) << PAGE_SHIFT));
		}
		list_del(&o->link);
		unimem_anode_free(ps, o);
		cond_resched();	/* a VMA walk per orphan */
	}
	mutex_unlock(&ps->set_lock);
}

/* ---------------------------------------------------------------- ioctl */

static u32 unimem_attr_value(const struct unimem_attrs *a, u32 type)
{
	switch (type) {
	case UNIMEM_RANGE_ATTR_PREFERRED_LOC:
		return a->pref;
	case UNIMEM_RANGE_ATTR_ACCESSED_BY:
		return a->accessed_by;
	case UNIMEM_RANGE_ATTR_READ_MOSTLY:
		return a->read_mostly;
	case UNIMEM_RANGE_ATTR_GRANULARITY:
		return a->gran;
	default:
		return a->no_access;
	}
}

static void unimem_attr_apply(struct unimem_attrs *a,
			      const struct unimem_attr *list, u32 nattrs)
{
	u32 i;

	for (i = 0; i < nattrs; i++) {
		u32 v = list[i].value;

		switch (list[i].type) {
		case UNIMEM_RANGE_ATTR_PREFERRED_LOC:
			a->pref = v;
			break;
		case UNIMEM_RANGE_ATTR_ACCESSED_BY:
			a->accessed_by = v;
			break;
		case UNIMEM_RANGE_ATTR_READ_MOSTLY:
			a->read_mostly = v;
			break;
		case UNIMEM_RANGE_ATTR_GRANULARITY:
			a->gran = v;
			break;
		default:
			a->no_access = v;
			break;
		}
	}
}

/* Check one attribute of a SET. */
static int unimem_attr_check(const struct unimem_attr *at)
{
	u32 v = at->value;

	switch (at->type) {
	case UNIMEM_RANGE_ATTR_PREFERRED_LOC:
		if (v == UNIMEM_TARGET_SYSTEM || v == UNIMEM_TARGET_NONE ||
		    v < unimem_ndevices)
			return 0;
		return v < UNIMEM_MAX_DEVICES ? -ENODEV : -EINVAL;
	case UNIMEM_RANGE_ATTR_ACCESSED_BY:
		if (v >> UNIMEM_MAX_DEVICES)
			return -EINVAL;
		return (v >> unimem_ndevices) ? -ENODEV : 0;
	case UNIMEM_RANGE_ATTR_READ_MOSTLY:
	case UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS:
		return v > 1 ? -EINVAL : 0;
	case UNIMEM_RANGE_ATTR_GRANULARITY:
		return v > UNIMEM_GRANULARITY_MAX ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

/*
 * Drop the device page-table entries of [start, end) in every context of
 * @mm, so that the next access of each device applies the new attributes
 * (a range made no-device-access stops being accessible at once).  The
 * contexts are reached under their device's ctx_lock, which keeps them
 * alive; their lock is only tried (it is a mutex), and a busy one is
 * retried after a short sleep.
 */
static void unimem_attr_unmap_devices(struct mm_struct *mm,
				      unsigned long start, unsigned long end)
{
	unsigned int i, tries;

	for (i = 0; i < unimem_ndevices; i++) {
		struct unimem_device *udev = unimem_devices[i];

		for (tries = 0; tries < 1000; tries++) {
			struct unimem_ctx *ctx;
			bool busy = false;

			spin_lock(&udev->ctx_lock);
			list_for_each_entry(ctx, &udev->ctx_list, node) {
				if (ctx->notifier.mm != mm)
					continue;
				if (!mutex_trylock(&ctx->lock)) {
					busy = true;
					continue;
				}
				unimem_pt_clear(ctx, start, end);
				mutex_unlock(&ctx->lock);
			}
			spin_unlock(&udev->ctx_lock);
			if (!busy)
				break;
			usleep_range(50, 200);
		}
	}
}

static int unimem_attr_set(struct unimem_pstore *ps, unsigned long start,
			   unsigned long end, const struct unimem_attr *list,
			   u32 nattrs)
{
	struct mm_struct *mm = ps->mm;
	struct vm_area_struct *vma;
	struct unimem_attrs def;
	unsigned long addr;
	int ret = 0;

	unimem_attr_defaults(&def);
	mmap_read_lock(mm);
	unimem_attr_reconcile(ps);

	/* the whole range must be mapped */
	addr = start;
	{
		VMA_ITERATOR(vmi, mm, start);

		for_each_vma_range(vmi, vma, end) {
			if (vma->vm_start > addr)
				break;
			addr = vma->vm_end;
		}
	}
	if (addr < end) {
		ret = -EFAULT;
		goto out_mmap;
	}

	mutex_lock(&ps->set_lock);
	{
		VMA_ITERATOR(vmi, mm, start);

		for_each_vma_range(vmi, vma, end) {
			unsigned long vs = max(start, vma->vm_start);
			unsigned long ve = min(end, vma->vm_end);
			struct interval_tree_node *it;

			ret = unimem_attr_split(ps, vs);
			if (!ret)
				ret = unimem_attr_split(ps, ve);
			if (!ret)
				ret = unimem_attr_fill(ps, vs, ve,
						       unimem_vma_pgoff(vma, vs),
						       &def);
			if (ret)
				break;
			spin_lock(&ps->lock);
			for (it = interval_tree_iter_first(&ps->tree, vs,
							   ve - 1);
			     it; it = interval_tree_iter_next(it, vs, ve - 1)) {
				struct unimem_anode *n =
					container_of(it, struct unimem_anode,
						     it);

				n->pgoff = unimem_vma_pgoff(vma, it->start);
				unimem_attr_apply(&n->a, list, nattrs);
			}
			spin_unlock(&ps->lock);
		}
	}
	unimem_attr_merge(ps, start ? start - 1 : 0, end);
	mutex_unlock(&ps->set_lock);
out_mmap:
	mmap_read_unlock(mm);
	if (!ret)
		unimem_attr_unmap_devices(mm, start, end);
	return ret;
}

static void unimem_attr_get(struct unimem_pstore *ps, unsigned long start,
			    unsigned long end, struct unimem_attr *list,
			    u32 nattrs)
{
	struct interval_tree_node *it;
	struct unimem_attrs def;
	unsigned long cur = start;
	bool first = true;
	u32 i;

	unimem_attr_defaults(&def);
	spin_lock(&ps->lock);
	it = interval_tree_iter_first(&ps->tree, start, end - 1);
	for (;;) {
		const struct unimem_attrs *src[2];
		int k, nsrc = 0;

		if (!it || it->start > cur)
			src[nsrc++] = &def;	/* a gap before @it */
		if (it)
			src[nsrc++] = &container_of(it, struct unimem_anode,
						    it)->a;
		for (k = 0; k < nsrc; k++) {
			for (i = 0; i < nattrs; i++) {
				u32 v = unimem_attr_value(src[k],
							  list[i].type);

				if (first)
					list[i].value = v;
				else if (list[i].value != v)
					list[i].value = UNIMEM_RANGE_ATTR_MIXED;
			}
			first = false;
		}
		if (!it)
			break;
		cur = it->last + 1;
		if (cur >= end)
			break;
		it = interval_tree_iter_next(it, start, end - 1);
	}
	spin_unlock(&ps->lock);
}

/**
 * unimem_attr_ioctl() - UNIMEM_IOCTL_ATTR
 * @ctx: context; current->mm is its mm
 * @uarg: struct unimem_attr_op
 *
 * Return: 0 or a negative errno (see the uapi header).
 */
long unimem_attr_ioctl(struct unimem_ctx *ctx, void __user *uarg)
{
	struct unimem_attr_op op;
	struct unimem_pstore *ps;
	struct unimem_attr *list;
	long ret;
	u32 i;

	if (copy_from_user(&op, uarg, sizeof(op)))
		return -EFAULT;
	if (memchr_inv(op.reserved, 0, sizeof(op.reserved)))
		return -EINVAL;
	if (op.op != UNIMEM_RANGE_ATTR_OP_SET && op.op != UNIMEM_RANGE_ATTR_OP_GET)
		return -EINVAL;
	if (!op.nattrs)
		return -EINVAL;
	if (op.nattrs > UNIMEM_MAX_ATTRS)
		return -E2BIG;
	if (!op.length || ((op.addr | op.length) & ~PAGE_MASK))
		return -EINVAL;
	if (op.addr + op.length < op.addr)
		return -EOVERFLOW;
	if (op.addr + op.length > TASK_SIZE)
		return -EFAULT;

	list = memdup_user(u64_to_user_ptr(op.attrs),
			   op.nattrs * sizeof(*list));
	if (IS_ERR(list))
		return PTR_ERR(list);
	for (i = 0; i < op.nattrs; i++) {
		if (op.op == UNIMEM_RANGE_ATTR_OP_GET) {
			if (list[i].type < UNIMEM_RANGE_ATTR_PREFERRED_LOC ||
			    list[i].type > UNIMEM_RANGE_ATTR_NO_DEVICE_ACCESS) {
				ret = -EINVAL;
				goto out_free;
			}
			continue;
		}
		ret = unimem_attr_check(&list[i]);
		if (ret)
			goto out_free;
	}

	ps = unimem_pstore_get(ctx->notifier.mm);
	if (!ps) {
		ret = -ESRCH;
		goto out_free;
	}
	if (op.op == UNIMEM_RANGE_ATTR_OP_SET) {
		ret = unimem_attr_set(ps, op.addr, op.addr + op.length, list,
				      op.nattrs);
	} else {
		mmap_read_lock(ps->mm);
		unimem_attr_reconcile(ps);
		mmap_read_unlock(ps->mm);
		unimem_attr_get(ps, op.addr, op.addr + op.length, list,
				op.nattrs);
		ret = 0;
		if (copy_to_user(u64_to_user_ptr(op.attrs), list,
				 op.nattrs * sizeof(*list)))
			ret = -EFAULT;
	}
	unimem_pstore_put(ps);
out_free:
	kfree(list);
	return ret;
}
