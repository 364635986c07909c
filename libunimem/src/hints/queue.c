/* SPDX-License-Identifier: MIT */
/*
 * queue.c - asynchronous prefetch: an in-order queue served by one
 * background thread, and events to wait on.
 *
 * Arguments are checked at submission (bad input fails there, at once);
 * what can only fail while moving pages (-EFAULT, -EBUSY, ...) is reported
 * by the event and by the next unimem_queue_sync(), with the worker's
 * message carried over to the waiting thread's unimem_last_error(). Work
 * still queued when the process forks fails in the child with -ECANCELED.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hints/hints.h"

#define MSG_MAX 256

/*
 * One lock for every queue and event: the work itself (moving pages) runs
 * outside it, so it is never contended for long, and fork() has a single
 * lock to take. The child re-initialises the condition variables (waiters
 * of the parent's threads are gone) and fails the work its queues still
 * held: the worker threads exist only in the parent.
 */
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static struct unimem_queue *all_queues;
static struct unimem_event *all_events;

struct unimem_event {
	pthread_cond_t cond;
	int refs; /* the caller's and the queue's */
	bool done;
	long result;
	char msg[MSG_MAX];
	struct unimem_event *prev, *next; /* all_events */
};

enum work_kind { WORK_PREFETCH, WORK_PREFETCH_TO, WORK_DISCARD };

struct work {
	struct work *next;
	enum work_kind kind;
	struct unimem_range_to *to; /* WORK_PREFETCH_TO */
	struct unimem_range *ranges;
	size_t count;
	unimem_location_t loc;
	unsigned int flags;
	unimem_event_t *event;
};

struct unimem_queue {
	pthread_cond_t has_work, progressed;
	struct work *head, *tail;
	struct work *current; /* taken by the worker, not completed yet */
	uint64_t submitted, completed;
	int first_err; /* since the last sync */
	char err_msg[MSG_MAX];
	bool stop;
	bool running; /* the worker thread exists in this process */
	pthread_t thread;
	struct unimem_queue *prev, *next; /* all_queues */
};

#define LIST_ADD(head, x)                 \
	do {                              \
		(x)->prev = NULL;         \
		(x)->next = (head);       \
		if (head)                 \
			(head)->prev = (x); \
		(head) = (x);             \
	} while (0)
#define LIST_DEL(head, x)                          \
	do {                                       \
		if ((x)->prev)                     \
			(x)->prev->next = (x)->next; \
		else                               \
			(head) = (x)->next;        \
		if ((x)->next)                     \
			(x)->next->prev = (x)->prev; \
	} while (0)

/* Caller holds qlock. */
static void event_put_locked(unimem_event_t *ev)
{
	if (--ev->refs > 0)
		return;
	LIST_DEL(all_events, ev);
	pthread_cond_destroy(&ev->cond);
	free(ev);
}

/* Caller holds qlock. */
static void event_complete(unimem_event_t *ev, long result, const char *msg)
{
	ev->result = result;
	snprintf(ev->msg, sizeof(ev->msg), "%s", msg);
	ev->done = true;
	pthread_cond_broadcast(&ev->cond);
	event_put_locked(ev);
}

static void work_free(struct work *w)
{
	free(w->to);
	free(w->ranges);
	free(w);
}

static void queue_fork_prepare(void) { pthread_mutex_lock(&qlock); }
static void queue_fork_parent(void) { pthread_mutex_unlock(&qlock); }

static void queue_fork_child(void)
{
	static const char lost[] =
		"prefetch_async: the work was still queued when the process forked; "
		"it runs in the parent only (the queue's worker thread does not exist "
		"in the child)";

	for (unimem_event_t *ev = all_events; ev; ev = ev->next)
		pthread_cond_init(&ev->cond, NULL);
	for (unimem_queue_t *q = all_queues; q; q = q->next) {
		pthread_cond_init(&q->has_work, NULL);
		pthread_cond_init(&q->progressed, NULL);
		if (!q->running)
			continue;
		q->running = false;
		struct work *w = q->current ? q->current : q->head;
		if (q->current)
			q->current->next = q->head;
		while (w) {
			struct work *next = w->next;
			if (w->event)
				event_complete(w->event, -ECANCELED, lost);
			work_free(w);
			w = next;
		}
		if (q->completed < q->submitted && q->first_err == 0) {
			q->first_err = -ECANCELED;
			snprintf(q->err_msg, sizeof(q->err_msg), "%s", lost);
		}
		q->head = q->tail = q->current = NULL;
		q->completed = q->submitted;
	}
	pthread_mutex_unlock(&qlock);
}

