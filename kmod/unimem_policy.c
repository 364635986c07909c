// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem: placement policy - where pages go when devices and CPUs touch
 * them, thrashing control, prefetch.
 *
 * DOC: Placement policy
 *
 * The policy applies to managed memory: ranges that carry attributes (see
 * unimem_attr.c).  Memory never given attributes keeps the core's
 * behaviour: devices map it where it lives, CPU faults bring back the
 * core's fault window.
 *
 * Device access.  When the device engine misses in its page table
 * (unimem_mirror.c), unimem_policy_device_fault() looks at each
 * granularity block of the missing window that has pages away from the
 * accessing device (system memory, never populated, or a peer device):
 *
 * - no-device-access: the access fails with -EACCES;
 * - preferred location is the accessing device: migrate the block there;
 * - preferred location is system memory or another device, the device is
 *   in accessed-by, or the range is read-mostly: map it remotely (a peer
 *   device's page is mapped in place only with peer_access; otherwise
 *   hmm_range_fault() brings it to system memory first);
 * - no preference: migrate the block on its first device touch (the block
 *   has no history yet), map it remotely afterwards.
 *
 * A migration refused because the block is pinned for thrashing maps it
 * remotely and counts as throttled.  The block of an address is
 * [ALIGN_DOWN(addr, 2^gran pages), +2^gran pages) clipped to the VMA and to
 * the range of equal attributes around the address.
 *
 * CPU access.  A CPU fault on a device page of managed memory migrates
 * exactly the block around the fault (unimem_policy_cpu_fault_window()).
 * The next device touch applies the rules above again.
 *
 * Thrashing.  Each block has a history entry (xarray indexed by the page
 * number of its aligned start): whether a device touched it, the number of
 * moves in the current window, and a pinned-until time.  A block that
 * moves (policy migration to a device or CPU fault back) more than
 * @thrash_threshold times within @thrash_window is pinned where it is
 * cheapest - system memory, mapped remotely by devices - for
 * @thrash_backoff, doubled each time the same block is pinned again (up to
 * 32x), and reset once a window passes quietly.
 *
 * Prefetch (UNIMEM_IOCTL_PREFETCH) widens the range to whole blocks and
 * migrates it with the core's unimem_migrate(), which serialises on the
 * context's migrate lock, so prefetches from several threads are safe.
 */
#include <linux/hmm.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "unimem_internal.h"
#include "unimem_policy.h"

#define UNIMEM_POLICY_SCAN	64UL	/* pages per residency scan */
#define UNIMEM_BACKOFF_SHIFT_MAX 5	/* back-off grows up to 32x */

/**
 * struct unimem_pblock - history of one granularity block
 * @win_start: start of the current detection window, jiffies
 * @pinned_until: end of the back-off, jiffies; 0 when never pinned
 * @nmig: moves in the current window
 * @pins: times pinned in a row (back-off exponent)
 * @touched: a device touched the block
 */
struct unimem_pblock {
	unsigned long win_start;
	unsigned long pinned_until;
	unsigned int nmig;
	unsigned int pins;
	bool touched;
};

static atomic64_t unimem_pcnt_dev[UNIMEM_MAX_DEVICES][UNIMEM_PCNT_NR];

/**
 * unimem_pcount() - add to a policy counter
 * @ps: store of the address space
 * @dev: device the decision was for, or -1
 * @c: counter
 * @n: amount
 */
void unimem_pcount(struct unimem_pstore *ps, int dev,
		   enum unimem_policy_counter c, u64 n)
{
	if (!n)
		return;
	atomic64_add(n, &ps->cnt[c]);
	if (dev >= 0 && dev < UNIMEM_MAX_DEVICES)
		atomic64_add(n, &unimem_pcnt_dev[dev][c]);
}

/**
 * unimem_policy_decide() - the placement rule for a device access
 * @a: attributes of the block
 * @dev: accessing device
 * @first_touch: no device touched the block before
 * @first_touch_on: migration on first touch is enabled
 * @pinned: the block is pinned for thrashing
 * @why: the counter that accounts the decision
 *
 * Return: the placement.
 */
