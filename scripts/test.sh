#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then runs
# all of it. CRIU-backed tests fail (never skip) here: SNAP_REQUIRE_CRIU=1.
#
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "test.sh: $*" >&2; }
die() { echo "test.sh: ERROR: $*" >&2; exit 1; }

export SNAP_REQUIRE_CRIU=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# CRIU 4.2+, built from Debian's source (a no-op when already installed).
SNAP_CRIU=$(bash scripts/install-criu.sh)
export SNAP_CRIU
log "CRIU: $SNAP_CRIU"

# Node 20 or later runs the JavaScript fixtures.
command -v node >/dev/null || die "node not found; the tests need Node.js 20 or later"
node_major=$(node -p 'process.versions.node.split(".")[0]')
(( node_major >= 20 )) || die "node $(node --version) found; the tests need Node.js 20 or later"
# AWS's Node runtime client (tests/fixtures/node-ric) builds its native
# addon, with the curl and aws-lambda-cpp it bundles, at `npm ci`.
if ! command -v cmake >/dev/null || ! command -v autoreconf >/dev/null \
   || ! command -v libtoolize >/dev/null || ! compgen -G "/usr/include/*/curl/curl.h" >/dev/null; then
  log "apt-get install cmake autoconf automake libtool libcurl4-openssl-dev (aws-lambda-ric's addon)"
  apt-get update -q >&2 && apt-get install -y -q --no-install-recommends cmake autoconf automake \
    libtool libcurl4-openssl-dev g++ make >&2
fi
for fixture in tests/fixtures/*/package-lock.json tests/npm_compat/package-lock.json \
  demo-functions/*/package-lock.json; do
  dir=$(dirname "$fixture")
  log "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
done
# snapjs runs the JS demos as esbuild bundles (dist/index.mjs, not committed).
for build in demo-functions/*/build.mjs; do
  log "node $build"
  (cd "$(dirname "$build")" && node build.mjs >&2)
done
# @snap/hooks: its OpenSSL RAND engine (C, built against OpenSSL 3 headers) and its unit tests.
# snapjs links the same OpenSSL (llrt_crypto's backend, found through pkg-config).
# strace proves in a test that the engine's bytes come from getrandom(2).
# The arm64 check below builds the C inside the S3 client's TLS (aws-lc) and
# zstd, so it needs an arm64 C cross compiler.
# snapjs's https test makes its server's certificate with the openssl command.
if [[ ! -f /usr/include/openssl/engine.h ]] || ! command -v cc >/dev/null \
   || ! command -v pkg-config >/dev/null || ! command -v strace >/dev/null \
   || ! command -v openssl >/dev/null \
   || ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  log "apt-get install gcc libssl-dev openssl pkg-config strace gcc-aarch64-linux-gnu"
  apt-get update -q >&2 && apt-get install -y -q --no-install-recommends gcc libc6-dev libssl-dev openssl \
    pkg-config strace gcc-aarch64-linux-gnu libc6-dev-arm64-cross >&2
fi
log "building $(bash snap-hooks/js/native/build.sh)"
# Files, not the directory: Node 21 and later refuse a directory here.
node --test snap-hooks/js/test/*.test.js >&2

# The S3-compatible server the node-s3 demo reads from (boto3 comes with it).
if ! command -v moto_server >/dev/null || ! python3 -c 'import boto3' 2>/dev/null; then
  log "pip install moto[server]"
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' >&2
  # Under pyenv, new console scripts appear on PATH only after a rehash.
  if command -v pyenv >/dev/null; then pyenv rehash; fi
fi
command -v moto_server >/dev/null || die "moto_server is not on PATH after installing moto[server]"

# rust-toolchain.toml pins the toolchain every cargo command here uses, so a
# new stable release (and its new lints) changes nothing until that file
# does. Lints and formatting are checked, never skipped: install them if
# missing (for the pinned toolchain).
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
  # The file's toolchain, with its components and targets.
  log "rustup toolchain install $toolchain (rust-toolchain.toml)"
  rustup toolchain install >&2
fi
rustc --version >&2
rustup component add clippy rustfmt >&2

# Demo functions are standalone projects, as users' functions would be.
# Each builds from its own directory, where its .cargo/config.toml applies.
for demo in demo-functions/*/Cargo.toml; do
  log "cargo build --release $demo"
  (cd "$(dirname "$demo")" && cargo build --release --locked)
  (cd "$(dirname "$demo")" && cargo clippy --release --locked -- -D warnings)
