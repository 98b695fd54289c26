#!/usr/bin/env bash
# Issue 12, descriptors:
# - a daemon (MEMSHIM_LOG=FILE, MEMSHIM_VERBOSE=1) makes memshim log a line, closes fds 3..1023,
#   opens its database (it gets the descriptor the log had: checked), writes its record, and
#   memshim logs again; then it allocates from deep stacks (under profiling: backtraces that
#   libunwind validates through its pipe) and writes a second record: the database holds its
#   two records only, the log file both lines (defaults, glibc backend, profiling, exact);
# - under exact profiling a Python process's descriptor table is the one it has without memshim
#   (libunwind's pipe exists only during a backtrace);
# - with MEMSHIM_LOG set and nothing to log, no log file is created (true, a shell, Python).
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI

for mode in "" MEMSHIM_BACKEND=glibc MEMSHIM_PROFILE=1 "MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1"; do
  rm -f "$MS_TMP/log" "$MS_TMP/db"
  rc=0
  timeout -s KILL 60 env LD_PRELOAD="$MS_TEST_LIB" $mode MEMSHIM_LOG="$MS_TMP/log" MEMSHIM_VERBOSE=1 \
    MEMSHIM_REPORT_PATH="$MS_TMP/r.%p" "$PROGS/trust_daemon" "$MS_TMP/log" "$MS_TMP/db" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq 0 ] || ms_fail "daemon (${mode:-defaults}): status $rc: $(cat "$MS_TMP/out" "$MS_TMP/err")"
  read -r logfd dbfd < <(sed -n 's/^log descriptor \([0-9]*\) before the close, database descriptor \([0-9]*\) after it$/\1 \2/p' "$MS_TMP/out")
  [ -n "$logfd" ] && [ "$logfd" = "$dbfd" ] || ms_fail "daemon (${mode:-defaults}): the database did not get the log's old descriptor: $(cat "$MS_TMP/out")"
  [ "$(cat "$MS_TMP/db")" = "DATABASE RECORD 1
DATABASE RECORD 2" ] || ms_fail "daemon (${mode:-defaults}): the database holds: $(cat "$MS_TMP/db")"
  n=$(grep -c 'purge (memshim_trim)' "$MS_TMP/log" || true)
  ms_assert_num "$n" -eq 2 "daemon (${mode:-defaults}): purge lines in the log file"
  ms_pass "daemon (${mode:-defaults}): its database took descriptor $dbfd (the log's), holds only its two records; both log lines in the log file"
done

fds='import os, sys
junk = [bytearray(1000 + i) for i in range(20000)]
def deep(n): return deep(n - 1) + [bytearray(100)] if n else []
deep(300)
print(sorted(int(fd) for fd in os.listdir("/proc/self/fd")))'
"$PYTHON" -c "$fds" >"$MS_TMP/plain_fds"
timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_REPORT_PATH="$MS_TMP/r.%p" \
  "$PYTHON" -c "$fds" >"$MS_TMP/shim_fds" || ms_fail "exact profiling: the descriptor listing failed"
diff "$MS_TMP/plain_fds" "$MS_TMP/shim_fds" >&2 || ms_fail "exact profiling: the descriptor table differs from the run without memshim"
ms_pass "exact profiling: a Python process sees the descriptors it has without memshim: $(cat "$MS_TMP/shim_fds")"

for cmd in "/bin/true" "bash -c true" "$PYTHON -c pass"; do
  rm -f "$MS_TMP/quiet.log"
  env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_LOG="$MS_TMP/quiet.log" $cmd || ms_fail "$cmd failed under memshim"
  [ ! -e "$MS_TMP/quiet.log" ] || ms_fail "$cmd: a log file was created with nothing in it to say: $(cat "$MS_TMP/quiet.log")"
done
env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_LOG="$MS_TMP/quiet.log" MEMSHIM_VERBOSE=2 /bin/true
[ -s "$MS_TMP/quiet.log" ] || ms_fail "control: MEMSHIM_VERBOSE=2 logged nothing into MEMSHIM_LOG"
ms_pass "MEMSHIM_LOG with nothing to log (true, bash, python): no file created; at MEMSHIM_VERBOSE=2 it appears"

# A host that closed its standard descriptors for a moment (CPython's test_subprocess does, around
# a spawn) gets them back with dup2, which would replace any file of ours sitting there: memshim's
# own files never stay at 0, 1 or 2. A report written while all three are closed goes out through
# a descriptor above them (strace: the report's write).
if command -v strace >/dev/null; then
  rm -f "$MS_TMP/std.json"
  env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=off strace -f -o "$MS_TMP/std.strace" \
    -e trace=openat,fcntl,close,write "$PYTHON" -c '
import os, ctypes, sys
os.close(0); os.close(1); os.close(2)
sys.exit(ctypes.CDLL(None).memshim_report_json(sys.argv[1].encode()))' "$MS_TMP/std.json" ||
    ms_fail "report with 0, 1, 2 closed: status $?"
  [ -s "$MS_TMP/std.json" ] || ms_fail "report with 0, 1, 2 closed: no file"
  fd=$(sed -n 's/.* write(\([0-9]*\), "{\\"format\\".*/\1/p' "$MS_TMP/std.strace" | head -1)
  [ -n "$fd" ] || { tail -20 "$MS_TMP/std.strace" >&2; ms_fail "no write of the report in strace"; }
  ms_assert_num "$fd" -gt 2 "descriptor the report was written through, with 0, 1, 2 closed"
  ms_pass "with 0, 1, 2 closed, a report went out through descriptor $fd"
else
  ms_fail "strace missing (scripts/lib/deps.sh installs it)"
fi
