#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Unit tests of the VM runner's verdicts: what fails a test and what not."""
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
loader = importlib.machinery.SourceFileLoader("unimem_vm", os.path.join(HERE, "unimem-vm"))
spec = importlib.util.spec_from_loader("unimem_vm", loader)
vm = importlib.util.module_from_spec(spec)
loader.exec_module(vm)

TESTS = [("a", 30, "true"), ("b", 30, "true"), ("c", 30, "true")]


def console(*sections):
    lines = ["@@UNIMEM KLOG-BEGIN boot", "[0.0] Linux version 6.12",
             "@@UNIMEM KLOG-END boot", "@@UNIMEM BOOTED 6.12.117"]
    for name, out, klog, rc in sections:
        lines.append(f"@@UNIMEM BEGIN {name}")
        lines += out
        lines.append(f"@@UNIMEM KLOG-BEGIN {name}")
        lines += klog
        lines.append(f"@@UNIMEM KLOG-END {name}")
        if rc is not None:
            lines.append(f"@@UNIMEM END {name} rc={rc}")
    return "\r\n".join(lines) + "\r\n"


class Verdicts(unittest.TestCase):
    def verdicts(self, text, hung_in=None):
        results, _ = vm.parse_console(text, TESTS)
        return {n: vm.judge(n, results[n], hung_in) for n, _, _ in TESTS}

    def test_pass_fail_skip_by_exit_code(self):
        v = self.verdicts(console(("a", ["ok"], [], 0), ("b", [], [], 1),
                                  ("c", [], [], 77)))
        self.assertEqual(v["a"], ("PASS", ""))
        self.assertEqual(v["b"], ("FAIL", "exit code 1"))
        self.assertEqual(v["c"][0], "SKIP")

    def test_kernel_splats_fail_a_passing_test(self):
        for splat in ["[ 5.1] WARNING: CPU: 1 PID: 80 at kmod/unimem_main.c:10 init+0x1",
                      "[ 5.1] BUG: KASAN: slab-use-after-free in foo+0x10",
                      "[ 5.1] WARNING: possible circular locking dependency detected",
                      "[ 5.1] kernel BUG at mm/migrate.c:123!",
                      "[ 5.1] Oops: general protection fault, probably for non-canonical address",
                      "[ 5.1] INFO: task hmm-tests:91 blocked for more than 30 seconds.",
                      "[ 5.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s!",
                      "[ 5.1] BUG: Bad page state in process x  pfn:1234",
                      "[ 5.1] FAULT_FLAG_ALLOW_RETRY missing 881"]:
            v = self.verdicts(console(("a", [], [splat], 0), ("b", [], [], 0),
                                      ("c", [], [], 0)))
            self.assertEqual(v["a"][0], "FAIL", splat)
            self.assertIn(splat.split("] ", 1)[1][:20], v["a"][1])
            self.assertEqual(v["b"][0], "PASS")

    def test_splat_in_test_output_is_not_kernel_log(self):
        # A test may print the word WARNING itself; only the kernel log counts.
        v = self.verdicts(console(("a", ["WARNING: expected in output"], [], 0),
                                  ("b", [], [], 0), ("c", [], [], 0)))
        self.assertEqual(v["a"][0], "PASS")

    def test_ordinary_kernel_messages_pass(self):
        klog = ["[1.6] added new 256 MB chunk (total 1 chunks, 256 MB)",
                "[1.9] hmm-tests (92) used greatest stack depth: 13448 bytes left"]
        v = self.verdicts(console(("a", [], klog, 0), ("b", [], [], 0),
                                  ("c", [], [], 0)))
        self.assertEqual(v["a"][0], "PASS")

    def test_timeout_fails(self):
        text = console(("a", [], [], 137), ("b", [], [], 0), ("c", [], [], 0))
        text = text.replace("@@UNIMEM KLOG-BEGIN a", "@@UNIMEM TIMEOUT a\r\n@@UNIMEM KLOG-BEGIN a")
        v = self.verdicts(text)
        self.assertEqual(v["a"], ("FAIL", "timed out"))

    def test_hang_fails_current_and_unreached_tests(self):
        text = console(("a", [], [], 0)) + "@@UNIMEM BEGIN b\r\nstuck\r\n"
        v = self.verdicts(text, hung_in="b")
        self.assertEqual(v["a"][0], "PASS")
        self.assertEqual(v["b"], ("FAIL", "the guest hung or died during this test"))
        self.assertEqual(v["c"][0], "FAIL")
        self.assertIn("'b'", v["c"][1])


class ResultCommand(unittest.TestCase):
    def run_result(self, status):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "t.result"), "w") as f:
                f.write(f"{status}\nwhy\n")
            with open(os.path.join(d, "t.log"), "w") as f:
                f.write("log\n")
            return subprocess.run([sys.executable, os.path.join(HERE, "unimem-vm"),
                                   "result", "--out", d, "t"],
                                  capture_output=True, text=True).returncode

    def test_exit_codes(self):
        self.assertEqual(self.run_result("PASS"), 0)
        self.assertEqual(self.run_result("SKIP"), 77)
        self.assertEqual(self.run_result("FAIL"), 1)

    def test_missing_result_fails(self):
        with tempfile.TemporaryDirectory() as d:
            rc = subprocess.run([sys.executable, os.path.join(HERE, "unimem-vm"),
                                 "result", "--out", d, "nothing"],
                                capture_output=True).returncode
        self.assertEqual(rc, 1)


class Initramfs(unittest.TestCase):
    @unittest.skipUnless(shutil.which("busybox") and shutil.which("cpio"),
                         "needs busybox-static and cpio")
    def test_stages_merge_in_order(self):
        # The Python tree goes in only with --stage twice: both trees land
        # in the root, the later one wins a name both have.
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a"), os.path.join(d, "b")
            for stage, files in ((a, {"tests/bin/x": "a", "tests/bin/y": "a"}),
                                 (b, {"tests/bin/y": "b", "usr/bin/z": "b"})):
                for rel, text in files.items():
                    os.makedirs(os.path.dirname(os.path.join(stage, rel)), exist_ok=True)
                    with open(os.path.join(stage, rel), "w") as f:
                        f.write(text)
            args = types.SimpleNamespace(stage=[a, b], env=[])
            vm.build_initramfs(args, os.path.join(d, "work"), TESTS)
            root = os.path.join(d, "work", "root")
            got = {}
            for rel in ("tests/bin/x", "tests/bin/y", "usr/bin/z"):
                with open(os.path.join(root, rel)) as f:
                    got[rel] = f.read()
            self.assertEqual(got, {"tests/bin/x": "a", "tests/bin/y": "b", "usr/bin/z": "b"})
            self.assertGreater(os.path.getsize(os.path.join(d, "work", "initramfs.cpio")), 0)


if __name__ == "__main__":
    unittest.main()
