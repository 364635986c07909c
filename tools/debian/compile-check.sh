#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# compile-check.sh - compile unimem.ko against each Debian 13 kernel headers
# package in the Debian 13 chroot (tools/debian/trixie-env.sh), with that
# kernel's own compiler (gcc-14).
#
# Usage: compile-check.sh [-o OUTDIR] [RELEASE|SERIES...]
#   RELEASE: e.g. 7.3.4+deb13-amd64; SERIES: e.g. 7.3, the newest headers of
#   that series in the default chroot; default: every linux-headers-*-amd64
#   in the default chroot (the newest 7.3, 7.2 and 6.12 in the archive:
#   `trixie-env.sh defaults`). A RELEASE the default chroot lacks gets a
#   chroot of its own with just those headers (built once, cached).
#   OUTDIR (default ${UNIMEM_CACHE:-~/.cache/unimem}/compile-check) gets
#   RELEASE/build.log and RELEASE/unimem.ko.
#
# As tools/kmod-compile-check.sh: any compiler warning or error fails. On a
# kernel with CONFIG_DEVICE_PRIVATE=y (Debian's 7.x) modpost must resolve
# every symbol; on one without it (Debian's 6.12) the module only has to
# compile, and modpost's unresolved HMM symbols are warnings.
# Exit status: 0 when every release passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${UNIMEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unimem}
trixie=$here/trixie-env.sh
out=$cache/compile-check

log() { echo "compile-check: $*" >&2; }
die() { echo "compile-check: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	-o) out=${2:?-o needs a directory}; shift 2 ;;
	-h | --help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
	*) break ;;
	esac
done

# kmod/ without kmod/tests/ and build outputs, as stock-kernel.sh copies it.
kmod_files() { "$here/kmod-sources.sh"; }

root=$("$trixie" root)
releases=()
if [ $# -eq 0 ]; then
	for d in "$root"/usr/src/linux-headers-*-amd64; do
		[ -f "$d/Makefile" ] && releases+=("${d##*/linux-headers-}")
	done
fi
for a in "$@"; do
	if [[ $a =~ ^[0-9]+\.[0-9]+$ ]]; then
		d=$(compgen -G "$root/usr/src/linux-headers-$a.*-amd64" | sort -V | tail -n 1 || true)
		[ -n "$d" ] || die "no $a headers in the default chroot $root"
		releases+=("${d##*/linux-headers-}")
	else
		releases+=("$a")
	fi
done
[ ${#releases[@]} -gt 0 ] || die "no linux-headers-*-amd64 in $root"

mkdir -p "$out"
out=$(cd "$out" && pwd)
failed=()
for rel in "${releases[@]}"; do
	kdir=/usr/src/linux-headers-$rel
	envargs=()
	croot=$root
	if [ ! -f "$root$kdir/Makefile" ]; then
		envargs=(-p "linux-headers-$rel")
		croot=$("$trixie" "${envargs[@]}" root) || { failed+=("$rel"); continue; }
	fi
	[ -f "$croot$kdir/Makefile" ] || { log "$rel: no $kdir in $croot"; failed+=("$rel"); continue; }
	dir=$out/$rel
	rm -rf "$dir"
	mkdir -p "$dir/src"
	kmod_files | while read -r f; do
		mkdir -p "$dir/src/$(dirname "${f#kmod/}")"
		cp -p "$repo/$f" "$dir/src/${f#kmod/}"
	done
	modpost=()
	strict="modpost must resolve every symbol"
	if ! grep -q '^CONFIG_DEVICE_PRIVATE=y' "$croot$kdir/.config"; then
		modpost=(KBUILD_MODPOST_WARN=1)
		strict="no CONFIG_DEVICE_PRIVATE: unresolved HMM symbols allowed"
	fi
	log "$rel: compiling ($strict)"
	t0=$SECONDS
	rc=0
	nice "$trixie" "${envargs[@]}" run -b "$dir:/work/check" -- \
		make -C /work/check/src KDIR="$kdir" "${modpost[@]}" > "$dir/build.log" 2>&1 || rc=$?
	secs=$((SECONDS - t0))
	diag=$(grep -E '(error|warning):' "$dir/build.log" |
		{ if [ ${#modpost[@]} -gt 0 ]; then grep -v 'undefined!' | grep -v '^WARNING: modpost'; else cat; fi; } || true)
	if [ $rc -ne 0 ] || [ ! -f "$dir/src/unimem.ko" ] || [ -n "$diag" ]; then
		[ -n "$diag" ] && printf '%s\n' "$diag" >&2
		[ -n "$diag" ] || tail -n 20 "$dir/build.log" >&2
		log "FAIL $rel (make exit $rc, $secs s; log: $dir/build.log)"
		failed+=("$rel")
		continue
	fi
	cp "$dir/src/unimem.ko" "$dir/unimem.ko"
	vermagic=$(modinfo -F vermagic "$dir/unimem.ko" 2>/dev/null || true)
	log "PASS $rel ($secs s; vermagic: ${vermagic:-?})"
done
if [ ${#failed[@]} -gt 0 ]; then
	log "failed: ${failed[*]}"
	exit 1
fi
log "unimem.ko compiles cleanly against: ${releases[*]}"
