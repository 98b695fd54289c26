#!/usr/bin/env bash
# Issue 22, item 2: a host with its own malloc and its own fork lock (taken in its prepare
# handler, released in its parent and child handlers, registered in main()) forks 20 times
# under profiling, a metrics file and reports. Every child must end (progs/trust_fork_alloc
# kills one that has not after 60 s and counts it; the whole run has a 120 s watchdog): our
# child handler starts no thread (pthread_create would allocate through the host's locked
# allocator). Our thread still comes in the child, with its first allocation through us: each
# child waits for it, and most must see it (not vacuous: the child's jobs are on a clock).
. "$(dirname "$0")/lib/common.sh"
prog="$PROGS/trust_fork_alloc"
for vars in "MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1" "MEMSHIM_METRICS_FILE=$MS_TMP/m.prom" "MEMSHIM_REPORT=json"; do
  rc=0
  # shellcheck disable=SC2086
  out=$(cd "$MS_TMP" && timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_REPORT_PATH="$MS_TMP/r.%p" $vars "$prog" 20) || rc=$?
  [ "$rc" -eq 0 ] || ms_fail "$vars: status $rc (137: the 120 s watchdog): $out"
  [[ "$out" == "forks=20 hung=0 "* ]] || ms_fail "$vars: children hung: $out"
  with=${out##*with_thread=}
  ms_assert_num "$with" -ge 10 "$vars: children whose thread started after their first allocation ($out)"
  ms_pass "$vars: 20 forks, no child hung, $with of 20 children got our thread later, from an allocation"
done
