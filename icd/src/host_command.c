/* SPDX-License-Identifier: MIT */
/*
 * host_command.c - work the layer does on the host (a unimem prefetch or
 * advice) as a command of an OpenCL queue, without blocking the caller.
 *
 * We enqueue a marker that waits for what the command must wait for, and
 * after it the command the application sees, gated by a user event. When
 * the marker completes, its callback does the work and opens the gate, so
 * later commands on the queue see the work done.
 */
#include "layer.h"

#include <stdlib.h>

struct host_command {
	unimem_cl_host_fn fn;
	void *arg;
	cl_event gate;
	bool cancelled;
};

cl_int unimem_cl_check_wait_list(cl_uint n, const cl_event *wait)
{
	if ((n > 0) != (wait != NULL))
		return CL_INVALID_EVENT_WAIT_LIST;
	for (cl_uint i = 0; i < n; i++)
		if (!wait[i])
			return CL_INVALID_EVENT_WAIT_LIST;
	return CL_SUCCESS;
}

static void run(struct host_command *c, cl_int ready_status)
{
	cl_int result = ready_status;
	if (ready_status >= 0 && !c->cancelled)
		result = c->fn(c->arg);
	/* A failed wait list fails the command, as the spec has it. */
	unimem_cl_next.clSetUserEventStatus(
		c->gate, result == CL_SUCCESS ? CL_COMPLETE :
			 result < 0 ? result : CL_OUT_OF_RESOURCES);
	unimem_cl_next.clReleaseEvent(c->gate);
	free(c->arg);
	free(c);
}

static void CL_CALLBACK on_ready(cl_event ready, cl_int status, void *data)
{
	run(data, status);
	unimem_cl_next.clReleaseEvent(ready);
}

cl_int unimem_cl_host_command(cl_command_queue q, cl_uint num_wait,
			      const cl_event *wait, cl_event *event,
			      unimem_cl_host_fn fn, void *arg,
			      unimem_cl_tail_fn enqueue_tail, void *tail_arg)
{
	cl_context ctx;
	cl_int err = unimem_cl_check_wait_list(num_wait, wait);
	if (err == CL_SUCCESS)
		err = unimem_cl_next.clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT,
							   sizeof(ctx), &ctx, NULL);
	struct host_command *c = err == CL_SUCCESS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		free(arg);
		return err != CL_SUCCESS ? err : CL_OUT_OF_HOST_MEMORY;
	}
	c->fn = fn;
	c->arg = arg;
	c->gate = unimem_cl_next.clCreateUserEvent(ctx, &err);
	if (err != CL_SUCCESS) {
		free(arg);
		free(c);
		return err;
	}

	cl_event ready;
	err = unimem_cl_next.clEnqueueMarkerWithWaitList(q, num_wait, wait, &ready);
	if (err != CL_SUCCESS) {
		unimem_cl_next.clSetUserEventStatus(c->gate, CL_COMPLETE);
		unimem_cl_next.clReleaseEvent(c->gate);
		free(arg);
		free(c);
		return err;
	}
	err = enqueue_tail ? enqueue_tail(q, 1, &c->gate, event, tail_arg) :
			     unimem_cl_next.clEnqueueMarkerWithWaitList(q, 1, &c->gate,
									 event);
	if (err != CL_SUCCESS)
		c->cancelled = true; /* still open the gate once ready */

	if (unimem_cl_next.clSetEventCallback(ready, CL_COMPLETE, on_ready, c) !=
	    CL_SUCCESS) {
		/* No callbacks: do it now, in order, at the cost of blocking. */
		cl_int status = unimem_cl_next.clWaitForEvents(1, &ready);
		run(c, status == CL_SUCCESS ? CL_COMPLETE : status);
		unimem_cl_next.clReleaseEvent(ready);
	} else {
		unimem_cl_next.clFlush(q);
	}
	return err;
}