enum unimem_place unimem_policy_decide(const struct unimem_attrs *a,
				       u32 dev, bool first_touch,
				       bool first_touch_on, bool pinned,
				       enum unimem_policy_counter *why)
{
	if (a->no_access) {
		*why = UNIMEM_PCNT_DENIED;
		return UNIMEM_PLACE_DENY;
	}
	if (a->pref == dev) {
		*why = UNIMEM_PCNT_PREFERRED;
		goto migrate;
	}
	if (a->pref != UNIMEM_TARGET_NONE ||
	    (dev < 32 && (a->accessed_by & BIT(dev))) || a->read_mostly ||
	    !first_touch || !first_touch_on) {
		*why = UNIMEM_PCNT_REMOTE_MAP;
		return UNIMEM_PLACE_REMOTE;
	}
	*why = UNIMEM_PCNT_FIRST_TOUCH;
migrate:
	if (pinned) {
		*why = UNIMEM_PCNT_THROTTLED;
		return UNIMEM_PLACE_REMOTE;
	}
	return UNIMEM_PLACE_MIGRATE;
}

/**
 * unimem_policy_block() - the granularity block around an address
 * @a: attributes at @addr
 * @addr: address
 * @lo: start of the region of equal attributes around @addr
 * @hi: end of it
 * @vm_start: start of the VMA of @addr
 * @vm_end: end of it
 * @start: block start
 * @end: block end
 */
void unimem_policy_block(const struct unimem_attrs *a, unsigned long addr,
			 unsigned long lo, unsigned long hi,
			 unsigned long vm_start, unsigned long vm_end,
			 unsigned long *start, unsigned long *end)
{
	unsigned long size = PAGE_SIZE << a->gran;
	unsigned long s = ALIGN_DOWN(addr, size);

	*start = max3(s, lo, vm_start);
	*end = min3(s + size, hi, vm_end);
}

static unsigned long unimem_block_key(const struct unimem_attrs *a,
				      unsigned long addr)
{
	return ALIGN_DOWN(addr, PAGE_SIZE << a->gran) >> PAGE_SHIFT;
}

static bool unimem_pblock_pinned(const struct unimem_pblock *b)
{
	return b->pinned_until && time_before(jiffies, b->pinned_until);
}

/*
 * The history entry of block @key, created if needed; returns with
 * @ps->lock held, NULL if it could not be allocated.  Process context.
 */
static struct unimem_pblock *unimem_pblock_lock(struct unimem_pstore *ps,
						unsigned long key)
	__acquires(&ps->lock)
{
	struct unimem_pblock *b, *nb;

	spin_lock(&ps->lock);
	b = xa_load(&ps->blocks, key);
	if (b)
		return b;
	spin_unlock(&ps->lock);

	/* over the cap the block has no history (see unimem_attr.c) */
	nb = NULL;
	if (atomic_long_read(&ps->nstate) < unimem_max_attr_ranges)
		nb = kzalloc(sizeof(*nb), GFP_KERNEL_ACCOUNT);
	spin_lock(&ps->lock);
	b = xa_load(&ps->blocks, key);
	if (b || !nb) {
		kfree(nb);
		return b;
	}
	if (xa_is_err(xa_store(&ps->blocks, key, nb, GFP_NOWAIT |
			       __GFP_NOWARN | __GFP_ACCOUNT))) {
		kfree(nb);
		return NULL;
	}
	atomic_long_inc(&ps->nstate);
	return nb;
}

/* A block moved between CPU and device: feed the thrashing detector. */
static void unimem_policy_note_move(struct unimem_pstore *ps, int dev,
				    unsigned long key)
{
	struct unimem_pblock *b = unimem_pblock_lock(ps, key);
	unsigned long now = jiffies;
	bool pinned = false;

	if (b) {
		if (!b->win_start ||
		    time_after(now, b->win_start + ps->thrash_window)) {
			/* quiet for a window after the last back-off */
			if (b->pinned_until &&
			    time_after(now, b->pinned_until +
				       ps->thrash_window))
				b->pins = 0;
			b->win_start = now;
			b->nmig = 0;
		}
		b->nmig++;
		if ((ps->flags & UNIMEM_POLICY_THRASH) &&
		    b->nmig > ps->thrash_threshold &&
		    !unimem_pblock_pinned(b)) {
			b->pinned_until = now + (ps->thrash_backoff <<
				min_t(unsigned int, b->pins,
				      UNIMEM_BACKOFF_SHIFT_MAX));
			if (!b->pinned_until)
				b->pinned_until = 1;
			b->pins++;
			b->nmig = 0;
			b->win_start = now;
			pinned = true;
		}
	}
	spin_unlock(&ps->lock);
	unimem_pcount(ps, dev, UNIMEM_PCNT_BLOCK_MIGRATIONS, 1);
	if (pinned)
		unimem_pcount(ps, dev, UNIMEM_PCNT_PINNED, 1);
}

