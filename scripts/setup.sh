#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# setup.sh [--runtime] - install what unimem needs from Debian's packages.
# Idempotent: installs only what is missing, and runs `apt-get update` only
# when something is. --runtime: just what building and running the library,
# the OpenCL layer and the samples need (no QEMU, kernel source or headers).
set -euo pipefail

runtime=(cmake make gcc g++ pkg-config python3 libc6-dev python3-dev python3-numpy
	libhwloc-dev hwloc
	ocl-icd-opencl-dev ocl-icd-dev opencl-headers pocl-opencl-icd clinfo)
full=(libbenchmark-dev libjemalloc-dev libmimalloc-dev time sqlite3 git
	qemu-system-x86 busybox-static cpio xz-utils kmod
	linux-source-6.12 flex bison bc libelf-dev libssl-dev dwarves
	linux-headers-amd64 debootstrap)

want=("${runtime[@]}")
[ "${1:-}" = "--runtime" ] || want+=("${full[@]}")

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
			echo "$p"
	done
}

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive

todo=$(missing "${want[@]}")
updated=
if [ -n "$todo" ]; then
	echo "setup: installing:" $todo
	$sudo apt-get update -q
	updated=1
	# shellcheck disable=SC2086
	$sudo apt-get install -y -q --no-install-recommends $todo
fi

# The module is also compile-checked against Debian's 6.12 kernel headers:
# the newest linux-headers-6.12.*-amd64 the archive has.
if [ "${1:-}" != "--runtime" ] && ! ls -d /usr/src/linux-headers-6.12.*-amd64 >/dev/null 2>&1; then
	[ -n "$updated" ] || $sudo apt-get update -q
	h612=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9.]+\+deb[0-9]+-amd64$' |
		awk '{print $1}' | sort -V | tail -n 1)
	if [ -n "$h612" ]; then
		echo "setup: installing $h612"
		$sudo apt-get install -y -q --no-install-recommends "$h612"
	else
		echo "setup: no linux-headers-6.12 package in the archive; skipping that compile check" >&2
	fi
fi
# The Khronos OpenCL ICD loader, unpacked under the cache (not installed),
# for the layer's tests through a second loader (icd.*.khronos).
if ! khronos=$("$(dirname "$0")/khronos-loader.sh"); then
	echo "setup: no Khronos OpenCL loader; the icd.*.khronos tests will fail" >&2
else
	echo "setup: Khronos OpenCL loader in $khronos"
fi
echo "setup: ready"
