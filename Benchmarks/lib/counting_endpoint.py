#!/usr/bin/env python3
"""A local AWS endpoint for whole-process benchmarks: accepts PutTraceSegments (counting segments),
PutMetricData (counting requests) and PutLogEvents (counting events) at once, keeps only counters.
It checks nothing (moto_server and the tests check the requests); it is only fast enough not to be
what a benchmark measures.

    counting_endpoint.py COUNTS_FILE [--lifetime SECONDS]

Listens on 127.0.0.1, a free port printed on the first line (scripts/lib/standin_http.py), and
rewrites COUNTS_FILE (JSON) once a second.
"""
import argparse
import gzip
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../scripts/lib"))
from standin_http import QuietHandler, serve  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("counts_file")
    parser.add_argument("--lifetime", type=float, default=3600)
    args = parser.parse_args()
    counts = {"segments": 0, "trace_calls": 0, "metric_calls": 0, "log_events": 0, "log_calls": 0}
    lock = threading.Lock()

    class Handler(QuietHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            target = self.headers.get("X-Amz-Target", "")
            if self.path.startswith("/TraceSegments"):
                documents = json.loads(body).get("TraceSegmentDocuments", [])
                with lock:
                    counts["segments"] += len(documents)
                    counts["trace_calls"] += 1
                self.reply(200, '{"UnprocessedTraceSegments":[]}')
            elif target.endswith("PutLogEvents"):
                events = json.loads(body).get("logEvents", [])
                with lock:
                    counts["log_events"] += len(events)
                    counts["log_calls"] += 1
                self.reply(200, "{}", "application/x-amz-json-1.1")
            elif target.startswith("Logs_"):
                self.reply(200, "{}", "application/x-amz-json-1.1")
            else:
                with lock:
                    counts["metric_calls"] += 1
                self.reply(200, '<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
                           "<ResponseMetadata><RequestId>0</RequestId></ResponseMetadata>"
                           "</PutMetricDataResponse>", "text/xml")

    def write_counts():
        while True:
            time.sleep(1)
            with lock:
                text = json.dumps(counts)
            with open(args.counts_file + ".tmp", "w") as f:
                f.write(text)
            os.replace(args.counts_file + ".tmp", args.counts_file)

    threading.Thread(target=write_counts, daemon=True).start()
    serve(Handler, args.lifetime)


if __name__ == "__main__":
    main()
