#!/bin/sh
# SPDX-License-Identifier: MIT
# hwloc_memattrs.sh TEST - run api_hints_ext_test on this machine's topology
# with memory attributes added (as HMAT would give them: bandwidth and
# latency of node0 from the machine's CPUs), through hwloc's XML import:
# the library's memattr path on a host whose kernel reports no HMAT.
set -eu
test=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
lstopo-no-graphics --of xml -f "$dir/topo.xml"
hwloc-annotate "$dir/topo.xml" "$dir/t1.xml" NUMANode:0 memattr Bandwidth Machine:0 12345
hwloc-annotate "$dir/t1.xml" "$dir/t2.xml" NUMANode:0 memattr Latency Machine:0 77
# THISSYSTEM: the XML is this machine, bindings and queries stay real.
HWLOC_XMLFILE="$dir/t2.xml" HWLOC_THISSYSTEM=1 "$test" --expect-node0 12345 77
