#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kmod-compile-check.sh KDIR OUTDIR - compile unimem.ko against a kernel's
# headers (Debian's distribution kernels: 6.1 LTS and 6.12). Those kernels
# ship with CONFIG_DEVICE_PRIVATE off, so this only proves the module
# compiles there: modpost's unresolved HMM symbols are warnings, not errors.
set -euo pipefail
kdir=${1:?usage: $0 KDIR OUTDIR}
out=${2:?usage: $0 KDIR OUTDIR}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../kmod" && pwd)
[ -f "$kdir/Makefile" ] || { echo "no kernel build tree at $kdir" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
cp -r "$src/." "$out/"
rm -rf "$out/tests"
make -C "$out" KDIR="$kdir" KBUILD_MODPOST_WARN=1 2>&1 | tee "$out/build.log"
[ -f "$out/unimem.ko" ] || { echo "unimem.ko was not produced against $kdir" >&2; exit 1; }
if grep -E '(error|warning):' "$out/build.log" | grep -v 'undefined!' | grep -v '^WARNING: modpost'; then
	echo "compiler diagnostics against $kdir (above)" >&2
	exit 1
fi
echo "unimem.ko compiles against $(make -s -C "$kdir" kernelrelease 2>/dev/null || basename "$kdir")"
