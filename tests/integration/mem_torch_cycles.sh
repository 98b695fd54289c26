#!/bin/bash
# torch load/unload cycles (a saved state dict of ~256 MB in mixed tensor sizes: torch.load,
# copy, del, gc.collect) end with RSS close to the post-import baseline under both backends:
# every RSS after an unload within baseline + 10%. Not vacuous: each load must have raised RSS
# by at least 400 MB.
. "$(dirname "$0")/lib/common.sh"
ms_require_python_module torch

work="$SRC_DIR/examples/workloads/torch_cycles.py"
"$PYTHON" "$work" --path "$MS_TMP/sd.pt" --size-mb 256 --make-only
field() { "$PYTHON" -c 'import json,sys; d=json.loads(sys.stdin.read().split("memshim-workload: ",1)[1]); print(eval(sys.argv[1], {}, d))' "$1"; }

for backend in jemalloc glibc; do
  out=$(ms_preload MEMSHIM_BACKEND=$backend "$PYTHON" "$work" --path "$MS_TMP/sd.pt" --cycles 4 --settle 1.5 --wait-purge 20 | tail -1)
  echo "$backend: $out"
  base=$(field 'int(baseline_rss_mb)' <<<"$out")
  ms_assert_num "$(field 'int(peak_rss_mb - baseline_rss_mb)' <<<"$out")" -ge 400 "$backend: MB a load added"
  ms_assert_num "$(field 'int(max(rss_after_unload_mb))' <<<"$out")" -le "$((base * 110 / 100))" \
    "$backend: highest RSS after unload (MB) vs baseline $base MB + 10%"
  ms_assert_num "$(field 'memshim["purge.count"]' <<<"$out")" -ge 4 "$backend: purges (one per unload at least)"
  ms_pass "$backend: RSS after each unload $(field rss_after_unload_mb <<<"$out") MB, baseline $base MB"
done
