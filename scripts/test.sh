#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh - set up and run every test: unit tests, the OpenCL layer on PoCL,
# the module's compile checks against Debian's kernel headers, the VM tests
# (the module and the library in a QEMU guest on a KASAN/lockdep/DEBUG_VM
# kernel, and the kernel's own hmm-tests), then the userspace suite again
# under ASan+UBSan and under TSan.
#
# The test kernel: UNIMEM_TESTKERNEL=<dir> names a prebuilt one
# (bzImage, build.tar.xz, test_hmm.ko); without it the kernel is built from
# Debian's linux-source-6.12 once and cached (tools/testkernel/testkernel.sh).
# UNIMEM_BUILD_DIR (default build/) is where everything is built.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
build=${UNIMEM_BUILD_DIR:-$top/build}
jobs=$(nproc)

"$top/scripts/setup.sh"
kernel=$("$top/tools/testkernel/testkernel.sh" debug)
echo "test: test kernel $kernel ($(cat "$kernel/release"))"

status=0
run_suite() { # name build-dir ctest-args cmake-args...
	local name=$1 dir=$2 ctest_args=$3
	shift 3
	echo "==== $name"
	cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j"$jobs"
	# shellcheck disable=SC2086
	ctest --test-dir "$dir" --output-on-failure -j"$jobs" $ctest_args || status=1
}

run_suite "all tests (VM tests on $(cat "$kernel/release"))" "$build" "" \
	-DUNIMEM_TESTKERNEL_DIR="$kernel"
run_suite "userspace under ASan+UBSan" "$build-asan" "" \
	-DUNIMEM_SANITIZE=address,undefined
run_suite "userspace under TSan" "$build-tsan" "" \
	-DUNIMEM_SANITIZE=thread
[ "$status" = 0 ] && echo "test: all suites passed" || echo "test: FAILED (see above)"
exit "$status"
