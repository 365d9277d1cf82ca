#!/usr/bin/env python3
"""A Spring-and-Keycloak-shaped metrics endpoint of known shape for the tests that count series:
every path answers with HikariCP pool gauges, a timeout counter and three timers; `--routes` routes
of `http_server_requests_seconds` (each answering 200, every other one also 404 and 503, the second
also 429); Keycloak's logins, failed logins (`--clients` clients by `--reasons` reasons) and two
events with their errors, in realm `--realm`. Every counter grows at each scrape.

    shop_standin.py [--routes 6] [--clients web-app,admin-cli] [--reasons a,b] [--realm ecom]

Listens on 127.0.0.1, a free port printed on the first line (standin_http.py). Out of the test's
process, so a busy test process cannot slow the agent's scrapes.
"""
import argparse
import threading

from standin_http import QuietHandler, serve


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--routes", type=int, default=6)
    parser.add_argument("--clients", default="web-app,admin-cli")
    parser.add_argument("--reasons", default="invalid_user_credentials,user_not_found")
    parser.add_argument("--realm", default="ecom")
    parser.add_argument("--lifetime", type=float, default=300)
    args = parser.parse_args()
    clients, reasons = args.clients.split(","), args.reasons.split(",")
    lock = threading.Lock()
    scrapes = [0]

    def body():
        with lock:
            n = float(scrapes[0])
            scrapes[0] += 1
        pool = 'pool="HikariPool-1",'
        out = []
        for family, value in [("hikaricp_connections", 10.0), ("hikaricp_connections_active", 4.0),
                              ("hikaricp_connections_idle", 6.0), ("hikaricp_connections_pending", 0.0),
                              ("hikaricp_connections_max", 10.0), ("hikaricp_connections_min", 2.0)]:
            out += [f"# TYPE {family} gauge", f"{family}{{{pool}}} {value}"]
        out += ["# TYPE hikaricp_connections_timeout_total counter", f"hikaricp_connections_timeout_total{{{pool}}} {n}"]
        for timer in ("acquire", "usage", "creation"):
            out += [f"# TYPE hikaricp_connections_{timer}_seconds summary",
                    f"hikaricp_connections_{timer}_seconds_count{{{pool}}} {10 * n}",
                    f"hikaricp_connections_{timer}_seconds_sum{{{pool}}} {0.01 * n}"]
        out.append("# TYPE http_server_requests_seconds summary")
        for route in range(args.routes):
            statuses = ["200"] + (["404", "503"] if route % 2 == 0 else []) + (["429"] if route == 1 else [])
            for status in statuses:
                labels = f'method="GET",status="{status}",uri="/api/items/{route}/{{id}}",'
                out += [f"http_server_requests_seconds_count{{{labels}}} {5 * n}",
                        f"http_server_requests_seconds_sum{{{labels}}} {0.1 * n}"]
        realm = f'realm="{args.realm}",provider="keycloak",'
        out.append("# TYPE keycloak_logins counter")
        out += [f'keycloak_logins{{{realm}client_id="{c}",}} {4 * n}' for c in clients]
        out.append("# TYPE keycloak_failed_login_attempts counter")
        out += [f'keycloak_failed_login_attempts{{{realm}error="{r}",client_id="{c}",}} {n}' for c in clients for r in reasons]
        for event in ("refresh_tokens", "code_to_tokens"):
            out.append(f"# TYPE keycloak_{event} counter")
            out += [f'keycloak_{event}{{{realm}client_id="{c}",}} {3 * n}' for c in clients]
            out.append(f"# TYPE keycloak_{event}_errors counter")
            out += [f'keycloak_{event}_errors{{{realm}error="{r}",client_id="{c}",}} {n}' for c in clients for r in reasons]
        return "\n".join(out) + "\n"

    class Handler(QuietHandler):
        def do_GET(self):
            self.reply(200, body(), "text/plain; version=0.0.4; charset=utf-8")

    serve(Handler, args.lifetime)


if __name__ == "__main__":
    main()
