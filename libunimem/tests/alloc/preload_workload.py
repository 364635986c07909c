# SPDX-License-Identifier: MIT
"""An allocation-heavy Python workload, run under LD_PRELOAD of
libunimem-preload.so: dicts, lists, strings, a few threads. Exits non-zero
if the results are wrong or if unimem is not the process's malloc."""
import ctypes
import sys
import threading


class PtrInfo(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("size", ctypes.c_size_t),
                ("requested", ctypes.c_uint32), ("location", ctypes.c_uint32),
                ("region", ctypes.c_void_p), ("region_size", ctypes.c_size_t)]


def check_preload():
    libc = ctypes.CDLL(None)
    try:
        ptr_info = libc.unimem_ptr_info
    except AttributeError:
        sys.exit("unimem_ptr_info not found: libunimem-preload.so is not loaded")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    ptr_info.argtypes = [ctypes.c_void_p, ctypes.POINTER(PtrInfo)]
    p = libc.malloc(1000)
    info = PtrInfo()
    rc = ptr_info(p, ctypes.byref(info))
    libc.free(p)
    if rc != 0 or info.base != p:
        sys.exit("malloc'd pointer is not a unimem allocation (rc=%d)" % rc)


def churn(seed, out, idx):
    d = {}
    for i in range(60000):
        d["k%d-%d" % (seed, i)] = [i, str(i) * (i % 5), (i, seed)]
        if i % 3 == 0:
            d.pop("k%d-%d" % (seed, i // 2), None)
    total = sum(v[0] for v in d.values())
    out[idx] = (len(d), total)


def main():
    check_preload()
    results = [None] * 4
    threads = [threading.Thread(target=churn, args=(s, results, s)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = [None] * 4
    for s in range(4):
        churn(s, expected, s)
    if results != expected:
        sys.exit("threaded results differ: %r vs %r" % (results, expected))
    words = sorted(set(" ".join(str(i * 7919 % 10007) for i in range(200000)).split()))
    if len(words) != 10007:
        sys.exit("word count %d" % len(words))
    big = bytearray(8 << 20)
    big[-1] = 7
    big2 = big + big
    if len(big2) != 16 << 20 or big2[-1] != 7:
        sys.exit("bytearray concat")
    print("python workload under unimem preload: ok", results[0])


main()
