#!/usr/bin/env bash
# install-criu.sh — make CRIU >= 4.2 available on Debian bookworm.
#
# Bookworm ships criu 3.17 (broken on recent kernels); 4.1 cannot dump TCP
# sockets. We therefore build criu 4.2.1 from the Debian sid *source* package
# (orig tarball only; the debian.tar.xz is not needed) and install the binary
# to $SNAP_CRIU_PREFIX/sbin/criu (default /usr/local/sbin/criu).
#
# One patch is applied first, scripts/criu-map-pages.patch: restores with
# CRIU_MAP_PAGES=1 map private memory from the page images instead of copying
# it (see the patch's header). Without that variable CRIU behaves as built
# from the unpatched source.
#
# Usage: install-criu.sh [--force]
#   --force   rebuild and reinstall even if a suitable criu is already present.
#
# All logs go to stderr; the only stdout line is the installed criu path.
# Idempotent: if a criu >= 4.2 is already installed, nothing is done apart
# from the final `criu check`.
set -euo pipefail

CRIU_VERSION="4.2.1"
CRIU_TARBALL="criu_${CRIU_VERSION}.orig.tar.xz"
CRIU_SHA256="29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9"
MIN_MAJOR=4
MIN_MINOR=2

PREFIX="${SNAP_CRIU_PREFIX:-/usr/local}"
CRIU_BIN="${PREFIX}/sbin/criu"
# CRIU caches its kernel-feature probe (~25 ms of every run) in RUNDIR, but
# only when RUNDIR is a tmpfs; /run is not one on these machines, /dev/shm is.
KDAT_RUNDIR="/dev/shm"
MAP_PAGES_PATCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/criu-map-pages.patch"
[[ -r "$MAP_PAGES_PATCH" ]] || { echo "install-criu: ERROR: $MAP_PAGES_PATCH is missing" >&2; exit 1; }
MAP_PAGES_SHA256=$(sha256sum "$MAP_PAGES_PATCH" | cut -d' ' -f1)
# Records how the installed binary was built, so a change here rebuilds it.
BUILD_STAMP="${PREFIX}/share/snap/criu-build"
BUILD_CONFIG="criu ${CRIU_VERSION} sha256 ${CRIU_SHA256} RUNDIR=${KDAT_RUNDIR} map-pages ${MAP_PAGES_SHA256}"
CACHE_DIR="/var/cache/snap-criu"
DEBIAN_SOURCES="/etc/apt/sources.list.d/debian.sources"
SID_SRC_FILE="/etc/apt/sources.list.d/snap-criu-src.sources"

BUILD_DEPS=(
  build-essential gcc make pkg-config
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler python3-protobuf
  # libprotobuf-dev: images/Makefile locates google/protobuf/descriptor.proto
  # via `pkg-config protobuf --variable=includedir`; without it the build fails
  # with "No rule to make target '/google/protobuf/descriptor.proto'".
  libprotobuf-dev
  libnl-3-dev libnet1-dev libcap-dev libbsd-dev libnftables-dev
  libgnutls28-dev uuid-dev libaio-dev
  xz-utils dpkg-dev patch
)

log()  { echo "install-criu: $*" >&2; }
die()  { echo "install-criu: ERROR: $*" >&2; exit 1; }

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,21p' "$0" >&2; exit 0 ;;
    *) die "unknown argument: $arg (usage: $0 [--force])" ;;
  esac
done

[[ $(id -u) -eq 0 ]] || die "must run as root"

# version_ok BIN: true if BIN exists and `BIN --version` reports >= MIN_MAJOR.MIN_MINOR.
version_ok() {
  local bin="$1" out ver major minor
  [[ -x "$bin" ]] || return 1
  out=$("$bin" --version 2>/dev/null) || return 1
  # Output looks like: "Version: 4.2.1"
  ver=$(sed -n 's/^Version:[[:space:]]*\([0-9][0-9.]*\).*/\1/p' <<<"$out" | head -n1)
  [[ -n "$ver" ]] || return 1
  major=${ver%%.*}
  minor=$(cut -d. -f2 <<<"$ver")
  minor=${minor:-0}
  (( major > MIN_MAJOR || (major == MIN_MAJOR && minor >= MIN_MINOR) ))
}

# final_check: run `criu check`, print the path on stdout on success.
final_check() {
  local out
  if ! out=$("$CRIU_BIN" check 2>&1); then
    printf '%s\n' "$out" >&2
    die "'$CRIU_BIN check' failed (see output above)"
  fi
  printf '%s\n' "$out" >&2
  echo "$CRIU_BIN"
}

# ---------------------------------------------------------------- fast path
if [[ $FORCE -eq 0 ]] && version_ok "$CRIU_BIN" \
   && [[ "$(cat "$BUILD_STAMP" 2>/dev/null)" == "$BUILD_CONFIG" ]]; then
  log "$("$CRIU_BIN" --version | head -n1 | tr -s ' ') already installed at $CRIU_BIN; skipping build"
  final_check
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive

