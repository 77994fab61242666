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

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
  sleep 0.1
done
python3 - "$port" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
s3.create_bucket(Bucket="snap-demo")
s3.put_object(Bucket="snap-demo", Key="hello.txt", Body=b"hello from a real S3-compatible server\n")
PY

"$snaprun" bench --all-demos --runs "$runs" --fresh --s3-endpoint "http://127.0.0.1:$port" \
  --chart "$chart" 2>>"$work/logs" || { tail -n 40 "$work/logs" >&2; exit 1; }

# What @snap/hooks' built-ins cost a restore, side by side with the run above.
echo "== node-s3, --engine criu, @snap/hooks built-ins off (SNAP_HOOKS_BUILTINS=0: unsafe, for comparison only)"
"$snaprun" bench --engine criu --runs "$runs" --fresh --snapshot-dir "$work/node-s3-nohooks" \
  --forward "127.0.0.1:$port" --env "S3_ENDPOINT=http://127.0.0.1:$port" \
  --env AWS_ACCESS_KEY_ID=test --env AWS_SECRET_ACCESS_KEY=test \
  --env SNAP_HOOKS_BUILTINS=0 -- demo-functions/node-s3/bootstrap 2>>"$work/logs"
