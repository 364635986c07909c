#!/bin/sh
# SPDX-License-Identifier: MIT
# Without a usable hwloc (here: its library replaced by an empty file in a
# private mount namespace) host locations fail with a message that names
# hwloc, and plain use does not crash. Skipped (77) where mount namespaces
# are not allowed.
set -u
tool=$1
lib=$2
empty=$(mktemp)
trap 'rm -f "$empty"' EXIT
unshare -m true 2>/dev/null || { echo "SKIP: no mount namespaces here"; exit 77; }
out=$(unshare -m sh -c 'mount --bind "$1" "$2" || exit 77; "$3" info' sh \
	"$empty" "$(readlink -f "$lib")" "$tool" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 77 ] && { echo "SKIP: cannot bind-mount over $lib"; exit 77; }
[ $rc -eq 1 ] || { echo "FAIL: unimem info exited $rc, want 1"; exit 1; }
echo "$out" | grep -q "cannot open hwloc" || { echo "FAIL: the message does not name hwloc"; exit 1; }
echo "PASS: a missing hwloc is reported as such"
