#!/usr/bin/env bash
# fork under the shim: a child that allocates, frees the parent's blocks and exits cleanly;
# forks while three threads allocate (no deadlock, every child exits 0). Forking with threads
# is said only at MEMSHIM_VERBOSE=1, once for three forks, naming a loaded OpenMP runtime; never
# for a single-threaded fork. (The warning for a child that really uses a broken libgomp pool:
# fork_openmp.sh.)
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/found.sh"

ms_preload "$PROGS/found_fork" single >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "single: $(cat "$MS_TMP/out" "$MS_TMP/err")"
grep -q "children exited cleanly" "$MS_TMP/out" || ms_fail "single: $(cat "$MS_TMP/out")"
[ ! -s "$MS_TMP/err" ] || ms_fail "single-threaded fork wrote to stderr: $(cat "$MS_TMP/err")"
ms_pass "single-threaded fork: child allocated and exited 0, no warning"

# mode, extra environment, warnings wanted for 3 forks, the text the warning must hold
check_threads() {
  local backend=$1 mode=$2 verbose=$3 want=$4 text=$5
  timeout 120 env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_BACKEND=$backend MEMSHIM_VERBOSE=$verbose \
    "$PROGS/found_fork" "$mode" >"$MS_TMP/out" 2>"$MS_TMP/err" ||
    ms_fail "$mode ($backend): $(cat "$MS_TMP/out" "$MS_TMP/err")"
  grep -q "children exited cleanly" "$MS_TMP/out" || ms_fail "$mode ($backend): $(cat "$MS_TMP/out")"
  n=$(grep -c '^memshim\[[0-9]*\]: fork() while [0-9]* threads run' "$MS_TMP/err" || true)
  [ "$n" -eq "$want" ] || ms_fail "$mode ($backend, verbose $verbose): $n fork warnings for 3 forks, want $want: $(cat "$MS_TMP/err")"
  [ "$want" -eq 0 ] || grep -q "$text" "$MS_TMP/err" || ms_fail "$mode ($backend): warning lacks '$text': $(cat "$MS_TMP/err")"
  if [ "$verbose" -eq 0 ]; then
    other=$(grep -v 'fork() while' "$MS_TMP/err" || true)
    [ -z "$other" ] || ms_fail "$mode ($backend): unexpected stderr: $other"
  fi
}
for backend in jemalloc glibc; do
  check_threads $backend threads 0 0 ""
  check_threads $backend threads 1 1 "no known thread pool"
  check_threads $backend threads-openmp 0 0 ""
  check_threads $backend threads-openmp 1 1 "OpenMP (libgomp) is loaded"
  ms_pass "fork with 3 allocating threads ($backend): 3 children exited 0; quiet by default, with OpenMP loaded too; one line at VERBOSE=1"
done

# MEMSHIM_ENABLE=0: no fork hook, no warning, children still fine.
ms_preload MEMSHIM_ENABLE=0 "$PROGS/found_fork" threads >"$MS_TMP/out" 2>"$MS_TMP/err" ||
  ms_fail "ENABLE=0: $(cat "$MS_TMP/out" "$MS_TMP/err")"
[ ! -s "$MS_TMP/err" ] || ms_fail "ENABLE=0 warned: $(cat "$MS_TMP/err")"
ms_pass "MEMSHIM_ENABLE=0: forks with threads, no warning"
