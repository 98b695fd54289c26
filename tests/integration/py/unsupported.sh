#!/usr/bin/env bash
# A CPython memshim cannot read (2.7, 3.6, 3.7; ctest runs it once per label, skipped when that
# interpreter is absent): exactly one log line says so, call sites stay native, the program
# runs as without the feature.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/py.sh"
label=${1:?usage: unsupported.sh X.Y}
PY=$(ms_py_find "$label") || ms_skip "CPython $label is not installed (pyenv versions)"
rc=0
ms_preload MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=4K MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/m.%p" \
  "$PY" -c 'import sys; x = [bytearray(10000) for _ in range(300)]; print(len(x))' >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
cat "$MS_TMP/err"
ms_assert_num "$rc" -eq 0 "CPython $label under the preload: exit status"
grep -qx 300 "$MS_TMP/out" || ms_fail "program output changed"
ms_assert_num "$(grep -c . "$MS_TMP/err")" -eq 1 "log lines"
grep -q "Python call sites off: CPython $label\.[0-9]*: not supported (CPython 3.8 to 3.15 are); call sites stay native" "$MS_TMP/err" ||
  ms_fail "the one line does not say why"
"$PYTHON" - "$MS_TMP"/m.*.json <<'PY' || ms_fail "report has Python frames or no sites"
import json, sys
d = json.load(open(sys.argv[1]))
kinds = {f["kind"] for s in d["sites"] for f in s["frames"]}
assert d["sites"] and kinds == {"native"}, kinds
PY
ms_pass "CPython $label: one log line, native call sites, program unchanged"
