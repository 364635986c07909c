#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# packaging-test.sh BUILD_DIR WORK_DIR - install the build into WORK_DIR,
# then build and run a program against it twice: with find_package(unimem)
# and with pkg-config.
set -euo pipefail
build=$1 work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work.install.log" 2>&1 ||
	{ cat "$work.install.log"; exit 1; }
libdir=$(ls -d "$work"/prefix/lib*/ | head -n 1)
[ -f "$work/prefix/include/unimem.h" ] || { echo "unimem.h not installed"; exit 1; }
[ -f "$work/prefix/include/linux/unimem.h" ] || { echo "uapi header not installed"; exit 1; }

echo "== find_package(unimem)"
cmake -S "$here/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
cmake --build "$work/cmake" > /dev/null
"$work/cmake/consumer"

echo "== pkg-config unimem"
export PKG_CONFIG_PATH=$(dirname "$(find "$work/prefix" -name unimem.pc | head -n 1)")
flags=$(pkg-config --cflags --libs unimem)
echo "pkg-config: $flags"
cc -o "$work/consumer-pc" "$here/consumer/consumer.c" $flags
LD_LIBRARY_PATH=$libdir "$work/consumer-pc"
