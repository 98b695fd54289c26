#!/usr/bin/env bash
# Issue 21 item 3: on-demand reports never kill a pre-fork server's workers. gunicorn's workers
# put USR2 (and HUP, QUIT, INT, TERM, TTIN, TTOU, USR1, WINCH) back to SIG_DFL after fork, so
# `kill -USR2 <worker>`, the old default, ended them ("Worker ... was terminated due to signal
# 12") and the profile was lost. Debian's gunicorn with 2 sync workers, preloaded, profiling on:
# - `memshim snapshot <worker>` writes that worker's report (reason "signal", its pid), and the
#   worker lives on: same pid, answering HTTP; `memshim doctor` says loaded and signal caught;
# - a raw `kill -s <default report signal>` to a worker is a report too, not a death;
# - with MEMSHIM_REPORT_SIGNAL=SIGUSR2 (what gunicorn resets), `memshim snapshot` refuses, sends
#   nothing, and the worker lives on;
# - gunicorn's log never says a worker was terminated by a signal.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/snapshot.sh"
export -n MS_TEST_LIB MS_TEST_CLI
GUNICORN=/usr/bin/gunicorn
[ -x "$GUNICORN" ] || ms_skip "Debian's gunicorn is not installed (apt-get install gunicorn)"
/usr/bin/python3 -c 'import flask' 2>/dev/null || ms_skip "python3-flask is not installed"
sig=$(ms_report_signal)
signo=$(kill -l "${sig#SIG}")

cat >"$MS_TMP/app.py" <<'PY'
import os
from flask import Flask
app = Flask(__name__)
KEEP = []
@app.route("/")
def index():
    KEEP.append(bytearray(64 << 10))  # something for the profile
    return str(os.getpid())
PY

# Every pid in $2.. answered GET / on port $1 (any worker may take a request: ask until each has).
cat >"$MS_TMP/ask.py" <<'PY'
import sys, time, urllib.request
port, want, seen = sys.argv[1], set(sys.argv[2:]), set()
deadline = time.monotonic() + 60
while want - seen and time.monotonic() < deadline:
    with urllib.request.urlopen("http://127.0.0.1:%s/" % port, timeout=30) as r:
        seen.add(r.read().decode())
print(" ".join(sorted(seen)))
sys.exit(0 if not want - seen else 1)
PY

# start_gunicorn NAME [VAR=value...]: 2 sync workers on a free port of 127.0.0.1. Sets master,
# workers (after each has reset its signals: SIGABRT caught, which the master never catches) and
# port; the log is $MS_TMP/NAME.log.
start_gunicorn() {
  local name=$1
  shift
  local log="$MS_TMP/$name.log"
  : >"$log"
  env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/$name.%p" "$@" \
    "$GUNICORN" --workers 2 --worker-class sync --bind 127.0.0.1:0 --chdir "$MS_TMP" --log-level info \
    --error-logfile "$log" app:app 2>>"$log" &
  master=$!
  MS_PIDS+=("$master")
  ms_wait_for 120 "gunicorn ($name) to boot 2 workers: $(cat "$log")" \
    eval '[ "$(grep -c "Booting worker with pid" "$log")" -ge 2 ]'
  port=$(sed -n 's/.*Listening at: http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
  [ -n "$port" ] || ms_fail "no port in gunicorn's log: $(cat "$log")"
  workers=$(sed -n 's/.*Booting worker with pid: \([0-9]*\).*/\1/p' "$log" | head -2 | tr '\n' ' ')
  local w
  for w in $workers; do
    MS_PIDS+=("$w")
    ms_wait_for 120 "worker $w to reset its signal handlers" ms_sig_caught "$w" 6
  done
}

no_terminations() {
  ! grep -E "terminated due to signal|was sent (SIG|code)" "$MS_TMP/$1.log" ||
    ms_fail "gunicorn ($1) lost a worker to a signal: $(cat "$MS_TMP/$1.log")"
}

# --- the default report signal ---
start_gunicorn rt
"$PYTHON" "$MS_TMP/ask.py" "$port" $workers >/dev/null || ms_fail "workers $workers did not all answer before"
for w in $workers; do
  ms_sig_caught "$w" 12 && ms_fail "worker $w catches SIGUSR2: gunicorn no longer resets it, the test proves nothing"
  "$MS_TEST_CLI" doctor --json "$w" >"$MS_TMP/doctor.json" || ms_fail "memshim doctor $w: not loaded?"
  "$PYTHON" - "$MS_TMP/doctor.json" <<'PY' || ms_fail "memshim doctor $w: $(cat "$MS_TMP/doctor.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["loaded"] and d["profiling"] and d["report"]["signal_caught"] and d["report"]["snapshot"], d
assert {"name": "MEMSHIM_PROFILE", "value": "1", "status": "ok"} in d["options"], d["options"]
PY
  "$MS_TEST_CLI" snapshot --json -t 120 "$w" >"$MS_TMP/snap.json" || ms_fail "memshim snapshot $w failed"
  file=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["files"][0])' "$MS_TMP/snap.json")
  [ "$file" = "$MS_TMP/rt.$w.json" ] || ms_fail "snapshot printed $file, want $MS_TMP/rt.$w.json"
  [ "$(ms_report_pid "$file")" = "$w signal" ] || ms_fail "report $file: $(ms_report_pid "$file"), want '$w signal'"
  ms_alive "$w" || ms_fail "worker $w died after memshim snapshot: $(cat "$MS_TMP/rt.log")"