/*
 * Pages of [start, end) not resident on @ctx's device (system memory,
 * never populated, a peer device).  mmap lock held.
 */
static unsigned long unimem_policy_away(struct unimem_ctx *ctx,
					unsigned long start,
					unsigned long end,
					unsigned long *pfns)
{
	struct hmm_range range = {
		.notifier = &ctx->notifier,
		.hmm_pfns = pfns,
		.dev_private_owner = ctx->udev->owner,
	};
	unsigned long addr, away = 0, i, n;
	int ret, tries;

	for (addr = start; addr < end; addr = range.end) {
		range.start = addr;
		range.end = min(end, addr + (UNIMEM_POLICY_SCAN << PAGE_SHIFT));
		n = (range.end - addr) >> PAGE_SHIFT;
		tries = 0;
		do {
			range.notifier_seq =
				mmu_interval_read_begin(&ctx->notifier);
			ret = hmm_range_fault(&range);
		} while (ret == -EBUSY && ++tries < 16);
		if (ret) {
			away += n;
			continue;
		}
		for (i = 0; i < n; i++) {
			struct page *page;

			if (!(pfns[i] & HMM_PFN_VALID)) {
				away++;
				continue;
			}
			page = hmm_pfn_to_page(pfns[i]);
			if (!unimem_is_our_page(page) ||
			    unimem_page_device(page) != ctx->udev)
				away++;
		}
	}
	return away;
}

static bool unimem_policy_vma_ok(struct vm_area_struct *vma)
{
	return vma_is_anonymous(vma) && !is_vm_hugetlb_page(vma) &&
	       !(vma->vm_flags & VM_SPECIAL);
}

/* Account pages moved to a device on its access (core counter). */
static void unimem_policy_count_fault_to_device(struct unimem_ctx *ctx,
						u64 pages)
{
	unimem_count(ctx, UNIMEM_CNT_FAULT_TO_DEVICE, pages);
	unimem_dcount(ctx->udev, UNIMEM_CNT_FAULT_TO_DEVICE, pages);
}

/**
 * unimem_policy_device_fault() - apply the placement policy to a device miss
 * @ctx: context whose device accesses [start, end); no locks held
 * @start: first address of the missing window (page aligned)
 * @end: end of it
 * @write: the device writes
 *
 * Migrates the blocks the policy wants on the device; everything else is
 * left for the caller to map where it is (hmm_range_fault()).
 *
 * Return: 0, -EACCES for a no-device-access range, or a fatal error of the
 * migration (-EINTR, -ENOMEM).
 */