UM_FORK_HOOKS(queue_fork_hooks, UM_FORK_RANK_QUEUE, queue_fork_prepare,
	      queue_fork_parent, queue_fork_child);

static long run(const struct work *w, char *msg)
{
	long total = 0;

	if (w->kind != WORK_PREFETCH) {
		long r = w->kind == WORK_DISCARD
				 ? um_discard_run("discard_async", w->ranges, w->count, w->flags)
				 : um_prefetch_to_run("prefetch_async", w->to, w->count, w->flags);
		if (r < 0)
			snprintf(msg, MSG_MAX, "%s", unimem_last_error());
		return r;
	}
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

	pthread_mutex_lock(&qlock);
	for (;;) {
		struct work *w;
		long r;

		while (!q->head && !q->stop)
			pthread_cond_wait(&q->has_work, &qlock);
		w = q->head;
		if (!w) /* stop, and nothing left */
			break;
		q->head = w->next;
		if (!q->head)
			q->tail = NULL;
		q->current = w;
		pthread_mutex_unlock(&qlock);

		msg[0] = '\0';
		r = run(w, msg);

		pthread_mutex_lock(&qlock);
		if (w->event)
			event_complete(w->event, r, msg);
		if (r < 0 && q->first_err == 0) {
			q->first_err = (int)r;
			memcpy(q->err_msg, msg, sizeof(msg));
		}
		q->current = NULL;
		q->completed++;
		pthread_cond_broadcast(&q->progressed);
		pthread_mutex_unlock(&qlock);
		work_free(w);
		pthread_mutex_lock(&qlock);
	}
	pthread_mutex_unlock(&qlock);
	return NULL;
}

