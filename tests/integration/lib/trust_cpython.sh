# Sourced by trust_cpython_*.sh after common.sh: run CPython's own regression tests (Debian's
# libpython3.11-testsuite) under the preload with the environment given as arguments.
export -n MS_TEST_LIB MS_TEST_CLI
TRUST_CPYTHON_TESTS=(test_threading test_os test_signal test_subprocess test_multiprocessing_fork
  test_concurrent_futures test_gc test_mmap test_ctypes test_fork1)

trust_cpython_run() { # name VAR=value...
  local name=$1
  shift
  [ -f /usr/lib/python3.11/test/test_threading.py ] && [ -f /usr/lib/python3.11/test/libregrtest/main.py ] ||
    ms_skip "CPython's test suite is not installed (Debian libpython3.11-testsuite; scripts/test.sh installs it)"
  # Reports and logs where children that change user (test_subprocess's user= cases) can write.
  chmod 755 "$MS_TMP"
  mkdir -m 1777 "$MS_TMP/reports"
  local start=$SECONDS rc=0
  (cd "$MS_TMP" && timeout -s KILL 840 env LD_PRELOAD="$MS_TEST_LIB" "$@" MEMSHIM_REPORT_PATH="$MS_TMP/reports/r.%p.%t" \
    "$PYTHON" -m test -j2 --timeout 600 "${TRUST_CPYTHON_TESTS[@]}") >"$MS_TMP/log" 2>&1 || rc=$?
  local took=$((SECONDS - start))
  grep -E '^[0-9:]+ load avg: .*\] test_' "$MS_TMP/log" | sed 's/^/  /'
  [ "$rc" -eq 0 ] || { tail -60 "$MS_TMP/log" >&2; ms_fail "CPython's tests under memshim ($name): status $rc after ${took}s (137: the 840 s time-out: a hang)"; }
  grep -q '^All 10 tests OK\.$' "$MS_TMP/log" || { tail -30 "$MS_TMP/log" >&2; ms_fail "CPython's tests ($name): not all 10 passed"; }
  local ours
  ours=$(grep -c '^memshim\[' "$MS_TMP/log" || true)
  [ "$ours" -eq 0 ] || { grep '^memshim\[' "$MS_TMP/log" | sort | uniq -c | head >&2; ms_fail "CPython's tests ($name): memshim printed $ours lines"; }
  ms_pass "CPython ${TRUST_CPYTHON_TESTS[*]} under memshim ($name): all 10 OK in ${took}s$(
    [ -d "$MS_TMP/reports" ] && n=$(ls "$MS_TMP/reports" | wc -l) && [ "$n" -gt 0 ] && echo ", $n exit reports written")"
}
