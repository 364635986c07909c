/* SPDX-License-Identifier: MIT */
/*
 * icd.svm_system: fine-grained system SVM. A linked list built on the host
 * in plain malloc'd memory (and one in unimem_malloc'd memory) is walked
 * and updated by a kernel; the host reads the kernel's results back.
 * Plain PoCL must not report FINE_GRAIN_SYSTEM.
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
