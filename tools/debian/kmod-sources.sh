#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kmod-sources.sh - list the module's sources (kmod/ without kmod/tests/ and
# build outputs), relative to the repository, sorted: what DKMS gets as
# /usr/src/unimem-<version>/ (stock-kernel.sh) and what compile-check.sh
# builds. In a git checkout: tracked and untracked-but-not-ignored files.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$repo" ls-files -co --exclude-standard -- kmod ':!:kmod/tests/**' |
		while read -r f; do [ -f "$repo/$f" ] && echo "$f"; done | LC_ALL=C sort
else
	(cd "$repo" && find kmod -path kmod/tests -prune -o -type f \
		! -name '*.o' ! -name '*.ko' ! -name '*.mod' ! -name '*.mod.c' \
		! -name '.*.cmd' ! -name Module.symvers ! -name modules.order \
		! -name unimem_conftest.h -print) | LC_ALL=C sort
fi
