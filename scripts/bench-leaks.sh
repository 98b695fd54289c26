#!/usr/bin/env bash
# The peer leak suite (tests/peer/): every case of tests/peer/cases.tsv is built and run under
#   memshim   `memshim check` with its defaults (exit 1 = leak),
#   lsan      the program built with gcc -fsanitize=leak, default LSAN_OPTIONS (exit 23 = leak),
#   valgrind  memcheck --leak-check=full --errors-for-leak-kinds=definite (exit 99 = leak),
# and one row per case plus a summary table are printed, every figure measured in this run:
# leaks caught, the right function named first, false alarms, silent passes (exit 0 without a
# verdict), runs without a verdict, program deaths (signal, SIGPIPE 141, timeout) and the tools'
# wall time. LSan and valgrind run the C and C++ cases only: a Python interpreter under them
# reports the interpreter's own lifetime allocations, not the script's (those rows say n/a).
#
# Usage: scripts/bench-leaks.sh [--memshim-only] [--cases REGEX] [--assert] [--keep DIR]
#   --memshim-only  run memshim check only (no LSan, no valgrind; what the ctest entry does)
#   --cases REGEX   only the cases whose name matches REGEX (grep -E)
#   --assert        exit 1 when memshim misses a leak (one LSan caught, when LSan ran; every
#                   expected leak with --memshim-only), names the wrong function first, or gives a
#                   false alarm, a silent pass or a program death
#   --keep DIR      keep every log and memshim report under DIR (default: a temporary directory)
set -euo pipefail
# set -e ends the run at the first failing command; say which, so a half table is never silent
trap 'echo "bench-leaks: stopped at line $LINENO: $BASH_COMMAND (status $?)" >&2' ERR
cd "$(dirname "$(realpath "$0")")/.."
. scripts/lib/deps.sh
. scripts/lib/build.sh

MEMSHIM_ONLY=0 ASSERT=0 CASES_RE='' KEEP=''
while [ $# -gt 0 ]; do
  case $1 in
    --memshim-only) MEMSHIM_ONLY=1 ;;
    --assert) ASSERT=1 ;;
    --cases) CASES_RE=${2:?--cases needs a regex}; shift ;;
    --keep) KEEP=${2:?--keep needs a directory}; shift ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-leaks: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# Deps are installed only when something is missing (needs root or sudo; the ctest run has them).
if [ "$MEMSHIM_ONLY" -eq 1 ]; then
  ms_install_deps peer_memshim
else
  ms_install_deps peer_memshim peer_peers
fi

BUILD_DIR=${BUILD_DIR:-build}
if [ ! -x "$BUILD_DIR/memshim" ] || [ ! -f "$BUILD_DIR/libmemshim.so" ]; then
  ms_build "$BUILD_DIR"
fi
CLI=$(realpath "$BUILD_DIR/memshim")
export MEMSHIM_LIBRARY_PATH
MEMSHIM_LIBRARY_PATH=$(realpath "$BUILD_DIR/libmemshim.so")
# The system interpreter, as the integration tests use: a pyenv shim is a shell script that would
# be profiled too.
PYTHON=${PYTHON:-/usr/bin/python3}
PEER=tests/peer
# A case that hangs must not hang the suite; valgrind is 20-50x slower on CPU-bound code.
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
VG_TIMEOUT=${VG_TIMEOUT:-120}
# The same base flags as tests/integration/progs: the compiler must not elide the allocations.
BASE_FLAGS=(-g -fno-omit-frame-pointer -fno-builtin)

if [ -n "$KEEP" ]; then
  mkdir -p "$KEEP"
  W=$(realpath "$KEEP")
else
  W=$(mktemp -d "${TMPDIR:-/tmp}/memshim-peer.XXXXXX")
  trap 'rm -rf "$W"' EXIT
fi
mkdir -p "$W/bin" "$W/log" "$W/reports"

TOOLS=(memshim)
[ "$MEMSHIM_ONLY" -eq 1 ] || TOOLS+=(lsan valgrind)

# ---- building ----

