#!/usr/bin/env bash
# 8 threads x 10^6 mixed operations, with blocks freed by other threads; memshim's counters
# must count every call and balance to zero (found_threads.c checks; jemalloc backend exact,
# glibc backend within mallinfo2's slack).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/found.sh"

for backend in jemalloc glibc; do
  ms_preload MEMSHIM_BACKEND=$backend "$PROGS/found_threads" 8 1000000 >"$MS_TMP/out" 2>"$MS_TMP/err" ||
    ms_fail "backend $backend: $(cat "$MS_TMP/out" "$MS_TMP/err")"
  ms_pass "backend $backend: $(tr '\n' ' ' <"$MS_TMP/out")"
done
