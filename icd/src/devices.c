/* SPDX-License-Identifier: MIT */
/*
 * devices.c - which devices the layer serves and where they live.
 *
 * A device is served when its kernels run in this process on the host
 * CPUs (the PoCL CPU device): then every host pointer is valid device
 * memory, so fine-grained system SVM and USM are real, not emulated. Such
 * a device is tied to the NUMA node of the CPUs that run its kernels, or
 * to the location UNIMEM_CL_CPU_LOCATION names (e.g. a unimem device).
 * Devices we do not serve keep what their driver reports.
 */
#include "layer.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * What we know of each device, so that hot calls (clSVMAlloc) do not ask
 * the driver each time. Root devices live as long as the process: they are
 * cached in chunks that never move, appended under a lock and read without
 * one (entries are immutable once the count that covers them is published).
 * Sub-devices come and go, and the driver may give a released one's handle
 * to a new object: they are cached only while the application holds them
 * (clCreateSubDevices to its last clReleaseDevice), in a locked list.
 * A device cached in neither place is described afresh on each lookup.
 */
#define ROOT_CHUNK 64
#define ROOT_CHUNKS 64
static struct unimem_cl_device *root_chunks[ROOT_CHUNKS];
static unsigned root_count; /* published with release, read with acquire */
static pthread_mutex_t root_lock = PTHREAD_MUTEX_INITIALIZER;

struct sub_device {
	struct unimem_cl_device facts;
	unsigned long app_refs; /* the application's references */
	struct sub_device *next;
};
static struct sub_device *sub_devices;
static unsigned long sub_device_count; /* skips the lock when zero */
static pthread_mutex_t sub_lock = PTHREAD_MUTEX_INITIALIZER;

static bool layer_disabled(void)
{
	const char *e = getenv("UNIMEM_CL_DISABLE");
	return e && *e && strcmp(e, "0") != 0;
}

/* Reads a sysfs list file ("0-3,8,10-11") into @buf; false if absent. */
static bool read_list(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t len = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[len] = '\0';
	return true;
}

/* Next range of a list: returns false at its end. */
static bool next_range(const char **s, long *lo, long *hi)
{
	char *end;
	while (**s == ',')
		(*s)++;
	*lo = strtol(*s, &end, 10);
	if (end == *s)
		return false;
	*hi = *lo;
	if (*end == '-')
		*hi = strtol(end + 1, &end, 10);
	*s = end;
	return true;
}

/* The NUMA node holding most of the CPUs this process may run on: PoCL's
 * worker threads inherit that affinity. */
static unimem_location_t cpu_device_location(void)
{
	const char *env = getenv("UNIMEM_CL_CPU_LOCATION");
	unimem_location_t loc;
	if (env && *env && unimem_location_parse(env, &loc) == 0)
		return loc;

	cpu_set_t mask;
	char nodes[1024], cpus[4096], path[96];
	if (sched_getaffinity(0, sizeof(mask), &mask) != 0 ||
	    !read_list("/sys/devices/system/node/online", nodes, sizeof(nodes)))
		return UNIMEM_LOC_HOST(0);
	long best_node = 0, best = -1, lo, hi;
	for (const char *n = nodes; next_range(&n, &lo, &hi);) {
		for (long node = lo; node <= hi; node++) {
			snprintf(path, sizeof(path), "/sys/devices/system/node/node%ld/cpulist",
				 node);
			if (!read_list(path, cpus, sizeof(cpus)))
				continue;
			long count = 0, c0, c1;
			for (const char *c = cpus; next_range(&c, &c0, &c1);)
				for (long cpu = c0; cpu <= c1 && cpu < CPU_SETSIZE; cpu++)
					count += CPU_ISSET(cpu, &mask) ? 1 : 0;
			if (count > best) {
				best = count;
				best_node = node;
			}
		}
	}
	return UNIMEM_LOC_HOST(best_node);
}

unimem_location_t unimem_cl_host_location(void)
{
	unsigned cpu, node;
	if (getcpu(&cpu, &node) == 0)
		return UNIMEM_LOC_HOST(node);
	return UNIMEM_LOC_SYSTEM;
}

