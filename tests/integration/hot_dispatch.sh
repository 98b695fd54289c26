#!/usr/bin/env bash
# The hot path's per-thread dispatch (docs/design.md, "The hot path"): with jemalloc and no
# profiling the main thread and a worker both switch to jemalloc's own entry points once they
# allocated past their first tick (threads.direct 1, then 2 while the worker lives), and
# calls.alloc / calls.free still count the worker's 100,000 malloc/free pairs, and the heap
# policy purges while the worker frees 160 MiB (its look runs on the freeing thread: jemalloc's
# activity callback on a direct thread). The glibc backend and profiling keep every thread on
# the tracked path (threads.direct 0) and count; profiling purges the same way (glibc hands
# 1 MiB blocks back with munmap itself: nothing is left to purge there).
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI

N=100000
run() { # WANT_MAIN WANT_WORKER WANT_PURGE(1/0) WHAT [VAR=value...]
  local want_main=$1 want_worker=$2 want_purge=$3 what=$4
  shift 4
  env "$@" LD_PRELOAD="$MS_TEST_LIB" "$PROGS/hot_dispatch" >"$MS_TMP/out" 2>"$MS_TMP/err" ||
    ms_fail "$what: $(cat "$MS_TMP/out" "$MS_TMP/err")"
  read -r _ _ main _ worker _ allocs _ frees _ purges <"$MS_TMP/out"
  [ "$main" = "$want_main" ] && [ "$worker" = "$want_worker" ] ||
    ms_fail "$what: threads.direct main $main worker $worker, want $want_main and $want_worker"
  allocs=${allocs#+} frees=${frees#+}
  [ "$allocs" -ge $N ] && [ "$frees" -ge $N ] || ms_fail "$what: calls moved by +$allocs/+$frees, the worker made $N each"
  [ "$want_purge" = 0 ] || [ "${purges#+}" -ge 1 ] || ms_fail "$what: no purge while the worker freed 160 MiB: $(cat "$MS_TMP/out")"
  ms_pass "$what: $(cat "$MS_TMP/out")"
}
run 1 2 1 "jemalloc, profiling off"
run 0 0 0 "glibc backend" MEMSHIM_BACKEND=glibc
run 0 0 1 "jemalloc, profiling on" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=off
