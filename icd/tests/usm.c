/* SPDX-License-Identifier: MIT */
/*
 * icd.usm: cl_intel_unified_shared_memory through the layer: the
 * extension string and capability queries, every allocation type used by
 * a kernel and queried, memcpy, fill, memset, migrate, every advice value,
 * and both frees. Plain PoCL 3.1 must show no trace of the extension.
 */
#include "cltest.h"
#include "unimem.h"

#include <sched.h>
#include <stdint.h>

#define N 1024

static const char *src =
	"__kernel void fill_index(__global int *p, int add) {\n"
	"  size_t i = get_global_id(0); p[i] = (int)i + add;\n"
	"}\n"
	"__kernel void sum_indirect(__global int *__global *table, int count,\n"
	"                           __global long *out) {\n"
	"  long s = 0;\n"
	"  for (int t = 0; t < count; t++) for (int i = 0; i < 4; i++) s += table[t][i];\n"
	"  out[0] = s;\n"
	"}\n";

#define GET(name) \
	name##_fn name = (name##_fn)clGetExtensionFunctionAddressForPlatform(t.platform, #name)

static bool has_usm_extension(cl_device_id dev)
{
	size_t size = 0;
	REQUIRE(clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, 0, NULL, &size) == CL_SUCCESS);
	char *ext = malloc(size);
	REQUIRE(clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, size, ext, NULL) == CL_SUCCESS);
	CHECK(strlen(ext) + 1 == size);
	bool found = strstr(ext, "cl_intel_unified_shared_memory") != NULL;
	free(ext);

	REQUIRE(clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS_WITH_VERSION, 0, NULL, &size) ==
		CL_SUCCESS);
	cl_name_version *nv = malloc(size);
	REQUIRE(clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS_WITH_VERSION, size, nv, NULL) ==
		CL_SUCCESS);
	bool versioned = false;
	for (size_t i = 0; i < size / sizeof(*nv); i++)
		versioned |= strcmp(nv[i].name, "cl_intel_unified_shared_memory") == 0;
	free(nv);
	CHECK(found == versioned);
	return found;
}

/* The command type the application sees for @ev. */
static cl_command_type command_type(cl_event ev)
{
	cl_command_type type = 0;
	if (clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof(type), &type, NULL) != CL_SUCCESS)
		return 0;
	return type;
}

