#!/usr/bin/env bash
# Builds the getrandom RAND engine for @snap/hooks into native/build/.
# Needs a C compiler and OpenSSL 3.0 headers (Debian: gcc, libssl-dev).
# The library is not linked against libcrypto: node exports OpenSSL's symbols
# and the engine uses those.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build
"${CC:-cc}" -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -fPIC -shared \
  -o build/snap_getrandom_engine.so.tmp snap_getrandom_engine.c
mv build/snap_getrandom_engine.so.tmp build/snap_getrandom_engine.so
echo "$(pwd)/build/snap_getrandom_engine.so"
