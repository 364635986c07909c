/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - getting memory from unimem for the layer's allocators, and
 * turning unimem's negative errno values into OpenCL error codes.
 */
#include "layer.h"

#include <errno.h>

void *unimem_cl_alloc_memory(size_t size, size_t align, unimem_location_t loc)
{
	enum unimem_location_kind kind = UNIMEM_LOC_KIND(loc);
	bool placed = kind == UNIMEM_LOC_KIND_HOST || kind == UNIMEM_LOC_KIND_DEVICE;

	/* unimem_malloc_on() binds the pages but only guarantees malloc's
	 * alignment; a bigger alignment gets the placement as a preference. */
	if (placed && align <= _Alignof(max_align_t)) {
		void *p = unimem_malloc_on(size, loc);
		if (p)
			return p;
		if (errno != ENODEV)
			return NULL;
		placed = false; /* the location is gone: any memory will do */
	}
	/* aligned_alloc wants a size that is a multiple of the alignment. */
	size_t rounded = (size + align - 1) & ~(align - 1);
	if (rounded < size)
		return NULL;
	void *p = unimem_aligned_alloc(align, rounded);
	if (p && placed)
		(void)unimem_advise(p, size, UNIMEM_ADVISE_SET_PREFERRED_LOCATION, loc);
	return p;
}

cl_int unimem_cl_errno_to_cl(long err)
{
	switch (-err) {
	case 0:
		return CL_SUCCESS;
	case EINVAL:
	case EFAULT:
	case ENOENT:
		return CL_INVALID_VALUE;
	case ENOMEM:
		return CL_OUT_OF_HOST_MEMORY;
	default:
		return CL_OUT_OF_RESOURCES;
	}
}
