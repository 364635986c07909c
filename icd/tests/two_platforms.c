/* SPDX-License-Identifier: MIT */
/*
 * icd.two_platforms: PoCL and a second ICD (stub_icd.c, no devices) with
 * its own clHostMemAllocINTEL. The layer hands out its USM functions for
 * the platform it serves only: clGetExtensionFunctionAddressForPlatform
 * gives each platform its own, and the deprecated
 * clGetExtensionFunctionAddress, which names no platform, gives the other
 * vendor's function when it has one, and the layer's only for names no
 * driver answers. Which library a function lives in tells whose it is.
 * Only the served platform lists the layer's extension.
 */
#include <dlfcn.h>

#include "cltest.h"

/* The file name of the library holding @fn, "" if none. */
static const char *library_of(void *fn)
{
	Dl_info info;
	if (!fn || !dladdr(fn, &info) || !info.dli_fname)
		return "";
	return info.dli_fname;
}

static bool from_layer(void *fn)
{
	return strstr(library_of(fn), "libunimem-cl-layer") != NULL;
}

static bool from_stub(void *fn)
{
	return strstr(library_of(fn), "unimem-cl-stub-icd") != NULL;
}

static bool platform_named(cl_platform_id p, const char *want)
{
	char name[256] = "";
	return clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof(name), name, NULL) ==
		       CL_SUCCESS &&
	       strstr(name, want) != NULL;
}

int main(int argc, char **argv)
{
	cltest_mode(argc, argv);
	cl_platform_id platforms[8], pocl = NULL, stub = NULL;
	cl_uint n = 0;
	REQUIRE(clGetPlatformIDs(8, platforms, &n) == CL_SUCCESS);
	for (cl_uint i = 0; i < n && i < 8; i++) {
		if (platform_named(platforms[i], "Portable Computing Language"))
			pocl = platforms[i];
		else if (platform_named(platforms[i], "unimem test stub"))
			stub = platforms[i];
	}
	REQUIRE(n == 2 && pocl && stub);

	void *pocl_alloc = clGetExtensionFunctionAddressForPlatform(pocl, "clHostMemAllocINTEL");
	void *stub_alloc = clGetExtensionFunctionAddressForPlatform(stub, "clHostMemAllocINTEL");
	void *any_alloc = clGetExtensionFunctionAddress("clHostMemAllocINTEL");
	void *any_free = clGetExtensionFunctionAddress("clMemFreeINTEL");
	CHECK(from_stub(stub_alloc));
	/* The other vendor's function, whether or not the layer is loaded. */
	CHECK(from_stub(any_alloc));
	if (with_layer) {
		CHECK(from_layer(pocl_alloc));
		/* No driver answers clMemFreeINTEL: the layer's, for PoCL. */
		CHECK(from_layer(any_free));
	} else {
		CHECK(pocl_alloc == NULL);
		CHECK(any_free == NULL);
	}
	CHECK(clGetExtensionFunctionAddress("clNoSuchFunctionINTEL") == NULL);
	/* Only the served platform lists the layer's extension. */
	CHECK(cltest_platform_lists(pocl, "cl_intel_unified_shared_memory", NULL) == with_layer);
	CHECK(!cltest_platform_lists(stub, "cl_intel_unified_shared_memory", NULL));
	return cltest_done("icd.two_platforms");
}