done

log "cargo build"
cargo build --workspace --all-targets --locked
# The criterion benches compile as `cargo bench` builds them (docs/benchmarks.md).
log "cargo bench --no-run"
cargo bench --workspace --no-run --locked
log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p snap-hooks --all-features --all-targets --locked -- -D warnings
cargo clippy -p snap-core --all-features --all-targets --locked -- -D warnings
log "cargo fmt --check"
cargo fmt --all --check

# The fuzz targets (fuzz/, a cargo-fuzz crate outside the workspace) compile,
# so they cannot rot unseen between fuzzing sessions. scripts/fuzz.sh builds
# and runs them with `cargo +nightly fuzz` (libFuzzer, AddressSanitizer);
# compiling them needs neither nightly nor cargo-fuzz, as no code here depends
# on cargo-fuzz's `--cfg fuzzing`. In the workspace's target directory, so
# that it reuses what the builds above compiled.
log "cargo check fuzz targets"
CARGO_TARGET_DIR="$PWD/target" cargo check --manifest-path fuzz/Cargo.toml --bins --locked

# The workspace builds for arm64 Linux (Lambda's Graviton): there the native
# engine reports itself unsupported and `--engine auto` falls back to CRIU.
# snapjs is left out: it exists for the native engine (x86_64), and its C
# dependencies (QuickJS, OpenSSL) would need an arm64 C toolchain.
log "cargo check --target aarch64-unknown-linux-gnu"
rustup target add aarch64-unknown-linux-gnu >&2
RUSTFLAGS="-D warnings" cargo check --workspace --exclude snap-js --all-targets --locked \
  --target aarch64-unknown-linux-gnu

log "cargo test"
cargo test --workspace --locked "$@"
cargo test -p snap-hooks --all-features --locked
cargo test -p snap-core --all-features --locked --lib tokio

# The native engine needs no privilege at all: prove it by running its tests,
# and the hooks' native tests, again as an unprivileged user.
# Copies in a directory the unprivileged user can reach, wherever this
# checkout lives.
unprivileged=$(mktemp -d)
trap 'rm -rf "$unprivileged"' EXIT
chmod 755 "$unprivileged"
# unprivileged_tests PACKAGE TEST PROBE PROBE_VAR: runs the test binary of
# PACKAGE's tests/TEST.rs as uid 65534, its probe named by PROBE_VAR.
unprivileged_tests() {
  local package=$1 test=$2 probe=$3 probe_var=$4 binary
  binary=$(cargo test -p "$package" --test "$test" --locked --no-run 2>&1 \
    | sed -n "s/.*(\(.*target\/debug\/deps\/$test-[0-9a-f]*\)).*/\1/p" | head -n1)
  [[ -x "$binary" ]] || die "cannot find the test binary of $package's tests/$test.rs"
  mkdir -m 755 "$unprivileged/$package"
  cp "$binary" "target/debug/$probe" "$unprivileged/$package/"
  chmod 755 "$unprivileged/$package"/*
  log "$package's $test tests as uid 65534 (no privileges)"
  setpriv --reuid=65534 --regid=65534 --clear-groups \
    env HOME=/tmp TMPDIR=/tmp "$probe_var=$unprivileged/$package/$probe" \
    "$unprivileged/$package/$(basename "$binary")"
}
unprivileged_tests snap-core native snap-native-probe SNAP_NATIVE_PROBE
unprivileged_tests snap-hooks native snap-hooks-probe SNAP_HOOKS_PROBE
