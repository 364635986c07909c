/* SPDX-License-Identifier: MIT */
/*
 * cltest.h - shared scaffolding of the layer's tests: one PoCL device,
 * context and queue through the ICD loader, kernels built from source,
 * and checks that report the line and keep going.
 *
 * Each test runs in one of two modes, the first argument: "layer" (run
 * with OPENCL_LAYERS pointing at the layer) or "plain" (run without: the
 * program must see plain PoCL).
 */
#ifndef UNIMEM_CLTEST_H
#define UNIMEM_CLTEST_H

#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unimem_cl.h"

static int cltest_failures;
static bool with_layer;

#define CHECK_FAILED() __atomic_fetch_add(&cltest_failures, 1, __ATOMIC_RELAXED)

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
			CHECK_FAILED();                                      \
		}                                                            \
	} while (0)

#define CHECK_ERR(expr, want)                                                \
	do {                                                                 \
		cl_int got_ = (expr);                                        \
		if (got_ != (want)) {                                        \
			fprintf(stderr, "%s:%d: %s returned %d, want %d (%s)\n", \
				__FILE__, __LINE__, #expr, got_, (int)(want), #want); \
			CHECK_FAILED();                                      \
		}                                                            \
	} while (0)

#define REQUIRE(cond)                                                        \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
			exit(1);                                             \
		}                                                            \
	} while (0)

struct cltest {
	cl_platform_id platform;
	cl_device_id device;
	cl_context context;
	cl_command_queue queue;
};

/*
 * Under ctest, UNIMEM_CL_LOADER_DIR names the directory of the ICD loader
 * the test must run on (ocl-icd's, or the Khronos loader's put first by
 * LD_LIBRARY_PATH): the libOpenCL that clGetPlatformIDs lives in must be
 * there, or the test proves nothing about that loader.
 */
static inline void cltest_check_loader(void)
{
	const char *want = getenv("UNIMEM_CL_LOADER_DIR");
	if (!want)
		return; /* run by hand */
	Dl_info info;
	void *fn = dlsym(RTLD_DEFAULT, "clGetPlatformIDs");
	REQUIRE(fn && dladdr(fn, &info) && info.dli_fname);
	char lib[PATH_MAX], got[PATH_MAX], expected[PATH_MAX];
	REQUIRE(realpath(info.dli_fname, lib));
	bool same = realpath(dirname(lib), got) && realpath(want, expected) &&
		    strcmp(got, expected) == 0;
	if (!same)
		fprintf(stderr, "loader: running on %s, expected one in %s\n", info.dli_fname, want);
	REQUIRE(same);
}

static inline void cltest_mode(int argc, char **argv)
{
	cltest_check_loader();
	REQUIRE(argc >= 2);
	with_layer = strcmp(argv[1], "layer") == 0;
	REQUIRE(with_layer || strcmp(argv[1], "plain") == 0);
	/* The mode must match the environment, or the test proves nothing. */
	const char *layers = getenv("OPENCL_LAYERS");
	REQUIRE(with_layer == (layers && strstr(layers, "unimem-cl-layer") != NULL));
}

static inline void cltest_setup(struct cltest *t)
{
	cl_int err;
	REQUIRE(clGetPlatformIDs(1, &t->platform, NULL) == CL_SUCCESS);
	REQUIRE(clGetDeviceIDs(t->platform, CL_DEVICE_TYPE_CPU, 1, &t->device, NULL) ==
		CL_SUCCESS);
	t->context = clCreateContext(NULL, 1, &t->device, NULL, NULL, &err);
	REQUIRE(err == CL_SUCCESS);
	t->queue = clCreateCommandQueueWithProperties(t->context, t->device, NULL, &err);
	REQUIRE(err == CL_SUCCESS);
}

static inline void cltest_teardown(struct cltest *t)
{
	clReleaseCommandQueue(t->queue);
	clReleaseContext(t->context);
}

static inline cl_program cltest_build(struct cltest *t, const char *src)
{
	cl_int err;
	cl_program p = clCreateProgramWithSource(t->context, 1, &src, NULL, &err);
	REQUIRE(err == CL_SUCCESS);
	err = clBuildProgram(p, 1, &t->device, "", NULL, NULL);
	if (err != CL_SUCCESS) {
		char log[8192] = "";
		clGetProgramBuildInfo(p, t->device, CL_PROGRAM_BUILD_LOG, sizeof(log), log,
				      NULL);
		fprintf(stderr, "build failed (%d):\n%s\n", err, log);
		exit(1);
	}
	return p;
}

static inline cl_kernel cltest_kernel(cl_program p, const char *name)
{
	cl_int err;
	cl_kernel k = clCreateKernel(p, name, &err);
	REQUIRE(err == CL_SUCCESS);
	return k;
}

/* Does @platform list @name in CL_PLATFORM_EXTENSIONS, and (the same
 * answer is checked) in CL_PLATFORM_EXTENSIONS_WITH_VERSION, where its
 * version goes to @version? */
static inline bool cltest_platform_lists(cl_platform_id platform, const char *name,
					 cl_version *version)
{
	size_t size = 0;
	REQUIRE(clGetPlatformInfo(platform, CL_PLATFORM_EXTENSIONS, 0, NULL, &size) ==
		CL_SUCCESS);
	char *ext = calloc(1, size + 1);
	REQUIRE(ext && clGetPlatformInfo(platform, CL_PLATFORM_EXTENSIONS, size, ext, NULL) ==
			       CL_SUCCESS);
	if (strlen(ext) + 1 != size)
		CHECK_FAILED();
	bool in_string = false;
	size_t len = strlen(name);
	for (const char *p = ext; (p = strstr(p, name)); p += len)
		in_string |= (p == ext || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0');
	free(ext);

	bool in_array = false;
	if (clGetPlatformInfo(platform, CL_PLATFORM_EXTENSIONS_WITH_VERSION, 0, NULL, &size) ==
	    CL_SUCCESS) {
		cl_name_version *nv = malloc(size);
		REQUIRE(nv && clGetPlatformInfo(platform, CL_PLATFORM_EXTENSIONS_WITH_VERSION, size,
						nv, NULL) == CL_SUCCESS);
		for (size_t i = 0; i < size / sizeof(*nv); i++)
			if (strcmp(nv[i].name, name) == 0) {
				in_array = true;
				if (version)
					*version = nv[i].version;
			}
		free(nv);
		if (in_string != in_array) {
			fprintf(stderr, "%s: listed %d in the string, %d in the array\n", name,
				in_string, in_array);
			CHECK_FAILED();
		}
	}
	return in_string;
}

static inline int cltest_done(const char *name)
{
	if (cltest_failures) {
		fprintf(stderr, "%s (%s): %d check(s) failed\n", name,
			with_layer ? "layer" : "plain", cltest_failures);
		return 1;
	}
	printf("%s (%s): ok\n", name, with_layer ? "layer" : "plain");
	return 0;
}

#endif /* UNIMEM_CLTEST_H */
