/* SPDX-License-Identifier: MIT */
/*
 * extensions.c - handing out the USM entry points. The application gets
 * our functions for a platform with at least one served device; any other
 * name, or platform, goes to the driver.
 */
#include "layer.h"

static void *CL_API_CALL get_extension_function_for_platform(cl_platform_id platform,
							      const char *name)
{
	void *fn = unimem_cl_usm_function(name);
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
	void *ours = unimem_cl_usm_function(name);
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
}
