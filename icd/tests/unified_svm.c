/* SPDX-License-Identifier: MIT */
/*
 * icd.unified_svm: cl_khr_unified_svm (experimental 0.9.0) as its spec
 * text has it, on the layer's SVM types: the extension in the platform's
 * and device's lists; the platform and device SVM type capability queries
 * (one entry per type, each device's a superset of the platform's, each
 * type holding its convenience macro); an allocation of every type used by
 * a kernel and read back, and placed where its type says in unimem;
 * clGetSVMPointerInfoKHR on those, on clSVMAlloc, USM and malloc'd
 * pointers; clGetSVMSuggestedTypeIndexKHR; indirect access; copies and
 * fills of size 0 on NULL; every error case the spec lists. Plain PoCL
 * must show no trace of the extension.
 */
#include "cltest.h"
#include "unimem.h"

#include <sched.h>
#include <stdint.h>

#define N 1024

static const char *src =
	"__kernel void twice_plus_one(__global int *p) {\n"
	"  size_t i = get_global_id(0); p[i] = p[i] * 2 + 1;\n"
	"}\n"
	"__kernel void sum_table(__global int *__global *table, int count, __global long *out) {\n"
	"  long s = 0;\n"
	"  for (int t = 0; t < count; t++) s += table[t][0];\n"
	"  out[0] = s;\n"
	"}\n";

static const cl_svm_capabilities_khr macros[UNIMEM_CL_SVM_TYPES] = {
	CL_SVM_TYPE_MACRO_COARSE_GRAIN_BUFFER_KHR, CL_SVM_TYPE_MACRO_FINE_GRAIN_BUFFER_KHR,
	CL_SVM_TYPE_MACRO_DEVICE_KHR,              CL_SVM_TYPE_MACRO_HOST_KHR,
	CL_SVM_TYPE_MACRO_SINGLE_DEVICE_SHARED_KHR, CL_SVM_TYPE_MACRO_SYSTEM_KHR,
};

static clSVMAllocWithPropertiesKHR_fn svm_alloc;
static clSVMFreeWithPropertiesKHR_fn svm_free;
static clGetSVMPointerInfoKHR_fn pointer_info;
static clGetSVMSuggestedTypeIndexKHR_fn suggest;

static bool device_lists_extension(cl_device_id dev)
{
	size_t size = 0;
	REQUIRE(clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, 0, NULL, &size) == CL_SUCCESS);
	char *ext = malloc(size);
	REQUIRE(ext && clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, size, ext, NULL) == CL_SUCCESS);
	bool listed = strstr(ext, "cl_khr_unified_svm") != NULL;
	free(ext);
	REQUIRE(clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS_WITH_VERSION, 0, NULL, &size) ==
		CL_SUCCESS);
	cl_name_version *nv = malloc(size);
	REQUIRE(nv && clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS_WITH_VERSION, size, nv, NULL) ==
			      CL_SUCCESS);
	bool versioned = false;
	for (size_t i = 0; i < size / sizeof(*nv); i++)
		if (strcmp(nv[i].name, "cl_khr_unified_svm") == 0)
			versioned = nv[i].version == CL_MAKE_VERSION(0, 9, 0);
	free(nv);
	CHECK(listed == versioned);
	return listed;
}

static void check_absent(struct cltest *t)
{
	CHECK(!device_lists_extension(t->device));
	CHECK(!cltest_platform_lists(t->platform, "cl_khr_unified_svm", NULL));
	const char *names[] = { "clSVMAllocWithPropertiesKHR", "clSVMFreeWithPropertiesKHR",
				"clGetSVMPointerInfoKHR", "clGetSVMSuggestedTypeIndexKHR" };
	for (size_t i = 0; i < 4; i++)
		CHECK(clGetExtensionFunctionAddressForPlatform(t->platform, names[i]) == NULL);
	size_t size = 0;
	CHECK(clGetPlatformInfo(t->platform, CL_PLATFORM_SVM_TYPE_CAPABILITIES_KHR, 0, NULL,
				&size) != CL_SUCCESS);
	CHECK(clGetDeviceInfo(t->device, CL_DEVICE_SVM_TYPE_CAPABILITIES_KHR, 0, NULL, &size) !=
	      CL_SUCCESS);
	/* Without the extension a NULL pointer is an error even at size 0. */
	int pattern = 0;
	CHECK(clEnqueueSVMMemFill(t->queue, NULL, &pattern, sizeof(pattern), 0, 0, NULL, NULL) ==
	      CL_INVALID_VALUE);
}

