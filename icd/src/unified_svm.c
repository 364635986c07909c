/* SPDX-License-Identifier: MIT */
/*
 * unified_svm.c - cl_khr_unified_svm (Khronos, experimental revision
 * 0.9.0) for the platforms the layer serves, with unimem behind every SVM
 * type. Served devices run kernels on the host CPUs in this process, so
 * every type is real memory both sides reach; the types differ in where
 * unimem places the pages:
 *
 *   coarse-grain buffer, fine-grain buffer, system: where first touched
 *     (as clSVMAlloc; "system" also covers any malloc'd pointer);
 *   device: on the associated device's unimem location (a unimem device
 *     when UNIMEM_CL_CPU_LOCATION ties one to the OpenCL device, else the
 *     NUMA node of its CPUs), as clDeviceMemAllocINTEL;
 *   host: on the NUMA node of the allocating thread, as clHostMemAllocINTEL;
 *   single-device shared: where first touched, migratable, tied to its
 *     device, as clSharedMemAllocINTEL.
 *
 * clSVMAlloc and USM allocations are in the same registry and answer
 * clGetSVMPointerInfoKHR with the type closest to theirs.
 */
#include "layer.h"

#include <stdint.h>
#include <string.h>

/* The largest OpenCL C type (long16, double16): the default alignment and
 * the largest CL_SVM_ALLOC_ALIGNMENT_KHR. */
#define SVM_MAX_ALIGNMENT 128

enum placement { PLACE_FIRST_TOUCH, PLACE_DEVICE, PLACE_HOST };

static const struct svm_type {
	cl_svm_capabilities_khr caps;         /* on every served device */
	cl_svm_capabilities_khr with_atomics; /* if the driver has SVM atomics */
	enum unimem_cl_alloc_kind kind;       /* as clGetMemAllocInfoINTEL sees it */
	enum placement placement;
} svm_types[UNIMEM_CL_SVM_TYPES] = {
	[UNIMEM_CL_SVM_TYPE_COARSE_GRAIN_BUFFER] = {
		CL_SVM_TYPE_MACRO_COARSE_GRAIN_BUFFER_KHR | CL_SVM_CAPABILITY_INDIRECT_ACCESS_KHR,
		0, UNIMEM_CL_SVM, PLACE_FIRST_TOUCH },
	[UNIMEM_CL_SVM_TYPE_FINE_GRAIN_BUFFER] = {
		CL_SVM_TYPE_MACRO_FINE_GRAIN_BUFFER_KHR | CL_SVM_CAPABILITY_INDIRECT_ACCESS_KHR,
		CL_SVM_CAPABILITY_CONCURRENT_ATOMIC_ACCESS_KHR, UNIMEM_CL_SVM, PLACE_FIRST_TOUCH },
	[UNIMEM_CL_SVM_TYPE_DEVICE] = {
		CL_SVM_TYPE_MACRO_DEVICE_KHR, 0, UNIMEM_CL_DEVICE, PLACE_DEVICE },
	[UNIMEM_CL_SVM_TYPE_HOST] = {
		CL_SVM_TYPE_MACRO_HOST_KHR | CL_SVM_CAPABILITY_DEVICE_ATOMIC_ACCESS_KHR |
			CL_SVM_CAPABILITY_CONCURRENT_ACCESS_KHR,
		CL_SVM_CAPABILITY_CONCURRENT_ATOMIC_ACCESS_KHR, UNIMEM_CL_HOST, PLACE_HOST },
	[UNIMEM_CL_SVM_TYPE_SINGLE_DEVICE_SHARED] = {
		CL_SVM_TYPE_MACRO_SINGLE_DEVICE_SHARED_KHR |
			CL_SVM_CAPABILITY_DEVICE_ATOMIC_ACCESS_KHR |
			CL_SVM_CAPABILITY_CONCURRENT_ACCESS_KHR,
		CL_SVM_CAPABILITY_CONCURRENT_ATOMIC_ACCESS_KHR, UNIMEM_CL_SHARED,
		PLACE_FIRST_TOUCH },
	[UNIMEM_CL_SVM_TYPE_SYSTEM] = {
		CL_SVM_TYPE_MACRO_SYSTEM_KHR & ~(cl_svm_capabilities_khr)
			CL_SVM_CAPABILITY_CONCURRENT_ATOMIC_ACCESS_KHR,
		CL_SVM_CAPABILITY_CONCURRENT_ATOMIC_ACCESS_KHR, UNIMEM_CL_SVM,
		PLACE_FIRST_TOUCH },
};

static bool needs_device(cl_uint type)
{
	return !(svm_types[type].caps & CL_SVM_CAPABILITY_DEVICE_UNASSOCIATED_KHR);
}

