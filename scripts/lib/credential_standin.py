#!/usr/bin/env python3
"""Local stand-ins for the credential endpoints the agent's chain talks to, for tests:

  EC2 instance metadata (IMDSv2): PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/[role]
  ECS container endpoint:         GET /ecs/credentials (Authorization must equal --ecs-token)
  STS AssumeRoleWithWebIdentity:  POST / (form), records the WebIdentityToken it was given
  X-Ray sampling:                 POST /GetSamplingRules, POST /SamplingTargets (canned answers),
                                  records each request's SigV4 credential scope

Listens on 127.0.0.1 (an ephemeral port, printed on the first line of stdout). Credentials expire
--expiry seconds after they are issued, each issue with a new AccessKeyId. GET /__stats returns
what was asked. Exits by itself after --lifetime seconds.
"""
import argparse
import datetime
import json
import threading
import urllib.parse

from standin_http import QuietHandler, serve

STATS = {"imds_token": 0, "imds_credentials": 0, "imds_rejected": 0, "ecs": 0, "ecs_rejected": 0, "sts": 0,
         "web_identity_tokens": [], "sampling": []}
LOCK = threading.Lock()
IMDS_TOKEN = "imds-session-token-0123456789"


def credentials(kind):
    with LOCK:
        STATS[kind] = STATS.get(kind, 0) + 1
        n = STATS[kind]
    expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=ARGS.expiry)
    return {"AccessKeyId": f"ASIA{kind.upper().replace('_', '')}{n:04d}", "SecretAccessKey": f"secret-{kind}-{n}",
            "Token": f"token-{kind}-{n}", "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}


class Handler(QuietHandler):
    default_content_type = "application/json"

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            with LOCK:
                STATS["imds_token"] += 1
            return self.reply(200, IMDS_TOKEN, "text/plain")
        return self.reply(400, "bad token request", "text/plain")

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path == "/__stats":
            with LOCK:
                return self.reply(200, json.dumps(STATS))
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                with LOCK:
                    STATS["imds_rejected"] += 1
                return self.reply(401, "", "text/plain")
            role = path[len("/latest/meta-data/iam/security-credentials/"):]
            if not role:
                return self.reply(200, "obs-agent-role", "text/plain")
            return self.reply(200, json.dumps({"Code": "Success", "Type": "AWS-HMAC", **credentials("imds_credentials")}))
        if path == "/ecs/credentials":
            if self.headers.get("Authorization") != ARGS.ecs_token:
                with LOCK:
                    STATS["ecs_rejected"] += 1
                return self.reply(401, "{}")
            return self.reply(200, json.dumps(credentials("ecs")))
        return self.reply(404, "{}")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length).decode()
        if self.path in ("/GetSamplingRules", "/SamplingTargets"):
            authorization = self.headers.get("Authorization", "")
            scope = authorization.split("Credential=")[1].split(",")[0] if "Credential=" in authorization else ""
            with LOCK:
                STATS["sampling"].append({"path": self.path, "scope": scope, "body": raw})
            if self.path == "/GetSamplingRules":
                return self.reply(200, json.dumps({"SamplingRuleRecords": [{"SamplingRule": {
                    "RuleName": "Default", "Priority": 10000, "FixedRate": 0.05, "ReservoirSize": 1, "ServiceName": "*",
                    "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*", "ResourceARN": "*", "Version": 1}}]}))
            return self.reply(200, json.dumps({"SamplingTargetDocuments": [], "LastRuleModification": 0,
                                               "UnprocessedStatistics": []}))
        form = urllib.parse.parse_qs(raw)
        if form.get("Action") == ["AssumeRoleWithWebIdentity"]:
            with LOCK:
                STATS["web_identity_tokens"].append(form.get("WebIdentityToken", [""])[0])
            c = credentials("sts")
            body = (f"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                    f"<AccessKeyId>{c['AccessKeyId']}</AccessKeyId><SecretAccessKey>{c['SecretAccessKey']}</SecretAccessKey>"
                    f"<SessionToken>{c['Token']}</SessionToken><Expiration>{c['Expiration']}</Expiration>"
                    f"</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
            return self.reply(200, body, "text/xml")
        return self.reply(400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>", "text/xml")


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--expiry", type=float, default=21600)
    parser.add_argument("--ecs-token", default="ecs-auth-token")
    parser.add_argument("--lifetime", type=float, default=300)
    ARGS = parser.parse_args()
    serve(Handler, ARGS.lifetime)


if __name__ == "__main__":
    main()
