#!/bin/sh
# SPDX-License-Identifier: MIT
# hwloc is opened when the topology is first needed, not with the library:
# a program that only allocates under the preload maps neither hwloc nor
# what it brings (libudev, libm); one that asks for a location does, and
# gets its pages there.
set -eu
preload=$1
work=$2
mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

LD_PRELOAD="$preload" cat /proc/self/maps > "$work/maps-plain"
grep -q "libunimem-preload" "$work/maps-plain" || fail "the preload is not in the process"
if grep -E "libhwloc|libudev" "$work/maps-plain"; then
	fail "a program that only allocates mapped hwloc"
fi

LD_PRELOAD="$preload" UNIMEM_LOCATION=node0 UNIMEM_PRELOAD_STATS=1 \
	cat /proc/self/maps > "$work/maps-loc" 2> "$work/stats-loc"
cat "$work/stats-loc"
grep -q "location=node0" "$work/stats-loc" || fail "no location in the preload's stats"
grep -q "libhwloc" "$work/maps-loc" || fail "UNIMEM_LOCATION=node0 did not open hwloc"
echo "hwloc opened only when a location is used"
