/* SPDX-License-Identifier: MIT */
/*
 * wordfreq - count words with a malloc'd hash table; an ordinary program
 * that knows nothing of unimem. Run it unchanged on unimem's heap:
 *
 *   LD_PRELOAD=libunimem-preload.so ./wordfreq [file]
 *   UNIMEM_LOCATION=node1 LD_PRELOAD=libunimem-preload.so ./wordfreq [file]
 *   UNIMEM_PRELOAD_STATS=1 LD_PRELOAD=libunimem-preload.so ./wordfreq
 *
 * (`unimem run -- ./wordfreq` does the same where the tool is installed.)
 * Without a file it counts a generated text, so the output is fixed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char *word;
	unsigned long count;
	struct entry *next;
};

struct table {
	struct entry **buckets;
	size_t nbuckets, size;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void grow(struct table *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
	struct entry **b = calloc(n, sizeof(*b));
	if (!b) {
		perror("calloc");
		exit(1);
	}
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct entry *e = t->buckets[i], *next; e; e = next) {
			next = e->next;
			size_t k = hash(e->word) & (n - 1);
			e->next = b[k];
			b[k] = e;
		}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static void add(struct table *t, const char *word)
{
	if (t->size >= t->nbuckets)
		grow(t);
	size_t k = hash(word) & (t->nbuckets - 1);
	for (struct entry *e = t->buckets[k]; e; e = e->next)
		if (strcmp(e->word, word) == 0) {
			e->count++;
			return;
		}
	struct entry *e = malloc(sizeof(*e));
	if (!e || !(e->word = strdup(word))) {
		perror("malloc");
		exit(1);
	}
	e->count = 1;
	e->next = t->buckets[k];
	t->buckets[k] = e;
	t->size++;
}

static int by_count(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->word, y->word);
}

int main(int argc, char **argv)
{
	struct table t = { 0 };
	char buf[256];
	if (argc > 1) {
		FILE *f = fopen(argv[1], "r");
		if (!f) {
			perror(argv[1]);
			return 1;
		}
		while (fscanf(f, "%255s", buf) == 1)
			add(&t, buf);
		fclose(f);
	} else {
		/* a Zipf-ish generated text: 2 million words, 50000 distinct */
		uint64_t x = 88172645463325252ull;
		for (int i = 0; i < 2000000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			unsigned w = (unsigned)(x % 50000);
			w = w * w / 50000; /* skew towards small numbers */
			snprintf(buf, sizeof(buf), "w%u", w);
			add(&t, buf);
		}
	}
	struct entry **all = malloc(t.size * sizeof(*all) + 1);
	size_t n = 0;
	for (size_t i = 0; i < t.nbuckets; i++)
		for (struct entry *e = t.buckets[i]; e; e = e->next)
			all[n++] = e;
	qsort(all, n, sizeof(*all), by_count);
	printf("%zu distinct words\n", n);
	for (size_t i = 0; i < n && i < 10; i++)
		printf("%8lu %s\n", all[i]->count, all[i]->word);
	for (size_t i = 0; i < n; i++) {
		free(all[i]->word);
		free(all[i]);
	}
	free(all);
	free(t.buckets);
	return 0;
}