cl_svm_capabilities_khr unimem_cl_svm_type_caps(const struct unimem_cl_device *d,
						cl_uint type)
{
	if (!d || !d->in_process || type >= UNIMEM_CL_SVM_TYPES)
		return 0;
	cl_svm_capabilities_khr caps = svm_types[type].caps;
	if (d->driver_svm & CL_DEVICE_SVM_ATOMICS)
		caps |= svm_types[type].with_atomics;
	return caps;
}

bool unimem_cl_platform_svm_types(cl_platform_id platform,
				  cl_svm_capabilities_khr caps[UNIMEM_CL_SVM_TYPES])
{
	cl_device_id devs[UNIMEM_CL_MAX_DEVICES];
	cl_uint n = 0;
	bool served = false;
	if (unimem_cl_next.clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, UNIMEM_CL_MAX_DEVICES,
					  devs, &n) != CL_SUCCESS)
		return false;
	/* A type is what every served device gives: each one's entry is then
	 * a superset of the platform's, as the extension requires. */
	for (cl_uint t = 0; t < UNIMEM_CL_SVM_TYPES; t++)
		caps[t] = ~(cl_svm_capabilities_khr)0;
	for (cl_uint i = 0; i < n && i < UNIMEM_CL_MAX_DEVICES; i++) {
		struct unimem_cl_device d;
		if (!unimem_cl_device(devs[i], &d) || !d.in_process)
			continue;
		served = true;
		for (cl_uint t = 0; t < UNIMEM_CL_SVM_TYPES; t++)
			caps[t] &= unimem_cl_svm_type_caps(&d, t);
	}
	return served;
}

/* ---- properties --------------------------------------------------------- */

/* The devices of a context, and whether the layer serves them all. */
struct context_devices {
	cl_device_id ids[UNIMEM_CL_MAX_DEVICES];
	cl_uint n;
	bool served;
};

static cl_int context_devices(cl_context ctx, struct context_devices *c)
{
	return unimem_cl_context_devices(ctx, c->ids, UNIMEM_CL_MAX_DEVICES, &c->n, &c->served);
}


static bool device_in(cl_device_id dev, const struct context_devices *c)
{
	for (cl_uint i = 0; i < c->n; i++)
		if (c->ids[i] == dev)
			return true;
	return false;
}

/* Parses an allocation property list against the context's devices. */
static cl_int parse_alloc_properties(const cl_svm_alloc_properties_khr *props,
				     const struct context_devices *c,
				     struct unimem_cl_svm_props *out)
{
	const cl_svm_alloc_access_flags_khr access_known =
		CL_SVM_ALLOC_ACCESS_HOST_NOREAD_KHR | CL_SVM_ALLOC_ACCESS_HOST_NOWRITE_KHR |
		CL_SVM_ALLOC_ACCESS_DEVICE_NOREAD_KHR | CL_SVM_ALLOC_ACCESS_DEVICE_NOWRITE_KHR;
	memset(out, 0, sizeof(*out));
	out->given = props != NULL;
	for (; props && props[0]; props += 2) {
		enum unimem_cl_svm_prop which;
		switch (props[0]) {
		case CL_SVM_ALLOC_ASSOCIATED_DEVICE_HANDLE_KHR:
			which = SVM_PROP_DEVICE;
			out->device = (cl_device_id)(uintptr_t)props[1];
			if (!device_in(out->device, c))
				return CL_INVALID_PROPERTY;
			break;
		case CL_SVM_ALLOC_ACCESS_FLAGS_KHR:
			which = SVM_PROP_ACCESS;
			out->access = props[1];
			if (out->access & ~access_known)
				return CL_INVALID_PROPERTY;
			break;
		case CL_SVM_ALLOC_ALIGNMENT_KHR:
			which = SVM_PROP_ALIGNMENT;
			out->alignment = (size_t)props[1];
			if ((out->alignment & (out->alignment - 1)) ||
			    out->alignment > SVM_MAX_ALIGNMENT)
				return CL_INVALID_PROPERTY;
			break;
		default:
			return CL_INVALID_PROPERTY;
		}
		for (unsigned i = 0; i < out->count; i++)
			if (out->order[i] == which)
				return CL_INVALID_PROPERTY; /* given twice */
		out->order[out->count++] = (unsigned char)which;
	}
	return CL_SUCCESS;
}

/* The capabilities of @type for @dev, or (NULL) what every device of the
 * context gives: 0 if one of them does not support it. */
