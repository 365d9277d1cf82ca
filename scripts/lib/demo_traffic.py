#!/usr/bin/env python3
"""The demo's stand-in deployment, driven by real request traffic:

  demo_traffic.py --seconds N --rate R --journal DIR --go FILE --sent FILE

- Stand-in Spring Boot services user-service, product-service and api-gateway, each on its own port of
  127.0.0.1, serving /actuator/prometheus: HikariCP pool gauges and `http_server_requests_seconds`
  histograms (Micrometer's buckets) that follow the requests below, and Keycloak serving
  /realms/ecom/metrics (its Agroal pool).
- R client requests a second for N seconds, each through api-gateway to user-service or
  product-service (some 404s, some 503s on one route), each recorded in the services' histograms and
  sent as X-Ray segments (gateway and downstream, one trace) with the aws-xray-sdk to the daemon
  address written in the file --go names (traffic starts when it appears).
- Keycloak event lines (successful logins in its plain format, failures in its quoted format, with
  reasons) and the services' ordinary log lines, written to a journal in DIR through
  systemd-journal-remote.

Prints one JSON line with the ports ({"user-service": port, ...}) once it listens; at the end writes
what it sent to FILE (requests, 5xx and 4xx per service, logins and failures by reason, trace ids,
segments, journal entries), prints "done", and serves on until terminated, for the agent's last scrape.
"""
import argparse
import http.server
import json
import math
import os
import random
import subprocess
import sys
import threading
import time
import uuid

from aws_xray_sdk.core import xray_recorder
import logging

logging.getLogger("aws_xray_sdk").setLevel(logging.ERROR)

BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0]
SPRING = ["user-service", "product-service", "api-gateway"]
# (method, route template, example path, downstream service, mean seconds, 404 share, 503 share)
ROUTES = [
    ("GET", "/api/users/{id}", "/api/users/{n}", "user-service", 0.020, 0.06, 0.0),
    ("POST", "/api/users/login", "/api/users/login", "user-service", 0.060, 0.0, 0.0),
    ("GET", "/api/products", "/api/products", "product-service", 0.045, 0.0, 0.0),
    ("GET", "/api/products/{id}", "/api/products/{n}", "product-service", 0.025, 0.03, 0.0),
    ("GET", "/api/products/{id}/reviews", "/api/products/{n}/reviews", "product-service", 0.150, 0.0, 0.12),
]


class Histogram:
    def __init__(self):
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0
        self.max = 0.0

    def observe(self, seconds):
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.counts[i] += 1
                break
        else:
            self.counts[-1] += 1
        self.sum += seconds
        self.max = max(self.max, seconds)


class Service:
    def __init__(self, name, pool_max):
        self.name = name
        self.lock = threading.Lock()
        self.requests = {}  # (method, uri, status) -> Histogram
        self.pool_max = pool_max
        self.active = 0
        self.acquire = Histogram()
        self.timeouts = 0

    def record(self, method, uri, status, seconds, busy):
        with self.lock:
            self.requests.setdefault((method, uri, status), Histogram()).observe(seconds)
            self.active = min(self.pool_max, busy)
            self.acquire.observe(0.0005 + 0.002 * busy / self.pool_max)

    def exposition(self):
        out = []
        with self.lock:
            idle = self.pool_max - self.active
            for family, value in [("hikaricp_connections", self.pool_max), ("hikaricp_connections_active", self.active),
                                  ("hikaricp_connections_idle", idle), ("hikaricp_connections_pending", 0),
                                  ("hikaricp_connections_max", self.pool_max), ("hikaricp_connections_min", 2)]:
                out.append(f"# TYPE {family} gauge\n{family}{{pool=\"HikariPool-1\",}} {float(value)}")
            out.append("# TYPE hikaricp_connections_timeout_total counter")
            out.append(f"hikaricp_connections_timeout_total{{pool=\"HikariPool-1\",}} {float(self.timeouts)}")
            out.append("# TYPE hikaricp_connections_acquire_seconds summary")
            out.append(f"hikaricp_connections_acquire_seconds_count{{pool=\"HikariPool-1\",}} {float(sum(self.acquire.counts))}")
            out.append(f"hikaricp_connections_acquire_seconds_sum{{pool=\"HikariPool-1\",}} {self.acquire.sum}")
            out.append("# TYPE http_server_requests_seconds histogram")
            for (method, uri, status), h in sorted(self.requests.items()):
                outcome = {"2": "SUCCESS", "4": "CLIENT_ERROR", "5": "SERVER_ERROR"}[status[0]]
                labels = f'error="none",exception="none",method="{method}",outcome="{outcome}",status="{status}",uri="{uri}"'
                total = 0
                for bound, count in zip(BUCKETS + [math.inf], h.counts):
                    total += count
                    le = "+Inf" if bound == math.inf else repr(bound)
                    out.append(f'http_server_requests_seconds_bucket{{{labels},le="{le}",}} {float(total)}')
                out.append(f"http_server_requests_seconds_count{{{labels},}} {float(total)}")
                out.append(f"http_server_requests_seconds_sum{{{labels},}} {h.sum}")
        return "\n".join(out) + "\n"


