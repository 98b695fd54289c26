#!/usr/bin/env bash
# 8 threads x 10^6 mixed operations, with blocks freed by other threads; memshim's counters
# must count every call and balance to zero (found_threads.c checks; with jemalloc the calls are
# its request statistics, which count blocks: a realloc in place within its size class is no
# call there, each thread's cache one more; heap.live exact with jemalloc, within mallinfo2's
# slack with glibc).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/found.sh"

for backend in jemalloc glibc; do
  ms_preload MEMSHIM_BACKEND=$backend "$PROGS/found_threads" 8 1000000 >"$MS_TMP/out" 2>"$MS_TMP/err" ||
    ms_fail "backend $backend: $(cat "$MS_TMP/out" "$MS_TMP/err")"
  ms_pass "backend $backend: $(tr '\n' ' ' <"$MS_TMP/out")"
done
