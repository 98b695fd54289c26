#!/usr/bin/env bash
# The hot path against plain jemalloc on three programs of mimalloc-bench (vendored in
# scripts/bench/progs/mb/, their licenses kept): cfrac, mstress and alloc-test. Two rows:
# memshim with profiling off (the defaults), and sampled profiling at the default rate
# (MEMSHIM_PROFILE=1, MEMSHIM_SAMPLE_BYTES 512K, no report file). Per program the instruction
# ratio (callgrind, application threads; the primary figure) and the CPU-time ratio (user+sys,
# median of BENCH_RUNS, alternating) side by side, then geometric means, with the git revision.
# Targets (issue 26): off <= 1.01 geomean, none above 1.02; sampled <= 1.03, none above 1.05.
#
# Usage: scripts/bench-hot.sh [program...]   (cfrac mstress alloc-test; default all)
# Environment: BUILD_DIR (default build-bench), BENCH_RUNS (CPU runs, default 3),
#   BENCH_SKIP_CPU=1, BENCH_JOBS (callgrind runs at a time, default nproc),
#   BENCH_HOT_LIB=path/to/libmemshim.so: measure that library instead of building this checkout;
#   BENCH_HOT_BASE=path/to/libmemshim.so: also measure that build (e.g. an older revision built
#   elsewhere) in the same run, as rows "base" and "base+profile".
# scripts/bench.sh runs this script after its own tables (BENCH_SKIP_HOT=1 leaves it out).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib/deps.sh"
. "$ROOT/scripts/lib/bench.sh"
ms_install_deps build bench

BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_JOBS=${BENCH_JOBS:-$(nproc)}
MB=$ROOT/scripts/bench/progs/mb
BIN=$BUILD_DIR/bench-progs/mb

JE=$(bench_jemalloc_lib)
LIB=${BENCH_HOT_LIB:-$(bench_build_memshim "$ROOT" "$BUILD_DIR")}

