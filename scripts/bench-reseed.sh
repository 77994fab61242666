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

# shellcheck source=scripts/moto.sh
source scripts/moto.sh
start_moto "$work"

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
