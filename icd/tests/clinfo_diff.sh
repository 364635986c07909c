#!/bin/sh
# SPDX-License-Identifier: MIT
# icd.clinfo: everything the layer does not handle is forwarded untouched.
# clinfo --raw with and without the layer may differ only in what the layer
# adds: the SVM capabilities, the extension lists and the USM queries.
#
# PoCL derives some limits from the memory free when it starts (global
# memory, the allocation limit and the image sizes computed from it), so
# two runs can differ there whatever the layer does: those values are
# checked to be numbers in both runs, not to be equal.
set -eu
layer=$1
# Under ctest, UNIMEM_CL_LOADER_DIR names the loader clinfo must run on.
if [ -n "${UNIMEM_CL_LOADER_DIR:-}" ]; then
	loader=$(ldd "${REAL_CLINFO:-$(command -v clinfo)}" | awk '$1 == "libOpenCL.so.1" { print $3 }')
	[ "$(dirname "$(readlink -f "$loader")")" = "$(readlink -f "$UNIMEM_CL_LOADER_DIR")" ] || {
		echo "icd.clinfo: clinfo runs on $loader, expected one in $UNIMEM_CL_LOADER_DIR"
		exit 1
	}
fi
plain=$(mktemp) layered=$(mktemp)
trap 'rm -f "$plain" "$layered" "$plain.n" "$layered.n"' EXIT
env -u OPENCL_LAYERS clinfo --raw >"$plain" 2>&1
OPENCL_LAYERS=$layer clinfo --raw >"$layered" 2>&1
fail() { echo "icd.clinfo: $*"; exit 1; }

memory_derived='CL_DEVICE_(GLOBAL_MEM_SIZE|MAX_MEM_ALLOC_SIZE|IMAGE_MAX_BUFFER_SIZE|IMAGE[23]D_MAX_(WIDTH|HEIGHT|DEPTH)|LOCAL_MEM_SIZE|MAX_CONSTANT_BUFFER_SIZE)'
for f in "$plain" "$layered"; do
	grep -q "CL_DEVICE_GLOBAL_MEM_SIZE" "$f" || fail "no CL_DEVICE_GLOBAL_MEM_SIZE in $f"
	bad=$(grep -E " $memory_derived " "$f" | grep -Ev " $memory_derived +[0-9]+\$" || true)
	[ -z "$bad" ] || fail "a memory-derived value is not a number: $bad"
	sed -E "s/( $memory_derived +)[0-9]+\$/\\1<memory-derived>/" "$f" >"$f.n"
done

allowed='CL_PLATFORM_EXTENSIONS|CL_PLATFORM_EXTENSIONS_WITH_VERSION|CL_DEVICE_SVM_CAPABILITIES|CL_DEVICE_EXTENSIONS|CL_DEVICE_EXTENSIONS_WITH_VERSION|CL_DEVICE_[A-Z_]*_MEM_CAPABILITIES_INTEL'
unexpected=$(diff "$plain.n" "$layered.n" | grep '^[<>]' |
	grep -Ev "^[<>] +(\[[^]]*\] +)?($allowed) " || true)
if [ -n "$unexpected" ]; then
	echo "icd.clinfo: unexpected differences:"
	echo "$unexpected"
	exit 1
fi
grep -q 'CL_DEVICE_SVM_CAPABILITIES.*CL_DEVICE_SVM_FINE_GRAIN_SYSTEM' "$layered" ||
	fail "no FINE_GRAIN_SYSTEM with the layer"
grep -q 'CL_DEVICE_EXTENSIONS .*cl_intel_unified_shared_memory' "$layered" ||
	fail "no cl_intel_unified_shared_memory with the layer"
grep -q 'CL_DEVICE_EXTENSIONS .*cl_khr_unified_svm' "$layered" ||
	fail "no cl_khr_unified_svm with the layer"
grep -q 'CL_PLATFORM_EXTENSIONS .*cl_intel_unified_shared_memory' "$layered" ||
	fail "the platform does not list cl_intel_unified_shared_memory with the layer"
if grep -q 'FINE_GRAIN_SYSTEM\|unified_shared_memory\|unified_svm' "$plain"; then
	fail "plain PoCL should offer neither system SVM nor USM"
fi
lines=$(wc -l <"$plain")
echo "icd.clinfo: ok ($lines lines, only the layer's additions differ)"
