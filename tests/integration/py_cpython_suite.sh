#!/usr/bin/env bash
# CPython's own test_gc, test_threading and test_generators under the preload with profiling and
# Python call sites on (one sample per 64 KiB): they pass, and the reports of the interpreters
# they start name Python frames of the test files. memshim logs to files (MEMSHIM_LOG), not to
# the stderr the tests compare.
. "$(dirname "$0")/lib/common.sh"
"$PYTHON" -c 'import test.test_gc, test.test_threading, test.test_generators' 2>/dev/null ||
  ms_skip "CPython's test suite is not installed (libpython3.11-testsuite; scripts/test.sh installs it)"
mkdir -p "$MS_TMP/r"
rc=0
ms_preload MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=64K MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/r/m.%p" \
  MEMSHIM_LOG="$MS_TMP/r/log.%p" timeout 900 "$PYTHON" -m test -j2 --timeout 300 \
  test_gc test_threading test_generators >"$MS_TMP/out" 2>&1 || rc=$?
tail -15 "$MS_TMP/out"
ms_assert_num "$rc" -eq 0 "CPython's tests under the preload: exit status"
grep -q "All 3 tests OK" "$MS_TMP/out" || ms_fail "not all three test files passed"
if grep -h "Python call sites off" "$MS_TMP"/r/log.* 2>/dev/null; then ms_fail "the feature turned itself off"; fi
"$PYTHON" - "$MS_TMP/r" <<'PY' || ms_fail "reports do not name the tests' Python frames"
import glob, json, os, sys
named = set()
for p in glob.glob(sys.argv[1] + "/m.*.json"):
    try:
        d = json.load(open(p))
    except ValueError:
        continue  # a process killed by a test (os._exit, signals) may leave a partial file
    for s in d["sites"]:
        for f in s["frames"]:
            if f["kind"] == "python":
                named.add(os.path.basename(f["file"]))
missing = {"test_gc.py", "test_threading.py", "test_generators.py"} - named
assert not missing, missing
print("Python frames from", len(named), "files, among them the three test files")
PY
ms_pass "test_gc, test_threading, test_generators pass with Python call sites on"
