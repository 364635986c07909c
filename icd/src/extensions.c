/* SPDX-License-Identifier: MIT */
/*
 * extensions.c - the extensions the layer adds (cl_intel_unified_shared_memory,
 * cl_khr_unified_svm): their names in the
 * platform's and the devices' extension lists, and their entry points. The
 * application gets our functions for a platform with at least one served
 * device; any other name, or platform, goes to the driver. A platform
 * lists our extensions when all its devices are served, as a platform's
 * list holds what every one of its devices supports.
 */
#include "layer.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	cl_version version;
} layer_extensions[] = {
	{ "cl_intel_unified_shared_memory", CL_MAKE_VERSION(1, 0, 0) },
	{ CL_KHR_UNIFIED_SVM_EXTENSION_NAME, CL_KHR_UNIFIED_SVM_EXTENSION_VERSION },
};

void *unimem_cl_lookup_function(const struct unimem_cl_function *table, size_t count,
				const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < count; i++)
		if (strcmp(name, table[i].name) == 0)
			return table[i].fn;
	return NULL;
}

/* One of the layer's extension functions, NULL if @name is none. */
static void *layer_function(const char *name)
{
	void *fn = unimem_cl_usm_function(name);
	return fn ? fn : unimem_cl_unified_svm_function(name);
}
#define LAYER_EXTENSIONS (sizeof(layer_extensions) / sizeof(layer_extensions[0]))

/* Is @name a whole word of the space-separated @list? */
static bool listed(const char *list, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = list; (p = strstr(p, name)); p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

static bool listed_versioned(const cl_name_version *nv, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(nv[i].name, name, sizeof(nv[i].name)) == 0)
			return true;
	return false;
}

cl_int unimem_cl_answer_extensions(unimem_cl_info_fn get, void *object, cl_uint param,
				   bool versioned, size_t param_value_size,
				   void *param_value, size_t *param_value_size_ret)
{
	size_t size = 0;
	cl_int err = get(object, param, 0, NULL, &size);
	if (err != CL_SUCCESS)
		return err;
	size_t room = 0;
	for (size_t i = 0; i < LAYER_EXTENSIONS; i++)
		room += versioned ? sizeof(cl_name_version) : strlen(layer_extensions[i].name) + 1;
	char *buf = calloc(1, size + room + 1);
	if (!buf)
		return CL_OUT_OF_HOST_MEMORY;
	err = get(object, param, size, buf, NULL);
	if (err != CL_SUCCESS) {
		free(buf);
		return err;
	}
	size_t total;
	if (versioned) {
		cl_name_version *nv = (cl_name_version *)buf;
		size_t n = size / sizeof(*nv);
		for (size_t i = 0; i < LAYER_EXTENSIONS; i++) {
			if (listed_versioned(nv, n, layer_extensions[i].name))
				continue;
			memset(&nv[n], 0, sizeof(nv[n]));
			nv[n].version = layer_extensions[i].version;
			strncpy(nv[n].name, layer_extensions[i].name, sizeof(nv[n].name) - 1);
			n++;
		}
		total = n * sizeof(*nv);
	} else {
		size_t len = strnlen(buf, size);
		for (size_t i = 0; i < LAYER_EXTENSIONS; i++) {
			const char *name = layer_extensions[i].name;
			if (listed(buf, name))
				continue;
			if (len > 0 && buf[len - 1] != ' ')
				buf[len++] = ' ';
			memcpy(buf + len, name, strlen(name) + 1);
			len += strlen(name);
		}
		total = len + 1;
	}
	err = unimem_cl_answer(buf, total, param_value_size, param_value, param_value_size_ret);
	free(buf);
	return err;
}

/* Are all devices of @platform served? */
static bool platform_fully_served(cl_platform_id platform)
{
	cl_device_id devs[UNIMEM_CL_MAX_DEVICES];
	cl_uint n = 0;
	if (unimem_cl_next.clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, UNIMEM_CL_MAX_DEVICES,
					  devs, &n) != CL_SUCCESS ||
	    n == 0 || n > UNIMEM_CL_MAX_DEVICES)
		return false;
	for (cl_uint i = 0; i < n; i++) {
		struct unimem_cl_device d;
		if (!unimem_cl_device(devs[i], &d) || !d.in_process)
			return false;
	}
	return true;
}

static cl_int platform_info(void *platform, cl_uint param, size_t size, void *value,
			    size_t *size_ret)
{
	return unimem_cl_next.clGetPlatformInfo(platform, param, size, value, size_ret);
}

static cl_int CL_API_CALL get_platform_info(cl_platform_id platform, cl_platform_info param,
					    size_t param_value_size, void *param_value,
					    size_t *param_value_size_ret)
{
	cl_svm_capabilities_khr types[UNIMEM_CL_SVM_TYPES];
	if (param == CL_PLATFORM_SVM_TYPE_CAPABILITIES_KHR &&
	    unimem_cl_platform_svm_types(platform, types))
		return unimem_cl_answer(types, sizeof(types), param_value_size, param_value,
					param_value_size_ret);
	if ((param == CL_PLATFORM_EXTENSIONS || param == CL_PLATFORM_EXTENSIONS_WITH_VERSION) &&
	    platform_fully_served(platform))
		return unimem_cl_answer_extensions(platform_info, platform, param,
						   param == CL_PLATFORM_EXTENSIONS_WITH_VERSION,
						   param_value_size, param_value,
						   param_value_size_ret);
	return unimem_cl_next.clGetPlatformInfo(platform, param, param_value_size, param_value,
						param_value_size_ret);
}

static void *CL_API_CALL get_extension_function_for_platform(cl_platform_id platform,
							      const char *name)
{
	void *fn = layer_function(name);
	if (fn && platform && unimem_cl_platform_served(platform))
		return fn;
	return unimem_cl_next.clGetExtensionFunctionAddressForPlatform(platform, name);
}

/*
 * The deprecated form names no platform. The next layer (the loader, which
 * asks the drivers) answers first: a function it finds is another vendor's
 * to give, unless it is the very function a platform we serve would give,
 * in which case that platform's calls are ours. A name no driver knows is
 * ours if we serve any platform.
 */
static void *CL_API_CALL get_extension_function(const char *name)
{
	void *theirs = unimem_cl_next.clGetExtensionFunctionAddress(name);
	void *ours = layer_function(name);
	if (!ours)
		return theirs;

	cl_platform_id platforms[16];
	cl_uint n = 0;
	bool served_any = false;
	if (unimem_cl_next.clGetPlatformIDs(16, platforms, &n) != CL_SUCCESS)
		n = 0;
	for (cl_uint i = 0; i < n && i < 16; i++) {
		if (!unimem_cl_platform_served(platforms[i]))
			continue;
		served_any = true;
		if (theirs && unimem_cl_next.clGetExtensionFunctionAddressForPlatform(
				      platforms[i], name) == theirs)
			return ours;
	}
	if (theirs)
		return theirs;
	return served_any ? ours : NULL;
}

void unimem_cl_extensions_hook(cl_icd_dispatch *d)
{
	d->clGetExtensionFunctionAddressForPlatform = get_extension_function_for_platform;
	d->clGetExtensionFunctionAddress = get_extension_function;
	d->clGetPlatformInfo = get_platform_info;
}
