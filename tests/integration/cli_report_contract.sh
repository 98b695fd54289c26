#!/usr/bin/env bash
# What the other streams will add to reports (docs/report-format.md: python frames, memory.device, gpu), rendered now from hand-written
# fixtures: a Python worker's report (python frames interleaved with native ones, a file name
# with a space, a function name with ';') and a GPU server's (memory.device, the gpu section, GPU
# timeline series, a GPU event). Every format: text reads "file:LINE function", collapsed
# follows the documented rule, json writes the same document back, the SVG draws the GPU series;
# memshim check --max-gpu-growth fails on the GPU server's growth and names the growing site.
. "$(dirname "$0")/lib/common.sh"
cli=${MS_TEST_CLI:?}
data=$SRC_DIR/tests/integration/data
command -v rsvg-convert >/dev/null || ms_skip "rsvg-convert is not installed (Debian package librsvg2-bin)"

for f in report_python report_gpu; do
  json=$data/$f.json
  "$cli" report "$json" --format json >"$MS_TMP/$f.json" || ms_fail "$f: --format json failed"
  "$PYTHON" -c 'import json, sys; a, b = (json.load(open(p)) for p in sys.argv[1:]); sys.exit(a != b)' "$json" "$MS_TMP/$f.json" ||
    ms_fail "$f: --format json does not give the same document back"
  "$cli" report "$json" --format collapsed >"$MS_TMP/$f.collapsed"
  "$PYTHON" - "$json" "$MS_TMP/$f.collapsed" <<'PY' || ms_fail "$f: collapsed output does not follow the rule"
import json, sys
doc = json.load(open(sys.argv[1]))
def name(f):
    fn = f.get("function") or "??"
    if f["kind"] == "python": n = "%s:%d %s" % (f["file"], f["line"], fn)
    elif f["kind"] == "native" and fn == "??": n = f["module"].rsplit("/", 1)[-1] + "+" + f["offset"]
    else: n = fn
    return "".join(" " if ord(c) < 32 else ":" if c == ";" else c for c in n)
want = [";".join(name(f) for f in reversed(s["frames"])) + " " + str(s["memory"]["heap"]["live_bytes"])
        for s in doc["sites"] if s["memory"]["heap"]["live_bytes"] > 0 and s["frames"]]
for kind in ("device", "host_pinned"):  # GPU memory under its own root frame, the CUDA call as the leaf
    want += ["[%s];" % kind + ";".join(name(f) for f in reversed(s["frames"])) +
             (";" + s["memory"][kind]["api"] if "api" in s["memory"][kind] else "") + " " + str(s["memory"][kind]["live_bytes"])
             for s in doc["sites"] if kind in s["memory"] and s["memory"][kind]["live_bytes"] > 0 and s["frames"]]
got = open(sys.argv[2]).read().splitlines()
if got != want: print("got:", got, "\nwant:", want); sys.exit(1)
PY
  "$cli" report "$json" --format svg >"$MS_TMP/$f.svg"
  rsvg-convert "$MS_TMP/$f.svg" -o "$MS_TMP/$f.png" || ms_fail "$f: the SVG does not render"
  "$PYTHON" "$(dirname "$0")/lib/cli_svg_check.py" "$json" "$MS_TMP/$f.svg" 10 || ms_fail "$f: the SVG does not match the JSON"
done
grep -q '/app/odd dir/x.py:5 f:g <lambda>;' "$MS_TMP/report_python.collapsed" || ms_fail "collapsed: ';' in a Python name"
ms_pass "json round trip, collapsed rule and SVG for both fixtures"

"$cli" report "$data/report_python.json" >"$MS_TMP/text"
grep -qx '      /app/worker.py:42 Encoder.encode_batch' "$MS_TMP/text" || ms_fail "text: Python frame not as file:LINE function"
grep -q '^+48.0 MiB  site 11: tokenizer_encode <- /app/worker.py:42 Encoder.encode_batch <- ' "$MS_TMP/text" ||
  ms_fail "text: growth line without the Python caller"
"$cli" report "$data/report_gpu.json" >"$MS_TMP/text"
grep -qx 'device: 11.0 GiB live in 140 allocations (peak 12.0 GiB); 40.0 GiB allocated in total' "$MS_TMP/text" ||
  ms_fail "text: device totals missing"
grep -qx '    device: 3.0 GiB live in 40 allocations (growth 3.0 GiB)' "$MS_TMP/text" || ms_fail "text: site device bytes missing"
grep -qx '  device 0 NVIDIA H200: tracked 11.0 GiB, used 12.0 GiB (residual 1.0 GiB) of 141.0 GiB' "$MS_TMP/text" ||
  ms_fail "text: GPU device missing"
grep -q 'data-series="gpu_tracked"' "$MS_TMP/report_gpu.svg" || ms_fail "svg: no GPU tracked line"
grep -q 'GPU used (NVML): peak 12.0 GiB' "$MS_TMP/report_gpu.svg" || ms_fail "svg: no GPU used legend"
ms_pass "text shows Python frames, device bytes and the GPU device; the SVG draws the GPU lines"

# --- memshim check --max-gpu-growth: the wrapped command leaves the GPU server's report
export MEMSHIM_LIBRARY_PATH=$MS_TEST_LIB
gate() {
  local want=$1; shift
  local rc=0
  rm -rf "$MS_TMP/gate"
  "$cli" check "$@" --report "$MS_TMP/gate" -- sh -c 'cp "$1" "$2/memshim.999999.json"' sh "$data/report_gpu.json" "$MS_TMP/gate" \
    >/dev/null 2>"$MS_TMP/gate.err" || rc=$?
  cat "$MS_TMP/gate.err"
  ms_assert_num "$rc" -eq "$want" "memshim check $*"
}
gate 1 --max-gpu-growth 1G
grep -q 'GPU growth: FAIL: tracked GPU memory grew by 3.0 GiB in one process (limit 1.0 GiB' "$MS_TMP/gate.err" || ms_fail "no GPU FAIL line"
sed -n '/^top call sites by device growth:/{n;p;q}' "$MS_TMP/gate.err" | grep -q 'voices.py:57 cache_speaker_embedding' ||
  ms_fail "the growing GPU site is not named first"
gate 0 --max-gpu-growth 4G
grep -q 'GPU growth: PASS: tracked GPU memory grew by at most 3.0 GiB' "$MS_TMP/gate.err" || ms_fail "no GPU pass line"
gate 0
grep -q 'GPU' "$MS_TMP/gate.err" && ms_fail "GPU verdict without --max-gpu-growth"
rc=0; "$cli" check --max-gpu-growth lots -- true 2>"$MS_TMP/err" || rc=$?
ms_assert_num "$rc" -eq 2 "a bad --max-gpu-growth"
ms_pass "check --max-gpu-growth fails above the limit naming cache_speaker_embedding, passes below"
