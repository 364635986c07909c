/* SPDX-License-Identifier: MIT */
/*
 * icd.layer_api: the cl_loader_layers entry points, called directly the
 * way a loader does (run without OPENCL_LAYERS): version and name
 * queries, refusals, clInitLayerWithProperties over PoCL's own dispatch
 * table, and that what the layer does not handle is PoCL's entry itself.
 * Over a copy of that table whose enqueues fail on demand, a migration or
 * advice the layer runs on the host leaves no command behind when its
 * enqueue fails.
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

/* ---- a driver table whose enqueues fail on demand ---------------------- */
static const cl_icd_dispatch *driver;
static int enqueues_until_failure; /* the one reaching 0 fails; < 0: none */
static int commands_enqueued;

/* Counts an enqueue about to be made; false if it is to fail. */
static bool enqueue_allowed(void)
{
	if (enqueues_until_failure >= 0 && enqueues_until_failure-- == 0)
		return false;
	return true;
}

static cl_int counted(cl_int err)
{
	commands_enqueued += err == CL_SUCCESS;
	return err;
}

static cl_int CL_API_CALL failing_marker(cl_command_queue q, cl_uint n, const cl_event *w,
					 cl_event *ev)
{
	if (!enqueue_allowed())
		return CL_OUT_OF_RESOURCES;
	return counted(driver->clEnqueueMarkerWithWaitList(q, n, w, ev));
}

static cl_int CL_API_CALL failing_barrier(cl_command_queue q, cl_uint n, const cl_event *w,
					  cl_event *ev)
{
	if (!enqueue_allowed())
		return CL_OUT_OF_RESOURCES;
	return counted(driver->clEnqueueBarrierWithWaitList(q, n, w, ev));
}

static cl_int CL_API_CALL failing_migrate(cl_command_queue q, cl_uint n, const void **p,
					  const size_t *sz, cl_mem_migration_flags f,
					  cl_uint nw, const cl_event *w, cl_event *ev)
{
	if (!enqueue_allowed())
		return CL_OUT_OF_RESOURCES;
	return counted(driver->clEnqueueSVMMigrateMem(q, n, p, sz, f, nw, w, ev));
}

static cl_int CL_API_CALL failing_native(cl_command_queue q, void(CL_CALLBACK *fn)(void *),
					 void *args, size_t cb, cl_uint nmem, const cl_mem *mem,
					 const void **loc, cl_uint nw, const cl_event *w,
					 cl_event *ev)
{
	if (!enqueue_allowed())
		return CL_OUT_OF_RESOURCES;
	return counted(driver->clEnqueueNativeKernel(q, fn, args, cb, nmem, mem, loc, nw, w, ev));
}

typedef cl_int(CL_API_CALL *advise_fn)(cl_command_queue, const void *, size_t, cl_uint,
				       cl_uint, const cl_event *, cl_event *);

/* Fails each enqueue in turn of a migration and an advice through the
 * layer @ld: whenever the call fails, it must have enqueued nothing. */
static void check_failed_enqueues_leave_nothing(const cl_icd_dispatch *ld,
						cl_platform_id platform, cl_device_id device)
{
	cl_int err;
	cl_context ctx = ld->clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	REQUIRE(err == CL_SUCCESS);
	cl_command_queue q = ld->clCreateCommandQueueWithProperties(ctx, device, NULL, &err);
	REQUIRE(err == CL_SUCCESS);
	advise_fn advise = (advise_fn)ld->clGetExtensionFunctionAddressForPlatform(
		platform, "clEnqueueMemAdviseINTEL");
	REQUIRE(advise);
	void *buf = ld->clSVMAlloc(ctx, CL_MEM_READ_WRITE, 1 << 16, 0);
	REQUIRE(buf);
	const void *ptrs[1] = { buf };
	int failures = 0;
	for (int what = 0; what < 2; what++) {
		for (int fail_at = 0; fail_at < 4; fail_at++) {
			cl_event ev = NULL;
			commands_enqueued = 0;
			enqueues_until_failure = fail_at;
			err = what == 0 ? ld->clEnqueueSVMMigrateMem(q, 1, ptrs, NULL, 0, 0, NULL,
								     &ev) :
					  advise(q, buf, 4096,
						 CL_MEM_ADVICE_SET_READ_MOSTLY_UNIMEM, 0, NULL,
						 &ev);
			enqueues_until_failure = -1;
			if (err != CL_SUCCESS) {
				failures++;
				CHECK(commands_enqueued == 0);
				CHECK(ev == NULL);
			} else {
				CHECK(ev != NULL);
				ld->clReleaseEvent(ev);
			}
			CHECK_ERR(ld->clFinish(q), CL_SUCCESS);
		}
	}
	CHECK(failures > 0); /* the injection reached the layer's enqueues */
	ld->clSVMFree(ctx, buf);
	ld->clReleaseCommandQueue(q);
	ld->clReleaseContext(ctx);
}

int main(int argc, char **argv)
{
	REQUIRE(argc >= 2);
	REQUIRE(!getenv("OPENCL_LAYERS"));
	cltest_check_loader();
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
	CHECK(ld->clCreateKernel == pocl->clCreateKernel);
	CHECK(ld->clSVMAlloc != pocl->clSVMAlloc);
	cl_device_svm_capabilities caps = 0;
	CHECK_ERR(ld->clGetDeviceInfo(device, CL_DEVICE_SVM_CAPABILITIES, sizeof(caps), &caps,
				      NULL), CL_SUCCESS);
	CHECK(caps & CL_DEVICE_SVM_FINE_GRAIN_SYSTEM);
	CHECK(ld->clGetExtensionFunctionAddressForPlatform(platform, "clHostMemAllocINTEL"));
	CHECK(!ld->clGetExtensionFunctionAddressForPlatform(platform, "clNoSuchThingINTEL"));

	CHECK_ERR(init(entries, pocl, &n, &ld), CL_SUCCESS);

	static cl_icd_dispatch failing;
	failing = *pocl;
	driver = pocl;
	enqueues_until_failure = -1;
	failing.clEnqueueMarkerWithWaitList = failing_marker;
	failing.clEnqueueBarrierWithWaitList = failing_barrier;
	failing.clEnqueueSVMMigrateMem = failing_migrate;
	failing.clEnqueueNativeKernel = failing_native;
	CHECK_ERR(init(entries, &failing, &n, &ld), CL_SUCCESS);
	check_failed_enqueues_leave_nothing(ld, platform, device);
	CHECK_ERR(deinit(), CL_SUCCESS);
	with_layer = false;
	return cltest_done("icd.layer_api");
}
