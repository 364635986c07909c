/* SPDX-License-Identifier: MIT */
/*
 * layer.h - internals of the unimem OpenCL loader layer, shared by its
 * files: the next layer's dispatch table, the device and allocation
 * bookkeeping, and the entry points each file puts in our table.
 */
#ifndef UNIMEM_CL_LAYER_H
#define UNIMEM_CL_LAYER_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#define CL_USE_DEPRECATED_OPENCL_1_0_APIS
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_2_0_APIS

#include <CL/cl_layer.h>
#include <CL/cl_ext.h>
#include <stdbool.h>
#include <stddef.h>

#include "unimem.h"
#include "unimem_cl.h"

/* Where calls we do not handle, and our own calls down, go. Entries past
 * what the loader gave are NULL; clInitLayer refuses loaders that lack
 * the OpenCL 2.1 entries we call. */
extern cl_icd_dispatch unimem_cl_next;

/* ---- devices (devices.c) ---------------------------------------------- */
struct unimem_cl_device {
	cl_device_id id;
	cl_platform_id platform;
	cl_device_type type;
	/* Kernels run in this process on the host CPUs, so any host pointer
	 * is valid device memory: the layer serves SVM and USM for it. */
	bool in_process;
	cl_device_svm_capabilities driver_svm; /* what the driver reports */
	cl_ulong max_alloc;                    /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
	unimem_location_t location;            /* NONE: not managed */
};

/* Copies the facts on @dev to @out; false if the driver does not know it. */
bool unimem_cl_device(cl_device_id dev, struct unimem_cl_device *out);

/* The devices of @ctx, all in process? Fills @devs (up to @max, count in
 * @n) and returns CL_SUCCESS, or the driver's error (CL_INVALID_CONTEXT). */
#define UNIMEM_CL_MAX_DEVICES 64
cl_int unimem_cl_context_devices(cl_context ctx, cl_device_id *devs,
				 cl_uint max, cl_uint *n, bool *all_in_process);
/* Device and context of a queue, with the driver's error if invalid. */
cl_int unimem_cl_queue_device(cl_command_queue q, cl_context *ctx,
			      struct unimem_cl_device *dev);
/* The NUMA node of the CPU the calling thread runs on. */
unimem_location_t unimem_cl_host_location(void);
/* Does any device of @platform get the layer's SVM/USM? */
bool unimem_cl_platform_served(cl_platform_id platform);

cl_int CL_API_CALL unimem_cl_GetDeviceInfo(cl_device_id, cl_device_info,
					   size_t, void *, size_t *);

/* ---- allocations (registry.c) ----------------------------------------- */
enum unimem_cl_alloc_kind {
	UNIMEM_CL_SVM = 1,    /* clSVMAlloc */
	UNIMEM_CL_HOST,       /* clHostMemAllocINTEL */
	UNIMEM_CL_DEVICE,     /* clDeviceMemAllocINTEL */
	UNIMEM_CL_SHARED,     /* clSharedMemAllocINTEL */
};

/* What clSVMAllocWithPropertiesKHR was given, kept to answer
 * CL_SVM_INFO_PROPERTIES_KHR with the same list in the same order. */
enum unimem_cl_svm_prop { SVM_PROP_DEVICE, SVM_PROP_ACCESS, SVM_PROP_ALIGNMENT };
struct unimem_cl_svm_props {
	cl_device_id device;       /* CL_SVM_ALLOC_ASSOCIATED_DEVICE_HANDLE_KHR */
	cl_bitfield access;        /* CL_SVM_ALLOC_ACCESS_FLAGS_KHR */
	size_t alignment;          /* CL_SVM_ALLOC_ALIGNMENT_KHR, as given */
	unsigned char order[3];    /* enum unimem_cl_svm_prop, as listed */
	unsigned char count;
	bool given;                /* a list was passed (possibly empty) */
};

struct unimem_cl_alloc {
	void *base;
	size_t size;
	cl_context context;
	cl_device_id device; /* NULL unless tied to one */
	enum unimem_cl_alloc_kind kind;
	cl_bitfield flags;   /* cl_svm_mem_flags or cl_mem_alloc_flags_intel */
	cl_uint svm_type;    /* enum unimem_cl_svm_type_index */
	bool from_driver;    /* the driver's clSVMAlloc made it: its free */
	struct unimem_cl_svm_props props;
};

