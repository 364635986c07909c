#!/bin/sh
# SPDX-License-Identifier: MIT
# The clinfo of icd.clinfo.memory_varies (first in its PATH): the real one,
# REAL_CLINFO, with the values PoCL derives from free memory changed on
# every run, as a loaded machine changes them.
set -eu
count_file=${CLINFO_RUN_COUNTER:?}
n=$(($(cat "$count_file" 2>/dev/null || echo 0) + 1))
echo "$n" >"$count_file"
"${REAL_CLINFO:?}" "$@" | sed -E \
	-e "s/( CL_DEVICE_GLOBAL_MEM_SIZE +)([0-9]+)\$/\\1\\2$n$n/" \
	-e "s/( CL_DEVICE_MAX_MEM_ALLOC_SIZE +)([0-9]+)\$/\\1$n\\2/" \
	-e "s/( CL_DEVICE_IMAGE2D_MAX_WIDTH +)([0-9]+)\$/\\1\\2$n/"
