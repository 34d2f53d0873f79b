#!/usr/bin/env bash
# Runs Strata's whole test suite: formatting, lints, then every unit, property and end-to-end
# test (the end-to-end tests start real master and worker processes and kill them).
#
# It first installs what the tests need from Debian's packages: the tools that build Intel's
# ISA-L erasure coding library from the source vendored in the erasure-isa-l-sys crate
# (autoconf, automake, libtool, nasm) and libclang for its bindings, and Python. The suite runs
# with the `isal` feature, so both erasure coding engines are built and checked against each
# other. The real clients the gateway tests drive come from PyPI into a virtual environment kept
# in target/test-clients, put first on PATH: boto3 and the aws CLI for S3; HdfsCLI (`hdfs`)
# and pyspark, whose jars hold Hadoop's own FsShell (run with Debian's Java), for WebHDFS;
# Selenium, which drives Debian's Chromium (through its chromedriver) over the status page;
# happybase for the table store's Thrift face.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== packages"
missing=()
for package in autoconf automake libtool nasm libclang-dev pkg-config make gcc \
  python3 python3-venv default-jre-headless chromium chromium-driver; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "== test clients"
clients=target/test-clients
if [ ! -x "$clients/bin/pip" ]; then
  rm -rf "$clients"
  /usr/bin/python3 -m venv "$clients"
fi
"$clients/bin/pip" install --quiet --disable-pip-version-check boto3==1.43.11 awscli==1.45.11 \
  hdfs==2.7.3 pyspark==4.3.0 selenium==4.51.0 happybase==1.3.0
export PATH="$PWD/$clients/bin:$PATH"

echo "== formatting"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --features strata/isal --quiet -- -D warnings
# The portable-only build (no ISA-L) compiles other code paths in strata-ec.
cargo clippy -p strata-ec --all-targets --quiet -- -D warnings

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --features strata/isal --no-fail-fast "$@"
else
  echo "(cargo-nextest not found; using cargo test)"
  cargo test --workspace --features strata/isal --no-fail-fast "$@"
fi