# --------------------------------------------- 1. deb-src entry for sid
# Reuse the mirror URI from the stock debian.sources (the stanza that is not
# the security archive), so no registry hostname is hardcoded here.
[[ -r "$DEBIAN_SOURCES" ]] || die "$DEBIAN_SOURCES not found; cannot determine Debian mirror"
DEBIAN_URI=$(awk '
  BEGIN { RS=""; FS="\n" }
  {
    uri=""; suites=""
    for (i = 1; i <= NF; i++) {
      if ($i ~ /^URIs:/)   { uri = $i;    sub(/^URIs:[[:space:]]*/, "", uri) }
      if ($i ~ /^Suites:/) { suites = $i }
    }
    if (uri != "" && suites !~ /-security/) { split(uri, u, /[[:space:]]+/); print u[1]; exit }
  }' "$DEBIAN_SOURCES")
[[ -n "$DEBIAN_URI" ]] || die "could not parse a URIs value from $DEBIAN_SOURCES"
log "using Debian mirror from $DEBIAN_SOURCES: $DEBIAN_URI"

# deb-src only: this can never make `apt-get install` pull sid binaries.
cat >"$SID_SRC_FILE" <<SRC
# Added by install-criu.sh: sid *source* packages only (to fetch criu ${CRIU_VERSION}).
Types: deb-src
URIs: ${DEBIAN_URI}
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
log "wrote $SID_SRC_FILE"

log "apt-get update"
apt-get update -q >&2 || die "apt-get update failed"

# ---------------------------------------------------- 2. build dependencies
log "installing build dependencies: ${BUILD_DEPS[*]}"
apt-get install -y -q --no-install-recommends "${BUILD_DEPS[@]}" >&2 \
  || die "failed to install build dependencies"

# ------------------------------------------------------ 3. fetch the source
mkdir -p "$CACHE_DIR/src"
cd "$CACHE_DIR/src"
if [[ -f "$CRIU_TARBALL" ]] && sha256sum "$CRIU_TARBALL" | grep -q "^$CRIU_SHA256 "; then
  log "reusing cached $CACHE_DIR/src/$CRIU_TARBALL"
else
  rm -f "$CRIU_TARBALL"
  log "downloading criu source from sid (apt-get source --download-only criu/sid)"
  # The debian.tar.xz may 404 on the mirror, making apt exit non-zero even
  # though the orig tarball arrived; tolerate that and check the file below.
  apt-get source -q --download-only "criu/sid" >&2 \
    || log "warning: apt-get source exited non-zero; checking for the orig tarball anyway"
  [[ -f "$CRIU_TARBALL" ]] \
    || die "$CRIU_TARBALL was not downloaded (sid may no longer carry criu ${CRIU_VERSION})"
fi

actual_sha=$(sha256sum "$CRIU_TARBALL" | cut -d' ' -f1)
if [[ "$actual_sha" != "$CRIU_SHA256" ]]; then
  die "sha256 mismatch for $CRIU_TARBALL: expected $CRIU_SHA256, got $actual_sha"
fi
log "sha256 OK: $actual_sha"

# ----------------------------------------------------------------- 4. build
BUILD_DIR="$CACHE_DIR/build"
rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR"
tar -xJf "$CRIU_TARBALL" -C "$BUILD_DIR"
SRC_DIR=$(find "$BUILD_DIR" -mindepth 1 -maxdepth 1 -type d | head -n1)
[[ -n "$SRC_DIR" && -f "$SRC_DIR/Makefile" ]] || die "unexpected tarball layout in $BUILD_DIR"

log "applying $(basename "$MAP_PAGES_PATCH")"
patch -d "$SRC_DIR" -p1 --forward --quiet <"$MAP_PAGES_PATCH" >&2 \
  || die "$MAP_PAGES_PATCH does not apply to criu ${CRIU_VERSION}"

log "building criu in $SRC_DIR (make -j$(nproc) criu)"
make -C "$SRC_DIR" -j"$(nproc)" criu RUNDIR="$KDAT_RUNDIR" >"$CACHE_DIR/build.log" 2>&1 || {
  tail -n 40 "$CACHE_DIR/build.log" >&2
  die "criu build failed; full log in $CACHE_DIR/build.log"
}
[[ -x "$SRC_DIR/criu/criu" ]] || die "build finished but $SRC_DIR/criu/criu is missing"

# --------------------------------------------------------------- 5. install
install -D -m 0755 "$SRC_DIR/criu/criu" "$CRIU_BIN"
install -d "$(dirname "$BUILD_STAMP")"
echo "$BUILD_CONFIG" >"$BUILD_STAMP"
log "installed $CRIU_BIN"
version_ok "$CRIU_BIN" || die "installed $CRIU_BIN does not report version >= ${MIN_MAJOR}.${MIN_MINOR}"
"$CRIU_BIN" check --feature map_pages >&2 || die "installed $CRIU_BIN lacks the map_pages patch"

# The build tree is only needed for this run; keep the verified tarball + log.
rm -rf "$BUILD_DIR"

# ----------------------------------------------------------- 6. final check
final_check
