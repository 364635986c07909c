/* SPDX-License-Identifier: MIT */
/*
 * icd.threads: the layer's bookkeeping under concurrency. Threads
 * allocate, use, migrate and free SVM and USM memory at the same time,
 * each on its own queue, checking every value a kernel wrote; run under
 * TSan by the sanitizer builds.
 */
#include "cltest.h"

#include <pthread.h>

#define THREADS 4
#define ROUNDS 40
#define N 256

static struct cltest t;
static cl_program program;
static clSharedMemAllocINTEL_fn shared_alloc;
static clMemBlockingFreeINTEL_fn blocking_free;

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	cl_int err;
	cl_command_queue q = clCreateCommandQueueWithProperties(t.context, t.device, NULL,
								&err);
	cl_kernel k = clCreateKernel(program, "stamp", &err);
	REQUIRE(q && k);
	for (int r = 0; r < ROUNDS; r++) {
		bool usm = r % 2;
		int *p = usm ? shared_alloc(t.context, t.device, NULL, N * sizeof(int), 0, &err) :
			       clSVMAlloc(t.context, CL_MEM_READ_WRITE, N * sizeof(int), 0);
		REQUIRE(p);
		int stamp = id * 100000 + r;
		CHECK_ERR(clSetKernelArgSVMPointer(k, 0, p), CL_SUCCESS);
		CHECK_ERR(clSetKernelArg(k, 1, sizeof(stamp), &stamp), CL_SUCCESS);
		size_t global = N;
		CHECK_ERR(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL),
			  CL_SUCCESS);
		const void *ptrs[1] = { p };
		CHECK_ERR(clEnqueueSVMMigrateMem(q, 1, ptrs, NULL, CL_MIGRATE_MEM_OBJECT_HOST, 0,
						 NULL, NULL), CL_SUCCESS);
		CHECK_ERR(clFinish(q), CL_SUCCESS);
		bool ok = true;
		for (int i = 0; i < N; i++)
			ok &= p[i] == stamp + i;
		CHECK(ok);
		if (usm)
			CHECK_ERR(blocking_free(t.context, p), CL_SUCCESS);
		else
			clSVMFree(t.context, p);
	}
	clReleaseKernel(k);
	clReleaseCommandQueue(q);
	return NULL;
}

int main(int argc, char **argv)
{
	cltest_mode(argc, argv);
	REQUIRE(with_layer);
	cltest_setup(&t);
	program = cltest_build(&t, "__kernel void stamp(__global int *p, int s) {\n"
				   "  size_t i = get_global_id(0); p[i] = s + (int)i; }\n");
	shared_alloc = (clSharedMemAllocINTEL_fn)clGetExtensionFunctionAddressForPlatform(
		t.platform, "clSharedMemAllocINTEL");
	blocking_free = (clMemBlockingFreeINTEL_fn)clGetExtensionFunctionAddressForPlatform(
		t.platform, "clMemBlockingFreeINTEL");
	REQUIRE(shared_alloc && blocking_free);

	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		REQUIRE(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);

	clReleaseProgram(program);
	cltest_teardown(&t);
	return cltest_done("icd.threads");
}
