#!/usr/bin/env python3
"""The WebHDFS benchmarks of docs/benchmarks.md: HdfsCLI (PyPI `hdfs`) writing and reading one
large file through the master's WebHDFS face (each a redirect to a worker's HTTP port), beside
the native `strata fs put/get` of the same bytes.

  scripts/bench-webhdfs.py --url http://127.0.0.1:9870 --strata target/release/strata \
      --dir /path/on/the/disk/to/measure [--big 1GiB]

Needs `hdfs` (scripts/test.sh puts it in target/test-clients) and a running cluster
(`strata local`). Prints one line per figure.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time

from hdfs import InsecureClient

from bench_units import MIB, size


def timed(label, nbytes, action):
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    print(f"{label:<50} {seconds:7.2f} s {nbytes / MIB / seconds:8.1f} MiB/s", flush=True)


def digest(path):
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(16 * MIB):
            sha.update(chunk)
    return sha.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:9870")
    parser.add_argument("--strata", default="target/release/strata")
    parser.add_argument("--master", default="127.0.0.1:8020")
    parser.add_argument("--dir", required=True, help="local scratch directory")
    parser.add_argument("--big", default="1GiB")
    args = parser.parse_args()

    client = InsecureClient(args.url, user="bench")
    strata = [args.strata, "--master", args.master]
    big = size(args.big)
    work = os.path.abspath(args.dir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    big_file = os.path.join(work, "big.bin")
    with open(big_file, "wb") as f:
        for _ in range(big // (64 * MIB)):
            f.write(os.urandom(64 * MIB))
    sink = os.path.join(work, "big.back")
    client.delete("/bench-webhdfs", recursive=True)

    def quiet(*command):
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    def read():
        with client.read("/bench-webhdfs/big.bin", chunk_size=MIB) as reader, open(sink, "wb") as f:
            for chunk in reader:
                f.write(chunk)

    print(f"one file of {big // MIB} MiB", flush=True)
    timed("HdfsCLI upload (CREATE, 1 MiB chunks)", big,
          lambda: client.upload("/bench-webhdfs/big.bin", big_file, chunk_size=MIB))
    timed("HdfsCLI read (OPEN, 1 MiB chunks)", big, read)
    assert digest(sink) == digest(big_file), "the bytes read differ from those written"
    os.remove(sink)
    quiet(*strata, "fs", "rm", "-r", "-f", "/bench-native")
    quiet(*strata, "fs", "mkdir", "-p", "/bench-native")
    timed("strata fs put", big, lambda: quiet(*strata, "fs", "put", big_file, "/bench-native/big.bin"))
    timed("strata fs get", big, lambda: quiet(*strata, "fs", "get", "/bench-native/big.bin", sink))
    client.delete("/bench-webhdfs", recursive=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
