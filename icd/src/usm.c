/* SPDX-License-Identifier: MIT */
/*
 * usm.c - cl_intel_unified_shared_memory on unimem, for contexts whose
 * devices all run in process (devices.c). Host allocations are placed on
 * the caller's NUMA node, device allocations on the device's location,
 * shared ones where first touched unless an initial placement is asked.
 * Copies and fills run as the driver's SVM commands; migrations and
 * advice are unimem prefetches and advice (svm.c, host_command.c).
 */
#include "layer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define USM_DEFAULT_ALIGNMENT 128
#define USM_MAX_ALIGNMENT ((cl_uint)2 << 20) /* a huge page */

static void set_err(cl_int *errcode_ret, cl_int err)
{
	if (errcode_ret)
		*errcode_ret = err;
}

static cl_int parse_properties(const cl_mem_properties_intel *props,
			       cl_mem_alloc_flags_intel *flags)
{
	const cl_mem_alloc_flags_intel known = CL_MEM_ALLOC_WRITE_COMBINED_INTEL |
					       CL_MEM_ALLOC_INITIAL_PLACEMENT_DEVICE_INTEL |
					       CL_MEM_ALLOC_INITIAL_PLACEMENT_HOST_INTEL;
	const cl_mem_alloc_flags_intel both = CL_MEM_ALLOC_INITIAL_PLACEMENT_DEVICE_INTEL |
					      CL_MEM_ALLOC_INITIAL_PLACEMENT_HOST_INTEL;
	bool seen_flags = false;
	*flags = 0;
	for (; props && props[0]; props += 2) {
		if (props[0] != CL_MEM_ALLOC_FLAGS_INTEL || seen_flags)
			return CL_INVALID_PROPERTY;
		seen_flags = true;
		*flags = props[1];
		if ((*flags & ~known) || (*flags & both) == both)
			return CL_INVALID_PROPERTY;
	}
	return CL_SUCCESS;
}

static void *usm_alloc(enum unimem_cl_alloc_kind kind, cl_context ctx,
		       cl_device_id dev, const cl_mem_properties_intel *props,
		       size_t size, cl_uint alignment, cl_int *errcode_ret)
{
	cl_device_id devs[UNIMEM_CL_MAX_DEVICES];
	cl_uint n;
	bool served;
	cl_int err = unimem_cl_context_devices(ctx, devs, UNIMEM_CL_MAX_DEVICES, &n,
					       &served);
	if (err != CL_SUCCESS)
		goto fail;
	if (kind == UNIMEM_CL_DEVICE && !dev) {
		err = CL_INVALID_DEVICE;
		goto fail;
	}
	cl_ulong max_alloc = UINT64_MAX;
	bool in_context = !dev;
	for (cl_uint i = 0; i < n; i++) {
		struct unimem_cl_device d;
		in_context |= devs[i] == dev;
		if (unimem_cl_device(devs[i], &d) && d.max_alloc && (!dev || devs[i] == dev) &&
		    d.max_alloc < max_alloc)
			max_alloc = d.max_alloc;
	}
	if (!in_context) {
		err = CL_INVALID_DEVICE;
		goto fail;
	}
	if (!served) {
		err = CL_INVALID_OPERATION; /* a device that cannot share our memory */
		goto fail;
	}
	cl_mem_alloc_flags_intel flags;
	err = parse_properties(props, &flags);
	if (err != CL_SUCCESS)
		goto fail;
	if (alignment & (alignment - 1) || alignment > USM_MAX_ALIGNMENT) {
		err = CL_INVALID_VALUE;
		goto fail;
	}
	if (size == 0 || size > max_alloc) {
		err = CL_INVALID_BUFFER_SIZE;
		goto fail;
	}

	unimem_location_t loc = UNIMEM_LOC_NONE;
	struct unimem_cl_device d;
	bool have_device = dev && unimem_cl_device(dev, &d);
	if (kind == UNIMEM_CL_HOST ||
	    (flags & CL_MEM_ALLOC_INITIAL_PLACEMENT_HOST_INTEL))
		loc = unimem_cl_host_location();
	else if (have_device && (kind == UNIMEM_CL_DEVICE ||
				 (flags & CL_MEM_ALLOC_INITIAL_PLACEMENT_DEVICE_INTEL)))
		loc = d.location;

	void *p = unimem_cl_alloc_memory(size, alignment ? alignment :
							   USM_DEFAULT_ALIGNMENT, loc);
	if (!p) {
		err = CL_OUT_OF_HOST_MEMORY;
		goto fail;
	}
	/* The cl_khr_unified_svm type closest to each USM kind. */
	cl_uint svm_type = kind == UNIMEM_CL_HOST ? UNIMEM_CL_SVM_TYPE_HOST :
			   kind == UNIMEM_CL_DEVICE ? UNIMEM_CL_SVM_TYPE_DEVICE :
			   dev ? UNIMEM_CL_SVM_TYPE_SINGLE_DEVICE_SHARED :
				 UNIMEM_CL_SVM_TYPE_FINE_GRAIN_BUFFER;
	struct unimem_cl_alloc a = { .base = p, .size = size, .context = ctx,
				     .device = dev, .kind = kind, .flags = flags,
				     .svm_type = svm_type };
	if (unimem_cl_registry_add(&a) != 0) {
		unimem_free(p);
		err = CL_OUT_OF_HOST_MEMORY;
		goto fail;
	}
	set_err(errcode_ret, CL_SUCCESS);
	return p;
fail:
	set_err(errcode_ret, err);
	return NULL;
}