/* Capability arrays: the platform's, and the device's, one entry per type. */
static void check_type_queries(struct cltest *t, cl_svm_capabilities_khr *device_caps)
{
	cl_svm_capabilities_khr platform_caps[UNIMEM_CL_SVM_TYPES + 1];
	size_t size = 0;
	CHECK_ERR(clGetPlatformInfo(t->platform, CL_PLATFORM_SVM_TYPE_CAPABILITIES_KHR,
				    sizeof(platform_caps), platform_caps, &size), CL_SUCCESS);
	CHECK(size == UNIMEM_CL_SVM_TYPES * sizeof(cl_svm_capabilities_khr));
	CHECK_ERR(clGetDeviceInfo(t->device, CL_DEVICE_SVM_TYPE_CAPABILITIES_KHR,
				  UNIMEM_CL_SVM_TYPES * sizeof(*device_caps), device_caps, &size),
		  CL_SUCCESS);
	CHECK(size == UNIMEM_CL_SVM_TYPES * sizeof(cl_svm_capabilities_khr));
	CHECK_ERR(clGetDeviceInfo(t->device, CL_DEVICE_SVM_TYPE_CAPABILITIES_KHR, 8, device_caps,
				  NULL), CL_INVALID_VALUE); /* too small */
	for (int i = 0; i < UNIMEM_CL_SVM_TYPES; i++) {
		/* PoCL's CPU device has SVM atomics: every macro is met. */
		CHECK((platform_caps[i] & macros[i]) == macros[i]);
		CHECK((device_caps[i] & platform_caps[i]) == platform_caps[i]);
	}
}

static void *alloc_type(struct cltest *t, cl_uint type, const cl_svm_alloc_properties_khr *props,
			size_t size)
{
	cl_int err = 1;
	void *p = svm_alloc(t->context, props, type, size, &err);
	CHECK_ERR(err, CL_SUCCESS);
	CHECK(p != NULL);
	return p;
}

/* Fills with the host-side copy, runs the kernel, reads back: data only
 * through OpenCL commands, as a type without host access requires. */
static void check_kernel_on(struct cltest *t, cl_kernel k, int *p)
{
	int host[N];
	for (int i = 0; i < N; i++)
		host[i] = i;
	CHECK_ERR(clEnqueueSVMMemcpy(t->queue, CL_TRUE, p, host, sizeof(host), 0, NULL, NULL),
		  CL_SUCCESS);
	CHECK_ERR(clSetKernelArgSVMPointer(k, 0, p), CL_SUCCESS);
	size_t global = N;
	CHECK_ERR(clEnqueueNDRangeKernel(t->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL),
		  CL_SUCCESS);
	CHECK_ERR(clEnqueueSVMMemcpy(t->queue, CL_TRUE, host, p, sizeof(host), 0, NULL, NULL),
		  CL_SUCCESS);
	bool ok = true;
	for (int i = 0; i < N; i++)
		ok &= host[i] == 2 * i + 1;
	CHECK(ok);
}

