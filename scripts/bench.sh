#!/usr/bin/env bash
# Overhead of libmemshim.so against plain jemalloc (LD_PRELOAD=libjemalloc.so.2), measured side
# by side in one run, on malloc-heavy programs of our own (scripts/bench/progs), a Python +
# numpy run and a torch run; then start-up cost per process (every process of a container with
# ENV LD_PRELOAD pays it): /bin/true and python3 -c pass, one run under callgrind, and 200
# resp. 20 of them started one after the other from a shell for CPU time.
#
#   primary:     callgrind instruction counts (repeatable; runs in parallel, counts do not
#                depend on load); BENCH_CG_RUNS runs per program and configuration (default 1)
#   second view: CPU time (user+sys), BENCH_RUNS runs each (default 5), configurations
#                alternating within each round, median per configuration
#
# Every configuration is compared with the first one (plain jemalloc). "jemalloc-again" is
# jemalloc once more: its ratio is the noise floor of the method. Per program the median
# ratio is printed, then the geometric mean over programs. Targets: memshim geomean <= 1.03 on the
# programs, <= 1.10 on start-up.
#
# Usage: scripts/bench.sh [program...]      (default: all; names as in BENCH_PROGRAMS)
# Environment: BUILD_DIR (default build-bench), BENCH_RUNS, BENCH_CG_RUNS, BENCH_JOBS,
#              BENCH_SKIP_CG=1 / BENCH_SKIP_CPU=1 (one view only), PYTHON (/usr/bin/python3).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib/deps.sh"
. "$ROOT/scripts/lib/bench.sh"
ms_install_deps build bench

BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_CG_RUNS=${BENCH_CG_RUNS:-1}
BENCH_JOBS=${BENCH_JOBS:-$(nproc)}
PYTHON=${PYTHON:-/usr/bin/python3}
BIN=$BUILD_DIR/bench-progs
PROGS_SRC=$ROOT/scripts/bench/progs

JE=$(bench_jemalloc_lib)
LIB=$(bench_build_memshim "$ROOT" "$BUILD_DIR")
bench_build_progs "$PROGS_SRC" "$BIN"

# Configurations: "name|VAR=value ...". The first is the baseline of every ratio. Other
# benchmarks add lines here (e.g. "memshim+profile|LD_PRELOAD=$LIB MEMSHIM_PROFILE=1").
BENCH_CONFIGS=(
  "jemalloc|LD_PRELOAD=$JE"
  "jemalloc-again|LD_PRELOAD=$JE"
  "memshim|LD_PRELOAD=$LIB"
)

# Programs: "name|command for callgrind|command for CPU time" (CPU runs are longer, so that
# timer resolution and start-up do not dominate).
BENCH_PROGRAMS=(
  "churn|$BIN/churn 2000000|$BIN/churn 40000000"
  "larson|$BIN/larson 4 200000|$BIN/larson 4 4000000"
  "realloc_grow|$BIN/realloc_grow 200|$BIN/realloc_grow 1500"
  "cxx_map|$BIN/cxx_map 300000|$BIN/cxx_map 1500000"
  "py_numpy|$PYTHON $PROGS_SRC/py_numpy.py 3000|$PYTHON $PROGS_SRC/py_numpy.py 40000"
  "py_torch|$PYTHON $PROGS_SRC/py_torch.py 100|$PYTHON $PROGS_SRC/py_torch.py 1500"
)
# Start-up: the same two views, in a table of their own (BENCH_SKIP_STARTUP=1 leaves it out).
BENCH_STARTUP=(
  "start_true|/bin/true|bash $PROGS_SRC/spawn.sh 200 /bin/true"
  "start_python|$PYTHON -c pass|bash $PROGS_SRC/spawn.sh 20 $PYTHON -c pass"
)