static void *CL_API_CALL host_mem_alloc(cl_context ctx,
					const cl_mem_properties_intel *props,
					size_t size, cl_uint alignment, cl_int *err)
{
	return usm_alloc(UNIMEM_CL_HOST, ctx, NULL, props, size, alignment, err);
}

static void *CL_API_CALL device_mem_alloc(cl_context ctx, cl_device_id dev,
					  const cl_mem_properties_intel *props,
					  size_t size, cl_uint alignment, cl_int *err)
{
	return usm_alloc(UNIMEM_CL_DEVICE, ctx, dev, props, size, alignment, err);
}

static void *CL_API_CALL shared_mem_alloc(cl_context ctx, cl_device_id dev,
					  const cl_mem_properties_intel *props,
					  size_t size, cl_uint alignment, cl_int *err)
{
	return usm_alloc(UNIMEM_CL_SHARED, ctx, dev, props, size, alignment, err);
}

static cl_int check_context(cl_context ctx)
{
	cl_device_id devs[UNIMEM_CL_MAX_DEVICES];
	cl_uint n;
	bool served;
	return unimem_cl_context_devices(ctx, devs, UNIMEM_CL_MAX_DEVICES, &n, &served);
}

static cl_int usm_free(cl_context ctx, void *ptr, bool blocking)
{
	cl_int err = check_context(ctx);
	if (err != CL_SUCCESS || !ptr)
		return err;
	struct unimem_cl_alloc a;
	if (!unimem_cl_registry_find(ptr, &a) || a.base != ptr || a.context != ctx)
		return CL_INVALID_VALUE;
	if (blocking) {
		err = unimem_cl_finish_context_queues(ctx);
		if (err != CL_SUCCESS)
			return err;
	}
	if (!unimem_cl_registry_remove(ptr, ctx, NULL))
		return CL_INVALID_VALUE; /* freed meanwhile by another thread */
	unimem_free(ptr);
	return CL_SUCCESS;
}

static cl_int CL_API_CALL mem_free(cl_context ctx, void *ptr)
{
	return usm_free(ctx, ptr, false);
}

static cl_int CL_API_CALL mem_blocking_free(cl_context ctx, void *ptr)
{
	return usm_free(ctx, ptr, true);
}

static cl_int CL_API_CALL get_mem_alloc_info(cl_context ctx, const void *ptr,
					     cl_mem_info_intel param,
					     size_t param_value_size, void *param_value,
					     size_t *param_value_size_ret)
{
	cl_int err = check_context(ctx);
	if (err != CL_SUCCESS)
		return err;
	struct unimem_cl_alloc a;
	bool known = ptr && unimem_cl_registry_find(ptr, &a) && a.context == ctx;
	if (!known)
		memset(&a, 0, sizeof(a));

	switch (param) {
	case CL_MEM_ALLOC_TYPE_INTEL: {
		cl_unified_shared_memory_type_intel t = CL_MEM_TYPE_UNKNOWN_INTEL;
		if (known)
			t = a.kind == UNIMEM_CL_HOST ? CL_MEM_TYPE_HOST_INTEL :
			    a.kind == UNIMEM_CL_DEVICE ? CL_MEM_TYPE_DEVICE_INTEL :
							 CL_MEM_TYPE_SHARED_INTEL;
		return unimem_cl_answer(&t, sizeof(t), param_value_size, param_value,
			      param_value_size_ret);
	}
	case CL_MEM_ALLOC_BASE_PTR_INTEL:
		return unimem_cl_answer(&a.base, sizeof(a.base), param_value_size, param_value,
			      param_value_size_ret);
	case CL_MEM_ALLOC_SIZE_INTEL:
		return unimem_cl_answer(&a.size, sizeof(a.size), param_value_size, param_value,
			      param_value_size_ret);
	case CL_MEM_ALLOC_DEVICE_INTEL:
		return unimem_cl_answer(&a.device, sizeof(a.device), param_value_size,
			      param_value, param_value_size_ret);
	case CL_MEM_ALLOC_FLAGS_INTEL: {
		cl_mem_alloc_flags_intel f = a.kind == UNIMEM_CL_SVM ? 0 : a.flags;
		return unimem_cl_answer(&f, sizeof(f), param_value_size, param_value,
			      param_value_size_ret);
	}
	default:
		return CL_INVALID_VALUE;
	}
}

