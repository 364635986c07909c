#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Whole programs under each allocator: python3, sqlite3 and git, run
unchanged with LD_PRELOAD of libunimem-preload.so, Debian's jemalloc and
mimalloc, and without a preload (glibc). Runs are interleaved (one of each
allocator per round) so machine load hits all alike; each cell is the
median over the rounds of the child's CPU time (user + system, from
wait4: on a loaded shared machine wall time measures the scheduler) and
its peak RSS (/usr/bin/time's %M: the program is forked by that small
process, so its peak is its own and not this Python's, which a fork from
here would carry over exec). Prints a markdown table with unimem/peer ratios.

  python3 bench/alloc/programs.py build/libunimem/libunimem-preload.so \\
      [--rounds 5] [--repo .]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

PY_WORK = r"""
import json, random
random.seed(1)
d = {}
for i in range(300000):
    d["key%d" % i] = [i, str(i) * (i % 7), {"v": i}]
s = json.dumps(d)
d2 = json.loads(s)
words = sorted(("%x" % random.getrandbits(40)) * (1 + i % 3) for i in range(200000))
assert len(d2) == 300000 and len(words) == 200000
"""

SQL_WORK = """
PRAGMA cache_size = -65536;
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v INTEGER, pad TEXT);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000)
INSERT INTO t(k, v, pad) SELECT hex(randomblob(8)), x % 1000, printf('%.*c', x % 200, 'x') FROM c;
COMMIT;
CREATE INDEX t_k ON t(k);
SELECT v, count(*), sum(length(pad)) FROM t GROUP BY v ORDER BY 2 DESC LIMIT 3;
SELECT count(*) FROM t a JOIN t b ON a.k = b.k;
"""


def peers():
    out = [("glibc", None)]
    for name, libs in (("jemalloc", ["libjemalloc.so.2"]), ("mimalloc", ["libmimalloc.so.2"])):
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"):
            p = os.path.join(d, libs[0])
            if os.path.exists(p):
                out.append((name, p))
                break
    return out


def run(cmd, preload, stdin_data, cwd):
    rss_file = os.path.join(cwd, "rss")
    cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + cmd
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin_data else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    if stdin_data:
        p.stdin.write(stdin_data.encode())
        p.stdin.close()
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    cpu = ru.ru_utime + ru.ru_stime
    if status != 0:
        sys.exit("%s under %s failed (%d): %s" % (cmd[0], preload or "glibc", status,
                                                  err.decode(errors="replace")[-500:]))
    with open(rss_file) as f:
        rss = int(f.read().split()[-1]) / 1024.0
    return cpu, rss, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("preload")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--only", default="", help="run the programs whose name has this")
    a = ap.parse_args()
    allocs = [("unimem", os.path.abspath(a.preload))] + peers()
    tmp = tempfile.mkdtemp(prefix="um-programs-")
    repo = os.path.abspath(a.repo)
    # one fixed commit: commits made during the run change nothing
    head = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip() or "HEAD"
    work = [
        ("python3 dict/json/sort", [sys.executable, "-c", PY_WORK], None, tmp),
        ("sqlite3 300k rows, index, join", ["sqlite3", ":memory:"], SQL_WORK, tmp),
        ("git log -p (400 commits)", ["git", "-C", repo, "log", "-p", "-n", "400",
                                      "--no-color", head], None, tmp),
        ("git pack-objects (history, new deltas)",
         ["git", "-C", repo, "pack-objects", "--revs", "--stdout",
          "--no-reuse-delta", "--window=50", "-q"], head + "\n", tmp),
    ]
    work = [w for w in work if shutil.which(w[1][0]) and a.only in w[0]]
    if not os.access("/usr/bin/time", os.X_OK):
        sys.exit("needs /usr/bin/time (Debian package time)")
    res = {}  # (work, alloc) -> [(cpu, rss)]
    ref = {}
    for r in range(a.rounds):
        for name, cmd, stdin_data, cwd in work:
            print("round %d: %s" % (r + 1, name), file=sys.stderr)
            order = allocs[r % len(allocs):] + allocs[:r % len(allocs)]
            for alloc, preload in order:
                cpu, rss, out = run(cmd, preload, stdin_data, cwd)
                # same output under every allocator
                if name not in ref:
                    ref[name] = out
                elif out != ref[name] and "sqlite" not in name and "pack" not in name:
                    sys.exit("%s: output differs under %s" % (name, alloc))
                res.setdefault((name, alloc), []).append((cpu, rss))
    shutil.rmtree(tmp, ignore_errors=True)
    names = [n for n, _ in allocs]
    peer_names = names[1:]
    head = ["program"] + ["%s CPU s" % n for n in names] + \
        ["unimem/%s time" % p for p in peer_names] + \
        ["%s MiB" % n for n in names] + ["unimem/glibc RSS"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, *_ in work:
        t = {n: statistics.median(c for c, _ in res[(name, n)]) for n in names}
        m = {n: statistics.median(x for _, x in res[(name, n)]) for n in names}
        row = [name] + ["%.3f" % t[n] for n in names]
        row += ["%.2f" % (t["unimem"] / t[p]) for p in peer_names]
        row += ["%.0f" % m[n] for n in names]
        row += ["%.2f" % (m["unimem"] / m["glibc"])]
        print("| " + " | ".join(row) + " |")
    print("\n%d rounds, medians; CPU time (user + system) and peak RSS "
          "(/usr/bin/time %%M) per run." % a.rounds)


main()
