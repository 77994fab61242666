#!/usr/bin/env bash
# Benchmarks both demo functions with `snaprun bench`, CRIU engine and none,
# one after the other in one run. Needs root (CRIU), the Node packages of the
# node-s3 demo and moto_server (scripts/test.sh installs all of them).
#
# Usage: scripts/bench-demos.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"

cargo build --release --locked --quiet
cargo build --release --locked --quiet --manifest-path demo-functions/rust-hello/Cargo.toml
snaprun=target/release/snaprun
work=$(mktemp -d)
moto_pid=""
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

node_flags=(--forward "127.0.0.1:$port" --env "S3_ENDPOINT=http://127.0.0.1:$port"
            --env AWS_ACCESS_KEY_ID=test --env AWS_SECRET_ACCESS_KEY=test)
for engine in criu none; do
  echo "== rust-hello, --engine $engine"
  "$snaprun" bench --engine "$engine" --runs "$runs" --fresh --snapshot-dir "$work/rust-hello" \
    -- demo-functions/rust-hello/target/release/bootstrap 2>>"$work/logs"
  echo "== node-s3, --engine $engine"
  "$snaprun" bench --engine "$engine" --runs "$runs" --fresh --snapshot-dir "$work/node-s3" "${node_flags[@]}" \
    -- demo-functions/node-s3/bootstrap 2>>"$work/logs"
done
# What @snap/hooks' built-ins cost a restore, side by side with the run above.
echo "== node-s3, --engine criu, @snap/hooks built-ins off (SNAP_HOOKS_BUILTINS=0: unsafe, for comparison only)"
"$snaprun" bench --engine criu --runs "$runs" --fresh --snapshot-dir "$work/node-s3-nohooks" "${node_flags[@]}" \
  --env SNAP_HOOKS_BUILTINS=0 -- demo-functions/node-s3/bootstrap 2>>"$work/logs"
