#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn `make bench` console logs into results.json, results.md and ratios.svg.

    bench/report.py --out DIR LOG...

Each LOG is a guest console log with bench/guest-bench.sh's BENCH-RUN lines
and fio JSON blocks. The log's name (without .log) names the boot; NAME.rN.log
is boot NAME resumed in a new boot (scripts/bench.sh), whose runs replace
those of the same round in the earlier logs.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

DRIVER_NAMES = {
    "c": "virtio_blk",
    "rv": "rvirtio_blk",
    "rvnt": "rvirtio_blk, timeout handling compiled out",
    "sc": "virtio_scsi",
    "rs": "rvirtio_scsi",
    "rsnt": "rvirtio_scsi, timeout handling compiled out",
}
# Each rvirtio driver's C counterpart, and the builds without timeout
# handling against the rvirtio drivers as built. A driver spec is one of
# these names with an optional @N (num_request_queues=N) and +pN (N poll
# queues) suffix; only specs with the same suffix are compared.
C_OF = {"rv": "c", "rs": "sc"}
WITH_TIMEOUT_OF = {"rvnt": "rv", "rsnt": "rs"}
BOOTS = {
    "icount1": "icount, 1 vCPU, 1 queue (instructions per I/O)",
    "icount2": "icount, 2 vCPUs (instructions per I/O)",
    "latency": "plain TCG, 1 vCPU (real time)",
    "scsi1": "virtio-scsi: icount, 1 vCPU, 1 request queue (instructions per I/O)",
    "scsi2": "virtio-scsi: icount, 2 vCPUs (instructions per I/O)",
    "poll": "polled I/O (io_uring hipri) on 1 poll queue: icount, 2 vCPUs (instructions per I/O)",
}


def split_driver(spec):
    """(name, suffix) of a driver spec: ("rv", "@1") for "rv@1"."""
    m = re.fullmatch(r"([a-z]+)(.*)", spec)
    return (m.group(1), m.group(2)) if m else (spec, "")


# (boot, line) for each BENCH-ERROR, BENCH-HUNG and BENCH-RECOVERY line the
# logs had, and
# each kernel message on the console during the benchmark.
INCIDENTS = []
KERNEL_LINE = re.compile(r"^\[ *\d+\.\d+\] ")


def log_order(path):
    """(boot, attempt) of a console log: NAME.log is attempt 1, NAME.rN.log N."""
    name = os.path.basename(path)
    name = name[:-4] if name.endswith(".log") else name
    m = re.fullmatch(r"(.*)\.r(\d+)", name)
    return (m.group(1), int(m.group(2))) if m else (name, 1)


def parse_log(path):
    """Yields one dict per fio run in the console log at `path`."""
    boot = log_order(path)[0]
    run, buf, started = None, None, False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line.startswith(("BENCH-ERROR", "BENCH-HUNG", "BENCH-RECOVERY",
                                "BENCH-RESUME")):
                INCIDENTS.append((boot, line))
            elif line.startswith("BENCH-RUN "):
                run = dict(kv.split("=", 1) for kv in line.split()[1:])
                run["boot"] = boot
                if "recovered" in run:
                    INCIDENTS.append((boot, line + " (left out of the figures)"))
            elif line == "BENCH-FIO-BEGIN":
                buf = []
            elif line == "BENCH-FIO-END":
                if run is None or buf is None:
                    raise SystemExit(f"{path}: fio output without a BENCH-RUN line")
                yield summarise(run, json.loads("\n".join(buf)))
                run, buf = None, None
            elif line.startswith("BENCH-GUEST "):
                started = True
            elif line == "BENCH-DONE":
                started = False
            elif started and KERNEL_LINE.match(line):
                # A console message from the kernel, maybe in the middle of
                # fio's JSON.
                INCIDENTS.append((boot, line))
            elif buf is not None:
                buf.append(line)


