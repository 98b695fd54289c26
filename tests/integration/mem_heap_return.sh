#!/bin/bash
# Heap return under both backends: freed small blocks in the middle of the heap come back to the
# OS within seconds, through jemalloc's arena purge or glibc's malloc_trim(0) (only malloc_trim
# returns pages in the middle of glibc's heap: the RSS drop proves it ran), counted in
# memshim_stats and logged at MEMSHIM_VERBOSE=1. Control: with the policy off, nothing returns.
. "$(dirname "$0")/lib/common.sh"

for backend in jemalloc glibc; do
  out=$(ms_preload MEMSHIM_BACKEND=$backend MEMSHIM_VERBOSE=1 "$PROGS/mem_heap_churn" 200 2>"$MS_TMP/log") ||
    { cat "$MS_TMP/log"; echo "$out"; ms_fail "$backend: RSS did not fall after the free"; }
  purges=$(sed -n 's/^purges=//p' <<<"$out")
  ms_assert_num "$purges" -ge 1 "$backend: purges counted in memshim_stats"
  case $backend in
    jemalloc) grep -Eq "purge \((retained|idle|unload)\): jemalloc arena purge returned [1-9]" "$MS_TMP/log" ||
                { cat "$MS_TMP/log"; ms_fail "jemalloc: no arena purge logged"; } ;;
    glibc) grep -Eq "purge \((retained|idle|unload)\): malloc_trim\(0\) returned [1-9]" "$MS_TMP/log" ||
             { cat "$MS_TMP/log"; ms_fail "glibc: no malloc_trim purge logged"; } ;;
  esac
  grep -m1 "purge (" "$MS_TMP/log"
  # Control: every trigger off, the same program keeps its freed pages (exit 1 = RSS did not fall).
  if ms_preload MEMSHIM_BACKEND=$backend MEMSHIM_RETAINED_MAX=off MEMSHIM_IDLE_PURGE=off \
      "$PROGS/mem_heap_churn" 200 >"$MS_TMP/ctl" 2>&1; then
    cat "$MS_TMP/ctl"; ms_fail "$backend: RSS fell with the policy off: the test proves nothing"
  fi
  ms_pass "$backend: freed heap returned ($(grep -E '^rss_' <<<"$out" | tr '\n' ' '))"
done
