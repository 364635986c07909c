/* SPDX-License-Identifier: MIT */
/*
 * svm.c - OpenCL 2.x shared virtual memory with unimem behind it.
 *
 * In a context whose devices all run in process (devices.c), clSVMAlloc
 * returns unimem memory and migrations become unimem prefetches. Copies,
 * fills, maps and kernel arguments go to the driver unchanged: it runs
 * them on the host, where our pointers are ordinary memory. Contexts with
 * other devices get the driver's SVM untouched.
 */
#include "layer.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The largest OpenCL C type (long16, double16) bounds SVM alignment. */
#define SVM_MAX_ALIGNMENT 128

static void *CL_API_CALL svm_alloc(cl_context ctx, cl_svm_mem_flags flags,
				   size_t size, cl_uint alignment)
{
	cl_device_id devs[UNIMEM_CL_MAX_DEVICES];
	cl_uint n;
	bool served;
	if (unimem_cl_context_devices(ctx, devs, UNIMEM_CL_MAX_DEVICES, &n, &served) !=
	    CL_SUCCESS)
		return NULL;
	if (!served)
		return unimem_cl_next.clSVMAlloc(ctx, flags, size, alignment);

	const cl_svm_mem_flags access = CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY |
					CL_MEM_READ_ONLY;
	const cl_svm_mem_flags known = access | CL_MEM_SVM_FINE_GRAIN_BUFFER |
				       CL_MEM_SVM_ATOMICS;
	if ((flags & ~known) || __builtin_popcountll(flags & access) > 1)
		return NULL;
	if ((flags & CL_MEM_SVM_ATOMICS) && !(flags & CL_MEM_SVM_FINE_GRAIN_BUFFER))
		return NULL;
	cl_ulong max_alloc = UINT64_MAX;
	for (cl_uint i = 0; i < n; i++) {
		struct unimem_cl_device d;
		if (!unimem_cl_device(devs[i], &d))
			return NULL;
		if ((flags & CL_MEM_SVM_ATOMICS) && !(d.driver_svm & CL_DEVICE_SVM_ATOMICS))
			return NULL;
		if (d.max_alloc && d.max_alloc < max_alloc)
			max_alloc = d.max_alloc;
	}
	if (size == 0 || size > max_alloc)
		return NULL;
	if (alignment == 0)
		alignment = SVM_MAX_ALIGNMENT;
	if ((alignment & (alignment - 1)) || alignment > SVM_MAX_ALIGNMENT)
		return NULL;

	struct unimem_cl_alloc a = { .size = size, .context = ctx, .kind = UNIMEM_CL_SVM,
				     .flags = flags,
				     .svm_type = (flags & CL_MEM_SVM_FINE_GRAIN_BUFFER) ?
							 UNIMEM_CL_SVM_TYPE_FINE_GRAIN_BUFFER :
							 UNIMEM_CL_SVM_TYPE_COARSE_GRAIN_BUFFER };
	a.base = unimem_cl_alloc_memory(size, alignment, UNIMEM_LOC_NONE);
	if (!a.base) {
		/* unimem could not serve it: the driver's SVM is still SVM, and
		 * recorded, so that its queries and frees know it. */
		unimem_cl_debug("clSVMAlloc(%zu): unimem failed, using the driver's", size);
		a.base = unimem_cl_next.clSVMAlloc(ctx, flags, size, alignment);
		a.from_driver = true;
		if (!a.base)
			return NULL;
	}
	if (unimem_cl_registry_add(&a) != 0) {
		if (a.from_driver)
			unimem_cl_next.clSVMFree(ctx, a.base);
		else
			unimem_free(a.base);
		return NULL;
	}
	return a.base;
}

/* Frees @ptr if the layer allocated it; false if it is not ours. */
static bool free_ours(cl_context ctx, void *ptr)
{
	struct unimem_cl_alloc a;
	if (unimem_cl_registry_remove(ptr, ctx, &a)) {
		if (a.from_driver)
			unimem_cl_next.clSVMFree(ctx, ptr);
		else
			unimem_free(ptr);
		return true;
	}
	if (unimem_cl_registry_find(ptr, &a)) {
		/* Inside one of ours but not its start, or another context's:
		 * undefined by the spec; leave it alone rather than corrupt. */
		unimem_cl_debug("free of %p ignored: not an allocation of context %p",
				ptr, (void *)ctx);
		return true;
	}
	return false;
}

