#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# testkernel.sh - provide a test kernel for the VM tests and print its
# directory. The directory holds:
#   bzImage      the kernel (CONFIG_DEVICE_PRIVATE=y, see config/)
#   build/       its external-module build tree (KDIR for unimem.ko)
#   test_hmm.ko  the kernel's own HMM test driver, the peer
#   hmm-tests    the kernel's tools/testing/selftests/mm/hmm-tests, static,
#                from the same source version
#   release      the kernel release string
#
# Usage: testkernel.sh [debug|release] [6.12|7.3]
#
# The kernels: 6.12 is Debian 13's LTS kernel (the source is Debian 12's
# linux-source-6.12 package, the same 6.12.y); 7.3 is Debian 13's backports
# kernel (linux-source-7.3 from trixie-backports, fetched through the
# private sources list of tools/debian/archive.sh).
#
# Where it comes from, in order:
#   1. a prebuilt kit: bzImage, build.tar.xz and test_hmm.ko, as
#      ../shared/testkernel*/ have, named by
#        6.12: UNIMEM_TESTKERNEL (debug), UNIMEM_TESTKERNEL_RELEASE (release)
#        7.3:  UNIMEM_TESTKERNEL_7_3, UNIMEM_TESTKERNEL_7_3_RELEASE
#      and unpacked once into the cache;
#   2. otherwise built from the Debian source package with the fragments in
#      config/, once per machine: cached under ~/.cache/unimem/testkernel/,
#      keyed by the source package version and the fragments.
# Progress goes to stderr; stdout is only the directory.
set -euo pipefail

flavor=${1:-debug}
series=${2:-6.12}
case "$flavor/$series" in
debug/6.12) prebuilt=${UNIMEM_TESTKERNEL:-} ;;
release/6.12) prebuilt=${UNIMEM_TESTKERNEL_RELEASE:-} ;;
debug/7.3) prebuilt=${UNIMEM_TESTKERNEL_7_3:-} ;;
release/7.3) prebuilt=${UNIMEM_TESTKERNEL_7_3_RELEASE:-} ;;
*) echo "usage: $0 [debug|release] [6.12|7.3]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
archive=$here/../debian/archive.sh
cache=${UNIMEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unimem}
jobs=${UNIMEM_JOBS:-$(nproc)}
package=linux-source-$series

log() { echo "testkernel: $*" >&2; }
die() { echo "testkernel: error: $*" >&2; exit 1; }

# The source package's .deb path (6.12: installed on the host by setup.sh;
# 7.3: downloaded from Debian 13 into the cache).
source_deb_version() {
	case "$series" in
	6.12)
		dpkg-query -W -f='${Version}' "$package" 2>/dev/null ||
			die "$package is not installed (run scripts/setup.sh)"
		;;
	*)
		local deb
		deb=$("$archive" download "$cache/debs" "$package" | tail -n 1)
		dpkg-deb -f "$deb" Version
		;;
	esac
}

# The source tarball of $package, version $1.
source_tarball() {
	local ver=$1 deb tarball
	case "$series" in
	6.12) echo "/usr/src/$package.tar.xz" ;;
	*)
		tarball=$cache/debs/$package-$ver.tar.xz
		if [ ! -f "$tarball" ]; then
			deb=$("$archive" download "$cache/debs" "$package" | tail -n 1)
			dpkg-deb --fsys-tarfile "$deb" |
				tar -xO "./usr/src/$package.tar.xz" > "$tarball.tmp"
			mv "$tarball.tmp" "$tarball"
		fi
		echo "$tarball"
		;;
	esac
}

# Extract the kernel source once per source version: all of it (to build
# the kernel) or only what hmm-tests needs (for a prebuilt kit).
ensure_source() {
	local what=$1 ver tarball src top
	ver=$(source_deb_version)
	src=$cache/src/$package-$ver
	[ -f "$src/.unimem-extracted" ] && { echo "$src"; return; }
	[ "$what" = tests ] && src=$src-tests
	if [ ! -f "$src/.unimem-extracted" ]; then
		tarball=$(source_tarball "$ver")
		[ -f "$tarball" ] || die "$tarball missing"
		log "extracting $tarball ($what, version $ver)"
		rm -rf "$src.tmp"
		mkdir -p "$src.tmp"
		top=$package
		if [ "$what" = tests ]; then
			tar -xJf "$tarball" -C "$src.tmp" --strip-components=1 \
				"$top/tools" "$top/include/uapi" "$top/lib/test_hmm_uapi.h" \
				"$top/mm/gup_test.h"
		else
			tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
		fi
		rm -rf "$src"
		mv "$src.tmp" "$src"
		touch "$src/.unimem-extracted"
	fi
	echo "$src"
}

