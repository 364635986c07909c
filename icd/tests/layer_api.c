/* SPDX-License-Identifier: MIT */
/*
 * icd.layer_api: the cl_loader_layers entry points, called directly the
 * way a loader does (run without OPENCL_LAYERS): version and name
 * queries, refusals, clInitLayerWithProperties over PoCL's own dispatch
 * table, and that what the layer does not handle is PoCL's entry itself.
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl_layer.h>
#include <dlfcn.h>

#include "cltest.h"

#ifndef CL_LAYER_NAME
#define CL_LAYER_NAME 0x4241
#endif
typedef cl_int(CL_API_CALL *init_with_props_fn)(cl_uint, const cl_icd_dispatch *,
					       cl_uint *, const cl_icd_dispatch **,
					       const cl_properties *);
typedef cl_int(CL_API_CALL *deinit_fn)(void);

int main(int argc, char **argv)
{
	REQUIRE(argc >= 2);
	REQUIRE(!getenv("OPENCL_LAYERS"));
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fprintf(stderr, "%s\n", dlerror());
	REQUIRE(h);
	pfn_clGetLayerInfo get_info = (pfn_clGetLayerInfo)dlsym(h, "clGetLayerInfo");
	pfn_clInitLayer init = (pfn_clInitLayer)dlsym(h, "clInitLayer");
	init_with_props_fn init_props =
		(init_with_props_fn)dlsym(h, "clInitLayerWithProperties");
	deinit_fn deinit = (deinit_fn)dlsym(h, "clDeinitLayer");
	REQUIRE(get_info && init && init_props && deinit);
	/* Only the layer interface is exported. */
	CHECK(dlsym(h, "clSVMAlloc") == NULL);

	cl_layer_api_version version = 0;
	size_t size = 0;
	CHECK_ERR(get_info(CL_LAYER_API_VERSION, sizeof(version), &version, &size), CL_SUCCESS);
	CHECK(version == CL_LAYER_API_VERSION_100 && size == sizeof(version));
	CHECK_ERR(get_info(CL_LAYER_API_VERSION, 1, &version, NULL), CL_INVALID_VALUE);
	CHECK_ERR(get_info(CL_LAYER_API_VERSION, 0, NULL, NULL), CL_INVALID_VALUE);
	CHECK_ERR(get_info(0x1234, sizeof(version), &version, NULL), CL_INVALID_VALUE);
	char name[128] = "";
	CHECK_ERR(get_info(CL_LAYER_NAME, sizeof(name), name, &size), CL_SUCCESS);
	CHECK(strstr(name, "unimem") != NULL && size == strlen(name) + 1);

	/* The driver's own table, as a loader would pass it. */
	cl_platform_id platform;
	cl_device_id device;
	REQUIRE(clGetPlatformIDs(1, &platform, NULL) == CL_SUCCESS);
	REQUIRE(clGetDeviceIDs(platform, CL_DEVICE_TYPE_CPU, 1, &device, NULL) == CL_SUCCESS);
	const cl_icd_dispatch *pocl = *(const cl_icd_dispatch *const *)platform;
	const cl_uint entries = sizeof(cl_icd_dispatch) / sizeof(void *);

	const cl_icd_dispatch *ld = NULL;
	cl_uint n = 0;
	CHECK_ERR(init(10, pocl, &n, &ld), CL_INVALID_VALUE); /* too old a loader */
	CHECK_ERR(init(entries, NULL, &n, &ld), CL_INVALID_VALUE);
	cl_properties bogus[] = { 0x9999, 1, 0 };
	CHECK_ERR(init_props(entries, pocl, &n, &ld, bogus), CL_INVALID_PROPERTY);
	cl_properties empty[] = { 0 };
	CHECK_ERR(init_props(entries, pocl, &n, &ld, empty), CL_SUCCESS);
	REQUIRE(ld);
	CHECK(n == entries);

	/* Unhandled entries are the driver's, so they cost nothing. */
	CHECK(ld->clEnqueueNDRangeKernel == pocl->clEnqueueNDRangeKernel);
	CHECK(ld->clGetPlatformInfo == pocl->clGetPlatformInfo);
	CHECK(ld->clSVMAlloc != pocl->clSVMAlloc);
	cl_device_svm_capabilities caps = 0;
	CHECK_ERR(ld->clGetDeviceInfo(device, CL_DEVICE_SVM_CAPABILITIES, sizeof(caps), &caps,
				      NULL), CL_SUCCESS);
	CHECK(caps & CL_DEVICE_SVM_FINE_GRAIN_SYSTEM);
	CHECK(ld->clGetExtensionFunctionAddressForPlatform(platform, "clHostMemAllocINTEL"));
	CHECK(!ld->clGetExtensionFunctionAddressForPlatform(platform, "clNoSuchThingINTEL"));

	CHECK_ERR(init(entries, pocl, &n, &ld), CL_SUCCESS);
	CHECK_ERR(deinit(), CL_SUCCESS);
	with_layer = false;
	return cltest_done("icd.layer_api");
}