static void describe(cl_device_id dev, struct unimem_cl_device *d)
{
	memset(d, 0, sizeof(*d));
	d->id = dev;
	d->location = UNIMEM_LOC_NONE;
	cl_bool unified = CL_FALSE;
	unimem_cl_next.clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof(d->platform),
				       &d->platform, NULL);
	unimem_cl_next.clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof(d->type),
				       &d->type, NULL);
	unimem_cl_next.clGetDeviceInfo(dev, CL_DEVICE_HOST_UNIFIED_MEMORY,
				       sizeof(unified), &unified, NULL);
	if (unimem_cl_next.clGetDeviceInfo(dev, CL_DEVICE_SVM_CAPABILITIES,
					   sizeof(d->driver_svm), &d->driver_svm,
					   NULL) != CL_SUCCESS)
		d->driver_svm = 0;
	unimem_cl_next.clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE,
				       sizeof(d->max_alloc), &d->max_alloc, NULL);
	cl_device_exec_capabilities exec = 0;
	unimem_cl_next.clGetDeviceInfo(dev, CL_DEVICE_EXECUTION_CAPABILITIES, sizeof(exec),
				       &exec, NULL);
	/* A CPU device sharing the host memory that already gives
	 * fine-grained buffers runs its kernels on our address space; native
	 * kernels (host functions in queue order) carry the layer's host
	 * commands (host_command.c). */
	d->in_process = !layer_disabled() && (d->type & CL_DEVICE_TYPE_CPU) &&
			unified && (d->driver_svm & CL_DEVICE_SVM_FINE_GRAIN_BUFFER) &&
			(exec & CL_EXEC_NATIVE_KERNEL);
	if (d->in_process)
		d->location = cpu_device_location();
	unimem_cl_debug("device %p: type %#lx in-process %d location %#x", (void *)dev,
			(unsigned long)d->type, d->in_process, d->location);
}

static bool find_root(cl_device_id dev, struct unimem_cl_device *out)
{
	unsigned n = __atomic_load_n(&root_count, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++) {
		const struct unimem_cl_device *d = &root_chunks[i / ROOT_CHUNK][i % ROOT_CHUNK];
		if (d->id == dev) {
			*out = *d;
			return true;
		}
	}
	return false;
}

