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
        runs = self.runs()
        for c in report.comparisons(runs):
            base = [r for r in runs if r["job"] == c["job"] and r["driver"] == c["base"]]
            other = [r for r in runs if r["job"] == c["job"] and r["driver"] == c["other"]]
            key = c["metric"]
            b = sorted(r[key] for r in base)[len(base) // 2] if len(base) % 2 else None
            o = sorted(r[key] for r in other)[len(other) // 2] if len(other) % 2 else None
            if b is None or o is None:
                continue
            want = o / b if c["higher_is_better"] else b / o
            self.assertAlmostEqual(c["ratio"], want, places=9)
            self.assertLessEqual(c["pair_ratio"]["min"], c["pair_ratio"]["max"])

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
