#!/bin/sh
# SPDX-License-Identifier: MIT
# icd.clinfo: everything the layer does not handle is forwarded untouched.
# clinfo --raw with and without the layer may differ only in what the layer
# adds: the SVM capabilities, the extension lists and the USM queries.
set -eu
layer=$1
plain=$(mktemp) layered=$(mktemp)
trap 'rm -f "$plain" "$layered"' EXIT
env -u OPENCL_LAYERS clinfo --raw >"$plain" 2>&1
OPENCL_LAYERS=$layer clinfo --raw >"$layered" 2>&1

allowed='CL_DEVICE_SVM_CAPABILITIES|CL_DEVICE_EXTENSIONS|CL_DEVICE_EXTENSIONS_WITH_VERSION|CL_DEVICE_[A-Z_]*_MEM_CAPABILITIES_INTEL'
unexpected=$(diff "$plain" "$layered" | grep '^[<>]' |
	grep -Ev "^[<>] \[[^]]*\] +($allowed) " || true)
if [ -n "$unexpected" ]; then
	echo "icd.clinfo: unexpected differences:"
	echo "$unexpected"
	exit 1
fi
fail() { echo "icd.clinfo: $*"; exit 1; }
grep -q 'CL_DEVICE_SVM_CAPABILITIES.*CL_DEVICE_SVM_FINE_GRAIN_SYSTEM' "$layered" ||
	fail "no FINE_GRAIN_SYSTEM with the layer"
grep -q 'CL_DEVICE_EXTENSIONS .*cl_intel_unified_shared_memory' "$layered" ||
	fail "no cl_intel_unified_shared_memory with the layer"
if grep -q 'FINE_GRAIN_SYSTEM\|unified_shared_memory' "$plain"; then
	fail "plain PoCL should offer neither system SVM nor USM"
fi
lines=$(wc -l <"$plain")
echo "icd.clinfo: ok ($lines lines, only the layer's additions differ)"
