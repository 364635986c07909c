#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""heat.py [N] [STEPS] - NumPy on unimem: a 2-D heat-diffusion stencil whose
working set is placed on a CPU-less memory node (CXL/HBM-like; the
largest node on a machine without one), then prefetched, before the computation, to
the node of the CPU it runs on. The scratch grid is prefetched with
discard=True: it is overwritten by the first step, so its contents are
dropped instead of copied and its pages arrive zero-filled. Verifies the
result against a plain NumPy run (NumPy's own allocator) and prints where
the pages were.

    PYTHONPATH=build/python/pkg python3 samples/numpy/heat.py 512 50
"""
import os
import sys

import numpy as np

import unimem


def step(src, dst):
    # 5-point stencil on the interior; borders stay as they are
    dst[1:-1, 1:-1] = 0.25 * (src[:-2, 1:-1] + src[2:, 1:-1] + src[1:-1, :-2] + src[1:-1, 2:])
    dst[0, :], dst[-1, :], dst[:, 0], dst[:, -1] = src[0, :], src[-1, :], src[:, 0], src[:, -1]


def initial(n):
    g = np.zeros((n, n))
    g[0, :] = 100.0           # a hot edge
    g[n // 2, n // 2] = 1e4   # and a hot spot
    return g


def solve(grid, scratch, steps):
    for _ in range(steps):
        step(grid, scratch)
        grid, scratch = scratch, grid
    return grid


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50

    print("locations:")
    for loc in unimem.locations():
        speed = (f", {loc['bandwidth_mibps']} MiB/s, {loc['latency_ns']} ns"
                 if loc["bandwidth_mibps"] else "")
        print(f"  {loc['name']:8} {loc['kind']:6} {loc['total_bytes'] >> 20} MiB, "
              f"{loc['cpus']} CPUs{', CPU-less' if loc['cpuless'] else ''}{speed}")

    # Where the data is made: a CPU-less node, else the largest host node.
    cpuless = [l["name"] for l in unimem.locations() if l["kind"] == "host" and l["cpuless"]]
    far = cpuless[0] if cpuless else unimem.best("capacity", host_only=True)
    with unimem.on(far):
        grid = initial(n)
        scratch = np.empty_like(grid)
    print(f"working set: 2 x {grid.nbytes >> 10} KiB made on {far}: "
          f"grid on {unimem.location_of(grid)}")

    # Run on one CPU; its node is where the working set goes.
    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})
    here = unimem.current()
    moved = unimem.prefetch(grid, here)
    unimem.prefetch(scratch, here, discard=True)  # overwritten: no copy
    print(f"running on cpu{cpu} ({here}): prefetched {moved} pages of the grid, "
          f"grid on {unimem.location_of(grid)}, scratch on {unimem.location_of(scratch)}")
    assert unimem.location_of(grid) == here and unimem.location_of(scratch) == here

    result = solve(grid, scratch, steps)

    # The same computation with NumPy's own allocator, for the check.
    old = unimem.set_handler(None)
    want = solve(initial(n), np.empty((n, n)), steps)
    unimem.set_handler(old)
    ok = np.allclose(result, want, rtol=0, atol=0)
    print(f"{steps} steps on {n}x{n}: total heat {result.sum():.6g}, "
          f"result {'OK' if ok else 'WRONG'}")
    return 0 if ok else 1


if __name__ == "__main__":
    unimem.install()
    sys.exit(main())
