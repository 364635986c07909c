/* SPDX-License-Identifier: MIT */
/*
 * queue.c - asynchronous prefetch: an in-order queue served by one
 * background thread, and events to wait on.
 *
 * Arguments are checked at submission (bad input fails there, at once);
 * what can only fail while moving pages (-EFAULT, -EBUSY, ...) is reported
 * by the event and by the next unimem_queue_sync(), with the worker's
 * message carried over to the waiting thread's unimem_last_error().
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define MSG_MAX 256

struct unimem_event {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs; /* the caller's and the queue's */
	bool done;
	long result;
	char msg[MSG_MAX];
};

struct work {
	struct work *next;
	struct unimem_range *ranges;
	size_t count;
	unimem_location_t loc;
	unsigned int flags;
	unimem_event_t *event;
};

struct unimem_queue {
	pthread_mutex_t lock;
	pthread_cond_t has_work, progressed;
	struct work *head, *tail;
	uint64_t submitted, completed;
	int first_err; /* since the last sync */
	char err_msg[MSG_MAX];
	bool stop;
	pthread_t thread;
};

static void event_put(unimem_event_t *ev)
{
	int left;

	pthread_mutex_lock(&ev->lock);
	left = --ev->refs;
	pthread_mutex_unlock(&ev->lock);
	if (left == 0) {
		pthread_cond_destroy(&ev->cond);
		pthread_mutex_destroy(&ev->lock);
		free(ev);
	}
}

static long run(const struct work *w, char *msg)
{
	long total = 0;

	for (size_t i = 0; i < w->count; i++) {
		long r = um_prefetch_user_range("prefetch_async", w->ranges[i].ptr,
						 w->ranges[i].size, w->loc, w->flags);

		if (r < 0) {
			snprintf(msg, MSG_MAX, "prefetch_async: range %zu: %s", i,
				 unimem_last_error());
			return r;
		}
		total += r;
	}
	return total;
}

static void *worker(void *arg)
{
	unimem_queue_t *q = arg;
	char msg[MSG_MAX];

	for (;;) {
		struct work *w;
		long r;

		pthread_mutex_lock(&q->lock);
		while (!q->head && !q->stop)
			pthread_cond_wait(&q->has_work, &q->lock);
		w = q->head;
		if (!w) { /* stop, and nothing left */
			pthread_mutex_unlock(&q->lock);
			return NULL;
		}
		q->head = w->next;
		if (!q->head)
			q->tail = NULL;
		pthread_mutex_unlock(&q->lock);

		msg[0] = '\0';
		r = run(w, msg);

		if (w->event) {
			pthread_mutex_lock(&w->event->lock);
			w->event->result = r;
			memcpy(w->event->msg, msg, sizeof(msg));
			w->event->done = true;
			pthread_cond_broadcast(&w->event->cond);
			pthread_mutex_unlock(&w->event->lock);
			event_put(w->event);
		}
		pthread_mutex_lock(&q->lock);
		if (r < 0 && q->first_err == 0) {
			q->first_err = (int)r;
			memcpy(q->err_msg, msg, sizeof(msg));
		}
		q->completed++;
		pthread_cond_broadcast(&q->progressed);
		pthread_mutex_unlock(&q->lock);
		free(w->ranges);
		free(w);
	}
}

int unimem_queue_create(unimem_queue_t **queue)
{
	unimem_queue_t *q;
	int rc;

	if (!queue)
		return um_error(-EINVAL, "queue_create: queue is NULL");
	q = calloc(1, sizeof(*q));
	if (!q)
		return um_error(-ENOMEM, "queue_create: out of memory");
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->has_work, NULL);
	pthread_cond_init(&q->progressed, NULL);
	rc = pthread_create(&q->thread, NULL, worker, q);
	if (rc) {
		pthread_cond_destroy(&q->progressed);
		pthread_cond_destroy(&q->has_work);
		pthread_mutex_destroy(&q->lock);
		free(q);
		return um_error(-rc, "queue_create: cannot start the worker thread: %s",
				strerror(rc));
	}
	*queue = q;
	return 0;
}

