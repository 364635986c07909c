/* SPDX-License-Identifier: MIT */
/*
 * icd.svm_buffers: buffers created with CL_MEM_USE_HOST_PTR on SVM
 * pointers, as the OpenCL spec has them: such a buffer reports
 * CL_MEM_USES_SVM_POINTER (and so do its sub-buffers), uses the SVM memory
 * as its storage (a kernel's writes through the buffer are read back
 * through the pointer), and a size running past the SVM allocation is
 * CL_INVALID_BUFFER_SIZE, with clCreateBuffer and
 * clCreateBufferWithProperties. A pointer of another context's allocation
 * or of malloc is not this context's SVM pointer. Plain PoCL does this for
 * its own clSVMAlloc; the layer must for its allocations, which the driver
 * never sees (with it, also for pointers inside an allocation).
 */
#include "cltest.h"

#define N 4096

static const char *src =
	"__kernel void scale(__global int *p) {\n"
	"  size_t i = get_global_id(0); p[i] = p[i] * 2 + 1;\n"
	"}\n";

static cl_bool uses_svm_pointer(cl_mem m)
{
	cl_bool v = 2;
	size_t size = 0;
	CHECK_ERR(clGetMemObjectInfo(m, CL_MEM_USES_SVM_POINTER, sizeof(v), &v, &size),
		  CL_SUCCESS);
	CHECK(size == sizeof(v));
	return v;
}

/* clCreateBuffer, or clCreateBufferWithProperties when @with_props. */
static cl_mem make_buffer(struct cltest *t, bool with_props, size_t size, void *host,
			  cl_int *err)
{
	const cl_mem_properties none[] = { 0 };
	if (with_props)
		return clCreateBufferWithProperties(t->context, none,
						    CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, size,
						    host, err);
	return clCreateBuffer(t->context, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, size, host,
			      err);
}

static void check_size_limits(struct cltest *t, int *svm, bool with_props)
{
	cl_int err;
	cl_mem m = make_buffer(t, with_props, N * sizeof(int), svm, &err);
	CHECK_ERR(err, CL_SUCCESS);
	CHECK(m && uses_svm_pointer(m) == CL_TRUE);
	if (m)
		clReleaseMemObject(m);
	m = make_buffer(t, with_props, N * sizeof(int) + 1, svm, &err);
	CHECK_ERR(err, CL_INVALID_BUFFER_SIZE);
	CHECK(m == NULL);
	if (!with_layer)
		return;
	/* From the middle: up to the allocation's end, not one byte past. */
	m = make_buffer(t, with_props, N / 2 * sizeof(int), svm + N / 2, &err);
	CHECK_ERR(err, CL_SUCCESS);
	CHECK(m && uses_svm_pointer(m) == CL_TRUE);
	if (m)
		clReleaseMemObject(m);
	m = make_buffer(t, with_props, N / 2 * sizeof(int) + 4, svm + N / 2, &err);
	CHECK_ERR(err, CL_INVALID_BUFFER_SIZE);
	CHECK(m == NULL);
}

int main(int argc, char **argv)
{
	struct cltest t;
	cl_int err;
	cltest_mode(argc, argv);
	cltest_setup(&t);
	cl_program p = cltest_build(&t, src);
	cl_kernel k = cltest_kernel(p, "scale");

	int *svm = clSVMAlloc(t.context, CL_MEM_READ_WRITE | CL_MEM_SVM_FINE_GRAIN_BUFFER,
			      N * sizeof(int), 0);
	REQUIRE(svm);
	for (int i = 0; i < N; i++)
		svm[i] = i;
	check_size_limits(&t, svm, false);
	check_size_limits(&t, svm, true);

	/* The SVM memory is the buffer's storage; sub-buffers report it too. */
	cl_mem whole = make_buffer(&t, false, N * sizeof(int), svm, &err);
	REQUIRE(err == CL_SUCCESS);
	cl_buffer_region region = { N / 4 * sizeof(int), N / 4 * sizeof(int) };
	cl_mem sub = clCreateSubBuffer(whole, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION,
				       &region, &err);
	CHECK_ERR(err, CL_SUCCESS);
	/* PoCL 3.1 alone answers CL_FALSE for sub-buffers (it looks up the
	 * sub-buffer's own host pointer): only the layer's answer is checked. */
	CHECK(sub && (!with_layer || uses_svm_pointer(sub) == CL_TRUE));
	CHECK_ERR(clSetKernelArg(k, 0, sizeof(whole), &whole), CL_SUCCESS);
	size_t global = N;
	CHECK_ERR(clEnqueueNDRangeKernel(t.queue, k, 1, NULL, &global, NULL, 0, NULL, NULL),
		  CL_SUCCESS);
	void *mapped = clEnqueueMapBuffer(t.queue, whole, CL_TRUE, CL_MAP_READ, 0,
					  N * sizeof(int), 0, NULL, NULL, &err);
	CHECK_ERR(err, CL_SUCCESS);
	CHECK(mapped == svm);
	bool ok = true;
	for (int i = 0; i < N; i++)
		ok &= svm[i] == 2 * i + 1;
	CHECK(ok);
	CHECK_ERR(clEnqueueUnmapMemObject(t.queue, whole, mapped, 0, NULL, NULL), CL_SUCCESS);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	if (sub)
		clReleaseMemObject(sub);
	clReleaseMemObject(whole);

	/* Not this context's SVM pointers: the driver decides, as usual. */
	int *heap = malloc(N * sizeof(int));
	REQUIRE(heap);
	cl_mem m = make_buffer(&t, false, N * sizeof(int), heap, &err);
	CHECK_ERR(err, CL_SUCCESS);
	CHECK(m && uses_svm_pointer(m) == CL_FALSE);
	if (m)
		clReleaseMemObject(m);
	cl_context other = clCreateContext(NULL, 1, &t.device, NULL, NULL, &err);
	REQUIRE(err == CL_SUCCESS);
	m = clCreateBuffer(other, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, 2 * N * sizeof(int),
			   svm, &err);
	CHECK_ERR(err, CL_SUCCESS);
	CHECK(m && uses_svm_pointer(m) == CL_FALSE);
	if (m)
		clReleaseMemObject(m);
	clReleaseContext(other);
	free(heap);

	clSVMFree(t.context, svm);
	clReleaseKernel(k);
	clReleaseProgram(p);
	cltest_teardown(&t);
	return cltest_done("icd.svm_buffers");
}
