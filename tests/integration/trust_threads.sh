#!/usr/bin/env bash
# Issue 12, our thread and the host's life (each case proves memshim's thread exists first):
# - a shell and /bin/true get no thread at all;
# - main calls pthread_exit while a worker runs: the process ends with status 0 soon after the
#   worker (defaults, profiling, glibc backend), under profiling with its exit report;
# - SIGTERM to that process while the worker sleeps ends it (status 143);
# - Python forks from a non-main thread, and the child, with a thread of ours too, leaves
#   normally through its forking thread's end (CPython's test_3_join_in_forked_from_thread).
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI
now_ms() { date +%s%3N; }

# No work, no thread: the loader's log says memshim started, and no monitor line follows.
ms_preload MEMSHIM_VERBOSE=2 bash -c '/bin/true; x=$(seq 1000 | wc -l); echo "$x"' >"$MS_TMP/out" 2>"$MS_TMP/err"
grep -q 'started: backend' "$MS_TMP/err" || ms_fail "memshim did not load in the shell: $(cat "$MS_TMP/err")"
! grep -q 'monitor: started' "$MS_TMP/err" || ms_fail "a shell got memshim's thread: $(cat "$MS_TMP/err")"
ms_pass "bash, /bin/true, seq, wc: $(grep -c 'started: backend' "$MS_TMP/err") processes loaded memshim, none started a thread"

# pthread_exit from main; the worker sleeps 1 s, then returns.
# A metrics file: a job on a clock, so our thread runs (under the defaults none does).
for mode in "MEMSHIM_METRICS_FILE=$MS_TMP/m.prom" "MEMSHIM_PROFILE=1" "MEMSHIM_BACKEND=glibc MEMSHIM_METRICS_FILE=$MS_TMP/m.prom"; do
  rc=0
  timeout -s KILL 60 env LD_PRELOAD="$MS_TEST_LIB" $mode MEMSHIM_REPORT_PATH="$MS_TMP/exit.%p" \
    "$PROGS/trust_exit_main" 1000 >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
  ended=$(now_ms)
  [ "$rc" -eq 0 ] || ms_fail "pthread_exit (${mode:-defaults}): status $rc (137: hung until the time-out): $(cat "$MS_TMP/out" "$MS_TMP/err")"
  grep -q 'threads before pthread_exit: 2' "$MS_TMP/out" || ms_fail "pthread_exit (${mode:-defaults}): $(cat "$MS_TMP/out")"
  worker_end=$(sed -n 's/^worker-end-ms //p' "$MS_TMP/out")
  [ -n "$worker_end" ] || ms_fail "pthread_exit (${mode:-defaults}): the worker did not finish: $(cat "$MS_TMP/out")"
  late=$((ended - worker_end))
  ms_assert_num "$late" -le 3000 "pthread_exit (${mode:-defaults}): ms between the worker's end and the process's"
  pid=$(sed -n 's/^pid //p' "$MS_TMP/out")
  if [ "$mode" = MEMSHIM_PROFILE=1 ]; then
    [ -s "$MS_TMP/exit.$pid.txt" ] || ms_fail "pthread_exit under profiling: no exit report $MS_TMP/exit.$pid.txt"
  fi
  ms_pass "main called pthread_exit with our thread up (${mode:-defaults}): status 0, ended ${late} ms after the worker"
done

# SIGTERM while the worker sleeps and main has left: the default action ends the process.
for mode in "MEMSHIM_METRICS_FILE=$MS_TMP/m.prom" "MEMSHIM_PROFILE=1"; do
  timeout -s KILL 60 env LD_PRELOAD="$MS_TEST_LIB" $mode MEMSHIM_REPORT_PATH="$MS_TMP/term.%p" \
    "$PROGS/trust_exit_main" 0 >"$MS_TMP/out" 2>"$MS_TMP/err" &
  bg=$!
  pid=""
  for _ in $(seq 2000); do # main has left when the leader is a zombie
    pid=$(sed -n 's/^pid //p' "$MS_TMP/out")
    [ -n "$pid" ] && grep -q 'main: pthread_exit' "$MS_TMP/out" && grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && break
    sleep 0.01
  done
  grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null || { kill -KILL "$bg"; ms_fail "SIGTERM (${mode:-defaults}): main did not leave: $(cat "$MS_TMP/out" "$MS_TMP/err")"; }
  threads=$(sed -n 's/^Threads:\t*//p' "/proc/$pid/status")
  sent=$(now_ms)
  kill -TERM "$pid"
  rc=0
  wait "$bg" || rc=$?
  took=$(($(now_ms) - sent))
  [ "$rc" -eq 143 ] || ms_fail "SIGTERM (${mode:-defaults}): status $rc, want 143 (137: the signal stayed pending until the time-out)"
  ms_assert_num "$took" -le 5000 "SIGTERM (${mode:-defaults}): ms until the process ended"
  ms_pass "SIGTERM to the process whose main left ($threads threads: worker, ours, zombie leader; ${mode:-defaults}): status 143 after ${took} ms"
done

# Python: fork from a non-main thread, the child leaves through its thread's end.
for mode in "MEMSHIM_METRICS_FILE=$MS_TMP/m.prom" "MEMSHIM_PROFILE=1"; do
  rc=0
  timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB" $mode MEMSHIM_REPORT_PATH="$MS_TMP/py.%p" \
    "$PYTHON" "$(dirname "$0")/lib/trust_fork_from_thread.py" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq 0 ] || ms_fail "Python fork from a thread (${mode:-defaults}): status $rc: $(cat "$MS_TMP/out" "$MS_TMP/err")"
  grep -q 'child threads before leaving: 2' "$MS_TMP/out" || ms_fail "the child never had our thread: $(cat "$MS_TMP/out")"
  grep -q 'child exit status 0' "$MS_TMP/out" || ms_fail "child status: $(cat "$MS_TMP/out")"
  ms_pass "Python fork from a non-main thread (${mode:-defaults}): $(tail -1 "$MS_TMP/out")"
done
