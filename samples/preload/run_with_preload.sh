#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a program plainly and on unimem's heap; the outputs must match.
set -eu
prog=$1
preload=$2
plain=$("$prog")
ours=$(LD_PRELOAD="$preload" UNIMEM_PRELOAD_STATS=1 "$prog")
echo "$ours"
[ "$plain" = "$ours" ] || { echo "outputs differ"; exit 1; }
echo "same output with and without unimem"
