#!/usr/bin/env bash
# GPU memory through the CUDA runtime (fake libcudart.so.12/.13 over a fake libcuda.so.1, tests/fakes):
# a PyTorch-like program's call sites get their device bytes exactly (cudaMalloc, pitched/3-D,
# managed, the stream-ordered pool, expandable segments through cudaGetDriverEntryPointByVersion),
# each byte counted once although both the runtime and the driver beneath it are wrapped, pooled
# frees stay pool-reserved until trimmed, VMM physical bytes live until released and unmapped,
# host-pinned memory is its own bucket, the residual is exactly the fake context, and memshim
# creates no context and calls neither cuInit nor cuMemGetInfo. Also: MEMSHIM_GPU=0, profiling on.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/gpu.sh"

for rt in 12 13; do
  extra=()
  [ $rt = 13 ] && extra=(FAKE_CUDA_VERSION=13000) # CUDA 13 mode: driver and runtime at 13.0
  out=$MS_TMP/rt$rt
  gpu_run v3 "$out" "${extra[@]}" "$FAKE_BIN/torch_like$rt" >"$out.out" 2>"$out.err" || ms_fail "torch_like$rt: $(cat "$out.err")"
  [ ! -s "$out.err" ] || ms_fail "torch_like$rt wrote to stderr: $(cat "$out.err")"
  $GPU_CHECK sites "$out.out" "$out.json" || ms_fail "cudart $rt: per-site device bytes"
  $GPU_CHECK totals "$out.out" "$out.json" $CTX_BYTES || ms_fail "cudart $rt: totals"
  want=$([ $rt = 12 ] && echo "cudart 12.4" || echo "cudart 13.0")
  [ "$($GPU_CHECK get "$out.json" 'd["gpu"]["runtime"]')" = "$want" ] || ms_fail "cudart $rt: runtime is not '$want'"
  grep -q "^vmm cuMemCreate from libmemshim.so" "$out.out" || ms_fail "cudaGetDriverEntryPointByVersion did not hand out memshim's cuMemCreate"
  ms_pass "cudart $rt: every call site exact, each byte once, pool reserve, VMM, pinned; residual = the context; no context of memshim's"
done

out=$MS_TMP/rt12
# pool-reserved: three 16 MiB async frees, then 8 and 4 MiB served from the pool: 40 MiB left
[ "$($GPU_CHECK get "$out.json" 'd["gpu"]["devices"][0]["pool_reserved_bytes"]')" = $((40 << 20)) ] ||
  ms_fail "pool-reserved bytes after async frees"
grep -q "^\[device\];.*;main;leaky_cache;cudaMalloc $((80 << 20))$" "$out.collapsed" || ms_fail "collapsed: no [device] line for leaky_cache"
grep -q "^\[host_pinned\];.*;pinned_staging;cudaMallocHost $((4 << 20))$" "$out.collapsed" || ms_fail "collapsed: no [host_pinned] line"
grep -q "^  device 0 Fake GPU 0: tracked 432.2 MiB, used 686.2 MiB (residual 254.0 MiB) of 16.0 GiB$" "$out.txt" ||
  ms_fail "text: the device line"
grep -q "^    pool reserved 40.0 MiB (part of tracked); host pinned 4.0 MiB" "$out.txt" || ms_fail "text: pool and pinned"
grep -A1 "^#1  256.0 MiB live in 4 allocations via cudaMalloc " "$out.txt" | grep -q "load_weights" ||
  ms_fail "text: load_weights is not the top device site"
ms_pass "collapsed [device]/[host_pinned] lines, text report: devices, residual, top site"

# the pool trimmed: nothing reserved any more, and the driver agrees
gpu_run v3 "$MS_TMP/trim" "$FAKE_BIN/torch_like12" trim >"$MS_TMP/trim.out" || ms_fail "trim run"
$GPU_CHECK totals "$MS_TMP/trim.out" "$MS_TMP/trim.json" $CTX_BYTES || ms_fail "after cudaMemPoolTrimTo"
[ "$($GPU_CHECK get "$MS_TMP/trim.json" 'd["gpu"]["devices"][0]["pool_reserved_bytes"]')" = 0 ] || ms_fail "pool not trimmed"
ms_pass "cudaMemPoolTrimTo(pool, 0): pool-reserved back to 0, as in the driver"

# heap profiling and GPU in one report
gpu_run v3 "$MS_TMP/prof" MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1 "$FAKE_BIN/torch_like12" >"$MS_TMP/prof.out" || ms_fail "profiled run"
$GPU_CHECK sites "$MS_TMP/prof.out" "$MS_TMP/prof.json" || ms_fail "profiled: per-site device bytes"
[ "$($GPU_CHECK get "$MS_TMP/prof.json" 'd["profile"]["exact"] and "heap" in d["profile"]["totals"]')" = True ] || ms_fail "profiled: heap part"
ms_pass "MEMSHIM_PROFILE=1: heap and device sites in one report"

# profiling on, but no heap sample taken: libc (__libc_start_main) is only in the device sites'
# frames; every module a native frame points into is listed (its build id in pprof's mappings)
gpu_run v3 "$MS_TMP/prof_nosample" MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1G "$FAKE_BIN/torch_like12" >/dev/null ||
  ms_fail "profiled run without samples"
unlisted=$($GPU_CHECK get "$MS_TMP/prof_nosample.json" 'sorted({f["module"] for s in d["sites"] for f in s["frames"]
  if f["kind"] == "native" and f["module"].startswith("/")} - {m["path"] for m in d["modules"]})')
[ "$unlisted" = "[]" ] || ms_fail "profiled: modules of device sites missing from the report's modules: $unlisted"
[ "$($GPU_CHECK get "$MS_TMP/prof_nosample.json" 'any(m["path"].endswith("/libc.so.6") for m in d["modules"])')" = True ] ||
  ms_fail "profiled: libc, named only by device sites, not among the modules"
ms_pass "MEMSHIM_PROFILE=1: the modules of device-only sites are listed too"

# MEMSHIM_GPU=0: the calls pass through, the report has no GPU part; MEMSHIM_ENABLE=0: no report at all
gpu_run v3 "$MS_TMP/off" MEMSHIM_GPU=0 MEMSHIM_PROFILE=1 "$FAKE_BIN/torch_like12" >"$MS_TMP/off.out" || ms_fail "MEMSHIM_GPU=0 run"
grep -q "^vmm cuMemCreate from libcuda.so.1" "$MS_TMP/off.out" || ms_fail "MEMSHIM_GPU=0 still handed out a wrapper"
[ "$($GPU_CHECK get "$MS_TMP/off.json" '"gpu" in d')" = False ] || ms_fail "MEMSHIM_GPU=0: the report has a gpu section"
gpu_run v3 "$MS_TMP/disabled" MEMSHIM_ENABLE=0 "$FAKE_BIN/torch_like12" >"$MS_TMP/disabled.out" || ms_fail "MEMSHIM_ENABLE=0 run"
grep -q "^vmm cuMemCreate from libcuda.so.1" "$MS_TMP/disabled.out" || ms_fail "MEMSHIM_ENABLE=0 still handed out a wrapper"
ls "$MS_TMP"/disabled.* | grep -qv "disabled.out" && ms_fail "MEMSHIM_ENABLE=0 wrote a report"
ms_pass "MEMSHIM_GPU=0 and MEMSHIM_ENABLE=0: driver functions handed out untouched, no GPU section"