static cl_int CL_API_CALL set_kernel_arg_mem_pointer(cl_kernel k, cl_uint index,
						     const void *value)
{
	return unimem_cl_next.clSetKernelArgSVMPointer(k, index, value);
}

/* The USM command type for the event of a command that succeeded. */
static cl_int typed(cl_int err, cl_event *event, cl_command_type type)
{
	if (err == CL_SUCCESS && event)
		unimem_cl_event_set_type(*event, type);
	return err;
}

static cl_int served_queue(cl_command_queue q)
{
	struct unimem_cl_device d;
	cl_int err = unimem_cl_queue_device(q, NULL, &d);
	if (err == CL_SUCCESS && !d.in_process)
		err = CL_INVALID_OPERATION;
	return err;
}

static cl_int CL_API_CALL enqueue_mem_fill(cl_command_queue q, void *dst,
					   const void *pattern, size_t pattern_size,
					   size_t size, cl_uint num_wait,
					   const cl_event *wait, cl_event *event)
{
	cl_int err = served_queue(q);
	if (err != CL_SUCCESS)
		return err;
	if (!dst || !pattern || pattern_size == 0 ||
	    (pattern_size & (pattern_size - 1)) || pattern_size > 128 ||
	    size % pattern_size || (uintptr_t)dst % pattern_size)
		return CL_INVALID_VALUE;
	return typed(unimem_cl_next.clEnqueueSVMMemFill(q, dst, pattern, pattern_size,
							size, num_wait, wait, event),
		     event, CL_COMMAND_MEMFILL_INTEL);
}

static cl_int CL_API_CALL enqueue_memset(cl_command_queue q, void *dst, cl_int value,
					 size_t size, cl_uint num_wait,
					 const cl_event *wait, cl_event *event)
{
	cl_uchar byte = (cl_uchar)value;
	return enqueue_mem_fill(q, dst, &byte, 1, size, num_wait, wait, event);
}

static cl_int CL_API_CALL enqueue_memcpy(cl_command_queue q, cl_bool blocking,
					 void *dst, const void *src, size_t size,
					 cl_uint num_wait, const cl_event *wait,
					 cl_event *event)
{
	cl_int err = served_queue(q);
	if (err != CL_SUCCESS)
		return err;
	if (!dst || !src)
		return CL_INVALID_VALUE;
	uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
	if (size && ((d <= s && s < d + size) || (s <= d && d < s + size)))
		return CL_MEM_COPY_OVERLAP;
	return typed(unimem_cl_next.clEnqueueSVMMemcpy(q, blocking, dst, src, size,
						       num_wait, wait, event),
		     event, CL_COMMAND_MEMCPY_INTEL);
}

static cl_int CL_API_CALL enqueue_migrate_mem(cl_command_queue q, const void *ptr,
					      size_t size, cl_mem_migration_flags flags,
					      cl_uint num_wait, const cl_event *wait,
					      cl_event *event)
{
	cl_int err = served_queue(q);
	if (err != CL_SUCCESS)
		return err;
	return unimem_cl_enqueue_migrate(q, 1, &ptr, &size, flags, num_wait, wait, event,
					 true);
}

/* ---- advice ------------------------------------------------------------ */

struct advise_job {
	const void *ptr;
	size_t size;
	cl_mem_advice_intel advice;
	unimem_location_t device, host;
};

