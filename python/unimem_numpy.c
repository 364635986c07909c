/* SPDX-License-Identifier: MIT */
/*
 * unimem_numpy.c - unimem._unimem: NumPy's data allocator on unimem, and
 * the hints on arrays.
 *
 * The allocator goes in through NumPy's PyDataMem_SetHandler (NumPy >=
 * 1.22), which keeps the handler in a context variable: it applies to the
 * context (thread) that installs it, and each array keeps the handler
 * that allocated it, so arrays made before or elsewhere are freed by
 * their own. New arrays go to the calling thread's placement (on(), in
 * __init__.py), a plain thread-local read by the allocator (it may run
 * without the GIL).
 *
 * Locations cross into Python as their names ("node0", "unimem1",
 * "system", "current", ...); an int is taken as a raw unimem_location_t.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#include <numpy/arrayobject.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unimem.h"

static _Thread_local unimem_location_t placement = UNIMEM_LOC_NONE;

/* ---- the allocator ------------------------------------------------------ */

static void *um_np_malloc(void *ctx, size_t size)
{
	(void)ctx;
	return placement == UNIMEM_LOC_NONE ? unimem_malloc(size)
					    : unimem_malloc_on(size, placement);
}

static void *um_np_calloc(void *ctx, size_t n, size_t size)
{
	size_t total;
	void *p;

	(void)ctx;
	if (placement == UNIMEM_LOC_NONE)
		return unimem_calloc(n, size);
	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	p = unimem_malloc_on(total, placement);
	if (p)
		memset(p, 0, total);
	return p;
}

/* realloc keeps the block's location (the allocator's rule). */
static void *um_np_realloc(void *ctx, void *ptr, size_t size)
{
	(void)ctx;
	return unimem_realloc(ptr, size);
}

static void um_np_free(void *ctx, void *ptr, size_t size)
{
	(void)ctx;
	(void)size;
	unimem_free(ptr);
}

static PyDataMem_Handler handler = {
	"unimem",
	1,
	{ NULL, um_np_malloc, um_np_calloc, um_np_realloc, um_np_free },
};

static PyObject *handler_capsule; /* ours, made once */

/* ---- helpers ------------------------------------------------------------ */

/* A unimem error as OSError(errno, message). */
static PyObject *um_raise(long err)
{
	PyObject *args = Py_BuildValue("(is)", (int)-err, unimem_last_error());

	if (args) {
		PyErr_SetObject(PyExc_OSError, args);
		Py_DECREF(args);
	}
	return NULL;
}

static int parse_location(PyObject *obj, unimem_location_t *loc)
{
	if (obj == Py_None) {
		*loc = UNIMEM_LOC_NONE;
		return 1;
	}
	if (PyLong_Check(obj)) {
		unsigned long v = PyLong_AsUnsignedLong(obj);
		if (PyErr_Occurred())
			return 0;
		*loc = (unimem_location_t)v;
		return 1;
	}
	if (PyUnicode_Check(obj)) {
		const char *s = PyUnicode_AsUTF8(obj);
		if (!s)
			return 0;
		if (unimem_location_parse(s, loc) < 0) {
			PyErr_Format(PyExc_ValueError, "%s", unimem_last_error());
			return 0;
		}
		return 1;
	}
	PyErr_SetString(PyExc_TypeError, "a location is a name (\"node0\", \"unimem1\", "
			"\"system\", \"current\"), an int or None");
	return 0;
}

static PyObject *location_str(unimem_location_t loc)
{
	char buf[32];

	return PyUnicode_FromString(unimem_location_name(loc, buf, sizeof(buf)));
}

/* The bytes an array's elements span (any strides), widened by nothing:
 * the library widens to pages. */
static int array_span(PyObject *obj, const char **start, size_t *size)
{
	PyArrayObject *a;
	npy_intp lo = 0, hi = 0;

	if (!PyArray_Check(obj)) {
		PyErr_SetString(PyExc_TypeError, "expected a numpy.ndarray");
		return -1;
	}
	a = (PyArrayObject *)obj;
	if (PyArray_SIZE(a) == 0) {
		PyErr_SetString(PyExc_ValueError, "the array is empty: no memory to act on");
		return -1;
	}
	for (int d = 0; d < PyArray_NDIM(a); d++) {
		npy_intp ext = (PyArray_DIM(a, d) - 1) * PyArray_STRIDE(a, d);
		if (ext < 0)
			lo += ext;
		else
			hi += ext;
	}
	*start = (const char *)PyArray_DATA(a) + lo;
	*size = (size_t)(hi - lo + PyArray_ITEMSIZE(a));
	return 0;
}