if [ $# -gt 0 ]; then
  selected=() selected_startup=()
  for want in "$@"; do
    found=0
    for p in "${BENCH_PROGRAMS[@]}"; do
      [ "${p%%|*}" = "$want" ] && { selected+=("$p"); found=1; }
    done
    for p in "${BENCH_STARTUP[@]}"; do
      [ "${p%%|*}" = "$want" ] && { selected_startup+=("$p"); found=1; }
    done
    [ $found -eq 1 ] || { echo "bench: unknown program '$want'" >&2; exit 2; }
  done
  BENCH_PROGRAMS=("${selected[@]}")
  BENCH_STARTUP=("${selected_startup[@]}")
fi
"$PYTHON" -c 'import numpy, torch' 2>/dev/null || {
  echo "bench: $PYTHON lacks numpy/torch; skipping the Python programs" >&2
  BENCH_PROGRAMS=($(printf '%s\n' "${BENCH_PROGRAMS[@]}" | grep -v '^py_' || true))
}

# The monitor thread's timer-driven work is left out of the instruction counts (printed apart).
export BENCH_CG_EXCLUDE_FN=${BENCH_CG_EXCLUDE_FN-ms_monitor_main}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/memshim-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
# Profiling at the default sample rate (docs/profiling.md; scripts/bench-profile.sh has exact mode,
# heaptrack and memory). Reports go to the scratch directory, one JSON per process at exit.
BENCH_CONFIGS+=("memshim+profile|LD_PRELOAD=$LIB MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH=$OUT/report.%p")
# No stray MEMSHIM_* setting may change what is measured.
for v in $(env | sed -n 's/^\(MEMSHIM_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

cfg_name() { echo "${1%%|*}"; }
cfg_env() { echo "${1#*|}"; }

# print_table TITLE UNIT KIND: per program, the baseline's median and every other
# configuration's median ratio; then the geometric means. Results are in $OUT/KIND.*.
print_table() {
  local title=$1 unit=$2 kind=$3 p c name base
  echo
  echo "== $title =="
  printf '%-14s %16s' program "$(cfg_name "${BENCH_CONFIGS[0]}") ($unit)"
  for c in "${BENCH_CONFIGS[@]:1}"; do printf ' %16s' "$(cfg_name "$c")"; done
  echo
  declare -A ratios=()
  for p in "${BENCH_PROGRAMS[@]}"; do
    name=${p%%|*}
    base=$(bench_median $(cat "$OUT/$kind.$name.$(cfg_name "${BENCH_CONFIGS[0]}")"))
    printf '%-14s %16s' "$name" "$base"
    for c in "${BENCH_CONFIGS[@]:1}"; do
      local m r
      m=$(bench_median $(cat "$OUT/$kind.$name.$(cfg_name "$c")"))
      r=$(bench_ratio "$m" "$base")
      ratios[$(cfg_name "$c")]+=" $r"
      printf ' %16.4f' "$r"
    done
    echo
  done
  printf '%-14s %16s' geomean ""
  for c in "${BENCH_CONFIGS[@]:1}"; do printf ' %16.4f' "$(bench_geomean ${ratios[$(cfg_name "$c")]})"; done
  echo
  for c in "${BENCH_CONFIGS[@]:1}"; do
    echo "$kind${BENCH_SUMMARY_TAG:-} $(cfg_name "$c") geomean $(bench_geomean ${ratios[$(cfg_name "$c")]})" >>"$OUT/summary"
  done
}

echo "memshim bench: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown), $(nproc) cpus, $(date -u +%FT%TZ)"
echo "baseline: LD_PRELOAD=$JE"
echo "memshim:  LD_PRELOAD=$LIB"

# measure_group TITLE: both views over BENCH_PROGRAMS.
measure_group() {
  local title=$1
  echo
  echo "#### $title"
  if [ "${BENCH_SKIP_CG:-0}" != 1 ]; then
    echo "callgrind: ${#BENCH_PROGRAMS[@]} programs x ${#BENCH_CONFIGS[@]} configurations x $BENCH_CG_RUNS, $BENCH_JOBS at a time..." >&2
    running=0
    for run in $(seq "$BENCH_CG_RUNS"); do
      for p in "${BENCH_PROGRAMS[@]}"; do
        IFS='|' read -r name cg_cmd _ <<<"$p"
        for c in "${BENCH_CONFIGS[@]}"; do
          (
            # shellcheck disable=SC2086 # the environment and command are word lists
            n=$(BENCH_CG_EXCLUDED_OUT="$OUT/mon.$name.$(cfg_name "$c")" bench_callgrind_count $(cfg_env "$c") -- $cg_cmd)
            [ -n "$n" ] || { echo "bench: no instruction count for $name/$(cfg_name "$c")" >&2; exit 1; }
            echo "$n" >>"$OUT/cg.$name.$(cfg_name "$c")"
          ) &
          running=$((running + 1))
          if [ $running -ge "$BENCH_JOBS" ]; then wait -n; running=$((running - 1)); fi
        done
      done
    done
    wait
    print_table "$title: instructions (callgrind), ratio to the baseline" instr cg
    echo "(application threads; memshim's monitor thread is counted apart: its work is timer-driven,"
    echo " and callgrind's ~50x slowdown multiplies its ticks. Its instructions in these runs:)"
    for p in "${BENCH_PROGRAMS[@]}"; do
      name=${p%%|*}
      for c in "${BENCH_CONFIGS[@]:1}"; do
        f=$OUT/mon.$name.$(cfg_name "$c")
        [ -s "$f" ] && [ "$(bench_median $(cat "$f"))" != 0 ] &&
          printf '  %-14s %-16s %12s instructions\n' "$name" "$(cfg_name "$c")" "$(bench_median $(cat "$f"))"
      done
    done
  fi

  if [ "${BENCH_SKIP_CPU:-0}" != 1 ]; then
    echo "cpu time: ${#BENCH_PROGRAMS[@]} programs x ${#BENCH_CONFIGS[@]} configurations x $BENCH_RUNS, alternating..." >&2
    for p in "${BENCH_PROGRAMS[@]}"; do
      IFS='|' read -r name _ cpu_cmd <<<"$p"
      for run in $(seq "$BENCH_RUNS"); do
        for c in "${BENCH_CONFIGS[@]}"; do
          # shellcheck disable=SC2086
          bench_cpu_time $(cfg_env "$c") -- $cpu_cmd >>"$OUT/cpu.$name.$(cfg_name "$c")"
        done
      done
    done
    print_table "$title: CPU time (user+sys, median of $BENCH_RUNS), ratio to the baseline" s cpu
  fi
}

[ ${#BENCH_PROGRAMS[@]} -gt 0 ] && measure_group "programs"
if [ "${BENCH_SKIP_STARTUP:-0}" != 1 ] && [ ${#BENCH_STARTUP[@]} -gt 0 ]; then
  BENCH_PROGRAMS=("${BENCH_STARTUP[@]}")
  BENCH_SUMMARY_TAG=" (start-up)"
  measure_group "start-up"
fi

echo
echo "noise floor (jemalloc against itself) and memshim, geometric means:"
sed 's/^/  /' "$OUT/summary"
echo "targets: memshim geomean <= 1.03, memshim+profile <= 1.08 on the programs; memshim <= 1.10 on"
echo "start-up, CPU of many short processes (instructions are the primary figure of the programs)"
