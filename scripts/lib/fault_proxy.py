#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for tests, in front of a local AWS endpoint (moto).

Listens on 127.0.0.1 (an ephemeral port, printed on the first line of stdout) and forwards every
request to --target, unless a fault is set:
  GET /__fault?mode=MODE   MODE: ok, 503, throttle, reset (close the connection unanswered),
                           hang (answer nothing for --hang seconds), poison (400 InvalidParameterValue)
  GET /__stats             JSON: requests by outcome, and the PutMetricData datums forwarded with a 2xx
                           answer, by namespace and metric name, plus the MetricData batches' sizes and
                           how many forwarded bodies were identical to an earlier one (duplicates);
                           with --count-items, the trace segments (by id) and log events (by the number
                           N of a "soak entry N" message) forwarded with a 2xx answer, and how many
                           of each were distinct
Bounded by --lifetime seconds; it exits by itself.
"""
import argparse
import gzip
import hashlib
import http.client
import json
import re
import sys
import threading
import time
import urllib.parse

from standin_http import QuietHandler, serve

STATE = {"mode": "ok", "outcomes": {}, "datums": {}, "batches": [], "duplicates": 0,
         "segments": 0, "distinct_segments": 0, "log_events": 0, "distinct_log_entries": 0}
SEEN = set()
SEGMENT_IDS = set()
LOG_ENTRIES = set()
SEGMENT_ID = re.compile(r'"id"\s*:\s*"([0-9a-f]{16})"')
SOAK_ENTRY = re.compile(r"^soak entry (\d+) ")


def record_items(plain):
    """Trace segments and log events in a JSON request (PutTraceSegments, PutLogEvents)."""
    if not plain.startswith(b"{"):
        return
    try:
        obj = json.loads(plain)
    except ValueError:
        return
    with LOCK:
        for document in obj.get("TraceSegmentDocuments", []):
            STATE["segments"] += 1
            m = SEGMENT_ID.search(document)
            if m:
                SEGMENT_IDS.add(m.group(1))
        for event in obj.get("logEvents", []):
            STATE["log_events"] += 1
            m = SOAK_ENTRY.match(event.get("message", ""))
            if m:
                LOG_ENTRIES.add(int(m.group(1)))
        STATE["distinct_segments"] = len(SEGMENT_IDS)
        STATE["distinct_log_entries"] = len(LOG_ENTRIES)
LOCK = threading.Lock()


def count(outcome):
    with LOCK:
        STATE["outcomes"][outcome] = STATE["outcomes"].get(outcome, 0) + 1


def record_forwarded(body):
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    if fields.get("Action", [""])[0] != "PutMetricData":
        return
    namespace = fields.get("Namespace", [""])[0]
    members = {}
    for key, values in fields.items():
        m = re.match(r"MetricData\.member\.(\d+)\.(.*)", key)
        if m:
            members.setdefault(int(m.group(1)), {})[m.group(2)] = values[0]
    with LOCK:
        STATE["batches"].append(len(members))
        for member in members.values():
            dims = {}
            for k, v in member.items():
                d = re.match(r"Dimensions\.member\.(\d+)\.(Name|Value)", k)
                if d:
                    dims.setdefault(d.group(1), {})[d.group(2)] = v
            dimensions = ",".join(f"{x['Name']}={x['Value']}" for _, x in sorted(dims.items()))
            key = f"{namespace}|{member.get('MetricName')}|{dimensions}"
            entry = STATE["datums"].setdefault(key, {"datums": 0, "sum": 0.0})
            entry["datums"] += 1
            entry["sum"] += float(member.get("Value", 0) or 0)


class Handler(QuietHandler):
    default_content_type = "text/xml"

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/__fault":
            mode = urllib.parse.parse_qs(url.query).get("mode", ["ok"])[0]
            with LOCK:
                STATE["mode"] = mode
            return self.reply(200, json.dumps({"mode": mode}), "application/json")
        if url.path == "/__stats":
            with LOCK:
                stats = dict(STATE)
                if LOG_ENTRIES:
                    # The first entry numbers below the highest seen that never landed.
                    top = max(LOG_ENTRIES)
                    stats["missing_log_entries"] = [n for n in range(top) if n not in LOG_ENTRIES][:20]
                return self.reply(200, json.dumps(stats), "application/json")
        return self.forward()

    def do_POST(self):
        self.forward()

    def forward(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length) if length else b""
        with LOCK:
            mode = STATE["mode"]
        if mode == "503":
            count("503")
            return self.reply(503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>injected</Message></Error></ErrorResponse>")
        if mode == "throttle":
            count("throttle")
            return self.reply(400, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded (injected)</Message></Error></ErrorResponse>")
        if mode == "poison":
            count("poison")
            return self.reply(400, "<ErrorResponse><Error><Code>InvalidParameterValue</Code><Message>injected poison</Message></Error></ErrorResponse>")
        if mode == "reset":
            count("reset")
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if mode == "hang":
            count("hang")
            time.sleep(ARGS.hang)
            self.close_connection = True
            return
        path = self.path
        if path.startswith("http://"):  # used as a forward proxy (http_proxy): an absolute URI
            count("as_forward_proxy")
            absolute = urllib.parse.urlparse(path)
            path = absolute.path + (f"?{absolute.query}" if absolute.query else "")
        target = urllib.parse.urlparse(ARGS.target)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        headers["Host"] = self.headers.get("Host", "")
        conn.request(self.command, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if 200 <= response.status < 300:
            count("forwarded_ok")
            plain = gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body
            digest = hashlib.sha256(plain).hexdigest()
            with LOCK:
                if digest in SEEN:
                    STATE["duplicates"] += 1
                SEEN.add(digest)
            record_forwarded(plain)
            if ARGS.count_items:
                record_items(plain)
        else:
            count(f"forwarded_{response.status}")
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--hang", type=float, default=60)
    parser.add_argument("--count-items", action="store_true")
    parser.add_argument("--lifetime", type=float, default=900)
    ARGS = parser.parse_args()
    serve(Handler, ARGS.lifetime)


if __name__ == "__main__":
    sys.exit(main())