static void check_info(struct cltest *t, const void *ptr, cl_uint type, const void *base,
		       size_t size, cl_device_id dev, cl_svm_capabilities_khr caps)
{
	cl_uint index = 0;
	cl_svm_capabilities_khr got_caps = 1;
	void *got_base = (void *)1;
	size_t got_size = 1;
	cl_device_id got_dev = (cl_device_id)1;
	CHECK_ERR(pointer_info(t->context, NULL, ptr, CL_SVM_INFO_TYPE_INDEX_KHR, sizeof(index),
			       &index, NULL), CL_SUCCESS);
	CHECK(index == type);
	CHECK_ERR(pointer_info(t->context, NULL, ptr, CL_SVM_INFO_CAPABILITIES_KHR,
			       sizeof(got_caps), &got_caps, NULL), CL_SUCCESS);
	CHECK(got_caps == caps);
	CHECK_ERR(pointer_info(t->context, t->device, ptr, CL_SVM_INFO_CAPABILITIES_KHR,
			       sizeof(got_caps), &got_caps, NULL), CL_SUCCESS);
	CHECK(got_caps == caps);
	CHECK_ERR(pointer_info(t->context, NULL, ptr, CL_SVM_INFO_BASE_PTR_KHR, sizeof(got_base),
			       &got_base, NULL), CL_SUCCESS);
	CHECK(got_base == base);
	CHECK_ERR(pointer_info(t->context, NULL, ptr, CL_SVM_INFO_SIZE_KHR, sizeof(got_size),
			       &got_size, NULL), CL_SUCCESS);
	CHECK(got_size == size);
	CHECK_ERR(pointer_info(t->context, NULL, ptr, CL_SVM_INFO_ASSOCIATED_DEVICE_HANDLE_KHR,
			       sizeof(got_dev), &got_dev, NULL), CL_SUCCESS);
	CHECK(got_dev == dev);
}

static size_t properties_size(struct cltest *t, const void *ptr)
{
	size_t size = 99;
	CHECK_ERR(pointer_info(t->context, NULL, ptr, CL_SVM_INFO_PROPERTIES_KHR, 0, NULL, &size),
		  CL_SUCCESS);
	return size;
}

