/* SPDX-License-Identifier: MIT */
/*
 * icd.svm_system: fine-grained system SVM. A linked list built on the host
 * in plain malloc'd memory (and one in unimem_malloc'd memory) is walked
 * and updated by a kernel; the host reads the kernel's results back.
 * Sub-devices are served like their parent however many the application
 * holds at once, and after it releases them and makes new ones (the
 * driver may reuse their handles). Plain PoCL must not report
 * FINE_GRAIN_SYSTEM.
 */
#include "cltest.h"
#include "unimem.h"

struct node {
	struct node *next;
	int value;
};

static const char *src =
	"typedef struct node { __global struct node *next; int value; } node_t;\n"
	"__kernel void walk(__global node_t *head, __global long *out) {\n"
	"  long sum = 0; long n = 0;\n"
	"  for (__global node_t *p = head; p; p = p->next) {\n"
	"    sum += p->value; p->value = p->value * 2 + 1; n++;\n"
	"  }\n"
	"  out[0] = sum; out[1] = n;\n"
	"}\n";

static struct node *build_list(int count, void *(*alloc)(size_t))
{
	struct node *head = NULL;
	for (int i = count - 1; i >= 0; i--) {
		struct node *n = alloc(sizeof(*n));
		REQUIRE(n);
		n->value = i;
		n->next = head;
		head = n;
	}
	return head;
}

static void walk_list(struct cltest *t, cl_kernel k, int count,
		      void *(*alloc)(size_t), void (*release)(void *))
{
	struct node *head = build_list(count, alloc);
	long *out = alloc(2 * sizeof(long));
	out[0] = out[1] = -1;
	CHECK_ERR(clSetKernelArgSVMPointer(k, 0, head), CL_SUCCESS);
	CHECK_ERR(clSetKernelArgSVMPointer(k, 1, out), CL_SUCCESS);
	size_t one = 1;
	CHECK_ERR(clEnqueueNDRangeKernel(t->queue, k, 1, NULL, &one, NULL, 0, NULL, NULL),
		  CL_SUCCESS);
	CHECK_ERR(clFinish(t->queue), CL_SUCCESS);
	CHECK(out[0] == (long)count * (count - 1) / 2);
	CHECK(out[1] == count);
	int i = 0;
	for (struct node *n = head; n; i++) {
		CHECK(n->value == i * 2 + 1);
		struct node *next = n->next;
		release(n);
		n = next;
	}
	CHECK(i == count);
	release(out);
}

#define SUB_DEVICE_ROUNDS 80 /* two each: past what any fixed cache holds */

static bool has_system_svm(cl_device_id dev)
{
	cl_device_svm_capabilities caps = 0;
	return clGetDeviceInfo(dev, CL_DEVICE_SVM_CAPABILITIES, sizeof(caps), &caps, NULL) ==
		       CL_SUCCESS &&
	       (caps & CL_DEVICE_SVM_FINE_GRAIN_SYSTEM);
}

/* Served sub-devices: each reports system SVM, and clSVMAlloc in a context
 * of the last one gives unimem memory. */
static void check_sub_devices(struct cltest *t)
{
	static cl_device_id subs[SUB_DEVICE_ROUNDS * 2];
	const cl_device_partition_property equally[] = { CL_DEVICE_PARTITION_EQUALLY, 1, 0 };
	cl_uint n = 0, served = 0;
	for (int round = 0; round < SUB_DEVICE_ROUNDS; round++) {
		cl_uint made = 0;
		if (clCreateSubDevices(t->device, equally, 2, subs + n, &made) != CL_SUCCESS)
			break;
		n += made;
	}
	REQUIRE(n >= SUB_DEVICE_ROUNDS * 2);
	for (cl_uint i = 0; i < n; i++)
		served += has_system_svm(subs[i]);
	CHECK(served == n);

	cl_int err;
	cl_context ctx = clCreateContext(NULL, 1, &subs[n - 1], NULL, NULL, &err);
	REQUIRE(err == CL_SUCCESS);
	void *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 4096, 0);
	struct unimem_ptr_info info;
	CHECK(p && unimem_ptr_info(p, &info) == 0);
	clSVMFree(ctx, p);
	clReleaseContext(ctx);
	for (cl_uint i = 0; i < n; i++)
		CHECK_ERR(clReleaseDevice(subs[i]), CL_SUCCESS);
}

int main(int argc, char **argv)
{
	struct cltest t;
	cltest_mode(argc, argv);
	cltest_setup(&t);

	cl_device_svm_capabilities caps = 0;
	CHECK_ERR(clGetDeviceInfo(t.device, CL_DEVICE_SVM_CAPABILITIES, sizeof(caps), &caps,
				  NULL), CL_SUCCESS);
	/* PoCL's CPU device gives fine-grained buffers and atomics itself. */
	CHECK(caps & CL_DEVICE_SVM_FINE_GRAIN_BUFFER);
	CHECK(caps & CL_DEVICE_SVM_ATOMICS);
	if (!with_layer) {
		CHECK(!(caps & CL_DEVICE_SVM_FINE_GRAIN_SYSTEM));
		cltest_teardown(&t);
		return cltest_done("icd.svm_system");
	}
	CHECK(caps & CL_DEVICE_SVM_FINE_GRAIN_SYSTEM);
	check_sub_devices(&t);
	check_sub_devices(&t); /* new sub-devices, perhaps on reused handles */

	cl_program p = cltest_build(&t, src);
	cl_kernel k = cltest_kernel(p, "walk");
	cl_bool yes = CL_TRUE;
	CHECK_ERR(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM,
				      sizeof(yes), &yes), CL_SUCCESS);
	walk_list(&t, k, 1000, malloc, free);
	walk_list(&t, k, 1000, unimem_malloc, unimem_free);

	/* Migrating plain malloc'd memory is a unimem prefetch too. */
	size_t bytes = 1 << 20;
	char *heap = malloc(bytes);
	REQUIRE(heap);
	memset(heap, 5, bytes);
	unimem_location_t dev_loc = UNIMEM_LOC_NONE, last = UNIMEM_LOC_NONE;
	CHECK_ERR(clGetDeviceInfo(t.device, CL_DEVICE_UNIMEM_LOCATION, sizeof(dev_loc),
				  &dev_loc, NULL), CL_SUCCESS);
	const void *ptrs[1] = { heap + 4096 };
	size_t sizes[1] = { bytes - 8192 };
	CHECK_ERR(clEnqueueSVMMigrateMem(t.queue, 1, ptrs, sizes, 0, 0, NULL, NULL),
		  CL_SUCCESS);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	CHECK(unimem_range_get_attr(ptrs[0], sizes[0], UNIMEM_ATTR_LAST_PREFETCH_LOCATION,
				    &last, sizeof(last)) == 0 && last == dev_loc);
	CHECK(heap[4096] == 5 && heap[bytes - 8193] == 5);
	free(heap);

	clReleaseKernel(k);
	clReleaseProgram(p);
	cltest_teardown(&t);
	return cltest_done("icd.svm_system");
}
