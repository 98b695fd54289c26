#!/usr/bin/env bash
# Report triggers and files: the signal report appears while the program runs (and the handler
# only sets a flag: the program keeps running), periodic reports replace their file atomically,
# files are mode 0600, a symlink at the report path is not followed (and the program is not
# hurt), text and collapsed formats are written.
. "$(dirname "$0")/lib/common.sh"

# --- signal report while running (env, not a shell function, so that $! is the program) ---
sig=$(ms_report_signal)
env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_REPORT=json,text,collapsed \
  MEMSHIM_REPORT_PATH="$MS_TMP/sig.%p" "$PROGS/prof_known" 5000 600 >"$MS_TMP/sig.out" &
pid=$!
ms_wait_for 60 grep -q '^live' "$MS_TMP/sig.out" || { kill "$pid"; ms_fail "prof_known did not print its figures in 60 s"; }
[ -e "$MS_TMP/sig.$pid.json" ] && ms_fail "a report exists before the signal"
kill -s "$sig" "$pid"
ms_wait_for 60 test -s "$MS_TMP/sig.$pid.json" || { kill "$pid"; ms_fail "no report 60 s after $sig"; }
kill -0 "$pid" 2>/dev/null || ms_fail "the program died of the report signal"
"$PYTHON" - "$MS_TMP/sig.$pid.json" "$MS_TMP/sig.out" <<'PY' || { kill "$pid"; ms_fail "signal report content"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["reason"] == "signal", d["reason"]
live = int(open(sys.argv[2]).readline().split()[1])
got = sum(s["memory"]["heap"]["live_bytes"] for s in d["sites"] if s["frames"][0]["function"] == "hold_blocks")
assert got == live, (got, live)
PY
mode=$(stat -c %a "$MS_TMP/sig.$pid.json")
[ "$mode" = 600 ] || ms_fail "report mode is $mode, not 600"
grep -q 'hold_blocks' "$MS_TMP/sig.$pid.txt" || ms_fail "text report lacks the site"
grep -q ';hold_blocks [0-9]*$' "$MS_TMP/sig.$pid.collapsed" || ms_fail "collapsed report lacks 'main;...;hold_blocks BYTES'"
# a second signal replaces the file (rename over it), then exit replaces it again
# (collapsed is the last format written: once it is replaced, no temporary file is open)
ino1=$(stat -c %i "$MS_TMP/sig.$pid.json")
inoc=$(stat -c %i "$MS_TMP/sig.$pid.collapsed")
kill -s "$sig" "$pid"
replaced() { [ "$(stat -c %i "$MS_TMP/sig.$pid.json")" != "$ino1" ] && [ "$(stat -c %i "$MS_TMP/sig.$pid.collapsed")" != "$inoc" ]; }
ms_wait_for 60 replaced || { kill "$pid"; ms_fail "second signal did not replace the reports in 60 s"; }
kill -TERM "$pid"; wait "$pid" || true
ls "$MS_TMP"/sig.*.tmp.* 2>/dev/null && ms_fail "temporary files left behind"
ms_pass "the default report signal ($sig) writes a report while the program runs (0600, replaced atomically on the next one)"

# --- periodic reports ---
env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_INTERVAL=200ms \
  MEMSHIM_REPORT_PATH="$MS_TMP/per.%p" "$PROGS/prof_known" 2000 600 >/dev/null &
pid=$!
# the program waits until SIGTERM, then exits normally: the exit report follows the periodic one
ms_wait_for 60 test -s "$MS_TMP/per.$pid.json" || { kill "$pid"; ms_fail "no periodic report after 60 s"; }
"$PYTHON" -c "import json,sys; assert json.load(open(sys.argv[1]))['reason']=='interval'" "$MS_TMP/per.$pid.json" ||
  { kill "$pid"; ms_fail "periodic report reason"; }
kill -TERM "$pid"
wait "$pid" || ms_fail "prof_known did not exit 0 on SIGTERM"
"$PYTHON" -c "import json,sys; assert json.load(open(sys.argv[1]))['reason']=='exit'" "$MS_TMP/per.$pid.json" ||
  ms_fail "exit report did not replace the periodic one"
ms_pass "MEMSHIM_REPORT_INTERVAL writes periodic reports; the exit report replaces them"

# --- a symlink at the report path is not followed ---
echo "precious" >"$MS_TMP/victim"
ln -s "$MS_TMP/victim" "$MS_TMP/fixed.txt"
rc=0
ms_preload MEMSHIM_PROFILE=1 MEMSHIM_REPORT=text MEMSHIM_REPORT_PATH="$MS_TMP/fixed" \
  "$PROGS/prof_known" 1000 >/dev/null 2>"$MS_TMP/sym.err" || rc=$?
ms_assert_num "$rc" -eq 0 "exit status with a symlink at the report path"
[ "$(cat "$MS_TMP/victim")" = precious ] || ms_fail "the symlink target was written"
[ -L "$MS_TMP/fixed.txt" ] || ms_fail "the symlink was replaced"
grep -q 'cannot create .*fixed.txt' "$MS_TMP/sym.err" || ms_fail "the failure was not logged"
ms_pass "a symlink at the report path is not followed; the failure is logged, the program unharmed"

# --- an unwritable directory: logged, never fatal ---
rc=0
ms_preload MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH=/nonexistent/dir/r \
  "$PROGS/prof_known" 1000 >/dev/null 2>"$MS_TMP/nodir.err" || rc=$?
ms_assert_num "$rc" -eq 0 "exit status when the report cannot be written"
grep -q 'cannot write in /nonexistent/dir (No such file or directory)' "$MS_TMP/nodir.err" || ms_fail "unwritable path not logged: $(cat "$MS_TMP/nodir.err")"
[ "$(grep -c memshim "$MS_TMP/nodir.err")" -eq 1 ] || ms_fail "more than one line for one unwritable directory: $(cat "$MS_TMP/nodir.err")"
ms_pass "an unwritable report path is logged and not fatal"

# --- the timeline: process series and the policy's events (a memshim_trim purge) ---
# hold_trim VAR=value...: 19 MiB held until the timeline shows it in 3 points, freed,
# memshim_trim, then held on until 3 more points (not fixed 0.3 s pauses: under load the 50 ms
# timeline job may not run within them). The timeline is read from reports on demand.
hold_trim() {
  ms_preload MEMSHIM_SNAPSHOT_INTERVAL=50ms "$@" "$PYTHON" -c '
import ctypes, json, os, sys, time
lib = ctypes.CDLL(None)
probe = [0]
def points():
    probe[0] += 1
    p = "%s/probe.%d.%d.json" % (sys.argv[1], os.getpid(), probe[0])
    if lib.memshim_report_json(p.encode()) != 0:
        sys.exit("memshim_report_json failed")
    with open(p) as f:
        pts = json.load(f)["timeline"]["points"]
    os.unlink(p)
    return pts
def wait(what, cond):
    end = time.monotonic() + 60
    while not cond(points()):
        if time.monotonic() > end:
            sys.exit("timed out waiting for " + what)
        time.sleep(0.05)
b = [bytearray(1 << 16) for i in range(300)]
wait("3 timeline points with the 19 MiB held", lambda pts: sum(p["heap_live"] > 300 * 65536 for p in pts) >= 3)
del b
lib.memshim_trim()
n = len(points())
wait("3 timeline points after the trim", lambda pts: len(pts) >= n + 3)' "$MS_TMP"
}
hold_trim MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/tl"
"$PYTHON" - "$MS_TMP/tl.json" <<'PY' || ms_fail "timeline content"
import json, sys
t = json.load(open(sys.argv[1]))["timeline"]
assert t["interval_ms"] == 50
pts = t["points"]
assert len(pts) >= 5, len(pts)
assert all(a["t_ms"] < b["t_ms"] for a, b in zip(pts, pts[1:]))
assert max(p["heap_live"] for p in pts) > 300 * 65536, "the 19 MiB held for 0.3 s is not in the series"
assert all(p["rss"] > 0 for p in pts)
ev = [e for e in t["events"] if e["kind"] == "purge" and e["trigger"] == "memshim_trim"]
assert ev and pts[0]["t_ms"] <= ev[0]["t_ms"] <= pts[-1]["t_ms"] + 100, (ev, pts[0], pts[-1])
PY
ms_pass "timeline: monotonic points with RSS and heap live, the memshim_trim purge event"

# --- without profiling, MEMSHIM_REPORT alone: the timeline and the policy's events, no sites ---
hold_trim MEMSHIM_REPORT=json,html MEMSHIM_REPORT_PATH="$MS_TMP/np"
"$PYTHON" - "$MS_TMP/np.json" <<'PY' || ms_fail "report without profiling"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["reason"] == "exit" and d["sites"] == [] and "sample_bytes" not in d["profile"], d["profile"]
pts = d["timeline"]["points"]
assert len(pts) >= 5 and max(p["heap_live"] for p in pts) > 300 * 65536, len(pts)
assert any(e["trigger"] == "memshim_trim" for e in d["timeline"]["events"]), d["timeline"]["events"]
assert d["time_ms"] >= pts[-1]["t_ms"], (d["time_ms"], pts[-1])
PY
[ -s "$MS_TMP/np.html" ] || ms_fail "no HTML report without profiling"
ms_pass "MEMSHIM_REPORT without profiling: timeline and events, no call sites"

# --- an unwritable report directory (MEMSHIM_REPORT_PATH relative, the cwd read-only) is said
# once per process tree, not once per process; with the default path (not the cwd: issue 22)
# the same tree prints nothing and writes its reports in $TMPDIR/memshim-65534 ---
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  mkdir -p "$MS_TMP/ro" && chmod 555 "$MS_TMP/ro" && chmod 755 "$MS_TMP"
  mkdir -m 1777 "$MS_TMP/tmp"
  tree() {
    setpriv --reuid=65534 --regid=65534 --clear-groups env -C "$MS_TMP/ro" TMPDIR="$MS_TMP/tmp" LD_PRELOAD="$MS_TEST_LIB" \
      MEMSHIM_PROFILE=1 "$@" \
      bash -c 'for i in 1 2 3; do '"$PYTHON"' -c "x = [bytearray(1 << 20) for _ in range(3)]"; done; /bin/true' \
      >"$MS_TMP/ro.out" 2>"$MS_TMP/ro.err" || ms_fail "programs failed in an unwritable directory: $(cat "$MS_TMP/ro.err")"
  }
  tree MEMSHIM_REPORT_PATH=memshim.%p
  n=$(grep -c 'memshim' "$MS_TMP/ro.err" || true)
  [ "$n" -eq 1 ] || ms_fail "unwritable directory: $n memshim lines for 5 processes, want 1: $(cat "$MS_TMP/ro.err")"
  grep -q "cannot write in .*Permission denied" "$MS_TMP/ro.err" || ms_fail "the line does not say why: $(cat "$MS_TMP/ro.err")"
  tree
  [ ! -s "$MS_TMP/ro.err" ] || ms_fail "default report path in a read-only cwd printed: $(cat "$MS_TMP/ro.err")"
  n=$(ls "$MS_TMP/tmp/memshim-65534"/memshim.*.txt | wc -l)
  # bash execs its last command, /bin/true: four processes reach exit
  ms_assert_num "$n" -eq 4 "reports in the default directory (three Pythons, /bin/true)"
  ms_pass "unwritable report directory: one line for bash, three Pythons and /bin/true; none with the default path"
else
  echo "unwritable directory check needs root (setpriv to an unprivileged user): skipped"
fi
