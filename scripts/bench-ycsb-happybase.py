#!/usr/bin/env python3
"""YCSB's load and workload A through happybase (PyPI `happybase` 1.3.0) and Strata's Thrift
server, for docs/benchmarks.md beside `strata bench ycsb`: the same records (`user` + FNV hash
of the record number, ten 100-byte fields in family `family`), the same pre-split, zipfian
(0.99, scrambled) popularity, 50% reads of whole rows and 50% updates of one field.

  scripts/bench-ycsb-happybase.py --strata target/release/strata --records 1000000 \
      --operations 200000 --threads 16

Needs `happybase` (scripts/test.sh puts it in target/test-clients) and a running cluster
(`strata local`). The table is `usertable_hb`, created with `strata table create` when missing.
Prints one line per operation kind: ops, ops/s, p50/p95/p99 in ms.
"""

import argparse
import random
import subprocess
import threading
import time

import happybase

FIELDS = 10
FIELD_LENGTH = 100
THETA = 0.99
TABLE = "usertable_hb"


def fnv_hash(value):
    """YCSB's Utils.fnvhash64."""
    h = 0xCBF29CE484222325
    for _ in range(8):
        h ^= value & 0xFF
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
        value >>= 8
    if h >= 1 << 63:
        h -= 1 << 64
    return abs(h)


def record_key(n):
    return f"user{fnv_hash(n)}".encode()


class Zipfian:
    """YCSB's ZipfianGenerator (Gray et al.), scrambled as its ScrambledZipfianGenerator."""

    def __init__(self, items):
        self.items = items
        self.zeta_n = sum(1.0 / i**THETA for i in range(1, items + 1))
        zeta_2 = 1.0 + 1.0 / 2**THETA
        self.alpha = 1.0 / (1.0 - THETA)
        self.eta = (1.0 - (2.0 / items) ** (1.0 - THETA)) / (1.0 - zeta_2 / self.zeta_n)
        self.half_pow_theta = 0.5**THETA

    def next(self, rng):
        u = rng.random()
        uz = u * self.zeta_n
        if uz < 1.0:
            item = 0
        elif uz < 1.0 + self.half_pow_theta:
            item = 1
        else:
            item = int(self.items * (self.eta * u - self.eta + 1.0) ** self.alpha)
        return fnv_hash(min(item, self.items - 1)) % self.items


def field_values(rng, only=None):
    which = [only] if only is not None else range(FIELDS)
    return {
        f"family:field{f}".encode(): bytes(rng.randrange(32, 127) for _ in range(FIELD_LENGTH))
        for f in which
    }


def quantile(samples, q):
    if not samples:
        return 0.0
    return samples[min(len(samples) - 1, round((len(samples) - 1) * q))]


def run_phase(pool, name, operations, threads, work):
    """Runs `work(table, i, rng)` for i in 0..operations over `threads` threads; per-kind
    latencies in ms."""
    counter = iter(range(operations))
    lock = threading.Lock()
    results = {}
    failures = []

    def worker():
        rng = random.Random()
        mine = {}
        with pool.connection() as connection:
            table = connection.table(TABLE)
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                start = time.perf_counter()
                try:
                    kind = work(table, i, rng)
                except Exception as e:  # noqa: BLE001 - counted and reported
                    failures.append(repr(e))
                    continue
                mine.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
        with lock:
            for kind, samples in mine.items():
                results.setdefault(kind, []).extend(samples)

    started = time.perf_counter()
    pool_threads = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool_threads:
        t.start()
    for t in pool_threads:
        t.join()
    seconds = time.perf_counter() - started
    done = sum(len(s) for s in results.values())
    for kind, samples in sorted(results.items()):
        samples.sort()
        print(
            f"{name:<6} {kind:<7} {len(samples):>9} ops {len(samples) / seconds:9.0f} ops/s"
            f"  p50 {quantile(samples, 0.5):7.2f}  p95 {quantile(samples, 0.95):7.2f}"
            f"  p99 {quantile(samples, 0.99):7.2f} ms",
            flush=True,
        )
    print(f"{name:<6} total   {done:>9} ops {done / seconds:9.0f} ops/s in {seconds:.1f} s"
          f", {len(failures)} failed {failures[:3]}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strata", default="target/release/strata")
    parser.add_argument("--master", default="127.0.0.1:8020")
    parser.add_argument("--thrift", default="127.0.0.1:9090")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--operations", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--regions", type=int, default=8)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()

    host, port = args.thrift.rsplit(":", 1)
    pool = happybase.ConnectionPool(size=args.threads, host=host, port=int(port))
    with pool.connection() as connection:
        exists = TABLE.encode() in connection.tables()
    if not exists:
        sample = min(args.records, 100_000)
        step = max(1, args.records // sample)
        keys = sorted(record_key(i * step) for i in range(sample))
        splits = [keys[r * len(keys) // args.regions].decode() for r in range(1, args.regions)]
        subprocess.run(
            [args.strata, "--master", args.master, "table", "create", TABLE, "family",
             "--splits", ",".join(splits)],
            check=True,
        )

    def insert(table, i, rng):
        table.put(record_key(i), field_values(rng))
        return "INSERT"

    if not args.skip_load:
        run_phase(pool, "load", args.records, args.threads, insert)

    zipfian = Zipfian(args.records)

    def workload_a(table, _i, rng):
        key = record_key(zipfian.next(rng))
        if rng.random() < 0.5:
            row = table.row(key)
            if len(row) != FIELDS:
                raise RuntimeError(f"a read found {len(row)} fields")
            return "READ"
        table.put(key, field_values(rng, rng.randrange(FIELDS)))
        return "UPDATE"

    run_phase(pool, "a", args.operations, args.threads, workload_a)


if __name__ == "__main__":
    main()
