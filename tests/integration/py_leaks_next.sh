#!/usr/bin/env bash
# Python leaks on the CPython releases of scripts/python-next.sh's root (3.14, 3.15, each with
# numpy), pure-Python (bytearray buffers kept by keep_buffers) and py_leaks' numpy case
# (keep_arrays): MEMSHIM_LEAK_CHECK names the function and its file:line first on stderr and in
# the JSON report, the same name as on Debian's python3 (run here too). Skipped when the root is
# absent (scripts/python-next.sh makes it; scripts/test.sh --all runs that).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/py.sh"
# leak_case INTERPRETER LABEL KIND FUNCTION
leak_case() {
  local py=$1 v=$2 kind=$3 fn=$4 rc=0 want first
  ms_preload MEMSHIM_LEAK_CHECK=1M MEMSHIM_SAMPLE_BYTES=64K MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/$kind$v.%p" \
    "$py" "$MS_PY_DIR/leak.py" "$kind" 4 >/dev/null 2>"$MS_TMP/$kind$v.err" || rc=$?
  cat "$MS_TMP/$kind$v.err"
  ms_assert_num "$rc" -eq 1 "CPython $v $kind leak under MEMSHIM_LEAK_CHECK: exit status"
  want="$MS_PY_DIR/leak.py:$(ms_py_line leak.py "leak.$kind") $fn"
  first=$(grep -m1 ' bytes at ' "$MS_TMP/$kind$v.err" || true)
  case "$first" in *" bytes at $want ("*) ;; *) ms_fail "CPython $v $kind: first leaking site is not '$want': $first" ;; esac
  "$PYTHON" "$MS_PY_DIR/check_leak.py" "$MS_TMP"/$kind$v.*.json "$want" || ms_fail "CPython $v $kind: JSON report does not name the leak first"
  ms_pass "CPython $v $kind leak: stderr and JSON name $fn and its file:line first"
}
ran=0
for v in 3.14 3.15; do
  PY=$(ms_py_next "$v") || { echo "note: CPython $v is not in $MS_PY_NEXT_ROOT (scripts/python-next.sh)"; continue; }
  leak_case "$PY" "$v" python keep_buffers
  if "$PY" -c 'import numpy' 2>/dev/null; then
    leak_case "$PY" "$v" numpy keep_arrays
  else
    echo "note: numpy is not installed for CPython $v in $MS_PY_NEXT_ROOT"
  fi
  ran=$((ran + 1))
done
[ $ran -gt 0 ] || ms_skip "no CPython 3.14/3.15 root at $MS_PY_NEXT_ROOT (run scripts/python-next.sh)"
# The same names on this machine's python3 (py_leaks runs its numpy case)
leak_case "$PYTHON" system python keep_buffers
