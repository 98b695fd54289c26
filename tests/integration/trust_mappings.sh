#!/usr/bin/env bash
# Issue 12, shared mappings that are not files under the file-mapping cap: an io_uring instance
# (raw io_uring_setup, SQ/CQ rings and SQE array mapped MAP_SHARED from the ring descriptor,
# each >= 1 MiB) and a MAP_SHARED /dev/zero mapping next to a 4 MiB regular file mapping. Under
# MEMSHIM_MMAP_RESIDENT_MAX=4K (also with MEMSHIM_MMAP_MIN=4K, and with profiling) and under
# MEMSHIM_RSS_SOFT_LIMIT=1M: only the file is tracked (mmap.tracked = 4 MiB), the cap drops the
# file's pages twice (mmap.dropped grows), and afterwards every ring page is readable, the ring
# carries 36928 NOPs and their completions, and /dev/zero keeps its data.
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI

rc=0
"$PROGS/trust_uring" "$MS_TMP/plain" >"$MS_TMP/out" 2>&1 || rc=$?
# Without memshim the program stops at its first memshim_stat: io_uring worked if it got there.
[ "$rc" -eq 77 ] && ms_skip "io_uring is not available here: $(cat "$MS_TMP/out")"
grep -q 'io_uring: 32768 entries' "$MS_TMP/out" || ms_fail "io_uring setup without memshim: $(cat "$MS_TMP/out")"

for mode in "MEMSHIM_MMAP_RESIDENT_MAX=4K" "MEMSHIM_MMAP_RESIDENT_MAX=4K MEMSHIM_MMAP_MIN=4K" \
  "MEMSHIM_MMAP_RESIDENT_MAX=4K MEMSHIM_PROFILE=1" "MEMSHIM_RSS_SOFT_LIMIT=1M"; do
  rc=0
  timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB" $mode MEMSHIM_REPORT_PATH="$MS_TMP/r.%p" \
    "$PROGS/trust_uring" "$MS_TMP/data" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq 0 ] || ms_fail "$mode: status $rc (135: SIGBUS on a dropped ring page): $(cat "$MS_TMP/out" "$MS_TMP/err")"
  grep -v 'above MEMSHIM_RSS_SOFT_LIMIT' "$MS_TMP/err" >&2 && ms_fail "$mode: unexpected stderr"
  ms_pass "$mode: $(grep '^ok' "$MS_TMP/out" | sed 's/^ok: //' | paste -sd';' -)"
done
