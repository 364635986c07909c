#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turn unimem_alloc_bench JSON output into the markdown table of
docs/PERFORMANCE.md: CPU ns per malloc+free pair for each allocator (for
cross-thread: CPU time of the whole process, both threads), the median of
the repetitions when there are several, and unimem's time divided by each
peer's (below 1.00: unimem is faster)."""
import json
import sys


def main(path):
    data = json.load(open(path))
    ns = {}  # (mode, size) -> {allocator: ns per item}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"]).split("/real_time")[0].split("/process_time")[0]
        mode, size, alloc = name.split("/")[:3]
        per_item = 1e9 / b["items_per_second"]
        ns.setdefault((mode, int(size)), {})[alloc] = per_item
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


main(sys.argv[1])
