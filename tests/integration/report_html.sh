#!/usr/bin/env bash
# The HTML report in a real browser (headless Chromium): a leaking C++ program's report written
# by the library (MEMSHIM_REPORT=html) is byte for byte the page the CLI renders from the same
# run's JSON; after the page's scripts ran, the DOM has the leaking function in the flame graph
# and in the table, the timeline has its series, a #search= link marks the function; the Python
# and GPU contract fixtures render their Python frames and GPU series; several reports combine
# into one page; the page fetches nothing. Screenshots stay in $BUILD_DIR/test-output/report_html.
. "$(dirname "$0")/lib/common.sh"
cli=${MS_TEST_CLI:?}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || ms_skip "chromium is not installed (Debian package chromium; scripts/test.sh installs it)"
out=$BUILD_DIR/test-output/report_html
mkdir -p "$out"
data=$SRC_DIR/tests/integration/data

# dom PAGE [HASH] -> the DOM after the scripts ran; shot PAGE PNG [HEIGHT]
chrome() { "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$MS_TMP/chrome" \
  --virtual-time-budget=5000 "$@" 2>>"$MS_TMP/chrome.log"; }
dom() { chrome --dump-dom "file://$1${2:-}" >"$MS_TMP/dom.html"; grep -q 'data-rendered="1"' "$MS_TMP/dom.html" ||
  ms_fail "$1: the page's script did not finish (see $MS_TMP/chrome.log)"; }
shot() { chrome --window-size=1280,${3:-1400} --screenshot="$2" "file://$1" >/dev/null
  file "$2" | grep -q "PNG image data, 1280 x ${3:-1400}" || ms_fail "no screenshot of $1: $(file "$2")"; }

# --- a leaking C++ program: the library writes the page, the CLI renders the same one
ms_preload MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json,html MEMSHIM_REPORT_PATH="$MS_TMP/cxx" MEMSHIM_SNAPSHOT_INTERVAL=50ms \
  "$PROGS/prof_leaky_cxx" 1.5 >/dev/null
[ -s "$MS_TMP/cxx.html" ] || ms_fail "MEMSHIM_REPORT=html wrote no cxx.html"
start=$(date +%s%N)
"$cli" report "$MS_TMP/cxx.json" --format html >"$MS_TMP/cli.html" || ms_fail "report --format html failed"
render_ms=$(( ($(date +%s%N) - start) / 1000000 ))
cmp -s "$MS_TMP/cxx.html" "$MS_TMP/cli.html" || ms_fail "the library's page differs from the CLI's for the same report"
grep -qiE '<(script|img|link|iframe)[^>]* (src|href)=|@import|url\(' "$MS_TMP/cli.html" && ms_fail "the page loads something"
[ "$(grep -oE 'https?://[^"]*' "$MS_TMP/cli.html" | sort -u)" = "http://www.w3.org/2000/svg" ] ||
  ms_fail "the page names URLs other than the SVG namespace: $(grep -oE 'https?://[^"]*' "$MS_TMP/cli.html" | sort -u)"
ms_pass "library and CLI write the same self-contained page ($(stat -c %s "$MS_TMP/cli.html") bytes, rendered in ${render_ms} ms)"

start=$(date +%s%N)
dom "$MS_TMP/cli.html"
load_ms=$(( ($(date +%s%N) - start) / 1000000 ))
fn='SessionRegistry::register_session(int)'
grep -qF "class=\"node\" data-name=\"$fn\"" "$MS_TMP/dom.html" || ms_fail "the flame graph has no node for $fn"
grep -qF "<b>$fn</b>" "$MS_TMP/dom.html" || ms_fail "the table does not list $fn"
for s in rss heap_live; do grep -q "data-series=\"$s\"" "$MS_TMP/dom.html" || ms_fail "the timeline lacks $s"; done
grep -q 'class="verdict-none">no limit set, steady growth' "$MS_TMP/dom.html" || ms_fail "the leak column is missing"
dom "$MS_TMP/cli.html" '#search=register_session'
grep -qF "class=\"node match\" data-name=\"$fn\"" "$MS_TMP/dom.html" || ms_fail "#search= did not mark $fn"
grep -q 'id="matched"[^>]*>matched [0-9.]* [KMG]iB' "$MS_TMP/dom.html" || ms_fail "search shows no matched bytes"
shot "$MS_TMP/cli.html" "$out/cxx.png"
ms_pass "Chromium renders it in ${load_ms} ms: $fn in the flame graph and the table, timeline drawn, search marks it ($out/cxx.png)"

# --- the contract fixtures: Python frames, GPU sites and series
"$cli" report "$data/report_python.json" --format html >"$MS_TMP/py.html"
dom "$MS_TMP/py.html"
grep -qF 'class="node py" data-name="/app/worker.py:42 Encoder.encode_batch"' "$MS_TMP/dom.html" ||
  ms_fail "the Python frame is not a flame-graph node"
