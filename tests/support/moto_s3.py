#!/usr/bin/env python3
"""moto's S3 server on 127.0.0.1 for the tests, with its access control on: every request must carry
a valid AWS Signature Version 4 made with a key that moto's IAM knows, or moto answers 403
(InvalidAccessKeyId, SignatureDoesNotMatch) as AWS does. The first three requests create that key
(an IAM user allowed everything); the buckets named are then created with it. moto keeps objects
in memory: the tests read them back with botocore, a client independent of the project's.

usage: moto_s3.py INFO_FILE BUCKET...
Writes {"url", "access_key", "secret_key"} to INFO_FILE once the server is ready, then serves
until SIGTERM or SIGINT.
"""
import json
import os
import signal
import sys
import threading

# Read by moto when it is imported: requests after the first three need a valid signature.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402  (after the variable above)
from moto.server import ThreadedMotoServer  # noqa: E402


def main():
    info_file, buckets = sys.argv[1], sys.argv[2:]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    setup = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
    iam = boto3.client("iam", **setup)
    iam.create_user(UserName="tests")
    key = iam.create_access_key(UserName="tests")["AccessKey"]
    iam.put_user_policy(UserName="tests", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                      aws_secret_access_key=key["SecretAccessKey"])
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    info = {"url": url, "access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}
    with open(info_file + ".tmp", "w") as f:
        json.dump(info, f)
    os.replace(info_file + ".tmp", info_file)  # whole or absent for whoever waits on it
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
