#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kmod-sources.sh - list the module's sources (kmod/ without kmod/tests/ and
# build outputs), relative to the repository, sorted: what DKMS gets as
# /usr/src/unimem-<version>/ (stock-kernel.sh) and what compile-check.sh
# builds. In a git checkout: tracked and untracked-but-not-ignored files.
#
#   kmod-sources.sh           the list
#   kmod-sources.sh --hash    a 16-digit hash of the names and contents: a
#                             kit records it next to the unimem.ko it built
#   kmod-sources.sh --check KIT
#                             fail, saying so, when KIT's unimem.ko was built
#                             from other sources than these (KIT/.kmod-hash)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

list() {
	if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$repo" ls-files -co --exclude-standard -- kmod ':!:kmod/tests/**' |
			while read -r f; do [ -f "$repo/$f" ] && echo "$f"; done | LC_ALL=C sort
	else
		(cd "$repo" && find kmod -path kmod/tests -prune -o -type f \
			! -name '*.o' ! -name '*.ko' ! -name '*.mod' ! -name '*.mod.c' \
			! -name '.*.cmd' ! -name Module.symvers ! -name modules.order \
			! -name unimem_conftest.h -print) | LC_ALL=C sort
	fi
}

hash() {
	local f
	list | while read -r f; do
		printf '%s\n' "$f"
		sha256sum < "$repo/$f"
	done | sha256sum | cut -c1-16
}

case "${1:-}" in
"") list ;;
--hash) hash ;;
--check)
	kit=${2:?usage: kmod-sources.sh --check KIT}
	[ -f "$kit/.kmod-hash" ] || exit 0 # not built from this tree: nothing to compare
	if [ "$(cat "$kit/.kmod-hash")" != "$(hash)" ]; then
		echo "kmod-sources: $kit/unimem.ko was built from other module sources;" \
			"run tools/debian/stock-kernel.sh to rebuild it" >&2
		exit 1
	fi
	;;
*)
	echo "usage: kmod-sources.sh [--hash | --check KIT]" >&2
	exit 2
	;;
esac
