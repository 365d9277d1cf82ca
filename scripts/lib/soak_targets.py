#!/usr/bin/env python3
"""Spring Boot actuator stand-ins for the soak: --targets Prometheus endpoints in one process, each
on a port of its own on 127.0.0.1 (the ports printed one a line), each the `/actuator/prometheus` of
a service named `soak-svc-N`: a HikariCP pool and Micrometer's `http_server_requests_seconds`
histograms for --routes routes, two methods and three statuses (200, 404, 500).

Every scrape advances each histogram by a fixed amount (its count by 1 to 6, so the Requests a
scrape adds are known), except while the file --pause exists: then the target answers the values
of its last scrape. STATS_FILE (JSON, rewritten after every scrape) holds, per service, the scrapes
served and, at the first scrape served and at the last, the requests (the sum of the `_count`
series) and the faults (of those with status 500): what the agent can have counted between them is
known exactly.

    soak_targets.py STATS_FILE [--targets 10] [--routes 12] [--pause FILE] [--lifetime SECONDS]
"""
import argparse
import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from standin_http import QuietHandler  # noqa: E402

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Target:
    def __init__(self, index, routes):
        self.service = f"soak-svc-{index}"
        self.series = []
        for r in range(routes):
            for method in ("GET", "POST"):
                for status in ("200", "404", "500"):
                    # A histogram's count advances by `step` a scrape, spread over the buckets.
                    step = 1 + (r + len(method) + int(status[0])) % 6
                    self.series.append({"uri": f"/api/r{r}/{{id}}", "method": method, "status": status,
                                        "step": step, "count": 0, "sum": 0.0, "buckets": [0] * len(BUCKETS)})
        self.scrapes = 0
        self.first = None
        self.last = None

    def advance(self):
        for s in self.series:
            for i in range(s["step"]):
                latency = BUCKETS[(s["count"] + i) % len(BUCKETS)] * 0.9
                for b, bound in enumerate(BUCKETS):
                    if latency <= bound:
                        s["buckets"][b] += 1
                s["sum"] += latency
            s["count"] += s["step"]

    def totals(self):
        return {"requests": sum(s["count"] for s in self.series),
                "faults": sum(s["count"] for s in self.series if s["status"] == "500")}

    def render(self):
        out = ["# TYPE hikaricp_connections_active gauge",
               f'hikaricp_connections_active{{pool="HikariPool-1"}} {self.scrapes % 10}',
               "# TYPE hikaricp_connections_idle gauge",
               f'hikaricp_connections_idle{{pool="HikariPool-1"}} {10 - self.scrapes % 10}',
               "# TYPE hikaricp_connections_pending gauge",
               'hikaricp_connections_pending{pool="HikariPool-1"} 0',
               "# TYPE hikaricp_connections_max gauge",
               'hikaricp_connections_max{pool="HikariPool-1"} 10',
               "# TYPE http_server_requests_seconds histogram"]
        for s in self.series:
            labels = f'method="{s["method"]}",outcome="SUCCESS",status="{s["status"]}",uri="{s["uri"]}"'
            for bound, count in zip(BUCKETS, s["buckets"]):
                out.append(f'http_server_requests_seconds_bucket{{{labels},le="{bound}"}} {count}')
            out.append(f'http_server_requests_seconds_bucket{{{labels},le="+Inf"}} {s["count"]}')
            out.append(f"http_server_requests_seconds_count{{{labels}}} {s['count']}")
            out.append(f"http_server_requests_seconds_sum{{{labels}}} {s['sum']:.6f}")
        return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("stats_file")
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--routes", type=int, default=12)
    parser.add_argument("--pause", default="")
    parser.add_argument("--lifetime", type=float, default=3600)
    args = parser.parse_args()
    lock = threading.Lock()
    targets = [Target(i, args.routes) for i in range(args.targets)]

    def write_stats():
        stats = {t.service: {"scrapes": t.scrapes, "first": t.first, "last": t.last} for t in targets}
        with open(args.stats_file + ".tmp", "w") as f:
            json.dump(stats, f)
        os.replace(args.stats_file + ".tmp", args.stats_file)

    def handler_for(target):
        class Handler(QuietHandler):

            def do_GET(self):  # noqa: N802 - http.server's naming
                with lock:
                    if target.scrapes and not (args.pause and os.path.exists(args.pause)):
                        target.advance()
                    target.scrapes += 1
                    totals = target.totals()
                    if target.first is None:
                        target.first = totals
                    target.last = totals
                    body = target.render()
                    write_stats()
                self.reply(200, body, "text/plain; version=0.0.4; charset=utf-8")
        return Handler

    servers = []
    for target in targets:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(target))
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with lock:
        write_stats()
    for server in servers:
        print(server.server_address[1], flush=True)
    time.sleep(args.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
