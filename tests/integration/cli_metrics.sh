#!/usr/bin/env bash
# MEMSHIM_METRICS_FILE: the exit-time file is valid Prometheus text (promtool check metrics), its
# name expands %p, its numbers are the process's (heap held at exit, RSS), labelled with pid and
# program; a write that cannot succeed never harms the program.
. "$(dirname "$0")/lib/common.sh"
command -v promtool >/dev/null || ms_skip "promtool is not installed (Debian package prometheus)"

# ctest's own MS_TEST_LIB/MS_TEST_CLI would each add an "unknown option" line to the program's stderr.
lib=$MS_TEST_LIB
dir=$MS_TMP/textfile
mkdir -p "$dir"
env LD_PRELOAD="$lib" MEMSHIM_METRICS_FILE="$dir/worker-%p.prom" "$PROGS/cli_hold" 48 0 &
pid=$!
wait $pid || ms_fail "cli_hold failed under the metrics writer"
file=$dir/worker-$pid.prom
[ -f "$file" ] || ms_fail "no metrics file $file (have: $(ls "$dir"))"
[ -z "$(ls "$dir" | grep -v '\.prom$')" ] || ms_fail "temporary file left behind: $(ls "$dir")"
promtool check metrics <"$file" >"$MS_TMP/promtool.out" 2>&1 || { cat "$MS_TMP/promtool.out"; ms_fail "promtool rejects $file"; }
ms_pass "promtool check metrics accepts $file"

value() { awk -v m="$1" '$1 ~ "^"m"[{]" {print $2}' "$file"; }
for m in heap_live_bytes heap_retained_bytes rss_bytes purges_total purge_returned_bytes_total; do
  grep -q "^# TYPE memshim_$m " "$file" || ms_fail "no TYPE line for memshim_$m"
  grep -q "^# HELP memshim_$m " "$file" || ms_fail "no HELP line for memshim_$m"
  [ -n "$(value memshim_$m)" ] || ms_fail "no sample for memshim_$m"
done
grep -q "^memshim_rss_bytes{pid=\"$pid\",program=\"cli_hold\"} " "$file" || ms_fail "labels are not pid=$pid program=cli_hold"
live=$(value memshim_heap_live_bytes)
ms_assert_num "$live" -ge $((48 << 20)) "heap live at exit (48 MiB held)"
ms_assert_num "$live" -le $((52 << 20)) "heap live at exit (48 MiB held)"
rss=$(value memshim_rss_bytes)
ms_assert_num "$rss" -ge $((48 << 20)) "RSS at exit (48 MiB touched)"
grep -qi gpu "$file" && ms_fail "GPU metrics must not be emitted (no GPU tracking exists)"
grep -q '^memshim_mmap_resident_bytes' "$file" && ms_fail "file-mapped residency emitted although nothing measures it (no cap, no soft limit)"
ms_pass "exit-time metrics: heap live $live, RSS $rss, labels pid/program"

# Unwritable target: one memshim: line, the program's own exit status and output are untouched.
out=$(env LD_PRELOAD="$lib" MEMSHIM_METRICS_FILE="$MS_TMP/no/such/dir/m.prom" "$PROGS/cli_hold" 1 0 2>&1) \
  || ms_fail "program failed when the metrics file cannot be written"
[ "$(grep -c 'memshim' <<<"$out")" -eq 1 ] || ms_fail "expected one memshim line, got: $out"
grep -q 'no/such/dir/m.prom' <<<"$out" || ms_fail "the error does not name the path: $out"
ms_pass "unwritable metrics path: one error line, program unharmed"

# A program name that needs escaping in a label value (comm holds a double quote and a backslash).
cp "$PROGS/cli_hold" "$MS_TMP/we\"ir\\d"
env LD_PRELOAD="$lib" MEMSHIM_METRICS_FILE="$dir/odd.prom" "$MS_TMP/we\"ir\\d" 1 0 || ms_fail "odd-named program failed"
grep -qF 'program="we\"ir\\d"' "$dir/odd.prom" || ms_fail "program label not escaped: $(grep rss "$dir/odd.prom")"
promtool check metrics <"$dir/odd.prom" >/dev/null 2>&1 || ms_fail "promtool rejects the escaped labels"
ms_pass "program label escaped: $(grep -o 'program="[^}]*"' "$dir/odd.prom" | head -1)"

