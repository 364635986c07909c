#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# testkernel.sh - provide a test kernel for the VM tests and print its
# directory. The directory holds:
#   bzImage      the kernel (CONFIG_DEVICE_PRIVATE=y, see config/)
#   build/       its external-module build tree (KDIR for unimem.ko)
#   test_hmm.ko  the kernel's own HMM test driver, the peer
#   hmm-tests    the kernel's tools/testing/selftests/mm/hmm-tests, static
#   release      the kernel release string
#
# Usage: testkernel.sh [debug|release]
#
# Where it comes from, in order:
#   1. a prebuilt kit named by UNIMEM_TESTKERNEL (debug) or
#      UNIMEM_TESTKERNEL_RELEASE (release): bzImage, build.tar.xz and
#      test_hmm.ko, as ../shared/testkernel/ has; unpacked once into the cache;
#   2. otherwise built from Debian's linux-source-6.12 with the fragments in
#      config/, once per machine: cached under ~/.cache/unimem/testkernel/,
#      keyed by the source package version and the fragments.
# Progress goes to stderr; stdout is only the directory.
set -euo pipefail

flavor=${1:-debug}
case "$flavor" in
debug) prebuilt=${UNIMEM_TESTKERNEL:-} ;;
release) prebuilt=${UNIMEM_TESTKERNEL_RELEASE:-} ;;
*) echo "usage: $0 [debug|release]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${UNIMEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unimem}
source_tarball=/usr/src/linux-source-6.12.tar.xz
jobs=${UNIMEM_JOBS:-$(nproc)}

log() { echo "testkernel: $*" >&2; }
die() { echo "testkernel: error: $*" >&2; exit 1; }

source_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null ||
		die "linux-source-6.12 is not installed (run scripts/setup.sh)"
}

# Extract the Debian kernel source once per source version.
ensure_source() {
	local ver src
	ver=$(source_version)
	src=$cache/src/linux-source-6.12-$ver
	if [ ! -f "$src/.unimem-extracted" ]; then
		[ -f "$source_tarball" ] || die "$source_tarball missing"
		log "extracting $source_tarball (version $ver)"
		rm -rf "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xJf "$source_tarball" -C "$src.tmp" --strip-components=1
		rm -rf "$src"
		mv "$src.tmp" "$src"
		touch "$src/.unimem-extracted"
	fi
	echo "$src"
}

# hmm-tests from the same source, built static so the initramfs needs no libc.
build_hmm_tests() {
	local src=$1 out=$2 mm=$1/tools/testing/selftests/mm
	[ -x "$out/hmm-tests" ] && return 0
	log "building hmm-tests"
	gcc -static -O2 -o "$out/hmm-tests.tmp" -I "$src" -I "$src/tools/include/uapi" \
		"$mm/hmm-tests.c" "$mm/vm_util.c" -lrt -lpthread -lm
	mv "$out/hmm-tests.tmp" "$out/hmm-tests"
}

from_prebuilt() {
	local kit=$1 key dir
	for f in bzImage build.tar.xz test_hmm.ko; do
		[ -f "$kit/$f" ] || die "$kit/$f missing (UNIMEM_TESTKERNEL must hold bzImage, build.tar.xz, test_hmm.ko)"
	done
	key=$(cat "$kit/bzImage" "$kit/test_hmm.ko" | sha256sum | cut -c1-16)
	dir=$cache/testkernel/prebuilt-$flavor-$key
	if [ ! -f "$dir/.unimem-ready" ]; then
		log "unpacking prebuilt $flavor kit from $kit"
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
		build_hmm_tests "$(ensure_source)" "$dir"
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
	src=$(ensure_source)
	ver=$(source_version)
	# Bump recipe when the way the kernel is built changes.
	local recipe=1
	key=$(cat "$here/config/common.config" "$here/config/$flavor.config" \
		<(echo "$ver recipe $recipe") | sha256sum | cut -c1-16)
	dir=$cache/testkernel/built-$flavor-$key
	if [ -f "$dir/.unimem-ready" ]; then
		echo "$dir"
		return
	fi
	obj=$dir/build
	mkdir -p "$obj"
	log "building the $flavor kernel from linux-source-6.12 $ver in $obj (-j$jobs)"
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
