#!/usr/bin/env bash
# Profiler overhead and memory, measured side by side in one run (docs/profiling.md#overhead).
#  1. instruction counts (callgrind; repeatable) and CPU time (median of 3; noisy here) of four
#     allocation-heavy workloads under plain jemalloc, memshim with profiling off, and memshim
#     profiling at the default rate: target geomean (profile / jemalloc) <= 1.08;
#  2. exact mode (MEMSHIM_SAMPLE_BYTES=1, what `memshim check` runs native programs in) against
#     heaptrack on the same programs: CPU time (user + sys, every process) each adds over its own
#     baseline allocator (memshim: plain jemalloc; heaptrack: glibc); target: exact mode adds at
#     most 0.25x what heaptrack adds;
#  3. profiler memory for 10^6 live allocations (max RSS with profiling minus without).
# Usage: scripts/bench-profile.sh [--quick]   (--quick: smaller inputs, one timing run)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
. scripts/lib/build.sh
ms_install_deps build bench
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/libmemshim.so" ]; then
  ms_build "$BUILD_DIR"
fi
LIB=$(realpath "$BUILD_DIR/libmemshim.so")
JE=$(ldconfig -p | awk '!je && /libjemalloc.so.2 /{je = $NF} END {print je}') # reads it all: no SIGPIPE under pipefail
[ -n "$JE" ] || { echo "libjemalloc.so.2 not found" >&2; exit 1; }
QUICK=0; [ "${1:-}" = --quick ] && QUICK=1
RUNS=$((QUICK ? 1 : 3))

W=$(mktemp -d "${TMPDIR:-/tmp}/memshim-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
CFLAGS="-O2 -g -fno-builtin-malloc -fno-builtin-free"
cc $CFLAGS -o "$W/churn" scripts/bench/progs/churn.c
cc $CFLAGS -o "$W/binary_trees" scripts/bench/binary_trees.c
c++ -O2 -g -o "$W/cxx_map" scripts/bench/progs/cxx_map.cc
cc $CFLAGS -o "$W/live_million" scripts/bench/live_million.c
cat >"$W/py_dicts.py" <<'PY'
d = {}
import sys
for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 60000):
    d[str(i) * 3] = [i] * 8
    if i % 3 == 0:
        d.pop(str(i - 3) * 3, None)
print(len(d))
PY

# Each workload: callgrind input | CPU-time input (larger: 20 ms runs are below the timer's resolution).
if [ $QUICK = 1 ]; then
  WORK=("churn 300000|3000000" "binary_trees 12|14" "cxx_map 15000|150000" "/usr/bin/python3 $W/py_dicts.py|$W/py_dicts.py 600000")
else
  WORK=("churn 1000000|20000000" "binary_trees 14|17" "cxx_map 40000|800000" "/usr/bin/python3 $W/py_dicts.py|$W/py_dicts.py 600000")