static void CL_API_CALL svm_free(cl_context ctx, void *ptr)
{
	if (!ptr || !ctx)
		return;
	if (!free_ours(ctx, ptr))
		unimem_cl_next.clSVMFree(ctx, ptr);
}

struct svm_free_request {
	cl_context ctx;
	void(CL_CALLBACK *user_fn)(cl_command_queue, cl_uint, void *[], void *);
	void *user_data;
};

static void CL_CALLBACK svm_free_callback(cl_command_queue q, cl_uint n,
					  void *ptrs[], void *data)
{
	struct svm_free_request *r = data;
	if (r->user_fn) {
		r->user_fn(q, n, ptrs, r->user_data);
	} else {
		for (cl_uint i = 0; i < n; i++)
			svm_free(r->ctx, ptrs[i]);
	}
	free(r);
}

static cl_int CL_API_CALL
svm_enqueue_free(cl_command_queue q, cl_uint n, void *ptrs[],
		 void(CL_CALLBACK *fn)(cl_command_queue, cl_uint, void *[], void *),
		 void *user_data, cl_uint num_wait, const cl_event *wait,
		 cl_event *event)
{
	bool ours = false;
	if ((n > 0) != (ptrs != NULL))
		return CL_INVALID_VALUE;
	for (cl_uint i = 0; i < n && !ours; i++)
		ours = ptrs[i] && unimem_cl_registry_find(ptrs[i], NULL);
	if (!ours)
		return unimem_cl_next.clEnqueueSVMFree(q, n, ptrs, fn, user_data,
						       num_wait, wait, event);

	/* The driver must not free our memory itself: it always gets a
	 * callback, which calls the application's or frees through us. */
	struct svm_free_request *r = malloc(sizeof(*r));
	if (!r)
		return CL_OUT_OF_HOST_MEMORY;
	r->user_fn = fn;
	r->user_data = user_data;
	cl_int err = unimem_cl_next.clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT,
							  sizeof(r->ctx), &r->ctx, NULL);
	if (err == CL_SUCCESS)
		err = unimem_cl_next.clEnqueueSVMFree(q, n, ptrs, svm_free_callback, r,
						      num_wait, wait, event);
	if (err != CL_SUCCESS)
		free(r);
	return err;
}

/* ---- migration ---------------------------------------------------------- */

struct migrate_job {
	unimem_location_t target;
	unsigned int flags;
	size_t count;
	struct unimem_range ranges[];
};

static void do_migrate(void *arg)
{
	struct migrate_job *j = arg;
	if (j->count == 0)
		return;
	long r = unimem_prefetch_batch(j->ranges, j->count, j->target, j->flags);
	/* A prefetch is a hint: pages it cannot move stay where they are and
	 * are still reachable, so the command does not fail for that. */
	if (r < 0)
		unimem_cl_debug("prefetch to %#x: %s", j->target, unimem_strerror((int)r));
}

/* Is [ptr, ptr + size) mapped memory? msync(MS_ASYNC) only checks that. */
static bool range_mapped(const void *ptr, size_t size)
{
	static long page;
	if (!page)
		page = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)ptr & ~(uintptr_t)(page - 1);
	uintptr_t end = (uintptr_t)ptr + size;
	if (end < (uintptr_t)ptr)
		return false;
	return msync((void *)start, end - start, MS_ASYNC) == 0;
}

/* The range to migrate for (ptr, size): size 0 means its whole allocation. */
static cl_int migrate_range(const void *ptr, size_t size, struct unimem_range *out)
{
	struct unimem_cl_alloc a;
	if (!ptr)
		return CL_INVALID_VALUE;
	if (unimem_cl_registry_find(ptr, &a)) {
		uintptr_t end = (uintptr_t)a.base + a.size;
		if (size == 0) {
			out->ptr = a.base;
			out->size = a.size;
			return CL_SUCCESS;
		}
		if ((uintptr_t)ptr + size > end || (uintptr_t)ptr + size < (uintptr_t)ptr)
			return CL_INVALID_VALUE;
	} else if (size == 0) {
		struct unimem_ptr_info info;
		if (unimem_ptr_info(ptr, &info) != 0)
			return CL_INVALID_VALUE; /* no allocation we can see */
		out->ptr = info.base;
		out->size = info.size;
		return CL_SUCCESS;
	} else if (!range_mapped(ptr, size)) {
		return CL_INVALID_VALUE;
	}
	out->ptr = ptr;
	out->size = size;
	return CL_SUCCESS;
}

