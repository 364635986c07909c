#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# stock-kernel.sh - a "stock Debian kernel" kit for the VM runner: Debian
# 13's own kernel (from trixie-backports) and unimem.ko built for it by DKMS,
# the way a Debian user builds it. Prints the kit directory; progress goes to
# stderr.
#
# Usage:
#   stock-kernel.sh [RELEASE]            build or refresh the kit, print its dir
#   stock-kernel.sh boot [RELEASE] [OUT] also boot it under QEMU/TCG with
#                                        tools/vm/unimem-vm and load the module
#
# RELEASE defaults to UNIMEM_STOCK_RELEASE, else the newest Debian 13 7.3
# kernel in trixie-backports (7.3.4+deb13-amd64 when written). The kit,
# ${UNIMEM_CACHE:-~/.cache/unimem}/stock-RELEASE/, holds
#   bzImage       /usr/lib/modules/RELEASE/vmlinuz of linux-binary-RELEASE
#                 (the signed image linux-image-RELEASE installs)
#   release       RELEASE
#   config        the kernel's configuration (from linux-base-RELEASE)
#   config-check.txt  the options the project cares about, as configured
#   package-version   the Debian package version
#   unimem.ko     built by dkms add/build/install in the Debian 13 chroot
#                 (tools/debian/trixie-env.sh) against linux-headers-RELEASE
#   dkms.log      what dkms add/build/install/status printed, and make.log
#   modinfo.txt   modinfo of the installed module
# The kernel part is redone when the package version changes, unimem.ko when
# the module sources (kmod/, without kmod/tests/) or the headers change.
set -euo pipefail

mode=kit
case "${1:-}" in
-h | --help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
-*) echo "usage: $0 [boot] [RELEASE] [OUT]" >&2; exit 2 ;;
esac
if [ "${1:-}" = boot ]; then
	mode=boot
	shift
fi
rel=${1:-${UNIMEM_STOCK_RELEASE:-}}
boot_out=${2:-}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${UNIMEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unimem}
debs=$cache/debs
archive=$here/archive.sh
trixie=$here/trixie-env.sh
# Bump when the way unimem.ko is built changes.
recipe=1

