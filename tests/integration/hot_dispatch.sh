#!/usr/bin/env bash
# The hot path's per-thread dispatch (docs/design.md, "The hot path"): with jemalloc and no
# profiling the main thread and a worker both switch to jemalloc's own entry points once they
# allocated past their first tick (threads.direct 1, then 2 while the worker lives), and
# calls.alloc / calls.free still count the worker's 100,000 malloc/free pairs. The glibc
# backend and profiling keep every thread on the tracked path (threads.direct 0), and count.
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI

N=100000
run() { # WANT_MAIN WANT_WORKER WHAT [VAR=value...]
  local want_main=$1 want_worker=$2 what=$3
  shift 3
  env "$@" LD_PRELOAD="$MS_TEST_LIB" "$PROGS/hot_dispatch" >"$MS_TMP/out" 2>"$MS_TMP/err" ||
    ms_fail "$what: $(cat "$MS_TMP/out" "$MS_TMP/err")"
  read -r _ _ main _ worker _ allocs _ frees <"$MS_TMP/out"
  [ "$main" = "$want_main" ] && [ "$worker" = "$want_worker" ] ||
    ms_fail "$what: threads.direct main $main worker $worker, want $want_main and $want_worker"
  allocs=${allocs#+} frees=${frees#+}
  [ "$allocs" -ge $N ] && [ "$frees" -ge $N ] || ms_fail "$what: calls moved by +$allocs/+$frees, the worker made $N each"
  ms_pass "$what: $(cat "$MS_TMP/out")"
}
run 1 2 "jemalloc, profiling off"
run 0 0 "glibc backend" MEMSHIM_BACKEND=glibc
run 0 0 "jemalloc, profiling on" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=off
