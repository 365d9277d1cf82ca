#!/usr/bin/env python3
"""A counting AWS endpoint for the soak: PutMetricData (CloudWatch, query protocol),
PutTraceSegments (X-Ray) and PutLogEvents (CloudWatch Logs, with CreateLogGroup and
CreateLogStream). Unlike moto it keeps nothing but ids and counters, so it answers at the rate the
agent sends; and unlike the benchmarks' endpoint it checks what AWS checks:

- the SigV4 signature of every request (recomputed with --secret for --access-key, over the bytes
  sent: a gzip body is verified as sent, then decompressed), and a request time within 15 minutes;
- PutMetricData: at most 1,000 datums and 1 MB uncompressed, at most 30 dimensions and 150 values a
  datum, a namespace not starting with "AWS/";
- PutLogEvents: at most 10,000 events, at most 1,048,576 bytes counting 26 a event, in time order,
  spanning at most 24 hours, each message at most 1,048,550 bytes;
- PutTraceSegments: each document a JSON object with `id` and `trace_id`, at most 64 KiB.

A request that breaks one is refused as AWS refuses it (403 SignatureDoesNotMatch or
RequestTimeTooSkewed, 400 InvalidParameterValue/InvalidParameterException/
InvalidRequestException) and counted by reason. Accepted segments are kept by id, log events by the
id --log-id captures from their message (else counted, and the first 100 messages kept), metric
datums counted by metric name and their values summed by metric and dimension set
("Requests|Method=GET,Service=a": the datum's Value, StatisticValues.Sum, or the sum of Values
times Counts).

An outage is switched on and off with GET /__fault?mode=503 (every AWS request then answers 503
ServiceUnavailable, counted as "outage") and GET /__fault?mode=ok.

    counting_aws.py COUNTS_FILE [--access-key K] [--secret S] [--log-id REGEX] [--lifetime SECONDS]

Listens on 127.0.0.1, a free port printed on the first line (standin_http.py); rewrites COUNTS_FILE
once a second with the counters (JSON: counters, "distinct_segments", "distinct_log_ids", "refused"
by reason, "metrics", "metric_sums"), and with the ids too ("segment_ids", "log_ids") at exit
(SIGTERM): writing millions of ids every second would cost the machine the soak measures. GET
/__dump answers the same JSON, ids included, at any time.
"""
import argparse
import datetime
import gzip
import hashlib
import hmac
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from standin_http import QuietHandler, serve  # noqa: E402


class Refused(Exception):
    def __init__(self, status, code, reason, message):
        super().__init__(message)
        self.status, self.code, self.reason, self.message = status, code, reason, message


def uri_encode(text, slash=True):
    return urllib.parse.quote(text, safe="-_.~" + ("" if slash else "/"))


def verify_sigv4(method, path, headers, body, access_key, secret, max_skew, now=None):
    """Raises Refused unless `headers` carry a valid SigV4 signature of this request."""
    auth = headers.get("Authorization", "")
    match = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
    if not match:
        raise Refused(403, "IncompleteSignature", "bad_signature", "no SigV4 Authorization header")
    key_id, day, region, service, signed, signature = match.groups()
    if key_id != access_key:
        raise Refused(403, "InvalidClientTokenId", "bad_signature", "unknown access key")
    stamp = headers.get("X-Amz-Date", "")
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise Refused(403, "IncompleteSignature", "bad_signature", "no X-Amz-Date")
    if stamp[:8] != day:
        raise Refused(403, "SignatureDoesNotMatch", "bad_signature", "credential date is not the request's")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if abs((now - when).total_seconds()) > max_skew:
        raise Refused(403, "RequestTimeTooSkewed", "time_skew", f"request time {stamp} is too far from now")
    raw_path, _, query = path.partition("?")
    canonical_uri = "/".join(uri_encode(urllib.parse.unquote(p)) for p in raw_path.split("/")) or "/"
    pairs = sorted((uri_encode(urllib.parse.unquote_plus(k)), uri_encode(urllib.parse.unquote_plus(v)))
                   for k, _, v in (item.partition("=") for item in query.split("&") if item))
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    names = signed.split(";")
    if "host" not in names:
        raise Refused(403, "SignatureDoesNotMatch", "bad_signature", "host is not signed")
    canonical_headers = "".join(f"{n}:{' '.join((headers.get(n) or '').split())}\n" for n in names)
    payload = headers.get("X-Amz-Content-Sha256") or hashlib.sha256(body).hexdigest()
    if payload != hashlib.sha256(body).hexdigest():
        raise Refused(403, "SignatureDoesNotMatch", "bad_signature", "x-amz-content-sha256 is not the body's")
    canonical = "\n".join([method, canonical_uri, canonical_query, canonical_headers, signed, payload])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refused(403, "SignatureDoesNotMatch", "bad_signature", "the signature does not match")
    return service


