#!/bin/bash
# Memory-return benchmark: the torch load/unload cycles and the np.memmap scan, side by side
# under glibc, glibc tuned with MALLOC_TRIM_THRESHOLD_/MALLOC_MMAP_THRESHOLD_, plain jemalloc,
# jemalloc with decay 0, and memshim (both backends). Prints one table per workload: peak RSS,
# RSS after each unload, CPU time. All figures are measured in this run.
#
#   scripts/bench-rss.sh [--cycles N] [--size-mb MB] [--file-mb MB] [--quick]
#
# Uses $LIBMEMSHIM or build/libmemshim.so (built when missing), /usr/bin/python3, and a
# temporary directory (removed at exit) for the 1 GiB file and the state dict.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
CYCLES=10 SIZE_MB=300 FILE_MB=1024 CAP=64M
while [ $# -gt 0 ]; do
  case $1 in
    --cycles) CYCLES=$2; shift 2 ;;
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --file-mb) FILE_MB=$2; shift 2 ;;
    --quick) CYCLES=3 SIZE_MB=200 FILE_MB=256; shift ;;
    *) echo "usage: $0 [--cycles N] [--size-mb MB] [--file-mb MB] [--quick]" >&2; exit 2 ;;
  esac
done

. "$ROOT/scripts/lib/deps.sh"
ms_install_deps build test

LIB=${LIBMEMSHIM:-$ROOT/build/libmemshim.so}
if [ ! -e "$LIB" ]; then
  cmake -S "$ROOT" -B "$ROOT/build" >/dev/null && cmake --build "$ROOT/build" -j2 --target memshim >/dev/null
fi
JE=$(ls /usr/lib/*-linux-gnu/libjemalloc.so.2 2>/dev/null | head -1)
[ -n "$JE" ] || { echo "libjemalloc.so.2 not found (apt-get install libjemalloc2)" >&2; exit 1; }
"$PY" -c 'import numpy, torch' 2>/dev/null || { echo "needs python3-numpy and python3-torch" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/memshim-bench-rss.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
W=$ROOT/examples/workloads

# name | environment (words for env)
CONFIGS=(
  "glibc|"
  "glibc tuned|MALLOC_TRIM_THRESHOLD_=131072 MALLOC_MMAP_THRESHOLD_=131072"
  "jemalloc|LD_PRELOAD=$JE"
  "jemalloc decay 0|LD_PRELOAD=$JE MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0"
  "memshim|LD_PRELOAD=$LIB"
  "memshim glibc|LD_PRELOAD=$LIB MEMSHIM_BACKEND=glibc"
)

run() { # env-words -- command...: prints the workload's JSON
  local envw=$1; shift
  # shellcheck disable=SC2086
  env -u LIBMEMSHIM $envw "$@" | sed -n 's/^memshim-workload: //p' | tail -1
}

echo "== torch load/unload: ${SIZE_MB} MB state dict, $CYCLES cycles (RSS read 0.6 s after each unload) =="
"$PY" "$W/torch_cycles.py" --path "$TMP/sd.pt" --size-mb "$SIZE_MB" --make-only
printf '%-18s %9s %9s %10s %10s %10s %8s %8s %8s\n' config "base MB" "peak MB" "unload 1" "unload N" "max unl." "vs base" drift "CPU s"
for c in "${CONFIGS[@]}"; do
  name=${c%%|*} envw=${c#*|}
  j=$(run "$envw" "$PY" "$W/torch_cycles.py" --path "$TMP/sd.pt" --cycles "$CYCLES")
  "$PY" - "$name" "$j" <<'PY'
import json, sys
name, d = sys.argv[1], json.loads(sys.argv[2])
u, b = d["rss_after_unload_mb"], d["baseline_rss_mb"]
print("%-18s %9.1f %9.1f %10.1f %10.1f %10.1f %+7.1f%% %+7.1f%% %8.2f" % (
    name, b, d["peak_rss_mb"], u[0], u[-1], max(u), (max(u) - b) / b * 100,
    (u[-1] - u[0]) / u[0] * 100, d["cpu_seconds"]))
print("    after each unload (MB): " + " ".join("%.0f" % x for x in u), file=sys.stderr)
PY
done

echo
echo "== np.memmap single pass, shuffled 2 MiB blocks, ${FILE_MB} MB file, cap $CAP =="
"$PY" "$W/memmap_scan.py" --path "$TMP/data.bin" --size-mb "$FILE_MB" --make-only
cat "$TMP/data.bin" >/dev/null # page cache warm for every run alike
printf '%-34s %12s %12s %9s %8s %s\n' config "peak RssFile" "peak RSS MB" "seconds" "CPU s" checksum
scan() { # label env-words extra-args
  local j
  j=$(run "$2" "$PY" "$W/memmap_scan.py" --path "$TMP/data.bin" --block-kb 2048 $3)
  "$PY" -c 'import json,sys; d=json.loads(sys.argv[2]); print("%-34s %12.1f %12.1f %9.3f %8.2f %s" % (sys.argv[1], d["peak_rss_file_mb"], d["peak_rss_mb"], d["seconds"], d["cpu_seconds"], d["checksum"][:12]))' "$1" "$j"
}
# Unpaced: as fast as the page cache serves (several GB/s here); paced: a worker that processes
# 256 MB/s. Repeated 3 times each, in turn, so that noise shows.
for pace in "" "--rate-mb-s 256"; do for rep in 1 2 3; do
  tag=${pace:+, paced 256 MB/s}
  scan "no shim, no cap${tag}" "" "$pace"
  scan "memshim, no cap${tag}" "LD_PRELOAD=$LIB" "$pace"
  scan "memshim, cap $CAP${tag}" "LD_PRELOAD=$LIB MEMSHIM_MMAP_RESIDENT_MAX=$CAP" "$pace"
done; done
