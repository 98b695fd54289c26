#!/usr/bin/env bash
# NVML's per-process figure and the untracked residual: each process-list layout (v3 with 32-
# and with 24-byte entries, v2, v1; another process is listed first, so a wrong entry size
# misreads ours) gives the residual exactly (the fake context); a process NVML lists under
# another pid (a container) gets no NVML figure rather than a guess; two devices whose CUDA
# ordinals and NVML indices differ (CUDA_VISIBLE_DEVICES) are matched by UUID, each exact. The
# Prometheus metrics file carries the per-device figures.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/gpu.sh"

for v in v3cc v3 v2 v1; do
  gpu_run $v "$MS_TMP/$v" "$FAKE_BIN/torch_like12" >"$MS_TMP/$v.out" || ms_fail "NVML $v"
  $GPU_CHECK totals "$MS_TMP/$v.out" "$MS_TMP/$v.json" $CTX_BYTES || ms_fail "NVML $v: residual"
done
ms_pass "NVML process list v3 (32- and 24-byte entries), v2, v1: residual = the context, exactly"

gpu_run v3 "$MS_TMP/ns" FAKE_NVML_PID_SHIFT=100000 MEMSHIM_VERBOSE=1 "$FAKE_BIN/torch_like12" >"$MS_TMP/ns.out" 2>"$MS_TMP/ns.err" ||
  ms_fail "pid namespace run"
[ "$($GPU_CHECK get "$MS_TMP/ns.json" '[(x["nvml_process"], x["nvml_used_bytes"], x["residual_bytes"], x["total_bytes"] > 0) for x in d["gpu"]["devices"]]')" = \
  "[(False, 0, 0, True)]" ] || ms_fail "pid not in NVML's list: $($GPU_CHECK get "$MS_TMP/ns.json" 'd["gpu"]["devices"]')"
grep -q "NVML lists no process with pid" "$MS_TMP/ns.err" || ms_fail "the pid mismatch was not said"
grep -q "used unknown (NVML does not list this process)" "$MS_TMP/ns.txt" || ms_fail "text report: NVML figure not marked unknown"
ms_pass "NVML lists this process under another pid: no per-process figure, no residual guessed, said so"

two=(FAKE_CUDA_DEVICES=2 FAKE_CUDA_ORDINAL_SHIFT=1 MEMSHIM_METRICS_FILE="$MS_TMP/m.prom")
gpu_run v3 "$MS_TMP/d1" "${two[@]}" "$FAKE_BIN/torch_like12" device 1 >"$MS_TMP/d1.out" || ms_fail "device 1"
$GPU_CHECK sites "$MS_TMP/d1.out" "$MS_TMP/d1.json" || ms_fail "device 1: sites"
$GPU_CHECK totals "$MS_TMP/d1.out" "$MS_TMP/d1.json" $CTX_BYTES || ms_fail "device 1 (NVML index 0): residual"
[ "$($GPU_CHECK get "$MS_TMP/d1.json" '[(x["index"], x["name"]) for x in d["gpu"]["devices"]]')" = "[(1, 'Fake GPU 0')]" ] ||
  ms_fail "CUDA device 1 is NVML's device 0 here: $($GPU_CHECK get "$MS_TMP/d1.json" 'd["gpu"]["devices"]')"
ms_pass "CUDA ordinal 1 = NVML index 0 matched by UUID: per-device figures exact"

prom=$MS_TMP/m.prom
tracked=$($GPU_CHECK get "$MS_TMP/d1.json" 'd["gpu"]["devices"][0]["tracked_bytes"]')
grep -q "^memshim_gpu_tracked_bytes{pid=\"[0-9]*\",program=\"torch_like12\",device=\"1\"} $tracked$" "$prom" ||
  ms_fail "metrics: tracked: $(grep gpu_tracked "$prom")"
grep -q "^memshim_gpu_residual_bytes{.*device=\"1\"} $CTX_BYTES$" "$prom" || ms_fail "metrics: residual"
grep -q "^memshim_gpu_events_total{.*device=\"1\",kind=\"oom\"} 0$" "$prom" || ms_fail "metrics: events"
grep -q '^memshim_gpu_info{.*runtime="cudart 12.4",nvml="true"} 1$' "$prom" || ms_fail "metrics: info"
if command -v promtool >/dev/null; then
  promtool check metrics <"$prom" || ms_fail "promtool rejects the metrics file"
fi
ms_pass "Prometheus: per-device GPU metrics (tracked, residual, events, info)$(command -v promtool >/dev/null && echo ', promtool clean')"
