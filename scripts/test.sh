#!/usr/bin/env bash
# Build memshim and run its tests (unit + integration) with ctest.
#
# Usage: scripts/test.sh [--all | --slow | --stress] [CTEST ARGS...]
#   (default)  the fast suite: every test but those labelled `slow` or `stress`
#              (ctest -LE 'slow|stress'); under 10 minutes on 2 cores, build included
#   --all      every test: fast, slow and stress (what .ci/run runs); first makes or
#              reuses the CPython 3.14/3.15 root (scripts/python-next.sh, timed) so that the Python
#              call-site tests run on them too (they skip, saying why, when it cannot be made)
#   --slow     only the tests labelled `slow` (CPython regression suites, peer leak suite, ...)
#   --stress   only the stress tier (label `stress`: threads x fork x profiling x purge)
#   CTEST ARGS are passed on to ctest (e.g. -R cli_ --repeat until-fail:3).
# Environment: BUILD_DIR (default build), CTEST_JOBS (default 2), MEMSHIM_STRESS_SECONDS (the
# stress tier's budget, default 240, split across its configurations; each may take 120 s more
# before its watchdog calls it a hang), MEMSHIM_STRESS_THREADS (its workers at a time, default 4).
#
# Installs the Debian packages it needs when they are missing (run as root on a fresh Debian 12).
# Quiet on success: package installation, cmake's configure and build output go to
# $BUILD_DIR/test-build.log, whose tail is printed when a step fails; ctest's own output follows,
# ending with its summary line. Exit status: non-zero when the build or any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

select=(-LE 'slow|stress')
all=0
while [ $# -gt 0 ]; do
  case $1 in
    --all) select=(); all=1; shift ;;
    --slow) select=(-L slow); shift ;;
    --stress) select=(-L stress); shift ;;
    -h|--help) sed -n '2,20{s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    --) shift; break ;;
    *) break ;;
  esac
done

BUILD_DIR=${BUILD_DIR:-build}
mkdir -p "$BUILD_DIR"
log=$BUILD_DIR/test-build.log
: >"$log"
# step WHAT CMD...: run CMD with its output in the log; on failure say what failed and show the log's end.
step() {
  local what=$1; shift
  if ! "$@" >>"$log" 2>&1; then
    echo "scripts/test.sh: $what failed; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

. scripts/lib/deps.sh
step "installing the Debian packages (scripts/lib/deps.sh)" ms_install_deps build test
step "cmake configure" cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "scripts/test.sh: building in $BUILD_DIR (log: $log)"
step "the build" cmake --build "$BUILD_DIR" -j"$(nproc)"
if [ $all = 1 ]; then
  t0=$SECONDS
  if bash scripts/python-next.sh >>"$log" 2>&1; then
    echo "scripts/test.sh: CPython 3.14/3.15 root ready in $((SECONDS - t0)) s (scripts/python-next.sh)"
  else
    echo "scripts/test.sh: no CPython 3.14/3.15 root after $((SECONDS - t0)) s ($(grep '^python-next:' "$log" | tail -n1)): their tests skip"
  fi
fi
cd "$BUILD_DIR"
exec ctest --output-on-failure -j"${CTEST_JOBS:-2}" ${select[@]+"${select[@]}"} "$@"
