#!/usr/bin/env bash
# What GPU tracking costs, in instructions (callgrind, repeatable) with CPU time beside them. The
# baseline is the memshim of --base REF (default main) built from git into a temporary directory:
# the same library without this tree's GPU part.
#  1. every dlsym of a process: instructions per lookup of a name that is not "cu" + upper-case
#     ("strlen") and of one that is ("cuMemAlloc_v2", found nowhere here), from loops of N and 2N
#     lookups (start-up cancels out), under no preload, the baseline and this tree;
#  2. a process without CUDA (python3 -c pass, a C program that allocates): whole-run instructions,
#     baseline against this tree (memshim's monitor thread left out: its ticks follow wall time);
#  3. one cudaMalloc + cudaFree pair through the fake runtime (tests/fakes), per pair, without
#     memshim and with it, without and with (fake) NVML: the cold path a device allocation takes.
# Usage: scripts/bench-gpu.sh [--base REF]    (needs the tests built: cmake --build build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/bench.sh
BUILD_DIR=${BUILD_DIR:-build}
BASE=main
[ "${1:-}" = --base ] && BASE=$2
LIB=$(realpath "$BUILD_DIR/libmemshim.so")
FAKES=$(realpath "$BUILD_DIR/tests/fakes")
[ -f "$LIB" ] && [ -f "$FAKES/lib/libcudart.so.12" ] || { echo "build first (cmake --build $BUILD_DIR)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
export BENCH_CG_EXCLUDE_FN=ms_monitor_main
W=$(mktemp -d "${TMPDIR:-/tmp}/memshim-bench-gpu.XXXXXX")
trap 'rm -rf "$W"' EXIT
cc -O2 -g -o "$W/dlsym_loop" scripts/bench/gpu/dlsym_loop.c -ldl
cc -O2 -g -o "$W/cuda_pairs" scripts/bench/gpu/cuda_pairs.c "$FAKES/lib/libcudart.so.12" -Wl,-rpath,"$FAKES/lib"
cc -O2 -g -o "$W/churn" scripts/bench/progs/churn.c
git rev-parse --verify -q "$BASE" >/dev/null || { echo "no $BASE to compare against" >&2; exit 2; }
mkdir -p "$W/base-src"
git archive "$BASE" | tar -x -C "$W/base-src"
BASE_LIB=$(bench_build_memshim "$W/base-src" "$W/base-build")
echo "baseline: memshim of $BASE ($(git rev-parse --short "$BASE")); this tree: $LIB"

# per_iter N [VAR=value...] -- PROG ARGS...: instructions of one more iteration, from runs of N
# and 2N iterations (PROG's first argument), so that start-up cancels out.
per_iter() {
  local n=$1
  shift
  bench_split_env "$@"
  local envs=("${BENCH_ENV[@]}") cmd=("${BENCH_CMD[@]}") a b
  a=$(bench_callgrind_count "${envs[@]}" -- "${cmd[0]}" "$n" "${cmd[@]:1}")
  b=$(bench_callgrind_count "${envs[@]}" -- "${cmd[0]}" $((2 * n)) "${cmd[@]:1}")
  awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }'
}

echo
echo "== 1. dlsym: instructions per call =="
printf '%-36s %11s %11s %11s %9s\n' "lookup" "no preload" "$BASE" "this tree" "added"
for name in strlen cuMemAlloc_v2; do
  plain=$(per_iter 100000 -- "$W/dlsym_loop" "$name")
  base=$(per_iter 100000 LD_PRELOAD="$BASE_LIB" -- "$W/dlsym_loop" "$name")
  shim=$(per_iter 100000 LD_PRELOAD="$LIB" -- "$W/dlsym_loop" "$name")
  printf '%-36s %11s %11s %11s %9s\n' "dlsym(RTLD_DEFAULT, \"$name\")" "$plain" "$base" "$shim" \
    "$(awk -v a="$base" -v b="$shim" 'BEGIN { printf "%+.1f", b - a }')"
done
tb=$(bench_cpu_time LD_PRELOAD="$BASE_LIB" -- "$W/dlsym_loop" 5000000 strlen)
ts=$(bench_cpu_time LD_PRELOAD="$LIB" -- "$W/dlsym_loop" 5000000 strlen)
echo "CPU time of 5,000,000 lookups of strlen: $BASE ${tb} s, this tree ${ts} s (one run each; noisy here)"

echo
echo "== 2. a process without CUDA: instructions of the whole run =="
printf '%-22s %14s %14s %9s\n' "program" "$BASE" "this tree" "ratio"
for prog in "python3 -c pass" "churn 300000"; do
  set -- $prog
  p=$1
  shift
  if [ "$p" = python3 ]; then p=/usr/bin/python3; else p=$W/$p; fi
  a=$(bench_callgrind_count LD_PRELOAD="$BASE_LIB" -- "$p" "$@")
  b=$(bench_callgrind_count LD_PRELOAD="$LIB" -- "$p" "$@")
  printf '%-22s %14s %14s %9s\n' "$prog" "$a" "$b" "$(bench_ratio "$b" "$a")"
done

echo
echo "== 3. one cudaMalloc + cudaFree pair (fake runtime and driver): instructions =="
printf '%-24s %10s\n' "configuration" "per pair"
for cfg in "no preload|$FAKES/lib|" "memshim, no NVML|$FAKES/lib|$LIB" "memshim, NVML|$FAKES/lib:$FAKES/nvml-v3|$LIB"; do
  IFS='|' read -r label libs pre <<<"$cfg"
  envs=(LD_LIBRARY_PATH="$libs")
  [ -n "$pre" ] && envs+=(LD_PRELOAD="$pre" MEMSHIM_REPORT_PATH="$W/rep.%p")
  printf '%-24s %10s\n' "$label" "$(per_iter 2000 "${envs[@]}" -- "$W/cuda_pairs")"
done
