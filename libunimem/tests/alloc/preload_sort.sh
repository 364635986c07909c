#!/bin/sh
# SPDX-License-Identifier: MIT
# sort(1) on a generated multi-MiB file, with and without the unimem
# preload (multi-threaded sort, small buffer so it merges temp files):
# the outputs must be identical.
set -eu
preload=$1
work=$2
mkdir -p "$work"
awk 'BEGIN { x = 12345; for (i = 0; i < 400000; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        printf "%010d line %d %s\n", x % 1000000007, i, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1) } }' \
    > "$work/input.txt"
size=$(wc -c < "$work/input.txt")
[ "$size" -gt 4000000 ] || { echo "input too small: $size"; exit 1; }
sort --parallel=2 -S 2M -T "$work" "$work/input.txt" > "$work/plain.txt"
LD_PRELOAD="$preload" UNIMEM_PRELOAD_STATS=1 \
    sort --parallel=2 -S 2M -T "$work" "$work/input.txt" > "$work/unimem.txt" 2> "$work/stats.txt"
cat "$work/stats.txt"
grep -q "unimem-preload: active" "$work/stats.txt" || { echo "preload not active"; exit 1; }
cmp "$work/plain.txt" "$work/unimem.txt"
LD_PRELOAD="$preload" sort -n -r "$work/input.txt" | LD_PRELOAD="$preload" sort | cmp - "$work/plain.txt"
echo "sort under unimem preload: identical output ($size bytes)"
