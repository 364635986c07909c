/* SPDX-License-Identifier: MIT */
/*
 * icd.svm_atomics: a fine-grained SVM buffer with atomics, from unimem
 * with the layer, incremented by the host and by a kernel at the same
 * time; no increment may be lost.
 */
#include "cltest.h"
#include "unimem.h"

#define WORK_ITEMS 64
#define KERNEL_ITERS 2000
#define HOST_ITERS 200000

static const char *src =
	"__kernel void count(__global volatile int *ctr, int iters) {\n"
	"  for (int i = 0; i < iters; i++) atomic_inc(ctr);\n"
	"  atomic_add(ctr + 1, 1);\n"
	"}\n";

int main(int argc, char **argv)
{
	struct cltest t;
	cltest_mode(argc, argv);
	cltest_setup(&t);
	cl_program p = cltest_build(&t, src);
	cl_kernel k = cltest_kernel(p, "count");

	int *ctr = clSVMAlloc(t.context, CL_MEM_READ_WRITE | CL_MEM_SVM_FINE_GRAIN_BUFFER |
						 CL_MEM_SVM_ATOMICS, 2 * sizeof(int), 0);
	REQUIRE(ctr);
	/* With the layer the buffer is unimem memory; without, PoCL's own. */
	struct unimem_ptr_info info;
	int r = unimem_ptr_info(ctr, &info);
	if (with_layer) {
		CHECK(r == 0);
		CHECK(r != 0 || info.base == ctr);
	} else {
		CHECK(r != 0);
	}

	ctr[0] = ctr[1] = 0;
	int iters = KERNEL_ITERS;
	CHECK_ERR(clSetKernelArgSVMPointer(k, 0, ctr), CL_SUCCESS);
	CHECK_ERR(clSetKernelArg(k, 1, sizeof(iters), &iters), CL_SUCCESS);
	size_t global = WORK_ITEMS;
	CHECK_ERR(clEnqueueNDRangeKernel(t.queue, k, 1, NULL, &global, NULL, 0, NULL, NULL),
		  CL_SUCCESS);
	CHECK_ERR(clFlush(t.queue), CL_SUCCESS);
	/* Host increments race with the kernel's on the same word. */
	for (int i = 0; i < HOST_ITERS; i++)
		__atomic_fetch_add(&ctr[0], 1, __ATOMIC_SEQ_CST);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	CHECK(__atomic_load_n(&ctr[0], __ATOMIC_SEQ_CST) ==
	      WORK_ITEMS * KERNEL_ITERS + HOST_ITERS);
	CHECK(ctr[1] == WORK_ITEMS);

	clSVMFree(t.context, ctr);
	clReleaseKernel(k);
	clReleaseProgram(p);
	cltest_teardown(&t);
	return cltest_done("icd.svm_atomics");
}