log() { echo "stock-kernel: $*" >&2; }
die() { echo "stock-kernel: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (the build chroot needs it)"
command -v dpkg-deb >/dev/null || die "dpkg-deb missing"
if [ -z "$rel" ]; then
	rel=$("$archive" newest '^linux-binary-7\.3\.[0-9]+\+deb13-amd64$')
	rel=${rel#linux-binary-}
fi
case "$rel" in
*/* | "") die "bad release '$rel'" ;;
esac
kit=$cache/stock-$rel

# Module sources: kmod/ without kmod/tests/ and without build outputs
# (tracked and untracked-but-not-ignored files when this is a git checkout).
kmod_files() { "$here/kmod-sources.sh"; }

kmod_hash() { "$here/kmod-sources.sh" --hash; }

# bzImage, release, config from the Debian packages, once per version.
ensure_kernel() {
	local ver bin base tmp
	ver=$("$archive" version "linux-binary-$rel")
	if [ -f "$kit/bzImage" ] && [ "$(cat "$kit/package-version" 2>/dev/null)" = "$ver" ]; then
		return 0
	fi
	log "unpacking Debian's $rel kernel ($ver)"
	mkdir -p "$kit" "$debs"
	bin=$("$archive" download "$debs" "linux-binary-$rel")
	base=$("$archive" download "$debs" "linux-base-$rel")
	tmp=$(mktemp -d "$cache/stock-unpack.XXXXXX")
	dpkg-deb -x "$bin" "$tmp"
	dpkg-deb -x "$base" "$tmp"
	[ -f "$tmp/usr/lib/modules/$rel/vmlinuz" ] || die "no vmlinuz in $bin"
	cp "$tmp/usr/lib/modules/$rel/vmlinuz" "$kit/bzImage.tmp"
	cp "$tmp/usr/lib/modules/$rel/config" "$kit/config"
	rm -rf "$tmp"
	echo "$rel" > "$kit/release"
	check_config "$kit/config" > "$kit/config-check.txt"
	mv "$kit/bzImage.tmp" "$kit/bzImage"
	echo "$ver" > "$kit/package-version"
	rm -f "$kit/.kmod-key"
}

# What the project needs from the kernel, and what decides whether an
# unsigned module loads.
check_config() {
	local cfg=$1 opt v
	for opt in DEVICE_PRIVATE ZONE_DEVICE HMM_MIRROR MIGRATION MMU_NOTIFIER \
		TRANSPARENT_HUGEPAGE NUMA MODULES MODULE_UNLOAD SERIAL_8250 \
		SERIAL_8250_CONSOLE BLK_DEV_INITRD DEVTMPFS MODULE_SIG \
		MODULE_SIG_FORCE MODULE_SIG_ALL MODULE_COMPRESS_XZ \
		SECURITY_LOCKDOWN_LSM LOCK_DOWN_KERNEL_FORCE_NONE \
		LOCK_DOWN_IN_EFI_SECURE_BOOT MODVERSIONS TEST_HMM; do
		v=$(sed -n "s/^CONFIG_$opt=//p" "$cfg")
		echo "CONFIG_$opt=${v:-n}"
	done
	for opt in DEVICE_PRIVATE SERIAL_8250 BLK_DEV_INITRD DEVTMPFS; do
		grep -q "^CONFIG_$opt=y" "$cfg" || die "$rel: CONFIG_$opt is not y"
	done
	! grep -q '^CONFIG_MODULE_SIG_FORCE=y' "$cfg" ||
		die "$rel enforces module signatures: an unsigned unimem.ko cannot load"
}

# unimem.ko by DKMS in the Debian 13 chroot.
ensure_module() {
	local key hdr hver root src out t0 f
	hdr=linux-headers-$rel
	hver=$("$archive" version "$hdr")
	# The default chroot has Debian 13's 7.3, 7.2 and 6.12 headers and the
	# 7.3 modules; another release gets its own chroot with its headers and
	# modules (installed, so that dkms install runs depmod as for a user).
	local envargs=()
	root=$("$trixie" root)
	if [ ! -d "$root/usr/src/$hdr" ] || [ ! -d "$root/usr/lib/modules/$rel/kernel" ]; then
		envargs=(-p "$hdr" -p "linux-modules-$rel")
		root=$("$trixie" "${envargs[@]}" root)
	fi
	[ -d "$root/usr/src/$hdr" ] || die "$hdr is not in the chroot $root"

	key=$( (kmod_hash; echo "$hdr $hver recipe $recipe ${root##*/}") | sha256sum | cut -c1-16)
	if [ -f "$kit/unimem.ko" ] && [ "$(cat "$kit/.kmod-key" 2>/dev/null)" = "$key" ]; then
		kmod_hash > "$kit/.kmod-hash" # what the build's stage step compares
		return 0
	fi

	src=$(mktemp -d "$cache/stock-src.XXXXXX")
	out=$(mktemp -d "$cache/stock-out.XXXXXX")
	trap 'rm -rf "$src" "$out"' EXIT
	kmod_files | while read -r f; do
		mkdir -p "$src/$(dirname "${f#kmod/}")"
		cp -p "$repo/$f" "$src/${f#kmod/}"
	done
	[ -f "$src/dkms.conf" ] || die "kmod/dkms.conf missing"
	local ver
	ver=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$src/dkms.conf")
	[ -n "$ver" ] || die "no PACKAGE_VERSION in kmod/dkms.conf"

	log "dkms add/build/install unimem/$ver for $rel in the Debian 13 chroot"
	t0=$SECONDS
	# shellcheck disable=SC2016 # expanded inside the chroot
	if ! nice "$trixie" "${envargs[@]}" run -b "$src:/work/unimem-src" -b "$out:/work/out" -- \
		/bin/bash -c '
		set -uo pipefail
		ver=$1 rel=$2
		say() { echo "# $*"; }
		run() { echo "\$ $*"; "$@"; }
		exec > /work/out/dkms.log 2>&1
		# A clean slate: forget any earlier unimem in this chroot.
		for v in $(dkms status unimem 2>/dev/null | sed -n "s|^unimem/\([^,:]*\).*|\1|p" | sort -u); do
			dkms remove "unimem/$v" --all >/dev/null 2>&1 || true
		done
		rm -rf /usr/src/unimem-* /var/lib/dkms/unimem
		say "the sources, as a user installs them"
		run cp -a /work/unimem-src "/usr/src/unimem-$ver" || exit 1
		run dkms add "unimem/$ver" || exit 1
		t0=$(date +%s)
		run dkms build "unimem/$ver" -k "$rel"; rc=$?
		say "dkms build took $(( $(date +%s) - t0 )) s (exit $rc)"
		cp "/var/lib/dkms/unimem/$ver/$rel/x86_64/log/make.log" /work/out/make.log 2>/dev/null ||
			cp "/var/lib/dkms/unimem/$ver/build/make.log" /work/out/make.log 2>/dev/null
		[ $rc = 0 ] || { say "make.log:"; cat /work/out/make.log; exit 1; }
		run dkms install "unimem/$ver" -k "$rel" || exit 1
		run dkms status
		ko=$(find "/lib/modules/$rel/updates" -name "unimem.ko*" | head -n 1)
		[ -n "$ko" ] || { say "no installed unimem.ko"; exit 1; }
		say "installed: $ko"
		case "$ko" in
		*.xz) xz -dc "$ko" > /work/out/unimem.ko ;;
		*.zst) zstd -dc "$ko" > /work/out/unimem.ko ;;
		*.gz) gzip -dc "$ko" > /work/out/unimem.ko ;;
		*) cp "$ko" /work/out/unimem.ko ;;
		esac
		run modinfo -k "$rel" unimem > /work/out/modinfo.txt 2>&1 ||
			modinfo /work/out/unimem.ko > /work/out/modinfo.txt
		' bash "$ver" "$rel"; then
		[ -f "$out/dkms.log" ] && tail -n 40 "$out/dkms.log" >&2
		die "dkms failed for $rel (log above)"
	fi
	log "dkms add/build/install took $((SECONDS - t0)) s ($(grep -o 'dkms build took [0-9]* s' "$out/dkms.log"))"
	cp "$out/dkms.log" "$kit/dkms.log"
	[ -f "$out/make.log" ] && cp "$out/make.log" "$kit/make.log"
	cp "$out/modinfo.txt" "$kit/modinfo.txt"
	cp "$out/unimem.ko" "$kit/unimem.ko.tmp"
	mv "$kit/unimem.ko.tmp" "$kit/unimem.ko"
	echo "$key" > "$kit/.kmod-key"
	kmod_hash > "$kit/.kmod-hash"
	rm -rf "$src" "$out"
	trap - EXIT
}