def summarise(run, fio):
    """The figures of one run."""
    job = fio["jobs"][0]
    rd, wr = job["read"], job["write"]
    main = wr if wr["total_ios"] > rd["total_ios"] else rd
    ios = rd["total_ios"] + wr["total_ios"]
    iops = rd["iops"] + wr["iops"]
    # Guest CPU per I/O: the share of the CPUs that was busy during the run
    # (user, nice, system, irq, softirq), over the I/O rate. The share is
    # taken across fio's whole life; the rate only across its measured
    # window, which keeps fio's start-up out of the figure.
    busy, total = int(run["busy"]), int(run["total"])
    cpus = int(run.get("cpus", 1))
    pct = main.get("lat_ns", {}).get("percentile", {})
    return {
        "boot": run["boot"],
        "job": run["job"],
        "driver": run["driver"],
        "round": int(run["round"]),
        "iops": iops,
        "mib_s": (rd["bw_bytes"] + wr["bw_bytes"]) / 2**20,
        "lat_p50_us": pct.get("50.000000", 0) / 1000,
        "lat_p99_us": pct.get("99.000000", 0) / 1000,
        "ios": ios,
        "cpu_us_per_io": cpus * busy / total * 1e6 / iops if iops and total else None,
        "fio_usr_pct": job["usr_cpu"],
        "fio_sys_pct": job["sys_cpu"],
        "dmesg_bad_lines": int(run["bad"]),
        # rvirtio_blk's timeout handling acted during the run: the run
        # waited for a timeout, so its figures say nothing of the I/O path.
        "recovered": run.get("recovered") == "1",
    }


def latest_runs(runs):
    """The runs to judge: the last of each (boot, job, driver, round), as a
    resumed boot re-runs the round that hung, and none that waited for
    rvirtio_blk's recovery."""
    last = {}
    for r in runs:
        last[(r["boot"], r["job"], r["driver"], r["round"])] = r
    return [r for r in last.values() if not r["recovered"]]


def metric_of(job):
    """The figure a job is judged by: (key, unit, higher is better)."""
    if "-qd1-" in job:
        return ("lat_p50_us", "µs p50", False)
    if job.startswith("seqread"):
        return ("mib_s", "MiB/s", True)
    return ("iops", "IOPS", True)


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def compare(runs, job, base, other):
    """rvirtio (`other`) against C (`base`) on one job."""
    key, unit, higher = metric_of(job)
    by = {}
    for r in runs:
        if r["job"] == job and r["driver"] in (base, other):
            by.setdefault(r["driver"], {})[r["round"]] = r
    if base not in by or other not in by:
        return None
    rounds = sorted(set(by[base]) & set(by[other]))
    a = [by[base][i][key] for i in rounds]
    b = [by[other][i][key] for i in rounds]
    # Speed ratio: above 1.00 means `other` is faster (more IOPS or MiB/s, or
    # lower latency).
    pair = [(y / x if higher else x / y) for x, y in zip(a, b) if x and y]
    sa, sb = stats(a), stats(b)
    ratio = (sb["median"] / sa["median"]) if higher else (sa["median"] / sb["median"])
    out = {
        "job": job,
        "boot": by[base][rounds[0]]["boot"],
        "base": base,
        "other": other,
        "metric": key,
        "unit": unit,
        "higher_is_better": higher,
        "rounds": len(rounds),
        base: sa,
        other: sb,
        "ratio": ratio,
        "pair_ratio": stats(pair),
        # How far apart the base driver's own rounds are: the noise floor.
        "base_spread_pct": 100 * (sa["max"] - sa["min"]) / sa["median"],
        "cpu_us_per_io": {
            base: stats([by[base][i]["cpu_us_per_io"] for i in rounds]),
            other: stats([by[other][i]["cpu_us_per_io"] for i in rounds]),
        },
        "dmesg_bad_lines": sum(by[d][i]["dmesg_bad_lines"] for d in (base, other) for i in rounds),
    }
    if key == "lat_p50_us":
        out["lat_p99_us"] = {
            base: stats([by[base][i]["lat_p99_us"] for i in rounds]),
            other: stats([by[other][i]["lat_p99_us"] for i in rounds]),
        }
    return out


def comparisons(runs):
    """Each rvirtio driver against its C counterpart with the same suffix,
    and each build without timeout handling against the one with it, on
    every job both ran."""
    jobs = list(dict.fromkeys(r["job"] for r in runs))
    drivers = list(dict.fromkeys(r["driver"] for r in runs))
    pairs = []
    for d in drivers:
        name, suffix = split_driver(d)
        if name in C_OF:
            pairs.append((C_OF[name] + suffix, d, False))
    for d in drivers:
        name, suffix = split_driver(d)
        if name in WITH_TIMEOUT_OF:
            pairs.append((WITH_TIMEOUT_OF[name] + suffix, d, True))
    out = []
    for job in jobs:
        for base, other, nt in pairs:
            if base not in drivers:
                continue
            c = compare(runs, job, base, other)
            if not c:
                continue
            suffix = split_driver(base)[1]
            if nt:
                c["label"] = job + " (timeout handling: compiled in / out)"
            elif suffix.startswith("@1"):
                c["label"] = job + " (1 queue)"
            elif any(r["job"] == job and r["driver"] == base + "@1" for r in runs):
                c["label"] = job + " (2 queues)"
            else:
                c["label"] = job
            c["timeout_cost"] = nt
            out.append(c)
    return out


