#!/usr/bin/env bash
# Reports a Python engineer reads at a glance: memshim report DIR reads every memshim report in a
# directory whatever its prefix (tts-123.json beside memshim.456.json; other JSON skipped with a
# note); -o writes the file atomically (0600, an old file's mode kept, a symlink refused); sites
# of one Python line through different native stacks are one row with the sum (text and HTML,
# fixture and a real run); the flame graph folds interpreter and framework frames by default with
# a toggle (#frames=all); C++ names are demangled in the process's own reports when only a Python
# extension module loaded libstdc++; --serve answers GET / with the page on 127.0.0.1 only and
# 404 otherwise. The browser checks run when Chromium is installed (report_html needs it anyway).
. "$(dirname "$0")/lib/common.sh"
cli=${MS_TEST_CLI:?}
data=$SRC_DIR/tests/integration/data
browser=$(command -v chromium || command -v chromium-browser || true)
dom() { # dom PAGE [HASH]: the DOM after the page's scripts ran, in $MS_TMP/dom.html
  "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$MS_TMP/chrome" --virtual-time-budget=5000 \
    --dump-dom "file://$1${2:-}" >"$MS_TMP/dom.html" 2>>"$MS_TMP/chrome.log"
  grep -q 'data-rendered="1"' "$MS_TMP/dom.html" || ms_fail "$1${2:-}: the page's script did not finish ($(tail -3 "$MS_TMP/chrome.log"))"
}

# --- a directory, whatever the prefix
mkdir "$MS_TMP/dir"
cp "$data/report_merge.json" "$MS_TMP/dir/tts-123.json"
cp "$data/cli_report_sample.json" "$MS_TMP/dir/memshim.456.json"
echo '{"tool": "not memshim"}' >"$MS_TMP/dir/settings.json"
"$cli" report "$MS_TMP/dir" >"$MS_TMP/text" 2>"$MS_TMP/err" || ms_fail "report DIR (text): $(cat "$MS_TMP/err")"
grep -q '^memshim report: gunicorn (pid 6160)' "$MS_TMP/text" || ms_fail "report DIR did not read tts-123.json"
grep -q '^memshim report: worker .* (pid 4242)' "$MS_TMP/text" || ms_fail "report DIR did not read memshim.456.json"
grep -q "skipping $MS_TMP/dir/settings.json: not a memshim JSON report" "$MS_TMP/err" ||
  ms_fail "no note for the foreign JSON file: $(cat "$MS_TMP/err")"
"$cli" report "$MS_TMP/dir" --format html >"$MS_TMP/dir.html" 2>/dev/null || ms_fail "report DIR --format html failed"
[ "$(grep -oE '"format": *"memshim-report"' "$MS_TMP/dir.html" | wc -l)" -eq 2 ] || ms_fail "the page does not hold both reports"
rc=0; "$cli" report "$MS_TMP/dir" --format collapsed >/dev/null 2>"$MS_TMP/err" || rc=$?
ms_assert_num "$rc" -eq 2 "collapsed of a directory of two reports"
grep -q 'renders one report; 2 were given' "$MS_TMP/err" || ms_fail "collapsed of two: $(cat "$MS_TMP/err")"
rm "$MS_TMP/dir/memshim.456.json"
"$cli" report "$MS_TMP/dir" --format collapsed >"$MS_TMP/one" 2>/dev/null || ms_fail "collapsed of a directory of one report"
cmp -s "$MS_TMP/one" <("$cli" report "$data/report_merge.json" --format collapsed) || ms_fail "collapsed DIR differs from collapsed FILE"
ms_pass "a directory: tts-123.json and memshim.456.json read, settings.json skipped with a note, one-report formats say so"