# hmm-tests from the same source, built static so the initramfs needs no libc.
build_hmm_tests() {
	local src=$1 out=$2 mm=$1/tools/testing/selftests/mm
	local -a srcs=("$mm/hmm-tests.c" "$mm/vm_util.c")
	local -a incs=(-I "$src" -I "$src/tools/include/uapi")
	[ -x "$out/hmm-tests" ] && return 0
	log "building hmm-tests ($series)"
	# 6.19+ selftests share THP helpers and the tools/include headers.
	if [ -f "$mm/hugepage_settings.c" ]; then
		srcs+=("$mm/hugepage_settings.c")
		incs+=(-I "$src/tools/testing/selftests" -I "$src/tools/include")
	fi
	# (the selftest's own warnings go to the log, shown only on failure)
	if ! gcc -static -O2 -o "$out/hmm-tests.tmp" "${incs[@]}" "${srcs[@]}" \
		-lrt -lpthread -lm > "$out/hmm-tests.log" 2>&1; then
		cat "$out/hmm-tests.log" >&2
		die "building hmm-tests failed"
	fi
	mv "$out/hmm-tests.tmp" "$out/hmm-tests"
}

from_prebuilt() {
	local kit=$1 key dir
	for f in bzImage build.tar.xz test_hmm.ko; do
		[ -f "$kit/$f" ] || die "$kit/$f missing (a kit holds bzImage, build.tar.xz, test_hmm.ko)"
	done
	key=$(cat "$kit/bzImage" "$kit/test_hmm.ko" | sha256sum | cut -c1-16)
	dir=$cache/testkernel/prebuilt-$series-$flavor-$key
	if [ ! -f "$dir/.unimem-ready" ]; then
		log "unpacking prebuilt $series $flavor kit from $kit"
		if [ -f "$kit/SHA256SUMS" ]; then
			(cd "$kit" && sha256sum --quiet -c SHA256SUMS) >&2 ||
				die "$kit: checksums do not match"
		fi
		rm -rf "$dir"
		mkdir -p "$dir"
		cp "$kit/bzImage" "$kit/test_hmm.ko" "$dir/"
		tar -xJf "$kit/build.tar.xz" -C "$dir"
		[ -f "$dir/build/Makefile" ] || die "$kit/build.tar.xz has no build/ tree"
		make -s -C "$dir/build" kernelrelease > "$dir/release" 2>/dev/null ||
			strings "$dir/bzImage" | grep -m1 -oE '^[0-9]+\.[0-9]+\.[0-9]+[^ ]*' > "$dir/release"
		case "$(cat "$dir/release")" in
		"$series".*) ;;
		*) die "$kit holds kernel $(cat "$dir/release"), not $series" ;;
		esac
		build_hmm_tests "$(ensure_source tests)" "$dir"
		touch "$dir/.unimem-ready"
	fi
	echo "$dir"
}

# Check that the options the project depends on survived olddefconfig.
check_config() {
	local cfg=$1 missing=
	for opt in ZONE_DEVICE DEVICE_PRIVATE HMM_MIRROR MIGRATION NUMA ACPI_NUMA \
		NUMA_EMU TRANSPARENT_HUGEPAGE USERFAULTFD MODULES MODULE_UNLOAD DEVTMPFS; do
		grep -q "^CONFIG_$opt=y" "$cfg" || missing="$missing $opt"
	done
	grep -q '^CONFIG_TEST_HMM=m' "$cfg" || missing="$missing TEST_HMM(m)"
	if [ "$flavor" = debug ]; then
		for opt in KASAN PROVE_LOCKING DEBUG_VM; do
			grep -q "^CONFIG_$opt=y" "$cfg" || missing="$missing $opt"
		done
	fi
	[ -z "$missing" ] || die "kernel config lacks:$missing"
}

from_source() {
	local src ver key dir obj
	src=$(ensure_source full)
	ver=$(source_deb_version)
	# Bump recipe when the way the kernel is built changes.
	local recipe=1
	key=$(cat "$here/config/common.config" "$here/config/$flavor.config" \
		<(echo "$package $ver recipe $recipe") | sha256sum | cut -c1-16)
	dir=$cache/testkernel/built-$series-$flavor-$key
	if [ -f "$dir/.unimem-ready" ]; then
		echo "$dir"
		return
	fi
	obj=$dir/build
	mkdir -p "$obj"
	log "building the $flavor kernel from $package $ver in $obj (-j$jobs)"
	local t0=$SECONDS
	make -s -C "$src" O="$obj" x86_64_defconfig >&2
	make -s -C "$src" O="$obj" kvm_guest.config >&2
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
		"$here/config/common.config" "$here/config/$flavor.config" \
		> "$dir/merge_config.log" 2>&1 || { cat "$dir/merge_config.log" >&2; exit 1; }
	make -s -C "$src" O="$obj" olddefconfig >&2
	check_config "$obj/.config"
	make -s -C "$src" O="$obj" -j"$jobs" bzImage modules >&2
	log "kernel built in $((SECONDS - t0)) s"
	cp "$obj/arch/x86/boot/bzImage" "$dir/bzImage"
	cp "$obj/lib/test_hmm.ko" "$dir/test_hmm.ko"
	make -s -C "$src" O="$obj" kernelrelease > "$dir/release"
	build_hmm_tests "$src" "$dir"
	touch "$dir/.unimem-ready"
	echo "$dir"
}

mkdir -p "$cache/testkernel" "$cache/src"
if [ -n "$prebuilt" ]; then
	from_prebuilt "$prebuilt"
else
	from_source
fi