/* array_span(), and the number of pages it touches. */
static int array_pages(PyObject *obj, const char **start, size_t *size, size_t *npages)
{
	uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE), first, last;

	if (array_span(obj, start, size) < 0)
		return -1;
	first = (uintptr_t)*start & ~(ps - 1);
	last = ((uintptr_t)*start + *size + ps - 1) & ~(ps - 1);
	*npages = (last - first) / ps;
	return 0;
}

/* ---- module functions --------------------------------------------------- */

static PyObject *py_install(PyObject *self, PyObject *noargs)
{
	(void)self;
	(void)noargs;
	return PyDataMem_SetHandler(handler_capsule); /* the old one */
}

static PyObject *py_set_handler(PyObject *self, PyObject *arg)
{
	(void)self;
	return PyDataMem_SetHandler(arg == Py_None ? NULL : arg);
}

static PyObject *py_installed(PyObject *self, PyObject *noargs)
{
	PyObject *cur = PyDataMem_GetHandler();
	int ours;

	(void)self;
	(void)noargs;
	if (!cur)
		return NULL;
	ours = PyCapsule_GetPointer(cur, "mem_handler") == &handler;
	Py_DECREF(cur);
	return PyBool_FromLong(ours);
}

static PyObject *py_set_placement(PyObject *self, PyObject *arg)
{
	unimem_location_t loc, old = placement;
	struct unimem_location_info info;

	(void)self;
	if (!parse_location(arg, &loc))
		return NULL;
	if (loc == UNIMEM_LOC_HOST_CURRENT)
		loc = unimem_location_current(); /* where this thread runs now */
	if (loc != UNIMEM_LOC_NONE) {
		int err = unimem_location_query(loc, &info);
		if (err < 0)
			return um_raise(err);
	}
	placement = loc;
	return location_str(old);
}

static PyObject *py_placement(PyObject *self, PyObject *noargs)
{
	(void)self;
	(void)noargs;
	return location_str(placement);
}

static PyObject *py_prefetch(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *names[] = { "array", "location", "discard", NULL };
	PyObject *arr, *locobj;
	int discard = 0;
	unimem_location_t loc;
	const char *p;
	size_t size;
	long r;

	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|p", names, &arr, &locobj, &discard) ||
	    !parse_location(locobj, &loc) || array_span(arr, &p, &size) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	r = unimem_prefetch(p, size, loc, discard ? UNIMEM_PREFETCH_DISCARD : 0);
	Py_END_ALLOW_THREADS
	if (r < 0)
		return um_raise(r);
	return PyLong_FromLong(r);
}

/* Many arrays, each to its own location, in one unimem_prefetch_batch_to(). */
static PyObject *py_prefetch_batch(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *names[] = { "pairs", "discard", NULL };
	struct unimem_range_to *r;
	PyObject *pairs, *seq;
	Py_ssize_t n;
	int discard = 0;
	long res;

	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p", names, &pairs, &discard))
		return NULL;
	seq = PySequence_Fast(pairs, "prefetch_batch: expected a sequence of (array, location)");
	if (!seq)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	r = PyMem_Calloc(n ? (size_t)n : 1, sizeof(*r));
	if (!r) {
		Py_DECREF(seq);
		return PyErr_NoMemory();
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *pair = PySequence_Fast_GET_ITEM(seq, i), *arr, *loc;
		const char *p;

		if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
			PyErr_Format(PyExc_TypeError, "prefetch_batch: item %zd is not an "
				     "(array, location) pair", i);
			goto fail;
		}
		arr = PyTuple_GET_ITEM(pair, 0);
		loc = PyTuple_GET_ITEM(pair, 1);
		if (array_span(arr, &p, &r[i].size) < 0 || !parse_location(loc, &r[i].loc))
			goto fail;
		r[i].ptr = p;
	}
	Py_BEGIN_ALLOW_THREADS
	res = unimem_prefetch_batch_to(r, (size_t)n, discard ? UNIMEM_PREFETCH_DISCARD : 0);
	Py_END_ALLOW_THREADS
	PyMem_Free(r);
	Py_DECREF(seq);
	if (res < 0)
		return um_raise(res);
	return PyLong_FromLong(res);
fail:
	PyMem_Free(r);
	Py_DECREF(seq);
	return NULL;
}

