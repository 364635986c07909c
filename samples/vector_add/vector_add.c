/* SPDX-License-Identifier: MIT */
/*
 * vector_add - c = a + b on the unimem heap, with the hints a framework
 * would give: inputs read-mostly, the output preferred where it is made,
 * everything prefetched ahead on a queue, then a checked result.
 *
 * With the unimem module loaded the data is staged on device unimem0 (as
 * an accelerator framework would before a kernel launch) and comes back to
 * the CPU, which computes and checks; without it, the host backend places
 * everything on the CPU's nearest NUMA node. Either way the result is
 * verified.
 *
 *   vector_add [N]      (default 4M elements)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unimem.h"

static const char *where(const void *p, size_t size, char *buf, size_t len)
{
	unimem_location_t loc;
	int err = unimem_range_get_attr(p, size, UNIMEM_ATTR_LOCATION, &loc, sizeof(loc));

	return err < 0 ? unimem_strerror(err) : unimem_location_name(loc, buf, len);
}

#define TRY(call)                                                                  \
	do {                                                                       \
		long _r = (long)(call);                                            \
		if (_r < 0) {                                                      \
			fprintf(stderr, "vector_add: %s failed: %s\n", #call,      \
				unimem_last_error());                              \
			return 1;                                                  \
		}                                                                  \
	} while (0)

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : (size_t)4 << 20;
	size_t bytes = n * sizeof(float), wrong = 0;
	unimem_location_t device = UNIMEM_LOC_NONE, cpu = UNIMEM_LOC_NONE;
	struct unimem_location_info info;
	struct unimem_range inputs[2];
	unimem_queue_t *queue;
	unimem_event_t *staged;
	float *a, *b, *c;
	char l1[32], l2[32];

	if (n == 0 || n > ((size_t)1 << 28)) {
		fprintf(stderr, "vector_add: N must be in 1..%zu\n", (size_t)1 << 28);
		return 2;
	}
	/* Pick the places: the first device if any, and the CPU's first node. */
	for (int i = 0; i < unimem_location_count(); i++) {
		if (unimem_location_get(i, &info) < 0)
			continue;
		if (UNIMEM_LOC_KIND(info.location) == UNIMEM_LOC_KIND_DEVICE &&
		    device == UNIMEM_LOC_NONE)
			device = info.location;
		if (UNIMEM_LOC_KIND(info.location) == UNIMEM_LOC_KIND_HOST &&
		    !(info.flags & UNIMEM_LOCF_CPULESS) && cpu == UNIMEM_LOC_NONE)
			cpu = info.location;
	}
	if (cpu == UNIMEM_LOC_NONE)
		cpu = UNIMEM_LOC_SYSTEM;
	printf("vector_add: n=%zu (%zu MiB per vector), device: %s, cpu memory: %s\n", n,
	       bytes >> 20,
	       device == UNIMEM_LOC_NONE ? "none (host backend only)"
					 : unimem_location_name(device, l1, sizeof(l1)),
	       unimem_location_name(cpu, l2, sizeof(l2)));

	a = unimem_malloc(bytes);
	b = unimem_malloc(bytes);
	c = unimem_malloc(bytes);
	if (!a || !b || !c) {
		fprintf(stderr, "vector_add: unimem_malloc(%zu): %s\n", bytes, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		a[i] = (float)(i % 65536);
		b[i] = (float)(2 * (i % 4096));
	}

	/* Inputs are only read; the output is wanted on the CPU at the end. */
	TRY(unimem_advise(a, bytes, UNIMEM_ADVISE_SET_READ_MOSTLY, UNIMEM_LOC_NONE));
	TRY(unimem_advise(b, bytes, UNIMEM_ADVISE_SET_READ_MOSTLY, UNIMEM_LOC_NONE));
	TRY(unimem_advise(c, bytes, UNIMEM_ADVISE_SET_PREFERRED_LOCATION, cpu));
	TRY(unimem_advise(c, bytes, UNIMEM_ADVISE_SET_ACCESSED_BY, cpu));

	/* Stage the inputs asynchronously while the output is prepared. */
	TRY(unimem_queue_create(&queue));
	inputs[0] = (struct unimem_range){ a, bytes };
	inputs[1] = (struct unimem_range){ b, bytes };
	TRY(unimem_prefetch_batch_async(queue, inputs, 2,
					device != UNIMEM_LOC_NONE ? device : cpu, 0, &staged));
	TRY(unimem_prefetch(c, bytes, cpu, UNIMEM_PREFETCH_CONTENT_UNDEFINED));
	TRY(unimem_event_wait(staged));
	unimem_event_release(staged);
	printf("vector_add: inputs staged on %s\n", where(a, bytes, l1, sizeof(l1)));

	/* Bring them to the CPU that computes (overlapped per vector). */
	TRY(unimem_prefetch_async(queue, a, bytes, cpu, 0, NULL));
	TRY(unimem_prefetch_async(queue, b, bytes, cpu, 0, NULL));
	TRY(unimem_queue_sync(queue));
	for (size_t i = 0; i < n; i++)
		c[i] = a[i] + b[i];

	for (size_t i = 0; i < n; i++)
		wrong += c[i] != (float)(i % 65536) + (float)(2 * (i % 4096));
	printf("vector_add: a on %s, c on %s\n", where(a, bytes, l1, sizeof(l1)),
	       where(c, bytes, l2, sizeof(l2)));
	TRY(unimem_queue_destroy(queue));
	unimem_free(a);
	unimem_free(b);
	unimem_free(c);
	if (wrong) {
		printf("vector_add: FAILED, %zu of %zu elements wrong\n", wrong, n);
		return 1;
	}
	printf("vector_add: result OK (%zu elements checked)\n", n);
	return 0;
}
