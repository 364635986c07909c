#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools.kmod-sources: a kit's unimem.ko built from other module sources
# stops the VM stage with a message (kmod-sources.sh --check KIT), the
# same sources pass, and a kit that records no hash is not judged.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ks=$repo/tools/debian/kmod-sources.sh
kit=$(mktemp -d)
trap 'rm -rf "$kit"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

hash=$("$ks" --hash)
[[ $hash =~ ^[0-9a-f]{16}$ ]] || fail "--hash printed '$hash'"
[ "$("$ks" --hash)" = "$hash" ] || fail "--hash is not stable"
"$ks" | grep -qx 'kmod/Makefile\|kmod/Kbuild' || fail "the list has no kmod Makefile/Kbuild"
"$ks" | grep -q '^kmod/tests/' && fail "the list has kmod/tests/"

"$ks" --check "$kit" || fail "a kit without .kmod-hash was judged"
echo "$hash" > "$kit/.kmod-hash"
"$ks" --check "$kit" || fail "the same sources were refused"
echo 0123456789abcdef > "$kit/.kmod-hash"
if msg=$("$ks" --check "$kit" 2>&1); then
	fail "a module built from other sources passed"
fi
grep -q "built from other module sources" <<<"$msg" || fail "no clear message: $msg"
grep -q "stock-kernel.sh" <<<"$msg" || fail "the message does not say what to run: $msg"
set +e
"$ks" --bogus 2>/dev/null
rc=$?
set -e
[ $rc = 2 ] || fail "a bad option exited $rc, not 2"
echo "tools.kmod-sources: all checks passed"
