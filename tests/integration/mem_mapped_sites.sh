#!/usr/bin/env bash
# Tracked file mappings are reported apart from the heap, per call site, with their resident
# bytes (docs/report-format.md, mapped_files): a Python worker maps a 64 MiB file with np.memmap
# in load_weights(), reads its first 8 MiB, and holds a 32 MiB anonymous array made elsewhere.
# Its report (memshim snapshot, while the mapping lives) lists the mapping with the file's path,
# mapped bytes = the file's size, resident bytes = the part read (give or take fault-around),
# its site named by the np.memmap line in load_weights, droppable, and the droppable total;
# the 32 MiB array is a heap site, not a mapping. The text report says the same in words, and
# `memshim report` reads the section back (text, and JSON unchanged).
. "$(dirname "$0")/lib/common.sh"
ms_require_python_module numpy

data="$MS_TMP/weights.bin"
stop="$MS_TMP/stop"
"$PYTHON" -c 'import sys; open(sys.argv[1], "wb").write(bytes(range(256)) * (64 << 12))' "$data"
cat >"$MS_TMP/worker.py" <<'PY'
import os, sys, time
import numpy as np

def load_weights(path):
    return np.memmap(path, dtype=np.uint8, mode="r")  # MAP_LINE

def make_buffer():
    return np.ones(32 << 20, dtype=np.uint8)

weights = load_weights(sys.argv[1])
checksum = int(weights[: 8 << 20 : 4096].sum())  # one byte of each of the first 2048 pages
buf = make_buffer()
print("ready", checksum, flush=True)
deadline = time.monotonic() + 600
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.05)
PY
map_line=$(grep -n 'MAP_LINE' "$MS_TMP/worker.py" | cut -d: -f1)

env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_MMAP_RESIDENT_MAX=1G MEMSHIM_REPORT=json,text \
  MEMSHIM_REPORT_PATH="$MS_TMP/rep.%p" "$PYTHON" "$MS_TMP/worker.py" "$data" "$stop" \
  >"$MS_TMP/out" 2>"$MS_TMP/err" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$MS_TMP"' EXIT
ms_wait_for 120 grep -q '^ready' "$MS_TMP/out" || ms_fail "worker did not start: $(cat "$MS_TMP/err")"
"$MS_TEST_CLI" snapshot "$pid" >"$MS_TMP/snap" 2>"$MS_TMP/snap.err" || ms_fail "snapshot: $(cat "$MS_TMP/snap.err")"
# the exit report replaces these files, and by then Python's teardown has unmapped the file
cp "$MS_TMP/rep.$pid.json" "$MS_TMP/live.json" && cp "$MS_TMP/rep.$pid.txt" "$MS_TMP/live.txt"
touch "$stop"
wait "$pid" || ms_fail "worker failed: $(cat "$MS_TMP/err")"

"$PYTHON" - "$MS_TMP/live.json" "$data" "$MS_TMP/worker.py" "$map_line" <<'PY' || ms_fail "JSON report: see above"
import json, os, sys
d = json.load(open(sys.argv[1]))
data, script, line = sys.argv[2], sys.argv[3], int(sys.argv[4])
size, page = os.path.getsize(data), os.sysconf("SC_PAGE_SIZE")
mf = d.get("mapped_files")
assert mf, "no mapped_files section: %s" % sorted(d)
ours = [m for m in mf["mappings"] if m.get("path") == data]
assert len(ours) == 1, mf
m = ours[0]
assert m["mapped_bytes"] == size and int(m["end"], 16) - int(m["start"], 16) == size, m
read = 8 << 20
# every page of the part read is mapped in; fault-around may map a few more next to the last one
assert read - 4 * page <= m["resident_bytes"] <= read + 64 * page, (m, read)
assert m["droppable"] is True, m
assert mf["droppable_resident_bytes"] >= m["resident_bytes"], mf
sites = {s["id"]: s for s in d["sites"]}
site = sites.get(m["site"])
assert site, "site %s not among the report's sites" % m["site"]
py = [f for f in site["frames"] if f.get("kind") == "python" and f.get("file") == script]
assert py and py[0]["line"] == line and py[0]["function"] == "load_weights", site["frames"]
assert not site["memory"]["heap"].get("live_bytes"), site  # the mapping is not heap
# the 32 MiB anonymous array: a heap site in make_buffer, and no mapping of that size
heap = [s for s in d["sites"] if any(f.get("function") == "make_buffer" for f in s["frames"])]
assert heap and sum(s["memory"]["heap"]["live_bytes"] for s in heap) >= 32 << 20, heap
assert sum(x["resident_bytes"] for x in mf["mappings"]) < 32 << 20, mf
print("mapping: %d bytes mapped, %d resident, site %d" % (m["mapped_bytes"], m["resident_bytes"], m["site"]))
PY
txt="$MS_TMP/live.txt"
grep -q "^mapped files (not heap): .* page cache the cap can drop" "$txt" || ms_fail "text report: $(cat "$txt")"
grep -F "$data" "$txt" | grep -q "worker.py:$map_line load_weights" || ms_fail "text report line: $(grep -F "$data" "$txt")"
# the CLI reads the section back and renders it the same way (src/cli/load.c)
"$MS_TEST_CLI" report "$MS_TMP/live.json" >"$MS_TMP/cli.txt" || ms_fail "memshim report failed"
grep -F "$data" "$MS_TMP/cli.txt" | grep -q "worker.py:$map_line load_weights" || ms_fail "memshim report: $(cat "$MS_TMP/cli.txt")"
"$MS_TEST_CLI" report --format json "$MS_TMP/live.json" >"$MS_TMP/again.json" || ms_fail "memshim report --format json failed"
"$PYTHON" -c 'import json,sys; a,b=(json.load(open(f))["mapped_files"] for f in sys.argv[1:]); assert a == b, (a, b)' \
  "$MS_TMP/live.json" "$MS_TMP/again.json" || ms_fail "mapped_files changed through the CLI's JSON round trip"
ms_pass "np.memmap in load_weights: reported at worker.py:$map_line with its resident bytes, apart from the heap"
