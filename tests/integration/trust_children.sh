#!/usr/bin/env bash
# Issue 12, children made without fork() (they run our destructors, none of our atfork
# handlers), with memshim's thread proven running in the parent first, under defaults and
# profiling (exact and default sampling):
# - 10 raw clone() children (no CLONE_VM, SIGCHLD) leave through exit(): each is reaped within
#   20 s, the parent keeps its thread;
# - a vfork() child calls exit() after a failed exec: the parent's thread is still there, a purge
#   follows its 128 MiB free, and under profiling its own exit report is written (one report: the
#   parent's, not the child's);
# - what the host sees of such a child (its atexit handler, stdio, status) is the same with and
#   without memshim.
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI

# metrics: a job on a clock, so our thread runs (under the defaults none does).
for mode in metrics profile exact; do
  vars=(MEMSHIM_METRICS_FILE="$MS_TMP/m.%p.prom")
  [ $mode = profile ] && vars=(MEMSHIM_PROFILE=1)
  [ $mode = exact ] && vars=(MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1)
  for what in "clone 10" vfork; do
    rm -rf "$MS_TMP/rep" && mkdir "$MS_TMP/rep"
    rc=0
    timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB" "${vars[@]}" MEMSHIM_REPORT_PATH="$MS_TMP/rep/r.%p" \
      "$PROGS/trust_children" $what >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
    [ "$rc" -eq 0 ] || ms_fail "$what ($mode): status $rc (137: hung): $(cat "$MS_TMP/out" "$MS_TMP/err")"
    [ ! -s "$MS_TMP/err" ] || ms_fail "$what ($mode): stderr: $(cat "$MS_TMP/err")"
    if [ $mode != metrics ]; then
      reports=$(ls "$MS_TMP/rep")
      [ "$(echo "$reports" | wc -w)" -eq 1 ] || ms_fail "$what ($mode): want exactly the parent's report, found: $reports"
      pid=${reports#r.}
      pid=${pid%.txt}
      head -1 "$MS_TMP/rep/$reports" | grep -q "(pid $pid), exit report" || ms_fail "$what ($mode): $reports is not the parent's exit report: $(head -1 "$MS_TMP/rep/$reports")"
    fi
    ms_pass "$what ($mode): $(grep '^ok' "$MS_TMP/out" | sed 's/^ok: //' | paste -sd';' -)${reports:+; exit report $reports}"
    reports=""
  done
done

"$PROGS/trust_children" vfork-host >"$MS_TMP/plain" 2>&1
for mode in defaults profile; do
  vars=()
  [ $mode = profile ] && vars=(MEMSHIM_PROFILE=1)
  rm -rf "$MS_TMP/rep" && mkdir "$MS_TMP/rep"
  timeout -s KILL 60 env LD_PRELOAD="$MS_TEST_LIB" "${vars[@]}" MEMSHIM_REPORT_PATH="$MS_TMP/rep/r.%p" \
    "$PROGS/trust_children" vfork-host >"$MS_TMP/shim" 2>&1 || ms_fail "vfork-host ($mode): $(cat "$MS_TMP/shim")"
  diff "$MS_TMP/plain" "$MS_TMP/shim" >&2 || ms_fail "vfork-host ($mode): the host sees something else under memshim"
  [ $mode = defaults ] || [ "$(ls "$MS_TMP/rep" | wc -l)" -eq 1 ] || ms_fail "vfork-host ($mode): reports: $(ls "$MS_TMP/rep")"
  ms_pass "vfork child calling exit() ($mode): the host's output and statuses equal the run without memshim ($(paste -sd'|' "$MS_TMP/plain"))"
done
