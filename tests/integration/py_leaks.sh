#!/usr/bin/env bash
# Leaks kept by a named Python function through numpy arrays and through torch tensors (torch
# allocates with the GIL released), on Debian's python3: MEMSHIM_LEAK_CHECK names that function
# and its file:line first (stderr), the JSON report too.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/py.sh"
ms_require_python_module numpy
ms_require_python_module torch

# The interpreter's teardown frees every array and tensor before the exit report, and the gate's
# last quarter of snapshots must not be mostly teardown: torch's takes about a second on a loaded
# machine, so it leaks for 10 s.
# The two runs go at the same time (each is mostly the leak loop's own pauses); then each is judged.
for kind in numpy torch; do
  case $kind in numpy) secs=4 ;; torch) secs=10 ;; esac
  ( rc=0
    ms_preload MEMSHIM_LEAK_CHECK=1M MEMSHIM_SAMPLE_BYTES=64K MEMSHIM_REPORT=json \
      MEMSHIM_REPORT_PATH="$MS_TMP/$kind.%p" "$PYTHON" "$MS_PY_DIR/leak.py" "$kind" "$secs" >/dev/null 2>"$MS_TMP/$kind.err" || rc=$?
    echo "$rc" >"$MS_TMP/$kind.rc" ) &
done
wait
for kind in numpy torch; do
  case $kind in numpy) fn=keep_arrays ;; torch) fn=keep_tensors ;; esac
  want="$MS_PY_DIR/leak.py:$(ms_py_line leak.py leak.$kind) $fn"
  rc=$(cat "$MS_TMP/$kind.rc")
  cat "$MS_TMP/$kind.err"
  [ "$rc" -eq 1 ] || { "$PYTHON" -c 'import json, sys; print("leak section:", json.load(open(sys.argv[1]))["leak"])' "$MS_TMP"/$kind.*.json || true; }
  ms_assert_num "$rc" -eq 1 "$kind leak under MEMSHIM_LEAK_CHECK: exit status"
  first=$(grep -m1 ' bytes at ' "$MS_TMP/$kind.err" || true)
  case "$first" in *" bytes at $want ("*) ;; *) ms_fail "$kind: first leaking site is not '$want': $first" ;; esac
  "$PYTHON" "$MS_PY_DIR/check_leak.py" "$MS_TMP"/$kind.*.json "$want" || ms_fail "$kind: JSON report does not name the leak first"
  ms_pass "$kind leak: stderr and JSON name $fn and its file:line first"
done
