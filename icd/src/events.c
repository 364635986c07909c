/* SPDX-License-Identifier: MIT */
/*
 * events.c - the command types of USM commands. clEnqueueMemcpyINTEL and
 * its kin run on the driver's SVM commands (or on a marker behind host
 * work), so the driver would report CL_COMMAND_SVM_MEMCPY and the like for
 * their events. The layer remembers which events it returned for USM
 * commands and answers CL_EVENT_COMMAND_TYPE for them itself. An event is
 * forgotten when the application's last reference goes: we count its
 * retains and releases, as queues.c does for queues, because the driver's
 * reference count includes its own (PoCL holds one until the command is
 * done), so it cannot tell us when the handle may be reused.
 *
 * Applications that use no USM commands pay one relaxed load per
 * clGetEventInfo/clRetainEvent/clReleaseEvent: the table is only searched
 * when not empty.
 */
#include "layer.h"

#include <pthread.h>
#include <stdlib.h>

#define EVENT_BUCKETS 256

struct typed_event {
	cl_event event;
	cl_command_type type;
	unsigned long app_refs; /* the application's references */
	struct typed_event *next;
};

static struct typed_event *buckets[EVENT_BUCKETS];
static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t events_count;

static struct typed_event **bucket_of(cl_event event)
{
	uintptr_t h = (uintptr_t)event;

	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ull;
	return &buckets[(h >> 56) % EVENT_BUCKETS];
}

/* Caller holds events_lock. */
static struct typed_event **find_locked(cl_event event)
{
	struct typed_event **p = bucket_of(event);

	while (*p && (*p)->event != event)
		p = &(*p)->next;
	return p;
}

void unimem_cl_event_set_type(cl_event event, cl_command_type type)
{
	struct typed_event **p, *e;

	if (!event)
		return;
	pthread_mutex_lock(&events_lock);
	p = find_locked(event);
	if (*p) {
		/* Only if the application leaked a reference to a handle the
		 * driver has since reused: the new command is this one. */
		(*p)->type = type;
		(*p)->app_refs = 1;
	} else if ((e = malloc(sizeof(*e)))) {
		*e = (struct typed_event){ event, type, 1, NULL };
		*p = e;
		__atomic_store_n(&events_count, events_count + 1, __ATOMIC_RELAXED);
	}
	/* Out of memory: the event keeps the driver's type, nothing worse. */
	pthread_mutex_unlock(&events_lock);
}

static bool lookup_type(cl_event event, cl_command_type *type)
{
	struct typed_event **p;
	bool found;

	if (!__atomic_load_n(&events_count, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&events_lock);
	p = find_locked(event);
	found = *p != NULL;
	if (found)
		*type = (*p)->type;
	pthread_mutex_unlock(&events_lock);
	return found;
}

/* Adds @delta to the application's references to @event; at zero the
 * event is forgotten, since the driver may reuse its handle. */
static void count_reference(cl_event event, int delta)
{
	struct typed_event **p, *gone = NULL;

	if (!__atomic_load_n(&events_count, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&events_lock);
	p = find_locked(event);
	if (*p) {
		if (delta > 0) {
			(*p)->app_refs++;
		} else if (--(*p)->app_refs == 0) {
			gone = *p;
			*p = gone->next;
			__atomic_store_n(&events_count, events_count - 1, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&events_lock);
	free(gone);
}

static cl_int CL_API_CALL get_event_info(cl_event event, cl_event_info param,
					 size_t param_value_size, void *param_value,
					 size_t *param_value_size_ret)
{
	cl_command_type type;

	if (param == CL_EVENT_COMMAND_TYPE && lookup_type(event, &type))
		return unimem_cl_answer(&type, sizeof(type), param_value_size,
					param_value, param_value_size_ret);
	return unimem_cl_next.clGetEventInfo(event, param, param_value_size,
					     param_value, param_value_size_ret);
}

static cl_int CL_API_CALL retain_event(cl_event event)
{
	cl_int err = unimem_cl_next.clRetainEvent(event);

	if (err == CL_SUCCESS)
		count_reference(event, +1);
	return err;
}

static cl_int CL_API_CALL release_event(cl_event event)
{
	/* Counted before the driver's release: once that returns, the handle
	 * may already belong to a new event another thread is typing. */
	count_reference(event, -1);
	return unimem_cl_next.clReleaseEvent(event);
}

void unimem_cl_events_hook(cl_icd_dispatch *d)
{
	d->clGetEventInfo = get_event_info;
	d->clRetainEvent = retain_event;
	d->clReleaseEvent = release_event;
}