int unimem_cl_registry_add(const struct unimem_cl_alloc *a);
/* Finds the allocation holding @ptr; copies it to @out when found. */
bool unimem_cl_registry_find(const void *ptr, struct unimem_cl_alloc *out);
/* Removes the allocation starting at @base (of @ctx); false if none. */
bool unimem_cl_registry_remove(const void *base, cl_context ctx,
			       struct unimem_cl_alloc *out);

/* ---- memory placement (alloc.c) --------------------------------------- */
/* unimem memory of @size aligned to @align, placed on @loc if not NONE. */
void *unimem_cl_alloc_memory(size_t size, size_t align, unimem_location_t loc);
cl_int unimem_cl_errno_to_cl(long err);

/* ---- work done on the host in queue order (host_command.c) ------------ */
/* Host work is a hint (a prefetch, advice): it cannot fail the command. */
typedef void (*unimem_cl_host_fn)(void *arg);
/*
 * Runs @fn(@arg) once the commands @q and the wait list require are done,
 * without blocking the caller, as one command of @q whose event (returned
 * in @event) reports @type; @arg is freed with free() afterwards, or at
 * once if the command cannot be enqueued.
 */
cl_int unimem_cl_host_command(cl_command_queue q, cl_uint num_wait,
			      const cl_event *wait, cl_event *event,
			      cl_command_type type, unimem_cl_host_fn fn, void *arg);
cl_int unimem_cl_check_wait_list(cl_uint n, const cl_event *wait);

/* ---- queues (queues.c): for clMemBlockingFreeINTEL -------------------- */
void unimem_cl_queues_hook(cl_icd_dispatch *d);
/* clFinish() every live queue of @ctx. */
cl_int unimem_cl_finish_context_queues(cl_context ctx);

/* ---- entry points per file -------------------------------------------- */
void unimem_cl_svm_hook(cl_icd_dispatch *d);
void unimem_cl_devices_hook(cl_icd_dispatch *d);
void unimem_cl_extensions_hook(cl_icd_dispatch *d);
void unimem_cl_buffers_hook(cl_icd_dispatch *d);

/* Migrate ranges to a location as a queued command (svm.c). */
cl_int unimem_cl_enqueue_migrate(cl_command_queue q, cl_uint n,
				 const void **ptrs, const size_t *sizes,
				 cl_mem_migration_flags flags, cl_uint num_wait,
				 const cl_event *wait, cl_event *event,
				 bool usm_command);

/* A driver's clGet*Info for one object (a device, a platform). */
typedef cl_int (*unimem_cl_info_fn)(void *object, cl_uint param, size_t size,
				    void *value, size_t *size_ret);
/* The driver's extension list (@versioned: the cl_name_version array)
 * with the layer's extensions added, those it does not list already. */
cl_int unimem_cl_answer_extensions(unimem_cl_info_fn get, void *object, cl_uint param,
				   bool versioned, size_t param_value_size,
				   void *param_value, size_t *param_value_size_ret);

/* An extension's entry points by name, and a lookup in such a table. */
struct unimem_cl_function {
	const char *name;
	void *fn;
};
void *unimem_cl_lookup_function(const struct unimem_cl_function *table, size_t count,
				const char *name);

/* USM entry points (usm.c), handed out by extensions.c. */
void *unimem_cl_usm_function(const char *name);

/* ---- cl_khr_unified_svm (unified_svm.c) ---------------------------------- */
void *unimem_cl_unified_svm_function(const char *name);
/* The capabilities of SVM type @type on device @d (0: not supported). */
cl_svm_capabilities_khr unimem_cl_svm_type_caps(const struct unimem_cl_device *d,
						cl_uint type);
/* CL_PLATFORM_SVM_TYPE_CAPABILITIES_KHR / CL_DEVICE_SVM_TYPE_CAPABILITIES_KHR
 * for a platform with a served device; false to leave it to the driver. */
bool unimem_cl_platform_svm_types(cl_platform_id platform,
				  cl_svm_capabilities_khr caps[UNIMEM_CL_SVM_TYPES]);

/* A clGet*Info answer: copies @size bytes of @src as the spec says. */
cl_int unimem_cl_answer(const void *src, size_t size, size_t param_value_size,
			void *param_value, size_t *param_value_size_ret);

/* ---- events (events.c) ------------------------------------------------- */
/* USM commands run on the driver's SVM commands or markers; the layer
 * remembers the command type the application must see for their events. */
void unimem_cl_events_hook(cl_icd_dispatch *d);
void unimem_cl_event_set_type(cl_event event, cl_command_type type);

/* Debug output on UNIMEM_CL_DEBUG=1. */
void unimem_cl_debug(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif /* UNIMEM_CL_LAYER_H */
