#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# khronos-loader.sh - provide the Khronos OpenCL ICD loader, so that the
# OpenCL layer's tests also run through it (ctest icd.*.khronos), and print
# the directory holding its libOpenCL.so.1.
#
# It comes from Debian's own package, khronos-opencl-icd-libopencl1, which
# bookworm lacks and trixie-backports has. The package is unpacked under
# the cache, not installed: it conflicts with ocl-icd-libopencl1, which the
# system keeps. Its lists come from a private apt configuration under the
# cache, on the Debian mirror the system already uses; /etc/apt is never
# changed.
set -euo pipefail

cache=${XDG_CACHE_HOME:-$HOME/.cache}/unimem
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

apt_dir=$cache/apt-khronos-loader
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
if [ ! -s "$apt_dir/sources.list" ]; then
	# The mirror of the system's own release, e.g. bookworm's.
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' |
		awk -v rel="$codename" '$2 == rel { print $1; exit }')
	if [ -z "$mirror" ]; then
		echo "khronos-loader: no Debian mirror for '$codename' in the apt configuration" >&2
		exit 1
	fi
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie-backports main" \
		>"$apt_dir/sources.list"
fi
apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
	-o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -q >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get "${apt_opts[@]}" download -q "$package" >&2)
rm -rf "$dest.new"
dpkg-deb -x "$tmp"/"$package"_*.deb "$dest.new"
rm -rf "$dest"
mv "$dest.new" "$dest"
lib=$(found)
if [ -z "$lib" ]; then
	echo "khronos-loader: $package holds no libOpenCL.so.1" >&2
	exit 1
fi
echo "$lib"
