/* SPDX-License-Identifier: MIT */
/*
 * icd.svm_ops: the queued SVM commands on clSVMAlloc'd memory: migrate
 * (to the device and to the host, observed through unimem with the
 * layer), memcpy, fill, map and unmap around a kernel, and both forms of
 * clEnqueueSVMFree. Values are read back after each step.
 */
#include "cltest.h"
#include "unimem.h"

#include <sched.h>

#define N 4096

static const char *src =
	"__kernel void scale(__global int *p, int k) {\n"
	"  size_t i = get_global_id(0); p[i] = p[i] * k + 1;\n"
	"}\n";

static int free_callback_calls;
static void *freed_ptrs[2];

static void CL_CALLBACK on_free(cl_command_queue q, cl_uint n, void *ptrs[], void *data)
{
	struct cltest *t = data;
	free_callback_calls++;
	for (cl_uint i = 0; i < n && i < 2; i++) {
		freed_ptrs[i] = ptrs[i];
		clSVMFree(t->context, ptrs[i]);
	}
}

static void run_scale(struct cltest *t, cl_kernel k, int *buf, int factor)
{
	void *used[1] = { buf };
	CHECK_ERR(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_PTRS, sizeof(used), used),
		  CL_SUCCESS);
	CHECK_ERR(clSetKernelArgSVMPointer(k, 0, buf), CL_SUCCESS);
	CHECK_ERR(clSetKernelArg(k, 1, sizeof(factor), &factor), CL_SUCCESS);
	size_t global = N;
	CHECK_ERR(clEnqueueNDRangeKernel(t->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL),
		  CL_SUCCESS);
}

static unimem_location_t last_prefetch(const void *p, size_t size)
{
	unimem_location_t loc = UNIMEM_LOC_NONE;
	if (unimem_range_get_attr(p, size, UNIMEM_ATTR_LAST_PREFETCH_LOCATION, &loc,
				  sizeof(loc)) != 0)
		return UNIMEM_LOC_MIXED;
	return loc;
}

