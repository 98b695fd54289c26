#!/usr/bin/env bash
# /usr/bin/python3 under the shim: numpy and torch import, a matmul and an nn.Module forward
# give the same numbers as without the shim; memshim's counters (ctypes on the preloaded
# library) move with numpy and torch allocations; TOKENIZERS_PARALLELISM is "false" inside
# Python, a user's own value is kept, and MEMSHIM_TOKENIZERS_PARALLELISM=0 leaves it unset;
# the glibc backend and MEMSHIM_ENABLE=0 run the same workload.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/found.sh"
ms_require_python_module numpy
ms_require_python_module torch

cat >"$MS_TMP/work.py" <<'PY'
import ctypes, os, sys
import numpy as np
import torch

torch.manual_seed(0)
np.random.seed(0)
a = np.random.rand(200, 300)
b = np.random.rand(300, 100)
c = a @ b
model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
with torch.no_grad():
    y = model(torch.randn(16, 64))
print("matmul", repr(round(float(c.sum()), 6)), "forward", repr(round(float(y.sum()), 5)), tuple(y.shape))
print("TOKENIZERS_PARALLELISM", os.environ.get("TOKENIZERS_PARALLELISM", "<unset>"))

lib = ctypes.CDLL(None)
try:
    stat = lib.memshim_stat
except AttributeError:
    print("memshim not loaded")
    sys.exit(0)
stat.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64)]
lib.memshim_backend.restype = ctypes.c_char_p

def s(name):
    v = ctypes.c_uint64()
    assert stat(name.encode(), ctypes.byref(v)) == 0, name
    return v.value

# numpy: a 64 MiB array is malloc'ed (PyDataMem) and shows up in heap.live.
live0, calls0 = s("heap.live"), s("calls.alloc")
arr = np.ones(8 << 20)
live1 = s("heap.live")
del arr
live2 = s("heap.live")
assert live1 >= live0 + (64 << 20), ("numpy", live0, live1)
assert live2 + (64 << 20) <= live1, ("numpy free", live1, live2)
# torch: a 64 MiB tensor (c10's CPU allocator, posix_memalign) and many small tensors
# (TensorImpl and storage objects come from operator new).
t0 = s("heap.live")
t = torch.empty(16 << 20, dtype=torch.float32)
t1 = s("heap.live")
del t
t2 = s("heap.live")
calls1 = s("calls.alloc")
small = [torch.zeros(4) for _ in range(2000)]
calls2 = s("calls.alloc")
del small
assert t1 >= t0 + (64 << 20), ("torch", t0, t1)
assert t2 + (64 << 20) <= t1, ("torch free", t1, t2)
assert calls2 - calls1 >= 2 * 2000, ("torch small tensors", calls1, calls2)
print("counters moved", lib.memshim_backend().decode())
PY

run_py() { # description env...
  local what=$1
  shift
  env "$@" "$PYTHON" "$MS_TMP/work.py" >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "$what: $(cat "$MS_TMP/out" "$MS_TMP/err")"
  # torch may print a harmless NNPACK notice on CPUs it does not support; nothing else.
  grep -v -e 'NNPACK' "$MS_TMP/err" >"$MS_TMP/err2" || true
  [ ! -s "$MS_TMP/err2" ] || ms_fail "$what: unexpected stderr: $(cat "$MS_TMP/err2")"
}

run_py "without the shim" LD_PRELOAD= TOKENIZERS_PARALLELISM=
grep -q "memshim not loaded" "$MS_TMP/out" || ms_fail "baseline: $(cat "$MS_TMP/out")"
baseline=$(head -1 "$MS_TMP/out")
env -u TOKENIZERS_PARALLELISM LD_PRELOAD= "$PYTHON" -c 'import os; print(os.environ.get("TOKENIZERS_PARALLELISM", "<unset>"))' |
  grep -qx '<unset>' || ms_fail "TOKENIZERS_PARALLELISM is set without the shim"

for backend in jemalloc glibc; do
  run_py "memshim $backend" -u TOKENIZERS_PARALLELISM LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_BACKEND=$backend
  [ "$(head -1 "$MS_TMP/out")" = "$baseline" ] || ms_fail "$backend: results differ: $(head -1 "$MS_TMP/out") vs $baseline"
  grep -qx "TOKENIZERS_PARALLELISM false" "$MS_TMP/out" || ms_fail "$backend: $(grep TOKENIZERS "$MS_TMP/out")"
  grep -qx "counters moved $backend" "$MS_TMP/out" || ms_fail "$backend: $(cat "$MS_TMP/out")"
  ms_pass "python3 + numpy + torch under memshim ($backend): same results, counters moved, TOKENIZERS_PARALLELISM=false"
done

# The user's own value: the variable alone is what is checked, so a light script (no numpy or
# torch import) runs under the shim for each.
tok() { # env...: print TOKENIZERS_PARALLELISM as Python sees it under the shim
  env "$@" "$PYTHON" -c 'import os; print("TOKENIZERS_PARALLELISM", os.environ.get("TOKENIZERS_PARALLELISM", "<unset>"))'
}
tok LD_PRELOAD="$MS_TEST_LIB" TOKENIZERS_PARALLELISM=true | grep -qx "TOKENIZERS_PARALLELISM true" || ms_fail "user value true not kept"
tok LD_PRELOAD="$MS_TEST_LIB" TOKENIZERS_PARALLELISM= | grep -qx "TOKENIZERS_PARALLELISM " || ms_fail "user empty value not kept"
tok -u TOKENIZERS_PARALLELISM LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_TOKENIZERS_PARALLELISM=0 | grep -qx "TOKENIZERS_PARALLELISM <unset>" ||
  ms_fail "opt-out: MEMSHIM_TOKENIZERS_PARALLELISM=0 set it"
tok -u TOKENIZERS_PARALLELISM LD_PRELOAD="$MS_TEST_LIB" | grep -qx "TOKENIZERS_PARALLELISM false" ||
  ms_fail "the light script does not see the shim's default (the three checks above would prove nothing)"
ms_pass "TOKENIZERS_PARALLELISM: user's value (true, empty) kept; MEMSHIM_TOKENIZERS_PARALLELISM=0 leaves it unset"

run_py "MEMSHIM_ENABLE=0" -u TOKENIZERS_PARALLELISM LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_ENABLE=0
[ "$(head -1 "$MS_TMP/out")" = "$baseline" ] || ms_fail "ENABLE=0: results differ"
grep -q "^counters moved jemalloc" "$MS_TMP/out" || ms_fail "ENABLE=0: $(cat "$MS_TMP/out")"
ms_pass "MEMSHIM_ENABLE=0: same results, heap still served by jemalloc"
