// SPDX-License-Identifier: GPL-2.0-only
/*
 * unimem: an HMM driver for virtual accelerators.
 *
 * DOC: Overview
 *
 * unimem.ko creates @ndevices virtual accelerators, /dev/unimem0..N-1
 * (class "unimem").  Each has @mem_mib MiB of device-private memory: struct
 * pages created by memremap_pages(MEMORY_DEVICE_PRIVATE) whose contents live
 * in driver-owned system pages the CPU never maps (the device's "VRAM").
 *
 * Opening a device node creates a context that mirrors the opener's address
 * space into the device's page table (unimem_mirror.c).  The device engine
 * (UNIMEM_IOCTL_DEV_EXEC) reads, writes, fills, copies and performs atomics
 * through that page table, taking device faults with hmm_range_fault().
 * UNIMEM_IOCTL_MIGRATE moves anonymous memory between system memory and any
 * device, or directly between devices (unimem_migrate.c).  CPU faults on
 * device pages bring back a window of pages.  When a device is full its
 * coldest pages are evicted to system memory (unimem_devmem.c).  At unload
 * every live device page is migrated back, so no data is lost.
 *
 * Each device is its own pgmap owner, as each test_hmm device is: a device
 * fault (hmm_range_fault() with that owner) on a peer device's page faults
 * it back to system memory through the peer's migrate_to_ram, and the
 * device maps it there; an explicit migration to a device collects a
 * peer's pages in a pass of their own and copies them straight across.
 * With @peer_access all devices share one owner, &unimem_owner, as devices
 * on a coherent link would: a device maps a peer's page where it is.
 *
 * Lock order:
 *   ctx->migrate_lock -> mmap_lock (read) -> [page locks] -> udev->evict_lock
 *   ctx->lock is innermost: only xarray (GFP_ATOMIC) and kmap work under it;
 *   it is taken by the invalidation callback.
 */
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "unimem_internal.h"
#include "unimem_policy.h"

static unsigned int ndevices = 2;
module_param(ndevices, uint, 0444);
MODULE_PARM_DESC(ndevices, "number of virtual accelerators (1-16, default 2)");

static unsigned int mem_mib = 256;
module_param(mem_mib, uint, 0444);
MODULE_PARM_DESC(mem_mib,
		 "device memory per device in MiB (2-65536, rounded up to 2 MiB, default 256)");

/*
 * Device -> system (migration and CPU fault-back) can hand the device
 * page's storage to the process instead of copying it, because this
 * virtual device's memory is host RAM.  A real device copies (DMA), so
 * copying is the default; the hand-over is kept as an option and
 * benchmarked separately.  Read per batch: may change at run time.
 */
bool unimem_storage_handover;
module_param_named(storage_handover, unimem_storage_handover, bool, 0644);
MODULE_PARM_DESC(storage_handover,
		 "device -> system hands the device's storage page over instead of copying (only a RAM-backed virtual device can; default N: copy as a real device does)");

unsigned int unimem_fault_window = 512;
module_param_named(fault_window, unimem_fault_window, uint, 0444);
MODULE_PARM_DESC(fault_window,
		 "pages migrated back per CPU fault (power of 2, 1-512, default 512)");

/*
 * Device nodes are root-only (0600) unless udev says otherwise: the rule
 * shipped in udev/ gives group "render" 0660, as /dev/kfd and
 * /dev/dri/renderD* have.  Guests without udev (the test VMs) may ask for
 * another mode here.
 */
static unsigned int devnode_mode;
module_param(devnode_mode, uint, 0444);
MODULE_PARM_DESC(devnode_mode,
		 "permission bits of /dev/unimemN when not set by udev (0 = 0600, max 0666)");

/* Testing only: make the set-up of device N fail (kmod-robust-insmod-fail). */
static int inject_fail_device = -1;
module_param(inject_fail_device, int, 0444);
MODULE_PARM_DESC(inject_fail_device,
		 "testing: fail setting up device N at load (default -1: none)");

int unimem_owner;

/*
 * Devices with peer access share one pgmap owner and map each other's
 * memory; without it (the default) each device is its own owner.  Fixed
 * at load: the owner of a device page cannot change.
 */
bool unimem_peer_access;
module_param_named(peer_access, unimem_peer_access, bool, 0444);
MODULE_PARM_DESC(peer_access,
		 "devices map each other's memory in place (one pgmap owner) instead of faulting it back to system memory (default N)");

