#!/usr/bin/env bash
# Overhead of libmemshim.so against plain jemalloc (LD_PRELOAD=libjemalloc.so.2), measured side
# by side in one run, on malloc-heavy programs of our own (scripts/bench/progs), a Python +
# numpy run, a torch run and a deep Python call chain; then start-up cost per process (every process of a container with
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
# programs, <= 1.10 on start-up; profiling (Python call sites on, the default) <= 1.10 on the
# Python programs. Then, unless BENCH_SKIP_PYWALK=1: what reading Python frames costs per sampled
# allocation (exact mode, Python call sites on against off) and exact mode against plain jemalloc
# on Python programs (docs/python.md).
#
# Usage: scripts/bench.sh [program...]      (default: all; names as in BENCH_PROGRAMS)
# Environment: BUILD_DIR (default build-bench), BENCH_RUNS, BENCH_CG_RUNS, BENCH_JOBS,
#              BENCH_SKIP_CG=1 / BENCH_SKIP_CPU=1 (one view only), BENCH_SKIP_STARTUP=1,
#              BENCH_SKIP_PYWALK=1, BENCH_SKIP_HOT=1 (the mimalloc-bench table of
#              scripts/bench-hot.sh, run when no program is named), PYTHON (/usr/bin/python3).
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
  "py_deep|$PYTHON $PROGS_SRC/py_deep.py 20000|$PYTHON $PROGS_SRC/py_deep.py 400000"
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
# Each Python program needs its module only (py_deep none): another interpreter (pyenv's, or
# scripts/python-next.sh --host python3.14) runs what it can.
for mod in numpy torch; do
  "$PYTHON" -c "import $mod" 2>/dev/null && continue
  echo "bench: $PYTHON lacks $mod; skipping py_$mod" >&2
  mapfile -t BENCH_PROGRAMS < <(printf '%s\n' "${BENCH_PROGRAMS[@]}" | grep -v -e "^py_$mod|" -e '^$' || true)
