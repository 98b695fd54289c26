#!/usr/bin/env bash
# Issue 20: a backtrace makes no system call of its own. Exact mode on 4 threads x 20000
# allocations (80,000 backtraces): strace counts every system call of the run; memshim must make
# far fewer than one per backtrace (it once made a poll() before each, 14x the run time), and the
# run must end well (no SIGPIPE from libunwind's validation pipe shared by the threads).
. "$(dirname "$0")/lib/common.sh"
command -v strace >/dev/null || ms_fail "strace missing (scripts/lib/deps.sh installs it)"
allocs=$((4 * 20000))
rc=0
timeout -s KILL 300 env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_REPORT=off \
  strace -f -c -o "$MS_TMP/counts" "$PROGS/prof_ring_threads" 4 20000 || rc=$?
ms_assert_num "$rc" -eq 0 "exact mode under strace: exit status"
total=$(awk '$NF == "total" { print $(NF - 2) }' "$MS_TMP/counts")
[ -n "$total" ] || { cat "$MS_TMP/counts" >&2; ms_fail "no strace summary"; }
cat "$MS_TMP/counts" >&2
ms_assert_num "$total" -lt $((allocs / 20)) "system calls for $allocs exact-mode backtraces"
ms_pass "exact mode: $total system calls in all for $allocs backtraces on 4 threads"
