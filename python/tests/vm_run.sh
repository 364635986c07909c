#!/bin/sh
# SPDX-License-Identifier: MIT
# vm_run.sh MODULE... - run unittest modules of /tests/python in a VM guest
# with the python3 and NumPy tools/vm/stage-python put there.
cd /tests/python || exit 1
export PYTHONPATH=/tests/python PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m unittest -v "$@"
