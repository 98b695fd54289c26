#!/usr/bin/env bash
# py_leaks' numpy case on the CPython releases of scripts/python-next.sh's root (3.14, 3.15, each
# with numpy): MEMSHIM_LEAK_CHECK names keep_arrays and its file:line first on stderr and in the
# JSON report, as on Debian's python3. Skipped when the root is absent (scripts/python-next.sh
# makes it; scripts/test.sh --all runs that).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/py.sh"
ran=0
for v in 3.14 3.15; do
  PY=$(ms_py_next "$v") || { echo "note: CPython $v is not in $MS_PY_NEXT_ROOT (scripts/python-next.sh)"; continue; }
  "$PY" -c 'import numpy' 2>/dev/null || { echo "note: numpy is not installed for CPython $v in $MS_PY_NEXT_ROOT"; continue; }
  rc=0
  ms_preload MEMSHIM_LEAK_CHECK=1M MEMSHIM_SAMPLE_BYTES=64K MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/np$v.%p" \
    "$PY" "$MS_PY_DIR/leak.py" numpy 4 >/dev/null 2>"$MS_TMP/np$v.err" || rc=$?
  cat "$MS_TMP/np$v.err"
  ms_assert_num "$rc" -eq 1 "CPython $v numpy leak under MEMSHIM_LEAK_CHECK: exit status"
  want="$MS_PY_DIR/leak.py:$(ms_py_line leak.py leak.numpy) keep_arrays"
  first=$(grep -m1 ' bytes at ' "$MS_TMP/np$v.err" || true)
  case "$first" in *" bytes at $want ("*) ;; *) ms_fail "CPython $v: first leaking site is not '$want': $first" ;; esac
  "$PYTHON" "$MS_PY_DIR/check_leak.py" "$MS_TMP"/np$v.*.json "$want" || ms_fail "CPython $v: JSON report does not name the leak first"
  ms_pass "CPython $v numpy leak: stderr and JSON name keep_arrays and its file:line first"
  ran=$((ran + 1))
done
[ $ran -gt 0 ] || ms_skip "no CPython 3.14/3.15 root at $MS_PY_NEXT_ROOT (run scripts/python-next.sh)"
