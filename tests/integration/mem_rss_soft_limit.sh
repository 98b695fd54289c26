#!/bin/bash
# MEMSHIM_RSS_SOFT_LIMIT: above it, file-mapping pages are dropped first (even with no mmap cap
# set), the crossing is logged once while RSS stays above, "back below" when it falls, and a new
# crossing is logged again.
. "$(dirname "$0")/lib/common.sh"
ms_require_python_module numpy

cat >"$MS_TMP/t.py" <<'PY'
import ctypes, sys, time
import numpy as np
lib = ctypes.CDLL(None)
def stat(name):
    v = ctypes.c_uint64(); lib.memshim_stat(name.encode(), ctypes.byref(v)); return v.value
def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 >> 20
def wait_for(what, cond, timeout=20.0):
    # The monitor looks every 200 ms; under load it may take longer: wait for the event itself.
    end = time.time() + timeout
    while not cond():
        if time.time() > end:
            raise SystemExit("timed out waiting for " + what)
        time.sleep(0.05)
def log_count(text):
    return open(log_path).read().count(text)
path, log_path = sys.argv[1], sys.argv[2]
np.arange((128 << 20) // 8, dtype=np.uint64).tofile(path)
m = np.memmap(path, dtype=np.uint64, mode="r")
want = int(m.sum())                          # 128 MB of file pages resident
held = np.ones((160 << 20) // 8)             # 160 MB of heap: RSS stays above 150 MB
wait_for("the first crossing", lambda: log_count("is above MEMSHIM_RSS_SOFT_LIMIT") >= 1)
wait_for("file pages dropped", lambda: stat("mmap.dropped") >= 64 << 20)
time.sleep(1.0)                              # several more looks above: no second line
print("rss above:", rss_mb(), "MB", file=sys.stderr)
del held
wait_for("back below", lambda: log_count("back below MEMSHIM_RSS_SOFT_LIMIT") >= 1)
print("rss below:", rss_mb(), "MB", file=sys.stderr)
held = np.ones((160 << 20) // 8)             # second crossing
wait_for("the second crossing", lambda: log_count("is above MEMSHIM_RSS_SOFT_LIMIT") >= 2)
time.sleep(0.6)                              # more looks above: still two lines
assert int(m.sum()) == want, "file contents changed"
print("ok")
PY
ms_preload MEMSHIM_RSS_SOFT_LIMIT=150M MEMSHIM_VERBOSE=1 MEMSHIM_LOG="$MS_TMP/log" \
  "$PYTHON" "$MS_TMP/t.py" "$MS_TMP/f.bin" "$MS_TMP/log" >"$MS_TMP/out" 2>"$MS_TMP/err" ||
  { cat "$MS_TMP/log" "$MS_TMP/err" "$MS_TMP/out"; ms_fail "soft-limit run failed"; }
cat "$MS_TMP/log" | grep -v "^memshim.*purge (" || true
above=$(grep -c "is above MEMSHIM_RSS_SOFT_LIMIT" "$MS_TMP/log" || true)
below=$(grep -c "back below MEMSHIM_RSS_SOFT_LIMIT" "$MS_TMP/log" || true)
ms_assert_num "$above" -eq 2 "crossings logged (two crossings)"
ms_assert_num "$below" -ge 1 "'back below' lines"
grep -q "drop (rss_soft_limit): MADV_DONTNEED" "$MS_TMP/log" || ms_fail "no file-mapping drop logged for the soft limit"
ms_pass "two crossings logged once each, file pages dropped first, contents intact"
