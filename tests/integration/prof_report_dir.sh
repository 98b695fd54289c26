#!/usr/bin/env bash
# Issue 22: with MEMSHIM_PROFILE=1 and no MEMSHIM_REPORT_PATH, reports go to one private
# directory per user, ${TMPDIR:-/tmp}/memshim-<uid>/, whatever the working directory:
# - a profiled process in a working directory it cannot write prints nothing on stderr, leaves
#   nothing in that directory, and its report is in $TMPDIR/memshim-<uid>/, a directory of mode
#   0700 owned by that uid (and TMPDIR unset or relative means /tmp: `memshim config` shows the
#   default template);
# - a symlink planted at $TMPDIR/memshim-<uid> (to a directory the user could write) and a
#   directory there owned by someone else are refused: nothing written through them, nothing on
#   stderr, the failure counted in memshim_report_write_errors_total of the metrics file and said
#   at MEMSHIM_VERBOSE=1;
# - memshim snapshot PID finds the reports of a process that uses the default;
# - the docs state the default.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/snapshot.sh"
export -n MS_TEST_LIB MS_TEST_CLI
[ "$(id -u)" -eq 0 ] || ms_skip "needs root (runs the profiled process as user 65534)"
command -v setpriv >/dev/null || ms_skip "setpriv (util-linux) is not installed"
U=65534
chmod 755 "$MS_TMP"
mkdir -m 755 "$MS_TMP/cwd" # root's: user 65534 cannot write here, as in a read-only root

# as_user TMPDIR VAR=value... -- CMD...: run CMD as user 65534 in $MS_TMP/cwd, with the preload.
as_user() {
  local tmp=$1
  shift
  (cd "$MS_TMP/cwd" && setpriv --reuid=$U --regid=$U --clear-groups \
    env -u MEMSHIM_REPORT_PATH TMPDIR="$tmp" LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 "$@")
}

# --- the default directory, created private ---
mkdir -m 1777 "$MS_TMP/t1"
as_user "$MS_TMP/t1" "$PROGS/prof_known" 5000 >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "prof_known failed: $(cat "$MS_TMP/err")"
[ ! -s "$MS_TMP/err" ] || ms_fail "stderr not empty: $(cat "$MS_TMP/err")"
[ -z "$(ls -A "$MS_TMP/cwd")" ] || ms_fail "files in the working directory: $(ls -A "$MS_TMP/cwd")"
dir=$MS_TMP/t1/memshim-$U
ls "$dir"/memshim.*.txt >/dev/null 2>&1 || ms_fail "no report in $dir: $(ls -la "$MS_TMP/t1" "$dir" 2>&1)"
[ "$(stat -c '%a %u %F' "$dir")" = "700 $U directory" ] || ms_fail "default directory: $(stat -c '%a %u %F' "$dir")"
[ "$(stat -c '%a %u' "$dir"/memshim.*.txt)" = "600 $U" ] || ms_fail "report file: $(stat -c '%a %u' "$dir"/memshim.*.txt)"
ms_pass "read-only cwd: quiet, report in \$TMPDIR/memshim-$U (0700, ours)"

# a relative TMPDIR is not a directory of ours to trust: /tmp, as the template says
[ "$(env -u MEMSHIM_REPORT_PATH "$MS_TEST_CLI" config | awk '$1 == "MEMSHIM_REPORT_PATH" { print $3 }')" = "%T/memshim-%u/memshim.%p" ] ||
  ms_fail "memshim config: $(env -u MEMSHIM_REPORT_PATH "$MS_TEST_CLI" config | grep MEMSHIM_REPORT_PATH)"

