#!/usr/bin/env bash
# install-criu.sh — make CRIU >= 4.2 available on Debian bookworm.
#
# Bookworm ships criu 3.17 (broken on recent kernels); 4.1 cannot dump TCP
# sockets. We therefore build criu >= 4.2 from a Debian *source* package
# (orig tarball only; the debian.tar.xz is not needed) and install the binary
# to $SNAP_CRIU_PREFIX/sbin/criu (default /usr/local/sbin/criu).
#
# The source comes from whichever Debian suite carries it: the suites in
# CRIU_SUITES are asked in turn (sid, testing, trixie, backports), each
# through a private apt state under the cache directory, so the machine's own
# apt sources are never changed. A suite's tarball is taken only if it is one
# of KNOWN_TARBALLS (name and sha256 both) and every patch in PATCHES
# applies to it; a known tarball already in the cache is used without asking
# any suite. Only when no candidate passes does the script fail, saying what
# each suite offered and why it was passed over.
#
# Two patches are applied, in this order (each explains itself in its
# header):
# - scripts/criu-map-pages.patch: restores with CRIU_MAP_PAGES=1 map private
#   memory from the page images instead of copying it. Without that
#   variable CRIU behaves as built from the unpatched source.
# - scripts/criu-probes-die-with-criu.patch: the children CRIU forks to
#   probe the kernel die with it, so a dump worker killed because its client
#   died leaves nothing behind.
#
# Usage: install-criu.sh [--force] [--dry-run]
#   --force     rebuild and reinstall even if a suitable criu is already present.
#   --dry-run   find, fetch and check the source (digest, patch) and say which
#               it would build; build and install nothing.
# Environment:
#   SNAP_CRIU_PREFIX  where to install (default /usr/local)
#   SNAP_CRIU_CACHE   the tarball cache and private apt state (default
#                     /var/cache/snap-criu)
#   SNAP_CRIU_SUITES  the Debian suites to ask, in order (default: CRIU_SUITES)
#
# All logs go to stderr; the only stdout line is the installed criu path (in
# a dry run, the tarball it would build).
# Idempotent: if a criu >= 4.2 built from a known tarball with these patches is
# already installed, nothing is done apart from the final `criu check`.
set -euo pipefail

# The upstream tarballs this script builds, newest first: version, orig
# tarball as Debian names it, sha256. Add a release here after checking its
# digest against upstream's, and that every patch applies to it.
KNOWN_TARBALLS=(
  "4.2.1 criu_4.2.1.orig.tar.xz 29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9"
)
MIN_VERSION="4.2"
CRIU_SUITES=(sid testing trixie trixie-backports bookworm-backports)
if [[ -n "${SNAP_CRIU_SUITES:-}" ]]; then
  read -r -a CRIU_SUITES <<<"$SNAP_CRIU_SUITES"
fi

PREFIX="${SNAP_CRIU_PREFIX:-/usr/local}"
CRIU_BIN="${PREFIX}/sbin/criu"
# CRIU caches its kernel-feature probe (~25 ms of every run) in RUNDIR, but
# only when RUNDIR is a tmpfs; /run is not one on these machines, /dev/shm is.
KDAT_RUNDIR="/dev/shm"
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The patches, in the order they are applied.
PATCHES=("$SCRIPTS_DIR/criu-map-pages.patch" "$SCRIPTS_DIR/criu-probes-die-with-criu.patch")
PATCH_STAMP=""
for patch_file in "${PATCHES[@]}"; do
  [[ -r "$patch_file" ]] || { echo "install-criu: ERROR: $patch_file is missing" >&2; exit 1; }
  PATCH_STAMP+=" $(basename "$patch_file" .patch) $(sha256sum "$patch_file" | cut -d' ' -f1)"
done
PATCH_NAMES="$(for patch_file in "${PATCHES[@]}"; do basename "$patch_file"; done | paste -sd' ')"
# Records how the installed binary was built, so a change here rebuilds it.
BUILD_STAMP="${PREFIX}/share/snap/criu-build"
CACHE_DIR="${SNAP_CRIU_CACHE:-/var/cache/snap-criu}"
DEBIAN_SOURCES="/etc/apt/sources.list.d/debian.sources"
DEBIAN_KEYRING="/usr/share/keyrings/debian-archive-keyring.gpg"

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
DRY_RUN=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0" >&2; exit 0 ;;
    *) die "unknown argument: $arg (usage: $0 [--force] [--dry-run])" ;;
  esac
done

[[ $(id -u) -eq 0 ]] || die "must run as root"

# build_config VERSION SHA256: what the stamp says of a binary built from
# that tarball by this script as it is now.
build_config() {
  echo "criu $1 sha256 $2 RUNDIR=${KDAT_RUNDIR}${PATCH_STAMP}"
}

# version_ok BIN: true if BIN exists and `BIN --version` reports >= MIN_VERSION.
version_ok() {
  local bin="$1" out ver
  [[ -x "$bin" ]] || return 1
  out=$("$bin" --version 2>/dev/null) || return 1
  # Output looks like: "Version: 4.2.1"
  ver=$(sed -n 's/^Version:[[:space:]]*\([0-9][0-9.]*\).*/\1/p' <<<"$out" | head -n1)
  [[ -n "$ver" ]] || return 1
  dpkg --compare-versions "$ver" ge "$MIN_VERSION"
}