int unimem_queue_sync(unimem_queue_t *q)
{
	char msg[MSG_MAX];
	uint64_t target;
	int err;

	if (!q)
		return um_error(-EINVAL, "queue_sync: queue is NULL");
	pthread_mutex_lock(&q->lock);
	target = q->submitted;
	while (q->completed < target)
		pthread_cond_wait(&q->progressed, &q->lock);
	err = q->first_err;
	memcpy(msg, q->err_msg, sizeof(msg));
	q->first_err = 0;
	pthread_mutex_unlock(&q->lock);
	return err < 0 ? um_error(err, "%s", msg) : 0;
}

int unimem_queue_destroy(unimem_queue_t *q)
{
	int err;

	if (!q)
		return um_error(-EINVAL, "queue_destroy: queue is NULL");
	err = unimem_queue_sync(q);
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_signal(&q->has_work);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	pthread_cond_destroy(&q->progressed);
	pthread_cond_destroy(&q->has_work);
	pthread_mutex_destroy(&q->lock);
	free(q);
	return err;
}

int unimem_prefetch_batch_async(unimem_queue_t *q, const struct unimem_range *ranges,
				size_t count, unimem_location_t loc, unsigned int flags,
				unimem_event_t **event)
{
	struct work *w;
	unimem_event_t *ev = NULL;
	int err;

	if (event)
		*event = NULL;
	if (!q)
		return um_error(-EINVAL, "prefetch_async: queue is NULL");
	err = um_prefetch_validate("prefetch_async", ranges, count, loc, flags);
	if (err < 0)
		return err;
	w = calloc(1, sizeof(*w));
	if (w && count)
		w->ranges = malloc(count * sizeof(*ranges));
	if (event)
		ev = calloc(1, sizeof(*ev));
	if (!w || (count && !w->ranges) || (event && !ev)) {
		if (w)
			free(w->ranges);
		free(w);
		free(ev);
		return um_error(-ENOMEM, "prefetch_async: out of memory");
	}
	if (count)
		memcpy(w->ranges, ranges, count * sizeof(*ranges));
	w->count = count;
	w->loc = loc;
	w->flags = flags;
	if (ev) {
		pthread_mutex_init(&ev->lock, NULL);
		pthread_cond_init(&ev->cond, NULL);
		ev->refs = 2;
		w->event = ev;
	}

	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
	q->submitted++;
	pthread_cond_signal(&q->has_work);
	pthread_mutex_unlock(&q->lock);
	if (event)
		*event = ev;
	return 0;
}

int unimem_prefetch_async(unimem_queue_t *q, const void *ptr, size_t size,
			  unimem_location_t loc, unsigned int flags, unimem_event_t **event)
{
	struct unimem_range r = { ptr, size };

	return unimem_prefetch_batch_async(q, &r, 1, loc, flags, event);
}

long unimem_event_wait(unimem_event_t *ev)
{
	char msg[MSG_MAX];
	long r;

	if (!ev)
		return um_error(-EINVAL, "event_wait: event is NULL");
	pthread_mutex_lock(&ev->lock);
	while (!ev->done)
		pthread_cond_wait(&ev->cond, &ev->lock);
	r = ev->result;
	memcpy(msg, ev->msg, sizeof(msg));
	pthread_mutex_unlock(&ev->lock);
	return r < 0 ? um_error((int)r, "%s", msg) : r;
}

int unimem_event_query(unimem_event_t *ev)
{
	int done;

	if (!ev)
		return um_error(-EINVAL, "event_query: event is NULL");
	pthread_mutex_lock(&ev->lock);
	done = ev->done;
	pthread_mutex_unlock(&ev->lock);
	return done;
}

void unimem_event_release(unimem_event_t *ev)
{
	if (ev)
		event_put(ev);
}