/**
 * unimem_is_owner() - is @owner the pgmap owner of a unimem device?
 * @owner: an owner from an MMU_NOTIFY_MIGRATE range or a pgmap
 *
 * Return: true for the shared owner and for every device's own.
 */
bool unimem_is_owner(const void *owner)
{
	unsigned int i;

	if (owner == &unimem_owner)
		return true;
	for (i = 0; i < unimem_ndevices; i++)
		if (unimem_devices[i] && unimem_devices[i]->owner == owner)
			return true;
	return false;
}
struct unimem_device **unimem_devices;
unsigned int unimem_ndevices;
static dev_t unimem_devt;
static struct class *unimem_class;

static u64 unimem_features =
	UNIMEM_FEAT_MIGRATE | UNIMEM_FEAT_DEV_TO_DEV | UNIMEM_FEAT_EVICTION |
	UNIMEM_FEAT_DEV_EXEC | UNIMEM_FEAT_ATOMICS | UNIMEM_FEAT_SNAPSHOT |
	UNIMEM_FEAT_COUNTERS | UNIMEM_FEAT_REMOTE_MAP |
	UNIMEM_FEAT_MIGRATE_BATCH;

/* ---------------------------------------------------------------- checks */

static bool unimem_zero(const void *p, size_t n)
{
	return !memchr_inv(p, 0, n);
}

/*
 * A user range [addr, addr + len): non-empty, no wrap, within user space,
 * page aligned when asked.
 */
static int unimem_check_range(u64 addr, u64 len, bool aligned)
{
	if (!len)
		return -EINVAL;
	if (aligned && ((addr | len) & ~PAGE_MASK))
		return -EINVAL;
	if (addr + len < addr)
		return -EOVERFLOW;
	if (addr + len > TASK_SIZE)
		return -EFAULT;
	return 0;
}

static struct unimem_device *unimem_pick(struct unimem_ctx *ctx, u32 idx)
{
	if (idx == UNIMEM_DEVICE_SELF)
		return ctx->udev;
	if (idx >= unimem_ndevices)
		return NULL;
	return unimem_devices[idx];
}

/* ---------------------------------------------------------------- ioctls */

static long unimem_ioc_version(void __user *uarg)
{
	struct unimem_version v;

	if (copy_from_user(&v, uarg, sizeof(v)))
		return -EFAULT;
	if (!unimem_zero(v.reserved, sizeof(v.reserved)))
		return -EINVAL;
	v.api_version = UNIMEM_API_VERSION;
	v.ndevices = unimem_ndevices;
	v.features = unimem_features |
		     (unimem_device_thp() ? UNIMEM_FEAT_DEVICE_THP : 0);
	return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
}