int main(int argc, char **argv)
{
	struct cltest t;
	cl_int err;
	cltest_mode(argc, argv);
	cltest_setup(&t);
	if (!with_layer) {
		check_absent(&t);
		cltest_teardown(&t);
		return cltest_done("icd.unified_svm");
	}

	CHECK(device_lists_extension(t.device));
	cl_version version = 0;
	CHECK(cltest_platform_lists(t.platform, "cl_khr_unified_svm", &version));
	CHECK(version == CL_MAKE_VERSION(0, 9, 0));
	svm_alloc = (clSVMAllocWithPropertiesKHR_fn)clGetExtensionFunctionAddressForPlatform(
		t.platform, "clSVMAllocWithPropertiesKHR");
	svm_free = (clSVMFreeWithPropertiesKHR_fn)clGetExtensionFunctionAddressForPlatform(
		t.platform, "clSVMFreeWithPropertiesKHR");
	pointer_info = (clGetSVMPointerInfoKHR_fn)clGetExtensionFunctionAddressForPlatform(
		t.platform, "clGetSVMPointerInfoKHR");
	suggest = (clGetSVMSuggestedTypeIndexKHR_fn)clGetExtensionFunctionAddressForPlatform(
		t.platform, "clGetSVMSuggestedTypeIndexKHR");
	REQUIRE(svm_alloc && svm_free && pointer_info && suggest);
	cl_svm_capabilities_khr caps[UNIMEM_CL_SVM_TYPES];
	check_type_queries(&t, caps);

	cl_program prog = cltest_build(&t, src);
	cl_kernel k = cltest_kernel(prog, "twice_plus_one");
	unimem_location_t dev_loc = UNIMEM_LOC_NONE;
	REQUIRE(clGetDeviceInfo(t.device, CL_DEVICE_UNIMEM_LOCATION, sizeof(dev_loc), &dev_loc,
				NULL) == CL_SUCCESS);
	unsigned cpu, node;
	REQUIRE(getcpu(&cpu, &node) == 0);

	/* Every type: allocated (with the device where the type needs one),
	 * used by a kernel, described by the pointer queries. */
	const cl_svm_alloc_properties_khr with_device[] = {
		CL_SVM_ALLOC_ASSOCIATED_DEVICE_HANDLE_KHR, (cl_svm_alloc_properties_khr)(uintptr_t)t.device,
		0
	};
	int *mem[UNIMEM_CL_SVM_TYPES];
	for (cl_uint type = 0; type < UNIMEM_CL_SVM_TYPES; type++) {
		bool tied = !(caps[type] & CL_SVM_CAPABILITY_DEVICE_UNASSOCIATED_KHR);
		mem[type] = alloc_type(&t, type, tied ? with_device : NULL, N * sizeof(int));
		if (!mem[type])
			continue;
		check_kernel_on(&t, k, mem[type]);
		check_info(&t, mem[type] + 10, type, mem[type], N * sizeof(int),
			   tied ? t.device : NULL, caps[type]);
		CHECK(properties_size(&t, mem[type]) ==
		      (tied ? sizeof(with_device) : 0)); /* NULL list: none */
	}

	/* Placement: device memory on the device's location, host memory on
	 * the calling thread's node (16-byte alignment: bound, not advised). */
	const cl_svm_alloc_properties_khr placed_on_device[] = {
		CL_SVM_ALLOC_ALIGNMENT_KHR, 16,
		CL_SVM_ALLOC_ACCESS_FLAGS_KHR, CL_SVM_ALLOC_ACCESS_HOST_NOREAD_KHR,
		CL_SVM_ALLOC_ASSOCIATED_DEVICE_HANDLE_KHR, (cl_svm_alloc_properties_khr)(uintptr_t)t.device,
		0
	};
	const cl_svm_alloc_properties_khr aligned16[] = { CL_SVM_ALLOC_ALIGNMENT_KHR, 16, 0 };
	struct unimem_ptr_info info;
	int *on_dev = alloc_type(&t, UNIMEM_CL_SVM_TYPE_DEVICE, placed_on_device, 4096);
	CHECK(on_dev && unimem_ptr_info(on_dev, &info) == 0 && info.requested == dev_loc);
	int *on_host = alloc_type(&t, UNIMEM_CL_SVM_TYPE_HOST, aligned16, 4096);
	CHECK(on_host && unimem_ptr_info(on_host, &info) == 0 &&
	      info.requested == UNIMEM_LOC_HOST(node));
	/* The properties come back as given, in order, with their terminator. */
	cl_svm_alloc_properties_khr got_props[8] = { 0 };
	size_t size = 0;
	CHECK_ERR(pointer_info(t.context, NULL, on_dev, CL_SVM_INFO_PROPERTIES_KHR,
			       sizeof(got_props), got_props, &size), CL_SUCCESS);
	CHECK(size == sizeof(placed_on_device) &&
	      memcmp(got_props, placed_on_device, sizeof(placed_on_device)) == 0);
	CHECK_ERR(pointer_info(t.context, NULL, on_dev, CL_SVM_INFO_PROPERTIES_KHR, 8, got_props,
			       NULL), CL_INVALID_VALUE); /* too small */
	cl_svm_alloc_access_flags_khr access = 0;
	CHECK_ERR(pointer_info(t.context, NULL, on_dev, CL_SVM_INFO_ACCESS_FLAGS_KHR,
			       sizeof(access), &access, NULL), CL_SUCCESS);
	CHECK(access == CL_SVM_ALLOC_ACCESS_HOST_NOREAD_KHR);
	const cl_svm_alloc_properties_khr empty[] = { 0 };
	int *empty_props = alloc_type(&t, UNIMEM_CL_SVM_TYPE_SYSTEM, empty, 64);
	CHECK(properties_size(&t, empty_props) == sizeof(cl_svm_alloc_properties_khr));

	/* Indirect access: a kernel reads host allocations through a table. */
	cl_kernel sum = cltest_kernel(prog, "sum_table");
	int **table = alloc_type(&t, UNIMEM_CL_SVM_TYPE_HOST, NULL, 3 * sizeof(int *));
	long *out = alloc_type(&t, UNIMEM_CL_SVM_TYPE_HOST, NULL, sizeof(long));
	for (int i = 0; i < 3; i++) {
		table[i] = alloc_type(&t, UNIMEM_CL_SVM_TYPE_HOST, NULL, sizeof(int));
		*table[i] = 100 + i;
	}
	cl_bool yes = CL_TRUE;
	CHECK_ERR(clSetKernelExecInfo(sum, CL_KERNEL_EXEC_INFO_SVM_INDIRECT_ACCESS_KHR,
				      sizeof(yes), &yes), CL_SUCCESS);
	CHECK_ERR(clSetKernelExecInfo(sum, CL_KERNEL_EXEC_INFO_SVM_INDIRECT_ACCESS_KHR, 1, &yes),
		  CL_INVALID_VALUE);
	int count = 3;
	CHECK_ERR(clSetKernelArgSVMPointer(sum, 0, table), CL_SUCCESS);
	CHECK_ERR(clSetKernelArg(sum, 1, sizeof(count), &count), CL_SUCCESS);
	CHECK_ERR(clSetKernelArgSVMPointer(sum, 2, out), CL_SUCCESS);
	size_t one = 1;
	CHECK_ERR(clEnqueueNDRangeKernel(t.queue, sum, 1, NULL, &one, NULL, 0, NULL, NULL),
		  CL_SUCCESS);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	CHECK(*out == 303);

	/* Pointers from elsewhere: clSVMAlloc, USM, malloc. */
	void *coarse = clSVMAlloc(t.context, CL_MEM_READ_WRITE, 256, 0);
	void *fine = clSVMAlloc(t.context, CL_MEM_READ_WRITE | CL_MEM_SVM_FINE_GRAIN_BUFFER, 256,
				0);
	REQUIRE(coarse && fine);
	check_info(&t, coarse, UNIMEM_CL_SVM_TYPE_COARSE_GRAIN_BUFFER, coarse, 256, NULL,
		   caps[UNIMEM_CL_SVM_TYPE_COARSE_GRAIN_BUFFER]);
	check_info(&t, fine, UNIMEM_CL_SVM_TYPE_FINE_GRAIN_BUFFER, fine, 256, NULL,
		   caps[UNIMEM_CL_SVM_TYPE_FINE_GRAIN_BUFFER]);
	CHECK(properties_size(&t, coarse) == 0);
	clHostMemAllocINTEL_fn host_alloc = (clHostMemAllocINTEL_fn)
		clGetExtensionFunctionAddressForPlatform(t.platform, "clHostMemAllocINTEL");
	REQUIRE(host_alloc);
	void *usm_host = host_alloc(t.context, NULL, 128, 0, &err);
	REQUIRE(usm_host);
	check_info(&t, usm_host, UNIMEM_CL_SVM_TYPE_HOST, usm_host, 128, NULL,
		   caps[UNIMEM_CL_SVM_TYPE_HOST]);
	int *heap = malloc(64);
	REQUIRE(heap);
	check_info(&t, heap, CL_UINT_MAX, NULL, 0, NULL, 0);
	CHECK(properties_size(&t, heap) == 0);

	/* Suggested types. */
	cl_uint index = 7;
	CHECK_ERR(suggest(t.context, CL_SVM_CAPABILITY_SYSTEM_ALLOCATED_KHR, 0, NULL, 0, &index),
		  CL_SUCCESS);
	CHECK(index == UNIMEM_CL_SVM_TYPE_SYSTEM);
	CHECK_ERR(suggest(t.context, CL_SVM_CAPABILITY_HOST_OWNED_KHR, 0, NULL, 0, &index),
		  CL_SUCCESS);
	CHECK(index == UNIMEM_CL_SVM_TYPE_HOST);
	CHECK_ERR(suggest(t.context, CL_SVM_CAPABILITY_DEVICE_OWNED_KHR, 0, NULL, 4096, &index),
		  CL_SUCCESS);
	CHECK(index == CL_UINT_MAX); /* a device type needs its device named */
	CHECK_ERR(suggest(t.context, CL_SVM_CAPABILITY_DEVICE_OWNED_KHR, 0, with_device, 4096,
			  &index), CL_SUCCESS);
	CHECK(index == UNIMEM_CL_SVM_TYPE_DEVICE);
	for (cl_uint type = 0; type < UNIMEM_CL_SVM_TYPES; type++) {
		CHECK_ERR(suggest(t.context, macros[type], 0, with_device, 0, &index), CL_SUCCESS);
		CHECK(index < UNIMEM_CL_SVM_TYPES && (caps[index] & macros[type]) == macros[type]);
	}
	CHECK_ERR(suggest(t.context, CL_SVM_TYPE_MACRO_COARSE_GRAIN_BUFFER_KHR, 0, NULL, 0,
			  &index), CL_SUCCESS);
	CHECK(index == UNIMEM_CL_SVM_TYPE_COARSE_GRAIN_BUFFER); /* the closest fit */
	CHECK_ERR(suggest(t.context,
			  CL_SVM_CAPABILITY_DEVICE_OWNED_KHR | CL_SVM_CAPABILITY_HOST_OWNED_KHR, 0,
			  with_device, 0, &index), CL_SUCCESS);
	CHECK(index == CL_UINT_MAX);
	CHECK_ERR(suggest(t.context, 0, 0, NULL, 0, NULL), CL_INVALID_VALUE);
	CHECK_ERR(suggest(NULL, 0, 0, NULL, 0, &index), CL_INVALID_CONTEXT);

	/* Copies and fills of nothing may name NULL (size 0). */
	cl_event ev;
	int pattern = 0;
	CHECK_ERR(clEnqueueSVMMemcpy(t.queue, CL_TRUE, NULL, NULL, 0, 0, NULL, &ev), CL_SUCCESS);
	cl_command_type type_of_ev = 0;
	CHECK_ERR(clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof(type_of_ev), &type_of_ev,
				 NULL), CL_SUCCESS);
	CHECK(type_of_ev == CL_COMMAND_SVM_MEMCPY);
	clReleaseEvent(ev);
	CHECK_ERR(clEnqueueSVMMemFill(t.queue, NULL, &pattern, sizeof(pattern), 0, 0, NULL, NULL),
		  CL_SUCCESS);
	CHECK_ERR(clEnqueueSVMMemFill(t.queue, NULL, &pattern, sizeof(pattern), 64, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueSVMMemFill(t.queue, NULL, &pattern, 3, 0, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);

	/* Errors, as the spec lists them. */
	const cl_svm_alloc_properties_khr unknown[] = { 0x9999, 1, 0 };
	const cl_svm_alloc_properties_khr twice[] = { CL_SVM_ALLOC_ALIGNMENT_KHR, 16,
						      CL_SVM_ALLOC_ALIGNMENT_KHR, 16, 0 };
	const cl_svm_alloc_properties_khr bad_access[] = { CL_SVM_ALLOC_ACCESS_FLAGS_KHR, 1 << 4,
							   0 };
	const cl_svm_alloc_properties_khr bad_align[] = { CL_SVM_ALLOC_ALIGNMENT_KHR, 3, 0 };
	const cl_svm_alloc_properties_khr big_align[] = { CL_SVM_ALLOC_ALIGNMENT_KHR, 256, 0 };
	const cl_svm_alloc_properties_khr bad_device[] = {
		CL_SVM_ALLOC_ASSOCIATED_DEVICE_HANDLE_KHR, (cl_svm_alloc_properties_khr)(uintptr_t)&err,
		0
	};
	const cl_svm_alloc_properties_khr *bad_lists[] = { unknown, twice, bad_access, bad_align,
							   big_align, bad_device };
	for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
		err = 0;
		CHECK(svm_alloc(t.context, bad_lists[i], 0, 64, &err) == NULL);
		CHECK_ERR(err, CL_INVALID_PROPERTY);
		CHECK_ERR(suggest(t.context, 0, 0, bad_lists[i], 0, &index), CL_INVALID_PROPERTY);
	}
	err = 0;
	CHECK(svm_alloc(t.context, NULL, UNIMEM_CL_SVM_TYPES, 64, &err) == NULL);
	CHECK_ERR(err, CL_INVALID_VALUE);
	err = 0;
	CHECK(svm_alloc(t.context, NULL, UNIMEM_CL_SVM_TYPE_DEVICE, 64, &err) == NULL);
	CHECK_ERR(err, CL_INVALID_OPERATION); /* no device named for a device type */
	err = 0;
	CHECK(svm_alloc(NULL, NULL, 0, 64, &err) == NULL);
	CHECK_ERR(err, CL_INVALID_CONTEXT);
	err = 1;
	CHECK(svm_alloc(t.context, NULL, 0, 0, &err) == NULL);
	CHECK_ERR(err, CL_SUCCESS); /* size 0: no allocation, no error */
	void *no_err = svm_alloc(t.context, NULL, 0, 64, NULL); /* errcode_ret may be NULL */
	CHECK(no_err && svm_free(t.context, NULL, 0, no_err) == CL_SUCCESS);

	cl_device_id subs[64];
	cl_uint made = 0;
	const cl_device_partition_property equally[] = { CL_DEVICE_PARTITION_EQUALLY, 1, 0 };
	REQUIRE(clCreateSubDevices(t.device, equally, 64, subs, &made) == CL_SUCCESS && made);
	CHECK_ERR(pointer_info(t.context, subs[0], on_dev, CL_SVM_INFO_SIZE_KHR, sizeof(size),
			       &size, NULL), CL_INVALID_DEVICE); /* not of the context */
	for (cl_uint i = 0; i < made; i++)
		clReleaseDevice(subs[i]);
	CHECK_ERR(pointer_info(NULL, NULL, on_dev, CL_SVM_INFO_SIZE_KHR, sizeof(size), &size,
			       NULL), CL_INVALID_CONTEXT);
	CHECK_ERR(pointer_info(t.context, NULL, on_dev, 0x1234, sizeof(size), &size, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(pointer_info(t.context, NULL, on_dev, CL_SVM_INFO_SIZE_KHR, 1, &size, NULL),
		  CL_INVALID_VALUE);

	const cl_svm_free_properties_khr free_props[] = { 0x9999, 1, 0 };
	CHECK_ERR(svm_free(t.context, free_props, 0, on_dev), CL_INVALID_PROPERTY);
	CHECK_ERR(svm_free(t.context, NULL, 1, on_dev), CL_INVALID_VALUE);
	CHECK_ERR(svm_free(t.context, NULL, 0, on_dev + 1), CL_INVALID_VALUE); /* not its start */
	CHECK_ERR(svm_free(t.context, NULL, 0, heap), CL_INVALID_VALUE);
	CHECK_ERR(svm_free(NULL, NULL, 0, on_dev), CL_INVALID_CONTEXT);
	CHECK_ERR(svm_free(t.context, NULL, 0, NULL), CL_SUCCESS);

	/* Frees, of every kind of allocation the layer made. */
	CHECK_ERR(svm_free(t.context, NULL, 0, on_dev), CL_SUCCESS);
	CHECK_ERR(svm_free(t.context, NULL, 0, on_dev), CL_INVALID_VALUE); /* freed */
	CHECK_ERR(svm_free(t.context, empty, 0, on_host), CL_SUCCESS);
	CHECK_ERR(svm_free(t.context, NULL, 0, empty_props), CL_SUCCESS);
	for (int i = 0; i < 3; i++)
		CHECK_ERR(svm_free(t.context, NULL, 0, table[i]), CL_SUCCESS);
	CHECK_ERR(svm_free(t.context, NULL, 0, table), CL_SUCCESS);
	CHECK_ERR(svm_free(t.context, NULL, 0, out), CL_SUCCESS);
	for (cl_uint type = 0; type < UNIMEM_CL_SVM_TYPES; type++)
		CHECK_ERR(svm_free(t.context, NULL, 0, mem[type]), CL_SUCCESS);
	CHECK_ERR(svm_free(t.context, NULL, 0, coarse), CL_SUCCESS);
	clSVMFree(t.context, fine);
	CHECK_ERR(svm_free(t.context, NULL, 0, usm_host), CL_SUCCESS);
	free(heap);

	clReleaseKernel(sum);
	clReleaseKernel(k);
	clReleaseProgram(prog);
	cltest_teardown(&t);
	return cltest_done("icd.unified_svm");
}