def check_metric_data(form):
    """PutMetricData's limits; returns the datums as (metric name, "Name=Value,..." of the sorted
    dimensions, value sum)."""
    namespace = form.get("Namespace", [""])[0]
    if not namespace or namespace.startswith("AWS/"):
        raise Refused(400, "InvalidParameterValue", "metric_namespace", f"namespace {namespace!r}")
    names = {}
    values = {}
    dimensions = {}
    sums = {}
    listed = {}
    counts = {}
    pairs = {}
    for key, value in form.items():
        m = re.match(r"MetricData\.member\.(\d+)\.(MetricName|Value|StatisticValues\.Sum|Values\.member\.(\d+)|"
                     r"Counts\.member\.(\d+)|Dimensions\.member\.(\d+)\.(Name|Value))$", key)
        if not m:
            continue
        n = int(m.group(1))
        field = m.group(2)
        if field == "MetricName":
            names[n] = value[0]
        elif field in ("Value", "StatisticValues.Sum"):
            sums[n] = sums.get(n, 0.0) + float(value[0])
        elif field.startswith("Values"):
            values[n] = values.get(n, 0) + 1
            listed.setdefault(n, {})[int(m.group(3))] = float(value[0])
        elif field.startswith("Counts"):
            counts.setdefault(n, {})[int(m.group(4))] = float(value[0])
        else:
            if m.group(6) == "Name":
                dimensions[n] = dimensions.get(n, 0) + 1
            pairs.setdefault(n, {}).setdefault(int(m.group(5)), {})[m.group(6)] = value[0]
    if len(names) > 1000:
        raise Refused(400, "InvalidParameterValue", "metric_datums", f"{len(names)} datums, more than 1,000")
    for n, count in values.items():
        if count > 150:
            raise Refused(400, "InvalidParameterValue", "metric_values", f"datum {n}: {count} values, more than 150")
    for n, count in dimensions.items():
        if count > 30:
            raise Refused(400, "InvalidParameterValue", "metric_dimensions", f"datum {n}: {count} dimensions")
    datums = []
    for n, name in names.items():
        total = sums.get(n, 0.0) + sum(v * counts.get(n, {}).get(k, 1.0) for k, v in listed.get(n, {}).items())
        named = sorted((d.get("Name", ""), d.get("Value", "")) for d in pairs.get(n, {}).values())
        datums.append((name, ",".join(f"{k}={v}" for k, v in named), total))
    return datums


def check_log_events(request):
    events = request.get("logEvents") or []
    if not request.get("logGroupName") or not request.get("logStreamName"):
        raise Refused(400, "InvalidParameterException", "log_names", "no log group or stream")
    if not events or len(events) > 10000:
        raise Refused(400, "InvalidParameterException", "log_count", f"{len(events)} events (1 to 10,000)")
    size = 0
    for i, event in enumerate(events):
        message = event.get("message", "").encode()
        if not message or len(message) > 1048550:
            raise Refused(400, "InvalidParameterException", "log_event_size", f"event {i}: {len(message)} bytes")
        size += len(message) + 26
        if i and event["timestamp"] < events[i - 1]["timestamp"]:
            raise Refused(400, "InvalidParameterException", "log_order", f"event {i} is earlier than the one before")
    if size > 1048576:
        raise Refused(400, "InvalidParameterException", "log_batch_size", f"{size} bytes, more than 1,048,576")
    if events[-1]["timestamp"] - events[0]["timestamp"] > 24 * 3600 * 1000:
        raise Refused(400, "InvalidParameterException", "log_span", "the batch spans more than 24 hours")
    return events