# --- -o FILE
"$cli" report "$data/report_merge.json" --format html -o "$MS_TMP/out.html" || ms_fail "-o failed"
cmp -s "$MS_TMP/out.html" <("$cli" report "$data/report_merge.json" --format html) || ms_fail "-o wrote other bytes than stdout"
[ "$(stat -c %a "$MS_TMP/out.html")" = 600 ] || ms_fail "-o: a new file has mode $(stat -c %a "$MS_TMP/out.html"), want 600"
chmod 644 "$MS_TMP/out.html"
"$cli" report "$data/report_merge.json" --output "$MS_TMP/out.html" || ms_fail "--output over an existing file failed"
[ "$(stat -c %a "$MS_TMP/out.html")" = 644 ] || ms_fail "--output did not keep the old file's mode"
grep -q '^memshim report: gunicorn' "$MS_TMP/out.html" || ms_fail "--output did not replace the file"
echo keep >"$MS_TMP/target"
ln -s "$MS_TMP/target" "$MS_TMP/link.txt"
rc=0; "$cli" report "$data/report_merge.json" -o "$MS_TMP/link.txt" 2>"$MS_TMP/err" || rc=$?
ms_assert_num "$rc" -eq 1 "-o onto a symlink"
grep -q 'is a symlink; not followed' "$MS_TMP/err" || ms_fail "-o symlink: $(cat "$MS_TMP/err")"
[ "$(cat "$MS_TMP/target")" = keep ] && [ -L "$MS_TMP/link.txt" ] || ms_fail "-o touched the symlink or its target"
"$cli" report "$data/report_merge.json" --format pprof -o "$MS_TMP/p.pb.gz" </dev/null || ms_fail "-o with pprof"
gzip -t "$MS_TMP/p.pb.gz" || ms_fail "-o wrote a pprof file that is not gzip"
ls -a "$MS_TMP" | grep -q '\.tmp\.' && ms_fail "-o left a temporary file: $(ls -a "$MS_TMP")"
ms_pass "-o: same bytes as stdout, mode 0600 (an old file's 0644 kept), symlink refused, no temporary file left"

# --- merged by Python line: the fixture (three stacks of /app/app.py:5, one cut short under werkzeug
# instead of flask and gunicorn; one of :9; one native-only)
"$cli" report "$data/report_merge.json" >"$MS_TMP/text" || ms_fail "text of the merge fixture"
grep -q '^top 3 of 3 call sites by live bytes (5 stacks; stacks of one Python line merged):' "$MS_TMP/text" ||
  ms_fail "text: no merged count: $(grep '^top' "$MS_TMP/text")"
grep -q '^#1  4.5 MiB live in 5 allocations .*site 1: /app/app.py:5 synth  \[3 native stacks\]$' "$MS_TMP/text" ||
  ms_fail "text: app.py:5 is not one row of 4.5 MiB: $(grep '^#' "$MS_TMP/text")"
[ "$(grep -c 'app.py:5 synth  \[' "$MS_TMP/text")" -eq 1 ] || ms_fail "text: app.py:5 listed more than once"
grep -q '^      + 2 more native stacks under this Python line: site 3 (1.0 MiB), site 5 (512.0 KiB)$' "$MS_TMP/text" || ms_fail "text: the other stack is not named"
grep -q '^+3.0 MiB  site 1: .*(and 2 more native stacks of this Python line)$' "$MS_TMP/text" || ms_fail "text: growth not merged"
grep -qF 'tts::Encoder::encode(std::vector<int, std::allocator<int> > const&)' "$MS_TMP/text" || ms_fail "text: a mangled name stayed mangled"
"$cli" report "$data/report_merge.json" --format json | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert [s["id"] for s in d["sites"]] == [1, 2, 3, 4, 5], "the JSON report lost a site"' || ms_fail "JSON: sites merged"
cmp -s <("$cli" report "$data/report_merge.json" --json) <("$cli" report "$data/report_merge.json" --format json) ||
  ms_fail "--json is not --format json"
ms_pass "fixture: app.py:5 through three stacks (one under other library callers) is one text row of 4.5 MiB (3 + 1 + 0.5), growth too; the JSON keeps 5 sites"