# build NAME SOURCE FLAGS: the plain binary bin/NAME and, unless memshim-only, bin/NAME.lsan.
build_case() {
  local name=$1 src=$2 flags=$3 cc opt=(-O1) extra=()
  case $src in *.cc | *.cpp) cc=g++ ;; *) cc=gcc ;; esac
  [ "$flags" = - ] || read -r -a extra <<<"$flags"
  # a case that sets its own -O level (asm that addresses the frame) keeps it
  case " $flags " in *" -O"*) opt=() ;; esac
  "$cc" "${opt[@]}" "${BASE_FLAGS[@]}" "${extra[@]}" -o "$W/bin/$name" "$PEER/$src" -lpthread
  [ "$MEMSHIM_ONLY" -eq 1 ] ||
    "$cc" "${opt[@]}" "${BASE_FLAGS[@]}" "${extra[@]}" -fsanitize=leak -o "$W/bin/$name.lsan" "$PEER/$src" -lpthread
}

# ---- running ----

# timed_run LOG TIMEOUT cmd...: run with stdout+stderr in LOG; sets RC and SECS. A run that ends
# with 124/137 from timeout(1) is reported as a timeout, not as the program's status.
timed_run() {
  local log=$1 limit=$2; shift 2
  local t0 t1
  t0=$(date +%s.%N)
  RC=0
  timeout -k 5 "$limit" "$@" </dev/null >"$log" 2>&1 || RC=$?
  t1=$(date +%s.%N)
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')
}

# Verdicts: leak | clean | silent (exit 0 without a verdict) | noverdict (said it could not
# judge) | death (signal, exit 141, timeout) | fail (the program or the tool failed otherwise).
memshim_verdict() {
  local rc=$1 log=$2
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || [ "$rc" -ge 128 ]; then echo death
  elif grep -q 'NO VERDICT' "$log"; then echo noverdict
  elif [ "$rc" -eq 1 ] && grep -q 'FAIL' "$log"; then echo leak
  elif [ "$rc" -eq 0 ] && grep -q '^memshim check: PASS$' "$log"; then echo clean # a judgement passed
  elif [ "$rc" -eq 0 ]; then echo silent
  else echo fail
  fi
}

lsan_verdict() {
  local rc=$1 log=$2
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || [ "$rc" -ge 128 ]; then echo death
  elif grep -q 'LeakSanitizer has encountered a fatal error' "$log"; then echo noverdict
  elif [ "$rc" -eq 23 ]; then echo leak
  elif [ "$rc" -eq 0 ]; then echo clean
  else echo fail
  fi
}

valgrind_verdict() {
  local rc=$1 log=$2
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || [ "$rc" -ge 128 ]; then echo death
  elif [ "$rc" -eq 99 ]; then echo leak
  elif [ "$rc" -eq 0 ]; then echo clean
  else echo fail
  fi
}

# The first site each tool names, as one line of text.
#  memshim: the first "  +SIZE  function (module+0xoff)" line (the growing sites, or any later
#           section printed the same way), module+offset dropped: a path may contain any word.
#  lsan:    the first frame of the first leak record that is not the allocator itself.
#  valgrind: the same, in the first "definitely lost" record as printed.
ALLOC_FRAMES='^(__interceptor_|___interceptor_|__wrap_|malloc|calloc|realloc|reallocarray|valloc|pvalloc|memalign|aligned_alloc|posix_memalign|operator new|operator delete|__libc_|__lsan)'
first_site_memshim() {
  awk '/^  \+[0-9]/ { sub(/^  \+[^ ]+ +/, ""); sub(/ \([^()]*\+0x[0-9a-fA-F]+\)$/, ""); print; exit }' "$1"
}
first_site_lsan() {
  awk -v skip="$ALLOC_FRAMES" '
    /^(Direct|Indirect) leak of/ { inrec = 1; next }
    inrec && /^ +#[0-9]+ 0x[0-9a-f]+ in / {
      f = $0; sub(/^ +#[0-9]+ 0x[0-9a-f]+ in /, "", f); sub(/ [^ ]*(\/|\()[^ ]*$/, "", f)
      if (f !~ skip) { print f; exit }
    }'  "$1"
}
first_site_valgrind() {
  awk -v skip="$ALLOC_FRAMES" '
    /definitely lost in loss record/ { inrec = 1; next }
    inrec && /^==[0-9]+== +(at|by) 0x[0-9A-F]+: / {
      f = $0; sub(/^==[0-9]+== +(at|by) 0x[0-9A-F]+: /, "", f); sub(/ \([^()]*\)$/, "", f)
      if (f !~ skip) { print f; exit }
    }' "$1"
}

