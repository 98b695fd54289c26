#!/usr/bin/env bash
# The exit sequence (core/init.c, docs/design.md "Exit") on real exits: exit() from main, return
# from main, exit() from a second thread, and exit() after a vfork child that itself called exit()
# in our memory. The program (progs/exit_order.c) holds 24 MiB of device memory from the fake CUDA
# runtime, whose teardown at exit destroys its contexts (FAKE_CUDART_TEARDOWN=1; the fake NVML
# says so on stderr when read after it). For each way:
# - profiling, a leak check that fails and the metrics file: status 0 becomes 1 (the exit report
#   knew the status); one exit report and one metrics file, both the parent's, with the device
#   site and NVML's figure read before the runtime's teardown (24 MiB tracked + the context);
# - GPU only (no profiling, no MEMSHIM_REPORT), exit status 3: the GPU exit report and the metrics
#   file, once each, the parent's, with the same device figures; status 3 kept.
# Nothing is written by or for the vfork child.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/gpu.sh"

used=$(((24 << 20) + CTX_BYTES))
# check NAME DIR RC WANT_RC: one exit report (text) and one metrics file in DIR, the parent's.
check() {
  local name=$1 dir=$2 rc=$3 want=$4
  [ "$rc" -eq "$want" ] || ms_fail "$name: status $rc, want $want: $(cat "$dir/err")"
  ! grep -q "after the CUDA runtime's teardown" "$dir/err" || ms_fail "$name: NVML read after the runtime's teardown"
  pid=$(sed -n 's/^pid //p' "$dir/out")
  [ -n "$pid" ] || ms_fail "$name: no pid: $(cat "$dir/out" "$dir/err")"
  child=$(sed -n 's/^vfork child //p' "$dir/out")
  files=$(cd "$dir/rep" && ls | paste -sd' ' -)
  [ "$files" = "m.$pid.prom r.$pid.txt" ] || ms_fail "$name: want m.$pid.prom r.$pid.txt (the parent's), found: $files"
  head -1 "$dir/rep/r.$pid.txt" | grep -q "(pid $pid), exit report" || ms_fail "$name: not the exit report: $(head -1 "$dir/rep/r.$pid.txt")"
  [ "$(grep -c ', exit report' "$dir/rep/r.$pid.txt")" -eq 1 ] || ms_fail "$name: the report was written twice into one file"
  grep -q "^  device 0 Fake GPU 0: tracked 24.0 MiB, used 278.0 MiB (residual 254.0 MiB)" "$dir/rep/r.$pid.txt" ||
    ms_fail "$name: device line: $(grep 'device 0' "$dir/rep/r.$pid.txt")"
  grep -A2 "^#1  24.0 MiB live in 1 allocations via " "$dir/rep/r.$pid.txt" | grep -q "^      device_weights " ||
    ms_fail "$name: device_weights is not the device site: $(grep -A2 '^#1  .* via ' "$dir/rep/r.$pid.txt")"
  [ "$(ms_metric "$dir/rep/m.$pid.prom" memshim_gpu_nvml_used_bytes)" = "$used" ] ||
    ms_fail "$name: metrics nvml used: $(grep nvml_used "$dir/rep/m.$pid.prom")"
  [ "$(ms_metric "$dir/rep/m.$pid.prom" memshim_gpu_tracked_bytes)" = $((24 << 20)) ] || ms_fail "$name: metrics tracked"
}

for how in exit return thread vfork; do
  d=$MS_TMP/$how
  mkdir -p "$d/rep"
  rc=0
  timeout -s KILL 300 env LD_LIBRARY_PATH="$(gpu_libs v3)" LD_PRELOAD="$MS_TEST_LIB" FAKE_CUDART_TEARDOWN=1 \
    MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=64K MEMSHIM_LEAK_CHECK=1M MEMSHIM_REPORT=text \
    MEMSHIM_REPORT_PATH="$d/rep/r.%p" MEMSHIM_METRICS_FILE="$d/rep/m.%p.prom" \
    "$PROGS/exit_order" $how 0 1.5 >"$d/out" 2>"$d/err" || rc=$?
  check "$how (profile, leak check)" "$d" $rc 1
  [ "$(grep -c 'exit status 1 (the program itself exited with 0)' "$d/err")" -eq 1 ] ||
    ms_fail "$how: the leak check's status line is not there once: $(cat "$d/err")"
  ms_pass "$how (profile, leak check, metrics): status 0 -> 1; one exit report and one metrics file, the parent's${child:+ (none for the vfork child, pid $child)}; device site and NVML figures from before the runtime's teardown"

  d=$MS_TMP/$how.gpu
  mkdir -p "$d/rep"
  rc=0
  timeout -s KILL 300 env -u MEMSHIM_REPORT LD_LIBRARY_PATH="$(gpu_libs v3)" LD_PRELOAD="$MS_TEST_LIB" FAKE_CUDART_TEARDOWN=1 \
    MEMSHIM_REPORT_PATH="$d/rep/r.%p" MEMSHIM_METRICS_FILE="$d/rep/m.%p.prom" \
    "$PROGS/exit_order" $how 3 0 >"$d/out" 2>"$d/err" || rc=$?
  check "$how (GPU only)" "$d" $rc 3
  [ ! -s "$d/err" ] || ms_fail "$how (GPU only): stderr: $(cat "$d/err")"
  ms_pass "$how (GPU only, metrics): status 3 kept; one GPU exit report and one metrics file, the parent's${child:+ (none for the vfork child, pid $child)}; NVML read before the runtime's teardown"
done