static PyObject *py_discard(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *names[] = { "array", "lazy", NULL };
	PyObject *arr;
	int lazy = 0;
	const char *p;
	size_t size;
	long r;

	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p", names, &arr, &lazy) ||
	    array_span(arr, &p, &size) < 0)
		return NULL;
	r = unimem_discard(p, size, lazy ? UNIMEM_DISCARD_LAZY : 0);
	if (r < 0)
		return um_raise(r);
	return PyLong_FromLong(r);
}

static const struct {
	const char *name;
	enum unimem_advice advice;
} advices[] = {
	{ "preferred_location", UNIMEM_ADVISE_SET_PREFERRED_LOCATION },
	{ "unset_preferred_location", UNIMEM_ADVISE_UNSET_PREFERRED_LOCATION },
	{ "accessed_by", UNIMEM_ADVISE_SET_ACCESSED_BY },
	{ "unset_accessed_by", UNIMEM_ADVISE_UNSET_ACCESSED_BY },
	{ "read_mostly", UNIMEM_ADVISE_SET_READ_MOSTLY },
	{ "unset_read_mostly", UNIMEM_ADVISE_UNSET_READ_MOSTLY },
};

static PyObject *py_advise(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *names[] = { "array", "advice", "location", NULL };
	PyObject *arr, *locobj = Py_None;
	const char *what, *p;
	unimem_location_t loc;
	size_t size, i, n = sizeof(advices) / sizeof(advices[0]);
	int err;

	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "Os|O", names, &arr, &what, &locobj) ||
	    !parse_location(locobj, &loc) || array_span(arr, &p, &size) < 0)
		return NULL;
	for (i = 0; i < n && strcmp(advices[i].name, what) != 0; i++)
		;
	if (i == n)
		return PyErr_Format(PyExc_ValueError, "unknown advice \"%s\" (preferred_location, "
				    "accessed_by, read_mostly, or unset_ one of them)", what);
	err = unimem_advise(p, size, advices[i].advice, loc);
	if (err < 0)
		return um_raise(err);
	Py_RETURN_NONE;
}

static PyObject *py_location_of(PyObject *self, PyObject *arr)
{
	unimem_location_t loc;
	const char *p;
	size_t size;
	int err;

	(void)self;
	if (array_span(arr, &p, &size) < 0)
		return NULL;
	err = unimem_range_get_attr(p, size, UNIMEM_ATTR_LOCATION, &loc, sizeof(loc));
	if (err < 0)
		return um_raise(err);
	return location_str(loc);
}

static PyObject *py_page_locations(PyObject *self, PyObject *arr)
{
	unimem_location_t *locs;
	const char *p;
	size_t size, n;
	PyObject *list;
	int err;

	(void)self;
	if (array_pages(arr, &p, &size, &n) < 0)
		return NULL;
	locs = PyMem_Calloc(n, sizeof(*locs));
	if (!locs)
		return PyErr_NoMemory();
	err = unimem_range_get_attr(p, size, UNIMEM_ATTR_PAGE_LOCATIONS, locs, n * sizeof(*locs));
	if (err < 0) {
		PyMem_Free(locs);
		return um_raise(err);
	}
	list = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; list && i < n; i++) {
		PyObject *s = location_str(locs[i]);
		if (!s) {
			Py_CLEAR(list);
			break;
		}
		PyList_SET_ITEM(list, (Py_ssize_t)i, s);
	}
	PyMem_Free(locs);
	return list;
}

/*
 * The NUMA node of each page the array touches, from the kernel itself
 * (move_pages() with no target nodes: a query), not from the library's
 * providers: tests check unimem's own page_locations() against it. An
 * entry is the node, or a negative errno (-ENOENT: not populated, -EFAULT:
 * not mapped or not a host page, e.g. on a unimem device).
 */
static PyObject *py_page_nodes(PyObject *self, PyObject *arr)
{
	long ps = sysconf(_SC_PAGESIZE);
	uintptr_t first;
	const char *p;
	size_t size, n;
	void **pages;
	int *status;
	PyObject *list = NULL;
	long r;

	(void)self;
	if (array_pages(arr, &p, &size, &n) < 0)
		return NULL;
	first = (uintptr_t)p & ~(uintptr_t)(ps - 1);
	pages = PyMem_Calloc(n, sizeof(*pages));
	status = PyMem_Calloc(n, sizeof(*status));
	if (!pages || !status) {
		PyErr_NoMemory();
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		pages[i] = (void *)(first + i * (size_t)ps);
	Py_BEGIN_ALLOW_THREADS
	r = syscall(SYS_move_pages, 0, (unsigned long)n, pages, NULL, status, 0);
	Py_END_ALLOW_THREADS
	if (r < 0) {
		PyErr_SetFromErrno(PyExc_OSError);
		goto out;
	}
	list = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; list && i < n; i++) {
		PyObject *v = PyLong_FromLong(status[i]);
		if (!v) {
			Py_CLEAR(list);
			break;
		}
		PyList_SET_ITEM(list, (Py_ssize_t)i, v);
	}
out:
	PyMem_Free(pages);
	PyMem_Free(status);
	return list;
}