int main(int argc, char **argv)
{
	struct cltest t;
	cltest_mode(argc, argv);
	cltest_setup(&t);
	cl_program p = cltest_build(&t, src);
	cl_kernel k = cltest_kernel(p, "scale");

	int *a = clSVMAlloc(t.context, CL_MEM_READ_WRITE, N * sizeof(int), 0);
	int *b = clSVMAlloc(t.context, CL_MEM_READ_WRITE | CL_MEM_SVM_FINE_GRAIN_BUFFER,
			    N * sizeof(int), 64);
	REQUIRE(a && b);
	CHECK(((uintptr_t)b & 63) == 0);

	/* Map for writing, fill from the host, unmap, kernel, map to read. */
	CHECK_ERR(clEnqueueSVMMap(t.queue, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, a,
				  N * sizeof(int), 0, NULL, NULL), CL_SUCCESS);
	for (int i = 0; i < N; i++)
		a[i] = i;
	CHECK_ERR(clEnqueueSVMUnmap(t.queue, a, 0, NULL, NULL), CL_SUCCESS);
	run_scale(&t, k, a, 3);
	CHECK_ERR(clEnqueueSVMMap(t.queue, CL_TRUE, CL_MAP_READ, a, N * sizeof(int), 0,
				  NULL, NULL), CL_SUCCESS);
	bool ok = true;
	for (int i = 0; i < N; i++)
		ok &= a[i] == i * 3 + 1;
	CHECK(ok);
	CHECK_ERR(clEnqueueSVMUnmap(t.queue, a, 0, NULL, NULL), CL_SUCCESS);

	/* Migrate to the device, in order after the kernel and before it. */
	cl_event ev;
	const void *ptrs[2] = { a, b + 16 };
	size_t sizes[2] = { 0, 64 * sizeof(int) };
	CHECK_ERR(clEnqueueSVMMigrateMem(t.queue, 2, ptrs, sizes, 0, 0, NULL, &ev),
		  CL_SUCCESS);
	run_scale(&t, k, a, 2);
	CHECK_ERR(clWaitForEvents(1, &ev), CL_SUCCESS);
	cl_command_type type = 0;
	CHECK_ERR(clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof(type), &type, NULL),
		  CL_SUCCESS);
	CHECK(type == CL_COMMAND_SVM_MIGRATE_MEM);
	clReleaseEvent(ev);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	if (with_layer) {
		unimem_location_t dev_loc = UNIMEM_LOC_NONE;
		CHECK_ERR(clGetDeviceInfo(t.device, CL_DEVICE_UNIMEM_LOCATION, sizeof(dev_loc),
					  &dev_loc, NULL), CL_SUCCESS);
		CHECK(UNIMEM_LOC_KIND(dev_loc) == UNIMEM_LOC_KIND_HOST ||
		      UNIMEM_LOC_KIND(dev_loc) == UNIMEM_LOC_KIND_DEVICE);
		CHECK(last_prefetch(a, N * sizeof(int)) == dev_loc);
		CHECK(last_prefetch(b + 16, 64 * sizeof(int)) == dev_loc);

		/* To the host: the node of the CPU this thread runs on. */
		CHECK_ERR(clEnqueueSVMMigrateMem(t.queue, 1, ptrs, NULL,
						 CL_MIGRATE_MEM_OBJECT_HOST, 0, NULL, NULL),
			  CL_SUCCESS);
		CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
		unsigned cpu, node;
		REQUIRE(getcpu(&cpu, &node) == 0);
		CHECK(last_prefetch(a, N * sizeof(int)) == UNIMEM_LOC_HOST(node));

		/* Content-undefined may drop the contents (unimem then skips the
		 * copy): only where the range went is defined. */
		int *scratch = clSVMAlloc(t.context, CL_MEM_READ_WRITE, N * sizeof(int), 0);
		REQUIRE(scratch);
		memset(scratch, 0x5a, N * sizeof(int));
		const void *scratch_ptr = scratch;
		CHECK_ERR(clEnqueueSVMMigrateMem(t.queue, 1, &scratch_ptr, NULL,
						 CL_MIGRATE_MEM_OBJECT_HOST |
						 CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED,
						 0, NULL, NULL), CL_SUCCESS);
		CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
		CHECK(last_prefetch(scratch, N * sizeof(int)) == UNIMEM_LOC_HOST(node));
		clSVMFree(t.context, scratch);

		/* The migration waits for its wait list without blocking us. */
		cl_int err;
		cl_event gate = clCreateUserEvent(t.context, &err);
		REQUIRE(err == CL_SUCCESS);
		CHECK_ERR(clEnqueueSVMMigrateMem(t.queue, 1, ptrs, NULL, 0, 1, &gate, &ev),
			  CL_SUCCESS);
		CHECK(last_prefetch(a, N * sizeof(int)) == UNIMEM_LOC_HOST(node));
		cl_int status = CL_COMPLETE;
		CHECK_ERR(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status),
					 &status, NULL), CL_SUCCESS);
		CHECK(status != CL_COMPLETE);
		CHECK_ERR(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
		CHECK_ERR(clWaitForEvents(1, &ev), CL_SUCCESS);
		CHECK(last_prefetch(a, N * sizeof(int)) == dev_loc);
		clReleaseEvent(ev);
		clReleaseEvent(gate);
	} else {
		CHECK_ERR(clGetDeviceInfo(t.device, CL_DEVICE_UNIMEM_LOCATION, sizeof(cl_uint),
					  &(cl_uint){ 0 }, NULL), CL_INVALID_VALUE);
	}
	ok = true;
	for (int i = 0; i < N; i++)
		ok &= a[i] == (i * 3 + 1) * 2 + 1;
	CHECK(ok);

	/* memcpy a -> b, fill the first half of a, copy back the rest. */
	CHECK_ERR(clEnqueueSVMMemcpy(t.queue, CL_FALSE, b, a, N * sizeof(int), 0, NULL, &ev),
		  CL_SUCCESS);
	int pattern[4] = { 7, 8, 9, 10 };
	CHECK_ERR(clEnqueueSVMMemFill(t.queue, a, pattern, sizeof(pattern),
				      N / 2 * sizeof(int), 1, &ev, NULL), CL_SUCCESS);
	clReleaseEvent(ev);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	ok = true;
	for (int i = 0; i < N; i++) {
		ok &= b[i] == (i * 3 + 1) * 2 + 1;
		ok &= a[i] == (i < N / 2 ? pattern[i % 4] : (i * 3 + 1) * 2 + 1);
	}
	CHECK(ok);
	int word = 0;
	CHECK_ERR(clEnqueueSVMMemcpy(t.queue, CL_TRUE, &word, b + 5, sizeof(int), 0, NULL,
				     NULL), CL_SUCCESS);
	CHECK(word == 33);

	/* Enqueued free with the application's callback, then without. */
	void *both[2] = { a, b };
	CHECK_ERR(clEnqueueSVMFree(t.queue, 2, both, on_free, &t, 0, NULL, NULL), CL_SUCCESS);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	CHECK(free_callback_calls == 1);
	CHECK(freed_ptrs[0] == a && freed_ptrs[1] == b);

	void *c = clSVMAlloc(t.context, CL_MEM_READ_WRITE, 1 << 20, 0);
	REQUIRE(c);
	CHECK_ERR(clEnqueueSVMFree(t.queue, 1, &c, NULL, NULL, 0, NULL, NULL), CL_SUCCESS);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	if (with_layer) {
		/* Freed through unimem: the layer no longer knows it. */
		clGetMemAllocInfoINTEL_fn info = (clGetMemAllocInfoINTEL_fn)
			clGetExtensionFunctionAddressForPlatform(t.platform,
								 "clGetMemAllocInfoINTEL");
		REQUIRE(info);
		cl_unified_shared_memory_type_intel mt = 0;
		CHECK_ERR(info(t.context, c, CL_MEM_ALLOC_TYPE_INTEL, sizeof(mt), &mt, NULL),
			  CL_SUCCESS);
		CHECK(mt == CL_MEM_TYPE_UNKNOWN_INTEL);
	}

	clReleaseKernel(k);
	clReleaseProgram(p);
	cltest_teardown(&t);
	return cltest_done("icd.svm_ops");
}
