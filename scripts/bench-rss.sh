#!/bin/bash
# Memory-return benchmark: the torch load/unload cycles side by side under glibc, glibc tuned with
# MALLOC_TRIM_THRESHOLD_/MALLOC_MMAP_THRESHOLD_, plain jemalloc, jemalloc with decay 0, and
# memshim (both backends): peak RSS, RSS right at each unload (0 s) and 0.5 s later, CPU time.
# Then the np.memmap scan under caps of 64M and 256M (peak resident against the cap, time
# against no cap), and what an idle capped process costs. All figures are measured in this run.
#
#   scripts/bench-rss.sh [--cycles N] [--size-mb MB] [--file-mb MB] [--quick]
#
# Uses $LIBMEMSHIM or build/libmemshim.so (built when missing), /usr/bin/python3, and a
# temporary directory (removed at exit) for the 1 GiB file and the state dict.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
CYCLES=10 SIZE_MB=300 FILE_MB=1024 IDLE_S=20
while [ $# -gt 0 ]; do
  case $1 in
    --cycles) CYCLES=$2; shift 2 ;;
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --file-mb) FILE_MB=$2; shift 2 ;;
    --quick) CYCLES=3 SIZE_MB=200 FILE_MB=256 IDLE_S=5; shift ;;
    *) echo "usage: $0 [--cycles N] [--size-mb MB] [--file-mb MB] [--quick]" >&2; exit 2 ;;
  esac
done

. "$ROOT/scripts/lib/deps.sh"
. "$ROOT/scripts/lib/build.sh"
ms_install_deps build test

LIB=${LIBMEMSHIM:-$ROOT/build/libmemshim.so}
if [ ! -e "$LIB" ]; then
  ms_build "$ROOT/build"
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

echo "== torch load/unload: ${SIZE_MB} MB state dict, $CYCLES cycles; RSS right at each unload (0 s) and 0.5 s later =="
"$PY" "$W/torch_cycles.py" --path "$TMP/sd.pt" --size-mb "$SIZE_MB" --make-only
printf '%-18s %8s %8s %11s %11s %9s %9s %8s\n' config "base MB" "peak MB" "max at 0 s" "max at .5 s" "0 s/base" ".5 s/base" "CPU s"
for c in "${CONFIGS[@]}"; do
  name=${c%%|*} envw=${c#*|}
  j=$(run "$envw" "$PY" "$W/torch_cycles.py" --path "$TMP/sd.pt" --cycles "$CYCLES" --settle 0.5)
  "$PY" - "$name" "$j" <<'PY'
import json, sys
name, d = sys.argv[1], json.loads(sys.argv[2])
z, u, b = d["rss_at_unload_mb"], d["rss_after_unload_mb"], d["baseline_rss_mb"]
print("%-18s %8.1f %8.1f %11.1f %11.1f %+8.1f%% %+8.1f%% %8.2f" % (
    name, b, d["peak_rss_mb"], max(z), max(u), (max(z) - b) / b * 100, (max(u) - b) / b * 100, d["cpu_seconds"]))
print("    at 0 s (MB): " + " ".join("%.0f" % x for x in z), file=sys.stderr)
print("    at 0.5 s (MB): " + " ".join("%.0f" % x for x in u), file=sys.stderr)
PY
done

echo
echo "== np.memmap single pass, shuffled 1 MiB blocks, ${FILE_MB} MB file (unpaced: as fast as the page cache serves) =="
"$PY" "$W/memmap_scan.py" --path "$TMP/data.bin" --size-mb "$FILE_MB" --make-only
cat "$TMP/data.bin" >/dev/null # page cache warm for every run alike
printf '%-26s %20s %12s %9s %s\n' config "peak RssFile MB" "vs cap" "seconds" checksum
scan() { # label env-words: prints the row, appends "peak seconds" to $TMP/scan.<label, _ for spaces>
  local j
  j=$(run "$2" "$PY" "$W/memmap_scan.py" --path "$TMP/data.bin" --block-kb 1024)
  "$PY" - "$1" "$j" "$TMP/scan.${1// /_}" <<'PY'
import json, re, sys
label, d, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
m = re.search(r"cap (\d+)M", label)
vs = "%+.0f MB" % (d["peak_rss_file_mb"] - int(m.group(1))) if m else ""
print("%-26s %20.1f %12s %9.3f %s" % (label, d["peak_rss_file_mb"], vs, d["seconds"], d["checksum"][:12]))
open(out, "a").write("%s %s\n" % (d["peak_rss_file_mb"], d["seconds"]))
PY
}
# 5 rounds, the configurations in turn within each, so that noise shows and hits all alike.
for rep in 1 2 3 4 5; do
  scan "memshim, no cap" "LD_PRELOAD=$LIB"
  scan "memshim, cap 64M" "LD_PRELOAD=$LIB MEMSHIM_MMAP_RESIDENT_MAX=64M"
  scan "memshim, cap 256M" "LD_PRELOAD=$LIB MEMSHIM_MMAP_RESIDENT_MAX=256M"
done
"$PY" - "$TMP" <<'PY'
import statistics, sys
t = sys.argv[1]
def load(name):
    rows = [tuple(map(float, l.split())) for l in open("%s/scan.%s" % (t, name))]
    return [r[0] for r in rows], [r[1] for r in rows]
_, base = load("memshim,_no_cap")
print("over 5 rounds:")
for cap in (64, 256):
    peaks, secs = load("memshim,_cap_%dM" % cap)
    print("  cap %3dM: peak RssFile max %.0f MB (cap + %.0f MB; target cap + 64 MB), median %.0f MB; "
          "median scan time %.3f s against %.3f s without a cap: x%.2f (target <= x1.10)" % (
              cap, max(peaks), max(peaks) - cap, statistics.median(peaks), statistics.median(secs),
              statistics.median(base), statistics.median(secs) / statistics.median(base)))
PY

echo
echo "== idle: the scan done, the file still mapped, the process asleep ${IDLE_S} s =="
for cfg in "no cap|" "cap 64M|MEMSHIM_MMAP_RESIDENT_MAX=64M" "cap 256M|MEMSHIM_MMAP_RESIDENT_MAX=256M"; do
  j=$(run "LD_PRELOAD=$LIB ${cfg#*|}" "$PY" "$W/memmap_scan.py" --path "$TMP/data.bin" --block-kb 1024 --idle-s "$IDLE_S")
  "$PY" -c 'import json,sys; d=json.loads(sys.argv[2]); print("%-10s CPU while asleep: %.4f s" % (sys.argv[1], d["idle_cpu_seconds"]))' "${cfg%%|*}" "$j"
done
echo "(target: a capped process asleep 20 s costs <= 0.05 s more CPU than an uncapped one)"