int main(int argc, char **argv)
{
	struct cltest t;
	cl_int err;
	cltest_mode(argc, argv);
	cltest_setup(&t);

	GET(clHostMemAllocINTEL);
	GET(clDeviceMemAllocINTEL);
	GET(clSharedMemAllocINTEL);
	GET(clMemFreeINTEL);
	GET(clMemBlockingFreeINTEL);
	GET(clGetMemAllocInfoINTEL);
	GET(clSetKernelArgMemPointerINTEL);
	GET(clEnqueueMemFillINTEL);
	GET(clEnqueueMemsetINTEL);
	GET(clEnqueueMemcpyINTEL);
	GET(clEnqueueMigrateMemINTEL);
	GET(clEnqueueMemAdviseINTEL);
	bool all = clHostMemAllocINTEL && clDeviceMemAllocINTEL && clSharedMemAllocINTEL &&
		   clMemFreeINTEL && clMemBlockingFreeINTEL && clGetMemAllocInfoINTEL &&
		   clSetKernelArgMemPointerINTEL && clEnqueueMemFillINTEL &&
		   clEnqueueMemsetINTEL && clEnqueueMemcpyINTEL &&
		   clEnqueueMigrateMemINTEL && clEnqueueMemAdviseINTEL;
	cl_device_unified_shared_memory_capabilities_intel caps[5];
	const cl_device_info cap_params[5] = {
		CL_DEVICE_HOST_MEM_CAPABILITIES_INTEL,
		CL_DEVICE_DEVICE_MEM_CAPABILITIES_INTEL,
		CL_DEVICE_SINGLE_DEVICE_SHARED_MEM_CAPABILITIES_INTEL,
		CL_DEVICE_CROSS_DEVICE_SHARED_MEM_CAPABILITIES_INTEL,
		CL_DEVICE_SHARED_SYSTEM_MEM_CAPABILITIES_INTEL,
	};
	/* PoCL's one device is served, so its platform lists the extension. */
	cl_version version = 0;
	CHECK(cltest_platform_lists(t.platform, "cl_intel_unified_shared_memory", &version) ==
	      with_layer);
	CHECK(!with_layer || version == CL_MAKE_VERSION(1, 0, 0));
	/* The platform-less lookup (deprecated) answers the same. */
	CHECK((clGetExtensionFunctionAddress("clSharedMemAllocINTEL") != NULL) == with_layer);
	if (!with_layer) {
		CHECK(!has_usm_extension(t.device));
		CHECK(!clHostMemAllocINTEL && !clSharedMemAllocINTEL &&
		      !clEnqueueMemAdviseINTEL);
		for (int i = 0; i < 5; i++)
			CHECK_ERR(clGetDeviceInfo(t.device, cap_params[i], sizeof(caps[i]),
						  &caps[i], NULL), CL_INVALID_VALUE);
		cltest_teardown(&t);
		return cltest_done("icd.usm");
	}
	CHECK(has_usm_extension(t.device));
	REQUIRE(all);
	for (int i = 0; i < 5; i++) {
		CHECK_ERR(clGetDeviceInfo(t.device, cap_params[i], sizeof(caps[i]), &caps[i],
					  NULL), CL_SUCCESS);
		CHECK(caps[i] & CL_UNIFIED_SHARED_MEMORY_ACCESS_INTEL);
		CHECK(caps[i] & CL_UNIFIED_SHARED_MEMORY_CONCURRENT_ACCESS_INTEL);
		CHECK(caps[i] & CL_UNIFIED_SHARED_MEMORY_ATOMIC_ACCESS_INTEL);
	}
	unimem_location_t dev_loc;
	REQUIRE(clGetDeviceInfo(t.device, CL_DEVICE_UNIMEM_LOCATION, sizeof(dev_loc),
				&dev_loc, NULL) == CL_SUCCESS);

	cl_program p = cltest_build(&t, src);
	cl_kernel fill = cltest_kernel(p, "fill_index");
	cl_kernel sum = cltest_kernel(p, "sum_indirect");

	/* One of each type; the kernel writes each, the host reads. */
	cl_mem_properties_intel placed[] = { CL_MEM_ALLOC_FLAGS_INTEL,
					     CL_MEM_ALLOC_INITIAL_PLACEMENT_DEVICE_INTEL, 0 };
	int *host = clHostMemAllocINTEL(t.context, NULL, N * sizeof(int), 0, &err);
	CHECK(host && err == CL_SUCCESS);
	int *dev = clDeviceMemAllocINTEL(t.context, t.device, NULL, N * sizeof(int), 4096,
					 &err);
	CHECK(dev && err == CL_SUCCESS);
	CHECK(((uintptr_t)dev & 4095) == 0);
	int *shared = clSharedMemAllocINTEL(t.context, t.device, placed, N * sizeof(int), 64,
					    &err);
	CHECK(shared && err == CL_SUCCESS);
	int *shared_nodev = clSharedMemAllocINTEL(t.context, NULL, NULL, N * sizeof(int), 0,
						  &err);
	CHECK(shared_nodev && err == CL_SUCCESS);
	REQUIRE(host && dev && shared && shared_nodev);

	int *allocs[4] = { host, dev, shared, shared_nodev };
	const cl_unified_shared_memory_type_intel types[4] = {
		CL_MEM_TYPE_HOST_INTEL, CL_MEM_TYPE_DEVICE_INTEL, CL_MEM_TYPE_SHARED_INTEL,
		CL_MEM_TYPE_SHARED_INTEL
	};
	const cl_device_id devices[4] = { NULL, t.device, t.device, NULL };
	for (int a = 0; a < 4; a++) {
		int add = a * 1000;
		CHECK_ERR(clSetKernelArgMemPointerINTEL(fill, 0, allocs[a]), CL_SUCCESS);
		CHECK_ERR(clSetKernelArg(fill, 1, sizeof(add), &add), CL_SUCCESS);
		size_t global = N;
		CHECK_ERR(clEnqueueNDRangeKernel(t.queue, fill, 1, NULL, &global, NULL, 0, NULL,
						 NULL), CL_SUCCESS);
		CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
		bool ok = true;
		for (int i = 0; i < N; i++)
			ok &= allocs[a][i] == i + add;
		CHECK(ok);

		/* Queries, from an interior pointer. */
		const void *inner = allocs[a] + 100;
		cl_unified_shared_memory_type_intel type = 0;
		void *base = NULL;
		size_t size = 0, size_ret = 0;
		cl_device_id adev = (cl_device_id)1;
		CHECK_ERR(clGetMemAllocInfoINTEL(t.context, inner, CL_MEM_ALLOC_TYPE_INTEL,
						 sizeof(type), &type, &size_ret), CL_SUCCESS);
		CHECK(type == types[a] && size_ret == sizeof(type));
		CHECK_ERR(clGetMemAllocInfoINTEL(t.context, inner, CL_MEM_ALLOC_BASE_PTR_INTEL,
						 sizeof(base), &base, NULL), CL_SUCCESS);
		CHECK(base == allocs[a]);
		CHECK_ERR(clGetMemAllocInfoINTEL(t.context, inner, CL_MEM_ALLOC_SIZE_INTEL,
						 sizeof(size), &size, NULL), CL_SUCCESS);
		CHECK(size == N * sizeof(int));
		CHECK_ERR(clGetMemAllocInfoINTEL(t.context, inner, CL_MEM_ALLOC_DEVICE_INTEL,
						 sizeof(adev), &adev, NULL), CL_SUCCESS);
		CHECK(adev == devices[a]);
		/* unimem is behind every one of them. */
		struct unimem_ptr_info pi;
		CHECK(unimem_ptr_info(inner, &pi) == 0 && pi.base == allocs[a]);
	}
	cl_mem_alloc_flags_intel flags = 0;
	CHECK_ERR(clGetMemAllocInfoINTEL(t.context, shared, CL_MEM_ALLOC_FLAGS_INTEL,
					 sizeof(flags), &flags, NULL), CL_SUCCESS);
	CHECK(flags == CL_MEM_ALLOC_INITIAL_PLACEMENT_DEVICE_INTEL);
	/* A pointer the layer did not allocate is unknown, not an error. */
	int local = 0;
	cl_unified_shared_memory_type_intel type = 0;
	void *base = (void *)1;
	CHECK_ERR(clGetMemAllocInfoINTEL(t.context, &local, CL_MEM_ALLOC_TYPE_INTEL,
					 sizeof(type), &type, NULL), CL_SUCCESS);
	CHECK(type == CL_MEM_TYPE_UNKNOWN_INTEL);
	CHECK_ERR(clGetMemAllocInfoINTEL(t.context, &local, CL_MEM_ALLOC_BASE_PTR_INTEL,
					 sizeof(base), &base, NULL), CL_SUCCESS);
	CHECK(base == NULL);

	/* A kernel reaching USM memory through a table in USM memory. */
	int **table = clSharedMemAllocINTEL(t.context, t.device, NULL, 4 * sizeof(int *), 0,
					    &err);
	long *out = clHostMemAllocINTEL(t.context, NULL, sizeof(long), 0, &err);
	REQUIRE(table && out);
	for (int a = 0; a < 4; a++)
		table[a] = allocs[a];
	cl_bool yes = CL_TRUE;
	CHECK_ERR(clSetKernelExecInfo(sum, CL_KERNEL_EXEC_INFO_INDIRECT_HOST_ACCESS_INTEL,
				      sizeof(yes), &yes), CL_SUCCESS);
	CHECK_ERR(clSetKernelExecInfo(sum, CL_KERNEL_EXEC_INFO_INDIRECT_DEVICE_ACCESS_INTEL,
				      sizeof(yes), &yes), CL_SUCCESS);
	CHECK_ERR(clSetKernelExecInfo(sum, CL_KERNEL_EXEC_INFO_INDIRECT_SHARED_ACCESS_INTEL,
				      sizeof(yes), &yes), CL_SUCCESS);
	CHECK_ERR(clSetKernelExecInfo(sum, CL_KERNEL_EXEC_INFO_USM_PTRS_INTEL,
				      sizeof(allocs), allocs), CL_SUCCESS);
	int count = 4;
	CHECK_ERR(clSetKernelArgMemPointerINTEL(sum, 0, table), CL_SUCCESS);
	CHECK_ERR(clSetKernelArg(sum, 1, sizeof(count), &count), CL_SUCCESS);
	CHECK_ERR(clSetKernelArgMemPointerINTEL(sum, 2, out), CL_SUCCESS);
	size_t one = 1;
	CHECK_ERR(clEnqueueNDRangeKernel(t.queue, sum, 1, NULL, &one, NULL, 0, NULL, NULL),
		  CL_SUCCESS);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	CHECK(*out == (0 + 1 + 2 + 3) * 4 + 4 * (0 + 1000 + 2000 + 3000));

	/* memcpy device -> host, fill, memset, between the types. */
	cl_event ev;
	CHECK_ERR(clEnqueueMemcpyINTEL(t.queue, CL_FALSE, host, dev, N * sizeof(int), 0, NULL,
				       &ev), CL_SUCCESS);
	cl_short pattern = 0x0102;
	CHECK_ERR(clEnqueueMemFillINTEL(t.queue, shared, &pattern, sizeof(pattern),
					N * sizeof(int), 1, &ev, NULL), CL_SUCCESS);
	CHECK_ERR(clEnqueueMemsetINTEL(t.queue, shared_nodev, 0x7f, N * sizeof(int), 0, NULL,
				       NULL), CL_SUCCESS);
	CHECK(command_type(ev) == CL_COMMAND_MEMCPY_INTEL);
	clReleaseEvent(ev);
	cl_event fill_ev;
	CHECK_ERR(clEnqueueMemFillINTEL(t.queue, shared, &pattern, sizeof(pattern),
					N * sizeof(int), 0, NULL, &fill_ev), CL_SUCCESS);
	CHECK(command_type(fill_ev) == CL_COMMAND_MEMFILL_INTEL);
	/* A retained event keeps its type until its last release. */
	CHECK_ERR(clRetainEvent(fill_ev), CL_SUCCESS);
	CHECK_ERR(clReleaseEvent(fill_ev), CL_SUCCESS);
	CHECK(command_type(fill_ev) == CL_COMMAND_MEMFILL_INTEL);
	clReleaseEvent(fill_ev);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	bool ok = true;
	for (int i = 0; i < N; i++) {
		ok &= host[i] == i + 1000;
		ok &= shared[i] == 0x01020102;
		ok &= shared_nodev[i] == 0x7f7f7f7f;
	}
	CHECK(ok);

	/* The layer forgets a USM event when the application's references
	 * are gone, although the driver may still hold its own: a handle the
	 * driver reuses for another command shows that command's type. */
	cl_int value = 7;
	int retyped = 0;
	for (int i = 0; i < 200; i++) {
		CHECK_ERR(clEnqueueMemcpyINTEL(t.queue, CL_FALSE, host, &value, sizeof(value), 0,
					       NULL, &ev), CL_SUCCESS);
		CHECK(command_type(ev) == CL_COMMAND_MEMCPY_INTEL);
		CHECK_ERR(clRetainEvent(ev), CL_SUCCESS);
		CHECK_ERR(clReleaseEvent(ev), CL_SUCCESS);
		CHECK(command_type(ev) == CL_COMMAND_MEMCPY_INTEL); /* still held */
		CHECK_ERR(clReleaseEvent(ev), CL_SUCCESS);
		CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
		cl_event marker;
		CHECK_ERR(clEnqueueMarkerWithWaitList(t.queue, 0, NULL, &marker), CL_SUCCESS);
		retyped += command_type(marker) != CL_COMMAND_MARKER;
		CHECK_ERR(clReleaseEvent(marker), CL_SUCCESS);
		CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	}
	CHECK(retyped == 0);
	CHECK(host[0] == 7);
	host[0] = 1000;

	/* Migrate: observed through unimem's record of the last prefetch. */
	unimem_location_t loc = UNIMEM_LOC_NONE;
	CHECK_ERR(clEnqueueMigrateMemINTEL(t.queue, shared, N * sizeof(int), 0, 0, NULL, &ev),
		  CL_SUCCESS);
	CHECK_ERR(clWaitForEvents(1, &ev), CL_SUCCESS);
	CHECK(command_type(ev) == CL_COMMAND_MIGRATEMEM_INTEL);
	clReleaseEvent(ev);
	CHECK(unimem_range_get_attr(shared, N * sizeof(int), UNIMEM_ATTR_LAST_PREFETCH_LOCATION,
				    &loc, sizeof(loc)) == 0 && loc == dev_loc);
	CHECK_ERR(clEnqueueMigrateMemINTEL(t.queue, shared, N * sizeof(int),
					   CL_MIGRATE_MEM_OBJECT_HOST, 0, NULL, NULL),
		  CL_SUCCESS);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	unsigned cpu, node;
	REQUIRE(getcpu(&cpu, &node) == 0);
	CHECK(unimem_range_get_attr(shared, N * sizeof(int), UNIMEM_ATTR_LAST_PREFETCH_LOCATION,
				    &loc, sizeof(loc)) == 0 && loc == UNIMEM_LOC_HOST(node));
	ok = true;
	for (int i = 0; i < N; i++)
		ok &= shared[i] == 0x01020102;
	CHECK(ok);

	/* Every advice value is accepted; the preferred location is kept
	 * where unimem's backend keeps it. */
	for (cl_mem_advice_intel adv = CL_MEM_ADVICE_DEFAULT_UNIMEM;
	     adv <= CL_MEM_ADVICE_CLEAR_READ_MOSTLY_UNIMEM; adv++)
		CHECK_ERR(clEnqueueMemAdviseINTEL(t.queue, shared, N * sizeof(int), adv, 0, NULL,
						  NULL), CL_SUCCESS);
	/* The values of earlier versions, in Intel's registered block, are
	 * no longer the layer's: they are rejected like any unknown advice. */
	for (cl_mem_advice_intel adv = 0x4208; adv <= 0x420F; adv++)
		CHECK_ERR(clEnqueueMemAdviseINTEL(t.queue, shared, N * sizeof(int), adv, 0, NULL,
						  NULL), CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMemAdviseINTEL(t.queue, dev, 4096,
					  CL_MEM_ADVICE_SET_PREFERRED_LOCATION_UNIMEM, 0, NULL,
					  &ev), CL_SUCCESS);
	CHECK(command_type(ev) == CL_COMMAND_MEMADVISE_INTEL);
	clReleaseEvent(ev);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	if (unimem_advise(shared, 4096, UNIMEM_ADVISE_SET_PREFERRED_LOCATION, dev_loc) == 0) {
		CHECK(unimem_range_get_attr(dev, 4096, UNIMEM_ATTR_PREFERRED_LOCATION, &loc,
					    sizeof(loc)) == 0 && loc == dev_loc);
	} else {
		printf("note: unimem keeps no preferred location here; not checked\n");
	}

	/* Frees: blocking waits for queued work; unknown pointers are errors. */
	CHECK_ERR(clEnqueueMemFillINTEL(t.queue, host, &pattern, sizeof(pattern),
					N * sizeof(int), 0, NULL, NULL), CL_SUCCESS);
	CHECK_ERR(clMemBlockingFreeINTEL(t.context, host), CL_SUCCESS);
	CHECK_ERR(clMemFreeINTEL(t.context, host), CL_INVALID_VALUE);
	CHECK_ERR(clMemFreeINTEL(t.context, &local), CL_INVALID_VALUE);
	CHECK_ERR(clMemFreeINTEL(t.context, NULL), CL_SUCCESS);
	CHECK_ERR(clMemFreeINTEL(t.context, dev), CL_SUCCESS);
	CHECK_ERR(clMemFreeINTEL(t.context, shared), CL_SUCCESS);
	CHECK_ERR(clMemFreeINTEL(t.context, shared_nodev), CL_SUCCESS);
	CHECK_ERR(clMemFreeINTEL(t.context, table), CL_SUCCESS);
	CHECK_ERR(clMemBlockingFreeINTEL(t.context, out), CL_SUCCESS);

	clReleaseKernel(fill);
	clReleaseKernel(sum);
	clReleaseProgram(p);
	cltest_teardown(&t);
	return cltest_done("icd.usm");
}
