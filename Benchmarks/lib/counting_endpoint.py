#!/usr/bin/env python3
"""A local AWS endpoint for whole-process benchmarks: accepts PutTraceSegments (counting segments),
PutMetricData (counting requests) and PutLogEvents (counting events) at once, keeps only counters.
It checks nothing (moto_server and the tests check the requests); it is only fast enough not to be
what a benchmark measures.

    counting_endpoint.py PORT_FILE COUNTS_FILE [--lifetime SECONDS]

Binds 127.0.0.1 on a free port, writes it to PORT_FILE, and rewrites COUNTS_FILE (JSON) once a second.
"""
import argparse
import gzip
import http.server
import json
import os
import threading
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port_file")
    parser.add_argument("counts_file")
    parser.add_argument("--lifetime", type=float, default=3600)
    args = parser.parse_args()
    counts = {"segments": 0, "trace_calls": 0, "metric_calls": 0, "log_events": 0, "log_calls": 0}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

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
                self.answer(b'{"UnprocessedTraceSegments":[]}', "application/json")
            elif target.endswith("PutLogEvents"):
                events = json.loads(body).get("logEvents", [])
                with lock:
                    counts["log_events"] += len(events)
                    counts["log_calls"] += 1
                self.answer(b"{}", "application/x-amz-json-1.1")
            elif target.startswith("Logs_"):
                self.answer(b"{}", "application/x-amz-json-1.1")
            else:
                with lock:
                    counts["metric_calls"] += 1
                self.answer(b'<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
                            b"<ResponseMetadata><RequestId>0</RequestId></ResponseMetadata>"
                            b"</PutMetricDataResponse>", "text/xml")

        def answer(self, data, content_type):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", "0")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file, "w") as f:
        f.write(f"{server.server_address[1]}\n")

    def write_counts():
        while True:
            time.sleep(1)
            with lock:
                text = json.dumps(counts)
            with open(args.counts_file + ".tmp", "w") as f:
                f.write(text)
            os.replace(args.counts_file + ".tmp", args.counts_file)

    threading.Thread(target=write_counts, daemon=True).start()
    threading.Timer(args.lifetime, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
