/* SPDX-License-Identifier: MIT */
/*
 * icd_overhead - what the unimem OpenCL layer costs against PoCL alone,
 * measured in one run: the program starts itself as a child process in
 * turns with and without OPENCL_LAYERS (the loader reads it once per
 * process), several rounds each, and reports medians side by side.
 *
 *   bench-icd-overhead [--rounds N] [--layer /path/libunimem-cl-layer.so]
 *                      [--interleave]
 *
 * Each process reports the best of several batches; the parent prints
 * the best and the median of those over the rounds. Measured per operation: clEnqueueNDRangeKernel of an empty kernel (the
 * call alone, and call plus execution up to clFinish), and clSVMAlloc +
 * clSVMFree pairs at three sizes (PoCL's allocator against unimem's).
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef LAYER_PATH
#define LAYER_PATH "libunimem-cl-layer.so"
#endif

enum { ENQ_CALL, ENQ_RUN, SVM_64, SVM_4K, SVM_1M, SVM_BATCH, METRICS };
static const char *metric_names[METRICS] = {
	"clEnqueueNDRangeKernel (call)",
	"clEnqueueNDRangeKernel (call+run)",
	"clSVMAlloc+clSVMFree 64 B",
	"clSVMAlloc+clSVMFree 4 KiB",
	"clSVMAlloc+clSVMFree 1 MiB",
	"256 x clSVMAlloc, then 256 x clSVMFree, 4 KiB (pair)",
};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double minimum(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double svm_pairs(cl_context ctx, size_t size, int iters)
{
	double t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		void *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, size, 0);
		if (!p)
			exit(3);
		clSVMFree(ctx, p);
	}
	return (now_ns() - t0) / iters;
}

static double svm_batch(cl_context ctx, size_t size)
{
	enum { BATCH = 256 };
	void *p[BATCH];
	double t0 = now_ns();
	for (int i = 0; i < BATCH; i++)
		if (!(p[i] = clSVMAlloc(ctx, CL_MEM_READ_WRITE, size, 0)))
			exit(3);
	for (int i = 0; i < BATCH; i++)
		clSVMFree(ctx, p[i]);
	return (now_ns() - t0) / BATCH;
}

/*
 * One process's measurements on stdout: for each, the best of repeated
 * batches. Other work on the machine only ever adds time, so the best
 * batch is the steadiest estimate of what the code itself costs.
 */
static int child(bool interleave)
{
	enum { SAMPLES = 25, ENQUEUES = 1000, PAIRS = 1000 };
	cl_platform_id platform;
	cl_device_id dev;
	cl_int err;
	if (clGetPlatformIDs(1, &platform, NULL) != CL_SUCCESS ||
	    clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &dev, NULL) != CL_SUCCESS)
		return 2;
	cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
	cl_command_queue q = clCreateCommandQueueWithProperties(ctx, dev, NULL, &err);
	const char *src = "__kernel void noop(__global int *p) { }";
	cl_program prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
	if (clBuildProgram(prog, 1, &dev, "", NULL, NULL) != CL_SUCCESS)
		return 2;
	cl_kernel k = clCreateKernel(prog, "noop", &err);
	int dummy;
	clSetKernelArgSVMPointer(k, 0, &dummy);
	size_t global = 1;

	double s[METRICS][SAMPLES];
	for (int w = 0; w < 200; w++) /* warm up: compile, thread start */
		clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL);
	clFinish(q);
	svm_pairs(ctx, 4096, 200);
	/* By default enqueues first, allocations after, so that one does not
	 * disturb the other's timing; --interleave alternates the batches. */
	for (int pass = 0; pass < (interleave ? 1 : 2); pass++) {
		for (int i = 0; i < SAMPLES; i++) {
			if (interleave || pass == 0) {
				double call = 0, t0 = now_ns();
				for (int e = 0; e < ENQUEUES; e++) {
					double c0 = now_ns();
					clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0,
							       NULL, NULL);
					call += now_ns() - c0;
				}
				clFinish(q);
				s[ENQ_RUN][i] = (now_ns() - t0) / ENQUEUES;
				s[ENQ_CALL][i] = call / ENQUEUES;
			}
			if (interleave || pass == 1) {
				s[SVM_64][i] = svm_pairs(ctx, 64, PAIRS);
				s[SVM_4K][i] = svm_pairs(ctx, 4096, PAIRS);
				s[SVM_1M][i] = svm_pairs(ctx, 1 << 20, PAIRS / 10);
				s[SVM_BATCH][i] = svm_batch(ctx, 4096);
			}
		}
	}
	for (int m = 0; m < METRICS; m++)
		printf("%.1f\n", minimum(s[m], SAMPLES));
	clReleaseKernel(k);
	clReleaseProgram(prog);
	clReleaseCommandQueue(q);
	clReleaseContext(ctx);
	return 0;
}

static int run_child(const char *self, const char *layer, bool interleave,
		     double out[METRICS])
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (layer)
			setenv("OPENCL_LAYERS", layer, 1);
		else
			unsetenv("OPENCL_LAYERS");
		execl(self, self, "--child", interleave ? "--interleave" : NULL, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	int got = 0;
	while (got < METRICS && fscanf(f, "%lf", &out[got]) == 1)
		got++;
	fclose(f);
	int status;
	waitpid(pid, &status, 0);
	return got == METRICS && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	int rounds = 5;
	bool interleave = false;
	for (int i = 1; i < argc; i++)
		interleave |= strcmp(argv[i], "--interleave") == 0;
	const char *layer = getenv("UNIMEM_CL_LAYER") ? getenv("UNIMEM_CL_LAYER") : LAYER_PATH;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--child") == 0)
			return child(interleave);
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--layer") == 0 && i + 1 < argc)
			layer = argv[++i];
	}
	if (rounds < 1 || rounds > 100)
		rounds = 5;
	if (access(layer, R_OK) != 0) {
		fprintf(stderr, "layer not found: %s (use --layer)\n", layer);
		return 1;
	}
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return 1;
	self[len] = '\0';

	double plain[METRICS][100], layered[METRICS][100], r[METRICS];
	for (int i = 0; i < rounds; i++) {
		/* Alternate which goes first, so drift hits both alike. */
		for (int pass = 0; pass < 2; pass++) {
			bool with = (pass + i) % 2;
			if (run_child(self, with ? layer : NULL, interleave, r) != 0) {
				fprintf(stderr, "child run failed\n");
				return 1;
			}
			for (int m = 0; m < METRICS; m++)
				(with ? layered : plain)[m][i] = r[m];
		}
	}
	/* Best over processes is the floor each side reaches; the median
	 * shows what a typical process saw on a machine shared with others. */
	printf("%-53s %21s %21s %17s\n", "ns per operation", "PoCL alone",
	       "with the layer", "overhead");
	printf("%-53s %10s %10s %10s %10s %8s %8s\n", "", "best", "median", "best",
	       "median", "best", "median");
	for (int m = 0; m < METRICS; m++) {
		double pb = minimum(plain[m], rounds), lb = minimum(layered[m], rounds);
		double pm = median(plain[m], rounds), lm = median(layered[m], rounds);
		printf("%-53s %10.1f %10.1f %10.1f %10.1f %+7.1f%% %+7.1f%%\n",
		       metric_names[m], pb, pm, lb, lm, (lb - pb) / pb * 100,
		       (lm - pm) / pm * 100);
	}
	printf("(each process: best of its batches; %d processes per side, "
	       "alternating; %ld online CPUs)\n", rounds, sysconf(_SC_NPROCESSORS_ONLN));
	return 0;
}
