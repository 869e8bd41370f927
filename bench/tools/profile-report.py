#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Guest kernel instructions per I/O, by function, from `scripts/bench.sh
--profile` runs.

    bench/tools/profile-report.py SYSTEM_MAP RUN [RUN...] [--top N]

Each RUN is a pair LOG:TB: the guest's console log (BENCH-SYM lines with the
loaded modules' symbols, and the profiled fio run) and the plugin's dump
(bench/tools/insn-plugin.c). Instructions are attributed to the function
whose address is the highest at or below each block's (the kernel booted
with nokaslr, so System.map's addresses hold), and divided by the I/Os of
the fio runs in the log. With several runs, one column each.
"""

import argparse
import bisect
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import report  # noqa: E402  (bench/report.py: the fio runs of a console log)


def kernel_symbols(path):
    syms = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in "tTwW":
                syms.append((int(parts[0], 16), parts[2]))
    return syms


def module_symbols(log):
    syms = []
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.strip("\r\n").split()
            if len(parts) >= 5 and parts[0] == "BENCH-SYM" and parts[2] in "tTwW":
                syms.append((int(parts[1], 16), f"{parts[3]} {parts[4]}"))
    return syms


def profile(system_map, log, tb):
    syms = sorted(set(kernel_symbols(system_map) + module_symbols(log)))
    addrs = [a for a, _ in syms]
    by_fn = {}
    with open(tb, encoding="utf-8") as f:
        for line in f:
            va, insns, execs = line.split()
            i = bisect.bisect_right(addrs, int(va, 16)) - 1
            name = syms[i][1] if i >= 0 else "?"
            by_fn[name] = by_fn.get(name, 0) + int(insns) * int(execs)
    ios = sum(r["ios"] for r in report.parse_log(log))
    if not ios:
        sys.exit(f"profile-report: no fio run in {log}")
    return {k: v / ios for k, v in by_fn.items()}, ios


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("system_map")
    ap.add_argument("runs", nargs="+", metavar="LOG:TB")
    ap.add_argument("--top", type=int, default=60)
    args = ap.parse_args()
    cols = []
    for run in args.runs:
        log, tb = run.split(":", 1)
        per_io, ios = profile(args.system_map, log, tb)
        cols.append((os.path.basename(log), per_io, ios))
    names = set().union(*(c[1] for c in cols))
    rank = sorted(names, key=lambda n: -max(c[1].get(n, 0) for c in cols))
    print("instructions per I/O" + "".join(f" | {c[0]} ({c[2]} I/Os)" for c in cols))
    print("total" + "".join(f" | {sum(c[1].values()):.0f}" for c in cols))
    for n in rank[: args.top]:
        print(n + "".join(f" | {c[1].get(n, 0):.1f}" for c in cols))


if __name__ == "__main__":
    main()
