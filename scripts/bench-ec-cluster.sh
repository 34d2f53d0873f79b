#!/bin/bash
# The cluster benchmarks of docs/benchmarks.md's erasure coding section: RS(6,3) against three
# replicas (write, read, bytes stored per byte), and reads with three workers killed.
#
# Usage: scripts/bench-ec-cluster.sh [DIR]   (DIR on the disk to measure; default ./ec-bench)
# Needs a release build (`cargo build --release -p strata --features isal`) and jq.
set -euo pipefail
S=${STRATA:-$(dirname "$0")/../target/release/strata}
D=$(realpath -m "${1:-./ec-bench}")
PORT=18020
export STRATA_CONFIG=$D/strata.toml
PIDS=()

stop_cluster() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  PIDS=()
  sleep 1
}
trap stop_cluster EXIT

# One master and nine worker processes on three racks; workers are only declared dead after
# 10 minutes, so that no reconstruction runs while degraded reads are measured.
start_cluster() {
  stop_cluster
  rm -rf "$D" && mkdir -p "$D"
  cat > "$D/strata.toml" <<EOF
[master]
listen = "127.0.0.1:$PORT"
data_dir = "$D/master"
worker_dead_timeout = "10m"
[worker]
master = "127.0.0.1:$PORT"
[client]
master = "127.0.0.1:$PORT"
EOF
  "$S" master > "$D/master.log" 2>&1 &
  PIDS+=($!)
  disown
  sleep 2
  for i in 1 2 3 4 5 6 7 8 9; do
    "$S" worker --data-dir "$D/w$i" --rack "/rack$(( (i - 1) % 3 + 1 ))" > "$D/w$i.log" 2>&1 &
    PIDS+=($!)
    disown
  done
  until "$S" admin report --json 2>/dev/null | jq -e '.live_workers == 9 and (.safe_mode | not)' > /dev/null; do
    sleep 1
  done
}

dfsio() {
  "$S" bench dfsio "$@" --json | jq -r '"\(.operation) \(.files) x \(.file_size / 1048576) MiB: \(.seconds * 100 | round / 100) s, \(.aggregate_mib_per_sec | round) MiB/s"'
}

for layout in RS-6-3-1024k REPLICATION; do
  echo "== $layout"
  start_cluster
  for run in 1 2 3; do
    "$S" fs mkdir -p "/benchmarks/run$run"
    options=()
    if [ "$layout" = REPLICATION ]; then options=(--replication 3); else "$S" ec set "/benchmarks/run$run" "$layout" > /dev/null; fi
    sync; sleep 10
    dfsio --write --files 4 --size 1GiB --threads 4 "${options[@]}" --dir "/benchmarks/run$run"
  done
  sleep 5
  "$S" admin report | grep Stored
  for run in 1 2 3; do dfsio --read --files 4 --size 1GiB --threads 4 --dir "/benchmarks/run$run"; done
  for run in 1 2 3; do dfsio --read --files 1 --size 1GiB --threads 1 --dir "/benchmarks/run$run"; done
done

echo "== RS-6-3-1024k, healthy, then three workers killed"
start_cluster
"$S" fs mkdir -p /benchmarks/rs63
"$S" ec set /benchmarks/rs63 RS-6-3-1024k > /dev/null
dfsio --write --files 4 --size 1GiB --threads 4 --dir /benchmarks/rs63
for run in 1 2 3; do
  dfsio --read --files 4 --size 1GiB --threads 4 --dir /benchmarks/rs63
  dfsio --read --files 1 --size 1GiB --threads 1 --dir /benchmarks/rs63
done
"$S" fs checksum /benchmarks/rs63/file_00000
# PIDS[0] is the master; workers 1, 2 and 3 are on racks 1, 2 and 3.
kill -9 "${PIDS[1]}" "${PIDS[2]}" "${PIDS[3]}"
sleep 1
for run in 1 2 3; do
  dfsio --read --files 4 --size 1GiB --threads 4 --dir /benchmarks/rs63 2> /dev/null
  dfsio --read --files 1 --size 1GiB --threads 1 --dir /benchmarks/rs63 2> /dev/null
done
"$S" fs checksum /benchmarks/rs63/file_00000 2> /dev/null