static cl_svm_capabilities_khr caps_for(cl_uint type, cl_device_id dev,
					const struct context_devices *c)
{
	struct unimem_cl_device d;
	if (dev)
		return unimem_cl_device(dev, &d) ? unimem_cl_svm_type_caps(&d, type) : 0;
	cl_svm_capabilities_khr caps = c->n ? ~(cl_svm_capabilities_khr)0 : 0;
	for (cl_uint i = 0; i < c->n; i++)
		caps &= unimem_cl_device(c->ids[i], &d) ? unimem_cl_svm_type_caps(&d, type) : 0;
	return caps;
}

static void set_err(cl_int *errcode_ret, cl_int err)
{
	if (errcode_ret)
		*errcode_ret = err;
}

/* ---- allocation --------------------------------------------------------- */

static void *CL_API_CALL svm_alloc_with_properties(cl_context ctx,
						   const cl_svm_alloc_properties_khr *props,
						   cl_uint type, size_t size, cl_int *errcode_ret)
{
	struct context_devices c;
	struct unimem_cl_svm_props p;
	cl_int err = context_devices(ctx, &c);
	if (err == CL_SUCCESS)
		err = parse_alloc_properties(props, &c, &p);
	if (err == CL_SUCCESS && type >= UNIMEM_CL_SVM_TYPES)
		err = CL_INVALID_VALUE;
	/* A type tied to a device needs one named; each device that will use
	 * the memory must support the type (any context the layer does not
	 * serve supports none). */
	if (err == CL_SUCCESS &&
	    (!c.served || (needs_device(type) && !p.device) || !caps_for(type, p.device, &c)))
		err = CL_INVALID_OPERATION;
	if (err != CL_SUCCESS || size == 0) {
		/* Size 0 is no allocation and no error, as the extension says. */
		set_err(errcode_ret, err);
		return NULL;
	}

	unimem_location_t loc = UNIMEM_LOC_NONE;
	struct unimem_cl_device d;
	if (svm_types[type].placement == PLACE_HOST)
		loc = unimem_cl_host_location();
	else if (svm_types[type].placement == PLACE_DEVICE && unimem_cl_device(p.device, &d))
		loc = d.location;
	void *ptr = unimem_cl_alloc_memory(size, p.alignment ? p.alignment : SVM_MAX_ALIGNMENT,
					   loc);
	if (!ptr) {
		set_err(errcode_ret, CL_OUT_OF_HOST_MEMORY);
		return NULL;
	}
	struct unimem_cl_alloc a = { .base = ptr, .size = size, .context = ctx,
				     .device = p.device, .kind = svm_types[type].kind,
				     .svm_type = type, .props = p };
	if (unimem_cl_registry_add(&a) != 0) {
		unimem_free(ptr);
		set_err(errcode_ret, CL_OUT_OF_HOST_MEMORY);
		return NULL;
	}
	set_err(errcode_ret, CL_SUCCESS);
	return ptr;
}

static cl_int CL_API_CALL svm_free_with_properties(cl_context ctx,
						   const cl_svm_free_properties_khr *props,
						   cl_svm_free_flags_khr flags, void *ptr)
{
	struct context_devices c;
	cl_int err = context_devices(ctx, &c);
	if (err != CL_SUCCESS)
		return err;
	if (props && props[0])
		return CL_INVALID_PROPERTY; /* the extension defines none */
	if (flags)
		return CL_INVALID_VALUE;
	if (!ptr)
		return CL_SUCCESS;
	struct unimem_cl_alloc a;
	if (!unimem_cl_registry_remove(ptr, ctx, &a))
		return CL_INVALID_VALUE; /* not an allocation's start, of this context */
	if (a.from_driver)
		unimem_cl_next.clSVMFree(ctx, ptr);
	else
		unimem_free(ptr);
	return CL_SUCCESS;
}

/* ---- queries ------------------------------------------------------------ */

