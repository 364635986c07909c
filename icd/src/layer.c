/* SPDX-License-Identifier: MIT */
/*
 * layer.c - the cl_loader_layers interface: the loader asks our API
 * version, hands us the dispatch table of the next layer (or of the
 * drivers) and takes ours, which is that table with our entries on top.
 */
#include "layer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not in the Debian 2023.02 headers: the newer Khronos loaders' entries. */
#ifndef CL_LAYER_PROPERTIES_LIST_END
typedef cl_properties cl_layer_properties;
#define CL_LAYER_PROPERTIES_LIST_END ((cl_layer_properties)0)
#endif
#ifndef CL_LAYER_NAME
#define CL_LAYER_NAME 0x4241
#endif

#define LAYER_EXPORT __attribute__((visibility("default")))
#define DISPATCH_ENTRIES ((cl_uint)(sizeof(cl_icd_dispatch) / sizeof(void *)))
/* We call down as far as clEnqueueSVMMigrateMem (OpenCL 2.1). */
#define REQUIRED_ENTRIES \
	((cl_uint)(offsetof(cl_icd_dispatch, clEnqueueSVMMigrateMem) / sizeof(void *) + 1))

cl_icd_dispatch unimem_cl_next;
static cl_icd_dispatch layer_dispatch;
static const char layer_name[] = "unimem: SVM and USM on unified memory";

void unimem_cl_debug(const char *fmt, ...)
{
	static int enabled = -1; /* racing first callers compute the same */
	int on = __atomic_load_n(&enabled, __ATOMIC_RELAXED);
	if (on < 0) {
		const char *e = getenv("UNIMEM_CL_DEBUG");
		on = e && *e && strcmp(e, "0") != 0;
		__atomic_store_n(&enabled, on, __ATOMIC_RELAXED);
	}
	if (!on)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("unimem-cl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

cl_int unimem_cl_answer(const void *src, size_t size, size_t param_value_size,
			void *param_value, size_t *param_value_size_ret)
{
	if (param_value) {
		if (param_value_size < size)
			return CL_INVALID_VALUE;
		memcpy(param_value, src, size);
	}
	if (param_value_size_ret)
		*param_value_size_ret = size;
	return CL_SUCCESS;
}

LAYER_EXPORT CL_API_ENTRY cl_int CL_API_CALL
clGetLayerInfo(cl_layer_info param_name, size_t param_value_size,
	       void *param_value, size_t *param_value_size_ret)
{
	if (!param_value && !param_value_size_ret)
		return CL_INVALID_VALUE;
	switch (param_name) {
	case CL_LAYER_API_VERSION: {
		cl_layer_api_version v = CL_LAYER_API_VERSION_100;
		return unimem_cl_answer(&v, sizeof(v), param_value_size, param_value,
				 param_value_size_ret);
	}
	case CL_LAYER_NAME:
		return unimem_cl_answer(layer_name, sizeof(layer_name), param_value_size,
				 param_value, param_value_size_ret);
	default:
		return CL_INVALID_VALUE;
	}
}

static cl_int init_layer(cl_uint num_entries, const cl_icd_dispatch *target,
			 cl_uint *num_entries_ret,
			 const cl_icd_dispatch **layer_dispatch_ret)
{
	if (!target || !num_entries_ret || !layer_dispatch_ret)
		return CL_INVALID_VALUE;
	if (num_entries < REQUIRED_ENTRIES) {
		unimem_cl_debug("loader table too small (%u entries)", num_entries);
		return CL_INVALID_VALUE;
	}
	cl_uint n = num_entries < DISPATCH_ENTRIES ? num_entries : DISPATCH_ENTRIES;
	memset(&unimem_cl_next, 0, sizeof(unimem_cl_next));
	memcpy(&unimem_cl_next, target, n * sizeof(void *));

	/* Everything we do not override goes straight to the next table, so
	 * hot calls such as clEnqueueNDRangeKernel cost us nothing. */
	layer_dispatch = unimem_cl_next;
	unimem_cl_devices_hook(&layer_dispatch);
	unimem_cl_svm_hook(&layer_dispatch);
	unimem_cl_queues_hook(&layer_dispatch);
	unimem_cl_extensions_hook(&layer_dispatch);
	unimem_cl_events_hook(&layer_dispatch);
	unimem_cl_buffers_hook(&layer_dispatch);

	*layer_dispatch_ret = &layer_dispatch;
	*num_entries_ret = n;
	unimem_cl_debug("layer initialised (%u entries)", n);
	return CL_SUCCESS;
}

LAYER_EXPORT CL_API_ENTRY cl_int CL_API_CALL
clInitLayer(cl_uint num_entries, const cl_icd_dispatch *target_dispatch,
	    cl_uint *num_entries_ret, const cl_icd_dispatch **layer_dispatch_ret)
{
	return init_layer(num_entries, target_dispatch, num_entries_ret,
			  layer_dispatch_ret);
}

LAYER_EXPORT CL_API_ENTRY cl_int CL_API_CALL
clInitLayerWithProperties(cl_uint num_entries,
			  const cl_icd_dispatch *target_dispatch,
			  cl_uint *num_entries_ret,
			  const cl_icd_dispatch **layer_dispatch_ret,
			  const cl_layer_properties *properties)
{
	/* No layer property is defined that we act on. */
	if (properties && properties[0] != CL_LAYER_PROPERTIES_LIST_END)
		return CL_INVALID_PROPERTY;
	return init_layer(num_entries, target_dispatch, num_entries_ret,
			  layer_dispatch_ret);
}

LAYER_EXPORT CL_API_ENTRY cl_int CL_API_CALL clDeinitLayer(void)
{
	/* Allocations belong to the application; nothing of ours to undo
	 * that would be safe while its pointers may still be in use. */
	unimem_cl_debug("layer deinitialised");
	return CL_SUCCESS;
}