static long unimem_ioc_info(struct unimem_ctx *ctx, void __user *uarg)
{
	struct unimem_device_info info;
	struct unimem_device *udev;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	if (info.flags || !unimem_zero(info.reserved, sizeof(info.reserved)))
		return -EINVAL;
	udev = unimem_pick(ctx, info.device);
	if (!udev)
		return -ENODEV;
	info.ndevices = unimem_ndevices;
	info.page_size = PAGE_SIZE;
	info.mem_total = (u64)udev->npages << PAGE_SHIFT;
	info.mem_free = (u64)unimem_nfree(udev) << PAGE_SHIFT;
	info.chunk_size = min_t(u64, UNIMEM_CHUNK_MAX, info.mem_total);
	info.numa_node = dev_to_node(udev->dev);
	info.index = udev->index;
	memset(info.name, 0, sizeof(info.name));
	snprintf(info.name, sizeof(info.name), UNIMEM_NAME "%u", udev->index);
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

/* Check a migration request from user space; clear its out fields. */
static int unimem_migrate_check(struct unimem_migrate *m)
{
	int ret;

	if ((m->flags & ~UNIMEM_MIGRATE_FLAGS_ALL) ||
	    !unimem_zero(m->reserved, sizeof(m->reserved)))
		return -EINVAL;
	ret = unimem_check_range(m->addr, m->length, true);
	if (ret)
		return ret;
	if (m->target != UNIMEM_TARGET_SYSTEM && m->target >= unimem_ndevices)
		return -ENODEV;
	/* out fields: whatever came in is overwritten */
	m->moved = 0;
	m->already = 0;
	m->not_present = 0;
	m->unmapped = 0;
	m->unsupported = 0;
	m->busy = 0;
	m->nomem = 0;
	m->evicted = 0;
	return 0;
}

static long unimem_ioc_migrate(struct unimem_ctx *ctx, void __user *uarg)
{
	struct unimem_migrate m;
	long ret;

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	ret = unimem_migrate_check(&m);
	if (ret)
		return ret;
	ret = unimem_migrate(ctx, &m);
	if (ret)
		return ret;
	return copy_to_user(uarg, &m, sizeof(m)) ? -EFAULT : 0;
}

/*
 * UNIMEM_IOCTL_MIGRATE_BATCH: every entry is checked first, so a bad one
 * moves nothing; entries are read again when they run (user space may
 * change them meanwhile: checked again).
 */
static long unimem_ioc_migrate_batch(struct unimem_ctx *ctx,
				     struct unimem_migrate_batch __user *uarg)
{
	struct unimem_migrate __user *ue;
	struct unimem_migrate_batch b;
	struct unimem_migrate m;
	long ret = 0;
	u32 i;

	if (copy_from_user(&b, uarg, sizeof(b)))
		return -EFAULT;
	if (!unimem_zero(b.reserved, sizeof(b.reserved)) || !b.count)
		return -EINVAL;
	if (b.count > UNIMEM_MAX_MIGRATE_BATCH)
		return -E2BIG;
	ue = u64_to_user_ptr(b.entries);
	b.done = 0;
	for (i = 0; i < b.count && !ret; i++) {
		if (copy_from_user(&m, &ue[i], sizeof(m)))
			ret = -EFAULT;
		else
			ret = unimem_migrate_check(&m);
	}
	for (; !ret && b.done < b.count; b.done++) {
		if (copy_from_user(&m, &ue[b.done], sizeof(m))) {
			ret = -EFAULT;
			break;
		}
		ret = unimem_migrate_check(&m);
		if (!ret)
			ret = unimem_migrate(ctx, &m);
		if (!ret && copy_to_user(&ue[b.done], &m, sizeof(m)))
			ret = -EFAULT;
		if (ret)
			break;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			b.done++;
			break;
		}
		cond_resched();
	}
	if (put_user(b.done, &uarg->done))
		return -EFAULT;
	return ret;
}

static long unimem_ioc_exec(struct unimem_ctx *ctx, void __user *uarg)
{
	struct unimem_dev_op op;
	long ret;

	if (copy_from_user(&op, uarg, sizeof(op)))
		return -EFAULT;
	if (op.flags || op.reserved0 ||
	    !unimem_zero(op.reserved, sizeof(op.reserved)))
		return -EINVAL;

	switch (op.op) {
	case UNIMEM_OP_READ:
	case UNIMEM_OP_WRITE:
		if (op.src || op.value || op.compare || op.width)
			return -EINVAL;
		if (op.length > UNIMEM_MAX_DEV_OP_LENGTH)
			return -E2BIG;
		ret = unimem_check_range(op.addr, op.length, false);
		if (!ret)
			ret = unimem_check_range(op.buf, op.length, false);
		if (ret)
			return ret;
		if (!access_ok(u64_to_user_ptr(op.buf), op.length))
			return -EFAULT;
		break;
	case UNIMEM_OP_FILL:
		if (op.src || op.buf || op.compare)
			return -EINVAL;
		if (op.width != 1 && op.width != 2 && op.width != 4 &&
		    op.width != 8)
			return -EINVAL;
		if ((op.addr | op.length) & (op.width - 1))
			return -EINVAL;
		if (op.length > UNIMEM_MAX_DEV_OP_LENGTH)
			return -E2BIG;
		ret = unimem_check_range(op.addr, op.length, false);
		if (ret)
			return ret;
		break;
	case UNIMEM_OP_COPY:
		if (op.buf || op.value || op.compare || op.width)
			return -EINVAL;
		if (op.length > UNIMEM_MAX_DEV_OP_LENGTH)
			return -E2BIG;
		ret = unimem_check_range(op.addr, op.length, false);
		if (!ret)
			ret = unimem_check_range(op.src, op.length, false);
		if (ret)
			return ret;
		if (op.src < op.addr + op.length && op.addr < op.src + op.length)
			return -EINVAL;	/* overlap */
		break;
	case UNIMEM_OP_ATOMIC_ADD:
	case UNIMEM_OP_ATOMIC_XCHG:
	case UNIMEM_OP_ATOMIC_CMPXCHG:
		if (op.length || op.buf || op.src)
			return -EINVAL;
		if (op.op != UNIMEM_OP_ATOMIC_CMPXCHG && op.compare)
			return -EINVAL;
		if (op.width != 4 && op.width != 8)
			return -EINVAL;
		if (op.addr & (op.width - 1))
			return -EINVAL;
		ret = unimem_check_range(op.addr, op.width, false);
		if (ret)
			return ret;
		if (op.width == 4 &&
		    ((op.value >> 32) || (op.compare >> 32)))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}

	op.result = 0;
	op.faults = 0;
	ret = unimem_dev_exec(ctx, &op);
	if (ret)
		return ret;
	return copy_to_user(uarg, &op, sizeof(op)) ? -EFAULT : 0;
}

