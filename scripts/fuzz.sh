#!/usr/bin/env bash
# Time-boxed fuzzing of the parsers that read untrusted bytes: every target
# in fuzz/ runs for SECONDS_PER_TARGET (default 60), one after another, under
# libFuzzer with AddressSanitizer. Not part of CI (scripts/test.sh does not
# call it): a run is a time box, not a pass/fail test.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Needs a nightly toolchain (`rustup toolchain install nightly`); installs
# cargo-fuzz if it is missing. Corpora grow in fuzz/corpus/TARGET (not
# committed), seeded from fuzz/seeds/TARGET; a crash is saved in
# fuzz/artifacts/TARGET and named in the summary. Exits 1 if any target
# crashed. Set CARGO_BUILD_JOBS to limit the build's parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "fuzz.sh: $*" >&2; }
die() { echo "fuzz.sh: ERROR: $*" >&2; exit 2; }

seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ ]] && (( seconds > 0 )) || die "SECONDS_PER_TARGET must be a positive integer, not $seconds"
shift || true

rustup run nightly rustc --version >/dev/null 2>&1 || die "no nightly toolchain: rustup toolchain install nightly"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if (( $# > 0 )); then
    targets=("$@")
else
    mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi

log "building ${targets[*]}"
(cd fuzz && cargo +nightly fuzz build)

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
summary=()
crashed=0
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    seeds=()
    [[ -d "fuzz/seeds/$target" ]] && seeds=("seeds/$target")
    log "running $target for ${seconds}s"
    started=$(date +%s)
    status=0
    (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1) \
        >"$logs/$target" 2>&1 || status=$?
    elapsed=$(( $(date +%s) - started ))
    # libFuzzer's own count and time, without cargo's build; else the last
    # status line and the wall clock.
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$logs/$target" | grep -oE '[0-9]+$' | tail -1 || true)
    if [[ -z "$runs" ]]; then
        runs=$(grep -oE '^#[0-9]+' "$logs/$target" | tail -1 | tr -d '#' || true)
    fi
    fuzzed=$(grep -oE '^Done [0-9]+ runs in [0-9]+ second' "$logs/$target" | grep -oE '[0-9]+ second' | grep -oE '[0-9]+' | tail -1 || true)
    elapsed="${fuzzed:-$elapsed}"
    artifact=$(grep -oE 'Test unit written to [^ ]+' "$logs/$target" | awk '{print $NF}' | head -1 || true)
    if (( status == 0 )); then
        result="no crash"
    else
        crashed=1
        result="CRASH (exit $status)${artifact:+: fuzz/${artifact#./}}"
        log "$target output (last 40 lines):"
        tail -40 "$logs/$target" >&2
    fi
    summary+=("$(printf '%-14s %10s runs %6ss  %s' "$target" "${runs:-?}" "$elapsed" "$result")")
done

echo "fuzz.sh: summary (${seconds}s per target)"
printf '  %s\n' "${summary[@]}"
exit "$crashed"
