# Shared by the benchmark scripts (bench.sh, bench-rss.sh, bench-profile.sh): statistics,
# the two cost measures (callgrind instruction counts, CPU time), program builds and the
# libraries under test. Source it; every function prints its result on stdout.
. "$(dirname "${BASH_SOURCE[0]}")/build.sh"

# bench_median N...: the median (mean of the middle two for an even count).
bench_median() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) exit 1
    if (NR % 2) printf "%.10g\n", v[(NR + 1) / 2]; else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_geomean R...: the geometric mean of positive ratios.
bench_geomean() {
  printf '%s\n' "$@" | awk '{s += log($1); n++} END { if (n == 0) exit 1; printf "%.6f\n", exp(s / n) }'
}

# bench_ratio A B: A / B.
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) exit 1; printf "%.6f\n", a / b }'; }

# bench_split_env WORD... -- CMD...: sets BENCH_ENV (the VAR=value words before --) and
# BENCH_CMD (the rest). Without --, everything is the command.
bench_split_env() {
  BENCH_ENV=()
  BENCH_CMD=()
  local w seen=0
  for w in "$@"; do
    if [ $seen -eq 0 ] && [ "$w" = "--" ]; then seen=1; continue; fi
    if [ $seen -eq 0 ]; then BENCH_ENV+=("$w"); else BENCH_CMD+=("$w"); fi
  done
  if [ $seen -eq 0 ]; then BENCH_CMD=("${BENCH_ENV[@]}"); BENCH_ENV=(); fi
}

# bench_callgrind_count [VAR=value...] -- CMD...: instructions the command executes (all its
# threads; not its children), counted by callgrind. The environment goes to the measured
# process only, so a preloaded library is measured, valgrind itself is not. Repeatable to
# about 7 digits for single-threaded programs.
# BENCH_CG_EXCLUDE_FN=function: leave out the threads that ran this function (memshim's
# monitor thread, whose timer-driven work grows with callgrind's 50x slowdown); their
# instructions are appended to the file named by BENCH_CG_EXCLUDED_OUT, when set.
bench_callgrind_count() {
  bench_split_env "$@"
  local dir
  dir=$(mktemp -d)
  if ! env "${BENCH_ENV[@]}" valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
    ${BENCH_CG_EXCLUDE_FN:+--separate-threads=yes} "${BENCH_CMD[@]}" >/dev/null 2>"$dir/log"; then
    echo "bench: callgrind run failed: ${BENCH_CMD[*]}" >&2
    cat "$dir/log" >&2
    rm -rf "$dir"
    return 1
  fi
  if [ -z "${BENCH_CG_EXCLUDE_FN:-}" ]; then
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$dir/log" | tail -1
  else
    local f kept=0 excluded=0 n
    for f in "$dir"/cg.out*; do
      n=$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$f" | head -1)
      [ -n "$n" ] || continue
      if grep -q "$BENCH_CG_EXCLUDE_FN" "$f"; then excluded=$((excluded + n)); else kept=$((kept + n)); fi
    done
    [ -n "${BENCH_CG_EXCLUDED_OUT:-}" ] && echo "$excluded" >>"$BENCH_CG_EXCLUDED_OUT"
    echo "$kept"
  fi
  rm -rf "$dir"
}

# bench_time_field FORMAT [VAR=value...] -- CMD...: what /usr/bin/time -f FORMAT reports of one run.
bench_time_field() {
  local fmt=$1 out
  shift
  bench_split_env "$@"
  out=$(mktemp)
  env "${BENCH_ENV[@]}" /usr/bin/time -f "$fmt" -o "$out" "${BENCH_CMD[@]}" >/dev/null 2>&1 ||
    { echo "bench: run failed: ${BENCH_CMD[*]}" >&2; rm -f "$out"; return 1; }
  tail -1 "$out"
  rm -f "$out"
}

# bench_cpu_time [VAR=value...] -- CMD...: user+system CPU seconds of one run (all threads).
bench_cpu_time() {
  local t
  t=$(bench_time_field '%U %S' "$@") || return 1
  awk '{ printf "%.3f\n", $1 + $2 }' <<<"$t"
}

# bench_max_rss_kb [VAR=value...] -- CMD...: peak resident set of one run, in KiB.
bench_max_rss_kb() {
  bench_time_field '%M' "$@"
}

# bench_build_progs SRC_DIR OUT_DIR: every *.c (cc -O2) and *.cc (c++ -O2) in SRC_DIR into
# OUT_DIR, rebuilt when the source is newer.
bench_build_progs() {
  local src=$1 out=$2 f name
  mkdir -p "$out"
  for f in "$src"/*.c "$src"/*.cc; do
    [ -e "$f" ] || continue
    name=$(basename "${f%.*}")
    [ "$out/$name" -nt "$f" ] && continue
    case $f in
      *.cc) c++ -O2 -g -o "$out/$name" "$f" -lpthread ;;
      *) cc -O2 -g -o "$out/$name" "$f" -lpthread ;;
    esac || { echo "bench: cannot build $f" >&2; return 1; }
  done
}

# bench_jemalloc_lib: path of Debian's libjemalloc.so.2 (or another distribution's, in /usr/lib64).
bench_jemalloc_lib() {
  local p
  for p in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/*/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 \
    /usr/lib64/libjemalloc.so.2; do
    [ -e "$p" ] && { echo "$p"; return 0; }
  done
  echo "bench: libjemalloc.so.2 not found (apt-get install libjemalloc2)" >&2
  return 1
}

# bench_build_memshim SRC BUILD: configure and build memshim (Release-like flags, as shipped);
# prints the library's path.
bench_build_memshim() {
  ms_build "$2" "$1" || return 1
  echo "$2/libmemshim.so"
}
