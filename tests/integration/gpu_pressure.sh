#!/usr/bin/env bash
# Thresholds and out-of-memory on a 1000 MiB fake GPU (context 100 MiB, no other process):
# MEMSHIM_GPU_WARN_PCT (90) logs once per crossing with the top call sites, MEMSHIM_GPU_ACTION_PCT
# (95) writes a report and calls the memshim_on_gpu_pressure callbacks once per crossing (the
# callback frees a cache, usage falls, re-arms, and a second crossing fires both again); an
# allocation that fails names the leaking function first (log line, report written at the failure,
# kept when the process dies) and returns the error unchanged; the documented Python one-liner
# registers torch.cuda.empty_cache and it is called; without NVML, thresholds are off and said so.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/gpu.sh"

small=(FAKE_CUDA_MEM=$((1000 << 20)) FAKE_CUDA_CONTEXT_BYTES=$((100 << 20)) FAKE_NVML_OTHER_USED=0)

out=$MS_TMP/cross
gpu_run v3 "$out" "${small[@]}" "$FAKE_BIN/gpu_pressure" cross >"$out.out" 2>"$out.err" || ms_fail "cross: $(cat "$out.out" "$out.err")"
grep -q "^phase 2 done: callbacks=2$" "$out.out" || ms_fail "callbacks: $(cat "$out.out")"
[ "$(grep -c "^callback device=0 used=$((950 << 20)) total=$((1000 << 20)) user=ctx$" "$out.out")" = 2 ] ||
  ms_fail "the callback was not called once per crossing with device, used, total, user data: $(cat "$out.out")"
[ "$(grep -c 'MEMSHIM_GPU_WARN_PCT=90' "$out.err")" = 2 ] || ms_fail "warn lines: $(cat "$out.err")"
[ "$(grep -c 'MEMSHIM_GPU_ACTION_PCT=95' "$out.err")" = 2 ] || ms_fail "action lines: $(cat "$out.err")"
grep -q "900.0 MiB of 1000.0 MiB used (90% >= MEMSHIM_GPU_WARN_PCT=90).*top call sites: 500.0 MiB in leaky_growth" "$out.err" ||
  ms_fail "the first warn line does not name leaky_growth first: $(cat "$out.err")"
[ "$($GPU_CHECK get "$out.json" '[e["kind"] for e in d["gpu"]["events"]]')" = "['warn', 'action', 'warn', 'action']" ] ||
  ms_fail "events: $($GPU_CHECK get "$out.json" 'd["gpu"]["events"]')"
ms_pass "warn and action fire once per crossing (twice for two crossings); the callback gets device, used, total, user data"

out=$MS_TMP/oom
gpu_run v3 "$out" "${small[@]}" "$FAKE_BIN/gpu_pressure" oom >"$out.out" 2>"$out.err" || ms_fail "oom: $(cat "$out.err")"
grep -q "^oom returned 2$" "$out.out" || ms_fail "cudaMalloc did not return cudaErrorMemoryAllocation unchanged: $(cat "$out.out")"
grep -q "cudaMalloc of 50.0 MiB on GPU 0 failed: out of memory (1000.0 MiB of 1000.0 MiB used); top holders: [0-9.]* MiB in leaky_growth (gpu_pressure+0x[0-9a-f]*); 100.0 MiB in model_cache" "$out.err" ||
  ms_fail "the out-of-memory line does not name leaky_growth first: $(cat "$out.err")"
ms_pass "out of memory: error returned unchanged, the log names the leaking function first"

out=$MS_TMP/kill
gpu_run v3 "$out" "${small[@]}" "$FAKE_BIN/gpu_pressure" oom-kill >"$out.out" 2>"$out.err" && ms_fail "oom-kill survived"
[ "$($GPU_CHECK get "$out.json" 'd["reason"]')" = gpu_oom ] || ms_fail "the report written at the failure is not there"
top=$($GPU_CHECK get "$out.json" '[s["frames"][0]["function"] for s in d["sites"] if s["id"] == [e for e in d["gpu"]["events"] if e["kind"] == "oom"][0]["top_sites"][0]["id"]][0]')
[ "$top" = leaky_growth ] || ms_fail "the report's oom event names $top first"
grep -A1 "^#1 .* via cudaMalloc " "$out.txt" | grep -q leaky_growth || ms_fail "text report: leaky_growth is not #1"
ms_pass "the report written at the out-of-memory stays when the process dies, leaky_growth first"

# the one-line Python recipe, exactly as documented
recipe=$(grep -h '^ \*   import ctypes, torch; _cb = ' "$SRC_DIR/include/memshim.h" | sed 's/^ \*   //')
[ -n "$recipe" ] || ms_fail "no recipe in include/memshim.h"
grep -qF "$recipe" "$SRC_DIR/docs/gpu.md" || ms_fail "docs/gpu.md does not carry the same recipe"
ms_require_python_module torch
cat >"$MS_TMP/recipe.py" <<PY
import ctypes, os, torch
calls = []
torch.cuda.empty_cache = lambda: calls.append(1)  # CPU torch here: count the calls instead
$recipe
rt = ctypes.CDLL(os.environ["FAKES"] + "/lib/libcudart.so.12")
p = ctypes.c_void_p()
for i in range(40):
    assert rt.cudaMalloc(ctypes.byref(p), ctypes.c_size_t(50 << 20)) == 0
    if calls:
        break
print("empty_cache calls", len(calls))
PY
out=$(gpu_run v3 "$MS_TMP/recipe" "${small[@]}" "$PYTHON" "$MS_TMP/recipe.py" 2>"$MS_TMP/recipe.err") || ms_fail "recipe: $(cat "$MS_TMP/recipe.err")"
[ "$out" = "empty_cache calls 1" ] || ms_fail "recipe: $out"
ms_pass "the documented one-line recipe registers torch.cuda.empty_cache; it runs at the action threshold"

out=$MS_TMP/nonvml
gpu_run none "$out" "${small[@]}" MEMSHIM_VERBOSE=1 "$FAKE_BIN/gpu_pressure" oom >"$out.out" 2>"$out.err" || ms_fail "no NVML"
grep -q "NVML is not available: MEMSHIM_GPU_WARN_PCT and MEMSHIM_GPU_ACTION_PCT are not checked" "$out.err" || ms_fail "not said: $(cat "$out.err")"
if grep -q "MEMSHIM_GPU_WARN_PCT=" "$out.err"; then ms_fail "a threshold fired without NVML"; fi
grep -q "failed: out of memory; top holders: [0-9.]* MiB in leaky_growth" "$out.err" || ms_fail "no NVML: out-of-memory line"
[ "$($GPU_CHECK get "$out.json" '(d["gpu"]["nvml"], d["gpu"]["devices"][0]["residual_bytes"], d["gpu"]["devices"][0]["nvml_process"])')" = "(False, 0, False)" ] ||
  ms_fail "no NVML: device figures"
ms_pass "without NVML: thresholds off (said once), out-of-memory still named, nvml false"