int unimem_policy_device_fault(struct unimem_ctx *ctx, unsigned long start,
			       unsigned long end, bool write)
{
	struct mm_struct *mm = ctx->notifier.mm;
	u32 dev = ctx->udev->index;
	struct unimem_pstore *ps;
	unsigned long addr = start, *pfns;
	int ret = 0;

	ps = unimem_pstore_get(mm);
	if (!ps)
		return 0;
	if (RB_EMPTY_ROOT(&ps->tree.rb_root) &&
	    list_empty_careful(&ps->orphans))
		goto out_put;
	/* zeroed: since 6.17 hmm_range_fault() keeps input bits (INOUT) */
	pfns = kcalloc(UNIMEM_POLICY_SCAN, sizeof(*pfns), GFP_KERNEL_ACCOUNT);
	if (!pfns) {
		ret = -ENOMEM;
		goto out_put;
	}

	while (addr < end) {
		enum unimem_policy_counter why;
		struct vm_area_struct *vma;
		struct unimem_attrs a;
		struct unimem_pblock *b;
		unsigned long lo, hi, bs, be, key;
		enum unimem_place place;
		bool first, pinned;

		mmap_read_lock(mm);
		unimem_attr_reconcile(ps);
		vma = vma_lookup(mm, addr);
		if (!vma) {
			/* the caller reports the fault */
			mmap_read_unlock(mm);
			break;
		}
		if (!unimem_attr_lookup(ps, addr, &a, &lo, &hi)) {
			/* unmanaged: up to the next range */
			mmap_read_unlock(mm);
			addr = min(hi, end);
			continue;
		}
		unimem_policy_block(&a, addr, lo, hi, vma->vm_start,
				    vma->vm_end, &bs, &be);
		if (a.no_access) {
			mmap_read_unlock(mm);
			unimem_pcount(ps, dev, UNIMEM_PCNT_DENIED, 1);
			ret = -EACCES;
			break;
		}
		if (!unimem_policy_vma_ok(vma) ||
		    !unimem_policy_away(ctx, bs, be, pfns)) {
			mmap_read_unlock(mm);
			addr = be;
			continue;
		}
		key = unimem_block_key(&a, addr);
		b = unimem_pblock_lock(ps, key);
		first = !b || !b->touched;
		pinned = b && unimem_pblock_pinned(b);
		if (b)
			b->touched = true;
		spin_unlock(&ps->lock);
		mmap_read_unlock(mm);

		place = unimem_policy_decide(&a, dev, first,
					     ps->flags &
					     UNIMEM_POLICY_FIRST_TOUCH,
					     pinned, &why);
		unimem_pcount(ps, dev, why, 1);
		if (place == UNIMEM_PLACE_MIGRATE) {
			struct unimem_migrate m = {
				.addr = bs,
				.length = be - bs,
				.target = dev,
				.flags = UNIMEM_MIGRATE_POPULATE,
			};

			ret = unimem_migrate(ctx, &m);
			if (ret)
				break;
			unimem_pcount(ps, dev, UNIMEM_PCNT_POLICY_PAGES,
				      m.moved);
			unimem_policy_count_fault_to_device(ctx, m.moved);
			if (m.moved)
				unimem_policy_note_move(ps, dev, key);
		}
		addr = be;
	}
	kfree(pfns);
out_put:
	unimem_pstore_put(ps);
	return ret;
}

/**
 * unimem_policy_cpu_fault_window() - pages a CPU fault brings back
 * @vma: faulting VMA (mmap lock held)
 * @addr: faulting address
 * @start: set to the first address to migrate
 * @end: set to the end
 *
 * Return: true when @addr is managed and [@start, @end) is its block; false
 * to let the caller use its default window.
 */
bool unimem_policy_cpu_fault_window(struct vm_area_struct *vma,
				    unsigned long addr, unsigned long *start,
				    unsigned long *end)
{
	struct unimem_pstore *ps = unimem_pstore_get(vma->vm_mm);
	struct unimem_attrs a;
	unsigned long lo, hi;
	bool managed;

	if (!ps)
		return false;
	unimem_attr_reconcile(ps);
	managed = unimem_attr_lookup(ps, addr, &a, &lo, &hi);
	if (managed)
		unimem_policy_block(&a, addr, lo, hi, vma->vm_start,
				    vma->vm_end, start, end);
	unimem_pstore_put(ps);
	return managed;
}

/**
 * unimem_policy_cpu_fault_done() - a CPU fault migrated a block back
 * @vma: faulting VMA (mmap lock held)
 * @udev: device the pages came from
 * @start: first address of the window that was migrated
 * @moved: pages moved
 */
void unimem_policy_cpu_fault_done(struct vm_area_struct *vma,
				  struct unimem_device *udev,
				  unsigned long start, unsigned long moved)
{
	struct unimem_pstore *ps;
	struct unimem_attrs a;
	unsigned long lo, hi;

	if (!moved)
		return;
	ps = unimem_pstore_get(vma->vm_mm);
	if (!ps)
		return;
	if (unimem_attr_lookup(ps, start, &a, &lo, &hi)) {
		unimem_pcount(ps, udev->index, UNIMEM_PCNT_CPU_FAULT_BLOCKS, 1);
		unimem_policy_note_move(ps, udev->index,
					unimem_block_key(&a, start));
	}
	unimem_pstore_put(ps);
}

/**
 * unimem_policy_invalidate() - notifier hook: attributes follow munmap
 * @ctx: context whose notifier fired
 * @range: the invalidation
 */
void unimem_policy_invalidate(struct unimem_ctx *ctx,
			      const struct mmu_notifier_range *range)
{
	struct unimem_pstore *ps;

	if (range->event != MMU_NOTIFY_UNMAP ||
	    !mmu_notifier_range_blockable(range))
		return;
	ps = unimem_pstore_get(ctx->notifier.mm);
	if (!ps)
		return;
	unimem_attr_unmap(ps, range->start, range->end);
	unimem_pstore_put(ps);
}

