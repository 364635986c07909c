/* SPDX-License-Identifier: MIT */
/*
 * queues.c - the live command queues of served devices, so that
 * clMemBlockingFreeINTEL can wait for every command that may still use an
 * allocation. We count the application's own references (create, retain,
 * release) rather than read the driver's count, which includes its own.
 */
#include "layer.h"

#include <pthread.h>
#include <stdlib.h>

struct tracked_queue {
	cl_command_queue queue;
	cl_context ctx;
	unsigned long user_refs;
	struct tracked_queue *next;
};

static struct tracked_queue *queues;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void track(cl_command_queue q, cl_context ctx, cl_device_id dev)
{
	struct unimem_cl_device d;
	if (!q || !unimem_cl_device(dev, &d) || !d.in_process)
		return;
	struct tracked_queue *t = malloc(sizeof(*t));
	if (!t)
		return; /* only blocking frees lose their wait on it */
	t->queue = q;
	t->ctx = ctx;
	t->user_refs = 1;
	pthread_mutex_lock(&lock);
	t->next = queues;
	queues = t;
	pthread_mutex_unlock(&lock);
}

static cl_command_queue CL_API_CALL create_queue(cl_context ctx, cl_device_id dev,
						 cl_command_queue_properties props,
						 cl_int *errcode_ret)
{
	cl_command_queue q = unimem_cl_next.clCreateCommandQueue(ctx, dev, props,
								 errcode_ret);
	track(q, ctx, dev);
	return q;
}

static cl_command_queue CL_API_CALL
create_queue_with_properties(cl_context ctx, cl_device_id dev,
			     const cl_queue_properties *props, cl_int *errcode_ret)
{
	cl_command_queue q = unimem_cl_next.clCreateCommandQueueWithProperties(
		ctx, dev, props, errcode_ret);
	track(q, ctx, dev);
	return q;
}

static cl_int CL_API_CALL retain_queue(cl_command_queue q)
{
	cl_int err = unimem_cl_next.clRetainCommandQueue(q);
	if (err != CL_SUCCESS)
		return err;
	pthread_mutex_lock(&lock);
	for (struct tracked_queue *t = queues; t; t = t->next)
		if (t->queue == q) {
			t->user_refs++;
			break;
		}
	pthread_mutex_unlock(&lock);
	return err;
}

static cl_int CL_API_CALL release_queue(cl_command_queue q)
{
	struct tracked_queue *gone = NULL;
	pthread_mutex_lock(&lock);
	for (struct tracked_queue **p = &queues; *p; p = &(*p)->next)
		if ((*p)->queue == q) {
			if (--(*p)->user_refs == 0) {
				gone = *p;
				*p = gone->next;
			}
			break;
		}
	pthread_mutex_unlock(&lock);
	free(gone);
	return unimem_cl_next.clReleaseCommandQueue(q);
}

cl_int unimem_cl_finish_context_queues(cl_context ctx)
{
	/* Retained under the lock, so a concurrent release cannot free one
	 * while we wait on it. */
	pthread_mutex_lock(&lock);
	size_t n = 0;
	for (struct tracked_queue *t = queues; t; t = t->next)
		n += t->ctx == ctx;
	cl_command_queue *held = malloc((n ? n : 1) * sizeof(*held));
	if (!held) {
		pthread_mutex_unlock(&lock);
		return CL_OUT_OF_HOST_MEMORY;
	}
	n = 0;
	for (struct tracked_queue *t = queues; t; t = t->next)
		if (t->ctx == ctx) {
			unimem_cl_next.clRetainCommandQueue(t->queue);
			held[n++] = t->queue;
		}
	pthread_mutex_unlock(&lock);

	cl_int err = CL_SUCCESS;
	for (size_t i = 0; i < n; i++) {
		cl_int e = unimem_cl_next.clFinish(held[i]);
		if (e != CL_SUCCESS && err == CL_SUCCESS)
			err = e;
		unimem_cl_next.clReleaseCommandQueue(held[i]);
	}
	free(held);
	return err;
}

void unimem_cl_queues_hook(cl_icd_dispatch *d)
{
	d->clCreateCommandQueue = create_queue;
	d->clCreateCommandQueueWithProperties = create_queue_with_properties;
	d->clRetainCommandQueue = retain_queue;
	d->clReleaseCommandQueue = release_queue;
}
