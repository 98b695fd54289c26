#!/usr/bin/env bash
# memshim snapshot sends a signal only to a process that catches it, and memshim doctor says what
# a running process really loaded:
# - a preloaded, profiling process: snapshot prints its report files (text and JSON, --json too),
#   the process runs on; doctor exits 0, names the mapped library and the options;
# - refused, one "memshim snapshot:" line naming why, exit 1, the process alive and no report
#   file: a process without memshim; one that reset the report signal to SIG_DFL; one that
#   ignores it (inherited SIG_IGN); one with reports off;
# - doctor on a process without memshim exits 1 and points at an LD_PRELOAD entry that names
#   no file (the loader skips it silently);
# - bad arguments: exit 2.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/snapshot.sh"
export -n MS_TEST_LIB MS_TEST_CLI
sig=$(ms_report_signal)
signo=$(kill -l "${sig#SIG}")
sig_re=${sig//+/\\+} # for grep -E

# hold NAME [VAR=value...] -- CMD...: start CMD (a Python that prints "ready" once set up) in the
# background with the given environment; sets pid.
cat >"$MS_TMP/hold.py" <<'PY'
import signal, sys, time
keep = [bytearray(4096) for _ in range(512)]
if len(sys.argv) > 1 and sys.argv[1] == "reset":
    signal.signal(signal.SIGRTMIN + int(sys.argv[2]), signal.SIG_DFL)  # what gunicorn does to USR2
print("ready", flush=True)
time.sleep(600)
PY
hold() {
  local name=$1
  shift
  env "$@" >"$MS_TMP/$name.out" 2>"$MS_TMP/$name.err" &
  pid=$!
  MS_PIDS+=("$pid")
  ms_wait_for 120 "$name to start: $(cat "$MS_TMP/$name.err")" grep -q '^ready$' "$MS_TMP/$name.out"
}
PRE=(LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=text,json)

# --- a preloaded process: snapshot and doctor ---
hold ok "${PRE[@]}" MEMSHIM_REPORT_PATH="$MS_TMP/ok.%p" "$PYTHON" "$MS_TMP/hold.py"
"$MS_TEST_CLI" snapshot "$pid" >"$MS_TMP/snap" 2>"$MS_TMP/snap.err" || ms_fail "snapshot: $(cat "$MS_TMP/snap.err")"
printf '%s\n' "$MS_TMP/ok.$pid.txt" "$MS_TMP/ok.$pid.json" | cmp -s - "$MS_TMP/snap" ||
  ms_fail "snapshot printed: $(cat "$MS_TMP/snap")"
[ "$(ms_report_pid "$MS_TMP/ok.$pid.json")" = "$pid signal" ] || ms_fail "report: $(ms_report_pid "$MS_TMP/ok.$pid.json")"
grep -q "pid $pid" "$MS_TMP/ok.$pid.txt" || ms_fail "text report: $(head -3 "$MS_TMP/ok.$pid.txt")"
# a second one replaces the files (the library renames over them): still waited for and printed
ino=$(stat -c %i "$MS_TMP/ok.$pid.json")
"$MS_TEST_CLI" snapshot --json "$pid" >"$MS_TMP/snap.json" || ms_fail "second snapshot failed"
"$PYTHON" - "$MS_TMP/snap.json" "$pid" "$MS_TMP" "$signo" <<'PY' || ms_fail "snapshot --json: $(cat "$MS_TMP/snap.json")"
import json, sys
d = json.load(open(sys.argv[1]))
pid, tmp, signo = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
assert d["pid"] == pid and d["signal_number"] == signo and d["signal"].startswith("SIGRTMIN+"), d
assert d["files"] == ["%s/ok.%d.txt" % (tmp, pid), "%s/ok.%d.json" % (tmp, pid)], d
PY
[ "$(stat -c %i "$MS_TMP/ok.$pid.json")" != "$ino" ] || ms_fail "the second snapshot returned before the file was replaced"
ms_alive "$pid" || ms_fail "the process died of its snapshots"
ms_pass "snapshot of a preloaded process: its text and JSON reports, twice (--json), the process alive"

"$MS_TEST_CLI" doctor "$pid" >"$MS_TMP/doc" || ms_fail "doctor on a preloaded process: exit $?: $(cat "$MS_TMP/doc")"
lib=$(readlink -f "$MS_TEST_LIB")
grep -qxF "  libmemshim.so: loaded, $lib" "$MS_TMP/doc" && grep -qx '    MEMSHIM_PROFILE=1' "$MS_TMP/doc" &&
  grep -qx '  profiling: on' "$MS_TMP/doc" && grep -q "report signal: $sig ($signo), caught" "$MS_TMP/doc" &&
  grep -qF "  reports: $MS_TMP/ok.$pid.{txt,json} at exit, on $sig" "$MS_TMP/doc" ||
  ms_fail "doctor on a preloaded process: $(cat "$MS_TMP/doc")"
"$MS_TEST_CLI" doctor --json "$pid" >"$MS_TMP/doc.json" || ms_fail "doctor --json: exit $?"
"$PYTHON" - "$MS_TMP/doc.json" "$lib" <<'PY' || ms_fail "doctor --json: $(cat "$MS_TMP/doc.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["loaded"] is True and d["library"] == sys.argv[2] and d["profiling"] is True, d
assert d["report"]["formats"] == ["text", "json"] and d["report"]["snapshot"] is True, d
PY
ms_pass "doctor on a preloaded process: exit 0, $lib, its options, signal caught (text and --json)"

# --- refusals: nothing sent, the process alive, no report ---
refused() { # NAME PID REASON-REGEX
  local rc=0
  "$MS_TEST_CLI" snapshot -t 120 "$2" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq 1 ] || ms_fail "$1: snapshot exit $rc, want 1: $(cat "$MS_TMP/err")"
  [ "$(wc -l <"$MS_TMP/err")" -eq 1 ] && grep -Eq "^memshim snapshot: process $2 \(.*\) $3.*; no signal sent$" "$MS_TMP/err" ||
    ms_fail "$1: refusal: $(cat "$MS_TMP/err")"
  [ ! -s "$MS_TMP/out" ] || ms_fail "$1: printed $(cat "$MS_TMP/out")"
  ms_alive "$2" || ms_fail "$1: the process died"
  [ -z "$(ls "$MS_TMP/$1".* 2>/dev/null | grep -v "\.\(out\|err\)$")" ] || ms_fail "$1: a report was written"
  ms_pass "$1: refused ($(cut -d')' -f2- "$MS_TMP/err" | cut -c2-60)...), the process alive"
}
hold plain MEMSHIM_PROFILE=1 MEMSHIM_REPORT_PATH="$MS_TMP/plain.%p" "$PYTHON" "$MS_TMP/hold.py"
refused plain "$pid" "has no libmemshim.so loaded"
rc=0
"$MS_TEST_CLI" doctor "$pid" >"$MS_TMP/doc" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'libmemshim.so: NOT loaded' "$MS_TMP/doc" || ms_fail "doctor, no memshim: exit $rc: $(cat "$MS_TMP/doc")"
ms_pass "doctor on a process without memshim: exit 1, says not loaded"

