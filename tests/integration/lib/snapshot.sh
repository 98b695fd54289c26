# Sourced (after common.sh) by the cli_snapshot* tests: waiting on events, and the processes a
# test starts, ended by their ids at exit.
MS_PIDS=()
ms_cleanup() {
  local p
  for p in "${MS_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${MS_PIDS[@]}"; do
    for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$MS_TMP"
}
trap ms_cleanup EXIT

# ms_wait_for SECONDS WHAT CMD...: run CMD every 50 ms until it succeeds; fail after SECONDS.
ms_wait_for() {
  local secs=$1 what=$2
  shift 2
  local end=$((SECONDS + secs))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || ms_fail "waited ${secs}s for $what"
    sleep 0.05
  done
}

# ms_sig_caught PID SIGNO: the signal's bit in SigCgt of /proc/PID/status.
ms_sig_caught() {
  local mask
  mask=$(awk '$1 == "SigCgt:" { print $2 }' "/proc/$1/status" 2>/dev/null) && [ -n "$mask" ] &&
    (( (16#$mask >> ($2 - 1)) & 1 ))
}

# ms_alive PID: running, not a zombie.
ms_alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) && [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# ms_report_pid FILE.json: the pid a JSON report names, and its reason ("pid reason").
ms_report_pid() {
  "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["process"]["pid"], d["reason"])' "$1"
}
