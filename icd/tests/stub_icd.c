/* SPDX-License-Identifier: MIT */
/*
 * stub_icd.c - a second OpenCL platform for icd.two_platforms: an ICD with
 * no devices whose vendor extension functions include its own
 * clHostMemAllocINTEL, as another vendor's driver would have. The loader
 * finds it through an .icd file; nothing else of OpenCL is implemented
 * (every other dispatch entry is NULL and the test never calls it).
 */
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#include <CL/cl_icd.h>
#include <CL/cl_ext.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

struct _cl_platform_id {
	cl_icd_dispatch *dispatch;
};

static cl_icd_dispatch stub_dispatch;
static struct _cl_platform_id stub_platform = { &stub_dispatch };

static cl_int answer(const void *src, size_t size, size_t value_size, void *value,
		     size_t *size_ret)
{
	if (value && value_size < size)
		return CL_INVALID_VALUE;
	if (value)
		memcpy(value, src, size);
	if (size_ret)
		*size_ret = size;
	return CL_SUCCESS;
}

static cl_int CL_API_CALL get_platform_info(cl_platform_id platform, cl_platform_info param,
					    size_t value_size, void *value, size_t *size_ret)
{
	const char *s;
	if (platform != &stub_platform)
		return CL_INVALID_PLATFORM;
	switch (param) {
	case CL_PLATFORM_ICD_SUFFIX_KHR: s = "INTEL"; break;
	case CL_PLATFORM_NAME: s = "unimem test stub"; break;
	case CL_PLATFORM_VENDOR: s = "unimem tests"; break;
	case CL_PLATFORM_VERSION: s = "OpenCL 3.0 stub"; break;
	case CL_PLATFORM_PROFILE: s = "FULL_PROFILE"; break;
	case CL_PLATFORM_EXTENSIONS: s = "cl_khr_icd"; break;
	default: return CL_INVALID_VALUE;
	}
	return answer(s, strlen(s) + 1, value_size, value, size_ret);
}

static cl_int CL_API_CALL get_device_ids(cl_platform_id platform, cl_device_type type,
					 cl_uint num_entries, cl_device_id *devices,
					 cl_uint *num_devices)
{
	(void)type; (void)num_entries; (void)devices;
	if (platform != &stub_platform)
		return CL_INVALID_PLATFORM;
	if (num_devices)
		*num_devices = 0;
	return CL_DEVICE_NOT_FOUND;
}

/* The vendor's own USM entry point: the test knows it by its address. */
EXPORT void *CL_API_CALL stub_clHostMemAllocINTEL(cl_context ctx, const cl_properties *props,
						   size_t size, cl_uint alignment,
						   cl_int *errcode_ret)
{
	(void)ctx; (void)props; (void)size; (void)alignment;
	if (errcode_ret)
		*errcode_ret = CL_INVALID_OPERATION;
	return NULL;
}

static cl_int CL_API_CALL icd_get_platform_ids(cl_uint num_entries, cl_platform_id *platforms,
					       cl_uint *num_platforms)
{
	if (!platforms && !num_platforms)
		return CL_INVALID_VALUE;
	if (platforms && num_entries > 0)
		platforms[0] = &stub_platform;
	if (num_platforms)
		*num_platforms = 1;
	return CL_SUCCESS;
}

/* Our own functions are called through these static names: the exported
 * ones are interposed by the loader's, which the process loaded first. */
static void *CL_API_CALL get_extension_function(const char *name)
{
	if (!name)
		return NULL;
	if (strcmp(name, "clIcdGetPlatformIDsKHR") == 0)
		return (void *)icd_get_platform_ids;
	if (strcmp(name, "clHostMemAllocINTEL") == 0)
		return (void *)stub_clHostMemAllocINTEL;
	return NULL;
}

static void *CL_API_CALL get_extension_function_for_platform(cl_platform_id platform,
							      const char *name)
{
	return platform == &stub_platform ? get_extension_function(name) : NULL;
}

EXPORT void *CL_API_CALL clGetExtensionFunctionAddress(const char *name)
{
	return get_extension_function(name);
}

EXPORT cl_int CL_API_CALL clIcdGetPlatformIDsKHR(cl_uint num_entries, cl_platform_id *platforms,
						 cl_uint *num_platforms)
{
	return icd_get_platform_ids(num_entries, platforms, num_platforms);
}

EXPORT cl_int CL_API_CALL clGetPlatformInfo(cl_platform_id platform, cl_platform_info param,
					    size_t value_size, void *value, size_t *size_ret)
{
	return get_platform_info(platform, param, value_size, value, size_ret);
}

__attribute__((constructor)) static void stub_init(void)
{
	stub_dispatch.clGetPlatformInfo = get_platform_info;
	stub_dispatch.clGetDeviceIDs = get_device_ids;
	stub_dispatch.clGetExtensionFunctionAddress = get_extension_function;
	stub_dispatch.clGetExtensionFunctionAddressForPlatform =
		get_extension_function_for_platform;
}
