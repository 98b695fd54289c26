#!/usr/bin/env bash
# memshim's dlsym/dlvsym leave every lookup that is not "cu" + an upper-case letter exactly as libc
# answers it: another interposer's dlsym(RTLD_NEXT, "open") still resolves relative to its own
# object (a library loaded after memshim, and the program itself) and reaches libc without
# recursion; a plain-call interposer (the negative control) makes that same check fail. Names near
# the pattern (cudnn*, cublas*, "cu", "cu_lower") and a cu* name the program defines give the same
# answers with and without memshim. A process without CUDA loads neither NVML nor libcuda and its
# report has no GPU part.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/gpu.sh"

for prog in openwrap_lib openwrap_exe; do
  out=$(env LD_LIBRARY_PATH="$FAKES/lib" LD_PRELOAD="$MS_TEST_LIB" "$FAKE_BIN/$prog" 2>&1) || ms_fail "$prog under memshim: $out"
  [ "$out" = "open fd_ok=1 calls=1 max_depth=1" ] || ms_fail "$prog: $out"
done
rc=0
out=$(env LD_LIBRARY_PATH="$FAKES/lib" LD_PRELOAD="$FAKES/lib/libbad_dlsym.so" "$FAKE_BIN/openwrap_lib" 2>&1) || rc=$?
[ $rc = 3 ] && echo "$out" | grep -q "recursed" || ms_fail "negative control: a plain-call dlsym interposer was not caught (rc $rc: $out)"
ms_pass "dlsym(RTLD_NEXT, \"open\") from another interposer (library and program) reaches libc once; a plain-call hook is caught"

env -u LD_LIBRARY_PATH "$FAKE_BIN/cuda_names" >"$MS_TMP/plain" || ms_fail "cuda_names without memshim"
env -u LD_LIBRARY_PATH LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/names" \
  "$FAKE_BIN/cuda_names" >"$MS_TMP/shim" || ms_fail "cuda_names under memshim"
diff -u "$MS_TMP/plain" "$MS_TMP/shim" || ms_fail "dlsym answers differ under memshim"
grep -q "^cuProgramOwn: own$" "$MS_TMP/shim" || ms_fail "the program's own cu* function was not found"
[ "$($GPU_CHECK get "$MS_TMP/names.json" '"gpu" in d')" = False ] || ms_fail "a process without CUDA got a gpu section"
ms_pass "cudnn*/cublas*/short and own cu* names: same dlsym/dlvsym answers with and without memshim; no GPU part"

maps=$(ms_preload MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/py" "$PYTHON" -c '
import ctypes
ctypes.CDLL(None).dlsym  # a lookup through memshim
print(open("/proc/self/maps").read())')
echo "$maps" | grep -q libmemshim || ms_fail "memshim not loaded in the check"
if echo "$maps" | grep -E "libnvidia-ml|libcuda"; then ms_fail "a process without CUDA loaded NVML or the driver"; fi
[ "$($GPU_CHECK get "$MS_TMP/py.json" '"gpu" in d')" = False ] || ms_fail "python without CUDA got a gpu section"
ms_pass "no CUDA: neither NVML nor libcuda loaded, no GPU part"
