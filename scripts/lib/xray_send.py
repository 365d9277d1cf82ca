#!/usr/bin/env python3
"""Sends segments with the real aws-xray-sdk to an X-Ray daemon address, as a service would:
  xray_send.py HOST:PORT COUNT [SERVICE]
Each segment is an HTTP request of service SERVICE (default user-service) (GET /api/users/<n>; every fifth a 500,
every seventh a 404) with one subsegment. Prints JSON: {"traces": [...], "segments": [...]}."""
import json
import logging
import sys
import time

from aws_xray_sdk.core import xray_recorder

logging.getLogger("aws_xray_sdk").setLevel(logging.ERROR)


def main():
    address, count = sys.argv[1], int(sys.argv[2])
    service = sys.argv[3] if len(sys.argv) > 3 else "user-service"
    xray_recorder.configure(daemon_address=address, sampling=False, context_missing="LOG_ERROR",
                            service=service, streaming_threshold=1000)
    traces, segments = [], []
    for n in range(count):
        segment = xray_recorder.begin_segment(service)
        status = 500 if n % 5 == 0 else (404 if n % 7 == 0 else 200)
        segment.put_http_meta("method", "GET")
        segment.put_http_meta("url", f"http://user-service:8080/api/users/{1000 + n}?expand=roles")
        segment.put_http_meta("status", status)
        if status == 500:
            segment.add_fault_flag()
        elif status == 404:
            segment.add_error_flag()
        subsegment = xray_recorder.begin_subsegment("postgres")
        subsegment.put_annotation("table", "users")
        time.sleep(0.001)
        xray_recorder.end_subsegment()
        traces.append(segment.trace_id)
        segments.append(segment.id)
        xray_recorder.end_segment()
    json.dump({"traces": traces, "segments": segments}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
