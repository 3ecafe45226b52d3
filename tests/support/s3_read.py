#!/usr/bin/env python3
"""Reads a bucket of moto's S3 server back with botocore, a client independent of the project's.

usage: s3_read.py INFO_FILE BUCKET keys PREFIX        the keys under PREFIX, one a line, sorted
       s3_read.py INFO_FILE BUCKET cat KEY            the object's bytes (exit 1 when there is none)
       s3_read.py INFO_FILE BUCKET same PREFIX DIR    exit 0 when PREFIX/latest_checkpoint names DIR's
                                                      folder, every file of DIR is at PREFIX/<name>/
                                                      byte for byte, and no other checkpoint is left
INFO_FILE is what tests/support/moto_s3.py wrote (url and credentials). Used by tests/cli/flyte_test.sh
and tests/support/moto_s3_process.h.
"""
import json
import os
import sys

import boto3
import botocore.exceptions


def client(info_file):
    info = json.load(open(info_file))
    return boto3.client("s3", endpoint_url=info["url"], region_name="us-east-1",
                        aws_access_key_id=info["access_key"], aws_secret_access_key=info["secret_key"])


def keys(s3, bucket, prefix):
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [o["Key"] for o in page.get("Contents", [])]
    return sorted(found)


def read(s3, bucket, key):
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError:
        return None


def same(s3, bucket, prefix, folder):
    name = os.path.basename(os.path.normpath(folder))
    latest = read(s3, bucket, f"{prefix}/latest_checkpoint")
    if latest != name.encode():
        sys.exit(f"latest_checkpoint is {latest!r}, not {name}")
    files = [os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs]
    for f in files:
        if read(s3, bucket, f"{prefix}/{name}/{f}") != open(os.path.join(folder, f), "rb").read():
            sys.exit(f"{prefix}/{name}/{f} differs or is missing")
    stored = [k for k in keys(s3, bucket, prefix + "/") if k.startswith(f"{prefix}/checkpoint-")]
    if len(stored) != len(files):
        sys.exit(f"other checkpoints left under {prefix}: {stored[:5]}")


def main():
    info_file, bucket, command, *rest = sys.argv[1:]
    s3 = client(info_file)
    if command == "keys":
        print("\n".join(keys(s3, bucket, rest[0])))
    elif command == "cat":
        data = read(s3, bucket, rest[0])
        if data is None:
            sys.exit(1)
        sys.stdout.buffer.write(data)
    elif command == "same":
        same(s3, bucket, rest[0], rest[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
