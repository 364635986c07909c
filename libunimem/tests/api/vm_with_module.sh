#!/bin/sh
# SPDX-License-Identifier: MIT
# vm_with_module.sh CMD [ARGS...] - run CMD in the guest with unimem.ko
# loaded (two 64 MiB devices), then unload it. Exit 77 (skip) if the module
# cannot be loaded.
if ! insmod /modules/unimem.ko ndevices=2 mem_mib=64; then
	echo "SKIP: cannot insmod /modules/unimem.ko"
	exit 77
fi
"$@"
rc=$?
if ! rmmod unimem; then
	echo "FAIL: rmmod unimem (still in use?)"
	[ "$rc" -eq 0 ] && rc=1
fi
exit $rc
