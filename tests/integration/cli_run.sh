#!/usr/bin/env bash
# The memshim command: --help/--version, `run` flags and the environment they set, exit codes for
# bad arguments, a missing or unrunnable command and the command's own status, and `config`
# showing where each value came from.
. "$(dirname "$0")/lib/common.sh"
cli=${MS_TEST_CLI:?}
MEMSHIM_LIB_SAVED=$MS_TEST_LIB
export MEMSHIM_LIBRARY_PATH=$MEMSHIM_LIB_SAVED

# expect_status WANT DESCRIPTION cmd...: run, capture stdout/stderr, check the exit status.
expect_status() {
  local want=$1 what=$2 rc=0
  shift 2
  "$@" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq "$want" ] || ms_fail "$what: exit $rc, want $want (stderr: $(cat "$MS_TMP/err"))"
}

expect_status 0 "--help" "$cli" --help
grep -q '^usage: memshim <command>' "$MS_TMP/out" || ms_fail "--help does not print the usage on stdout"
[ ! -s "$MS_TMP/err" ] || ms_fail "--help wrote to stderr"
expect_status 2 "no arguments" "$cli"
grep -q '^usage:' "$MS_TMP/err" || ms_fail "no arguments: usage not on stderr"
expect_status 0 "--version" "$cli" --version
version=$(sed -n 's/^#define MEMSHIM_VERSION_STRING "\(.*\)"/\1/p' "$SRC_DIR/include/memshim.h")
[ "$(cat "$MS_TMP/out")" = "memshim $version" ] || ms_fail "--version printed '$(cat "$MS_TMP/out")'"
expect_status 2 "unknown command" "$cli" frobnicate
grep -q "unknown command 'frobnicate'" "$MS_TMP/err" || ms_fail "unknown command: unclear error: $(cat "$MS_TMP/err")"
ms_pass "--help, --version, unknown command"

expect_status 0 "run --help" "$cli" run --help
grep -q -- '--metrics FILE' "$MS_TMP/out" || ms_fail "run --help does not describe --metrics"
expect_status 2 "run without a command" "$cli" run
grep -q 'no command given' "$MS_TMP/err" || ms_fail "run without a command: $(cat "$MS_TMP/err")"
expect_status 2 "run --profile without a command" "$cli" run --profile --
expect_status 2 "run --bogus" "$cli" run --bogus true
grep -q "unknown option '--bogus'" "$MS_TMP/err" || ms_fail "run --bogus: $(cat "$MS_TMP/err")"
expect_status 2 "run --report without a value" "$cli" run --report
grep -q -- '--report needs a value' "$MS_TMP/err" || ms_fail "run --report: $(cat "$MS_TMP/err")"
expect_status 2 "run --metrics= (empty)" "$cli" run --metrics= true
expect_status 127 "run a missing program" "$cli" run -- "$MS_TMP/no-such-program"
grep -q "cannot run '$MS_TMP/no-such-program'" "$MS_TMP/err" || ms_fail "missing program: $(cat "$MS_TMP/err")"
expect_status 7 "the command's own status" "$cli" run -- sh -c 'exit 7'
expect_status 137 "killed by SIGKILL" "$cli" run -- sh -c 'kill -9 $$'
echo "regular file" >"$MS_TMP/afile"
expect_status 1 "--report DIR that is a file" "$cli" run --report "$MS_TMP/afile" -- true
grep -q "cannot create report directory" "$MS_TMP/err" || ms_fail "--report on a file: $(cat "$MS_TMP/err")"
ms_pass "run: exit codes 2 (bad arguments), 127 (cannot run), 1 (bad report dir), command status, 128+signal"

# The flags set the options the library reads, and the library is really preloaded.
expect_status 0 "run with flags" "$cli" run --profile --report "$MS_TMP/reports/nested" \
  --metrics="$MS_TMP/m-%p.prom" -- sh -c 'env; cat /proc/self/maps'
out=$MS_TMP/out
grep -qx 'MEMSHIM_PROFILE=1' "$out" || ms_fail "--profile did not set MEMSHIM_PROFILE=1"
grep -qx "MEMSHIM_REPORT_PATH=$MS_TMP/reports/nested/memshim.%p" "$out" || ms_fail "--report did not set MEMSHIM_REPORT_PATH"
grep -qx 'MEMSHIM_REPORT=json,text' "$out" || ms_fail "--report did not set MEMSHIM_REPORT=json,text"
grep -qx "MEMSHIM_METRICS_FILE=$MS_TMP/m-%p.prom" "$out" || ms_fail "--metrics= did not set MEMSHIM_METRICS_FILE"
[ -d "$MS_TMP/reports/nested" ] || ms_fail "--report did not create the directory"
grep -qF "$(readlink -f "$MEMSHIM_LIB_SAVED")" "$out" || ms_fail "the library is not mapped in the child"
ls "$MS_TMP"/m-*.prom >/dev/null 2>&1 || ms_fail "--metrics: no metrics file written"
ms_pass "run flags set MEMSHIM_PROFILE, MEMSHIM_REPORT(_PATH), MEMSHIM_METRICS_FILE; library preloaded"

# config: where each value came from.
MEMSHIM_RETAINED_MAX=32M MEMSHIM_VERBOSE=banana "$cli" config >"$MS_TMP/cfg" 2>"$MS_TMP/cfg.err" \
  || ms_fail "memshim config failed"
grep -qE '^MEMSHIM_RETAINED_MAX +size +32M +environment ' "$MS_TMP/cfg" || ms_fail "config: RETAINED_MAX not from the environment: $(grep RETAINED_MAX "$MS_TMP/cfg")"
grep -qE '^MEMSHIM_VERBOSE +int +0 +default \(bad value in environment\)' "$MS_TMP/cfg" || ms_fail "config: bad VERBOSE not shown: $(grep VERBOSE "$MS_TMP/cfg")"
grep -qE '^MEMSHIM_PURGE_INTERVAL +duration +200ms +default ' "$MS_TMP/cfg" || ms_fail "config: PURGE_INTERVAL not default: $(grep PURGE_INTERVAL "$MS_TMP/cfg")"
[ "$(grep -c 'MEMSHIM_VERBOSE=banana' "$MS_TMP/cfg.err")" -eq 1 ] || ms_fail "config: the bad value is not reported once on stderr"
expect_status 2 "config --bogus" "$cli" config --bogus
ms_pass "config shows environment / default / bad value, one stderr line per bad value"