fi
cfg_env() { # config -> env words
  case $1 in
    jemalloc) echo "LD_PRELOAD=$JE" ;;
    memshim) echo "LD_PRELOAD=$LIB" ;;
    profile) echo "LD_PRELOAD=$LIB MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH=$W/rep.%p" ;;
    exact) echo "LD_PRELOAD=$LIB MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH=$W/rep.%p" ;;
  esac
}
prog_path() { case $1 in /*) echo "$1" ;; *) echo "$W/$1" ;; esac; }

instr() { # config workload... -> total instructions of every process
  local cfg=$1; shift
  local p; p=$(prog_path "$1"); shift
  # shellcheck disable=SC2046
  valgrind --tool=callgrind --callgrind-out-file=/dev/null --trace-children=yes \
    env $(cfg_env "$cfg") "$p" "$@" 2>&1 >/dev/null | awk '/Collected :/{s += $NF} END {print s}'
}
cpu() { # config workload... -> median user+sys seconds
  local cfg=$1; shift
  local p; p=$(prog_path "$1"); shift
  local ts=()
  for _ in $(seq $RUNS); do
    # shellcheck disable=SC2046
    /usr/bin/time -o "$W/time" -f '%U %S' env $(cfg_env "$cfg") "$p" "$@" >/dev/null 2>&1
    ts+=("$(awk '{print $1 + $2}' "$W/time")")
    rm -f "$W"/rep.*
  done
  printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}'; }

echo "== 1. overhead: profiling at the default rate (512K) vs plain jemalloc"
printf '%-28s %14s %8s %8s | %7s %7s %7s %8s\n' workload "instr jemalloc" "memshim" profile "cpu je" memshim profile "cpu prof"
geo_i=0; geo_c=0; geo_m=0; n=0
for spec in "${WORK[@]}"; do
  w=${spec%%|*}; big="${w%% *} ${spec#*|}"
  # shellcheck disable=SC2086
  ij=$(instr jemalloc $w); im=$(instr memshim $w); ip=$(instr profile $w)
  # shellcheck disable=SC2086
  cj=$(cpu jemalloc $big); cm=$(cpu memshim $big); cp=$(cpu profile $big)
  ri=$(ratio "$ip" "$ij"); rm_=$(ratio "$im" "$ij"); rc=$(ratio "$cp" "$cj")
  printf '%-28s %14s %8s %8s | %7s %7s %7s %8s\n' "$(basename "${w%% *}") ${w#* }" "$ij" "$rm_" "$ri" "$cj" "$cm" "$cp" "$rc"
  geo_i=$(awk -v g="$geo_i" -v r="$ri" 'BEGIN {print g + log(r)}')
  geo_m=$(awk -v g="$geo_m" -v r="$rm_" 'BEGIN {print g + log(r)}')
  geo_c=$(awk -v g="$geo_c" -v r="$rc" 'BEGIN {print g + log(r > 0 ? r : 1)}')
  n=$((n + 1))
done
awk -v i="$geo_i" -v m="$geo_m" -v c="$geo_c" -v n="$n" 'BEGIN {
  printf "geomean instructions: memshim (profiling off) %.3f, profiling on %.3f x jemalloc (target <= 1.08); cpu time profiling on %.3f\n",
    exp(m / n), exp(i / n), exp(c / n);
  printf "what profiling itself adds (profiling on / off, instructions): %.3f\n", exp((i - m) / n) }'

echo
echo "== 2. exact mode vs heaptrack: CPU time added over each tool's baseline allocator"
cpu_of() { # cmd... -> median user+sys seconds of every process (heaptrack's own helpers included)
  local ts=()
  for _ in $(seq $RUNS); do
    (cd "$W" && /usr/bin/time -o "$W/time" -f '%U %S' "$@" >/dev/null 2>&1)
    ts+=("$(awk '{print $1 + $2}' "$W/time")")
    rm -f "$W"/rep.* "$W"/heaptrack.*
  done
  printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
HW=("binary_trees 16" "churn 3000000" "cxx_map 300000")
[ $QUICK = 1 ] && HW=("binary_trees 13" "churn 1000000" "cxx_map 70000")
geo=0; n=0
for w in "${HW[@]}"; do
  p=$(prog_path "${w%% *}"); a=${w#* }
  # shellcheck disable=SC2046
  tj=$(cpu_of env $(cfg_env jemalloc) "$p" $a)
  # shellcheck disable=SC2046
  te=$(cpu_of env $(cfg_env exact) "$p" $a)
  tg=$(cpu_of "$p" $a)
  th=$(cpu_of heaptrack -o "$W/heaptrack.out" "$p" $a)
  r=$(awk -v tj="$tj" -v te="$te" -v tg="$tg" -v th="$th" 'BEGIN {ah = th - tg; print (ah > 0 ? (te - tj) / ah : 0)}')
  awk -v w="$w" -v tj="$tj" -v te="$te" -v tg="$tg" -v th="$th" -v r="$r" 'BEGIN {
    printf "%-22s jemalloc %.2fs, exact %.2fs (+%.2fs) | glibc %.2fs, heaptrack %.2fs (+%.2fs) | exact adds %.2fx what heaptrack adds (target <= 0.25)\n",
      w, tj, te, te - tj, tg, th, th - tg, r }'
  geo=$(awk -v g="$geo" -v r="$r" 'BEGIN {print g + log(r > 0 ? r : 1e-3)}'); n=$((n + 1))
done
awk -v g="$geo" -v n="$n" 'BEGIN {printf "geomean: exact mode adds %.2fx the CPU time heaptrack adds (target <= 0.25)\n", exp(g / n)}' 

echo
echo "== 3. profiler memory for 10^6 live allocations of 64 bytes (max RSS, KiB)"
# shellcheck disable=SC2046
r_off=$(env $(cfg_env memshim) "$W/live_million" 1000000)
# shellcheck disable=SC2046
r_def=$(env $(cfg_env profile) "$W/live_million" 1000000)
# shellcheck disable=SC2046
r_ex=$(env $(cfg_env exact) "$W/live_million" 1000000)
awk -v o="$r_off" -v d="$r_def" -v e="$r_ex" 'BEGIN {
  printf "profiling off %d KiB; default rate %d KiB (+%d KiB); exact mode %d KiB (+%d KiB = %.1f bytes per live allocation)\n",
    o, d, d - o, e, e - o, (e - o) * 1024 / 1e6 }'