static PyObject *info_dict(const struct unimem_location_info *in)
{
	static const char *kinds[] = { "none", "host", "device", "system", "mixed", "current" };
	unsigned kind = UNIMEM_LOC_KIND(in->location);

	return Py_BuildValue("{s:s,s:s,s:K,s:K,s:i,s:O,s:O,s:K,s:K}",
			     "name", in->name,
			     "kind", kind < 6 ? kinds[kind] : "unknown",
			     "total_bytes", (unsigned long long)in->total_bytes,
			     "free_bytes", (unsigned long long)in->free_bytes,
			     "cpus", in->nearest_cpu_count,
			     "cpuless", (in->flags & UNIMEM_LOCF_CPULESS) ? Py_True : Py_False,
			     "cpu_access", (in->flags & UNIMEM_LOCF_CPU_ACCESS) ? Py_True : Py_False,
			     "bandwidth_mibps", (unsigned long long)in->bandwidth_mibps,
			     "latency_ns", (unsigned long long)in->latency_ns);
}

static PyObject *py_locations(PyObject *self, PyObject *noargs)
{
	int n = unimem_location_count();
	PyObject *list;

	(void)self;
	(void)noargs;
	if (n < 0)
		return um_raise(n);
	list = PyList_New(n);
	for (int i = 0; list && i < n; i++) {
		struct unimem_location_info info;
		int err = unimem_location_get(i, &info);
		PyObject *d;

		if (err < 0) {
			Py_DECREF(list);
			return um_raise(err);
		}
		d = info_dict(&info);
		if (!d) {
			Py_CLEAR(list);
			break;
		}
		PyList_SET_ITEM(list, i, d);
	}
	return list;
}

static PyObject *py_location_info(PyObject *self, PyObject *arg)
{
	struct unimem_location_info info;
	unimem_location_t loc;
	int err;

	(void)self;
	if (!parse_location(arg, &loc))
		return NULL;
	err = unimem_location_query(loc, &info);
	if (err < 0)
		return um_raise(err);
	return info_dict(&info);
}

static PyObject *py_best(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *names[] = { "metric", "host_only", NULL };
	static const struct {
		const char *name;
		enum unimem_location_metric m;
	} metrics[] = {
		{ "capacity", UNIMEM_METRIC_CAPACITY }, { "free", UNIMEM_METRIC_FREE },
		{ "bandwidth", UNIMEM_METRIC_BANDWIDTH }, { "latency", UNIMEM_METRIC_LATENCY },
	};
	const char *what;
	int host_only = 0, err;
	unimem_location_t loc;

	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|p", names, &what, &host_only))
		return NULL;
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (strcmp(metrics[i].name, what) == 0) {
			err = unimem_location_best(metrics[i].m,
						   host_only ? UNIMEM_SELECT_HOST : 0, &loc);
			if (err == -ENODATA)
				Py_RETURN_NONE;
			if (err < 0)
				return um_raise(err);
			return location_str(loc);
		}
	return PyErr_Format(PyExc_ValueError, "unknown metric \"%s\" (capacity, free, "
			    "bandwidth, latency)", what);
}

static PyObject *py_current(PyObject *self, PyObject *noargs)
{
	(void)self;
	(void)noargs;
	return location_str(unimem_location_current());
}

static PyObject *py_collect(PyObject *self, PyObject *noargs)
{
	(void)self;
	(void)noargs;
	return PyLong_FromSize_t(unimem_collect());
}

/* Is there a live unimem allocation at this address? (for tests) */
static PyObject *py_is_live(PyObject *self, PyObject *arg)
{
	struct unimem_ptr_info info;
	void *p = PyLong_AsVoidPtr(arg);

	(void)self;
	if (!p && PyErr_Occurred())
		return NULL;
	return PyBool_FromLong(unimem_ptr_info(p, &info) == 0);
}

/* Pages of [addr, addr + size) resident in this process (mincore); 0 if
 * the range is not mapped at all. For tests of memory given back. */
