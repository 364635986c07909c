# SPDX-License-Identifier: MIT
"""NumPy on unimem.

    import numpy as np, unimem
    unimem.install()                      # NumPy's data allocator is unimem
    with unimem.on("node1"):              # new arrays placed on node1
        a = np.zeros(1 << 20)
    unimem.prefetch(a, "current")         # move its pages where we run
    unimem.location_of(a)                 # "node0"
    unimem.advise(a, "read_mostly")
    [l["name"] for l in unimem.locations()]

Locations are names: "nodeN" (host NUMA node), "unimemN" (device of the
kernel module), "system" (any host memory), "current" (the node of the
calling thread, resolved at the call). The allocator is installed per
context (NumPy keeps it in a context variable: a new thread starts with
NumPy's default); every array is freed by the allocator that made it.
"""
import contextlib

from ._unimem import (API_VERSION, advise, best, collect, current, discard,  # noqa: F401
                      install, installed, is_live, location_info, location_of,
                      locations, page_locations, page_nodes, placement, prefetch,
                      prefetch_batch, resident_pages, set_handler, set_placement)

_default_handler = None


def uninstall():
    """Put NumPy's default allocator back in this context."""
    set_handler(None)


@contextlib.contextmanager
def on(location):
    """Place the arrays this thread creates inside the block on @location
    (unimem is NumPy's allocator inside it; what was before comes back)."""
    previous = set_placement(location)
    old = install()
    try:
        yield
    finally:
        set_handler(old)
        set_placement(None if previous == "none" else previous)
