#!/usr/bin/env bash
# ctest-label: stress
# ctest-timeout: 3600
# The stress tier: progs/stress_mix (threads allocating through every entry point and mapping
# files, threads ending and starting, purges, a main thread forking in bursts) under five
# configurations, for MEMSHIM_STRESS_SECONDS in all (default 240, split evenly). Each run must end
# within its share + 120 s (else a watchdog prints every task's state and kills it: a hang), exit 0
# with every child reaped with status 0, heap.live back near its start and no descriptor leaked;
# the reports and metrics files it wrote must parse. Configurations:
#   defaults    no option set
#   profile     MEMSHIM_PROFILE=1 (sampled), JSON + text reports on the report signal, which the
#               test sends every half second (no interval reports here: one written a moment
#               after a signal's replaced it before the test looked, under CI's load)
#   exact       MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1, JSON reports on the signal
#   purge       MEMSHIM_RSS_SOFT_LIMIT and MEMSHIM_MMAP_RESIDENT_MAX far under what the program
#               holds (the limit must be crossed, mappings dropped), metrics file every 100 ms
#   glibc_all   MEMSHIM_BACKEND=glibc with sampled profiling, JSON reports every second, the soft
#               limit and the metrics file
# MEMSHIM_STRESS_THREADS (default 4) sets the workers running at a time.
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI # ctest's paths, not options for the library

budget=${MEMSHIM_STRESS_SECONDS:-240}
threads=${MEMSHIM_STRESS_THREADS:-4}
# The test's own settings, not options for the library (it names unknown MEMSHIM_* variables).
export -n MEMSHIM_STRESS_SECONDS MEMSHIM_STRESS_THREADS
[[ $budget =~ ^[0-9]+$ && $budget -ge 5 && $budget -le 2400 ]] ||
  ms_fail "MEMSHIM_STRESS_SECONDS=$budget: want whole seconds, 5 to 2400 (with 120 s of watchdog grace per configuration, under ctest's 3600 s limit)"
