#!/bin/bash
# np.memmap single pass, blocks in shuffled order, over a generated 256 MB file, with
# MEMSHIM_MMAP_RESIDENT_MAX=64M: peak RssFile (sampled after every block) stays within the cap
# plus one polling interval's worth of reads, and the checksum equals the one without the shim.
# The scan is paced (256 MB/s, like a worker that processes what it reads) and polled every
# 50 ms, so one interval is ~13 MB: far below the file, the check is not vacuous.
. "$(dirname "$0")/lib/common.sh"
ms_require_python_module numpy

scan="$SRC_DIR/examples/workloads/memmap_scan.py"
data="$MS_TMP/data.bin"
"$PYTHON" "$scan" --path "$data" --size-mb 256 --make-only
field() { "$PYTHON" -c 'import json,sys; d=json.loads(sys.stdin.read().split("memshim-workload: ",1)[1]); print(eval(sys.argv[1], {}, d))' "$1"; }

plain=$("$PYTHON" "$scan" --path "$data" --block-kb 2048 | tail -1)
capped=$(ms_preload MEMSHIM_MMAP_RESIDENT_MAX=64M MEMSHIM_PURGE_INTERVAL=50ms \
         "$PYTHON" "$scan" --path "$data" --block-kb 2048 --rate-mb-s 256 | tail -1)
echo "without shim: $plain"
echo "capped:       $capped"

[ "$(field checksum <<<"$plain")" = "$(field checksum <<<"$capped")" ] || ms_fail "checksums differ"
peak=$(field 'int(peak_rss_file_mb)' <<<"$capped")
allow=$(field 'int(64 + read_mb_per_s * 0.05 + 2 + 1)' <<<"$capped") # cap + one interval + one block
dropped=$(field 'memshim["mmap.dropped"] >> 20' <<<"$capped")
free_peak=$(field 'int(peak_rss_file_mb)' <<<"$plain")
ms_assert_num "$free_peak" -gt "$allow" "uncapped peak RssFile (MB) must exceed the allowance, or the test proves nothing"
ms_assert_num "$peak" -le "$allow" "capped peak RssFile (MB)"
ms_assert_num "$dropped" -ge 128 "MB dropped by the cap"
ms_pass "peak RssFile ${peak} MB <= ${allow} MB (uncapped ${free_peak} MB), ${dropped} MB dropped, checksum equal"