static bool find_sub_device(cl_device_id dev, struct unimem_cl_device *out)
{
	bool found = false;
	if (!__atomic_load_n(&sub_device_count, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&sub_lock);
	for (struct sub_device *s = sub_devices; s; s = s->next)
		if (s->facts.id == dev) {
			*out = s->facts;
			found = true;
			break;
		}
	pthread_mutex_unlock(&sub_lock);
	return found;
}

static void cache_root(const struct unimem_cl_device *d)
{
	struct unimem_cl_device ignored;
	pthread_mutex_lock(&root_lock);
	unsigned n = root_count;
	if (!find_root(d->id, &ignored) && n < ROOT_CHUNK * ROOT_CHUNKS) {
		struct unimem_cl_device **chunk = &root_chunks[n / ROOT_CHUNK];
		if (!*chunk)
			*chunk = calloc(ROOT_CHUNK, sizeof(**chunk));
		if (*chunk) {
			(*chunk)[n % ROOT_CHUNK] = *d;
			__atomic_store_n(&root_count, n + 1, __ATOMIC_RELEASE);
		}
	}
	/* Past the cache's end, or out of memory: described on each lookup. */
	pthread_mutex_unlock(&root_lock);
}

bool unimem_cl_device(cl_device_id dev, struct unimem_cl_device *out)
{
	if (!dev)
		return false;
	if (find_root(dev, out) || find_sub_device(dev, out))
		return true;

	cl_device_id parent = NULL;
	if (unimem_cl_next.clGetDeviceInfo(dev, CL_DEVICE_PARENT_DEVICE, sizeof(parent),
					   &parent, NULL) != CL_SUCCESS)
		return false; /* not a device */
	describe(dev, out);
	if (!parent)
		cache_root(out);
	return true;
}

/* ---- sub-device lifetimes ---------------------------------------------- */

static cl_int CL_API_CALL create_sub_devices(cl_device_id dev,
					     const cl_device_partition_property *props,
					     cl_uint num_devices, cl_device_id *out,
					     cl_uint *num_devices_ret)
{
	cl_uint made = 0;
	cl_int err = unimem_cl_next.clCreateSubDevices(dev, props, num_devices, out, &made);
	if (num_devices_ret)
		*num_devices_ret = made;
	if (err != CL_SUCCESS || !out)
		return err;
	for (cl_uint i = 0; i < made && i < num_devices; i++) {
		struct sub_device *s = malloc(sizeof(*s));
		if (!s)
			continue; /* described on each lookup instead */
		describe(out[i], &s->facts);
		s->app_refs = 1;
		pthread_mutex_lock(&sub_lock);
		s->next = sub_devices;
		sub_devices = s;
		__atomic_store_n(&sub_device_count, sub_device_count + 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&sub_lock);
	}
	return err;
}

/* Adds @delta to the application's references to sub-device @dev; at zero
 * it leaves the cache, since the driver may reuse its handle. */
static void count_sub_device_reference(cl_device_id dev, int delta)
{
	struct sub_device *gone = NULL;
	if (!__atomic_load_n(&sub_device_count, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&sub_lock);
	for (struct sub_device **p = &sub_devices; *p; p = &(*p)->next) {
		if ((*p)->facts.id != dev)
			continue;
		if (delta > 0) {
			(*p)->app_refs++;
		} else if (--(*p)->app_refs == 0) {
			gone = *p;
			*p = gone->next;
			__atomic_store_n(&sub_device_count, sub_device_count - 1,
					 __ATOMIC_RELAXED);
		}
		break;
	}
	pthread_mutex_unlock(&sub_lock);
	free(gone);
}

static cl_int CL_API_CALL retain_device(cl_device_id dev)
{
	cl_int err = unimem_cl_next.clRetainDevice(dev);
	if (err == CL_SUCCESS)
		count_sub_device_reference(dev, +1);
	return err;
}

static cl_int CL_API_CALL release_device(cl_device_id dev)
{
	count_sub_device_reference(dev, -1); /* before the handle can be reused */
	return unimem_cl_next.clReleaseDevice(dev);
}

cl_int unimem_cl_context_devices(cl_context ctx, cl_device_id *devs,
				 cl_uint max, cl_uint *n, bool *all_in_process)
{
	size_t size = 0;
	if (!ctx)
		return CL_INVALID_CONTEXT;
	cl_int err = unimem_cl_next.clGetContextInfo(ctx, CL_CONTEXT_DEVICES,
						     max * sizeof(*devs), devs, &size);
	if (err != CL_SUCCESS)
		return err == CL_INVALID_VALUE ? CL_OUT_OF_RESOURCES : err;
	*n = (cl_uint)(size / sizeof(*devs));
	bool all = *n > 0;
	for (cl_uint i = 0; i < *n; i++) {
		struct unimem_cl_device d;
		if (!unimem_cl_device(devs[i], &d) || !d.in_process)
			all = false;
	}
	*all_in_process = all;
	return CL_SUCCESS;
}

cl_int unimem_cl_queue_device(cl_command_queue q, cl_context *ctx,
			      struct unimem_cl_device *dev)
{
	cl_device_id id;
	if (!q)
		return CL_INVALID_COMMAND_QUEUE;
	cl_int err = unimem_cl_next.clGetCommandQueueInfo(q, CL_QUEUE_DEVICE,
							  sizeof(id), &id, NULL);
	if (err != CL_SUCCESS)
		return err;
	if (ctx) {
		err = unimem_cl_next.clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT,
							   sizeof(*ctx), ctx, NULL);
		if (err != CL_SUCCESS)
			return err;
	}
	return unimem_cl_device(id, dev) ? CL_SUCCESS : CL_INVALID_COMMAND_QUEUE;
}

bool unimem_cl_platform_served(cl_platform_id platform)
{
	cl_device_id devs[UNIMEM_CL_MAX_DEVICES];
	cl_uint n = 0;
	if (unimem_cl_next.clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL,
					  UNIMEM_CL_MAX_DEVICES, devs, &n) != CL_SUCCESS)
		return false;
	if (n > UNIMEM_CL_MAX_DEVICES)
		n = UNIMEM_CL_MAX_DEVICES;
	for (cl_uint i = 0; i < n; i++) {
		struct unimem_cl_device d;
		if (unimem_cl_device(devs[i], &d) && d.in_process)
			return true;
	}
	return false;
}

static cl_int device_info(void *dev, cl_uint param, size_t size, void *value,
			  size_t *size_ret)
{
	return unimem_cl_next.clGetDeviceInfo(dev, param, size, value, size_ret);
}

