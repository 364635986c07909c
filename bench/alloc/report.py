#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turn unimem_alloc_bench JSON output into the markdown tables of
docs/PERFORMANCE.md: CPU ns per malloc+free pair for each allocator (for
cross-thread and the shapes: CPU time of the whole process, all threads)
and unimem's time divided by each peer's (below 1.00: unimem is faster).
The shapes' units: churn, ns per thread started (its whole life); large and
medium, ns per block; prodcons, ns per message. Rows with a peak_rss_MiB counter
get a second table: peak RSS above the level before the run.

With repetitions, each cell is the best (minimum) of them, the floor each
allocator reaches on a shared machine; `--median` gives medians instead
(RSS: always the median)."""
import json
import statistics
import sys

ORDER = ("single", "cross", "churn", "large", "medium", "prodcons")


def key(k):
    mode, size = k
    m = ORDER.index(mode) if mode in ORDER else len(ORDER)
    return (m, int(size) if size.isdigit() else 0, size)


def main(path, use_median):
    data = json.load(open(path))
    runs = {}  # (mode, size, allocator) -> [ns per item]
    rss = {}   # (mode, size, allocator) -> [MiB]
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        name = b.get("run_name", b["name"])
        name = name.split("/real_time")[0].split("/process_time")[0]
        mode, size, alloc = name.split("/")[:3]
        runs.setdefault((mode, size, alloc), []).append(1e9 / b["items_per_second"])
        if "peak_rss_MiB" in b:
            rss.setdefault((mode, size, alloc), []).append(b["peak_rss_MiB"])
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
    for (mode, size) in sorted(ns, key=key):
        v = ns[(mode, size)]
        u = v.get("unimem")
        row = [mode, size, "%.1f" % u]
        row += ["%.1f" % v[p] if p in v else "-" for p in peers]
        row += ["%.2f" % (u / v[p]) if p in v else "-" for p in peers]
        print("| " + " | ".join(row) + " |")
    if rss:
        mib = {}
        for (mode, size, alloc), v in rss.items():
            mib.setdefault((mode, size), {})[alloc] = statistics.median(v)
        print()
        head = ["mode", "size", "unimem MiB"] + ["%s MiB" % p for p in peers] + \
            ["unimem/%s" % p for p in peers]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for (mode, size) in sorted(mib, key=key):
            v = mib[(mode, size)]
            u = v.get("unimem")
            row = [mode + " peak RSS", size, "%.1f" % u]
            row += ["%.1f" % v[p] if p in v else "-" for p in peers]
            row += ["%.2f" % (u / v[p]) if p in v else "-" for p in peers]
            print("| " + " | ".join(row) + " |")


args = [a for a in sys.argv[1:] if not a.startswith("--")]
main(args[0], "--median" in sys.argv)
