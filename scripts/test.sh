#!/usr/bin/env bash
# Runs Strata's whole test suite: formatting, lints, then every unit, property and end-to-end
# test (the end-to-end tests start real master and worker processes and kill them).
#
# It first makes sure what the tests need is installed. So far that is only Rust's own tools;
# later suites add Debian and PyPI packages here (real S3 clients, Java for Hadoop's shell).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== formatting"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  echo "(cargo-nextest not found; using cargo test)"
  cargo test --workspace --no-fail-fast "$@"
fi
