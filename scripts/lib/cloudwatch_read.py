#!/usr/bin/env python3
"""Reads back what landed in a CloudWatch endpoint (boto3, as a user would): every metric of a
namespace with its dimensions, unit and the latest datapoint's statistics. JSON by default,
a table with --table."""
import argparse
import datetime
import json
import sys

import boto3


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--dimension", action="append", default=[],
                        help="NAME=VALUE: only metrics with this dimension (repeatable)")
    parser.add_argument("--metric", help="only the metric of this name (one statistics call per series"
                        " instead of one per metric of the namespace)")
    args = parser.parse_args()

    import os
    cw = boto3.client("cloudwatch", endpoint_url=args.endpoint, region_name=args.region,
                      aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "reader"),
                      aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "reader-secret"))
    now = datetime.datetime.now(datetime.timezone.utc)
    out = []
    seen = set()
    filters = [{"Name": d.split("=", 1)[0], "Value": d.split("=", 1)[1]} for d in args.dimension]
    listing = {"Namespace": args.namespace}
    if filters:
        listing["Dimensions"] = filters
    if args.metric:
        listing["MetricName"] = args.metric
    for page in cw.get_paginator("list_metrics").paginate(**listing):
        for metric in page["Metrics"]:
            key = (metric["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"])))
            if key in seen:  # moto lists a metric once per StatisticValues datum
                continue
            seen.add(key)
            stats = cw.get_metric_statistics(
                Namespace=args.namespace, MetricName=metric["MetricName"], Dimensions=metric["Dimensions"],
                StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=5),
                Period=60, Statistics=["Sum", "SampleCount", "Average", "Minimum", "Maximum"])
            points = sorted(stats["Datapoints"], key=lambda p: p["Timestamp"])
            out.append({
                "name": metric["MetricName"],
                "dimensions": {d["Name"]: d["Value"] for d in metric["Dimensions"]},
                "unit": points[-1].get("Unit") if points else None,
                "datapoints": [{"timestamp": p["Timestamp"].isoformat(), "sum": p.get("Sum"),
                                "sample_count": p.get("SampleCount"), "average": p.get("Average"),
                                "minimum": p.get("Minimum"), "maximum": p.get("Maximum")} for p in points],
            })
    out.sort(key=lambda m: (m["name"], sorted(m["dimensions"].items())))
    if args.table:
        print(f"{'metric':<16} {'unit':<6} {'latest minute: sum':>19} {'samples':>8} {'average':>10}  dimensions")
        for m in out:
            last = m["datapoints"][-1] if m["datapoints"] else {}
            dims = ", ".join(f"{k}={v}" for k, v in sorted(m["dimensions"].items()))
            print(f"{m['name']:<16} {m['unit'] or '-':<6} {last.get('sum') or 0:>19.6g} {last.get('sample_count') or 0:>8.0f} "
                  f"{last.get('average') or 0:>10.6g}  {dims}")
        print(f"{len(out)} metrics in {args.namespace}")
    else:
        json.dump(out, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