grep -qF 'data-name="/app/odd dir/x.py:5 f;g &lt;lambda&gt;"' "$MS_TMP/dom.html" || ms_fail "a Python frame with odd characters is missing"
shot "$MS_TMP/py.html" "$out/python.png"
"$cli" report "$data/report_gpu.json" --format html >"$MS_TMP/gpu.html"
dom "$MS_TMP/gpu.html"
for s in gpu_tracked gpu_used; do grep -q "data-series=\"$s\"" "$MS_TMP/dom.html" || ms_fail "the GPU timeline lacks $s"; done
grep -q '<option value="1">live GPU bytes</option>' "$MS_TMP/dom.html" || ms_fail "no GPU view of the flame graph"
grep -q 'NVIDIA H200: tracked 11.0 GiB' "$MS_TMP/dom.html" || ms_fail "the GPU device is not listed"
shot "$MS_TMP/gpu.html" "$out/gpu.png"
ms_pass "fixtures: Python frames are flame-graph nodes, GPU series and devices shown"

# --- real runs, not fixtures: a Python worker and a GPU server (the fake CUDA libraries)
cat >"$MS_TMP/worker.py" <<'PYW'
import time
kept = []
def encode_batch(i):
    kept.append(bytearray(256 << 10))  # the leak: 256 KiB kept per batch
t0 = time.monotonic()
i = 0
while time.monotonic() - t0 < 1.5:
    encode_batch(i)
    i += 1
    time.sleep(0.002)
PYW
ms_preload MEMSHIM_PROFILE=1 MEMSHIM_REPORT=html MEMSHIM_REPORT_PATH="$MS_TMP/pyrun" "$PYTHON" "$MS_TMP/worker.py"
[ -s "$MS_TMP/pyrun.html" ] || ms_fail "the Python worker wrote no HTML report"
dom "$MS_TMP/pyrun.html"
leak_line=$(grep -n 'kept.append' "$MS_TMP/worker.py" | cut -d: -f1)
grep -qF "class=\"node py\" data-name=\"$MS_TMP/worker.py:$leak_line encode_batch\"" "$MS_TMP/dom.html" ||
  ms_fail "the Python worker's flame graph has no node worker.py:$leak_line encode_batch"
grep -qF "<b>$MS_TMP/worker.py:$leak_line encode_batch</b>" "$MS_TMP/dom.html" ||
  ms_fail "the Python worker's table does not name its top site by the Python line"
shot "$MS_TMP/pyrun.html" "$out/python-worker.png"
if [ -n "${FAKES:-}" ] && [ -x "$FAKES/bin/torch_like12" ]; then
  . "$(dirname "$0")/lib/gpu.sh"
  env LD_LIBRARY_PATH="$(gpu_libs v3)" LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=html \
    MEMSHIM_REPORT_PATH="$MS_TMP/gpurun" "$FAKES/bin/torch_like12" >/dev/null || ms_fail "the fake GPU server failed"
  dom "$MS_TMP/gpurun.html" '#view=gpu'
  grep -q '<option value="1">live GPU bytes</option>' "$MS_TMP/dom.html" || ms_fail "the GPU server's page has no GPU view"
  grep -qF 'data-name="leaky_cache"' "$MS_TMP/dom.html" || ms_fail "the GPU server's flame graph lacks leaky_cache"
  grep -q ': tracked [0-9.]* [KMG]iB' "$MS_TMP/dom.html" || ms_fail "the GPU server's device is not listed"
  shot "$MS_TMP/gpurun.html#view=gpu" "$out/gpu-server.png"
  gpu_note=", the fake-GPU server's leaky_cache in its GPU view"
else
  gpu_note=" (the fake CUDA libraries are not built: GPU run left out)"
fi
ms_pass "real runs: the Python worker's worker.py:$leak_line encode_batch is a flame-graph node$gpu_note"

# --- several processes of one run in one page
mkdir "$MS_TMP/run"
cp "$data/report_python.json" "$MS_TMP/run/memshim.5150.json"
cp "$data/report_gpu.json" "$MS_TMP/run/memshim.7100.json"
cp "$MS_TMP/cxx.json" "$MS_TMP/run/memshim.1.json"
echo "not a report" >"$MS_TMP/run/notes.json"
"$cli" report "$MS_TMP/run" --format html >"$MS_TMP/all.html" || ms_fail "report DIR --format html failed"
dom "$MS_TMP/all.html"
[ "$(grep -o '<svg [^>]*class="timeline"' "$MS_TMP/dom.html" | wc -l)" -eq 3 ] || ms_fail "expected 3 timelines in the combined page"
grep -q 'data-name="all processes"' "$MS_TMP/dom.html" || ms_fail "no root for all processes"
grep -qF "data-name=\"$fn\"" "$MS_TMP/dom.html" && grep -qF 'Encoder.encode_batch' "$MS_TMP/dom.html" ||
  ms_fail "the combined flame graph lacks a process's sites"
shot "$MS_TMP/all.html" "$out/combined.png" 1800
rc=0; "$cli" report "$MS_TMP/run" --format svg >/dev/null 2>&1 || rc=$?
ms_assert_num "$rc" -eq 2 "a directory of several reports as svg"
ms_pass "a directory of 3 reports is one page with 3 timelines and one flame graph"