# --- planted: a symlink, and a directory of another user ---
refused() {
  local what=$1 tmp=$2 victim=$3
  as_user "$tmp" MEMSHIM_METRICS_FILE="$MS_TMP/metrics/$what.prom" "$PROGS/prof_known" 5000 \
    >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "$what: prof_known failed: $(cat "$MS_TMP/err")"
  [ ! -s "$MS_TMP/err" ] || ms_fail "$what: stderr not empty: $(cat "$MS_TMP/err")"
  [ -z "$(ls -A "$victim")" ] || ms_fail "$what: written through: $(ls -A "$victim")"
  local errors
  errors=$(awk '/^memshim_report_write_errors_total/ { print $2 }' "$MS_TMP/metrics/$what.prom")
  [ -n "$errors" ] || ms_fail "$what: no memshim_report_write_errors_total: $(cat "$MS_TMP/metrics/$what.prom")"
  ms_assert_num "$errors" -ge 1 "$what: report_write_errors"
  as_user "$tmp" MEMSHIM_VERBOSE=1 "$PROGS/prof_known" 5000 >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "$what: verbose run failed"
  grep -q "not writing in the directory of .*memshim-$U/memshim" "$MS_TMP/err" ||
    ms_fail "$what: MEMSHIM_VERBOSE=1 does not say it: $(grep -i report "$MS_TMP/err")"
  [ -z "$(ls -A "$victim")" ] || ms_fail "$what: written through: $(ls -A "$victim")"
  ms_pass "$what at \$TMPDIR/memshim-$U: refused, quiet, counted ($errors) in the metrics"
}
mkdir -m 1777 "$MS_TMP/metrics"
mkdir -m 1777 "$MS_TMP/t2"
mkdir -m 700 "$MS_TMP/victim" && chown $U:$U "$MS_TMP/victim" # the user could write there
ln -s "$MS_TMP/victim" "$MS_TMP/t2/memshim-$U"
refused "a symlink" "$MS_TMP/t2" "$MS_TMP/victim"
mkdir -m 1777 "$MS_TMP/t3"
mkdir -m 777 "$MS_TMP/t3/memshim-$U" # root's, open to all
refused "another user's directory" "$MS_TMP/t3" "$MS_TMP/t3/memshim-$U"

# --- memshim snapshot finds the reports in the default directory ---
mkdir -m 1777 "$MS_TMP/t4"
cat >"$MS_TMP/hold.py" <<'PY'
import time
keep = [bytearray(4096) for _ in range(512)]
print("ready", flush=True)
time.sleep(600)
PY
chmod 644 "$MS_TMP/hold.py"
as_user "$MS_TMP/t4" MEMSHIM_REPORT=json "$PYTHON" "$MS_TMP/hold.py" >"$MS_TMP/hold.out" 2>"$MS_TMP/hold.err" &
MS_PIDS+=($!)
ms_wait_for 120 "the held process to start" grep -qs '^ready$' "$MS_TMP/hold.out"
pid=$(pgrep -u $U -f "$MS_TMP/hold.py" | head -1)
[ -n "$pid" ] || ms_fail "no held process"
"$MS_TEST_CLI" snapshot "$pid" >"$MS_TMP/snap" 2>"$MS_TMP/snap.err" || ms_fail "snapshot: $(cat "$MS_TMP/snap.err")"
[ "$(cat "$MS_TMP/snap")" = "$MS_TMP/t4/memshim-$U/memshim.$pid.json" ] || ms_fail "snapshot printed: $(cat "$MS_TMP/snap")"
[ -s "$MS_TMP/t4/memshim-$U/memshim.$pid.json" ] || ms_fail "no report at the path snapshot printed"
ms_pass "memshim snapshot finds the report in the default directory"

# --- a later report says how many files could not be written (JSON, text) ---
# text cannot be created (a file is there), JSON can: each interval report after the first
# carries the count; the test waits for it, then ends the process by its id.
echo "not ours" >"$MS_TMP/pre.txt"
env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json,text MEMSHIM_REPORT_INTERVAL=100ms \
  MEMSHIM_REPORT_PATH="$MS_TMP/pre" "$PROGS/prof_known" 2000 300 >/dev/null 2>"$MS_TMP/pre.err" &
MS_PIDS+=($!)
ms_wait_for 120 "a JSON report with report_write_errors" grep -qs '"report_write_errors"' "$MS_TMP/pre.json"
"$PYTHON" -c 'import json, sys; n = json.load(open(sys.argv[1]))["process"]["report_write_errors"]; assert n >= 1, n' \
  "$MS_TMP/pre.json" || ms_fail "report_write_errors: $(cat "$MS_TMP/pre.json" | head -c 400)"
[ "$(cat "$MS_TMP/pre.txt")" = "not ours" ] || ms_fail "the existing text file was overwritten"
"$MS_TEST_CLI" report "$MS_TMP/pre.json" --format text | grep -q "could not write before this one: [1-9]" ||
  ms_fail "memshim report --format text does not show the count"
ms_pass "report_write_errors in a later JSON report and in its text rendering"

# --- the docs say the default ---
for f in README.md docs/options.md; do
  grep -qF '| `MEMSHIM_REPORT_PATH` | path | `%T/memshim-%u/memshim.%p` |' "$SRC_DIR/$f" || ms_fail "$f: no default row"
done
grep -qF '${TMPDIR:-/tmp}/memshim-<uid>/' "$SRC_DIR/docs/profiling.md" || ms_fail "docs/profiling.md does not say where reports go"
ms_pass "docs state the default"
