#!/bin/sh
# SPDX-License-Identifier: MIT
# A sanitizer-built program under the preload (issue 16): its runtime's
# start-up mallocs come to unimem before the runtime's interceptors work,
# which used to crash (SIGSEGV in the first lock). Now the preload starts
# safely and refuses clearly: its message and exit status 86, no signal.
# ASan's own link-order check would refuse first; it is switched off to
# reach the preload's start-up. Arguments: preload, then the programs.
set -u
preload=$1
shift
status=0
for prog in "$@"; do
	out=$("$prog" 2>&1)
	if [ "$out" != "sanitized ok" ]; then
		echo "FAIL: $prog without the preload: $out"
		status=1
		continue
	fi
	out=$(ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD="$preload" "$prog" 2>&1)
	rc=$?
	echo "$prog under the preload: exit $rc: $out"
	if [ "$rc" -ne 86 ]; then
		echo "FAIL: expected the refusal (exit 86), got exit $rc"
		status=1
	elif ! printf '%s\n' "$out" | grep -q "unimem-preload: this program runs with .*Sanitizer"; then
		echo "FAIL: no refusal message"
		status=1
	fi
	# with ASan's own check on, ASan refuses (exit 1); never a signal
	out=$(LD_PRELOAD="$preload" "$prog" 2>&1)
	rc=$?
	if [ "$rc" -gt 128 ] || [ "$rc" -eq 0 ]; then
		echo "FAIL: default options: exit $rc: $out"
		status=1
	fi
done
[ "$status" = 0 ] && echo "sanitizer-built programs under the preload: refused cleanly"
exit "$status"