class Keycloak:
    def __init__(self):
        self.active = 2

    def exposition(self):
        return ("# TYPE agroal_active_count gauge\n"
                f'agroal_active_count{{datasource="default",}} {float(self.active)}\n'
                "# TYPE agroal_available_count gauge\n"
                f'agroal_available_count{{datasource="default",}} {float(10 - self.active)}\n'
                "# TYPE agroal_awaiting_count gauge\n"
                'agroal_awaiting_count{datasource="default",} 0.0\n')


def serve(target, path):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.split("?")[0] != path:
                body, status = b"not found", 404
            else:
                body, status = target.exposition().encode(), 200
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Journal:
    """Entries in the journal export format, through systemd-journal-remote into DIR."""

    def __init__(self, directory):
        self.boot = uuid.uuid4().hex
        self.start = time.monotonic()
        self.written = 0
        self.process = subprocess.Popen(
            ["/lib/systemd/systemd-journal-remote", f"--output={directory}/demo.journal", "-"],
            stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def write(self, unit, message, priority=6):
        now = time.time()
        entry = (f"__REALTIME_TIMESTAMP={int(now * 1e6)}\n__MONOTONIC_TIMESTAMP={int((time.monotonic() - self.start) * 1e6) + 1}\n"
                 f"_BOOT_ID={self.boot}\n_HOSTNAME=demo-node\n_SYSTEMD_UNIT={unit}\nSYSLOG_IDENTIFIER={unit.split('.')[0]}\n"
                 f"PRIORITY={priority}\nMESSAGE={message}\n\n")
        self.process.stdin.write(entry.encode())
        self.written += 1

    def flush(self):
        self.process.stdin.flush()

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--go", required=True)
    parser.add_argument("--sent", required=True)
    args = parser.parse_args()
    rng = random.Random(2026)

    services = {name: Service(name, pool) for name, pool in zip(SPRING, [10, 10, 20])}
    keycloak = Keycloak()
    servers = {name: serve(s, "/actuator/prometheus") for name, s in services.items()}
    servers["keycloak"] = serve(keycloak, "/realms/ecom/metrics")
    # The journal exists before the agent starts, with the services' start lines: the agent begins
    # at its end (sources.journald's default), so those are not counted as sent.
    journal = Journal(args.journal)
    for name in SPRING:
        journal.write(f"{name}.service", f"Started {name} in 4.2 seconds (process running for 4.9)")
    journal.flush()
    time.sleep(0.5)
    journal.written = 0
    print(json.dumps({name: server.server_address[1] for name, server in servers.items()}), flush=True)

    while not os.path.exists(args.go):
        time.sleep(0.1)
    time.sleep(0.1)
    with open(args.go) as f:
        daemon = f.read().strip()
    xray_recorder.configure(daemon_address=daemon, sampling=False, context_missing="LOG_ERROR",
                            streaming_threshold=1000)
    sent = {"requests": {}, "faults": {}, "client_errors": {}, "logins": 0, "failures": {}, "traces": [],
            "segments": 0}
    for name in SPRING:
        journal.write(f"{name}.service", f"{name}: accepting traffic on port 8080")

    started = time.monotonic()
    n = 0
    while time.monotonic() - started < args.seconds:
        tick = time.monotonic()
        for _ in range(int(args.rate)):
            n += 1
            method, route, example, downstream, mean, not_found, unavailable = rng.choice(ROUTES)
            path = example.replace("{n}", str(rng.randint(1, 5000)))
            roll = rng.random()
            status = "503" if roll < unavailable else ("404" if roll < unavailable + not_found else "200")
            seconds = min(4.0, rng.lognormvariate(math.log(mean), 0.5))
            gateway_seconds = seconds + rng.uniform(0.002, 0.006)
            busy = int(args.rate * mean * 2 + rng.randint(0, 2))
            services[downstream].record(method, route, status, seconds, busy)
            services["api-gateway"].record(method, route, status, gateway_seconds, int(busy / 2))
            for name in (downstream, "api-gateway"):
                sent["requests"][name] = sent["requests"].get(name, 0) + 1
                if status.startswith("5"):
                    sent["faults"][name] = sent["faults"].get(name, 0) + 1
                if status.startswith("4"):
                    sent["client_errors"][name] = sent["client_errors"].get(name, 0) + 1

            # One trace: the gateway's segment with its call downstream, and the service's segment.
            t0 = time.time()
            gateway = xray_recorder.begin_segment("api-gateway")
            gateway.start_time = t0
            gateway.put_http_meta("method", method)
            gateway.put_http_meta("url", f"http://api-gateway:8080{path}")
            gateway.put_http_meta("status", int(status))
            call = xray_recorder.begin_subsegment(downstream)
            call.start_time = t0 + 0.001
            call.namespace = "remote"
            xray_recorder.end_subsegment(t0 + 0.001 + seconds)
            trace_id = gateway.trace_id
            if status == "503":
                gateway.add_fault_flag()
            elif status == "404":
                gateway.add_error_flag()
            xray_recorder.end_segment(t0 + gateway_seconds)
            segment = xray_recorder.begin_segment(downstream, traceid=trace_id, parent_id=call.id)
            segment.start_time = t0 + 0.001
            segment.put_http_meta("method", method)
            segment.put_http_meta("url", f"http://{downstream}:8080{path}")
            segment.put_http_meta("status", int(status))
            if status == "503":
                segment.add_fault_flag()
            elif status == "404":
                segment.add_error_flag()
            xray_recorder.end_segment(t0 + 0.001 + seconds)
            sent["traces"].append(trace_id)
            sent["segments"] += 2
            if status == "503":
                journal.write(f"{downstream}.service",
                              f"ERROR o.s.w.s.m.s.DefaultHandlerExceptionResolver : {method} {route}: reviews backend timed out",
                              priority=3)

        # Logins: about a fifth of the request rate, one in five failing.
        prefix = time.strftime("%Y-%m-%d %H:%M:%S,000", time.gmtime()) + " WARN  [org.keycloak.events] (executor-thread-1) "
        for _ in range(max(1, int(args.rate / 5))):
            client = rng.choice(["web-shop", "web-shop", "admin-console"])
            user = f"user{rng.randint(1, 300)}"
            address = f"10.0.{rng.randint(0, 3)}.{rng.randint(2, 250)}"
            roll = rng.random()
            if roll < 0.8:
                journal.write("keycloak.service", prefix + f"type=LOGIN, realmId=ecom, clientId={client}, userId={uuid.uuid4()}, "
                              f"ipAddress={address}, auth_method=openid-connect, username={user}")
                sent["logins"] += 1
            else:
                reason = "invalid_user_credentials" if roll < 0.95 else "user_not_found"
                journal.write("keycloak.service", prefix + f'type="LOGIN_ERROR", realmId="ecom", clientId="{client}", '
                              f'userId="null", ipAddress="{address}", error="{reason}", username="{user}"')
                sent["failures"][reason] = sent["failures"].get(reason, 0) + 1
        keycloak.active = rng.randint(1, 4)
        journal.flush()
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))

    journal.close()
    sent["journal_entries"] = journal.written
    with open(args.sent, "w") as f:
        json.dump(sent, f)
    print("done", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
