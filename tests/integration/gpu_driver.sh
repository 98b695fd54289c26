#!/usr/bin/env bash
# The other ways to the driver: a program that dlopens libcuda.so.1 and takes cuGetProcAddress,
# cuGetProcAddress_v2 and cuMemAlloc_v2 with dlsym(handle) (memshim hands out its wrappers, with
# the caller's arity for a lookup of cuGetProcAddress itself, and the per-thread-stream twins kept
# apart); ABIs memshim does not know (cuMemAlloc's 32-bit v1, a future v3) are handed out untouched
# and show up in the residual instead; a runtime linked statically into the program is detected and
# said once; Python ctypes reaching the runtime by handle (driver labels) and through memshim's
# global cudaMalloc (runtime label).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/gpu.sh"

out=$MS_TMP/drv
gpu_run v3 "$out" MEMSHIM_VERBOSE=1 "$FAKE_BIN/drv_dlopen" >"$out.out" 2>"$out.err" || ms_fail "drv_dlopen: $(cat "$out.out" "$out.err")"
for line in "dlsym:cuGetProcAddress_v2 from libmemshim.so" "dlsym:cuGetProcAddress from libmemshim.so" \
  "dlsym:cuMemAlloc_v2 from libmemshim.so" "cuInit@12000/0 from libcuda.so.1" "cuMemAllocAsync@12000/2 from libmemshim.so" \
  "cuMemAllocAsync@12000/0 from libmemshim.so" "cuGetProcAddress@12000/0 from libmemshim.so" \
  "cuGetProcAddress@11030/0 from libmemshim.so" "cuMemAlloc@11030 (through the 4-argument lookup) from libmemshim.so" \
  "cuMemAlloc@2000/0 from libcuda.so.1"; do
  grep -qF "handed $line" "$out.out" || ms_fail "drv_dlopen: not 'handed $line': $(grep handed "$out.out")"
done
grep -q "gpa4=1 " "$out.out" || ms_fail "the 4-argument cuGetProcAddress handed out at 11030 did not reach the driver's 4-argument function"
grep -q " v1=1 " "$out.out" || ms_fail "the v1 cuMemAlloc did not run"
$GPU_CHECK sites "$out.out" "$out.json" || ms_fail "drv_dlopen: per-site device bytes"
$GPU_CHECK totals "$out.out" "$out.json" $CTX_BYTES || ms_fail "drv_dlopen: totals"
[ "$($GPU_CHECK get "$out.json" 'd["gpu"]["runtime"]')" = "driver only" ] || ms_fail "runtime is not 'driver only'"
grep -q "cuMemAlloc as handed out for version 2000 has an ABI memshim does not know" "$out.err" || ms_fail "the unknown ABI was not said"
ms_pass "driver API through dlopen+dlsym and cuGetProcAddress: wrappers with the right ABI, twins apart, v1 left alone (in the residual)"

out=$MS_TMP/future
gpu_run v3 "$out" FAKE_CUDA_VERSION=13000 FAKE_CUDA_FUTURE_ABI=1 "$FAKE_BIN/drv_dlopen" future >"$out.out" 2>"$out.err" ||
  ms_fail "a driver with a newer cuMemAlloc ABI: $(cat "$out.out" "$out.err")"
grep -qF "handed cuMemAlloc@13000/0 from libcuda.so.1" "$out.out" || ms_fail "the newer ABI was wrapped on a guess"
grep -q " v3=1" "$out.out" || ms_fail "the newer ABI's call did not reach the driver intact"
$GPU_CHECK totals "$out.out" "$out.json" $CTX_BYTES || ms_fail "future ABI: totals"
ms_pass "CUDA 13 driver with an ABI memshim does not know: handed out untouched, works, counted in the residual"

out=$MS_TMP/static
gpu_run v3 "$out" MEMSHIM_VERBOSE=1 "$FAKE_BIN/static_rt" >"$out.out" 2>"$out.err" || ms_fail "static_rt: $(cat "$out.err")"
$GPU_CHECK sites "$out.out" "$out.json" || ms_fail "static runtime: device bytes"
$GPU_CHECK totals "$out.out" "$out.json" $CTX_BYTES || ms_fail "static runtime: totals"
[ "$($GPU_CHECK get "$out.json" 'd["gpu"]["runtime"]')" = static ] || ms_fail "runtime is not 'static'"
n=$(grep -c "CUDA runtime is linked statically into .*static_rt" "$out.err" || true)
[ "$n" = 1 ] || ms_fail "the static runtime was said $n times, want once: $(cat "$out.err")"
ms_pass "statically linked runtime: detected and said once; its driver calls counted"

cat >"$MS_TMP/ct.py" <<'PY'
import ctypes, os, sys
rt = ctypes.CDLL(os.environ["FAKES"] + "/lib/libcudart.so.12", mode=ctypes.RTLD_GLOBAL if sys.argv[1] == "global" else 0)
cuda_malloc = ctypes.CDLL(None).cudaMalloc if sys.argv[1] == "global" else rt.cudaMalloc

def load_tensor(n):
    p = ctypes.c_void_p()
    assert cuda_malloc(ctypes.byref(p), ctypes.c_size_t(n)) == 0
    return p

keep = [load_tensor(6 << 20) for _ in range(3)]
print("ok")
PY
for how in handle global; do
  label=$([ $how = handle ] && echo cuMemAlloc || echo cudaMalloc)
  gpu_run v3 "$MS_TMP/py$how" "$PYTHON" "$MS_TMP/ct.py" $how >"$MS_TMP/py.out" || ms_fail "python ctypes ($how)"
  got=$($GPU_CHECK get "$MS_TMP/py$how.json" \
    '[(d["profile"]["totals"]["device"]["live_bytes"], sorted({s["memory"]["device"]["api"] for s in d["sites"] if "device" in s["memory"]}), d["gpu"]["runtime"], d["gpu"]["devices"][0]["residual_bytes"])]')
  [ "$got" = "[($((18 << 20)), ['$label'], 'cudart 12.4', $CTX_BYTES)]" ] || ms_fail "python ctypes ($how): $got"
done
ms_pass "Python ctypes: by handle (driver label) and through the global cudaMalloc (runtime label), exact"