/**
 * unimem_policy_ctx_open() - a context was created
 * @ctx: the context, its notifier inserted (ctx->notifier.mm valid)
 *
 * Return: 0 or -ENOMEM.
 */
int unimem_policy_ctx_open(struct unimem_ctx *ctx)
{
	return unimem_pstore_attach(ctx->notifier.mm);
}

/**
 * unimem_policy_ctx_release() - a context goes away
 * @ctx: the context, its notifier not yet removed
 */
void unimem_policy_ctx_release(struct unimem_ctx *ctx)
{
	unimem_pstore_detach(ctx->notifier.mm);
}

/* ---------------------------------------------------------------- ioctls */

static long unimem_policy_prefetch(struct unimem_ctx *ctx,
				   struct unimem_pstore *ps,
				   void __user *uarg)
{
	struct mm_struct *mm = ctx->notifier.mm;
	struct unimem_prefetch p;
	struct unimem_migrate m;
	unsigned long s, e;
	long ret;

	if (copy_from_user(&p, uarg, sizeof(p)))
		return -EFAULT;
	if ((p.flags & ~UNIMEM_PREFETCH_FLAGS_ALL) ||
	    memchr_inv(p.reserved, 0, sizeof(p.reserved)))
		return -EINVAL;
	if (!p.length || ((p.addr | p.length) & ~PAGE_MASK))
		return -EINVAL;
	if (p.addr + p.length < p.addr)
		return -EOVERFLOW;
	if (p.addr + p.length > TASK_SIZE)
		return -EFAULT;
	if (p.target != UNIMEM_TARGET_SYSTEM && p.target >= unimem_ndevices)
		return p.target < UNIMEM_MAX_DEVICES ? -ENODEV : -EINVAL;

	s = p.addr;
	e = p.addr + p.length;
	if (!(p.flags & UNIMEM_PREFETCH_EXACT)) {
		struct vm_area_struct *vma;
		struct unimem_attrs a;
		unsigned long lo, hi, bs, be;

		mmap_read_lock(mm);
		unimem_attr_reconcile(ps);
		vma = vma_lookup(mm, s);
		if (vma) {
			unimem_attr_lookup(ps, s, &a, &lo, &hi);
			unimem_policy_block(&a, s, lo, hi, vma->vm_start,
					    vma->vm_end, &bs, &be);
			s = bs;
		}
		vma = vma_lookup(mm, e - 1);
		if (vma) {
			unimem_attr_lookup(ps, e - 1, &a, &lo, &hi);
			unimem_policy_block(&a, e - 1, lo, hi, vma->vm_start,
					    vma->vm_end, &bs, &be);
			e = be;
		}
		mmap_read_unlock(mm);
	}

	memset(&m, 0, sizeof(m));
	m.addr = s;
	m.length = e - s;
	m.target = p.target;
	if (p.target != UNIMEM_TARGET_SYSTEM)
		m.flags = UNIMEM_MIGRATE_POPULATE;
	ret = unimem_migrate(ctx, &m);
	if (ret)
		return ret;
	p.moved = m.moved;
	p.already = m.already;
	p.skipped = m.not_present + m.unmapped + m.unsupported + m.busy +
		    m.nomem;
	unimem_pcount(ps, ctx->udev->index, UNIMEM_PCNT_PREFETCH_CALLS, 1);
	unimem_pcount(ps, ctx->udev->index, UNIMEM_PCNT_PREFETCH_PAGES,
		      m.moved);
	return copy_to_user(uarg, &p, sizeof(p)) ? -EFAULT : 0;
}

