#!/usr/bin/env bash
# What reseeding restored Node processes costs a restore: `snaprun bench
# --engine criu` of AWS's Node runtime client (tests/fixtures/node-ric) and
# of the node-s3 demo (its own runtime, with @snap/hooks, against moto on
# 127.0.0.1), each with reseeding (the default) and with --no-reseed, the
# four alternating for ROUNDS rounds in one sitting. Prints each bench's
# table; docs/benchmarks.md ("Reseeding unmodified Node runtimes") quotes a
# run of it.
#
# Usage: sudo scripts/bench-reseed.sh [RUNS] [ROUNDS]   (root: CRIU)
# Needs: a release snaprun (cargo build --release), npm ci in
# tests/fixtures/node-ric and demo-functions/node-s3, and moto_server.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
rounds=${2:-2}
snaprun=${SNAPRUN:-target/release/snaprun}
work=$(mktemp -d)
moto_pid=
cleanup() {
  [[ -n "$moto_pid" ]] && kill "$moto_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

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

bench() { # NAME SETTING BOOTSTRAP [FLAGS...]
  local name=$1 setting=$2 bootstrap=$3
  shift 3
  local flags=()
  [[ "$setting" == off ]] && flags+=(--no-reseed)
  echo "== $name, reseeding $setting"
  "$snaprun" bench --engine criu --runs "$runs" --fresh --snapshot-dir "$work/$name-$setting" \
    "${flags[@]}" "$@" -- "$bootstrap" 2>>"$work/logs" || { tail -n 40 "$work/logs" >&2; exit 1; }
}
for round in $(seq "$rounds"); do
  echo "#### round $round"
  for setting in on off; do
    bench aws-lambda-ric "$setting" tests/fixtures/node-ric/bootstrap
    bench node-s3 "$setting" demo-functions/node-s3/bootstrap \
      --forward "127.0.0.1:$port" --env "S3_ENDPOINT=http://127.0.0.1:$port" \
      --env AWS_ACCESS_KEY_ID=test --env AWS_SECRET_ACCESS_KEY=test
  done
done
