#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh - set up and run every test: unit tests, the OpenCL layer on PoCL,
# the module's compile checks against Debian's kernel headers (6.1, 6.12,
# 7.2, 7.3), the VM tests (the module and the library in QEMU guests) on
# three kernels, then the userspace suite again under ASan+UBSan and TSan.
#
# The three kernels, every VM test on each (ctest names vm.<kernel>.<test>):
#   6.12       6.12 LTS (Debian 13's kernel), KASAN + lockdep + DEBUG_VM
#   7.3        7.3 (Debian 13's backports kernel), KASAN + lockdep + DEBUG_VM
#   7.3-stock  Debian's own linux-binary-7.3.4+deb13-amd64, with unimem.ko
#              built by DKMS in a Debian 13 chroot against Debian's headers
# The debug kernels come from prebuilt kits when UNIMEM_TESTKERNEL (6.12)
# and UNIMEM_TESTKERNEL_7_3 name them (bzImage, build.tar.xz, test_hmm.ko);
# otherwise they are built from Debian's linux-source-6.12 and
# linux-source-7.3 once and cached (tools/testkernel/testkernel.sh).
# UNIMEM_BUILD_DIR (default build/) is where everything is built.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
build=${UNIMEM_BUILD_DIR:-$top/build}
jobs=$(nproc)

"$top/scripts/setup.sh"
k612=$("$top/tools/testkernel/testkernel.sh" debug 6.12)
k73=$("$top/tools/testkernel/testkernel.sh" debug 7.3)
stock=$("$top/tools/debian/stock-kernel.sh")
kernels="6.12=$k612;7.3=$k73;7.3-stock=$stock"
for k in "$k612" "$k73" "$stock"; do
	echo "test: test kernel $(cat "$k/release"): $k"
done

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

run_suite "all tests (VM tests on 6.12, 7.3 and Debian's stock 7.3)" "$build" "" \
	-DUNIMEM_TESTKERNELS="$kernels" -DUNIMEM_DEBIAN13_CHECKS=ON
run_suite "userspace under ASan+UBSan" "$build-asan" "" \
	-DUNIMEM_SANITIZE=address,undefined
run_suite "userspace under TSan" "$build-tsan" "" \
	-DUNIMEM_SANITIZE=thread
[ "$status" = 0 ] && echo "test: all suites passed" || echo "test: FAILED (see above)"
exit "$status"