# named_ok SITE REGEX: SITE names the expected function as a whole word
named_ok() { printf '%s\n' "$1" | grep -Eq "(^|[^A-Za-z0-9_])($2)([^A-Za-z0-9_]|$)"; }

# run_tool TOOL NAME SRC ARGS...: one run; prints "verdict<TAB>seconds<TAB>first site"
run_tool() {
  local tool=$1 name=$2 src=$3; shift 3
  local log="$W/log/$name.$tool.log" cmd=() v site
  case $src in *.py) cmd=("$PYTHON" "$PEER/$src") ;; *) cmd=("$W/bin/$name") ;; esac
  case $tool in
    memshim)
      timed_run "$log" "$RUN_TIMEOUT" "$CLI" check --report "$W/reports/$name" -- "${cmd[@]}" "$@"
      v=$(memshim_verdict "$RC" "$log"); site=$(first_site_memshim "$log") ;;
    lsan)
      timed_run "$log" "$RUN_TIMEOUT" env LSAN_OPTIONS=exitcode=23 "$W/bin/$name.lsan" "$@"
      v=$(lsan_verdict "$RC" "$log"); site=$(first_site_lsan "$log") ;;
    valgrind)
      timed_run "$log" "$VG_TIMEOUT" valgrind --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --error-exitcode=99 --trace-children=no -q "${cmd[@]}" "$@"
      v=$(valgrind_verdict "$RC" "$log"); site=$(first_site_valgrind "$log") ;;
  esac
  printf '%s\t%s\t%s\t%s\n' "$v" "$SECS" "$RC" "$site"
}

# ---- the suite ----

declare -A N_LEAK N_CLEAN CAUGHT NAMED ALARM SILENT NOVERD DEATH WALL
for t in "${TOOLS[@]}" memshim_native; do
  N_LEAK[$t]=0 N_CLEAN[$t]=0 CAUGHT[$t]=0 NAMED[$t]=0 ALARM[$t]=0 SILENT[$t]=0 NOVERD[$t]=0 DEATH[$t]=0 WALL[$t]=0
done
PROBLEMS=()

# tally TOOL EXPECTED VERDICT SITE_OK SECS
tally() {
  local t=$1 exp=$2 v=$3 ok=$4 secs=$5
  WALL[$t]=$(awk -v a="${WALL[$t]}" -v b="$secs" 'BEGIN{printf "%.2f", a + b}')
  if [ "$exp" = leak ]; then
    N_LEAK[$t]=$((N_LEAK[$t] + 1))
    [ "$v" = leak ] && CAUGHT[$t]=$((CAUGHT[$t] + 1))
    [ "$ok" = yes ] && NAMED[$t]=$((NAMED[$t] + 1))
  else
    N_CLEAN[$t]=$((N_CLEAN[$t] + 1))
    [ "$v" = leak ] && ALARM[$t]=$((ALARM[$t] + 1))
  fi
  case $v in
    silent) SILENT[$t]=$((SILENT[$t] + 1)) ;;
    noverdict) NOVERD[$t]=$((NOVERD[$t] + 1)) ;;
    death) DEATH[$t]=$((DEATH[$t] + 1)) ;;
  esac
  return 0
}

# cell VERDICT SITE_OK: the per-case column text
cell() {
  case $2 in yes) echo "$1 (fn ok)" ;; no) echo "$1 (fn WRONG)" ;; *) echo "$1" ;; esac
}

