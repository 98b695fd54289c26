#!/usr/bin/env bash
# Issue 12, fork:
# - fork while an 8 MiB file mapping is held and a second thread allocates, under every mode;
#   under profiling only after the interval report counts a profiler snapshot (this deadlocked
#   the child: its atfork handler freed snapshot memory through munmap, on the registry lock
#   still held from prepare). 5 forks each; a child that does not finish in 90 s fails.
# - the same from Python: np.memmap, then multiprocessing.Pool(2), with and without
#   MEMSHIM_MMAP_RESIDENT_MAX, under profiling.
# - CPython 3.12 and 3.13 (pyenv; skipped parts say so) with 64 MiB live: os.fork() records no
#   DeprecationWarning about threads (defaults, profiling, exact profiling); a control with a
#   real second thread records one per fork.
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI
ms_require_python_module numpy
lib=$(dirname "$0")/lib

PROFILED=(MEMSHIM_REPORT=json MEMSHIM_REPORT_INTERVAL=200ms)
modes=(
  "defaults|"
  "profiling|MEMSHIM_PROFILE=1"
  "exact profiling|MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1"
  "mmap cap|MEMSHIM_MMAP_RESIDENT_MAX=4M"
  "profiling + mmap cap|MEMSHIM_PROFILE=1 MEMSHIM_MMAP_RESIDENT_MAX=4M"
  "rss soft limit|MEMSHIM_RSS_SOFT_LIMIT=16M"
  "leak check|MEMSHIM_LEAK_CHECK=1G"
  "glibc|MEMSHIM_BACKEND=glibc"
  "glibc + profiling + mmap cap|MEMSHIM_BACKEND=glibc MEMSHIM_PROFILE=1 MEMSHIM_MMAP_RESIDENT_MAX=4M"
  "reports without profiling|MEMSHIM_REPORT=json MEMSHIM_REPORT_INTERVAL=200ms"
  "metrics file|MEMSHIM_METRICS_FILE=$MS_TMP/metrics.%p.prom MEMSHIM_METRICS_INTERVAL=100ms"
  "policy off|MEMSHIM_RETAINED_MAX=off MEMSHIM_IDLE_PURGE=off"
  "MEMSHIM_ENABLE=0|MEMSHIM_ENABLE=0"
)
# The modes run at the same time (separate processes, data files, outputs and reports): most of
# each run is waiting for a report interval, not CPU.
i=0
pids=()
for m in "${modes[@]}"; do
  read -r -a vars <<<"${m#*|}"
  wait_snap=()
  if [[ " ${vars[*]} " == *" MEMSHIM_PROFILE=1 "* || " ${vars[*]} " == *MEMSHIM_LEAK_CHECK* ]]; then
    vars+=("${PROFILED[@]}")
    wait_snap=("$MS_TMP/r$i")
  fi
  timeout -s KILL 600 env LD_PRELOAD="$MS_TEST_LIB" "${vars[@]}" MEMSHIM_REPORT_PATH="$MS_TMP/r$i.%p" \
    "$PROGS/trust_fork_map" "$MS_TMP/data$i" 5 "${wait_snap[@]}" >"$MS_TMP/out$i" 2>"$MS_TMP/err$i" &
  pids+=($!)
  i=$((i + 1))
done
i=0
for m in "${modes[@]}"; do
  name=${m%%|*}
  rc=0
  wait "${pids[$i]}" || rc=$?
  [ "$rc" -eq 0 ] || ms_fail "fork with a file mapping ($name): status $rc: $(cat "$MS_TMP/out$i" "$MS_TMP/err$i")"
  [ ! -s "$MS_TMP/err$i" ] || ms_fail "fork with a file mapping ($name): stderr: $(cat "$MS_TMP/err$i")"
  ms_pass "fork with a file mapping ($name): $(sed 's/^ok: //' "$MS_TMP/out$i" | paste -sd';' -)"
  i=$((i + 1))
done
ln -f "$MS_TMP/data0" "$MS_TMP/data" # the 8 MiB file the Python part maps

for cap in "" MEMSHIM_MMAP_RESIDENT_MAX=4M; do
  rc=0
  timeout -s KILL 180 env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 "${PROFILED[@]}" $cap \
    MEMSHIM_REPORT_PATH="$MS_TMP/p.%p" "$PYTHON" "$lib/trust_memmap_pool.py" "$MS_TMP/data" "$MS_TMP/p" \
    >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq 0 ] || ms_fail "np.memmap + Pool(2) (profiling ${cap}): status $rc (137: hung): $(cat "$MS_TMP/out" "$MS_TMP/err")"
  ms_pass "np.memmap + Pool(2) under profiling ${cap:-without a cap}: $(sed 's/^ok: //' "$MS_TMP/out" | paste -sd';' -)"
done

found=0
for py in /root/.pyenv/versions/3.12.*/bin/python3.12 /root/.pyenv/versions/3.13.*/bin/python3.13; do
  [ -x "$py" ] || continue
  found=$((found + 1))
  ver=$("$py" -c 'import platform; print(platform.python_version())')
  for mode in metrics profile exact; do # metrics: our thread runs (under the defaults none does)
    vars=(MEMSHIM_METRICS_FILE="$MS_TMP/m.%p.prom")
    [ $mode = profile ] && vars=(MEMSHIM_PROFILE=1)
    [ $mode = exact ] && vars=(MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1)
    rc=0
    timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB" "${vars[@]}" MEMSHIM_REPORT_PATH="$MS_TMP/w.%p" \
      "$py" -W error "$lib/trust_py_fork_warning.py" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
    [ "$rc" -eq 0 ] || ms_fail "Python $ver fork ($mode): status $rc: $(cat "$MS_TMP/out" "$MS_TMP/err")"
    [ ! -s "$MS_TMP/err" ] || ms_fail "Python $ver fork ($mode): stderr: $(cat "$MS_TMP/err")"
    grep -q 'forks 20 with 2 threads each, DeprecationWarnings 0$' "$MS_TMP/out" || ms_fail "Python $ver fork ($mode): $(cat "$MS_TMP/out")"
    ms_pass "Python $ver -W error, 64 MiB live ($mode): $(cat "$MS_TMP/out")"
  done
  timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_METRICS_FILE="$MS_TMP/m.%p.prom" "$py" "$lib/trust_py_fork_warning.py" control >"$MS_TMP/out" 2>&1 ||
    ms_fail "Python $ver control: $(cat "$MS_TMP/out")"
  grep -q 'DeprecationWarnings 20$' "$MS_TMP/out" || ms_fail "Python $ver control: a real thread did not make fork warn: $(cat "$MS_TMP/out")"
  ms_pass "Python $ver control: with a real second thread $(cat "$MS_TMP/out")"
done
[ "$found" -gt 0 ] || echo "NOTE: no CPython 3.12/3.13 under /root/.pyenv/versions: the fork-warning part did not run"