# --- a real run: one Python line allocating through three native paths (bytearray, bytes, str)
cat >"$MS_TMP/line.py" <<'PY'
import time
kept = []
def work(i):
    kept.append((bytearray(100000 + i), b"x" * (150000 + i), "y" * (120000 + i)))
t0 = time.monotonic()
i = 0
while time.monotonic() - t0 < 1.0:
    work(i)
    i += 1
    time.sleep(0.01)
PY
ms_preload MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_SNAPSHOT_INTERVAL=50ms MEMSHIM_REPORT=json,text,html \
  MEMSHIM_REPORT_PATH="$MS_TMP/line" "$PYTHON" "$MS_TMP/line.py" || ms_fail "the Python run failed"
where="$MS_TMP/line.py:4 work"
read -r nsites sum < <("$PYTHON" - "$MS_TMP/line.json" "$where" <<'PY'
import json, sys
d, where = json.load(open(sys.argv[1])), sys.argv[2]
def named(s):
    f = s["frames"][s["named_frame"]]
    return f.get("file", "") + ":" + str(f.get("line", 0)) + " " + f.get("function", "")
live = [s["memory"]["heap"]["live_bytes"] for s in d["sites"] if s["frames"] and named(s) == where]
print(len(live), sum(live))
PY
)
ms_assert_num "$nsites" -ge 2 "sites named by $where in the JSON (native stacks of one line)"
want=$("$PYTHON" -c "
b = $sum; u = ['B', 'KiB', 'MiB', 'GiB']; i = 0
while abs(b) >= 1024 and i < 3: b /= 1024; i += 1
print(('%.1f %s' % (b, u[i])) if i else '%d B' % b)")
grep -q "^#[0-9]*  $want live in .*: $where  \[$nsites native stacks\]$" "$MS_TMP/line.txt" ||
  ms_fail "the library's text report has no row of $want for $where: $(grep "^#" "$MS_TMP/line.txt" | head -5)"
[ "$(grep -c "^#.*: $where" "$MS_TMP/line.txt")" -eq 1 ] || ms_fail "$where is more than one row"
"$cli" report "$MS_TMP/line.json" | grep -q "^#[0-9]*  $want live in .*: $where  \[$nsites native stacks\]$" ||
  ms_fail "the CLI's text report does not merge $where"
ms_pass "real run: $where through $nsites native stacks is one row of $want (library and CLI)"

# --- demangling in the process's own report: libstdc++ loaded only by a ctypes-loaded library
cxx=$(command -v c++ || command -v g++ || true)
[ -n "$cxx" ] || ms_fail "no C++ compiler (the project's build needs one)"
cat >"$MS_TMP/grow.cc" <<'CC'
#include <vector>
namespace tts {
struct Cache {
  std::vector<char *> v;
  __attribute__((noinline)) void keep(int n) { for (int i = 0; i < n; i++) v.push_back(new char[64 << 10]); }
};
}  // namespace tts
static tts::Cache cache;
extern "C" void grow(int n) { cache.keep(n); }
CC
"$cxx" -O1 -g -fPIC -shared -o "$MS_TMP/libgrow.so" "$MS_TMP/grow.cc" || ms_fail "cannot build the C++ library"
cat >"$MS_TMP/ctypes_grow.py" <<'PY'
import ctypes, sys, time
lib = ctypes.CDLL(sys.argv[1])  # RTLD_LOCAL: libstdc++ is not in the global scope
def work():
    lib.grow(4)
t0 = time.monotonic()
while time.monotonic() - t0 < 1.0:  # a workload that lasts several snapshot intervals
    work()
    time.sleep(0.01)
PY
ms_preload MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1 MEMSHIM_SNAPSHOT_INTERVAL=50ms MEMSHIM_REPORT=text,html MEMSHIM_REPORT_PATH="$MS_TMP/cxx" \
  "$PYTHON" "$MS_TMP/ctypes_grow.py" "$MS_TMP/libgrow.so" || ms_fail "the ctypes run failed"
grep -q '^      tts::Cache::keep(int)  (' "$MS_TMP/cxx.txt" || ms_fail "text: keep is not demangled: $(grep -m3 'keep' "$MS_TMP/cxx.txt")"
grep -q '_ZN3tts5Cache4keepEi' "$MS_TMP/cxx.txt" "$MS_TMP/cxx.html" && ms_fail "a mangled name is left in the process's reports"
grep -qF 'tts::Cache::keep(int)' "$MS_TMP/cxx.html" || ms_fail "html: keep is not demangled"
ms_pass "C++ names demangled in the process's own text and HTML reports (libstdc++ loaded RTLD_LOCAL by ctypes)"

# --- the page: one row per Python line, stacks on demand, folded flame graph with a toggle
"$cli" report "$data/report_merge.json" --format html -o "$MS_TMP/page.html" || ms_fail "-o page.html"
if [ -n "$browser" ]; then
  dom "$MS_TMP/page.html"
  grep -q 'id="flame"[^>]*data-folded="1"' "$MS_TMP/dom.html" || ms_fail "the flame graph is not folded by default"
  grep -q '<input type="checkbox" id="fold"' "$MS_TMP/dom.html" || ms_fail "no fold toggle"
  for n in Py_RunMain _start '/usr/local/lib/python3.11/site-packages/flask/app.py:1823 Flask.full_dispatch_request' \
    '/usr/local/lib/python3.11/site-packages/gunicorn/workers/sync.py:135 SyncWorker.handle' 'operator new(unsigned long)'; do
    grep -qF "data-name=\"$n\"" "$MS_TMP/dom.html" && ms_fail "folded flame graph shows $n"
  done
  grep -qF 'class="node py" data-name="/app/app.py:5 synth"' "$MS_TMP/dom.html" || ms_fail "folded: no node for app.py:5"
  grep -qF 'data-name="tts::Encoder::encode(std::vector&lt;int, std::allocator&lt;int&gt; &gt; const&amp;)"' "$MS_TMP/dom.html" ||
    ms_fail "the flame graph does not show the demangled name"
  rows=$(grep -o '<tr class="site"[^>]*>' "$MS_TMP/dom.html" | wc -l)
  ms_assert_num "$rows" -eq 3 "table rows (5 sites, 3 of one Python line)"
  grep -q '<tr class="site" data-stacks="3"><td class="">4.5 MiB</td><td class="">5</td>' "$MS_TMP/dom.html" ||
    ms_fail "the table has no merged row of 4.5 MiB in 5 allocations"
  grep -q 'class="stacks">▸ 3 native stacks<' "$MS_TMP/dom.html" || ms_fail "the merged row has no stacks toggle"
  grep -q '<tr class="sub">' "$MS_TMP/dom.html" && ms_fail "stacks shown before asked for"
  dom "$MS_TMP/page.html" '#frames=all&stacks=open'
  grep -q 'id="flame"[^>]*data-folded="0"' "$MS_TMP/dom.html" || ms_fail "#frames=all did not unfold"
  for n in Py_RunMain '/usr/local/lib/python3.11/site-packages/flask/app.py:1823 Flask.full_dispatch_request' \
    'operator new(unsigned long)'; do
    grep -qF "data-name=\"$n\"" "$MS_TMP/dom.html" || ms_fail "#frames=all lacks $n"
  done
  [ "$(grep -o '<tr class="sub">' "$MS_TMP/dom.html" | wc -l)" -eq 3 ] || ms_fail "#stacks=open: not 3 stacks under the row"
  grep -q '>site 3: tts::Vocoder::run()<' "$MS_TMP/dom.html" || ms_fail "the second stack is not named by its native frame"
  dom "$MS_TMP/line.html"
  grep -qF "class=\"node py\" data-name=\"$where\"" "$MS_TMP/dom.html" || ms_fail "real run: no node for $where"
  grep -qF 'data-name="Py_RunMain"' "$MS_TMP/dom.html" && ms_fail "real run: Py_RunMain not folded"
  [ "$(grep -c "<b>$where</b>" "$MS_TMP/dom.html")" -eq 1 ] || ms_fail "real run: $where is not one table row"
  dom "$MS_TMP/line.html" '#frames=all'
  grep -qF 'data-name="Py_RunMain"' "$MS_TMP/dom.html" || ms_fail "real run: #frames=all lacks Py_RunMain"
  ms_pass "page: 3 rows for 5 sites with 3 stacks on demand; interpreter and framework frames folded, #frames=all shows them"
else
  echo "note: chromium is not installed: the page's DOM checks left out"
fi

# --- --serve on 127.0.0.1
"$cli" report "$data/report_merge.json" --serve >"$MS_TMP/serve.out" 2>"$MS_TMP/serve.err" &
srv=$!
for _ in $(seq 600); do grep -q '^memshim report: serving' "$MS_TMP/serve.out" && break
  kill -0 "$srv" 2>/dev/null || break; sleep 0.1; done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$MS_TMP/serve.out" | head -1)
[ -n "$url" ] || { kill "$srv" 2>/dev/null; ms_fail "--serve printed no URL: $(cat "$MS_TMP/serve.out" "$MS_TMP/serve.err")"; }
port=${url#http://127.0.0.1:}; port=${port%/}
grep -q "ssh -L $port:127.0.0.1:$port " "$MS_TMP/serve.out" || ms_fail "--serve: no ssh -L line"
"$PYTHON" - "$url" "$MS_TMP/page.html" <<'PY' || { kill "$srv"; ms_fail "--serve answered wrong"; }
import sys, urllib.request, urllib.error
url, page = sys.argv[1], open(sys.argv[2], "rb").read()
r = urllib.request.urlopen(url, timeout=60)
body = r.read()
assert r.status == 200 and r.headers["Content-Type"].startswith("text/html"), (r.status, r.headers)
assert body == page, "GET / is not the page"
try:
    urllib.request.urlopen(url + "memshim.json", timeout=60)
    raise SystemExit("GET /memshim.json answered")
except urllib.error.HTTPError as e:
    assert e.code == 404, e.code
PY
# the listening sockets on that port (/proc/net/tcp and tcp6, state 0A): 127.0.0.1 alone
listen=$("$PYTHON" - "$port" <<'PY'
import sys
port = int(sys.argv[1])
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    try: lines = open(table).read().splitlines()[1:]
    except OSError: continue
    for l in lines:
        local, state = l.split()[1], l.split()[3]
        addr, p = local.split(":")
        if state == "0A" and int(p, 16) == port: print(addr)
PY
)
[ "$listen" = 0100007F ] || ms_fail "--serve listens on $listen (hex, /proc/net/tcp), want only 127.0.0.1 (0100007F)"
kill -TERM "$srv"
rc=0; wait "$srv" || rc=$?
ms_assert_num "$rc" -eq 0 "--serve after SIGTERM"
grep -q 'stopped (SIGTERM)' "$MS_TMP/serve.err" || ms_fail "--serve: $(cat "$MS_TMP/serve.err")"
"$cli" report "$data/report_merge.json" --serve --once --port 0 >"$MS_TMP/once.out" &
srv=$!
for _ in $(seq 600); do grep -q '^memshim report: serving' "$MS_TMP/once.out" && break
  kill -0 "$srv" 2>/dev/null || break; sleep 0.1; done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$MS_TMP/once.out" | head -1)
[ -n "$url" ] || ms_fail "--serve --once printed no URL"
"$PYTHON" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=60).read()" "$url" || ms_fail "--once: GET / failed"
rc=0; wait "$srv" || rc=$?
ms_assert_num "$rc" -eq 0 "--serve --once after one page"
rc=0; "$cli" report "$data/report_merge.json" --serve --format text 2>/dev/null || rc=$?
ms_assert_num "$rc" -eq 2 "--serve --format text"
ms_pass "--serve: GET / is the page, anything else 404, 127.0.0.1 only, SIGTERM ends it (0); --once exits after one page"