static void do_advise(void *arg)
{
	struct advise_job *j = arg;
	int r = 0;
	switch (j->advice) {
	case CL_MEM_ADVICE_DEFAULT_UNIMEM:
		(void)unimem_advise(j->ptr, j->size, UNIMEM_ADVISE_UNSET_PREFERRED_LOCATION,
				    j->device);
		(void)unimem_advise(j->ptr, j->size, UNIMEM_ADVISE_UNSET_ACCESSED_BY,
				    j->device);
		r = unimem_advise(j->ptr, j->size, UNIMEM_ADVISE_UNSET_READ_MOSTLY,
				  UNIMEM_LOC_NONE);
		break;
	case CL_MEM_ADVICE_SET_PREFERRED_LOCATION_UNIMEM:
		r = unimem_advise(j->ptr, j->size, UNIMEM_ADVISE_SET_PREFERRED_LOCATION,
				  j->device);
		break;
	case CL_MEM_ADVICE_SET_PREFERRED_LOCATION_HOST_UNIMEM:
		r = unimem_advise(j->ptr, j->size, UNIMEM_ADVISE_SET_PREFERRED_LOCATION,
				  j->host);
		break;
	case CL_MEM_ADVICE_CLEAR_PREFERRED_LOCATION_UNIMEM:
		r = unimem_advise(j->ptr, j->size, UNIMEM_ADVISE_UNSET_PREFERRED_LOCATION,
				  j->device);
		break;
	case CL_MEM_ADVICE_SET_ACCESSED_BY_UNIMEM:
		r = unimem_advise(j->ptr, j->size, UNIMEM_ADVISE_SET_ACCESSED_BY,
				  j->device);
		break;
	case CL_MEM_ADVICE_CLEAR_ACCESSED_BY_UNIMEM:
		r = unimem_advise(j->ptr, j->size, UNIMEM_ADVISE_UNSET_ACCESSED_BY,
				  j->device);
		break;
	case CL_MEM_ADVICE_SET_READ_MOSTLY_UNIMEM:
		r = unimem_advise(j->ptr, j->size, UNIMEM_ADVISE_SET_READ_MOSTLY,
				  UNIMEM_LOC_NONE);
		break;
	case CL_MEM_ADVICE_CLEAR_READ_MOSTLY_UNIMEM:
		r = unimem_advise(j->ptr, j->size, UNIMEM_ADVISE_UNSET_READ_MOSTLY,
				  UNIMEM_LOC_NONE);
		break;
	}
	/* Advice is a hint: one the backend cannot keep changes nothing. */
	if (r < 0)
		unimem_cl_debug("advice %#x: %s", j->advice, unimem_strerror(r));
}

static bool range_valid(const void *ptr, size_t size)
{
	struct unimem_cl_alloc a;
	if (unimem_cl_registry_find(ptr, &a))
		return (uintptr_t)ptr + size <= (uintptr_t)a.base + a.size &&
		       (uintptr_t)ptr + size > (uintptr_t)ptr;
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)ptr & ~(uintptr_t)(page - 1);
	uintptr_t end = (uintptr_t)ptr + size;
	return end > (uintptr_t)ptr && msync((void *)start, end - start, MS_ASYNC) == 0;
}

static cl_int CL_API_CALL enqueue_mem_advise(cl_command_queue q, const void *ptr,
					     size_t size, cl_mem_advice_intel advice,
					     cl_uint num_wait, const cl_event *wait,
					     cl_event *event)
{
	struct unimem_cl_device d;
	cl_int err = unimem_cl_queue_device(q, NULL, &d);
	if (err == CL_SUCCESS && !d.in_process)
		err = CL_INVALID_OPERATION;
	if (err != CL_SUCCESS)
		return err;
	if (!ptr || size == 0 || advice < CL_MEM_ADVICE_DEFAULT_UNIMEM ||
	    advice > CL_MEM_ADVICE_CLEAR_READ_MOSTLY_UNIMEM || !range_valid(ptr, size))
		return CL_INVALID_VALUE;
	struct advise_job *j = malloc(sizeof(*j));
	if (!j)
		return CL_OUT_OF_HOST_MEMORY;
	*j = (struct advise_job){ ptr, size, advice, d.location,
				  unimem_cl_host_location() };
	return unimem_cl_host_command(q, num_wait, wait, event, CL_COMMAND_MEMADVISE_INTEL,
				      do_advise, j);
}

/* ---- lookup ------------------------------------------------------------ */

static const struct unimem_cl_function functions[] = {
	{ "clHostMemAllocINTEL", (void *)host_mem_alloc },
	{ "clDeviceMemAllocINTEL", (void *)device_mem_alloc },
	{ "clSharedMemAllocINTEL", (void *)shared_mem_alloc },
	{ "clMemFreeINTEL", (void *)mem_free },
	{ "clMemBlockingFreeINTEL", (void *)mem_blocking_free },
	{ "clGetMemAllocInfoINTEL", (void *)get_mem_alloc_info },
	{ "clSetKernelArgMemPointerINTEL", (void *)set_kernel_arg_mem_pointer },
	{ "clEnqueueMemFillINTEL", (void *)enqueue_mem_fill },
	{ "clEnqueueMemsetINTEL", (void *)enqueue_memset },
	{ "clEnqueueMemcpyINTEL", (void *)enqueue_memcpy },
	{ "clEnqueueMigrateMemINTEL", (void *)enqueue_migrate_mem },
	{ "clEnqueueMemAdviseINTEL", (void *)enqueue_mem_advise },
};

void *unimem_cl_usm_function(const char *name)
{
	return unimem_cl_lookup_function(functions, sizeof(functions) / sizeof(functions[0]),
					 name);
}