static long unimem_ioc_snapshot(struct unimem_ctx *ctx, void __user *uarg)
{
	struct unimem_snapshot s;
	long ret;

	if (copy_from_user(&s, uarg, sizeof(s)))
		return -EFAULT;
	if (s.flags || s.reserved0 || !unimem_zero(s.reserved, sizeof(s.reserved)))
		return -EINVAL;
	if (!s.npages)
		return -EINVAL;
	if (s.npages > UNIMEM_MAX_SNAPSHOT_PAGES)
		return -E2BIG;
	if (s.addr & ~PAGE_MASK)
		return -EINVAL;
	ret = unimem_check_range(s.addr, s.npages << PAGE_SHIFT, true);
	if (!ret)
		ret = unimem_check_range(s.entries, s.npages * sizeof(__u32),
					 false);
	if (ret)
		return ret;
	if (s.entries & (sizeof(__u32) - 1))
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(s.entries), s.npages * sizeof(__u32)))
		return -EFAULT;
	return unimem_snapshot(ctx, &s);
}

static long unimem_ioc_counters(struct unimem_ctx *ctx, void __user *uarg)
{
	struct unimem_counters *c;
	atomic64_t *src;
	long ret = 0;
	int i;

	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	if (copy_from_user(c, uarg, sizeof(*c))) {
		ret = -EFAULT;
		goto out;
	}
	if (c->flags || !unimem_zero(c->reserved, sizeof(c->reserved))) {
		ret = -EINVAL;
		goto out;
	}
	if (c->scope == UNIMEM_SCOPE_CONTEXT) {
		if (c->device && c->device != UNIMEM_DEVICE_SELF) {
			ret = -EINVAL;
			goto out;
		}
		/* one process's activity: not through a file it passed on */
		if (current->mm != ctx->notifier.mm) {
			ret = -ESRCH;
			goto out;
		}
		src = ctx->cnt;
	} else if (c->scope == UNIMEM_SCOPE_DEVICE) {
		struct unimem_device *udev = unimem_pick(ctx, c->device);

		if (!udev) {
			ret = -ENODEV;
			goto out;
		}
		src = udev->cnt;
	} else {
		ret = -EINVAL;
		goto out;
	}
	memset(c->values, 0, sizeof(c->values));
	for (i = 0; i < UNIMEM_CNT_NR; i++)
		c->values[i] = atomic64_read(&src[i]);
	c->ncounters = UNIMEM_CNT_NR;
	if (copy_to_user(uarg, c, sizeof(*c)))
		ret = -EFAULT;
out:
	kfree(c);
	return ret;
}

static long unimem_ioctl(struct file *filp, unsigned int cmd,
			 unsigned long arg)
{
	struct unimem_ctx *ctx = filp->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case UNIMEM_IOCTL_VERSION:
		return unimem_ioc_version(uarg);
	case UNIMEM_IOCTL_DEVICE_INFO:
		return unimem_ioc_info(ctx, uarg);
	case UNIMEM_IOCTL_COUNTERS:
		return unimem_ioc_counters(ctx, uarg);
	case UNIMEM_IOCTL_MIGRATE:
	case UNIMEM_IOCTL_MIGRATE_BATCH:
	case UNIMEM_IOCTL_DEV_EXEC:
	case UNIMEM_IOCTL_SNAPSHOT:
		break;
	default:
		/* range attributes, prefetch, policy (or -ENOTTY) */
		return unimem_policy_ioctl(ctx, cmd, uarg);
	}

	/* Memory operations only from the address space the file mirrors. */
	if (current->mm != ctx->notifier.mm)
		return -ESRCH;

	switch (cmd) {
	case UNIMEM_IOCTL_MIGRATE:
		return unimem_ioc_migrate(ctx, uarg);
	case UNIMEM_IOCTL_MIGRATE_BATCH:
		return unimem_ioc_migrate_batch(ctx, uarg);
	case UNIMEM_IOCTL_DEV_EXEC:
		return unimem_ioc_exec(ctx, uarg);
	default:
		return unimem_ioc_snapshot(ctx, uarg);
	}
}

