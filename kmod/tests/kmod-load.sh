#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# kmod-load: load, open, close, unload unimem.ko twice; the device nodes and
# sysfs entries must appear with the module and vanish with it.
set -u
KO=${UNIMEM_KO:-/modules/unimem.ko}
fail() { echo "FAIL: $*"; exit 1; }

for round in 1 2; do
	echo "== round $round"
	insmod "$KO" ndevices=2 mem_mib=8 || fail "insmod"
	for n in 0 1; do
		[ -c /dev/unimem$n ] || fail "/dev/unimem$n missing"
		d=/sys/class/unimem/unimem$n
		[ -d $d ] || fail "$d missing"
		t=$(cat $d/mem_total_bytes) || fail "read mem_total_bytes"
		[ "$t" = 8388608 ] || fail "mem_total_bytes=$t"
		f=$(cat $d/mem_free_bytes)
		[ "$f" = 8388608 ] || fail "mem_free_bytes=$f"
		grep -q '^device_faults 0$' $d/counters || fail "counters"
		exec 3<>/dev/unimem$n || fail "open /dev/unimem$n"
		exec 3>&-
	done
	[ -e /dev/unimem2 ] && fail "/dev/unimem2 exists"
	# root-only without udev (the rule in kmod/udev/ gives group render 0660)
	m=$(stat -c %a /dev/unimem0)
	[ "$m" = 600 ] || fail "/dev/unimem0 mode $m, want 600"
	grep -q '^unimem ' /proc/modules || fail "not in /proc/modules"
	rmmod unimem || fail "rmmod"
	[ -e /dev/unimem0 ] && fail "/dev/unimem0 still there"
	[ -e /sys/class/unimem ] && fail "/sys/class/unimem still there"
	grep -q '^unimem ' /proc/modules && fail "still loaded"
done
# devnode_mode sets the node's permission bits where no udev runs
insmod "$KO" ndevices=1 mem_mib=2 devnode_mode=0660 || fail "insmod devnode_mode=0660"
m=$(stat -c %a /dev/unimem0)
[ "$m" = 660 ] || fail "devnode_mode=0660 gave mode $m"
rmmod unimem || fail "rmmod"
# bad parameters are refused with a clear error
insmod "$KO" ndevices=0 2>/dev/null && fail "ndevices=0 accepted"
insmod "$KO" ndevices=17 2>/dev/null && fail "ndevices=17 accepted"
insmod "$KO" mem_mib=1 2>/dev/null && fail "mem_mib=1 accepted"
insmod "$KO" fault_window=3 2>/dev/null && fail "fault_window=3 accepted"
insmod "$KO" devnode_mode=0777 2>/dev/null && fail "devnode_mode=0777 accepted"
insmod "$KO" devnode_mode=04666 2>/dev/null && fail "devnode_mode=04666 accepted"
grep -q '^unimem ' /proc/modules && fail "loaded after bad params"
echo PASS
exit 0