# Boot the kit with the VM runner and load the module.
boot_check() {
	local out=${boot_out:-$kit/boot} stage manifest
	stage=$out/stage
	manifest=$out/manifest
	local need=()
	command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
	command -v cpio >/dev/null || need+=(cpio)
	if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
		need+=(busybox-static)
	fi
	if [ ${#need[@]} -gt 0 ]; then
		log "installing on the host: ${need[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${need[@]}" >&2
	fi
	rm -rf "$stage"
	mkdir -p "$stage/modules" "$stage/tests/bin"
	cp "$kit/unimem.ko" "$stage/modules/unimem.ko"
	cat > "$stage/tests/bin/stock-load.sh" <<'EOF'
#!/bin/sh
# Load the DKMS-built unimem.ko into Debian's stock kernel and look at it.
set -e
uname -r
insmod /modules/unimem.ko ndevices=2 mem_mib=64
ls -l /dev/unimem0 /dev/unimem1
for d in /sys/class/unimem/unimem*; do
	echo "$d: mem_total_bytes=$(cat "$d/mem_total_bytes") mem_free_bytes=$(cat "$d/mem_free_bytes")"
done
grep '^unimem ' /proc/modules
echo "taint: $(cat /proc/sys/kernel/tainted)"
rmmod unimem
! grep -q '^unimem ' /proc/modules
echo "unloaded"
EOF
	chmod 755 "$stage/tests/bin/stock-load.sh"
	printf 'uname\t60\tuname -a\nstock-load\t180\tstock-load.sh\n' > "$manifest"
	log "booting $kit/bzImage under QEMU/TCG (results in $out)"
	"$repo/tools/vm/unimem-vm" run --kernel "$kit" --stage "$stage" \
		--manifest "$manifest" --out "$out" --numa none >&2 || die "the guest did not boot (see $out/console.log)"
	local t rc=0
	for t in uname stock-load; do
		"$repo/tools/vm/unimem-vm" result --out "$out" "$t" >&2 || rc=1
	done
	[ $rc = 0 ] || die "boot check failed (see $out)"
	log "boot check passed"
}

mkdir -p "$cache/debian13"
# One kit build at a time: the chroot's /usr/src and dkms tree are shared.
exec 8> "$cache/debian13/.stock-kernel.lock"
flock 8
ensure_kernel
ensure_module
exec 8>&-
[ "$mode" = kit ] || boot_check
echo "$kit"
