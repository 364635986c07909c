#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turn unimem_alloc_bench JSON output into the markdown table of
docs/PERFORMANCE.md: CPU ns per malloc+free pair for each allocator (for
cross-thread: CPU time of the whole process, both threads) and unimem's
time divided by each peer's (below 1.00: unimem is faster).

With repetitions, each cell is the best (minimum) of them, the floor each
allocator reaches on a shared machine; `--median` gives medians instead."""
import json
import statistics
import sys


def main(path, use_median):
    data = json.load(open(path))
    runs = {}  # (mode, size, allocator) -> [ns per item]
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        name = b.get("run_name", b["name"])
        name = name.split("/real_time")[0].split("/process_time")[0]
        mode, size, alloc = name.split("/")[:3]
        runs.setdefault((mode, int(size), alloc), []).append(1e9 / b["items_per_second"])
    pick = statistics.median if use_median else min
    ns = {}
    for (mode, size, alloc), v in runs.items():
        ns.setdefault((mode, size), {})[alloc] = pick(v)
    peers = [p for p in ("glibc", "jemalloc", "mimalloc")
             if any(p in v for v in ns.values())]
    head = ["mode", "size", "unimem ns"] + ["%s ns" % p for p in peers] + \
        ["unimem/%s" % p for p in peers]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for (mode, size) in sorted(ns, key=lambda k: (k[0] != "single", k[1])):
        v = ns[(mode, size)]
        u = v.get("unimem")
        row = [mode, str(size), "%.1f" % u]
        row += ["%.1f" % v[p] if p in v else "-" for p in peers]
        row += ["%.2f" % (u / v[p]) if p in v else "-" for p in peers]
        print("| " + " | ".join(row) + " |")


args = [a for a in sys.argv[1:] if not a.startswith("--")]
main(args[0], "--median" in sys.argv)