def check_segments(request):
    documents = request.get("TraceSegmentDocuments") or []
    ids = []
    for document in documents:
        if len(document.encode()) > 64 * 1024:
            raise Refused(400, "InvalidRequestException", "segment_size", "a document larger than 64 KiB")
        try:
            segment = json.loads(document)
        except ValueError:
            raise Refused(400, "InvalidRequestException", "segment_json", "a document that is not JSON")
        if not isinstance(segment, dict) or not segment.get("id") or not segment.get("trace_id"):
            raise Refused(400, "InvalidRequestException", "segment_fields", "a document without id or trace_id")
        ids.append(segment["id"])
    return ids


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("counts_file")
    parser.add_argument("--access-key", default="soak")
    parser.add_argument("--secret", default="soak-secret-key")
    parser.add_argument("--log-id", default=r"\bid=(\S+)")
    parser.add_argument("--max-skew", type=float, default=900)
    parser.add_argument("--lifetime", type=float, default=7200)
    args = parser.parse_args()
    log_id = re.compile(args.log_id)
    lock = threading.Lock()
    state = {"requests": 0, "metric_calls": 0, "metric_datums": 0, "trace_calls": 0, "segments": 0,
             "log_calls": 0, "log_events": 0, "log_events_without_id": 0, "log_events_without_id_examples": [],
             "refused": {},
             "segment_ids": set(), "log_ids": set(), "metrics": {}, "metric_sums": {},
             "duplicate_segments": 0, "duplicate_log_events": 0, "mode": "ok"}

    writing = threading.Lock()

    def snapshot_counts(ids):
        with lock:
            snapshot = {k: v for k, v in state.items() if not isinstance(v, set)}
            snapshot["metrics"] = dict(state["metrics"])
            snapshot["metric_sums"] = dict(state["metric_sums"])
            snapshot["refused"] = dict(state["refused"])
            snapshot["log_events_without_id_examples"] = list(state["log_events_without_id_examples"])
            snapshot["distinct_segments"] = len(state["segment_ids"])
            snapshot["distinct_log_ids"] = len(state["log_ids"])
            if ids:
                snapshot["segment_ids"] = list(state["segment_ids"])
                snapshot["log_ids"] = list(state["log_ids"])
        return snapshot

    def write_counts(ids=False):
        snapshot = snapshot_counts(ids)
        with writing:
            with open(args.counts_file + ".tmp", "w") as f:
                json.dump(snapshot, f)
            os.replace(args.counts_file + ".tmp", args.counts_file)

    class Handler(QuietHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            url = urllib.parse.urlparse(self.path)
            if url.path == "/__dump":
                return self.reply(200, json.dumps(snapshot_counts(ids=True)))
            if url.path != "/__fault":
                return self.reply(404, "{}")
            mode = urllib.parse.parse_qs(url.query).get("mode", ["ok"])[0]
            if mode not in ("ok", "503"):
                return self.reply(400, json.dumps({"error": f"mode {mode!r}: ok or 503"}))
            with lock:
                state["mode"] = mode
            write_counts()
            self.reply(200, json.dumps({"mode": mode}))

        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            target = self.headers.get("X-Amz-Target", "")
            with lock:
                state["requests"] += 1
                outage = state["mode"] == "503"
            try:
                if outage:
                    raise Refused(503, "ServiceUnavailable", "outage", "the service is unavailable (injected)")
                verify_sigv4("POST", self.path, self.headers, body, args.access_key, args.secret, args.max_skew)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.startswith("/TraceSegments"):
                    ids = check_segments(json.loads(body))
                    with lock:
                        state["trace_calls"] += 1
                        state["segments"] += len(ids)
                        before = len(state["segment_ids"])
                        state["segment_ids"].update(ids)
                        state["duplicate_segments"] += len(ids) - (len(state["segment_ids"]) - before)
                    self.reply(200, '{"UnprocessedTraceSegments":[]}')
                elif target.endswith(".PutLogEvents"):
                    events = check_log_events(json.loads(body))
                    found = [m.group(1) for m in (log_id.search(e["message"]) for e in events) if m]
                    unmatched = [e["message"][:300] for e in events if not log_id.search(e["message"])]
                    with lock:
                        room = 100 - len(state["log_events_without_id_examples"])
                        state["log_events_without_id_examples"] += unmatched[:max(0, room)]
                        state["log_calls"] += 1
                        state["log_events"] += len(events)
                        state["log_events_without_id"] += len(events) - len(found)
                        before = len(state["log_ids"])
                        state["log_ids"].update(found)
                        state["duplicate_log_events"] += len(found) - (len(state["log_ids"]) - before)
                    self.reply(200, '{"nextSequenceToken":"0"}', "application/x-amz-json-1.1")
                elif target.startswith("Logs_"):
                    self.reply(200, "{}", "application/x-amz-json-1.1")
                else:
                    if len(body) > 1048576:
                        raise Refused(400, "RequestEntityTooLarge", "metric_request_size", f"{len(body)} bytes")
                    form = urllib.parse.parse_qs(body.decode())
                    if form.get("Action", [""])[0] != "PutMetricData":
                        raise Refused(400, "InvalidAction", "action", f"action {form.get('Action')}")
                    datums = check_metric_data(form)
                    with lock:
                        state["metric_calls"] += 1
                        state["metric_datums"] += len(datums)
                        for name, dimensions, total in datums:
                            state["metrics"][name] = state["metrics"].get(name, 0) + 1
                            key = f"{name}|{dimensions}"
                            state["metric_sums"][key] = state["metric_sums"].get(key, 0.0) + total
                    self.reply(200, '<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
                               "<ResponseMetadata><RequestId>0</RequestId></ResponseMetadata>"
                               "</PutMetricDataResponse>", "text/xml")
            except Refused as refused:
                with lock:
                    state["refused"][refused.reason] = state["refused"].get(refused.reason, 0) + 1
                if target.startswith("Logs_") or self.path.startswith("/TraceSegments"):
                    self.reply(refused.status, json.dumps({"__type": refused.code, "message": refused.message}),
                               "application/x-amz-json-1.1")
                else:
                    self.reply(refused.status, f"<ErrorResponse><Error><Type>Sender</Type><Code>{refused.code}</Code>"
                               f"<Message>{refused.message}</Message></Error></ErrorResponse>", "text/xml")
            except (ValueError, KeyError) as error:
                with lock:
                    state["refused"]["malformed"] = state["refused"].get("malformed", 0) + 1
                self.reply(400, json.dumps({"__type": "SerializationException", "message": str(error)}))

    def every_second():
        while True:
            time.sleep(1)
            write_counts()

    def stop(*_):
        try:
            write_counts(ids=True)
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    # A parent may have started it with SIGTERM blocked (Foundation's Process passes its mask on).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    threading.Thread(target=every_second, daemon=True).start()
    serve(Handler, args.lifetime)


if __name__ == "__main__":
    main()