static int unimem_open(struct inode *inode, struct file *filp)
{
	struct unimem_device *udev = container_of(inode->i_cdev,
						  struct unimem_device, cdev);
	struct unimem_ctx *ctx;
	int ret;

	ret = unimem_ctx_open(udev, &ctx);
	if (ret)
		return ret;
	filp->private_data = ctx;
	return 0;
}

static int unimem_release(struct inode *inode, struct file *filp)
{
	unimem_ctx_release(filp->private_data);
	return 0;
}

static const struct file_operations unimem_fops = {
	.owner		= THIS_MODULE,
	.open		= unimem_open,
	.release	= unimem_release,
	.unlocked_ioctl	= unimem_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/* ---------------------------------------------------------------- sysfs */

static ssize_t mem_total_bytes_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct unimem_device *udev = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%llu\n", (u64)udev->npages << PAGE_SHIFT);
}
static DEVICE_ATTR_RO(mem_total_bytes);

static ssize_t mem_free_bytes_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct unimem_device *udev = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%llu\n", (u64)unimem_nfree(udev) << PAGE_SHIFT);
}
static DEVICE_ATTR_RO(mem_free_bytes);

static const char * const unimem_counter_names[UNIMEM_CNT_NR] =
	UNIMEM_COUNTER_NAMES;

static ssize_t counters_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct unimem_device *udev = dev_get_drvdata(dev);
	int i, n = 0;

	for (i = 0; i < UNIMEM_CNT_NR; i++)
		n += sysfs_emit_at(buf, n, "%s %lld\n", unimem_counter_names[i],
				   atomic64_read(&udev->cnt[i]));
	return n;
}
/*
 * Totals over all users of the device: readable by root here, by ioctl by
 * whoever may open the device (kmod.md, Counters).
 */
static DEVICE_ATTR_ADMIN_RO(counters);

static struct attribute *unimem_attrs[] = {
	&dev_attr_mem_total_bytes.attr,
	&dev_attr_mem_free_bytes.attr,
	&dev_attr_counters.attr,
	NULL,
};
ATTRIBUTE_GROUPS(unimem);

static char *unimem_devnode(UNIMEM_UEVENT_CONST struct device *dev,
			    umode_t *mode)
{
	if (mode && devnode_mode)
		*mode = devnode_mode;
	return NULL;
}

/* ---------------------------------------------------------------- init */

/* Remove the node and char device of @udev: no new opens. */
static void unimem_device_unexpose(struct unimem_device *udev)
{
	if (udev->dev)
		device_destroy(unimem_class, udev->cdev.dev);
	udev->dev = NULL;
	if (udev->cdev.count)
		cdev_del(&udev->cdev);
	udev->cdev.count = 0;
}

static void unimem_device_destroy(struct unimem_device *udev)
{
	unimem_device_unexpose(udev);
	unimem_devmem_fini(udev);
	kfree(udev);
}

/* Set up device @index, not yet visible to user space. */
static int unimem_device_create(unsigned int index, unsigned long bytes)
{
	struct unimem_device *udev;
	int ret, i;

	udev = kzalloc(sizeof(*udev), GFP_KERNEL);
	if (!udev)
		return -ENOMEM;
	udev->index = index;
	udev->owner = unimem_peer_access ? (void *)&unimem_owner : (void *)udev;
	spin_lock_init(&udev->ctx_lock);
	INIT_LIST_HEAD(&udev->ctx_list);
	for (i = 0; i < UNIMEM_CNT_NR; i++)
		atomic64_set(&udev->cnt[i], 0);

	ret = unimem_devmem_init(udev, bytes);	/* unwinds itself */
	if (ret) {
		kfree(udev);
		return ret;
	}
	if ((int)index == inject_fail_device) {
		unimem_devmem_fini(udev);
		kfree(udev);
		return -ENOMEM;
	}
	cdev_init(&udev->cdev, &unimem_fops);
	udev->cdev.owner = THIS_MODULE;
	unimem_devices[index] = udev;
	return 0;
}

/*
 * Make a set-up device visible: its char device, then its node.  Once
 * this succeeds a file may be open on it, so it must not be freed before
 * module exit.
 */
