/* SPDX-License-Identifier: MIT */
/*
 * host_command.c - work the layer does on the host (a unimem prefetch or
 * advice) as a command of an OpenCL queue, without blocking the caller.
 *
 * The work is one native kernel: the driver runs it in queue order, after
 * what the wait list names, and later commands see it done. Being a single
 * command, an enqueue that fails leaves nothing behind in the queue (an
 * earlier version chained a marker, a user event and a second command, and
 * a failure of the last left the marker waiting on the application's
 * events). Served devices run kernels in this process, so they run native
 * kernels (devices.c requires CL_EXEC_NATIVE_KERNEL). The application's
 * event reports the command type of what it asked for, not
 * CL_COMMAND_NATIVE_KERNEL (events.c).
 */
#include "layer.h"

#include <stdlib.h>

struct host_command {
	unimem_cl_host_fn fn;
	void *arg;
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

/* The native kernel: its argument block holds the command's address. */
static void CL_CALLBACK run(void *args)
{
	struct host_command *c = *(struct host_command **)args;
	c->fn(c->arg);
}

static void free_command(struct host_command *c)
{
	free(c->arg);
	free(c);
}

/* Once the command is over, run or not (a failed wait list skips it). */
static void CL_CALLBACK on_complete(cl_event ev, cl_int status, void *data)
{
	(void)ev;
	(void)status;
	free_command(data);
}

cl_int unimem_cl_host_command(cl_command_queue q, cl_uint num_wait,
			      const cl_event *wait, cl_event *event,
			      cl_command_type type, unimem_cl_host_fn fn, void *arg)
{
	cl_int err = unimem_cl_check_wait_list(num_wait, wait);
	struct host_command *c = err == CL_SUCCESS ? malloc(sizeof(*c)) : NULL;
	if (!c) {
		free(arg);
		return err != CL_SUCCESS ? err : CL_OUT_OF_HOST_MEMORY;
	}
	c->fn = fn;
	c->arg = arg;

	cl_event ev;
	err = unimem_cl_next.clEnqueueNativeKernel(q, run, &c, sizeof(c), 0, NULL, NULL,
						   num_wait, wait, &ev);
	if (err != CL_SUCCESS) {
		free_command(c);
		return err;
	}
	if (unimem_cl_next.clSetEventCallback(ev, CL_COMPLETE, on_complete, c) !=
	    CL_SUCCESS) {
		/* No callbacks: free after the command, at the cost of waiting. */
		unimem_cl_next.clWaitForEvents(1, &ev);
		free_command(c);
	}
	unimem_cl_next.clFlush(q);
	if (event) {
		*event = ev;
		unimem_cl_event_set_type(ev, type);
	} else {
		unimem_cl_next.clReleaseEvent(ev);
	}
	return CL_SUCCESS;
}
