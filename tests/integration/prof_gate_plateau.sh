#!/usr/bin/env bash
# The gate's growth rule (docs/profiling.md): a bounded cache (12 MiB of 4 KiB entries, replaced
# all the time once full) that fills until 30%, 50% or 70% of a 3 s run (6 s for 70%) and then holds passes,
# however late it filled; a cache that keeps growing to the end (48 MiB in 3 s, well above what
# the last quarter can tell from sampling noise) fails, named. The fill follows
# the program's clock, so busy cores do not move it; the gate waits for the program to end.
. "$(dirname "$0")/lib/common.sh"
: "${MS_TEST_CLI:?}"

# The 0.7 run lasts 6 s: in 3 s, the fill ended 0.3 s before the snapshots that judge the last
# quarter (the last six at a 100 ms interval), and a loaded machine that delayed the fill or the
# snapshots by that much made the full cache look like it still grew (1 run in 3 under stress-ng).
for fill in 0.3 0.5 0.7; do
  rc=0
  secs=3
  [ "$fill" = 0.7 ] && secs=6
  "$MS_TEST_CLI" check -- "$PROGS/prof_plateau" "$secs" "$fill" >/dev/null 2>"$MS_TMP/p$fill" || rc=$?
  cat "$MS_TMP/p$fill"
  ms_assert_num "$rc" -eq 0 "cache filled by $fill of the run: exit status"
  grep -q '^memshim check: PASS$' "$MS_TMP/p$fill" || ms_fail "cache filled by $fill: no PASS line"
done
ms_pass "bounded caches that stop filling at 0.3, 0.5 and 0.7 of the run pass"

rc=0
"$MS_TEST_CLI" check -- "$PROGS/prof_plateau" 3 1 48 >/dev/null 2>"$MS_TMP/grow" || rc=$?
cat "$MS_TMP/grow"
ms_assert_num "$rc" -eq 1 "cache that keeps growing: exit status"
sed -n '/^top growing call sites:/{n;p;q}' "$MS_TMP/grow" | grep -q ' plateau_cache_entry (' ||
  ms_fail "growing cache: first site is not plateau_cache_entry"
ms_pass "a cache that keeps growing to the end fails, its filling function named"