/* Caller holds qlock. Started on demand: again in a forked child. */
static int start_worker(unimem_queue_t *q)
{
	int rc;

	if (q->running)
		return 0;
	/* The worker takes none of the application's signals: it starts with
	 * all of them blocked (a new thread inherits the creator's mask). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->thread, NULL, worker, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return um_error(-rc, "queue: cannot start the worker thread: %s",
				strerror(rc));
	q->running = true;
	return 0;
}

int unimem_queue_create(unimem_queue_t **queue)
{
	unimem_queue_t *q;
	int err;

	if (!queue)
		return um_error(-EINVAL, "queue_create: queue is NULL");
	q = calloc(1, sizeof(*q));
	if (!q)
		return um_error(-ENOMEM, "queue_create: out of memory");
	pthread_cond_init(&q->has_work, NULL);
	pthread_cond_init(&q->progressed, NULL);
	pthread_mutex_lock(&qlock);
	err = start_worker(q);
	if (err == 0)
		LIST_ADD(all_queues, q);
	pthread_mutex_unlock(&qlock);
	if (err < 0) {
		pthread_cond_destroy(&q->progressed);
		pthread_cond_destroy(&q->has_work);
		free(q);
		return err;
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
	pthread_mutex_lock(&qlock);
	target = q->submitted;
	while (q->completed < target)
		pthread_cond_wait(&q->progressed, &qlock);
	err = q->first_err;
	memcpy(msg, q->err_msg, sizeof(msg));
	q->first_err = 0;
	pthread_mutex_unlock(&qlock);
	return err < 0 ? um_error(err, "%s", msg) : 0;
}

int unimem_queue_destroy(unimem_queue_t *q)
{
	bool running;
	int err;

	if (!q)
		return um_error(-EINVAL, "queue_destroy: queue is NULL");
	err = unimem_queue_sync(q);
	pthread_mutex_lock(&qlock);
	q->stop = true;
	running = q->running;
	pthread_cond_signal(&q->has_work);
	pthread_mutex_unlock(&qlock);
	if (running)
		pthread_join(q->thread, NULL);
	pthread_mutex_lock(&qlock);
	LIST_DEL(all_queues, q);
	pthread_mutex_unlock(&qlock);
	pthread_cond_destroy(&q->progressed);
	pthread_cond_destroy(&q->has_work);
	free(q);
	return err;
}

/* Queue @w (ranges copied by the caller); its event if @event. */
static int submit(unimem_queue_t *q, struct work *w, unimem_event_t **event)
{
	unimem_event_t *ev = NULL;
	int err;

	if (event && !(ev = calloc(1, sizeof(*ev)))) {
		work_free(w);
		return um_error(-ENOMEM, "prefetch_async: out of memory");
	}
	pthread_mutex_lock(&qlock);
	err = start_worker(q);
	if (err < 0) {
		pthread_mutex_unlock(&qlock);
		work_free(w);
		free(ev);
		return err;
	}
	if (ev) {
		pthread_cond_init(&ev->cond, NULL);
		ev->refs = 2;
		LIST_ADD(all_events, ev);
		w->event = ev;
	}
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
	q->submitted++;
	pthread_cond_signal(&q->has_work);
	pthread_mutex_unlock(&qlock);
	if (event)
		*event = ev;
	return 0;
}

/* A work item with a copy of @count elements of @size bytes at @src. */
static struct work *work_new(enum work_kind kind, const void *src, size_t count, size_t size)
{
	struct work *w = calloc(1, sizeof(*w));
	void *copy = NULL;

	if (w && count) {
		copy = malloc(count * size);
		if (!copy) {
			free(w);
			return NULL;
		}
		memcpy(copy, src, count * size);
	}
	if (!w)
		return NULL;
	w->kind = kind;
	w->count = count;
	if (kind == WORK_PREFETCH_TO)
		w->to = copy;
	else
		w->ranges = copy;
	return w;
}

int unimem_prefetch_batch_async(unimem_queue_t *q, const struct unimem_range *ranges,
				size_t count, unimem_location_t loc, unsigned int flags,
				unimem_event_t **event)
{
	struct work *w;
	int err;

	if (event)
		*event = NULL;
	if (!q)
		return um_error(-EINVAL, "prefetch_async: queue is NULL");
	loc = um_location_resolve(loc); /* the submitting thread's node */
	err = um_prefetch_validate("prefetch_async", ranges, count, loc, flags);
	if (err < 0)
		return err;
	w = work_new(WORK_PREFETCH, ranges, count, sizeof(*ranges));
	if (!w)
		return um_error(-ENOMEM, "prefetch_async: out of memory");
	w->loc = loc;
	w->flags = flags;
	return submit(q, w, event);
}

int unimem_prefetch_batch_to_async(unimem_queue_t *q, const struct unimem_range_to *ranges,
				   size_t count, unsigned int flags, unimem_event_t **event)
{
	struct work *w;
	int err;

	if (event)
		*event = NULL;
	if (!q)
		return um_error(-EINVAL, "prefetch_batch_to_async: queue is NULL");
	err = um_prefetch_to_validate("prefetch_batch_to_async", ranges, count, flags);
	if (err < 0)
		return err;
	w = work_new(WORK_PREFETCH_TO, ranges, count, sizeof(*ranges));
	if (!w)
		return um_error(-ENOMEM, "prefetch_batch_to_async: out of memory");
	for (size_t i = 0; i < count; i++) /* the submitting thread's node */
		w->to[i].loc = um_location_resolve(w->to[i].loc);
	w->flags = flags;
	return submit(q, w, event);
}

int unimem_discard_batch_async(unimem_queue_t *q, const struct unimem_range *ranges,
			       size_t count, unsigned int flags, unimem_event_t **event)
{
	struct work *w;
	int err;

	if (event)
		*event = NULL;
	if (!q)
		return um_error(-EINVAL, "discard_batch_async: queue is NULL");
	err = um_discard_validate("discard_batch_async", ranges, count, flags);
	if (err < 0)
		return err;
	w = work_new(WORK_DISCARD, ranges, count, sizeof(*ranges));
	if (!w)
		return um_error(-ENOMEM, "discard_batch_async: out of memory");
	w->flags = flags;
	return submit(q, w, event);
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
	pthread_mutex_lock(&qlock);
	while (!ev->done)
		pthread_cond_wait(&ev->cond, &qlock);
	r = ev->result;
	memcpy(msg, ev->msg, sizeof(msg));
	pthread_mutex_unlock(&qlock);
	return r < 0 ? um_error((int)r, "%s", msg) : r;
}

int unimem_event_query(unimem_event_t *ev)
{
	int done;

	if (!ev)
		return um_error(-EINVAL, "event_query: event is NULL");
	pthread_mutex_lock(&qlock);
	done = ev->done;
	pthread_mutex_unlock(&qlock);
	return done;
}

void unimem_event_release(unimem_event_t *ev)
{
	if (!ev)
		return;
	pthread_mutex_lock(&qlock);
	event_put_locked(ev);
	pthread_mutex_unlock(&qlock);
}
