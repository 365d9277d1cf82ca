#!/usr/bin/env python3
"""Creates an IAM user with full access and an access key on a moto_server started with
INITIAL_NO_AUTH_ACTION_COUNT (so that these first calls need no credentials), and prints the key
as JSON: {"AccessKeyId": ..., "SecretAccessKey": ...}."""
import json
import sys

import boto3

iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap-secret")
iam.create_user(UserName="obs-agent")
iam.put_user_policy(UserName="obs-agent", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="obs-agent")["AccessKey"]
print(json.dumps({"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}))