[[ $threads =~ ^[0-9]+$ && $threads -ge 1 ]] || ms_fail "MEMSHIM_STRESS_THREADS=$threads: want a positive count"
configs=(defaults profile exact purge glibc_all)
share=$((budget / ${#configs[@]}))
[ "$share" -ge 1 ] || share=1
sig=$(ms_report_signal)

# Every process of group $1 with each task's name, state, wait channel, syscall and kernel stack.
stress_dump() {
  local pgid=$1 p t
  for p in $(ps -e -o pid=,pgid= | awk -v g="$pgid" '$2 == g {print $1}'); do
    echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
    for t in /proc/"$p"/task/*; do
      echo "  task ${t##*/} $(cat "$t/comm" 2>/dev/null) state=$(awk '{print $3}' "$t/stat" 2>/dev/null)" \
        "wchan=$(cat "$t/wchan" 2>/dev/null) syscall=[$(cat "$t/syscall" 2>/dev/null)]"
      sed 's/^/      /' "$t/stack" 2>/dev/null || true
    done
  done
}

# stress_run NAME SIGNAL(yes/no) VAR=value...: one run of stress_mix for $share seconds.
stress_run() {
  local name=$1 signal=$2
  shift 2
  local dir=$MS_TMP/$name out=$MS_TMP/$name.out
  mkdir -p "$dir/files"
  # setsid: the run is its own process group, children included, for the watchdog's dump and kill.
  # %t too: pids wrap within a run on a busy host, and a report file is never overwritten.
  setsid env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_REPORT_PATH="$dir/r.%p.%t" "$@" \
    "$PROGS/stress_mix" "$share" "$threads" "$dir/files" >"$out" 2>&1 &
  local pid=$! limit=$((share + 120))
  (
    start=$SECONDS
    while [ $((SECONDS - start)) -lt $limit ]; do sleep 1; done
    echo "WATCHDOG: $name still running after $limit s; its processes:" >&2
    stress_dump "$pid" >&2
    kill -KILL -- "-$pid" 2>/dev/null
  ) &
  local dog=$! kicker=
  if [ "$signal" = yes ]; then
    # The handler exists once the library has started: wait for the program's first line.
    ms_wait_for 120 grep -q '^ok: warm-up done' "$out" || true
    # A report the signal asked for is seen at least once (it may be replaced before a look).
    (while kill -s "$sig" "$pid" 2>/dev/null; do
      sleep 0.5
      cat "$dir"/r."$pid".*.json 2>/dev/null | grep -Eq '"reason": ?"signal"' && touch "$MS_TMP/$name.signal"
    done) &
    kicker=$!
  fi
  local rc=0
  wait "$pid" || rc=$?
  kill "$dog" 2>/dev/null || true
  wait "$dog" 2>/dev/null || true
  if [ -n "$kicker" ]; then
    kill "$kicker" 2>/dev/null || true
    wait "$kicker" 2>/dev/null || true
  fi
  # A child left behind (the parent died first) is a failure too; the group goes either way.
  local left
  left=$(ps -e -o pid=,pgid= | awk -v g="$pid" '$2 == g {print $1}' | tr '\n' ' ')
  kill -KILL -- "-$pid" 2>/dev/null || true
  [ "$rc" -eq 0 ] || ms_fail "$name: exit status $rc: $(tail -n 60 "$out")"
  [ -z "$left" ] || ms_fail "$name: processes left in the run's group: $left"
  cat "$out"
  summary=$(grep '^stress: ' "$out") || ms_fail "$name: no summary line: $(cat "$out")"
  STRESS_PID=$pid STRESS_DIR=$dir STRESS_OUT=$out
  # A share under 10 s may end before the first signal's report is written.
  if [ "$signal" = yes ] && [ "$share" -ge 10 ]; then
    [ -f "$MS_TMP/$name.signal" ] || ms_fail "$name: no report with reason \"signal\" seen in $share s"
    echo "ok: a report written on $sig seen"
  fi
}

# stress_field NAME: the summary's NAME=value.
stress_field() { grep -o " $1=[^ ]*" <<<"$summary" | cut -d= -f2; }

# No memshim line on stderr where nothing should be said (the soft limit's crossing is expected).
stress_quiet() {
  ! grep -v '^\(ok\|stress\): ' "$STRESS_OUT" | grep -q memshim ||
    ms_fail "$1: unexpected memshim lines: $(grep memshim "$STRESS_OUT" | head -5)"
}

# Every JSON report parses and the parent wrote one; every metrics file is Prometheus text.
stress_reports() {
  local name=$1 want_text=$2
  "$PYTHON" - "$STRESS_DIR" "$STRESS_PID" "$want_text" <<'PY' || ms_fail "$name: reports"
import glob, json, os, re, sys
d, pid, want_text = sys.argv[1], sys.argv[2], sys.argv[3] == "yes"
reports = glob.glob(os.path.join(d, "r.*.json"))
for f in reports:
    with open(f) as fh:
        json.load(fh)
parent = glob.glob(os.path.join(d, "r.%s.*.json" % pid))
if len(parent) != 1:
    sys.exit("want one report of the parent %s, have %s (of %d reports)" % (pid, parent, len(reports)))
if want_text and os.path.getsize(parent[0][:-len("json")] + "txt") == 0:
    sys.exit("the parent's text report is empty")
# Only finished files (a writer's temporary one left behind would show here).
leftover = [f for f in os.listdir(d)
            if f != "files" and not re.match(r"(r\.[0-9]+\.[0-9]+\.(json|txt)|m\.[0-9]+\.prom)$", f)]
if leftover:
    sys.exit("unexpected files: %s" % leftover[:5])
print("ok: %d JSON reports parse, the parent's among them" % len(reports))
PY
}

stress_metrics() {
  local name=$1
  "$PYTHON" - "$STRESS_DIR" "$STRESS_PID" <<'PY' || ms_fail "$name: metrics"
import glob, os, re, sys
d, pid = sys.argv[1], sys.argv[2]
files = glob.glob(os.path.join(d, "m.*.prom"))
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEinfNa]+$')
for f in files:
    names = set()
    for line in open(f):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        if not sample.match(line):
            sys.exit("%s: not a Prometheus sample: %r" % (f, line))
        float(line.rsplit(" ", 1)[1])
        names.add(line.split("{")[0].split(" ")[0])
    if "memshim_heap_live_bytes" not in names:
        sys.exit("%s: no memshim_heap_live_bytes" % f)
if not os.path.exists(os.path.join(d, "m.%s.prom" % pid)):
    sys.exit("no metrics file of the parent (have %d)" % len(files))
print("ok: %d metrics files parse, the parent's among them" % len(files))
PY
  if command -v promtool >/dev/null; then
    promtool check metrics <"$STRESS_DIR/m.$STRESS_PID.prom" >"$MS_TMP/promtool.out" 2>&1 ||
      ms_fail "$name: promtool rejects the metrics file: $(cat "$MS_TMP/promtool.out")"
  fi
}

# The live check can fail: a block kept to the end is caught (2 s, outside the budget).
dir=$MS_TMP/leak
mkdir -p "$dir"
if out=$(ms_preload MEMSHIM_REPORT=off timeout 300 "$PROGS/stress_mix" 2 2 "$dir" leak 2>&1); then
  ms_fail "a block kept to the end passed the live check: $out"
fi
grep -q 'FAIL: heap.live' <<<"$out" || ms_fail "the kept block failed otherwise than the live check: $out"
ms_pass "the live check catches a kept block"

echo "stress tier: ${#configs[@]} configurations x $share s, $threads workers"
for name in "${configs[@]}"; do
  case $name in
  defaults)
    stress_run defaults no
    stress_quiet defaults ;;
  profile)
    stress_run profile yes MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json,text
    stress_quiet profile
    stress_reports profile yes ;;
  exact)
    stress_run exact yes MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_REPORT=json
    stress_quiet exact
    stress_reports exact no ;;
  purge)
    stress_run purge no MEMSHIM_RSS_SOFT_LIMIT=16M MEMSHIM_MMAP_RESIDENT_MAX=2M MEMSHIM_PURGE_INTERVAL=20ms \
      MEMSHIM_IDLE_PURGE=100ms MEMSHIM_METRICS_FILE="$MS_TMP/purge/m.%p.prom" MEMSHIM_METRICS_INTERVAL=100ms
    grep -q 'above MEMSHIM_RSS_SOFT_LIMIT' "$STRESS_OUT" || ms_fail "purge: the soft limit was never crossed"
    ms_assert_num "$(stress_field mmap_dropped)" -gt 0 "purge: bytes dropped under the mapping cap"
    stress_metrics purge ;;
  glibc_all)
    stress_run glibc_all no MEMSHIM_BACKEND=glibc MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_INTERVAL=1s \
      MEMSHIM_RSS_SOFT_LIMIT=16M MEMSHIM_METRICS_FILE="$MS_TMP/glibc_all/m.%p.prom" MEMSHIM_METRICS_INTERVAL=100ms
    stress_reports glibc_all no
    stress_metrics glibc_all ;;
  esac
  ms_pass "$name: $(stress_field children) children, $(stress_field workers) workers, $(stress_field ops) operations," \
    "$(stress_field maps) mapping rounds, $(stress_field trims) trims in $(stress_field seconds) s"
done
