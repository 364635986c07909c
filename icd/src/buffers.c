/* SPDX-License-Identifier: MIT */
/*
 * buffers.c - buffer objects on the layer's SVM pointers. The spec gives
 * a buffer created with CL_MEM_USE_HOST_PTR on an SVM pointer two rules:
 * its size may not run past the SVM allocation (CL_INVALID_BUFFER_SIZE),
 * and CL_MEM_USES_SVM_POINTER reports CL_TRUE for it and its sub-buffers.
 * The driver decides both from its own list of SVM allocations, which
 * never holds the layer's, so the layer decides them for its pointers
 * (those of clSVMAlloc, the USM allocators and clSVMAllocWithPropertiesKHR,
 * from the allocation's start or inside it, of the buffer's context).
 * Everything else about buffers is the driver's.
 *
 * Of PoCL 3.1's uses of its SVM list, these two are the ones the layer
 * must answer; its SVM frees are the layer's already (svm.c). Newer PoCL
 * releases also check pointers in the SVM map, fill and migrate commands.
 */
#include "layer.h"

#include <stdint.h>

/* The layer's allocation of @ctx holding @ptr, if any. */
static bool layer_svm_pointer(cl_context ctx, const void *ptr, struct unimem_cl_alloc *a)
{
	return ptr && unimem_cl_registry_find(ptr, a) && a->context == ctx;
}

/* CL_INVALID_BUFFER_SIZE if a buffer of @size on @host would run past the
 * layer's SVM allocation holding it; CL_SUCCESS otherwise. */
static cl_int check_svm_host_ptr(cl_context ctx, cl_mem_flags flags, size_t size,
				 const void *host)
{
	struct unimem_cl_alloc a;
	if (!(flags & CL_MEM_USE_HOST_PTR) || !layer_svm_pointer(ctx, host, &a))
		return CL_SUCCESS;
	uintptr_t end = (uintptr_t)a.base + a.size;
	if (size > end - (uintptr_t)host)
		return CL_INVALID_BUFFER_SIZE;
	return CL_SUCCESS;
}

static cl_mem refuse(cl_int err, cl_int *errcode_ret)
{
	if (errcode_ret)
		*errcode_ret = err;
	return NULL;
}

static cl_mem CL_API_CALL create_buffer(cl_context ctx, cl_mem_flags flags, size_t size,
					void *host, cl_int *errcode_ret)
{
	cl_int err = check_svm_host_ptr(ctx, flags, size, host);
	if (err != CL_SUCCESS)
		return refuse(err, errcode_ret);
	return unimem_cl_next.clCreateBuffer(ctx, flags, size, host, errcode_ret);
}

static cl_mem CL_API_CALL create_buffer_with_properties(cl_context ctx,
							const cl_mem_properties *props,
							cl_mem_flags flags, size_t size,
							void *host, cl_int *errcode_ret)
{
	cl_int err = check_svm_host_ptr(ctx, flags, size, host);
	if (err != CL_SUCCESS)
		return refuse(err, errcode_ret);
	return unimem_cl_next.clCreateBufferWithProperties(ctx, props, flags, size, host,
							   errcode_ret);
}

/* Was @mem (a buffer, or a sub-buffer: its parent's host pointer counts)
 * created with CL_MEM_USE_HOST_PTR on one of the layer's SVM pointers? */
static bool on_layer_svm_pointer(cl_mem mem)
{
	cl_mem parent = NULL;
	cl_mem_object_type type = 0;
	if (unimem_cl_next.clGetMemObjectInfo(mem, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof(parent),
					      &parent, NULL) == CL_SUCCESS &&
	    parent)
		mem = parent; /* sub-buffers have one level: a buffer's */
	cl_mem_flags flags = 0;
	void *host = NULL;
	cl_context ctx = NULL;
	struct unimem_cl_alloc a;
	return unimem_cl_next.clGetMemObjectInfo(mem, CL_MEM_TYPE, sizeof(type), &type,
						 NULL) == CL_SUCCESS &&
	       type == CL_MEM_OBJECT_BUFFER &&
	       unimem_cl_next.clGetMemObjectInfo(mem, CL_MEM_FLAGS, sizeof(flags), &flags,
						 NULL) == CL_SUCCESS &&
	       (flags & CL_MEM_USE_HOST_PTR) &&
	       unimem_cl_next.clGetMemObjectInfo(mem, CL_MEM_HOST_PTR, sizeof(host), &host,
						 NULL) == CL_SUCCESS &&
	       unimem_cl_next.clGetMemObjectInfo(mem, CL_MEM_CONTEXT, sizeof(ctx), &ctx,
						 NULL) == CL_SUCCESS &&
	       layer_svm_pointer(ctx, host, &a);
}

static cl_int CL_API_CALL get_mem_object_info(cl_mem mem, cl_mem_info param,
					      size_t param_value_size, void *param_value,
					      size_t *param_value_size_ret)
{
	if (param == CL_MEM_USES_SVM_POINTER && on_layer_svm_pointer(mem)) {
		cl_bool yes = CL_TRUE;
		return unimem_cl_answer(&yes, sizeof(yes), param_value_size, param_value,
					param_value_size_ret);
	}
	return unimem_cl_next.clGetMemObjectInfo(mem, param, param_value_size, param_value,
						 param_value_size_ret);
}

void unimem_cl_buffers_hook(cl_icd_dispatch *d)
{
	d->clCreateBuffer = create_buffer;
	d->clCreateBufferWithProperties = create_buffer_with_properties;
	d->clGetMemObjectInfo = get_mem_object_info;
}
