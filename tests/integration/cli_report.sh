#!/usr/bin/env bash
# memshim report on a schema-v1 JSON report (tests/integration/data/cli_report_sample.json, which
# also carries members a later version might add): text lists the top call sites with stacks,
# collapsed matches the JSON site by site, the SVG is well-formed, renders with rsvg-convert, and
# every plotted vertex, legend figure, event mark and listed site maps back to the JSON; bad
# arguments exit 2, unreadable or invalid reports exit 1 with a message naming the file.
. "$(dirname "$0")/lib/common.sh"
cli=${MS_TEST_CLI:?}
json=$SRC_DIR/tests/integration/data/cli_report_sample.json
command -v rsvg-convert >/dev/null || ms_skip "rsvg-convert is not installed (Debian package librsvg2-bin)"

expect_status() {
  local want=$1 what=$2 rc=0
  shift 2
  "$@" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq "$want" ] || ms_fail "$what: exit $rc, want $want (stderr: $(cat "$MS_TMP/err"))"
}

# --- text
expect_status 0 "report (text)" "$cli" report "$json"
grep -q '^#1  29.0 MiB live in 29 allocations' "$MS_TMP/out" || ms_fail "text: top site missing: $(head -8 "$MS_TMP/out")"
grep -q '^      cache_insert  (/usr/bin/worker+0x11d5)$' "$MS_TMP/out" || ms_fail "text: top site's stack missing"
grep -q '^leak check: fail (steady growth 27.0 MiB' "$MS_TMP/out" || ms_fail "text: leak verdict missing"
[ "$(grep -c '^#[0-9]' "$MS_TMP/out")" -eq 4 ] || ms_fail "text: expected all 4 sites by default (10 max)"
expect_status 0 "report --top 1" "$cli" report --top 1 "$json"
[ "$(grep -c '^#[0-9]' "$MS_TMP/out")" -eq 1 ] || ms_fail "--top 1 listed $(grep -c '^#[0-9]' "$MS_TMP/out") sites"
ms_pass "text: top sites with stacks, leak verdict, --top"

# --- collapsed: recomputed from the JSON with the documented rule
expect_status 0 "report --format collapsed" "$cli" report "$json" --format collapsed
cp "$MS_TMP/out" "$MS_TMP/collapsed"
"$PYTHON" - "$json" "$MS_TMP/collapsed" <<'PY' || ms_fail "collapsed output does not match the JSON"
import json, sys
doc = json.load(open(sys.argv[1]))
def name(f):
    fn = f.get("function", "??")
    if fn and fn != "??": n = fn
    else: n = f.get("module", "[unknown]").rsplit("/", 1)[-1] + "+" + f.get("offset", "?")
    return n.replace(";", ":")
want = [";".join(name(f) for f in reversed(s["frames"])) + " " + str(s["memory"]["heap"]["live_bytes"])
        for s in doc["sites"] if s["memory"]["heap"]["live_bytes"] > 0 and s["frames"]]
got = open(sys.argv[2]).read().splitlines()
if got != want:
    print("got:", got, "\nwant:", want); sys.exit(1)
PY
ms_pass "collapsed: $(wc -l <"$MS_TMP/collapsed") stacks, identical to the JSON's sites"

# --- svg
expect_status 0 "report --format svg" "$cli" report --format=svg --top 3 "$json"
svg=$MS_TMP/timeline.svg
cp "$MS_TMP/out" "$svg"
rsvg-convert "$svg" -o "$MS_TMP/timeline.png" || ms_fail "rsvg-convert cannot render the SVG"
file "$MS_TMP/timeline.png" | grep -q 'PNG image data, 1000 x' || ms_fail "not a 1000-wide PNG: $(file "$MS_TMP/timeline.png")"
"$PYTHON" "$(dirname "$0")/lib/cli_svg_check.py" "$json" "$svg" 3 || ms_fail "SVG does not match the JSON"
ms_pass "svg: renders to PNG, vertices/legend/events/sites match the JSON"

# --- a report with nothing in it (no points, events or sites) still renders
cat >"$MS_TMP/empty.json" <<'J'
{"format": "memshim-report", "version": 1, "reason": "signal", "time_ms": 0, "process": {"pid": 1, "command": "x"},
 "profile": {}, "sites": [], "timeline": {"interval_ms": 100, "points": [], "events": []}, "leak": {"checked": false}}
J
for f in text collapsed svg; do expect_status 0 "empty report as $f" "$cli" report "$MS_TMP/empty.json" --format $f; done
rsvg-convert "$MS_TMP/out" -o "$MS_TMP/empty.png" || ms_fail "the SVG of an empty report does not render"
ms_pass "empty report renders in all formats"

# --- errors
expect_status 2 "report without a file" "$cli" report
grep -q 'no report given' "$MS_TMP/err" || ms_fail "no file: $(cat "$MS_TMP/err")"
expect_status 2 "unknown format" "$cli" report "$json" --format pdf
grep -q "unknown format 'pdf'" "$MS_TMP/err" || ms_fail "bad format: $(cat "$MS_TMP/err")"
expect_status 2 "--top not a number" "$cli" report "$json" --top many
expect_status 2 "--top without value" "$cli" report "$json" --top
expect_status 2 "unknown option" "$cli" report "$json" --colour
expect_status 2 "two files as svg" "$cli" report "$json" "$json" --format svg
grep -q 'renders one report; 2 were given' "$MS_TMP/err" || ms_fail "two files as svg: $(cat "$MS_TMP/err")"
expect_status 1 "missing file" "$cli" report "$MS_TMP/absent.json"
grep -q "$MS_TMP/absent.json" "$MS_TMP/err" || ms_fail "missing file: the error does not name it: $(cat "$MS_TMP/err")"
printf '{"format": "memshim-report", "version": 1, "sites": [' >"$MS_TMP/cut.json"
expect_status 1 "truncated JSON" "$cli" report "$MS_TMP/cut.json"
grep -q 'line 1, column' "$MS_TMP/err" || ms_fail "truncated JSON: no position in the error: $(cat "$MS_TMP/err")"
echo '{"hello": 1}' >"$MS_TMP/other.json"
expect_status 1 "not a memshim report" "$cli" report "$MS_TMP/other.json"
grep -q 'not a memshim JSON report' "$MS_TMP/err" || ms_fail "foreign JSON: $(cat "$MS_TMP/err")"
echo '{"format": "memshim-report", "version": 2}' >"$MS_TMP/v2.json"
expect_status 1 "schema version 2" "$cli" report "$MS_TMP/v2.json"
grep -q 'version 2' "$MS_TMP/err" || ms_fail "v2: $(cat "$MS_TMP/err")"
mkdir "$MS_TMP/none" && cp "$MS_TMP/other.json" "$MS_TMP/v2.json" "$MS_TMP/none/"
expect_status 1 "a directory without a memshim report" "$cli" report "$MS_TMP/none"
grep -q 'no memshim JSON report in it' "$MS_TMP/err" || ms_fail "empty directory: $(cat "$MS_TMP/err")"
if [ "$(id -u)" -ne 0 ]; then
  cp "$json" "$MS_TMP/locked.json" && chmod 000 "$MS_TMP/locked.json"
  expect_status 1 "unreadable file" "$cli" report "$MS_TMP/locked.json"
fi
expect_status 0 "report from stdin" sh -c "\"$cli\" report - --format collapsed <\"$json\""
ms_pass "errors: exit 2 for bad arguments, 1 for missing/invalid/foreign/newer/unreadable reports"