static long unimem_policy_ctl(struct unimem_pstore *ps, void __user *uarg)
{
	struct unimem_policy p;

	if (copy_from_user(&p, uarg, sizeof(p)))
		return -EFAULT;
	if (p.reserved0 || memchr_inv(p.reserved, 0, sizeof(p.reserved)))
		return -EINVAL;
	if (p.op == UNIMEM_POLICY_OP_SET) {
		if ((p.flags & ~UNIMEM_POLICY_FLAGS_ALL) ||
		    !p.thrash_threshold ||
		    p.thrash_threshold > UNIMEM_THRASH_THRESHOLD_MAX ||
		    !p.thrash_window_ms ||
		    p.thrash_window_ms > UNIMEM_THRASH_MS_MAX ||
		    !p.thrash_backoff_ms ||
		    p.thrash_backoff_ms > UNIMEM_THRASH_MS_MAX)
			return -EINVAL;
		spin_lock(&ps->lock);
		ps->flags = p.flags;
		ps->thrash_threshold = p.thrash_threshold;
		ps->thrash_window = msecs_to_jiffies(p.thrash_window_ms);
		ps->thrash_backoff = msecs_to_jiffies(p.thrash_backoff_ms);
		spin_unlock(&ps->lock);
		return 0;
	}
	if (p.op != UNIMEM_POLICY_OP_GET || p.flags || p.thrash_threshold ||
	    p.thrash_window_ms || p.thrash_backoff_ms)
		return -EINVAL;
	spin_lock(&ps->lock);
	p.flags = ps->flags;
	p.thrash_threshold = ps->thrash_threshold;
	p.thrash_window_ms = jiffies_to_msecs(ps->thrash_window);
	p.thrash_backoff_ms = jiffies_to_msecs(ps->thrash_backoff);
	spin_unlock(&ps->lock);
	return copy_to_user(uarg, &p, sizeof(p)) ? -EFAULT : 0;
}

static long unimem_policy_counters(struct unimem_ctx *ctx,
				   struct unimem_pstore *ps,
				   void __user *uarg)
{
	struct unimem_policy_counters *c;
	atomic64_t *src;
	long ret = 0;
	u32 dev;
	int i;

	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	if (copy_from_user(c, uarg, sizeof(*c))) {
		ret = -EFAULT;
		goto out;
	}
	if (c->flags || memchr_inv(c->reserved, 0, sizeof(c->reserved))) {
		ret = -EINVAL;
		goto out;
	}
	if (c->scope == UNIMEM_PSCOPE_MM) {
		if (c->device && c->device != UNIMEM_DEVICE_SELF) {
			ret = -EINVAL;
			goto out;
		}
		/* the file's process only, as for its context counters */
		if (current->mm != ctx->notifier.mm) {
			ret = -ESRCH;
			goto out;
		}
		src = ps->cnt;
	} else if (c->scope == UNIMEM_PSCOPE_DEVICE) {
		dev = c->device == UNIMEM_DEVICE_SELF ? ctx->udev->index :
							c->device;
		if (dev >= unimem_ndevices) {
			ret = -ENODEV;
			goto out;
		}
		src = unimem_pcnt_dev[dev];
	} else {
		ret = -EINVAL;
		goto out;
	}
	memset(c->values, 0, sizeof(c->values));
	for (i = 0; i < UNIMEM_PCNT_NR; i++)
		c->values[i] = atomic64_read(&src[i]);
	c->ncounters = UNIMEM_PCNT_NR;
	if (copy_to_user(uarg, c, sizeof(*c)))
		ret = -EFAULT;
out:
	kfree(c);
	return ret;
}

/**
 * unimem_policy_ioctl() - the range-attribute and policy ioctls
 * @ctx: context
 * @cmd: ioctl number
 * @uarg: argument
 *
 * Return: 0, a negative errno, or -ENOTTY for a command that is not ours.
 */
long unimem_policy_ioctl(struct unimem_ctx *ctx, unsigned int cmd,
			 void __user *uarg)
{
	struct unimem_pstore *ps;
	long ret;

	switch (cmd) {
	case UNIMEM_IOCTL_ATTR:
	case UNIMEM_IOCTL_PREFETCH:
	case UNIMEM_IOCTL_POLICY:
	case UNIMEM_IOCTL_POLICY_COUNTERS:
		break;
	default:
		return -ENOTTY;
	}
	/* Range operations only from the address space the file mirrors. */
	if (cmd != UNIMEM_IOCTL_POLICY_COUNTERS &&
	    current->mm != ctx->notifier.mm)
		return -ESRCH;
	if (cmd == UNIMEM_IOCTL_ATTR)
		return unimem_attr_ioctl(ctx, uarg);

	ps = unimem_pstore_get(ctx->notifier.mm);
	if (!ps)
		return -ESRCH;
	switch (cmd) {
	case UNIMEM_IOCTL_PREFETCH:
		ret = unimem_policy_prefetch(ctx, ps, uarg);
		break;
	case UNIMEM_IOCTL_POLICY:
		ret = unimem_policy_ctl(ps, uarg);
		break;
	default:
		ret = unimem_policy_counters(ctx, ps, uarg);
		break;
	}
	unimem_pstore_put(ps);
	return ret;
}