static PyObject *py_resident_pages(PyObject *self, PyObject *args)
{
	unsigned long long addr, size;
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char vec[256];
	size_t n = 0;

	(void)self;
	if (!PyArg_ParseTuple(args, "KK", &addr, &size))
		return NULL;
	addr &= ~(unsigned long long)(ps - 1);
	for (unsigned long long off = 0; off < size; off += 256ull * (unsigned long long)ps) {
		size_t len = size - off < 256ull * (unsigned long long)ps ? size - off
									: 256ull * (unsigned long long)ps;
		if (mincore((void *)(uintptr_t)(addr + off), len, vec) < 0)
			continue; /* unmapped: nothing resident */
		for (size_t i = 0; i < (len + (size_t)ps - 1) / (size_t)ps; i++)
			n += vec[i] & 1;
	}
	return PyLong_FromSize_t(n);
}

static PyMethodDef methods[] = {
	{ "install", py_install, METH_NOARGS,
	  "install() -> old handler: make unimem NumPy's data allocator in this context." },
	{ "set_handler", py_set_handler, METH_O,
	  "set_handler(capsule or None) -> old handler: put a handler back (None: NumPy's default)." },
	{ "installed", py_installed, METH_NOARGS,
	  "installed() -> bool: unimem is this context's NumPy data allocator." },
	{ "set_placement", py_set_placement, METH_O,
	  "set_placement(location) -> old: where this thread's new arrays go (None: default)." },
	{ "placement", py_placement, METH_NOARGS, "placement() -> this thread's placement." },
	{ "prefetch", (PyCFunction)(void (*)(void))py_prefetch, METH_VARARGS | METH_KEYWORDS,
	  "prefetch(array, location, discard=False) -> pages at location: move its pages "
	  "now (discard: drop the contents, pages arrive zero-filled)." },
	{ "prefetch_batch", (PyCFunction)(void (*)(void))py_prefetch_batch,
	  METH_VARARGS | METH_KEYWORDS,
	  "prefetch_batch([(array, location), ...], discard=False) -> pages at their "
	  "locations: every array to its own location in one unordered batch." },
	{ "discard", (PyCFunction)(void (*)(void))py_discard, METH_VARARGS | METH_KEYWORDS,
	  "discard(array, lazy=False) -> whole pages dropped: contents become zeros "
	  "(lazy: MADV_FREE, zeros or old until written)." },
	{ "advise", (PyCFunction)(void (*)(void))py_advise, METH_VARARGS | METH_KEYWORDS,
	  "advise(array, advice, location=None): preferred_location, accessed_by, "
	  "read_mostly, or unset_ one of them." },
	{ "location_of", py_location_of, METH_O,
	  "location_of(array) -> where its pages are: a name, \"mixed\" or \"none\"." },
	{ "page_locations", py_page_locations, METH_O,
	  "page_locations(array) -> the location of each page it touches." },
	{ "page_nodes", py_page_nodes, METH_O,
	  "page_nodes(array) -> the NUMA node of each page it touches, as the kernel "
	  "(move_pages) sees it; a negative errno for a page not on a host node." },
	{ "locations", py_locations, METH_NOARGS,
	  "locations() -> list of dicts: name, kind, total_bytes, free_bytes, cpus, cpuless, "
	  "cpu_access, bandwidth_mibps, latency_ns (0: unknown)." },
	{ "location_info", py_location_info, METH_O, "location_info(location) -> dict." },
	{ "best", (PyCFunction)(void (*)(void))py_best, METH_VARARGS | METH_KEYWORDS,
	  "best(metric, host_only=False) -> name or None: capacity, free, bandwidth, latency." },
	{ "current", py_current, METH_NOARGS, "current() -> the calling thread's node." },
	{ "collect", py_collect, METH_NOARGS, "collect() -> bytes given back to the OS." },
	{ "is_live", py_is_live, METH_O, "is_live(address) -> a live unimem allocation is there." },
	{ "resident_pages", py_resident_pages, METH_VARARGS,
	  "resident_pages(address, size) -> pages resident (mincore)." },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef moddef = {
	PyModuleDef_HEAD_INIT, "_unimem",
	"NumPy on unimem: the data allocator and the hints (see the unimem package).", -1,
	methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__unimem(void)
{
	PyObject *m;

	import_array();
	m = PyModule_Create(&moddef);
	if (!m)
		return NULL;
	handler_capsule = PyCapsule_New(&handler, "mem_handler", NULL);
	if (!handler_capsule || PyModule_AddObjectRef(m, "handler", handler_capsule) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	PyModule_AddIntConstant(m, "API_VERSION", unimem_version());
	return m;
}