static int unimem_device_expose(struct unimem_device *udev)
{
	struct device *dev;
	int ret;

	ret = cdev_add(&udev->cdev, MKDEV(MAJOR(unimem_devt), udev->index), 1);
	if (ret) {
		udev->cdev.count = 0;
		return ret;
	}
	dev = device_create(unimem_class, NULL, udev->cdev.dev, udev,
			    UNIMEM_NAME "%u", udev->index);
	if (IS_ERR(dev)) {
		unimem_device_unexpose(udev);
		return PTR_ERR(dev);
	}
	udev->dev = dev;
	return 0;
}

static int __init unimem_init(void)
{
	unsigned long bytes;
	unsigned int i;
	int ret;

	if (!IS_ENABLED(CONFIG_DEVICE_PRIVATE)) {
		pr_err("unimem: kernel built without CONFIG_DEVICE_PRIVATE\n");
		return -EOPNOTSUPP;
	}
	if (!ndevices || ndevices > UNIMEM_MAX_DEVICES) {
		pr_err("unimem: ndevices must be 1..%d\n", UNIMEM_MAX_DEVICES);
		return -EINVAL;
	}
	if (mem_mib < 2 || mem_mib > 65536) {
		pr_err("unimem: mem_mib must be 2..65536\n");
		return -EINVAL;
	}
	if (!unimem_fault_window || unimem_fault_window > 512 ||
	    !is_power_of_2(unimem_fault_window)) {
		pr_err("unimem: fault_window must be a power of 2 in 1..512\n");
		return -EINVAL;
	}
	if (devnode_mode & ~0666) {
		pr_err("unimem: devnode_mode may only hold read/write bits (0..0666)\n");
		return -EINVAL;
	}
	bytes = ALIGN((unsigned long)mem_mib << 20, 2UL << 20);

	ret = unimem_rmap_init();
	if (ret)
		return ret;
	unimem_devices = kcalloc(ndevices, sizeof(*unimem_devices),
				 GFP_KERNEL);
	if (!unimem_devices) {
		ret = -ENOMEM;
		goto err_rmap;
	}
	ret = alloc_chrdev_region(&unimem_devt, 0, ndevices, UNIMEM_NAME);
	if (ret)
		goto err_free;
	unimem_class = unimem_class_create(UNIMEM_NAME);
	if (IS_ERR(unimem_class)) {
		ret = PTR_ERR(unimem_class);
		goto err_region;
	}
	unimem_class->dev_groups = unimem_groups;
	unimem_class->devnode = unimem_devnode;

	/*
	 * Set every device up before exposing any: a device that fails must
	 * not take down one that a process may already have open (a failed
	 * init frees the module without waiting for open files).
	 */
	for (i = 0; i < ndevices; i++) {
		ret = unimem_device_create(i, bytes);
		if (ret)
			goto err_devices;
		unimem_ndevices = i + 1;
	}
	for (i = 0; i < ndevices; i++) {
		ret = unimem_device_expose(unimem_devices[i]);
		if (!ret)
			continue;
		if (!i)
			goto err_devices;	/* nothing exposed yet */
		/* others may be open: keep it, reachable as a peer only */
		pr_warn("unimem: /dev/" UNIMEM_NAME "%u not created (%d)\n",
			i, ret);
	}
	pr_info("unimem: %u devices, %lu MiB each, api %u.%u\n", ndevices,
		bytes >> 20, UNIMEM_API_VERSION_MAJOR,
		UNIMEM_API_VERSION_MINOR);
	return 0;

err_devices:
	while (unimem_ndevices)
		unimem_device_destroy(unimem_devices[--unimem_ndevices]);
	class_destroy(unimem_class);
err_region:
	unregister_chrdev_region(unimem_devt, ndevices);
err_free:
	kfree(unimem_devices);
err_rmap:
	unimem_rmap_fini();
	return ret;
}

static void __exit unimem_exit(void)
{
	while (unimem_ndevices)
		unimem_device_destroy(unimem_devices[--unimem_ndevices]);
	class_destroy(unimem_class);
	unregister_chrdev_region(unimem_devt, ndevices);
	kfree(unimem_devices);
	unimem_rmap_fini();
}

module_init(unimem_init);
module_exit(unimem_exit);
MODULE_DESCRIPTION("unimem: HMM driver for virtual accelerators");
MODULE_LICENSE("GPL");
