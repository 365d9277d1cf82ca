#!/usr/bin/env python3
"""Tests of counting_aws.py, the soak's endpoint, with boto3 as the client (signed as the AWS SDKs
sign): what AWS accepts is counted, what it refuses is refused and counted by reason. Run by
scripts/test; exits non-zero on a failure."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import urllib.parse
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))


class CountingEndpointTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.counts = os.path.join(cls.dir, "counts.json")
        cls.process = subprocess.Popen([sys.executable, os.path.join(HERE, "counting_aws.py"), cls.counts,
                                        "--access-key", "AKIDTEST", "--secret", "test-secret", "--lifetime", "120"],
                                       stdout=subprocess.PIPE, text=True)
        cls.endpoint = f"http://127.0.0.1:{cls.process.stdout.readline().strip()}"

    @classmethod
    def tearDownClass(cls):
        cls.process.terminate()
        cls.process.wait(timeout=10)
        cls.process.stdout.close()

    def client(self, service, secret="test-secret"):
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="AKIDTEST", aws_secret_access_key=secret,
                            config=botocore.config.Config(retries={"total_max_attempts": 1}))

    def put_metric_data(self, namespace, datums, secret="test-secret"):
        """PutMetricData in the query protocol the agent uses (boto3 now speaks another), signed by
        botocore's SigV4 signer. Returns (status, body)."""
        form = {"Action": "PutMetricData", "Version": "2010-08-01", "Namespace": namespace}
        for i, datum in enumerate(datums, 1):
            form[f"MetricData.member.{i}.MetricName"] = datum["MetricName"]
            if "Value" in datum:
                form[f"MetricData.member.{i}.Value"] = str(datum["Value"])
            if "Sum" in datum:
                form[f"MetricData.member.{i}.StatisticValues.Sum"] = str(datum["Sum"])
            for j, value in enumerate(datum.get("Values", []), 1):
                form[f"MetricData.member.{i}.Values.member.{j}"] = str(value)
            for j, count in enumerate(datum.get("Counts", []), 1):
                form[f"MetricData.member.{i}.Counts.member.{j}"] = str(count)
            for j, (name, value) in enumerate(datum.get("Dimensions", []), 1):
                form[f"MetricData.member.{i}.Dimensions.member.{j}.Name"] = name
                form[f"MetricData.member.{i}.Dimensions.member.{j}.Value"] = value
        request = botocore.awsrequest.AWSRequest(
            method="POST", url=self.endpoint + "/", data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        botocore.auth.SigV4Auth(botocore.credentials.Credentials("AKIDTEST", secret), "monitoring",
                                "us-east-1").add_auth(request)
        prepared = request.prepare()
        try:
            with urllib.request.urlopen(urllib.request.Request(
                    prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST")) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def read(self):
        with urllib.request.urlopen(f"{self.endpoint}/__dump") as answer:
            return json.load(answer)

    def refused(self, call, code):
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            call()
        self.assertEqual(caught.exception.response["Error"]["Code"], code)

    def test_signed_requests_are_counted(self):
        logs, xray = self.client("logs"), self.client("xray")
        status, body = self.put_metric_data("Obs/Test", [
            {"MetricName": "Requests", "Value": 1}, {"MetricName": "Latency", "Values": [1, 2, 3]}])
        self.assertEqual(status, 200, body)
        logs.create_log_group(logGroupName="/soak/a")
        logs.create_log_stream(logGroupName="/soak/a", logStreamName="h")
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName="/soak/a", logStreamName="h", logEvents=[
            {"timestamp": now, "message": "id=e1 hello"}, {"timestamp": now + 1, "message": "id=e2 again"},
            {"timestamp": now + 2, "message": "no id here"}])
        documents = [json.dumps({"id": f"{n:016x}", "trace_id": "1-5f000000-000000000000000000000001",
                                 "name": "a", "start_time": 1, "end_time": 2}) for n in range(3)]
        xray.put_trace_segments(TraceSegmentDocuments=documents)
        xray.put_trace_segments(TraceSegmentDocuments=documents[:1])
        counts = self.read()
        self.assertGreaterEqual(counts["metrics"].get("Requests", 0), 1)
        self.assertGreaterEqual(counts["metrics"].get("Latency", 0), 1)
        self.assertTrue({"e1", "e2"} <= set(counts["log_ids"]))
        self.assertGreaterEqual(counts["log_events_without_id"], 1)
        self.assertTrue({f"{n:016x}" for n in range(3)} <= set(counts["segment_ids"]))
        self.assertGreaterEqual(counts["duplicate_segments"], 1)

    def test_the_counts_file_holds_counters_every_second_and_ids_on_a_dump(self):
        self.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(
            {"id": "00000000000000bb", "trace_id": "1-5f000000-000000000000000000000002"})])
        time.sleep(1.3)
        with open(self.counts) as f:
            counts = json.load(f)
        self.assertNotIn("segment_ids", counts)
        self.assertGreaterEqual(counts["distinct_segments"], 1)
        self.assertIn("00000000000000bb", self.read()["segment_ids"])
        # At exit (SIGTERM) the file holds the ids too.
        process = subprocess.Popen([sys.executable, os.path.join(HERE, "counting_aws.py"), self.counts + ".exit",
                                    "--access-key", "AKIDTEST", "--secret", "test-secret", "--lifetime", "60"],
                                   stdout=subprocess.PIPE, text=True)
        process.stdout.readline()
        process.terminate()
        self.assertEqual(process.wait(timeout=10), 0)
        process.stdout.close()
        with open(self.counts + ".exit") as f:
            self.assertEqual(json.load(f)["segment_ids"], [])

    def test_metric_values_are_summed_by_dimension_set(self):
        status, body = self.put_metric_data("Obs/Test", [
            {"MetricName": "Sums", "Value": 2, "Dimensions": [("Service", "a"), ("Method", "GET")]},
            {"MetricName": "Sums", "Sum": 5, "Dimensions": [("Method", "GET"), ("Service", "a")]},
            {"MetricName": "Sums", "Values": [1, 3], "Counts": [2, 4], "Dimensions": [("Service", "a")]},
            {"MetricName": "Sums", "Value": 7}])
        self.assertEqual(status, 200, body)
        sums = self.read()["metric_sums"]
        self.assertEqual(sums["Sums|Method=GET,Service=a"], 7)
        self.assertEqual(sums["Sums|Service=a"], 14)
        self.assertEqual(sums["Sums|"], 7)

    def test_an_outage_answers_503_until_it_ends(self):
        def fault(mode):
            with urllib.request.urlopen(f"{self.endpoint}/__fault?mode={mode}") as answer:
                self.assertEqual(answer.status, 200)
        fault("503")
        try:
            status, _ = self.put_metric_data("Obs/Test", [{"MetricName": "Outage", "Value": 1}])
            self.assertEqual(status, 503)
            self.refused(lambda: self.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(
                {"id": "00000000000000aa", "trace_id": "1-5f000000-000000000000000000000001"})]),
                "ServiceUnavailable")
        finally:
            fault("ok")
        status, body = self.put_metric_data("Obs/Test", [{"MetricName": "Outage", "Value": 1}])
        self.assertEqual(status, 200, body)
        counts = self.read()
        self.assertEqual(counts["refused"].get("outage"), 2)
        self.assertEqual(counts["metric_sums"]["Outage|"], 1)
        self.assertNotIn("00000000000000aa", counts["segment_ids"])

    def test_a_wrong_signature_is_refused(self):
        status, body = self.put_metric_data("Obs/Test", [{"MetricName": "X", "Value": 1}], secret="wrong")
        self.assertEqual(status, 403)
        self.assertIn("SignatureDoesNotMatch", body)
        self.refused(lambda: self.client("logs", secret="wrong").create_log_group(logGroupName="/x"),
                     "SignatureDoesNotMatch")
        self.assertGreaterEqual(self.read()["refused"].get("bad_signature", 0), 1)

    def test_the_api_limits_are_enforced(self):
        logs, xray = self.client("logs"), self.client("xray")
        for namespace, datums in [("Obs/Test", [{"MetricName": "X", "Value": 1}] * 1001),
                                  ("AWS/EC2", [{"MetricName": "X", "Value": 1}]),
                                  ("Obs/Test", [{"MetricName": "X", "Values": list(range(151))}])]:
            status, body = self.put_metric_data(namespace, datums)
            self.assertEqual(status, 400)
            self.assertIn("InvalidParameterValue", body)
        now = int(time.time() * 1000)
        self.refused(lambda: logs.put_log_events(logGroupName="/soak/a", logStreamName="h", logEvents=[
            {"timestamp": now, "message": "x"}] * 10001), "InvalidParameterException")
        self.refused(lambda: logs.put_log_events(logGroupName="/soak/a", logStreamName="h", logEvents=[
            {"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}]), "InvalidParameterException")
        self.refused(lambda: logs.put_log_events(logGroupName="/soak/a", logStreamName="h", logEvents=[
            {"timestamp": now - 25 * 3600 * 1000, "message": "a"}, {"timestamp": now, "message": "b"}]),
            "InvalidParameterException")
        self.refused(lambda: logs.put_log_events(logGroupName="/soak/a", logStreamName="h", logEvents=[
            {"timestamp": now, "message": "m" * 600000}, {"timestamp": now, "message": "m" * 600000}]),
            "InvalidParameterException")
        self.refused(lambda: xray.put_trace_segments(TraceSegmentDocuments=["{not json"]), "InvalidRequestException")
        self.refused(lambda: xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(
            {"id": "1", "trace_id": "t", "pad": "x" * 70000})]), "InvalidRequestException")
        refused = self.read()["refused"]
        for reason in ("metric_datums", "metric_namespace", "metric_values", "log_count", "log_order", "log_span",
                       "log_batch_size", "segment_json", "segment_size"):
            self.assertGreaterEqual(refused.get(reason, 0), 1, reason)


if __name__ == "__main__":
    unittest.main(verbosity=1)
