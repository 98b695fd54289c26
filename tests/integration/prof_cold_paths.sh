#!/usr/bin/env bash
# Cold paths never go back through memshim's own entry points: a report taken while Python
# runs (symbolizing libpython, numpy and the rest maps their ELF files and builds symbol tables)
# adds nothing to the file-mapping registry and nothing measurable to the heap the program
# uses. Before, one signal report in python3 moved mmap.tracked from 0 to 25 MB and put the
# symbol tables in the host's heap.
. "$(dirname "$0")/lib/common.sh"
ms_require_python_module numpy

for formats in json,text html,pprof; do
  env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=64K MEMSHIM_REPORT=$formats \
    MEMSHIM_MMAP_RESIDENT_MAX=1G MEMSHIM_REPORT_PATH="$MS_TMP/cold.%p" "$PYTHON" - "$MS_TMP" <<'PY' >"$MS_TMP/out" ||
import ctypes, glob, os, signal, sys, time
import numpy as np
lib = ctypes.CDLL(None)
def stat(name):
    v = ctypes.c_uint64()
    assert lib.memshim_stat(name.encode(), ctypes.byref(v)) == 0, name
    return v.value
keep = [np.ones(1 << 16) for _ in range(200)]  # sampled allocations with stacks through numpy
# a tracked file mapping, so that the registry is in use (the cap is set)
path = os.path.join(sys.argv[1], "data.bin")
with open(path, "wb") as f:
    f.write(b"\0" * (8 << 20))
m = np.memmap(path, mode="r")
tracked0, active0 = stat("mmap.tracked"), stat("backend.active")
os.kill(os.getpid(), signal.SIGRTMIN + 9)  # memshim's default report signal
# wait for both formats' files under their final names (each is renamed into place when done)
def done():
    return [f for f in glob.glob(os.path.join(sys.argv[1], "cold.%d.*" % os.getpid())) if ".tmp" not in f]
deadline = time.time() + 90
while len(done()) < 2 and time.time() < deadline:
    time.sleep(0.05)
assert len(done()) >= 2, "not both reports 90 s after the report signal: %s" % done()
tracked1, active1 = stat("mmap.tracked"), stat("backend.active")
print("tracked", tracked0, tracked1, "active", active0, active1)
PY
  { cat "$MS_TMP/out"; ms_fail "$formats: the Python run failed"; }
  read -r _ t0 t1 _ a0 a1 <"$MS_TMP/out"
  ms_assert_num "$t1" -eq "$t0" "$formats: mmap.tracked after a report (before $t0)"
  ms_assert_num "$t0" -ge $((8 << 20)) "$formats: the program's own file mapping is tracked"
  grow=$(( a1 > a0 ? a1 - a0 : 0 ))
  ms_assert_num "$grow" -le $((1 << 20)) "$formats: heap bytes the report left in the program's heap"
  ms_pass "$formats report during a Python run: mmap.tracked stays $t0, heap grew $grow bytes"
done