# While the program runs: the monitor job rewrites the file every MEMSHIM_METRICS_INTERVAL. The
# program holds its 24 MiB until killed; the test waits for a write that shows them (the first write
# may come before the allocation), then for one more rewrite, each with a generous time-out.
env LD_PRELOAD="$lib" MEMSHIM_METRICS_FILE="$dir/live.prom" MEMSHIM_METRICS_INTERVAL=100ms \
  "$PROGS/cli_hold" 24 600 &
pid=$!
held_written() { # copy first: the writer may replace the file between a check and a copy
  cp "$dir/live.prom" "$MS_TMP/live1.prom" 2>/dev/null || return 1
  [ "$(ms_metric "$MS_TMP/live1.prom" memshim_heap_live_bytes)" -ge $((24 << 20)) ] 2>/dev/null
}
ms_wait_for 60 held_written || { kill $pid; ms_fail "no periodic write showing the 24 MiB held within 60 s (last: $(cat "$MS_TMP/live1.prom" 2>/dev/null | grep heap_live))"; }
stamp=$(stat -c '%i %y' "$dir/live.prom" 2>/dev/null || true)
rewritten() { [ "$(stat -c '%i %y' "$dir/live.prom" 2>/dev/null)" != "$stamp" ]; }
ms_wait_for 60 rewritten || { kill $pid; ms_fail "the metrics file was not rewritten within 60 s at a 100 ms interval"; }
kill -0 $pid 2>/dev/null || ms_fail "cli_hold ended while it should hold its memory"
kill $pid
rc=0; wait $pid || rc=$?
[ $rc -eq 143 ] || ms_fail "cli_hold with periodic metrics ended with status $rc, not 143 (SIGTERM)"
promtool check metrics <"$MS_TMP/live1.prom" >/dev/null 2>&1 || ms_fail "promtool rejects a periodic write"
live=$(ms_metric "$MS_TMP/live1.prom" memshim_heap_live_bytes)
grep -q "pid=\"$pid\"" "$MS_TMP/live1.prom" || ms_fail "periodic write not labelled with pid $pid"
ms_pass "periodic writes while running (heap live $live), rewritten on the interval"

# The alerting rules shipped in examples/ are valid and use the metric names written above.
promtool check rules "$SRC_DIR/examples/prometheus/memshim-alerts.yml" >"$MS_TMP/rules.out" 2>&1 \
  || { cat "$MS_TMP/rules.out"; ms_fail "promtool rejects examples/prometheus/memshim-alerts.yml"; }
for m in $(grep -oE 'memshim_[a-z_]+' "$SRC_DIR/examples/prometheus/memshim-alerts.yml" | sort -u); do
  grep -q "^# TYPE $m " "$file" || ms_fail "alert rules use $m, which the writer does not emit"
done
ms_pass "examples/prometheus/memshim-alerts.yml: valid rules over emitted metrics"

# A forked child (the monitor restarts in it) writes its own file while it runs when the name holds %p.
mkdir -p "$MS_TMP/fork"
env LD_PRELOAD="$lib" MEMSHIM_METRICS_FILE="$MS_TMP/fork/w-%p.prom" MEMSHIM_METRICS_INTERVAL=100ms "$PYTHON" -c '
import os, sys, time
pid = os.fork()
if pid == 0:
    # wait for the event: the file of this child appears while it runs (60 s: cores may be busy)
    mine, end = sys.argv[1] + "/w-%d.prom" % os.getpid(), time.monotonic() + 60
    while not os.path.exists(mine) and time.monotonic() < end:
        time.sleep(0.02)
    os._exit(0 if os.path.exists(mine) else 3)