# installed_as_built: true if the stamp names a known tarball and these patches.
installed_as_built() {
  local stamp entry version name sha
  stamp=$(cat "$BUILD_STAMP" 2>/dev/null) || return 1
  for entry in "${KNOWN_TARBALLS[@]}"; do
    read -r version name sha <<<"$entry"
    [[ "$stamp" == "$(build_config "$version" "$sha")" ]] && return 0
  done
  return 1
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
if [[ $FORCE -eq 0 && $DRY_RUN -eq 0 ]] && version_ok "$CRIU_BIN" && installed_as_built; then
  log "$("$CRIU_BIN" --version | head -n1 | tr -s ' ') already installed at $CRIU_BIN; skipping build"
  final_check
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive

# ------------------------------------------------ 1. the source, checked
SRC_CACHE="$CACHE_DIR/src"
CHECK_DIR="$CACHE_DIR/check"
mkdir -p "$SRC_CACHE"
# What each candidate was and why it was passed over, for the final error.
PASSED_OVER=()
passed_over() { PASSED_OVER+=("$*"); log "passing over $*"; }

# known_sha NAME: the known sha256 of tarball NAME, or nothing.
known_sha() {
  local entry version name sha
  for entry in "${KNOWN_TARBALLS[@]}"; do
    read -r version name sha <<<"$entry"
    [[ "$name" == "$1" ]] && { echo "$sha"; return 0; }
  done
  return 0
}

# verified NAME: true if the cached tarball NAME has its known digest.
verified() {
  local want
  want=$(known_sha "$1")
  [[ -n "$want" && -f "$SRC_CACHE/$1" ]] \
    && [[ "$(sha256sum "$SRC_CACHE/$1" | cut -d' ' -f1)" == "$want" ]]
}

# apply_patches SRC: applies every patch in PATCHES to the tree SRC, in
# order; false, saying which, at the first that does not apply.
apply_patches() {
  local patch_file
  for patch_file in "${PATCHES[@]}"; do
    if ! patch -d "$1" -p1 --forward --quiet <"$patch_file" >/dev/null 2>&1; then
      log "$(basename "$patch_file") does not apply to $(basename "$1")"
      return 1
    fi
  done
}

# patch_applies NAME: true if every patch applies, in order, to tarball NAME.
patch_applies() {
  local src ok=1
  rm -rf "$CHECK_DIR"
  mkdir -p "$CHECK_DIR"
  tar -xf "$SRC_CACHE/$1" -C "$CHECK_DIR" || { rm -rf "$CHECK_DIR"; return 1; }
  src=$(find "$CHECK_DIR" -mindepth 1 -maxdepth 1 -type d | head -n1)
  [[ -n "$src" ]] && apply_patches "$src" && ok=0
  rm -rf "$CHECK_DIR"
  return $ok
}

CRIU_VERSION="" CRIU_TARBALL="" CRIU_SHA256="" CRIU_FROM=""

# A known tarball already in the cache needs no suite at all.
for entry in "${KNOWN_TARBALLS[@]}"; do
  read -r version name sha <<<"$entry"
  verified "$name" || continue
  if patch_applies "$name"; then
    CRIU_VERSION=$version CRIU_TARBALL=$name CRIU_SHA256=$sha CRIU_FROM="the cache"
    log "reusing cached $SRC_CACHE/$name (sha256 OK)"
    break
  fi
  passed_over "cached $name: $PATCH_NAMES do not all apply"
done

if [[ -z "$CRIU_TARBALL" ]]; then
  # Reuse the mirror URI from the stock debian.sources (the stanza that is
  # not the security archive), so no registry hostname is hardcoded here.
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
fi

for suite in "${CRIU_SUITES[@]}"; do
  [[ -z "$CRIU_TARBALL" ]] || break
  # A private apt state for this suite's deb-src index alone: the
  # machine's sources and lists stay as they are, and a suite the mirror
  # no longer has fails on its own.
  apt_dir="$CACHE_DIR/apt/$suite"
  mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb-src [signed-by=$DEBIAN_KEYRING] $DEBIAN_URI $suite main" >"$apt_dir/sources.list"
  # apt downloads as _apt where it can.
  if id _apt >/dev/null 2>&1; then chown _apt "$apt_dir/lists/partial"; fi
  apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
  )
  log "asking $suite for criu's source"
  if ! apt-get "${apt_opts[@]}" update -q >&2; then
    passed_over "$suite: its source index could not be fetched"
    continue
  fi
  # One line per source package version: VERSION ORIG_TARBALL SHA256.
  candidates=$(apt-cache "${apt_opts[@]}" showsrc criu 2>/dev/null | awk '
    /^Package: / { pkg = $2 }
    /^Version: / { ver = $2 }
    /^Checksums-Sha256:/ { inside = 1; next }
    /^[^ ]/ { inside = 0 }
    inside && $3 ~ /\.orig\.tar\./ && pkg == "criu" { print ver, $3, $1 }
  ' | sort -u | sort -r -V)
  if [[ -z "$candidates" ]]; then
    passed_over "$suite: no criu source package"
    continue
  fi
  while read -r deb_version name index_sha; do
    # Upstream version: no epoch, no Debian revision.
    upstream=${deb_version#*:}
    upstream=${upstream%-*}
    if ! dpkg --compare-versions "$upstream" ge "$MIN_VERSION"; then
      passed_over "$suite: criu $deb_version is older than $MIN_VERSION"
      continue
    fi
    want=$(known_sha "$name")
    if [[ -z "$want" ]]; then
      passed_over "$suite: criu $deb_version ($name, sha256 $index_sha) is not in KNOWN_TARBALLS; add it after checking it"
      continue
    fi
    if [[ "$index_sha" != "$want" ]]; then
      passed_over "$suite: $name has sha256 $index_sha there, not the known $want"
      continue
    fi
    if ! verified "$name"; then
      rm -f "$SRC_CACHE/$name"
      log "downloading criu $deb_version's source from $suite"
      # The debian.tar.xz may 404 on the mirror, making apt exit non-zero
      # even though the orig tarball arrived; tolerate that and check the
      # file below.
      (cd "$SRC_CACHE" && apt-get "${apt_opts[@]}" source -q --download-only "criu=$deb_version" >&2) \
        || log "warning: apt-get source exited non-zero; checking for the orig tarball anyway"
      if ! verified "$name"; then
        rm -f "$SRC_CACHE/$name"
        passed_over "$suite: $name did not arrive with sha256 $want"
        continue
      fi
    fi
    log "sha256 OK: $name $want"
    if ! patch_applies "$name"; then
      passed_over "$suite: $PATCH_NAMES do not all apply to criu $deb_version"
      continue
    fi
    CRIU_VERSION=${upstream} CRIU_TARBALL=$name CRIU_SHA256=$want CRIU_FROM=$suite
    break
  done <<<"$candidates"
done

if [[ -z "$CRIU_TARBALL" ]]; then
  printf '  %s\n' "${PASSED_OVER[@]}" >&2
  die "no Debian suite of ${CRIU_SUITES[*]} carries a criu >= $MIN_VERSION source that is in KNOWN_TARBALLS and takes $PATCH_NAMES (each is listed above with why it was passed over)"
fi
log "criu $CRIU_VERSION from $CRIU_FROM: $CRIU_TARBALL"

if [[ $DRY_RUN -eq 1 ]]; then
  log "dry run: would build and install criu $CRIU_VERSION to $CRIU_BIN"
  echo "$SRC_CACHE/$CRIU_TARBALL"
  exit 0
fi

# ---------------------------------------------------- 2. build dependencies
missing_deps=()
for dep in "${BUILD_DEPS[@]}"; do
  dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q "ok installed" || missing_deps+=("$dep")
done
if (( ${#missing_deps[@]} > 0 )); then
  log "installing build dependencies: ${missing_deps[*]}"
  apt-get update -q >&2 || die "apt-get update failed"
  apt-get install -y -q --no-install-recommends "${missing_deps[@]}" >&2 \
    || die "failed to install build dependencies"
fi

# ----------------------------------------------------------------- 3. build
BUILD_DIR="$CACHE_DIR/build"
rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR"
tar -xf "$SRC_CACHE/$CRIU_TARBALL" -C "$BUILD_DIR"
SRC_DIR=$(find "$BUILD_DIR" -mindepth 1 -maxdepth 1 -type d | head -n1)
[[ -n "$SRC_DIR" && -f "$SRC_DIR/Makefile" ]] || die "unexpected tarball layout in $BUILD_DIR"

log "applying $PATCH_NAMES"
apply_patches "$SRC_DIR" || die "the patches do not all apply to criu ${CRIU_VERSION}"

log "building criu in $SRC_DIR (make -j$(nproc) criu)"
make -C "$SRC_DIR" -j"$(nproc)" criu RUNDIR="$KDAT_RUNDIR" >"$CACHE_DIR/build.log" 2>&1 || {
  tail -n 40 "$CACHE_DIR/build.log" >&2
  die "criu build failed; full log in $CACHE_DIR/build.log"
}
[[ -x "$SRC_DIR/criu/criu" ]] || die "build finished but $SRC_DIR/criu/criu is missing"

# --------------------------------------------------------------- 4. install
install -D -m 0755 "$SRC_DIR/criu/criu" "$CRIU_BIN"
install -d "$(dirname "$BUILD_STAMP")"
build_config "$CRIU_VERSION" "$CRIU_SHA256" >"$BUILD_STAMP"
log "installed $CRIU_BIN"
version_ok "$CRIU_BIN" || die "installed $CRIU_BIN does not report version >= ${MIN_VERSION}"
"$CRIU_BIN" check --feature map_pages >&2 || die "installed $CRIU_BIN lacks the map_pages patch"

# The build tree is only needed for this run; keep the verified tarball + log.
rm -rf "$BUILD_DIR"

# ----------------------------------------------------------- 5. final check
final_check
