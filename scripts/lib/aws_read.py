#!/usr/bin/env python3
"""Reads back from a local AWS endpoint what tests sent, as JSON on stdout:
  aws_read.py ENDPOINT logs GROUP STREAM      -> [{"timestamp": ms, "message": "..."}]
  aws_read.py ENDPOINT traces TRACE_ID...      -> [segment document, ...]
"""
import json
import sys

import boto3


def client(service, endpoint):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="reader", aws_secret_access_key="reader-secret")


def main():
    endpoint, kind = sys.argv[1], sys.argv[2]
    if kind == "logs":
        logs = client("logs", endpoint)
        events, token = [], None
        while True:
            kwargs = {"logGroupName": sys.argv[3], "logStreamName": sys.argv[4], "startFromHead": True}
            if token:
                kwargs["nextToken"] = token
            page = logs.get_log_events(**kwargs)
            events += [{"timestamp": e["timestamp"], "message": e["message"]} for e in page["events"]]
            if not page["events"] or page.get("nextForwardToken") == token:
                break
            token = page.get("nextForwardToken")
        json.dump(events, sys.stdout)
    elif kind == "traces":
        xray = client("xray", endpoint)
        ids = sys.argv[3:]
        documents = []
        for i in range(0, len(ids), 5):
            for trace in xray.batch_get_traces(TraceIds=ids[i:i + 5])["Traces"]:
                documents += [json.loads(s["Document"]) for s in trace["Segments"]]
        json.dump(documents, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
