#!/usr/bin/env python3
"""The demo's summary, every number read back from the local AWS endpoint (CloudWatch, CloudWatch
Logs, X-Ray) with boto3, beside what the demo's traffic sent:

  demo_summary.py --endpoint URL --sent FILE --start EPOCH --end EPOCH [--cluster demo]

Per service: requests, 5xx rate and mean latency (summed over each route's series: the local endpoint
answers a per-service query with the routes' datums as well, and computes no CloudWatch percentile);
each pool's highest utilization; logins and failures by reason; the database's busiest statements
(StatementTotalTime, with their texts from CloudWatch Logs); X-Ray segments and journal events landed.
Exits 1, naming them, when the counts that must be exact (requests and 5xx per service, logins and
failures by reason, segments, journal events) are not what was sent.
"""
import argparse
import datetime
import json
import sys

import boto3


def client(service, endpoint):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="demo", aws_secret_access_key="demo-secret-key")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--sent", required=True)
    parser.add_argument("--start", type=float, required=True)
    parser.add_argument("--end", type=float, required=True)
    parser.add_argument("--cluster", default="demo")
    args = parser.parse_args()
    with open(args.sent) as f:
        sent = json.load(f)
    cw = client("cloudwatch", args.endpoint)
    start = datetime.datetime.fromtimestamp(args.start - 120, datetime.timezone.utc)
    end = datetime.datetime.fromtimestamp(args.end + 120, datetime.timezone.utc)

    def metrics(namespace, name):
        found = {}
        for page in cw.get_paginator("list_metrics").paginate(Namespace=namespace, MetricName=name):
            for m in page["Metrics"]:
                key = tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))
                found[key] = m["Dimensions"]
        return found

    def stats(namespace, name, dimensions, statistics):
        points = cw.get_metric_statistics(Namespace=namespace, MetricName=name, Dimensions=dimensions,
                                          StartTime=start, EndTime=end, Period=60, Statistics=statistics)["Datapoints"]
        return points

    def total(namespace, name, dimensions):
        return sum(p.get("Sum", 0) for p in stats(namespace, name, dimensions, ["Sum"]))

    lines = []
    # Counts that must be exact: what landed against what was sent.
    mismatches = []

    def check(what, landed, expected):
        if int(round(landed)) != int(expected):
            mismatches.append(f"{what}: {int(round(landed))} landed, {int(expected)} sent")

    # API, per service, from the per-route series.
    per = {}
    for name in ("Requests", "Faults"):
        for key, dims in metrics("Obs/API", name).items():
            d = dict(key)
            if "Route" not in d:
                continue
            per.setdefault(d["Service"], {}).setdefault(name, 0)
            per[d["Service"]][name] += total("Obs/API", name, dims)
    for key, dims in metrics("Obs/API", "Latency").items():
        d = dict(key)
        if "Route" not in d:
            continue
        for p in stats("Obs/API", "Latency", dims, ["Sum", "SampleCount"]):
            entry = per.setdefault(d["Service"], {})
            entry["lsum"] = entry.get("lsum", 0) + p.get("Sum", 0)
            entry["lcount"] = entry.get("lcount", 0) + p.get("SampleCount", 0)
    lines.append("API (Obs/API, per service; sent by the demo's traffic in brackets)")
    lines.append(f"  {'service':<17}{'requests':>16}{'5xx':>12}{'mean latency':>15}")
    for service in sorted(per):
        e = per[service]
        requests, faults = e.get("Requests", 0), e.get("Faults", 0)
        rate = 100 * faults / requests if requests else 0
        mean = e["lsum"] / e["lcount"] if e.get("lcount") else 0
        check(f"{service} requests", requests, sent["requests"].get(service, 0))
        check(f"{service} 5xx", faults, sent["faults"].get(service, 0))
        lines.append(f"  {service:<17}{int(requests):>7} [{sent['requests'].get(service, 0):>5}]"
                     f"{rate:>8.1f} %{'':>3}{mean:>9.1f} ms")

    pools = []
    for key, dims in metrics("Obs/Pool", "Utilization").items():
        d = dict(key)
        if "Pool" not in d:
            continue
        peak = max((p.get("Maximum", 0) for p in stats("Obs/Pool", "Utilization", dims, ["Maximum"])), default=0)
        pools.append(f"{d['Service']} {peak:.0f} %")
    lines.append("Connection pools, highest utilization (Obs/Pool Utilization): " + ", ".join(sorted(pools)))

    logins = sum(total("Obs/Auth", "LoginSuccess", dims) for key, dims in metrics("Obs/Auth", "LoginSuccess").items()
                 if "Client" in dict(key))
    reasons = {}
    for key, dims in metrics("Obs/Auth", "LoginFailure").items():
        d = dict(key)
        if "Reason" in d:
            reasons[d["Reason"]] = reasons.get(d["Reason"], 0) + total("Obs/Auth", "LoginFailure", dims)
    check("logins", logins, sent["logins"])
    for reason in set(reasons) | set(sent["failures"]):
        check(f"failed logins ({reason})", reasons.get(reason, 0), sent["failures"].get(reason, 0))
    failed = ", ".join(f"{r} {int(n)} [{sent['failures'].get(r, 0)}]" for r, n in sorted(reasons.items()))
    lines.append(f"Logins (Obs/Auth, from Keycloak's event lines): {int(logins)} [{sent['logins']}] succeeded; "
                 f"failed: {failed or 'none'}")

    # The busiest statements, and their texts from CloudWatch Logs.
    logs = client("logs", args.endpoint)
    texts = {}
    try:
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName="/obs/postgresql/statements"):
            for event in page["events"]:
                record = json.loads(event["message"])
                texts[record["queryId"]] = " ".join(record["query"].split())
    except logs.exceptions.ResourceNotFoundException:
        pass
    busiest = []
    for key, dims in metrics("Obs/PostgreSQL", "StatementTotalTime").items():
        d = dict(key)
        if d.get("Database") == "microservices_ecom":
            busiest.append((total("Obs/PostgreSQL", "StatementTotalTime", dims), d["QueryId"]))
    busiest.sort(reverse=True)
    lines.append("Database, busiest statements by total time (Obs/PostgreSQL StatementTotalTime, texts from CloudWatch Logs):")
    for milliseconds, query_id in busiest[:3]:
        text = texts.get(query_id, f"(query id {query_id})")
        lines.append(f"  {milliseconds:>9.0f} ms  {text[:90]}")

    # X-Ray: the traces the traffic sent, read back.
    xray = client("xray", args.endpoint)
    ids = sent["traces"]
    segments = 0
    for i in range(0, len(ids), 5):
        for trace in xray.batch_get_traces(TraceIds=ids[i:i + 5])["Traces"]:
            segments += len(trace["Segments"])
    check("X-Ray segments", segments, sent["segments"])
    lines.append(f"X-Ray: {segments} [{sent['segments']}] segments landed in {len(ids)} traces")

    events = 0
    streams = 0
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=f"/ecs/{args.cluster}/"):
        for group in page["logGroups"]:
            for spage in logs.get_paginator("describe_log_streams").paginate(logGroupName=group["logGroupName"]):
                for stream in spage["logStreams"]:
                    streams += 1
                    token = None
                    while True:
                        kwargs = {"logGroupName": group["logGroupName"], "logStreamName": stream["logStreamName"],
                                  "startFromHead": True}
                        if token:
                            kwargs["nextToken"] = token
                        page_events = logs.get_log_events(**kwargs)
                        events += len(page_events["events"])
                        if not page_events["events"] or page_events.get("nextForwardToken") == token:
                            break
                        token = page_events.get("nextForwardToken")
    lines.append(f"CloudWatch Logs: {events} [{sent['journal_entries']}] journal events landed in {streams} streams "
                 f"under /ecs/{args.cluster}/")
    check("journal events", events, sent["journal_entries"])
    print("\n".join(lines))
    if mismatches:
        print("NOT WHAT WAS SENT: " + "; ".join(mismatches))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
