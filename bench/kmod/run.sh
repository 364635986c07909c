#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# bench/kmod/run.sh [reps] [MiB] - unimem.ko against test_hmm.ko in one boot
# of a release test kernel (tools/vm/unimem-vm), printing markdown tables
# (MiB/s, medians) with the memcpy bandwidth of the same boot as the ceiling.
# unimem runs twice in that boot: copying device -> system as a real device
# does (the default), and handing the device's storage pages over
# (storage_handover=1, which only a RAM-backed virtual device can do).
# Then device-fault latency while other processes thrash the device
# (unimem-kbench stall; UNIMEM_BENCH_STALL_SAMPLES, default 200;
# UNIMEM_BENCH_ONLY=stall runs only that).
#
# The kernel comes from tools/testkernel/testkernel.sh release SERIES
# (UNIMEM_BENCH_SERIES: 6.12, the default, or 7.3; a prebuilt kit is named by
# UNIMEM_TESTKERNEL_RELEASE / UNIMEM_TESTKERNEL_7_3_RELEASE, e.g.
# ../shared/testkernel-release), or from UNIMEM_BENCH_KERNEL (a directory
# with bzImage, build/ and test_hmm.ko).
#
# Every workload runs on 4 KiB pages (MADV_NOHUGEPAGE) and on THPs
# (MADV_HUGEPAGE); on kernels with device-private THP (6.19+) both modules
# move THPs as 2 MiB device folios.  When a 7.3 hmm-tests binary is found
# (UNIMEM_HMM_TESTS, else hmm-tests next to the kernel or in the cached 7.3
# debug kit), its benchmark_thp_migration runs against test_hmm in the same
# boot, as the published yardstick.
set -eu
reps=${1:-7}
mib=${2:-64}
root=$(cd "$(dirname "$0")/../.." && pwd)
series=${UNIMEM_BENCH_SERIES:-6.12}
kernel=${UNIMEM_BENCH_KERNEL:-$("$root/tools/testkernel/testkernel.sh" release "$series")}
work=$(mktemp -d /tmp/unimem-kbench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The module, built against the release kit (vermagic must match).
cp -r "$root/kmod" "$work/kmod"
rm -rf "$work/kmod/tests"
make -s -C "$work/kmod" KDIR="$kernel/build" >&2

mkdir -p "$work/stage/tests/bin" "$work/stage/modules"
cp "$work/kmod/unimem.ko" "$kernel/test_hmm.ko" "$work/stage/modules/"
${CC:-cc} -std=gnu11 -O2 -Wall -I"$root/kmod/include/uapi" \
	-I"$root/bench/kmod" "$root/bench/kmod/unimem-kbench.c" \
	-o "$work/stage/tests/bin/unimem-kbench"

dev_mib=$((mib * 2 + 32))
stall_samples=${UNIMEM_BENCH_STALL_SAMPLES:-200}
param=/sys/module/unimem/parameters/storage_handover
printf 'kbench\t3600\tinsmod /modules/unimem.ko ndevices=1 mem_mib=%s && insmod /modules/test_hmm.ko && echo "mode: copy (default)" && unimem-kbench %s %s && echo 1 > %s && echo "mode: storage hand-over" && unimem-kbench %s %s && echo 0 > %s && echo "mode: stall (copy)" && unimem-kbench stall %s %s; rc=$?; rmmod unimem; rmmod test_hmm; exit $rc\n' \
	"$dev_mib" "$reps" "$mib" "$param" "$reps" "$mib" "$param" "$stall_samples" "$dev_mib" > "$work/manifest"
hmmt=${UNIMEM_HMM_TESTS:-}
[ -n "$hmmt" ] || for c in "$kernel/hmm-tests" "$HOME"/.cache/unimem/testkernel/prebuilt-7.3-debug-*/hmm-tests; do
	[ -x "$c" ] && hmmt=$c && break
done
if [ "$series" = 7.3 ] && [ -n "$hmmt" ] && [ -x "$hmmt" ]; then
	cp "$hmmt" "$work/stage/tests/bin/hmm-tests"
	printf 'hmm-bench\t1800\tinsmod /modules/test_hmm.ko && hmm-tests -t benchmark_thp_migration; rc=$?; rmmod test_hmm; exit $rc\n' >> "$work/manifest"
fi
if [ "${UNIMEM_BENCH_ONLY:-}" = stall ]; then
	printf 'kbench\t3600\tinsmod /modules/unimem.ko ndevices=1 mem_mib=%s && echo "mode: stall (copy)" && unimem-kbench stall %s %s; rc=$?; rmmod unimem; exit $rc\n' \
		"$dev_mib" "$stall_samples" "$dev_mib" > "$work/manifest"
fi
python3 "$root/tools/vm/unimem-vm" run --kernel "$kernel" \
	--stage "$work/stage" --manifest "$work/manifest" --out "$work/out" >&2
python3 "$root/tools/vm/unimem-vm" result --out "$work/out" kbench > "$work/result" || {
	cat "$work/result" >&2
	exit 1
}
grep '^rep ' "$work/result" >&2 || true
echo "kernel: $(cat "$kernel/release" 2>/dev/null || basename "$kernel"), QEMU TCG -cpu max -smp 2 -m 2G, host load: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -E '^(\||mode:)' "$work/result"
if grep -q hmm-bench "$work/manifest"; then
	echo "hmm-tests benchmark_thp_migration (test_hmm.ko, same boot):"
	python3 "$root/tools/vm/unimem-vm" result --out "$work/out" hmm-bench |
		sed -n '/HMM THP Migration Benchmark/,/^ok\|^not ok\|^# /p'
fi
