/* SPDX-License-Identifier: MIT */
/*
 * icd.errors: the error cases return what the OpenCL and USM specs say,
 * and none crashes. Without the layer, the SVM cases PoCL 3.1 itself
 * handles are checked to be unchanged.
 */
#include "cltest.h"


#define GET(name) \
	name##_fn name = (name##_fn)clGetExtensionFunctionAddressForPlatform(t.platform, #name)

static void svm_errors(struct cltest *t)
{
	cl_context c = t->context;
	const cl_svm_mem_flags rw = CL_MEM_READ_WRITE;
	/* Cases plain PoCL handles the same way. */
	CHECK(clSVMAlloc(c, rw, 0, 0) == NULL);
	CHECK(clSVMAlloc(c, rw, 64, 3) == NULL);             /* not a power of 2 */
	CHECK(clSVMAlloc(c, rw, 64, 256) == NULL);           /* beyond long16 */
	CHECK(clSVMAlloc(c, CL_MEM_READ_WRITE | CL_MEM_READ_ONLY, 64, 0) == NULL);
	CHECK(clSVMAlloc(c, CL_MEM_SVM_ATOMICS, 64, 0) == NULL); /* needs fine grain */
	CHECK(clSVMAlloc(NULL, rw, 64, 0) == NULL);
	CHECK(clSVMAlloc(c, rw, (size_t)1 << 62, 0) == NULL); /* > max alloc */
	clSVMFree(c, NULL); /* no-op */

	int x[4] = { 0 };
	const void *ptrs[1] = { x };
	CHECK_ERR(clEnqueueSVMMigrateMem(t->queue, 0, NULL, NULL, 0, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueSVMMigrateMem(t->queue, 1, ptrs, NULL, 1 << 5, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	void *free_list[1] = { x };
	CHECK_ERR(clEnqueueSVMFree(t->queue, 0, free_list, NULL, NULL, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueSVMMemcpy(t->queue, CL_TRUE, x, (char *)x + 1, 4, 0, NULL, NULL),
		  CL_MEM_COPY_OVERLAP);
	CHECK_ERR(clEnqueueSVMMemcpy(t->queue, CL_TRUE, NULL, x, 4, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueSVMMemFill(t->queue, x, x, 3, 3, 0, NULL, NULL), CL_INVALID_VALUE);
	if (!with_layer)
		return;

	/* Cases only the layer checks (PoCL 3.1 accepts unknown flag bits). */
	CHECK(clSVMAlloc(c, (cl_svm_mem_flags)1 << 40, 64, 0) == NULL);
	/* cl_khr_unified_svm: a NULL pointer is ignored when its size is 0,
	 * an error otherwise. */
	const void *null_ptr[1] = { NULL };
	size_t some[1] = { 64 };
	CHECK_ERR(clEnqueueSVMMigrateMem(t->queue, 1, null_ptr, NULL, 0, 0, NULL, NULL),
		  CL_SUCCESS);
	CHECK_ERR(clEnqueueSVMMigrateMem(t->queue, 1, null_ptr, some, 0, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	int *svm = clSVMAlloc(c, rw, 256, 0);
	REQUIRE(svm);
	const void *svm_ptrs[1] = { svm + 32 };
	size_t too_big[1] = { 256 };
	CHECK_ERR(clEnqueueSVMMigrateMem(t->queue, 1, svm_ptrs, too_big, 0, 0, NULL, NULL),
		  CL_INVALID_VALUE); /* runs past the allocation */
	size_t fits[1] = { 128 };
	CHECK_ERR(clEnqueueSVMMigrateMem(t->queue, 1, svm_ptrs, fits, 0, 0, NULL, NULL),
		  CL_SUCCESS);
	/* Size 0 on memory with no allocation we can see. */
	CHECK_ERR(clEnqueueSVMMigrateMem(t->queue, 1, ptrs, NULL, 0, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	/* Unmapped memory. Not a range this test unmaps: another thread (the
	 * platform's, the sanitizer's) may map it again before the call. No
	 * one maps the page at 16 KiB: it is below vm.mmap_min_addr. */
	const void *gone_ptrs[1] = { (const void *)(uintptr_t)0x4000 };
	size_t page[1] = { 4096 };
	CHECK_ERR(clEnqueueSVMMigrateMem(t->queue, 1, gone_ptrs, page, 0, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	cl_event none = NULL;
	CHECK_ERR(clEnqueueSVMMigrateMem(t->queue, 1, svm_ptrs, fits, 0, 1, NULL, NULL),
		  CL_INVALID_EVENT_WAIT_LIST);
	CHECK_ERR(clEnqueueSVMMigrateMem(t->queue, 1, svm_ptrs, fits, 0, 1, &none, NULL),
		  CL_INVALID_EVENT_WAIT_LIST);
	CHECK_ERR(clEnqueueSVMMigrateMem(NULL, 1, svm_ptrs, fits, 0, 0, NULL, NULL),
		  CL_INVALID_COMMAND_QUEUE);
	CHECK_ERR(clFinish(t->queue), CL_SUCCESS);

	/* Exec info. */
	cl_int err;
	cl_program p = cltest_build(t, "__kernel void k(__global int *p) { p[0] = 1; }");
	cl_kernel k = clCreateKernel(p, "k", &err);
	REQUIRE(err == CL_SUCCESS);
	cl_bool yes = CL_TRUE;
	CHECK_ERR(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM, 1, &yes),
		  CL_INVALID_VALUE);
	CHECK_ERR(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM,
				      sizeof(yes), NULL), CL_INVALID_VALUE);
	CHECK_ERR(clSetKernelExecInfo(NULL, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM,
				      sizeof(yes), &yes), CL_INVALID_KERNEL);
	CHECK_ERR(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_USM_PTRS_INTEL, 3, svm_ptrs),
		  CL_INVALID_VALUE);
	clReleaseKernel(k);
	clReleaseProgram(p);
	clSVMFree(c, svm);
	clSVMFree(c, svm); /* double free: ignored, no crash */
}

static void usm_errors(struct cltest *t_)
{
	struct cltest t = *t_;
	cl_int err = 0;
	GET(clHostMemAllocINTEL);
	GET(clDeviceMemAllocINTEL);
	GET(clSharedMemAllocINTEL);
	GET(clMemFreeINTEL);
	GET(clGetMemAllocInfoINTEL);
	GET(clEnqueueMemFillINTEL);
	GET(clEnqueueMemcpyINTEL);
	GET(clEnqueueMigrateMemINTEL);
	GET(clEnqueueMemAdviseINTEL);
	if (!with_layer) {
		CHECK(!clHostMemAllocINTEL);
		return;
	}
	REQUIRE(clHostMemAllocINTEL && clDeviceMemAllocINTEL && clSharedMemAllocINTEL &&
		clMemFreeINTEL && clGetMemAllocInfoINTEL && clEnqueueMemFillINTEL &&
		clEnqueueMemcpyINTEL && clEnqueueMigrateMemINTEL && clEnqueueMemAdviseINTEL);
	cl_context c = t.context;

	CHECK(!clHostMemAllocINTEL(NULL, NULL, 64, 0, &err) && err == CL_INVALID_CONTEXT);
	CHECK(!clHostMemAllocINTEL(c, NULL, 0, 0, &err) && err == CL_INVALID_BUFFER_SIZE);
	CHECK(!clHostMemAllocINTEL(c, NULL, (size_t)1 << 62, 0, &err) &&
	      err == CL_INVALID_BUFFER_SIZE);
	CHECK(!clHostMemAllocINTEL(c, NULL, 64, 3, &err) && err == CL_INVALID_VALUE);
	CHECK(!clDeviceMemAllocINTEL(c, NULL, NULL, 64, 0, &err) && err == CL_INVALID_DEVICE);
	CHECK(!clDeviceMemAllocINTEL(c, (cl_device_id)t.queue, NULL, 64, 0, &err) &&
	      err == CL_INVALID_DEVICE); /* not a device of the context */
	cl_mem_properties_intel bad_prop[] = { 0x1234, 0, 0 };
	CHECK(!clSharedMemAllocINTEL(c, t.device, bad_prop, 64, 0, &err) &&
	      err == CL_INVALID_PROPERTY);
	cl_mem_properties_intel bad_flags[] = { CL_MEM_ALLOC_FLAGS_INTEL, 1 << 20, 0 };
	CHECK(!clSharedMemAllocINTEL(c, t.device, bad_flags, 64, 0, &err) &&
	      err == CL_INVALID_PROPERTY);
	cl_mem_properties_intel both[] = { CL_MEM_ALLOC_FLAGS_INTEL,
					   CL_MEM_ALLOC_INITIAL_PLACEMENT_DEVICE_INTEL |
					   CL_MEM_ALLOC_INITIAL_PLACEMENT_HOST_INTEL, 0 };
	CHECK(!clSharedMemAllocINTEL(c, t.device, both, 64, 0, &err) &&
	      err == CL_INVALID_PROPERTY);
	void *no_errcode = clHostMemAllocINTEL(c, NULL, 64, 0, NULL);
	CHECK(no_errcode);
	CHECK_ERR(clMemFreeINTEL(c, no_errcode), CL_SUCCESS);

	int *buf = clSharedMemAllocINTEL(c, t.device, NULL, 256, 0, &err);
	REQUIRE(buf && err == CL_SUCCESS);
	CHECK_ERR(clMemFreeINTEL(NULL, buf), CL_INVALID_CONTEXT);
	CHECK_ERR(clMemFreeINTEL(c, buf + 1), CL_INVALID_VALUE); /* not the start */

	cl_uint small;
	CHECK_ERR(clGetMemAllocInfoINTEL(c, buf, 0x1234, sizeof(small), &small, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(clGetMemAllocInfoINTEL(c, buf, CL_MEM_ALLOC_SIZE_INTEL, 1, &small, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(clGetMemAllocInfoINTEL(NULL, buf, CL_MEM_ALLOC_SIZE_INTEL, 8, &small, NULL),
		  CL_INVALID_CONTEXT);

	int pat = 1;
	cl_command_queue q = t.queue;
	CHECK_ERR(clEnqueueMemFillINTEL(q, buf, &pat, 3, 12, 0, NULL, NULL), CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMemFillINTEL(q, buf, &pat, 4, 10, 0, NULL, NULL), CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMemFillINTEL(q, (char *)buf + 1, &pat, 4, 8, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMemFillINTEL(q, buf, NULL, 4, 8, 0, NULL, NULL), CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMemFillINTEL(NULL, buf, &pat, 4, 8, 0, NULL, NULL),
		  CL_INVALID_COMMAND_QUEUE);
	CHECK_ERR(clEnqueueMemcpyINTEL(q, CL_TRUE, buf, buf + 1, 16, 0, NULL, NULL),
		  CL_MEM_COPY_OVERLAP);
	CHECK_ERR(clEnqueueMemcpyINTEL(q, CL_TRUE, NULL, buf, 16, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMemcpyINTEL(q, CL_TRUE, buf, buf + 16, 16, 1, NULL, NULL),
		  CL_INVALID_EVENT_WAIT_LIST);
	CHECK_ERR(clEnqueueMigrateMemINTEL(q, buf, 256, 1 << 7, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMigrateMemINTEL(q, NULL, 256, 0, 0, NULL, NULL), CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMigrateMemINTEL(q, buf, 4096, 0, 0, NULL, NULL), CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMemAdviseINTEL(q, buf, 256, 0x1234, 0, NULL, NULL),
		  CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMemAdviseINTEL(q, buf, 0, CL_MEM_ADVICE_SET_READ_MOSTLY_UNIMEM, 0,
					  NULL, NULL), CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMemAdviseINTEL(q, NULL, 64, CL_MEM_ADVICE_SET_READ_MOSTLY_UNIMEM, 0,
					  NULL, NULL), CL_INVALID_VALUE);
	CHECK_ERR(clEnqueueMemAdviseINTEL(q, buf, 4096, CL_MEM_ADVICE_SET_READ_MOSTLY_UNIMEM,
					  0, NULL, NULL), CL_INVALID_VALUE);
	CHECK_ERR(clFinish(q), CL_SUCCESS);
	CHECK_ERR(clMemFreeINTEL(c, buf), CL_SUCCESS);
	CHECK_ERR(clMemFreeINTEL(c, buf), CL_INVALID_VALUE); /* double free */
}

int main(int argc, char **argv)
{
	struct cltest t;
	cltest_mode(argc, argv);
	cltest_setup(&t);
	svm_errors(&t);
	usm_errors(&t);
	cltest_teardown(&t);
	return cltest_done("icd.errors");
}
