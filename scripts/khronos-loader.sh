#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# khronos-loader.sh - provide the Khronos OpenCL ICD loader, so that the
# OpenCL layer's tests also run through it (ctest icd.*.khronos), and print
# the directory holding its libOpenCL.so.1.
#
# It comes from Debian's own package, khronos-opencl-icd-libopencl1, which
# bookworm lacks and trixie-backports has. The package is unpacked under
# the cache, not installed: it conflicts with ocl-icd-libopencl1, which the
# system keeps.
set -euo pipefail

cache=${UNIMEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unimem}
dest=$cache/khronos-icd-loader
package=khronos-opencl-icd-libopencl1

found() {
	[ -d "$dest" ] || return 0
	find "$dest" -name libOpenCL.so.1 -printf '%h\n' | head -n 1
}
lib=$(found)
if [ -n "$lib" ]; then
	echo "$lib"
	exit 0
fi

# Through the project's private apt configuration for Debian 13
# (tools/debian/archive.sh: the host's own mirror, /etc/apt untouched).
deb=$("$(dirname "${BASH_SOURCE[0]}")/../tools/debian/archive.sh" download \
	"$cache/debs" "$package" | tail -n 1)
rm -rf "$dest.new"
dpkg-deb -x "$deb" "$dest.new"
rm -rf "$dest"
mv "$dest.new" "$dest"
lib=$(found)
if [ -z "$lib" ]; then
	echo "khronos-loader: $package holds no libOpenCL.so.1" >&2
	exit 1
fi
echo "$lib"
