#!/usr/bin/env bash
# fork under the shim: a child that allocates, frees the parent's blocks and exits cleanly;
# forks while three threads allocate (no deadlock, every child exits 0); memshim's
# multi-thread fork warning appears exactly once for three such forks, and never for a
# single-threaded fork.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/found.sh"

ms_preload "$PROGS/found_fork" single >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "single: $(cat "$MS_TMP/out" "$MS_TMP/err")"
grep -q "children exited cleanly" "$MS_TMP/out" || ms_fail "single: $(cat "$MS_TMP/out")"
[ ! -s "$MS_TMP/err" ] || ms_fail "single-threaded fork wrote to stderr: $(cat "$MS_TMP/err")"
ms_pass "single-threaded fork: child allocated and exited 0, no warning"

for backend in jemalloc glibc; do
  timeout 120 env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_BACKEND=$backend "$PROGS/found_fork" threads \
    >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "threads ($backend): $(cat "$MS_TMP/out" "$MS_TMP/err")"
  grep -q "children exited cleanly" "$MS_TMP/out" || ms_fail "threads ($backend): $(cat "$MS_TMP/out")"
  n=$(grep -c '^memshim\[[0-9]*\]: fork() while [0-9]* threads run' "$MS_TMP/err" || true)
  [ "$n" -eq 1 ] || ms_fail "threads ($backend): $n fork warnings for 3 forks, want 1: $(cat "$MS_TMP/err")"
  other=$(grep -v 'fork() while' "$MS_TMP/err" || true)
  [ -z "$other" ] || ms_fail "threads ($backend): unexpected stderr: $other"
  ms_pass "fork with 3 allocating threads ($backend): 3 children exited 0, one warning"
done

# MEMSHIM_ENABLE=0: no fork hook, no warning, children still fine.
ms_preload MEMSHIM_ENABLE=0 "$PROGS/found_fork" threads >"$MS_TMP/out" 2>"$MS_TMP/err" ||
  ms_fail "ENABLE=0: $(cat "$MS_TMP/out" "$MS_TMP/err")"
[ ! -s "$MS_TMP/err" ] || ms_fail "ENABLE=0 warned: $(cat "$MS_TMP/err")"
ms_pass "MEMSHIM_ENABLE=0: forks with threads, no warning"