# Built as mimalloc-bench's bench/CMakeLists.txt builds them (its flags and defines), at -O2.
mb_build() {
  mkdir -p "$BIN"
  local cfrac_src=() f
  for f in cfrac pops pconst pio pabs pneg pcmp podd phalf padd psub pmul pdivmod psqrt ppowmod \
    atop ptoa itop utop ptou errorp pfloat pidiv pimod picmp primes pcfrac pgcd; do
    cfrac_src+=("$MB/cfrac/$f.c")
  done
  newer() { local out=$1 s; shift; for s in "$@"; do [ "$out" -nt "$s" ] || return 1; done; }
  newer "$BIN/cfrac" "${cfrac_src[@]}" ||
    cc -O2 -g -std=gnu89 -DNOMEMOPT=1 -w -o "$BIN/cfrac" "${cfrac_src[@]}" -lm
  newer "$BIN/mstress" "$MB/mstress/mstress.c" ||
    cc -O2 -g -o "$BIN/mstress" "$MB/mstress/mstress.c" -lpthread
  newer "$BIN/alloc-test" "$MB"/alloc-test/*.cpp "$MB"/alloc-test/*.h ||
    c++ -O2 -g -DBENCH=4 -o "$BIN/alloc-test" "$MB/alloc-test/test_common.cpp" \
      "$MB/alloc-test/allocator_tester.cpp" -lpthread
}
mb_build || { echo "bench-hot: cannot build the mimalloc-bench programs" >&2; exit 1; }

# "name|callgrind command|CPU-time command". Callgrind runs are short (~10^8 instructions);
# mstress runs one thread under callgrind (counts repeatable: no thread interleaving), two for
# CPU time; alloc-test's second argument (a memshim addition) is its iteration count.
PROGRAMS=(
  "cfrac|$BIN/cfrac 175451865205073170563711388363|$BIN/cfrac 17545186520507317056371138836327483792"
  "mstress|$BIN/mstress 1 50 10|$BIN/mstress 2 50 100"
  "alloc-test|$BIN/alloc-test 1 300000|$BIN/alloc-test 1 10000000"
)
if [ $# -gt 0 ]; then
  sel=()
  for want in "$@"; do
    f=0
    for p in "${PROGRAMS[@]}"; do [ "${p%%|*}" = "$want" ] && { sel+=("$p"); f=1; }; done
    [ $f = 1 ] || { echo "bench-hot: unknown program '$want' (cfrac mstress alloc-test)" >&2; exit 2; }
  done
  PROGRAMS=("${sel[@]}")
fi

for v in $(env | sed -n 's/^\(MEMSHIM_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
PROF="MEMSHIM_PROFILE=1 MEMSHIM_REPORT=off"
CONFIGS=("jemalloc|LD_PRELOAD=$JE")
if [ -n "${BENCH_HOT_BASE:-}" ]; then
  CONFIGS+=("base|LD_PRELOAD=$BENCH_HOT_BASE" "base+profile|LD_PRELOAD=$BENCH_HOT_BASE $PROF")
fi
CONFIGS+=("memshim|LD_PRELOAD=$LIB" "memshim+profile|LD_PRELOAD=$LIB $PROF")

OUT=$(mktemp -d "${TMPDIR:-/tmp}/memshim-bench-hot.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
export BENCH_CG_EXCLUDE_FN=${BENCH_CG_EXCLUDE_FN-ms_monitor_main}

echo "memshim bench-hot: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown), $(nproc) cpus, $(date -u +%FT%TZ)"
echo "baseline: LD_PRELOAD=$JE"
echo "memshim:  LD_PRELOAD=$LIB${BENCH_HOT_BASE:+ (base: $BENCH_HOT_BASE)}"

running=0
for p in "${PROGRAMS[@]}"; do
  IFS='|' read -r name cg_cmd _ <<<"$p"
  for c in "${CONFIGS[@]}"; do
    (
      # shellcheck disable=SC2086 # environment and command are word lists
      n=$(bench_callgrind_count ${c#*|} -- $cg_cmd)
      [ -n "$n" ] || { echo "bench-hot: no instruction count for $name/${c%%|*}" >&2; exit 1; }
      echo "$n" >"$OUT/cg.$name.${c%%|*}"
    ) &
    running=$((running + 1))
    if [ $running -ge "$BENCH_JOBS" ]; then wait -n; running=$((running - 1)); fi
  done
done
wait
if [ "${BENCH_SKIP_CPU:-0}" != 1 ]; then
  for p in "${PROGRAMS[@]}"; do
    IFS='|' read -r name _ cpu_cmd <<<"$p"
    for _ in $(seq "$BENCH_RUNS"); do
      for c in "${CONFIGS[@]}"; do
        # shellcheck disable=SC2086
        bench_cpu_time ${c#*|} -- $cpu_cmd >>"$OUT/cpu.$name.${c%%|*}"
      done
    done
  done
fi

echo
printf '%-11s %14s' program "jemalloc instr"
for c in "${CONFIGS[@]:1}"; do printf ' %22s' "${c%%|*} instr / cpu"; done
echo
declare -A cg_r=() cpu_r=()
for p in "${PROGRAMS[@]}"; do
  name=${p%%|*}
  base=$(cat "$OUT/cg.$name.jemalloc")
  printf '%-11s %14s' "$name" "$base"
  cbase=
  # shellcheck disable=SC2046 # one number per line
  [ -s "$OUT/cpu.$name.jemalloc" ] && cbase=$(bench_median $(cat "$OUT/cpu.$name.jemalloc"))
  for c in "${CONFIGS[@]:1}"; do
    k=${c%%|*}
    r=$(bench_ratio "$(cat "$OUT/cg.$name.$k")" "$base")
    cg_r[$k]+=" $r"
    if [ -n "$cbase" ]; then
      # shellcheck disable=SC2046
      cr=$(bench_ratio "$(bench_median $(cat "$OUT/cpu.$name.$k"))" "$cbase")
      cpu_r[$k]+=" $cr"
      printf ' %13.4f / %6.3f' "$r" "$cr"
    else
      printf ' %13.4f / %6s' "$r" -
    fi
  done
  echo
done
printf '%-11s %14s' geomean ""
for c in "${CONFIGS[@]:1}"; do
  k=${c%%|*}
  if [ -n "${cpu_r[$k]:-}" ]; then
    printf ' %13.4f / %6.3f' "$(bench_geomean ${cg_r[$k]})" "$(bench_geomean ${cpu_r[$k]})"
  else
    printf ' %13.4f / %6s' "$(bench_geomean ${cg_r[$k]})" -
  fi
done
echo
echo "(instructions: callgrind, one run each, application threads; cpu: user+sys, median of $BENCH_RUNS;"
echo " +profile = MEMSHIM_PROFILE=1 at the default MEMSHIM_SAMPLE_BYTES, no report file)"
echo "targets: memshim <= 1.01 geomean, none above 1.02; memshim+profile <= 1.03 geomean, none above 1.05"