static cl_int CL_API_CALL get_svm_pointer_info(cl_context ctx, cl_device_id dev,
					       const void *ptr, cl_svm_pointer_info_khr param,
					       size_t param_value_size, void *param_value,
					       size_t *param_value_size_ret)
{
	struct context_devices c;
	cl_int err = context_devices(ctx, &c);
	if (err != CL_SUCCESS)
		return err;
	if (dev && !device_in(dev, &c))
		return CL_INVALID_DEVICE;
	struct unimem_cl_alloc a;
	bool known = ptr && unimem_cl_registry_find(ptr, &a) && a.context == ctx;
	if (!known) {
		memset(&a, 0, sizeof(a));
		a.svm_type = CL_UINT_MAX;
	}

	switch (param) {
	case CL_SVM_INFO_TYPE_INDEX_KHR:
		return unimem_cl_answer(&a.svm_type, sizeof(a.svm_type), param_value_size,
					param_value, param_value_size_ret);
	case CL_SVM_INFO_CAPABILITIES_KHR: {
		cl_svm_capabilities_khr caps = 0;
		if (known)
			caps = caps_for(a.svm_type, dev ? dev : a.device, &c);
		return unimem_cl_answer(&caps, sizeof(caps), param_value_size, param_value,
					param_value_size_ret);
	}
	case CL_SVM_INFO_PROPERTIES_KHR: {
		/* The list as given, terminator included; none for clSVMAlloc,
		 * a NULL list, or a pointer that is not ours. */
		cl_svm_alloc_properties_khr list[7];
		size_t count = 0;
		if (known && a.props.given) {
			for (unsigned i = 0; i < a.props.count; i++) {
				switch (a.props.order[i]) {
				case SVM_PROP_DEVICE:
					list[count++] = CL_SVM_ALLOC_ASSOCIATED_DEVICE_HANDLE_KHR;
					list[count++] = (cl_svm_alloc_properties_khr)(uintptr_t)
								a.props.device;
					break;
				case SVM_PROP_ACCESS:
					list[count++] = CL_SVM_ALLOC_ACCESS_FLAGS_KHR;
					list[count++] = a.props.access;
					break;
				default:
					list[count++] = CL_SVM_ALLOC_ALIGNMENT_KHR;
					list[count++] = a.props.alignment;
					break;
				}
			}
			list[count++] = 0;
		}
		return unimem_cl_answer(list, count * sizeof(list[0]), param_value_size,
					param_value, param_value_size_ret);
	}
	case CL_SVM_INFO_ACCESS_FLAGS_KHR: {
		cl_svm_alloc_access_flags_khr access = a.props.access;
		return unimem_cl_answer(&access, sizeof(access), param_value_size, param_value,
					param_value_size_ret);
	}
	case CL_SVM_INFO_BASE_PTR_KHR:
		return unimem_cl_answer(&a.base, sizeof(a.base), param_value_size, param_value,
					param_value_size_ret);
	case CL_SVM_INFO_SIZE_KHR:
		return unimem_cl_answer(&a.size, sizeof(a.size), param_value_size, param_value,
					param_value_size_ret);
	case CL_SVM_INFO_ASSOCIATED_DEVICE_HANDLE_KHR:
		return unimem_cl_answer(&a.device, sizeof(a.device), param_value_size,
					param_value, param_value_size_ret);
	default:
		return CL_INVALID_VALUE;
	}
}

static int bits(cl_svm_capabilities_khr caps)
{
	return __builtin_popcountll(caps);
}

static cl_int CL_API_CALL get_svm_suggested_type_index(cl_context ctx,
						       cl_svm_capabilities_khr required,
						       cl_svm_capabilities_khr desired,
						       const cl_svm_alloc_properties_khr *props,
						       size_t size, cl_uint *suggested)
{
	(void)size; /* every type takes any size the memory has room for */
	struct context_devices c;
	struct unimem_cl_svm_props p;
	cl_int err = context_devices(ctx, &c);
	if (err != CL_SUCCESS)
		return err;
	err = parse_alloc_properties(props, &c, &p);
	if (err != CL_SUCCESS)
		return err;
	if (!suggested)
		return CL_INVALID_VALUE;
	/* The type with every required capability and the most desired ones;
	 * of those, the one adding least beyond what was asked (the most
	 * specific), then the first. */
	cl_uint best = CL_UINT_MAX;
	int best_desired = -1, best_extra = 0;
	for (cl_uint t = 0; c.served && t < UNIMEM_CL_SVM_TYPES; t++) {
		cl_svm_capabilities_khr caps = caps_for(t, p.device, &c);
		if (!caps || (caps & required) != required || (needs_device(t) && !p.device))
			continue;
		int got = bits(caps & desired), extra = bits(caps & ~(required | desired));
		if (got > best_desired || (got == best_desired && extra < best_extra)) {
			best = t;
			best_desired = got;
			best_extra = extra;
		}
	}
	*suggested = best;
	return CL_SUCCESS;
}

static const struct unimem_cl_function functions[] = {
	{ "clSVMAllocWithPropertiesKHR", (void *)svm_alloc_with_properties },
	{ "clSVMFreeWithPropertiesKHR", (void *)svm_free_with_properties },
	{ "clGetSVMPointerInfoKHR", (void *)get_svm_pointer_info },
	{ "clGetSVMSuggestedTypeIndexKHR", (void *)get_svm_suggested_type_index },
};

void *unimem_cl_unified_svm_function(const char *name)
{
	return unimem_cl_lookup_function(functions, sizeof(functions) / sizeof(functions[0]),
					 name);
}
