#!/usr/bin/env bash
# Python call sites stay off, quietly where there is no Python and with one log line where an
# interpreter cannot be read: a C program logs nothing about Python; a fake CPython (a preloaded
# library exporting the symbols memshim looks up) whose type objects, debug offsets or build
# mismatch is refused by the canaries with one line, the program runs on, call sites native.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/py.sh"
command -v cc >/dev/null || ms_fail "no C compiler (scripts/lib/deps.sh installs gcc)"

native_only() {
  "$PYTHON" - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
kinds = {f["kind"] for s in d["sites"] for f in s["frames"]}
assert d["sites"] and kinds == {"native"}, kinds
PY
}

# A program without Python: no word about it, even at MEMSHIM_VERBOSE=2.
ms_preload MEMSHIM_PROFILE=1 MEMSHIM_VERBOSE=2 MEMSHIM_SAMPLE_BYTES=4K MEMSHIM_REPORT=json \
  MEMSHIM_REPORT_PATH="$MS_TMP/c.%p" "$PROGS/prof_known" 5000 >/dev/null 2>"$MS_TMP/c.err" || ms_fail "prof_known failed"
grep -i python "$MS_TMP/c.err" && ms_fail "a program without Python logged about Python"
native_only "$MS_TMP"/c.*.json || ms_fail "C program: report is not native only"
ms_pass "a C program: no Python log line, native call sites"

# Fakes the canaries must refuse, and the reason each line gives.
variants=(
  "-DFAKE_CODE_SIZE=999|CPython 3.11.2: code objects are 999+2 bytes, this layout expects 184+2"
  "-DFAKE_TYPE_ELSEWHERE|CPython 3.11.2: its type objects are not laid out as in a release build with the GIL"
  "-DFAKE_313_COOKIE|CPython 3.13.0: _PyRuntime does not start with the debug-offsets cookie"
  "-DFAKE_313_FREE_THREADED|CPython 3.13.0: free-threaded build (the debug offsets say so): frames of builds without the GIL are not read"
  "-DFAKE_314_FREE_THREADED|CPython 3.14.0: free-threaded build (the debug offsets say so): frames of builds without the GIL are not read"
  "-DFAKE_316|CPython 3.16.0: its _Py_DebugOffsets are not laid out as CPython 3.15's (the list-node and remote-debugging members are elsewhere)"
)
i=0
for v in "${variants[@]}"; do
  flag=${v%%|*} why=${v#*|}
  i=$((i + 1))
  cc -shared -fPIC -O1 $flag -o "$MS_TMP/libfakepy$i.so" "$MS_PY_DIR/fake_python.c" || ms_fail "cannot build the fake ($flag)"
  rc=0
  env LD_PRELOAD="$MS_TEST_LIB:$MS_TMP/libfakepy$i.so" MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=4K MEMSHIM_REPORT=json \
    MEMSHIM_REPORT_PATH="$MS_TMP/f$i.%p" "$PROGS/prof_known" 5000 >"$MS_TMP/f$i.out" 2>"$MS_TMP/f$i.err" || rc=$?
  cat "$MS_TMP/f$i.err"
  ms_assert_num "$rc" -eq 0 "fake CPython ($flag): exit status"
  grep -q '^live ' "$MS_TMP/f$i.out" || ms_fail "fake CPython ($flag): the program did not finish its work"
  ms_assert_num "$(grep -c . "$MS_TMP/f$i.err")" -eq 1 "fake CPython ($flag): log lines"
  grep -qF "Python call sites off: $why; call sites stay native" "$MS_TMP/f$i.err" ||
    ms_fail "fake CPython ($flag): expected the reason '$why'"
  native_only "$MS_TMP"/f$i.*.json || ms_fail "fake CPython ($flag): report is not native only"
done
ms_pass "canary mismatches (code size, type layout, debug cookie, free-threaded 3.13 and 3.14, a 3.16 of another shape): one line each, native stacks, no crash"