done

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
  # the Python programs alone, profiling with Python call sites on (the default)
  local py=() i=0
  for p in "${BENCH_PROGRAMS[@]}"; do
    i=$((i + 1))
    [ "${p#py_}" != "$p" ] && py+=("$(awk -v i=$i '{print $i}' <<<"${ratios[memshim+profile]}")")
  done
  [ ${#py[@]} -gt 0 ] && echo "$kind${BENCH_SUMMARY_TAG:-} memshim+profile geomean over the Python programs" \
    "(Python call sites on) $(bench_geomean "${py[@]}")" >>"$OUT/summary"
  return 0
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

# ---- Python call sites: the walk's cost per sample, and exact mode on Python programs ----
# Exact mode (MEMSHIM_SAMPLE_BYTES=1) makes every allocation a sample, so the difference between
# Python call sites on and off, divided by the samples (the report's allocated_count), is what one
# walk and merge cost. The measured runs write no report (MEMSHIM_REPORT=off): with Python call
# sites on, an exact-mode report holds far more sites, and writing it is not the walk's cost.
# Instructions are the primary figure; ns come from CPU time (noisy here).
if [ "${BENCH_SKIP_PYWALK:-0}" != 1 ] && printf '%s\n' "${BENCH_PROGRAMS[@]}" | grep -q '^py_'; then
  echo
  echo "#### Python call sites: cost per sampled allocation (exact mode), exact mode against plain jemalloc"
  EXACT="LD_PRELOAD=$LIB MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1"
  # samples COMMAND...: allocated_count of an exact-mode report of one run
  samples() {
    rm -f "$OUT"/pw.*.json
    # shellcheck disable=SC2086
    env $EXACT MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$OUT/pw.%p" "$@" >/dev/null 2>&1
    "$PYTHON" -c 'import glob, json, sys
print(sum(json.load(open(f))["profile"]["totals"]["heap"]["allocated_count"] for f in glob.glob(sys.argv[1] + "/pw.*.json")))' "$OUT"
  }
  printf '%-10s %9s | %14s %9s %9s %10s | %8s %9s %9s %8s\n' program samples "instr jemalloc" exact-off exact-on \
    "instr/walk" "cpu je s" exact-off exact-on "ns/walk"
  for p in "${BENCH_PROGRAMS[@]}"; do
    IFS='|' read -r name cg_cmd cpu_cmd <<<"$p"
    [ "${name#py_}" != "$name" ] || continue
    [ "$name" = py_torch ] && continue # exact mode under callgrind: too long for this table
    # shellcheck disable=SC2086 # the environment and commands are word lists
    {
      n_cg=$(samples $cg_cmd)
      n_cpu=$(samples $cpu_cmd)
      i_je=$(bench_callgrind_count LD_PRELOAD="$JE" -- $cg_cmd)
      i_off=$(bench_callgrind_count $EXACT MEMSHIM_PY_STACKS=0 MEMSHIM_REPORT=off -- $cg_cmd)
      i_on=$(bench_callgrind_count $EXACT MEMSHIM_REPORT=off -- $cg_cmd)
      t_je=() t_off=() t_on=()
      for run in $(seq "$BENCH_RUNS"); do
        t_je+=("$(bench_cpu_time LD_PRELOAD="$JE" -- $cpu_cmd)")
        t_off+=("$(bench_cpu_time $EXACT MEMSHIM_PY_STACKS=0 MEMSHIM_REPORT=off -- $cpu_cmd)")
        t_on+=("$(bench_cpu_time $EXACT MEMSHIM_REPORT=off -- $cpu_cmd)")
      done
    }
    awk -v n="$name" -v s="$n_cg" -v sc="$n_cpu" -v ij="$i_je" -v ioff="$i_off" -v ion="$i_on" \
      -v tj="$(bench_median "${t_je[@]}")" -v toff="$(bench_median "${t_off[@]}")" -v ton="$(bench_median "${t_on[@]}")" 'BEGIN {
      printf "%-10s %9.0f | %14.0f %9.4f %9.4f %10.0f | %8.3f %9.3f %9.3f %8.0f\n", n, s, ij, ioff / ij, ion / ij,
        (ion - ioff) / s, tj, toff / tj, ton / tj, (ton - toff) * 1e9 / sc }'
  done
  echo "(exact-off / exact-on: MEMSHIM_SAMPLE_BYTES=1 with MEMSHIM_PY_STACKS=0 / 1, ratios to plain jemalloc;"
  echo " instr/walk and ns/walk: (on - off) / samples, samples = allocated_count of the run's report; the"
  echo " ns figure comes from the longer CPU-time input, whose samples are counted the same way)"
fi
if [ "${BENCH_SKIP_STARTUP:-0}" != 1 ] && [ ${#BENCH_STARTUP[@]} -gt 0 ]; then
  BENCH_PROGRAMS=("${BENCH_STARTUP[@]}")
  BENCH_SUMMARY_TAG=" (start-up)"
  measure_group "start-up"
fi

# The hot path on three mimalloc-bench programs, both rows (profiling off, sampled), instruction and
# CPU-time ratios side by side (issue 26's table; BENCH_SKIP_HOT=1 leaves it out).
if [ "${BENCH_SKIP_HOT:-0}" != 1 ] && [ $# -eq 0 ]; then
  echo
  echo "#### hot path: mimalloc-bench cfrac, mstress, alloc-test (scripts/bench-hot.sh)"
  BUILD_DIR=$BUILD_DIR BENCH_HOT_LIB=$LIB BENCH_RUNS=$BENCH_RUNS "$ROOT/scripts/bench-hot.sh" | tail -n +2
fi

echo
echo "noise floor (jemalloc against itself) and memshim, geometric means:"
[ -f "$OUT/summary" ] && sed 's/^/  /' "$OUT/summary"
echo "targets: memshim geomean <= 1.03, memshim+profile <= 1.08 on the programs, <= 1.10 on the Python"
echo "programs; memshim <= 1.10 on start-up, CPU of many short processes (instructions are the primary"
echo "figure of the programs)"