done
"$PYTHON" "$MS_TMP/ask.py" "$port" $workers >/dev/null || ms_fail "workers $workers did not all answer after the snapshots"
no_terminations rt
ms_pass "memshim snapshot on gunicorn workers $workers: a report each, both alive and answering, doctor says caught"

# a raw kill of the default signal: a new report (the file replaced), the worker alive
for w in $workers; do
  ino=$(stat -c %i "$MS_TMP/rt.$w.json")
  kill -s "$sig" "$w"
  ms_wait_for 120 "a report from worker $w after kill -s $sig" \
    eval '[ -e "$MS_TMP/rt.$w.json" ] && [ "$(stat -c %i "$MS_TMP/rt.$w.json")" != "$ino" ]'
  ms_alive "$w" || ms_fail "worker $w died of kill -s $sig"
done
"$PYTHON" "$MS_TMP/ask.py" "$port" $workers >/dev/null || ms_fail "workers $workers did not all answer after kill -s $sig"
no_terminations rt
ms_pass "kill -s $sig ($signo) to each worker: a new report, the worker alive and answering"

# --- a report signal the workers reset: refused, nothing sent ---
start_gunicorn usr2 MEMSHIM_REPORT_SIGNAL=SIGUSR2
for w in $workers; do
  rc=0
  "$MS_TEST_CLI" snapshot -t 120 "$w" 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq 1 ] || ms_fail "snapshot of a worker that reset SIGUSR2: status $rc, want 1: $(cat "$MS_TMP/err")"
  grep -q "^memshim snapshot: process $w (.*) does not catch SIGUSR2 .*; no signal sent$" "$MS_TMP/err" ||
    ms_fail "refusal message: $(cat "$MS_TMP/err")"
  "$MS_TEST_CLI" doctor "$w" >"$MS_TMP/doctor.txt" || ms_fail "doctor $w: $(cat "$MS_TMP/doctor.txt")"
  grep -q 'report signal: SIGUSR2 (12), NOT caught' "$MS_TMP/doctor.txt" || ms_fail "doctor $w: $(cat "$MS_TMP/doctor.txt")"
  ms_alive "$w" || ms_fail "worker $w died although the snapshot was refused"
done
"$PYTHON" "$MS_TMP/ask.py" "$port" $workers >/dev/null || ms_fail "workers $workers did not all answer after the refusals"
[ -z "$(ls "$MS_TMP"/usr2.*.json 2>/dev/null)" ] || ms_fail "a report appeared although nothing was sent"
no_terminations usr2
ms_pass "MEMSHIM_REPORT_SIGNAL=SIGUSR2, reset by gunicorn's workers: snapshot refused with the reason, workers alive"