cl_int CL_API_CALL unimem_cl_GetDeviceInfo(cl_device_id dev, cl_device_info param,
					   size_t param_value_size, void *param_value,
					   size_t *param_value_size_ret)
{
	struct unimem_cl_device facts;
	const struct unimem_cl_device *d = NULL;
	switch (param) {
	case CL_DEVICE_SVM_CAPABILITIES:
	case CL_DEVICE_EXTENSIONS:
	case CL_DEVICE_EXTENSIONS_WITH_VERSION:
	case CL_DEVICE_HOST_MEM_CAPABILITIES_INTEL:
	case CL_DEVICE_DEVICE_MEM_CAPABILITIES_INTEL:
	case CL_DEVICE_SINGLE_DEVICE_SHARED_MEM_CAPABILITIES_INTEL:
	case CL_DEVICE_CROSS_DEVICE_SHARED_MEM_CAPABILITIES_INTEL:
	case CL_DEVICE_SHARED_SYSTEM_MEM_CAPABILITIES_INTEL:
	case CL_DEVICE_UNIMEM_LOCATION:
	case CL_DEVICE_SVM_TYPE_CAPABILITIES_KHR:
		d = unimem_cl_device(dev, &facts) ? &facts : NULL;
		break;
	default:
		break;
	}
	if (param == CL_DEVICE_SVM_TYPE_CAPABILITIES_KHR && d) {
		/* A device of a platform we serve has one entry per type the
		 * platform lists: its own capabilities, or 0 if not served. */
		cl_svm_capabilities_khr types[UNIMEM_CL_SVM_TYPES];
		if (d->in_process || unimem_cl_platform_served(d->platform)) {
			for (cl_uint t = 0; t < UNIMEM_CL_SVM_TYPES; t++)
				types[t] = unimem_cl_svm_type_caps(d, t);
			return unimem_cl_answer(types, sizeof(types), param_value_size,
						param_value, param_value_size_ret);
		}
	}
	if (param == CL_DEVICE_UNIMEM_LOCATION && d) {
		uint32_t loc = d->location;
		return unimem_cl_answer(&loc, sizeof(loc), param_value_size, param_value,
			      param_value_size_ret);
	}
	if (!d || !d->in_process)
		return unimem_cl_next.clGetDeviceInfo(dev, param, param_value_size,
						      param_value, param_value_size_ret);

	switch (param) {
	case CL_DEVICE_SVM_CAPABILITIES: {
		cl_device_svm_capabilities caps =
			d->driver_svm | CL_DEVICE_SVM_FINE_GRAIN_SYSTEM;
		return unimem_cl_answer(&caps, sizeof(caps), param_value_size, param_value,
			      param_value_size_ret);
	}
	case CL_DEVICE_EXTENSIONS:
	case CL_DEVICE_EXTENSIONS_WITH_VERSION:
		return unimem_cl_answer_extensions(device_info, dev, param,
						   param == CL_DEVICE_EXTENSIONS_WITH_VERSION,
						   param_value_size, param_value,
						   param_value_size_ret);
	default: {
		/* The kernels run on the host CPUs: every kind of allocation
		 * is accessible, concurrently, with atomics. */
		cl_device_unified_shared_memory_capabilities_intel caps =
			CL_UNIFIED_SHARED_MEMORY_ACCESS_INTEL |
			CL_UNIFIED_SHARED_MEMORY_ATOMIC_ACCESS_INTEL |
			CL_UNIFIED_SHARED_MEMORY_CONCURRENT_ACCESS_INTEL |
			CL_UNIFIED_SHARED_MEMORY_CONCURRENT_ATOMIC_ACCESS_INTEL;
		if (!(d->driver_svm & CL_DEVICE_SVM_ATOMICS))
			caps &= ~(cl_device_unified_shared_memory_capabilities_intel)(
				CL_UNIFIED_SHARED_MEMORY_ATOMIC_ACCESS_INTEL |
				CL_UNIFIED_SHARED_MEMORY_CONCURRENT_ATOMIC_ACCESS_INTEL);
		return unimem_cl_answer(&caps, sizeof(caps), param_value_size, param_value,
			      param_value_size_ret);
	}
	}
	return unimem_cl_next.clGetDeviceInfo(dev, param, param_value_size,
					      param_value, param_value_size_ret);
}

void unimem_cl_devices_hook(cl_icd_dispatch *d)
{
	d->clGetDeviceInfo = unimem_cl_GetDeviceInfo;
	d->clCreateSubDevices = create_sub_devices;
	d->clRetainDevice = retain_device;
	d->clReleaseDevice = release_device;
}
