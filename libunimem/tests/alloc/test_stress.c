/* SPDX-License-Identifier: MIT */
/*
 * Multithreaded stress: threads allocate random sizes (mostly small, some
 * medium and huge; some aligned, some from the node0 heap), stamp each
 * block, and trade blocks through shared slots so most frees happen on a
 * thread other than the allocating one, and some are resized by realloc
 * first (by their owner or by another thread).
 * Every block is verified before it is freed: a corrupted stamp means two
 * live blocks overlapped or a free list was damaged.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unimem.h"
#include "check.h"

#define THREADS 4
#define SLOTS 4096
#ifndef OPS
#define OPS 150000
#endif

static _Atomic(uintptr_t) slots[SLOTS];
static _Atomic int corrupt;

static void report(const char *what, const void *p, size_t size)
{
	if (atomic_fetch_add(&corrupt, 1) < 5)
		fprintf(stderr, "stress: %s: block %p size %zu (errno %d)\n", what, p,
			size, errno);
}

struct hdr {
	size_t size;
	uint64_t tag;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t pick_size(uint64_t *s)
{
	uint64_t r = rnd(s) % 1000;
	if (r < 700)
		return sizeof(struct hdr) + 1 + rnd(s) % 256;
	if (r < 900)
		return sizeof(struct hdr) + 1 + rnd(s) % 8192;
	if (r < 998)
		return sizeof(struct hdr) + 1 + rnd(s) % 300000;
	return sizeof(struct hdr) + 1 + 600000 + rnd(s) % (2u << 20);
}

static void *make(uint64_t *s)
{
	size_t size = pick_size(s);
	uint64_t how = rnd(s) & 15;
	/* 1/8 aligned, 1/16 from the node0 heap (located heaps trade blocks
	 * across threads the same way), the rest plain */
	struct hdr *h = how < 2   ? unimem_aligned_alloc(64, size)
			: how == 2 ? unimem_malloc_on(size, UNIMEM_LOC_HOST(0))
				   : unimem_malloc(size);
	if (!h)
		return NULL;
	h->size = size;
	h->tag = (uintptr_t)h * 0x9e3779b97f4a7c15ull;
	((unsigned char *)h)[size - 1] = (unsigned char)h->tag;
	return h;
}

static void check_and_free(struct hdr *h)
{
	if (h->tag != (uintptr_t)h * 0x9e3779b97f4a7c15ull)
		report("header stamp overwritten", h, h->size);
	else if (((unsigned char *)h)[h->size - 1] != (unsigned char)h->tag)
		report("last byte overwritten", h, h->size);
	else if (unimem_malloc_usable_size(h) < h->size)
		report("usable size too small", h, h->size);
	unimem_free(h);
}

/* Realloc a checked block to a new random size (grown or shrunk in place
 * or moved, by its owner or by another thread): its header comes along. */
static struct hdr *resize(struct hdr *h, uint64_t *s)
{
	if (h->tag != (uintptr_t)h * 0x9e3779b97f4a7c15ull ||
	    ((unsigned char *)h)[h->size - 1] != (unsigned char)h->tag) {
		report("stamp overwritten before realloc", h, h->size);
		return h;
	}
	uint64_t tag = h->tag;
	size_t size = pick_size(s);
	struct hdr *q = unimem_realloc(h, size);
	if (q == NULL) {
		report("realloc failed", h, size);
		return h;
	}
	if (q->tag != tag)
		report("realloc lost the header", q, size);
	q->size = size;
	q->tag = (uintptr_t)q * 0x9e3779b97f4a7c15ull;
	((unsigned char *)q)[size - 1] = (unsigned char)q->tag;
	return q;
}

static void *worker(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 7919 + 1;
	void *local[64] = { 0 };
	for (int i = 0; i < OPS; i++) {
		uint64_t r = rnd(&seed);
		if (r % 4 == 0) {
			/* keep a few locally, freed by this thread */
			int k = (int)((r >> 8) % 64);
			if (local[k] && (r >> 32) % 2) {
				local[k] = resize(local[k], &seed);
				continue;
			}
			if (local[k])
				check_and_free(local[k]);
			local[k] = make(&seed);
			continue;
		}
		void *mine = make(&seed);
		if (!mine) {
			report("allocation failed", NULL, 0);
			continue;
		}
		uintptr_t old = atomic_exchange(&slots[(r >> 16) % SLOTS], (uintptr_t)mine);
		if (old && (r >> 40) % 8 == 0)
			old = (uintptr_t)resize((struct hdr *)old, &seed);
		if (old)
			check_and_free((struct hdr *)old); /* likely another thread's */
	}
	for (int k = 0; k < 64; k++)
		if (local[k])
			check_and_free(local[k]);
	return NULL;
}

/* Producer/consumer: every block is freed by the other thread. */
#define PC_N 200000
static _Atomic(uintptr_t) ring[1024];

static void *producer(void *arg)
{
	(void)arg;
	uint64_t seed = 42;
	for (int i = 0; i < PC_N; i++) {
		void *p = make(&seed);
		size_t k = (size_t)i % 1024;
		while (atomic_load_explicit(&ring[k], memory_order_acquire) != 0)
			sched_yield();
		atomic_store_explicit(&ring[k], (uintptr_t)p, memory_order_release);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (int i = 0; i < PC_N; i++) {
		size_t k = (size_t)i % 1024;
		uintptr_t p;
		while ((p = atomic_load_explicit(&ring[k], memory_order_acquire)) == 0)
			sched_yield();
		atomic_store_explicit(&ring[k], 0, memory_order_release);
		check_and_free((struct hdr *)p);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < SLOTS; i++) {
		uintptr_t p = atomic_exchange(&slots[i], 0);
		if (p)
			check_and_free((struct hdr *)p); /* freed by main */
	}
	CHECK(atomic_load(&corrupt) == 0, "%d corrupted or failed blocks (mixed)",
	      atomic_load(&corrupt));

	pthread_t p, c;
	pthread_create(&p, NULL, producer, NULL);
	pthread_create(&c, NULL, consumer, NULL);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	CHECK(atomic_load(&corrupt) == 0, "%d corrupted blocks (producer/consumer)",
	      atomic_load(&corrupt));
	return um_test_result("alloc_stress_test");
}
