#!/usr/bin/env bash
# Build memshim and run every test (unit + integration) with ctest.
# Installs the Debian packages it needs when they are missing (run as root on a fresh Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
ms_install_deps build test
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure -j"${CTEST_JOBS:-2}" "$@"