printf '%-40s %-5s %-7s | %-22s | %-22s | %-22s\n' case want kind memshim lsan valgrind
total=0
while IFS=$'\t' read -r name src flags args exp fn kind; do
  case $name in '' | '#'*) continue ;; esac
  if [ -n "$CASES_RE" ] && ! printf '%s\n' "$name" | grep -Eq -- "$CASES_RE"; then continue; fi
  total=$((total + 1))
  native=1
  case $src in *.py) native=0 ;; *) build_case "$name" "$src" "$flags" ;; esac
  argv=()
  [ "$args" = - ] || read -r -a argv <<<"$args"
  declare -A V=() OKS=()
  for t in "${TOOLS[@]}"; do
    if [ "$t" != memshim ] && [ "$native" -eq 0 ]; then V[$t]=n/a; OKS[$t]=-; continue; fi
    IFS=$'\t' read -r v secs rc site < <(run_tool "$t" "$name" "$src" "${argv[@]}")
    ok=-
    if [ "$exp" = leak ] && [ "$v" = leak ]; then
      if [ -n "$site" ] && named_ok "$site" "$fn"; then ok=yes; else ok=no; fi
    fi
    V[$t]=$v OKS[$t]=$ok
    tally "$t" "$exp" "$v" "$ok" "$secs"
    [ "$t" = memshim ] && [ "$native" -eq 1 ] && tally memshim_native "$exp" "$v" "$ok" "$secs"
    [ "$v" = fail ] && echo "  note: $name under $t: exit $rc without a verdict (log: $W/log/$name.$t.log)" >&2
  done
  lsan_col=n/a vg_col=n/a
  if [ "$MEMSHIM_ONLY" -eq 0 ]; then
    lsan_col=$(cell "${V[lsan]}" "${OKS[lsan]}")
    vg_col=$(cell "${V[valgrind]}" "${OKS[valgrind]}")
  fi
  printf '%-40s %-5s %-7s | %-22s | %-22s | %-22s\n' "$name" "$exp" "$kind" \
    "$(cell "${V[memshim]}" "${OKS[memshim]}")" "$lsan_col" "$vg_col"
  # --assert: what memshim must do on this case
  m=${V[memshim]}
  if [ "$exp" = leak ]; then
    lsan_caught=1
    [ "$MEMSHIM_ONLY" -eq 0 ] && [ "${V[lsan]}" != leak ] && [ "${V[lsan]}" != n/a ] && lsan_caught=0
    [ "$m" != leak ] && [ "$lsan_caught" -eq 1 ] && PROBLEMS+=("$name: leak missed (memshim: $m)")
    [ "$m" = leak ] && [ "${OKS[memshim]}" = no ] && PROBLEMS+=("$name: wrong function named first (want $fn)")
  elif [ "$m" = leak ]; then
    PROBLEMS+=("$name: false alarm")
  fi
  case $m in
    silent) PROBLEMS+=("$name: silent pass") ;;
    death) PROBLEMS+=("$name: program death") ;;
  esac
  unset V OKS
done <"$PEER/cases.tsv"

[ "$total" -gt 0 ] || { echo "bench-leaks: no case matches '$CASES_RE'" >&2; exit 2; }

echo
printf '%-22s | %-13s | %-17s | %-14s | %-13s | %-10s | %-14s | %s\n' tool "leaks caught" \
  "right fn first" "false alarms" "silent passes" "no verdict" "program deaths" "wall time"
row() {
  local t=$1 label=$2
  [ $((N_LEAK[$t] + N_CLEAN[$t])) -gt 0 ] || return 0
  printf '%-22s | %-13s | %-17s | %-14s | %-13s | %-10s | %-14s | %ss\n' "$label" \
    "${CAUGHT[$t]} of ${N_LEAK[$t]}" "${NAMED[$t]} of ${CAUGHT[$t]} caught" "${ALARM[$t]} of ${N_CLEAN[$t]}" \
    "${SILENT[$t]}" "${NOVERD[$t]}" "${DEATH[$t]}" "${WALL[$t]}"
}
row memshim "memshim check"
if [ "$MEMSHIM_ONLY" -eq 0 ]; then
  row memshim_native "memshim (C/C++ only)"
  row lsan "LeakSanitizer"
  row valgrind "valgrind memcheck"
fi
echo "($total cases; logs and reports: $W$([ -n "$KEEP" ] || echo ', removed at exit'))"

if [ "$ASSERT" -eq 1 ] && [ ${#PROBLEMS[@]} -gt 0 ]; then
  echo
  echo "bench-leaks --assert: ${#PROBLEMS[@]} problem(s):" >&2
  printf '  %s\n' "${PROBLEMS[@]}" >&2
  exit 1
fi
exit 0