def fmt(v, unit):
    if unit == "IOPS":
        return f"{v:,.0f}"
    return f"{v:,.1f}"


def markdown(meta, comps, doc="../../../Documentation/benchmarks.rst"):
    lines = [
        "# rvirtio against the C drivers",
        "",
        f"`make bench` on {meta['date']}: Linux {meta['kernel']} (perf flavour), "
        f"{meta['qemu']}, TCG on {meta['host_cpus']} host cores. "
        f"See [Documentation/benchmarks.rst]({doc}) for the method.",
        "",
        "*Ratio* is rvirtio's speed over the C driver's, from the medians: above 1.00 "
        "rvirtio is faster (more IOPS or MiB/s, lower latency). *Pairs* is the "
        "min–max of the ratio within each round. *C spread* is the C driver's own "
        "min–max across rounds, in percent of its median: the noise floor. "
        "*CPU/IO* is guest CPU time (user, system, irq, softirq in /proc/stat) "
        "per I/O, medians.",
        "",
    ]
    for boot, title in BOOTS.items():
        rows = [c for c in comps if c["boot"] == boot and not c["timeout_cost"]]
        if not rows:
            continue
        lines += [
            f"## {title}",
            "",
            "| job | C median (min–max) | rvirtio median (min–max) | ratio | pairs | C spread | CPU/IO C → rvirtio (µs) |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in rows:
            u = c["unit"]
            a, b = c[c["base"]], c[c["other"]]
            cpu = c["cpu_us_per_io"]
            cpu_s = "–"
            if cpu[c["base"]] and cpu[c["other"]]:
                cpu_s = f"{cpu[c['base']]['median']:.2f} → {cpu[c['other']]['median']:.2f}"
            lines.append(
                f"| {c['label']} ({u}) | {fmt(a['median'], u)} ({fmt(a['min'], u)}–{fmt(a['max'], u)}) "
                f"| {fmt(b['median'], u)} ({fmt(b['min'], u)}–{fmt(b['max'], u)}) "
                f"| **{c['ratio']:.3f}** | {c['pair_ratio']['min']:.3f}–{c['pair_ratio']['max']:.3f} "
                f"| ±{c['base_spread_pct'] / 2:.1f}% | {cpu_s} |"
            )
            if "lat_p99_us" in c:
                p = c["lat_p99_us"]
                lines.append(
                    f"| {c['label']} (µs p99) | {fmt(p[c['base']]['median'], 'us')} "
                    f"| {fmt(p[c['other']]['median'], 'us')} | "
                    f"{p[c['base']]['median'] / p[c['other']]['median']:.3f} | | | |"
                )
        lines.append("")
    nt = [c for c in comps if c["timeout_cost"]]
    if nt:
        lines += [
            "## The cost of the timeout handling",
            "",
            "Each rvirtio driver as built, against the same source built with "
            "`RVIRTIO_NO_TIMEOUT=1` (rvirtio_blk: no `.timeout` callback, none of its "
            "per-request bookkeeping; rvirtio_scsi: no `eh_timed_out`). A ratio of 1.00 "
            "means the handling costs nothing.",
            "",
            "| job | driver | with (median) | without (median) | without/with | pairs |",
            "|---|---|---|---|---|---|",
        ]
        for c in nt:
            u = c["unit"]
            a, b = c[c["base"]], c[c["other"]]
            lines.append(
                f"| {c['job']} ({u}) | {DRIVER_NAMES.get(split_driver(c['base'])[0], c['base'])} "
                f"| {fmt(a['median'], u)} | {fmt(b['median'], u)} "
                f"| {c['ratio']:.3f} | {c['pair_ratio']['min']:.3f}–{c['pair_ratio']['max']:.3f} |"
            )
        lines.append("")
    if INCIDENTS:
        lines += [
            "## Incidents",
            "",
            "What the guests printed besides the runs: errors, where the requests of a "
            "hung run were, what rvirtio_blk's timeout handling had to recover from "
            "(BENCH-RECOVERY: its debugfs counters when it was unloaded; a run during "
            "which it acted is left out of the figures), and kernel messages. A boot "
            "whose I/O hung keeps the runs it finished before and is resumed in a new "
            "boot (BENCH-RESUME) from the round that hung, which is run again.",
            "",
            "```",
        ]
        lines += [f"{boot}: {line}" for boot, line in INCIDENTS]
        lines += ["```", ""]
    bad = sum(c["dmesg_bad_lines"] for c in comps)
    lines += [
        f"dmesg WARN/BUG/lockdep lines during the runs: {bad}.",
        "",
        "![ratios](ratios.svg)",
        "",
    ]
    return "\n".join(lines)


def svg(comps):
    """A bar per comparison: the median ratio, with the pairs' min–max."""
    rows = comps
    w, left, right, top, rh = 900, 420, 40, 40, 22
    h = top + rh * len(rows) + 40
    lo = min([0.9] + [c["pair_ratio"]["min"] for c in rows])
    hi = max([1.1] + [c["pair_ratio"]["max"] for c in rows])
    span = hi - lo

    def x(v):
        return left + (v - lo) / span * (w - left - right)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">'
        "rvirtio speed / C driver speed (median; whiskers: per-round min–max)</text>",
    ]
    for i, c in enumerate(rows):
        y = top + i * rh
        colour = "#3a7" if c["ratio"] >= 1 else "#d64"
        if c["timeout_cost"]:
            colour = "#88a"
        out.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{c["label"]}</text>')
        x0, x1 = x(1.0), x(c["ratio"])
        out.append(
            f'<rect x="{min(x0, x1):.1f}" y="{y + 4}" width="{abs(x1 - x0):.1f}" '
            f'height="{rh - 8}" fill="{colour}"/>'
        )
        pm, px = x(c["pair_ratio"]["min"]), x(c["pair_ratio"]["max"])
        out.append(f'<line x1="{pm:.1f}" x2="{px:.1f}" y1="{y + 11}" y2="{y + 11}" stroke="black"/>')
        out.append(f'<text x="{w - right + 4}" y="{y + 15}" font-size="10">{c["ratio"]:.3f}</text>')
    ybot = top + rh * len(rows)
    for t in (lo, 1.0, hi):
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{ybot}" stroke="#444" '
                   f'stroke-dasharray="{"" if t == 1.0 else "3,3"}"/>')
        out.append(f'<text x="{x(t):.1f}" y="{ybot + 16}" text-anchor="middle">{t:.2f}</text>')
    out.append("</svg>")
    return "\n".join(out)