cl_int unimem_cl_enqueue_migrate(cl_command_queue q, cl_uint n, const void **ptrs,
				 const size_t *sizes, cl_mem_migration_flags flags,
				 cl_uint num_wait, const cl_event *wait,
				 cl_event *event, bool usm_command)
{
	struct unimem_cl_device dev;
	cl_int err = unimem_cl_queue_device(q, NULL, &dev);
	if (err != CL_SUCCESS)
		return err;
	if (!dev.in_process) {
		if (usm_command)
			return CL_INVALID_OPERATION;
		return unimem_cl_next.clEnqueueSVMMigrateMem(q, n, ptrs, sizes, flags,
							     num_wait, wait, event);
	}
	if (n == 0 || !ptrs)
		return CL_INVALID_VALUE;
	if (flags & ~(cl_mem_migration_flags)(CL_MIGRATE_MEM_OBJECT_HOST |
					      CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED))
		return CL_INVALID_VALUE;
	err = unimem_cl_check_wait_list(num_wait, wait);
	if (err != CL_SUCCESS)
		return err;

	struct migrate_job *j = malloc(sizeof(*j) + n * sizeof(j->ranges[0]));
	if (!j)
		return CL_OUT_OF_HOST_MEMORY;
	j->count = 0;
	for (cl_uint i = 0; i < n; i++) {
		size_t size = sizes ? sizes[i] : 0;
		/* cl_khr_unified_svm: a NULL pointer of size 0 is ignored. */
		if (!ptrs[i] && size == 0)
			continue;
		err = migrate_range(ptrs[i], size, &j->ranges[j->count++]);
		if (err != CL_SUCCESS) {
			free(j);
			return err;
		}
	}
	j->target = (flags & CL_MIGRATE_MEM_OBJECT_HOST) ? unimem_cl_host_location() :
							    dev.location;
	j->flags = (flags & CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED) ?
			   UNIMEM_PREFETCH_CONTENT_UNDEFINED : 0;

	return unimem_cl_host_command(q, num_wait, wait, event,
				      usm_command ? CL_COMMAND_MIGRATEMEM_INTEL :
						    CL_COMMAND_SVM_MIGRATE_MEM,
				      do_migrate, j);
}

static cl_int CL_API_CALL svm_enqueue_migrate(cl_command_queue q, cl_uint n,
					      const void **ptrs, const size_t *sizes,
					      cl_mem_migration_flags flags,
					      cl_uint num_wait, const cl_event *wait,
					      cl_event *event)
{
	return unimem_cl_enqueue_migrate(q, n, ptrs, sizes, flags, num_wait, wait,
					 event, false);
}

/* ---- kernels ------------------------------------------------------------ */

static cl_int kernel_context_served(cl_kernel k, bool *served)
{
	cl_context ctx;
	cl_device_id devs[UNIMEM_CL_MAX_DEVICES];
	cl_uint n;
	if (!k)
		return CL_INVALID_KERNEL;
	cl_int err = unimem_cl_next.clGetKernelInfo(k, CL_KERNEL_CONTEXT, sizeof(ctx),
						    &ctx, NULL);
	if (err == CL_SUCCESS)
		err = unimem_cl_context_devices(ctx, devs, UNIMEM_CL_MAX_DEVICES, &n,
						served);
	return err;
}