hold reset "${PRE[@]}" MEMSHIM_REPORT_PATH="$MS_TMP/reset.%p" "$PYTHON" "$MS_TMP/hold.py" reset $((signo - $(kill -l RTMIN)))
refused reset "$pid" "does not catch $sig_re"

hold ignored "${PRE[@]}" MEMSHIM_REPORT_PATH="$MS_TMP/ignored.%p" bash -c 'trap "" "$0"; exec "$@"' "${sig#SIG}" \
  "$PYTHON" "$MS_TMP/hold.py"
refused ignored "$pid" "ignores $sig_re"

hold off LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_REPORT_PATH="$MS_TMP/off.%p" "$PYTHON" "$MS_TMP/hold.py"
refused off "$pid" "has reports off"

# --- a skipped LD_PRELOAD entry ---
hold skipped LD_PRELOAD="$MS_TMP/nowhere/libmemshim.so" "$PYTHON" "$MS_TMP/hold.py"
rc=0
"$MS_TEST_CLI" doctor "$pid" >"$MS_TMP/doc" || rc=$?
[ "$rc" -eq 1 ] && grep -qF "LD_PRELOAD entry: $MS_TMP/nowhere/libmemshim.so  <- no such file: the loader skipped it" "$MS_TMP/doc" ||
  ms_fail "doctor, skipped preload: exit $rc: $(cat "$MS_TMP/doc")"
"$MS_TEST_CLI" doctor --json "$pid" >"$MS_TMP/doc.json" || true
"$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert not d["loaded"] and d["ld_preload"] == [{"path": sys.argv[2], "exists": False}], d' \
  "$MS_TMP/doc.json" "$MS_TMP/nowhere/libmemshim.so" || ms_fail "doctor --json, skipped preload: $(cat "$MS_TMP/doc.json")"
ms_pass "doctor points at an LD_PRELOAD entry that names no file (exit 1)"

# --- doctor without a pid: the library memshim run would preload ---
MEMSHIM_LIBRARY_PATH="$MS_TEST_LIB" "$MS_TEST_CLI" doctor >"$MS_TMP/doc" || ms_fail "doctor: $(cat "$MS_TMP/doc")"
grep -qF "library: $MS_TEST_LIB" "$MS_TMP/doc" || ms_fail "doctor without pid: $(cat "$MS_TMP/doc")"
rc=0
MEMSHIM_LIBRARY_PATH="$MS_TMP/nowhere/libmemshim.so" "$MS_TEST_CLI" doctor >/dev/null || rc=$?
[ "$rc" -eq 1 ] || ms_fail "doctor without pid, missing library: exit $rc, want 1"
ms_pass "doctor without a pid: the library memshim run uses, exit 1 when it is missing"

# --- bad arguments ---
for args in "" "abc" "-t never 1" "1 2" "--bogus 1"; do
  rc=0
  # shellcheck disable=SC2086
  "$MS_TEST_CLI" snapshot $args >/dev/null 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq 2 ] && [ "$(wc -l <"$MS_TMP/err")" -eq 1 ] && grep -q '^memshim snapshot: ' "$MS_TMP/err" ||
    ms_fail "snapshot $args: exit $rc: $(cat "$MS_TMP/err")"
done
rc=0
"$MS_TEST_CLI" doctor x >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || ms_fail "doctor x: exit $rc, want 2"
ms_pass "bad arguments: one 'memshim snapshot:' line, exit 2"