_, status = os.waitpid(pid, 0)
print(pid)
sys.exit(os.waitstatus_to_exitcode(status))
' "$MS_TMP/fork" >"$MS_TMP/childpid" || ms_fail "the forked child saw no metrics file of its own while running"
child=$(cat "$MS_TMP/childpid")
grep -q "pid=\"$child\"" "$MS_TMP/fork/w-$child.prom" || ms_fail "child's file not labelled with its pid"
ms_pass "forked child writes w-$child.prom while it runs"

# Leak growth: only with the profiler on, and equal to the exit report's leak.growth_bytes (both
# are the profiler's analysis at exit). Without the profiler there is no such metric at all.
grep -q '^memshim_leak' "$file" && ms_fail "leak metrics written without the profiler"
env LD_PRELOAD="$lib" MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=64K MEMSHIM_REPORT=json \
  MEMSHIM_REPORT_PATH="$MS_TMP/leaky.%p" MEMSHIM_METRICS_FILE="$dir/leaky.prom" "$PROGS/prof_leaky" 2.5 >/dev/null \
  || ms_fail "prof_leaky failed"
promtool check metrics <"$dir/leaky.prom" >/dev/null 2>&1 || ms_fail "promtool rejects the file with leak metrics"
got=$(awk '$1 ~ /^memshim_leak_growth_bytes[{]/ {print $2}' "$dir/leaky.prom")
[ -n "$got" ] || ms_fail "no memshim_leak_growth_bytes with the profiler on"
want=$("$PYTHON" -c 'import json,glob,sys; print(json.load(open(glob.glob(sys.argv[1])[0]))["leak"]["growth_bytes"])' "$MS_TMP/leaky.*.json")
[ "$got" = "$want" ] || ms_fail "memshim_leak_growth_bytes $got, the exit report says $want"
ms_assert_num "$got" -gt 0 "leak growth of a program leaking 64 KiB per step"
ms_pass "memshim_leak_growth_bytes $got = the exit report's leak.growth_bytes"

# With a residency cap, file-mapped residency is measured and written: a 32 MiB np.memmap read
# through (read-only, shared) is resident while the program still maps it.
if "$PYTHON" -c 'import numpy' 2>/dev/null; then
  "$PYTHON" -c 'import numpy as np, sys; np.arange(4 << 20, dtype=np.uint64).tofile(sys.argv[1])' "$MS_TMP/data.bin"
  env LD_PRELOAD="$lib" MEMSHIM_MMAP_RESIDENT_MAX=1G MEMSHIM_METRICS_FILE="$dir/mm.prom" MEMSHIM_METRICS_INTERVAL=100ms \
    "$PYTHON" -c '
import numpy as np, sys, time
m = np.memmap(sys.argv[1], dtype=np.uint64, mode="r")
assert int(m.sum()) == (4 << 20) * ((4 << 20) - 1) // 2
# wait for a write that shows the mapping resident (the first may predate the read), 60 s at most
import shutil
end = time.monotonic() + 60
while time.monotonic() < end:
    try:
        shutil.copy(sys.argv[2], sys.argv[3])
        if any(l.startswith("memshim_mmap_resident_bytes{") and int(float(l.split()[1])) >= 30 << 20
               for l in open(sys.argv[3])):
            break
    except FileNotFoundError:
        pass
    time.sleep(0.02)
' "$MS_TMP/data.bin" "$dir/mm.prom" "$MS_TMP/mm-live.prom" || ms_fail "memmap run failed"
  mm=$(awk '$1 ~ /^memshim_mmap_resident_bytes[{]/ {print $2}' "$MS_TMP/mm-live.prom")
  [ -n "$mm" ] || ms_fail "no memshim_mmap_resident_bytes with MEMSHIM_MMAP_RESIDENT_MAX set"
  ms_assert_num "$mm" -ge $((30 << 20)) "file-mapped resident while 32 MiB are mapped and read"
  ms_pass "memshim_mmap_resident_bytes $mm while a 32 MiB np.memmap is read (cap set)"
else
  echo "numpy missing: file-mapped residency not checked" >&2
  ms_skip "numpy is not installed (everything above passed)"
fi
