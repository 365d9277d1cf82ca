#!/usr/bin/env python3
"""A CloudWatch Logs endpoint for benchmarks: accepts CreateLogGroup, CreateLogStream and PutLogEvents
at once (no storage, so the agent's cost is what is measured, not the endpoint's), counts the events
of each accepted PutLogEvents call, and answers GET /__stats with {"calls": N, "events": M}. Prints its
port, stops by itself after --lifetime seconds. The agent signs; the signature is not checked here."""
import argparse
import gzip
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from standin_http import QuietHandler, serve  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifetime", type=float, default=900)
    args = parser.parse_args()
    lock = threading.Lock()
    stats = {"calls": 0, "events": 0}

    class Handler(QuietHandler):
        def do_GET(self):
            with lock:
                self.reply(200, json.dumps(stats))

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            target = self.headers.get("X-Amz-Target", "")
            if target.endswith("PutLogEvents"):
                events = len(json.loads(body).get("logEvents", []))
                with lock:
                    stats["calls"] += 1
                    stats["events"] += events
                self.reply(200, "{}")
            else:
                self.reply(200, "{}")

    serve(Handler, args.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
