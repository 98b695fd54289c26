#!/usr/bin/env bash
# No CUDA at build or load time: the library builds with the tests (and so the fake CUDA
# libraries) switched off, has no fake target then, needs no CUDA, runtime or NVML library
# (DT_NEEDED), and references no CUDA or NVML symbol (everything is found with dlsym at run time).
. "$(dirname "$0")/lib/common.sh"

b=$MS_TMP/build
cmake -S "$SRC_DIR" -B "$b" -DMEMSHIM_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$MS_TMP/cfg.log" 2>&1 ||
  ms_fail "configure without tests: $(tail -5 "$MS_TMP/cfg.log")"
if cmake --build "$b" --target help | grep -E "^\.\.\. (fake_|fakeprog_)"; then ms_fail "fake CUDA targets exist without the tests"; fi
cmake --build "$b" --target memshim -j2 >"$MS_TMP/build.log" 2>&1 || ms_fail "build without tests: $(tail -5 "$MS_TMP/build.log")"
lib=$(ls "$b"/libmemshim.so.* | head -1)
[ -f "$lib" ] || ms_fail "no library built"
ms_pass "libmemshim.so builds without the tests and without any fake CUDA library"

for l in "$lib" "$MS_TEST_LIB"; do
  if readelf -d "$l" | grep NEEDED | grep -Ei "cuda|nvidia"; then ms_fail "$l needs a CUDA library"; fi
  if nm -D --undefined-only "$l" | grep -E " (cu[A-Z]|cuda|nvml)"; then ms_fail "$l references CUDA/NVML symbols"; fi
done
ms_pass "no DT_NEEDED on libcuda/libcudart/libnvidia-ml, no undefined CUDA or NVML symbol"
