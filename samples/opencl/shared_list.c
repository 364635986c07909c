/* SPDX-License-Identifier: MIT */
/*
 * opencl_shared_list - an OpenCL kernel walking a linked list that the
 * host built with plain malloc(), pointers and all: no buffers, no copies,
 * no pointer fix-ups. The host then edits the list in place (inserts,
 * unlinks, frees) and the kernel sees the edits on its next run.
 *
 * It needs fine-grained system SVM, which the unimem layer gives PoCL's
 * CPU device:
 *
 *   OPENCL_LAYERS=/path/to/libunimem-cl-layer.so ./opencl_shared_list
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

struct item {
	struct item *next;
	int key;
	int value;
};

/* Each work-item looks one key up by walking the list from the head. */
static const char *kernel_src =
	"typedef struct item { __global struct item *next; int key; int value; } item_t;\n"
	"typedef __global item_t *item_ptr;\n"
	"__kernel void lookup(__global const item_ptr *head, __global const int *keys,\n"
	"                     __global int *values) {\n"
	"  size_t i = get_global_id(0);\n"
	"  __global item_t *it = *head;\n"
	"  while (it && it->key != keys[i]) it = it->next;\n"
	"  values[i] = it ? it->value : -1;\n"
	"}\n";

#define DIE(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)

static struct item *push(struct item *head, int key)
{
	struct item *it = malloc(sizeof(*it));
	if (!it)
		abort();
	it->key = key;
	it->value = key * 10;
	it->next = head;
	return it;
}

int main(void)
{
	enum { ITEMS = 4000, QUERIES = 2048 };
	cl_platform_id platform;
	cl_device_id device;
	cl_int err;
	if (clGetPlatformIDs(1, &platform, NULL) != CL_SUCCESS ||
	    clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL) != CL_SUCCESS)
		DIE("no OpenCL device");

	cl_device_svm_capabilities svm = 0;
	clGetDeviceInfo(device, CL_DEVICE_SVM_CAPABILITIES, sizeof(svm), &svm, NULL);
	if (!(svm & CL_DEVICE_SVM_FINE_GRAIN_SYSTEM))
		DIE("this device cannot use malloc'd memory in kernels (no fine-grained "
		    "system SVM); run with OPENCL_LAYERS=.../libunimem-cl-layer.so");

	cl_context ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	cl_command_queue q = clCreateCommandQueueWithProperties(ctx, device, NULL, &err);
	cl_program prog = clCreateProgramWithSource(ctx, 1, &kernel_src, NULL, &err);
	if (clBuildProgram(prog, 1, &device, "", NULL, NULL) != CL_SUCCESS) {
		char log[4096] = "";
		clGetProgramBuildInfo(prog, device, CL_PROGRAM_BUILD_LOG, sizeof(log), log, NULL);
		DIE("kernel build failed:\n%s", log);
	}
	cl_kernel k = clCreateKernel(prog, "lookup", &err);
	cl_bool yes = CL_TRUE;
	/* Tell the runtime the kernel follows pointers it was not given. */
	clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM, sizeof(yes), &yes);

	/* The list holds the even keys, in a scrambled order. */
	struct item **head = malloc(sizeof(*head));
	*head = NULL;
	for (int i = 0; i < ITEMS; i++)
		*head = push(*head, (int)(((long)i * 7919) % ITEMS) * 2);
	int *keys = malloc(QUERIES * sizeof(int)), *values = malloc(QUERIES * sizeof(int));
	for (int i = 0; i < QUERIES; i++)
		keys[i] = (i * 37) % (2 * ITEMS); /* odd ones are missing at first */

	int failures = 0;
	for (int round = 1; round <= 2; round++) {
		clSetKernelArgSVMPointer(k, 0, head);
		clSetKernelArgSVMPointer(k, 1, keys);
		clSetKernelArgSVMPointer(k, 2, values);
		size_t global = QUERIES;
		if (clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL) !=
			    CL_SUCCESS || clFinish(q) != CL_SUCCESS)
			DIE("kernel failed");
		int found = 0, wrong = 0;
		for (int i = 0; i < QUERIES; i++) {
			/* Round 2: odd keys were added, multiples of 4 removed. */
			bool present = round == 1 ? keys[i] % 2 == 0 : keys[i] % 4 != 0;
			wrong += values[i] != (present ? keys[i] * 10 : -1);
			found += values[i] >= 0;
		}
		printf("round %d: the kernel found %d of %d keys%s\n", round, found, QUERIES,
		       wrong ? " (WRONG)" : ", all as expected");
		failures += wrong;
		if (round == 2)
			break;
		/* The host edits the list in place between the runs. */
		for (int key = 1; key < 2 * ITEMS; key += 2)
			*head = push(*head, key);
		for (struct item **link = head; *link;) {
			struct item *it = *link;
			if (it->key % 4 == 0) {
				*link = it->next;
				free(it);
			} else {
				link = &it->next;
			}
		}
	}

	while (*head) {
		struct item *next = (*head)->next;
		free(*head);
		*head = next;
	}
	free(head);
	free(keys);
	free(values);
	clReleaseKernel(k);
	clReleaseProgram(prog);
	clReleaseCommandQueue(q);
	clReleaseContext(ctx);
	printf(failures ? "FAILED\n" : "OK\n");
	return failures ? 1 : 0;
}
