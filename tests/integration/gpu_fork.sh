#!/usr/bin/env bash
# fork: CUDA state does not survive into a child. A parent holding 40 MiB of device memory forks;
# the child's report shows only the 3 MiB it allocated itself, the parent's only its own 40 MiB.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/gpu.sh"

gpu_run v3 "$MS_TMP/f.%p" "$FAKE_BIN/gpu_fork" >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "gpu_fork: $(cat "$MS_TMP/err")"
parent=$(sed -n 's/^parent //p' "$MS_TMP/out")
child=$(sed -n 's/^child //p' "$MS_TMP/out")
[ -n "$parent" ] && [ -n "$child" ] || ms_fail "pids: $(cat "$MS_TMP/out")"
q='[(s["frames"][0]["function"], s["memory"]["device"]["live_bytes"]) for s in d["sites"] if "device" in s["memory"]]'
[ "$($GPU_CHECK get "$MS_TMP/f.$child.json" "$q")" = "[('child_alloc', $((3 << 20)))]" ] ||
  ms_fail "child: $($GPU_CHECK get "$MS_TMP/f.$child.json" "$q")"
[ "$($GPU_CHECK get "$MS_TMP/f.$parent.json" "$q")" = "[('parent_alloc', $((40 << 20)))]" ] ||
  ms_fail "parent: $($GPU_CHECK get "$MS_TMP/f.$parent.json" "$q")"
[ "$($GPU_CHECK get "$MS_TMP/f.$child.json" 'd["gpu"]["devices"][0]["tracked_bytes"]')" = $((3 << 20)) ] || ms_fail "child tracked"
ms_pass "fork: the child starts with no GPU state and reports only its own device memory"
