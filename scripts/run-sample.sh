#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-sample.sh - set up, build and run the samples on the embedded default
# (no kernel module needed): vector_add with unimem_malloc, prefetch and
# advise on the host backend, the NumPy sample (python/), and the OpenCL sample through the unimem layer
# on PoCL. Either uses a unimem device when the module is loaded.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${UNIMEM_BUILD_DIR:-$top/build-sample}
"$top/scripts/setup.sh" --runtime
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DUNIMEM_BUILD_TESTS=OFF \
	-DUNIMEM_BUILD_BENCH=OFF -DUNIMEM_BUILD_KMOD=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "==== samples/vector_add"
"$build/samples/vector_add/vector_add"
echo "==== samples/numpy: NumPy on unimem"
PYTHONPATH=$build/python/pkg /usr/bin/python3 "$top/samples/numpy/heat.py"
echo "==== samples/opencl through the unimem OpenCL layer on PoCL"
export POCL_CACHE_DIR=$build/pocl-cache
OPENCL_LAYERS=$build/icd/libunimem-cl-layer.so "$build/samples/opencl/opencl_shared_list"
