#!/usr/bin/env python3
"""Tests of soak_targets.py, the soak's scrape targets: each scrape advances the Micrometer counts
by what the stats file says, a held target answers its last values, and what it reports as served
is what a scraper read. Run by scripts/test; exits non-zero on a failure."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def requests_and_faults(text):
    """The sums of `http_server_requests_seconds_count`, all and of status 500, in a scrape."""
    counts = re.findall(r'^http_server_requests_seconds_count\{.*status="(\d+)".*\} (\d+)$', text, re.M)
    return sum(int(n) for _, n in counts), sum(int(n) for status, n in counts if status == "500")


class SoakTargetsTests(unittest.TestCase):
    def test_scrapes_advance_by_what_the_stats_say_and_a_hold_stops_them(self):
        directory = tempfile.mkdtemp()
        stats_file, hold = os.path.join(directory, "stats.json"), os.path.join(directory, "hold")
        process = subprocess.Popen([sys.executable, os.path.join(HERE, "soak_targets.py"), stats_file,
                                    "--targets", "2", "--routes", "3", "--pause", hold, "--lifetime", "60"],
                                   stdout=subprocess.PIPE, text=True)
        try:
            ports = [int(process.stdout.readline()) for _ in range(2)]

            def scrape(port):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/actuator/prometheus", timeout=10) as answer:
                    return requests_and_faults(answer.read().decode())

            first = scrape(ports[0])
            second = scrape(ports[0])
            self.assertGreater(second[0], first[0])
            self.assertGreater(second[1], first[1])
            open(hold, "w").close()
            held = scrape(ports[0])
            self.assertEqual(held, second)
            os.remove(hold)
            third = scrape(ports[0])
            self.assertGreater(third[0], held[0])
            with open(stats_file) as f:
                stats = json.load(f)
            self.assertEqual(stats["soak-svc-0"], {"scrapes": 4, "first": {"requests": first[0], "faults": first[1]},
                                                   "last": {"requests": third[0], "faults": third[1]}})
            self.assertEqual(stats["soak-svc-1"], {"scrapes": 0, "first": None, "last": None})
            # The histogram is consistent: +Inf bucket equals the count for every series.
            with urllib.request.urlopen(f"http://127.0.0.1:{ports[1]}/actuator/prometheus", timeout=10) as answer:
                text = answer.read().decode()
            infinite = re.findall(r'_bucket\{(.*),le="\+Inf"\} (\d+)$', text, re.M)
            counts = dict(re.findall(r"_count\{(.*)\} (\d+)$", text, re.M))
            self.assertEqual(len(infinite), 3 * 2 * 3)
            for labels, value in infinite:
                self.assertEqual(counts[labels], value)
        finally:
            process.terminate()
            process.wait(timeout=10)
            process.stdout.close()


if __name__ == "__main__":
    unittest.main(verbosity=1)
