#!/usr/bin/env python3
"""A Spring Boot actuator stand-in for the scraping benchmarks: /actuator/prometheus answers with
a Micrometer-shaped body of about 400 kB (text 0.0.4): `http_server_requests_seconds` histograms
with 20 buckets for 120 (method, status, uri) series, HikariCP pool gauges and the JVM's usual
families. Every request adds traffic, so counters grow and percentiles move as in a live service.

    spring_target.py [--series 120] [--lifetime SECONDS]

Listens on 127.0.0.1, a free port printed on the first line (scripts/lib/standin_http.py). Its own
CPU is not what is measured.
"""
import argparse
import os
import random
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../scripts/lib"))
from standin_http import QuietHandler, serve  # noqa: E402

BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=120)
    parser.add_argument("--lifetime", type=float, default=3600)
    args = parser.parse_args()
    rng = random.Random(7)
    uris = [f"/api/{kind}/{{id}}/{part}" for kind in ("users", "products", "orders", "carts", "payments", "reviews")
            for part in ("details", "items", "history", "status", "summary")]
    series = []
    for i in range(args.series):
        method = ("GET", "POST", "PUT", "DELETE")[i % 4]
        status = ("200", "201", "400", "404", "500")[i % 5]
        series.append({"labels": f'exception="None",method="{method}",outcome="SUCCESS",status="{status}",'
                                 f'uri="{uris[i % len(uris)]}"',
                       "counts": [0] * (len(BUCKETS) + 1), "sum": 0.0, "scale": rng.uniform(0.005, 0.2)})
    lock = threading.Lock()
    scrapes = [0]

    def body():
        with lock:
            scrapes[0] += 1
            for s in series:
                for _ in range(rng.randint(5, 40)):
                    value = rng.expovariate(1 / s["scale"])
                    s["sum"] += value
                    for k, bound in enumerate(BUCKETS):
                        if value <= bound:
                            s["counts"][k] += 1
                    s["counts"][-1] += 1
            out = ["# HELP http_server_requests_seconds Duration of HTTP server request handling",
                   "# TYPE http_server_requests_seconds histogram"]
            for s in series:
                for k, bound in enumerate(BUCKETS):
                    out.append(f'http_server_requests_seconds_bucket{{{s["labels"]},le="{bound}"}} {s["counts"][k]}')
                out.append(f'http_server_requests_seconds_bucket{{{s["labels"]},le="+Inf"}} {s["counts"][-1]}')
                out.append(f'http_server_requests_seconds_count{{{s["labels"]}}} {s["counts"][-1]}')
                out.append(f'http_server_requests_seconds_sum{{{s["labels"]}}} {s["sum"]:.6f}')
            out.append("# HELP http_server_requests_seconds_max Duration of HTTP server request handling")
            out.append("# TYPE http_server_requests_seconds_max gauge")
            for s in series:
                out.append(f'http_server_requests_seconds_max{{{s["labels"]}}} {s["scale"] * 3:.6f}')
            for name, value in (("active", rng.randint(0, 10)), ("idle", rng.randint(0, 10)), ("pending", 0),
                                ("max", 10), ("min", 10), ("total", 10)):
                out.append(f"# TYPE hikaricp_connections_{name} gauge")
                out.append(f'hikaricp_connections_{name}{{pool="HikariPool-1"}} {value}')
            out.append("# TYPE hikaricp_connections_acquire_seconds summary")
            out.append(f'hikaricp_connections_acquire_seconds_count{{pool="HikariPool-1"}} {scrapes[0] * 50}')
            out.append(f'hikaricp_connections_acquire_seconds_sum{{pool="HikariPool-1"}} {scrapes[0] * 0.01:.6f}')
            for area, ids in (("heap", ("G1 Eden Space", "G1 Old Gen", "G1 Survivor Space")),
                              ("nonheap", ("CodeHeap 'non-nmethods'", "Metaspace", "Compressed Class Space"))):
                for pool in ids:
                    out.append(f'jvm_memory_used_bytes{{area="{area}",id="{pool}"}} {rng.randint(1, 1 << 28)}')
            out.append(f"process_cpu_usage {rng.random():.6f}")
            out.append(f"jvm_threads_live_threads {rng.randint(20, 40)}")
            return "\n".join(out) + "\n"

    class Handler(QuietHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            self.reply(200, body(), "text/plain; version=0.0.4; charset=utf-8")

    serve(Handler, args.lifetime)


if __name__ == "__main__":
    main()
