#!/usr/bin/env python3
"""The S3 benchmarks of docs/benchmarks.md: boto3 against Strata's S3 endpoint beside the
native `strata fs put/get` of the same data.

  scripts/bench-s3.py --endpoint http://127.0.0.1:9878 --strata target/release/strata \
      --dir /path/on/the/disk/to/measure [--big 1GiB] [--small-count 10000]

Needs boto3 (scripts/test.sh puts it in target/test-clients) and a running cluster with its S3
endpoint (`strata local`); keys come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (default:
strata local's). Prints one line per figure.
"""

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import time

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from bench_units import MIB, size


def timed(label, nbytes, count, action):
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    rate = f"{nbytes / MIB / seconds:8.1f} MiB/s" if nbytes else ""
    per = f"{count / seconds:8.0f} objects/s" if count > 1 else ""
    print(f"{label:<58} {seconds:7.2f} s {rate} {per}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint", default="http://127.0.0.1:9878")
    parser.add_argument("--strata", default="target/release/strata")
    parser.add_argument("--master", default="127.0.0.1:8020")
    parser.add_argument("--dir", required=True, help="local scratch directory")
    parser.add_argument("--big", default="1GiB")
    parser.add_argument("--small-count", type=int, default=10000)
    parser.add_argument("--small-size", default="4KiB")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "strata")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "strata-local-secret")
    s3 = boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        config=Config(max_pool_connections=max(10, args.threads)),
    )
    strata = [args.strata, "--master", args.master]
    big, small, count = size(args.big), size(args.small_size), args.small_count
    work = os.path.abspath(args.dir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "small"))
    big_file = os.path.join(work, "big.bin")
    with open(big_file, "wb") as f:
        for _ in range(big // (64 * MIB)):
            f.write(os.urandom(64 * MIB))
    payloads = [os.urandom(small) for _ in range(count)]
    for i, payload in enumerate(payloads):
        with open(os.path.join(work, "small", f"{i:05}"), "wb") as f:
            f.write(payload)
    bucket = "bench-s3"
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass

    def quiet(*command):
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    print(f"one object of {big // MIB} MiB", flush=True)
    single = TransferConfig(multipart_threshold=big + 1, use_threads=False)
    timed("boto3 put_object (one stream)", big, 1,
          lambda: s3.upload_file(big_file, bucket, "big-single", Config=single))
    timed("boto3 upload_file (8 MiB parts, 10 threads)", big, 1,
          lambda: s3.upload_file(big_file, bucket, "big-multipart"))
    sink = os.path.join(work, "big.back")

    def get_single():
        body = s3.get_object(Bucket=bucket, Key="big-single")["Body"]
        with open(sink, "wb") as f:
            for chunk in body.iter_chunks(MIB):
                f.write(chunk)

    timed("boto3 get_object (one stream)", big, 1, get_single)
    timed("boto3 download_file (8 MiB ranges, 10 threads)", big, 1,
          lambda: s3.download_file(bucket, "big-multipart", sink))
    quiet(*strata, "fs", "rm", "-r", "-f", "/bench-native")
    quiet(*strata, "fs", "mkdir", "-p", "/bench-native")
    timed("strata fs put", big, 1, lambda: quiet(*strata, "fs", "put", big_file, "/bench-native/big.bin"))
    os.remove(sink)
    timed("strata fs get", big, 1, lambda: quiet(*strata, "fs", "get", "/bench-native/big.bin", sink))

    print(f"{count} objects of {small // 1024} KiB", flush=True)
    total = small * count

    def put_all(threads):
        def put(i):
            s3.put_object(Bucket=bucket, Key=f"small-{threads}/{i:05}", Body=payloads[i])
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(put, range(count)))

    def get_all(threads):
        def get(i):
            body = s3.get_object(Bucket=bucket, Key=f"small-{threads}/{i:05}")["Body"].read()
            assert body == payloads[i]
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(get, range(count)))

    for threads in (1, args.threads):
        timed(f"boto3 put_object, {threads} thread(s)", total, count, lambda: put_all(threads))
        timed(f"boto3 get_object, {threads} thread(s)", total, count, lambda: get_all(threads))
    timed("strata fs put (a directory)", total, count,
          lambda: quiet(*strata, "fs", "put", os.path.join(work, "small"), "/bench-native/small"))
    back = os.path.join(work, "small.back")
    timed("strata fs get (a directory)", total, count,
          lambda: quiet(*strata, "fs", "get", "/bench-native/small", back))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