static cl_int CL_API_CALL set_kernel_exec_info(cl_kernel k, cl_kernel_exec_info param,
					       size_t size, const void *value)
{
	bool served = false;
	cl_int err;
	switch (param) {
	case CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM:
	case CL_KERNEL_EXEC_INFO_SVM_INDIRECT_ACCESS_KHR:
	case CL_KERNEL_EXEC_INFO_INDIRECT_HOST_ACCESS_INTEL:
	case CL_KERNEL_EXEC_INFO_INDIRECT_DEVICE_ACCESS_INTEL:
	case CL_KERNEL_EXEC_INFO_INDIRECT_SHARED_ACCESS_INTEL:
		err = kernel_context_served(k, &served);
		if (err != CL_SUCCESS)
			return err;
		if (!served)
			break;
		if (!value || size != sizeof(cl_bool))
			return CL_INVALID_VALUE;
		/* Kernels run on the host: all memory is reachable already.
		 * Tell the driver too, but its view of the device is ours. */
		if (param == CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM)
			(void)unimem_cl_next.clSetKernelExecInfo(k, param, size, value);
		return CL_SUCCESS;
	case CL_KERNEL_EXEC_INFO_USM_PTRS_INTEL:
		err = kernel_context_served(k, &served);
		if (err != CL_SUCCESS)
			return err;
		if (!served)
			break;
		if (size % sizeof(void *) || (size && !value))
			return CL_INVALID_VALUE;
		return CL_SUCCESS;
	default:
		break;
	}
	return unimem_cl_next.clSetKernelExecInfo(k, param, size, value);
}

/* ---- copies and fills of nothing ---------------------------------------- */

/* cl_khr_unified_svm lets a copy or fill of size 0 name NULL pointers; on
 * a served queue any such command is a no-op the driver would refuse
 * (PoCL rejects size 0): a marker in its place, reporting @type. */
static cl_int enqueue_nothing(cl_command_queue q, cl_bool blocking, cl_uint num_wait,
			      const cl_event *wait, cl_event *event, cl_command_type type)
{
	cl_event ev;
	cl_int err = unimem_cl_check_wait_list(num_wait, wait);
	if (err == CL_SUCCESS)
		err = unimem_cl_next.clEnqueueMarkerWithWaitList(q, num_wait, wait, &ev);
	if (err != CL_SUCCESS)
		return err;
	if (blocking)
		err = unimem_cl_next.clWaitForEvents(1, &ev);
	if (event) {
		*event = ev;
		unimem_cl_event_set_type(ev, type);
	} else {
		unimem_cl_next.clReleaseEvent(ev);
	}
	return err;
}

static bool served_queue(cl_command_queue q)
{
	struct unimem_cl_device dev;
	return unimem_cl_queue_device(q, NULL, &dev) == CL_SUCCESS && dev.in_process;
}

static cl_int CL_API_CALL svm_enqueue_memcpy(cl_command_queue q, cl_bool blocking,
					     void *dst, const void *src, size_t size,
					     cl_uint num_wait, const cl_event *wait,
					     cl_event *event)
{
	if (size == 0 && served_queue(q))
		return enqueue_nothing(q, blocking, num_wait, wait, event,
				       CL_COMMAND_SVM_MEMCPY);
	return unimem_cl_next.clEnqueueSVMMemcpy(q, blocking, dst, src, size, num_wait, wait,
						 event);
}

static cl_int CL_API_CALL svm_enqueue_fill(cl_command_queue q, void *ptr,
					   const void *pattern, size_t pattern_size,
					   size_t size, cl_uint num_wait, const cl_event *wait,
					   cl_event *event)
{
	if (size == 0 && served_queue(q)) {
		if (!pattern || !pattern_size || (pattern_size & (pattern_size - 1)) ||
		    pattern_size > 128)
			return CL_INVALID_VALUE;
		return enqueue_nothing(q, CL_FALSE, num_wait, wait, event,
				       CL_COMMAND_SVM_MEMFILL);
	}
	return unimem_cl_next.clEnqueueSVMMemFill(q, ptr, pattern, pattern_size, size,
						  num_wait, wait, event);
}

void unimem_cl_svm_hook(cl_icd_dispatch *d)
{
	d->clEnqueueSVMMemcpy = svm_enqueue_memcpy;
	d->clEnqueueSVMMemFill = svm_enqueue_fill;
	d->clSVMAlloc = svm_alloc;
	d->clSVMFree = svm_free;
	d->clEnqueueSVMFree = svm_enqueue_free;
	d->clEnqueueSVMMigrateMem = svm_enqueue_migrate;
	d->clSetKernelExecInfo = set_kernel_exec_info;
}
