#!/usr/bin/env bash
# Benchmarks every demo function under every engine that supports it, in one
# run, and draws the chart: `snaprun bench --all-demos`, with a local
# moto_server for the S3 demos. Needs root (CRIU), the demos built and the
# Node packages and moto_server installed (scripts/test.sh does all of it).
#
# Usage: scripts/bench-demos.sh [RUNS] [CHART.svg]
#   scripts/bench-demos.sh 10 docs/benchmarks.svg   # regenerates the README's chart
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
chart="${2:-docs/benchmarks.svg}"

cargo build --release --locked --quiet --workspace
# snapjs as it is published: the snapjs-dist profile (fat LTO, panic=abort)
# with OpenSSL linked statically (docs/snapjs.md, "Binary and load time"),
# set beside a copy of snaprun, which runs the snapjs beside it.
multiarch=$(gcc -dumpmachine)
OPENSSL_STATIC=1 OPENSSL_LIB_DIR="${OPENSSL_LIB_DIR:-/usr/lib/$multiarch}" \
  OPENSSL_INCLUDE_DIR="${OPENSSL_INCLUDE_DIR:-/usr/include}" \
  cargo build --profile snapjs-dist --locked --quiet -p snap-js
work=$(mktemp -d)
moto_pid=""
cleanup() {
  [[ -n "$moto_pid" ]] && kill "$moto_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/bin"
cp target/release/snaprun target/snapjs-dist/snapjs "$work/bin/"
snaprun=$work/bin/snaprun

# shellcheck source=scripts/moto.sh
source scripts/moto.sh
start_moto "$work"

"$snaprun" bench --all-demos --runs "$runs" --fresh --s3-endpoint "http://127.0.0.1:$port" \
  --chart "$chart" 2>>"$work/logs" || { tail -n 40 "$work/logs" >&2; exit 1; }

# What @snap/hooks' built-ins cost a restore, side by side with the run above.
echo "== node-s3, --engine criu, @snap/hooks built-ins off (SNAP_HOOKS_BUILTINS=0: unsafe, for comparison only)"
"$snaprun" bench --engine criu --runs "$runs" --fresh --snapshot-dir "$work/node-s3-nohooks" \
  --forward "127.0.0.1:$port" --env "S3_ENDPOINT=http://127.0.0.1:$port" \
  --env AWS_ACCESS_KEY_ID=test --env AWS_SECRET_ACCESS_KEY=test \
  --env SNAP_HOOKS_BUILTINS=0 -- demo-functions/node-s3/bootstrap 2>>"$work/logs"
