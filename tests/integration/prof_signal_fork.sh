#!/usr/bin/env bash
# The report signal in a process that forks often (found by the stress tier): every fork stops
# memshim's thread, which comes back with the next activity; a signal that came while it was away
# must be served at that return. Before, the report job first ran one snapshot interval after
# each start, which a process forking every 250 ms (allocating only just before) never reached:
# the signal's report came at exit only.
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI

signo=$(kill -l "$(ms_report_signal)") # the number, for the program's kill()
env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/r.%p" \
  "$PROGS/prof_signal_fork" 120 "$signo" >"$MS_TMP/out" 2>&1 &
pid=$!
ms_wait_for 60 grep -q '^signalled' "$MS_TMP/out" || ms_fail "the program did not signal itself: $(cat "$MS_TMP/out")"
signal_report() { grep -Eqs '"reason": ?"signal"' "$MS_TMP/r.$pid.json"; }
# The limit is the assertion: served at the thread's next return it came within 2 s (three runs,
# both cores busy); before, the report job reached its first run by chance, after 33 to 60 s.
if ! ms_wait_for 20 signal_report; then
  kill "$pid" 2>/dev/null
  ms_fail "no report on signal $signo within 20 s while the program forks every 250 ms"
fi
kill "$pid"
wait "$pid" 2>/dev/null || true
ms_pass "the report signal is served between forks"
