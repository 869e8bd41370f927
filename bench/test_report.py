#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make check's test of bench/report.py on recorded guest console logs.

The benchmark itself is not a test and make check never runs it; this only
checks that the report still reads the guest's output and computes what
Documentation/benchmarks.rst says it does.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "testdata")
sys.path.insert(0, HERE)

import report  # noqa: E402


def median(values):
    """The median, worked out without the statistics module report.py uses:
    the middle value of an odd count, the mean of the two middle ones of an
    even count."""
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def recorded_run(boot, driver, rnd, iops, busy):
    """The recorded BENCH-RUN block of `driver` in DATA/boot.log, as round
    `rnd`, with `iops` read IOPS in its fio JSON and `busy` of 100 CPU ticks."""
    with open(os.path.join(DATA, boot + ".log"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    start = next(i for i, ln in enumerate(lines) if ln.startswith("BENCH-RUN ")
                 and f" driver={driver} " in ln)
    begin = lines.index("BENCH-FIO-BEGIN", start)
    end = lines.index("BENCH-FIO-END", begin)
    fio = json.loads("\n".join(lines[begin + 1:end]))
    job = fio["jobs"][0]
    job["read"]["iops"], job["write"]["iops"] = iops, 0
    run = dict(kv.split("=", 1) for kv in lines[start].split()[1:])
    run.update(round=str(rnd), busy=str(busy), total="100")
    run.pop("cpus", None)
    return ("BENCH-RUN " + " ".join(f"{k}={v}" for k, v in run.items()) + "\n"
            "BENCH-FIO-BEGIN\n" + json.dumps(fio, indent=1) + "\nBENCH-FIO-END\n")


class ReportTest(unittest.TestCase):
    def runs(self):
        return [r for name in sorted(os.listdir(DATA))
                for r in report.parse_log(os.path.join(DATA, name))]

    def test_parse(self):
        runs = self.runs()
        self.assertTrue(runs)
        for r in runs:
            self.assertIn(r["boot"], report.BOOTS)
            self.assertGreater(r["iops"], 0)
            self.assertGreater(r["ios"], 0)
            self.assertGreater(r["cpu_us_per_io"], 0)
            self.assertEqual(r["dmesg_bad_lines"], 0)

    def test_ratio_is_speed(self):
        """On the recorded runs (one round per driver) and on recorded runs
        repeated into 3 and 4 rounds with known figures, every comparison's
        ratio is the ratio of the medians, worked out here by hand."""
        for runs in (self.runs(), self.rounds_of(3), self.rounds_of(4)):
            comps = report.comparisons(runs)
            self.assertTrue(comps)
            for c in comps:
                key = c["metric"]
                base = [r[key] for r in runs if r["job"] == c["job"] and r["driver"] == c["base"]]
                other = [r[key] for r in runs if r["job"] == c["job"] and r["driver"] == c["other"]]
                self.assertEqual(c["rounds"], len(base))
                b, o = median(base), median(other)
                want = o / b if c["higher_is_better"] else b / o
                self.assertAlmostEqual(c["ratio"], want, places=9)
                self.assertEqual((c[c["base"]]["min"], c[c["base"]]["max"]), (min(base), max(base)))
                self.assertEqual((c[c["other"]]["min"], c[c["other"]]["max"]),
                                 (min(other), max(other)))
                self.assertLessEqual(c["pair_ratio"]["min"], c["pair_ratio"]["max"])

    # Recorded runs (bench/testdata), one per driver and job, repeated into
    # several rounds with figures whose medians are known.

    def template(self, boot, driver):
        return next(r for r in self.runs() if r["boot"] == boot and r["driver"] == driver)

    def rounds_of(self, n):
        """Every recorded run repeated into rounds 1..n, its figures scaled
        round by round: C's by 1, 3, 2, 4, the others' by 1, 1, 4, 3, so
        that a median taken wrong (the mean, the low or high middle value of
        an even count) gives another ratio."""
        def factors(driver):
            return ([1, 3, 2, 4] if driver.startswith("c") else [1, 1, 4, 3])[:n]

        return [dict(r, round=i + 1, iops=r["iops"] * f, mib_s=r["mib_s"] * f,
                     lat_p50_us=r["lat_p50_us"] * f, lat_p99_us=r["lat_p99_us"] * f)
                for r in self.runs() for i, f in enumerate(factors(r["driver"]))]

    def runs_of(self, boot, driver, key, values):
        """The recorded run of `driver` in `boot`, once per value: round i+1
        has values[i] as `key`, and cpu_us_per_io 1.0 * (i + 1)."""
        t = self.template(boot, driver)
        return [dict(t, round=i + 1, cpu_us_per_io=1.0 * (i + 1), **{key: v})
                for i, v in enumerate(values)]

    def one(self, runs, base="c", other="rv"):
        job = runs[0]["job"]
        c = report.compare(runs, job, base, other)
        self.assertIsNotNone(c)
        return c

    def test_median_odd_rounds(self):
        c = self.one(self.runs_of("icount1", "c", "iops", [100, 300, 200])
                     + self.runs_of("icount1", "rv", "iops", [260, 210, 230]))
        self.assertEqual(c["metric"], "iops")
        self.assertEqual(c["rounds"], 3)
        self.assertEqual(c["c"], {"median": 200, "min": 100, "max": 300})
        self.assertEqual(c["rv"], {"median": 230, "min": 210, "max": 260})
        self.assertAlmostEqual(c["ratio"], 230 / 200)
        # Round by round: 260/100, 210/300, 230/200.
        self.assertAlmostEqual(c["pair_ratio"]["min"], 0.7)
        self.assertAlmostEqual(c["pair_ratio"]["max"], 2.6)
        self.assertAlmostEqual(c["pair_ratio"]["median"], 1.15)
        self.assertAlmostEqual(c["base_spread_pct"], 100 * (300 - 100) / 200)
        self.assertEqual(c["cpu_us_per_io"]["c"], {"median": 2.0, "min": 1.0, "max": 3.0})

    def test_median_even_rounds(self):
        # Even counts: the median is the mean of the two middle values.
        c = self.one(self.runs_of("icount1", "c", "iops", [100, 400, 200, 300])
                     + self.runs_of("icount1", "rv", "iops", [310, 290, 260, 240]))
        self.assertEqual(c["rounds"], 4)
        self.assertEqual(c["c"], {"median": 250, "min": 100, "max": 400})
        self.assertEqual(c["rv"], {"median": 275, "min": 240, "max": 310})
        self.assertAlmostEqual(c["ratio"], 1.1)
        # Round by round: 3.1, 0.725, 1.3, 0.8; median (0.8 + 1.3) / 2.
        self.assertAlmostEqual(c["pair_ratio"]["min"], 0.725)
        self.assertAlmostEqual(c["pair_ratio"]["max"], 3.1)
        self.assertAlmostEqual(c["pair_ratio"]["median"], 1.05)
        self.assertAlmostEqual(c["base_spread_pct"], 100 * (400 - 100) / 250)
        self.assertEqual(c["cpu_us_per_io"]["rv"], {"median": 2.5, "min": 1.0, "max": 4.0})

    def test_median_even_rounds_latency(self):
        # Latency: lower is better, so the ratio is C's median over rvirtio's.
        c = self.one(self.runs_of("latency", "c", "lat_p50_us", [10, 14, 12, 16])
                     + self.runs_of("latency", "rv", "lat_p50_us", [11, 13, 9, 15]))
        self.assertEqual(c["metric"], "lat_p50_us")
        self.assertFalse(c["higher_is_better"])
        self.assertEqual(c["c"], {"median": 13, "min": 10, "max": 16})
        self.assertEqual(c["rv"], {"median": 12, "min": 9, "max": 15})
        self.assertAlmostEqual(c["ratio"], 13 / 12)
        # Round by round: 10/11, 14/13, 12/9, 16/15.
        self.assertAlmostEqual(c["pair_ratio"]["min"], 10 / 11)
        self.assertAlmostEqual(c["pair_ratio"]["max"], 12 / 9)

    def test_only_common_rounds(self):
        # A round only one driver ran (a hung boot's last) is left out of
        # both medians: 4 rounds of 5.
        c = self.one(self.runs_of("icount1", "c", "iops", [100, 400, 200, 300, 9000])
                     + self.runs_of("icount1", "rv", "iops", [310, 290, 260, 240]))
        self.assertEqual(c["rounds"], 4)
        self.assertEqual(c["c"], {"median": 250, "min": 100, "max": 400})
        self.assertAlmostEqual(c["ratio"], 1.1)

    def test_medians_from_logs(self):
        """The whole path, logs to results.json: recorded console logs
        rewritten into 3 rounds (odd) and 4 rounds (even) per driver, each
        round's fio JSON with the IOPS and CPU figures given here."""
        iops = {3: {"c": [1000, 3000, 2000], "rv": [2600, 2100, 2300]},
                4: {"c": [1000, 4000, 2000, 3000], "rv": [3100, 2900, 2600, 2400]}}
        want = {3: (2000, 2300, 1.15), 4: (2500, 2750, 1.1)}
        for n in (3, 4):
            with tempfile.TemporaryDirectory() as out:
                log = os.path.join(out, "icount1.log")
                with open(log, "w", encoding="utf-8") as f:
                    for i in range(n):
                        for driver in ("c", "rv"):
                            f.write(recorded_run("icount1", driver, i + 1,
                                                 iops[n][driver][i], busy=10 * (i + 1)))
                subprocess.run([sys.executable, os.path.join(HERE, "report.py"), "--out", out,
                                log], check=True, capture_output=True)
                with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
                    data = json.load(f)
                self.assertEqual(len(data["runs"]), 2 * n)
                [c] = [c for c in data["comparisons"] if (c["base"], c["other"]) == ("c", "rv")]
                b, o, ratio = want[n]
                self.assertEqual(c["rounds"], n)
                self.assertAlmostEqual(c["c"]["median"], b)
                self.assertAlmostEqual(c["rv"]["median"], o)
                self.assertEqual((c["c"]["min"], c["c"]["max"]), (min(iops[n]["c"]), max(iops[n]["c"])))
                self.assertEqual((c["rv"]["min"], c["rv"]["max"]),
                                 (min(iops[n]["rv"]), max(iops[n]["rv"])))
                self.assertAlmostEqual(c["ratio"], ratio)
                # CPU per I/O: busy/total of the CPUs over the IOPS; busy is
                # 10, 20, ... of a total of 100 (1 CPU).
                cpu = [0.1 * (i + 1) * 1e6 / v for i, v in enumerate(iops[n]["c"])]
                self.assertAlmostEqual(c["cpu_us_per_io"]["c"]["median"], median(cpu))

    def test_pairs_by_driver_and_suffix(self):
        """Each rvirtio driver against its C counterpart with the same
        suffix, each no-timeout build against the build with it, and never
        a blk driver against a scsi one."""
        t = self.template("icount1", "c")

        def run(driver, iops, job="j"):
            return dict(t, job=job, driver=driver, round=1, iops=iops)

        runs = [run("c", 100), run("rv", 110), run("rvnt", 121),
                run("sc", 200, "s"), run("rs", 180, "s"), run("rsnt", 198, "s"),
                run("c+p1", 300, "p"), run("rv+p1", 330, "p"),
                run("sc+p1", 400, "sp"), run("rs+p1", 360, "sp"),
                run("c@1", 50), run("rv@1", 55)]
        got = {(c["job"], c["base"], c["other"]): (round(c["ratio"], 6), c["label"], c["timeout_cost"])
               for c in report.comparisons(runs)}
        self.assertEqual(got, {
            ("j", "c", "rv"): (1.1, "j (2 queues)", False),
            ("j", "c@1", "rv@1"): (1.1, "j (1 queue)", False),
            ("j", "rv", "rvnt"): (1.1, "j (timeout handling: compiled in / out)", True),
            ("s", "sc", "rs"): (0.9, "s", False),
            ("s", "rs", "rsnt"): (1.1, "s (timeout handling: compiled in / out)", True),
            ("p", "c+p1", "rv+p1"): (1.1, "p", False),
            ("sp", "sc+p1", "rs+p1"): (0.9, "sp", False),
        })

    def test_latency_metric(self):
        self.assertEqual(report.metric_of("randread-4k-qd1-libaio")[0], "lat_p50_us")
        self.assertFalse(report.metric_of("randread-4k-qd1-libaio")[2])
        self.assertEqual(report.metric_of("seqread-128k-qd8-libaio")[0], "mib_s")
        self.assertEqual(report.metric_of("randread-4k-qd32-libaio")[0], "iops")

    def test_resumed_boot(self):
        self.assertEqual(report.log_order("/x/icount1.log"), ("icount1", 1))
        self.assertEqual(report.log_order("/x/icount1.r3.log"), ("icount1", 3))
        logs = ["/x/icount1.r2.log", "/x/latency.log", "/x/icount1.log"]
        self.assertEqual(sorted(logs, key=report.log_order),
                         ["/x/icount1.log", "/x/icount1.r2.log", "/x/latency.log"])
        first = self.runs()[0]
        again = dict(first, iops=first["iops"] * 2)
        other = dict(first, round=first["round"] + 1)
        waited = dict(first, round=first["round"] + 2, recovered=True)
        # The resumed boot's run of the same round replaces the first one;
        # a run that waited for rvirtio_blk's recovery is left out.
        self.assertEqual(report.latest_runs([first, other, waited, again]), [again, other])

    def test_outputs(self):
        with tempfile.TemporaryDirectory() as out:
            logs = [os.path.join(DATA, n) for n in sorted(os.listdir(DATA))]
            subprocess.run([sys.executable, os.path.join(HERE, "report.py"), "--out", out]
                           + logs, check=True, capture_output=True)
            with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
                data = json.load(f)
            self.assertTrue(data["comparisons"])
            with open(os.path.join(out, "results.md"), encoding="utf-8") as f:
                md = f.read()
            self.assertIn("| job |", md)
            # What rvirtio_blk recovered from is an incident.
            self.assertIn("icount1: BENCH-RECOVERY driver=rv round=1 disk=vda timeouts=1", md)
            self.assertEqual(
                [i["line"] for i in data["incidents"] if "RECOVERY" in i["line"]],
                ["BENCH-RECOVERY driver=rv round=1 disk=vda timeouts=1 lost_interrupts=1"])
            with open(os.path.join(out, "ratios.svg"), encoding="utf-8") as f:
                self.assertTrue(f.read().startswith("<svg"))


if __name__ == "__main__":
    unittest.main()