def meta_info(runs, kernel, qemu):
    def cmd(*a):
        try:
            return subprocess.run(a, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return "?"

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": kernel,
        "qemu": cmd(qemu, "--version").split("\n")[0] or "QEMU",
        "host_cpus": os.cpu_count(),
        "host": platform.platform(),
        "git": cmd("git", "-C", os.path.dirname(os.path.abspath(__file__)), "describe",
                   "--always", "--dirty"),
        "runs": len(runs),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--kernel", default=os.environ.get("KERNEL", "6.12"),
                    help="the kernel series the guests ran (default: $KERNEL or 6.12)")
    ap.add_argument("--qemu", default=os.environ.get("RVIRTIO_QEMU_BIN", "qemu-system-x86_64"),
                    help="the QEMU binary the guests ran, for its version")
    ap.add_argument("logs", nargs="+")
    args = ap.parse_args()
    logs = sorted(args.logs, key=log_order)
    runs = latest_runs([r for log in logs for r in parse_log(log)])
    if not runs:
        sys.exit("report: no BENCH-RUN results in " + " ".join(args.logs))
    comps = comparisons(runs)
    meta = meta_info(runs, args.kernel, args.qemu)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "drivers": DRIVER_NAMES, "boots": BOOTS,
                   "comparisons": comps, "runs": runs,
                   "incidents": [{"boot": b, "line": ln} for b, ln in INCIDENTS]},
                  f, indent=1)
    with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as f:
        doc = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "Documentation", "benchmarks.rst")
        f.write(markdown(meta, comps, os.path.relpath(doc, os.path.abspath(args.out))))
    with open(os.path.join(args.out, "ratios.svg"), "w", encoding="utf-8") as f:
        f.write(svg(comps))
    for c in comps:
        print(f"{c['label']:55s} ratio {c['ratio']:.3f} "
              f"(pairs {c['pair_ratio']['min']:.3f}–{c['pair_ratio']['max']:.3f}, "
              f"base spread {c['base_spread_pct']:.1f}%)")


if __name__ == "__main__":
    main()
