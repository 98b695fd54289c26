#!/usr/bin/env bash
# End to end: `memshim run --report DIR` on a leaking program writes DIR/memshim.<pid>.json and
# .txt; `memshim report` renders that real report: text names the leaking function, collapsed
# stacks end in it, and the SVG timeline's every vertex, legend figure, event and listed site
# match the JSON (tests/integration/lib/cli_svg_check.py).
. "$(dirname "$0")/lib/common.sh"
cli=${MS_TEST_CLI:?}
command -v rsvg-convert >/dev/null || ms_skip "rsvg-convert is not installed (Debian package librsvg2-bin)"
export MEMSHIM_LIBRARY_PATH=$MS_TEST_LIB
unset MS_TEST_LIB MS_TEST_CLI

dir=$MS_TMP/reports
"$cli" run --report "$dir" -- "$PROGS/prof_leaky" 1.5 >"$MS_TMP/run.out" 2>"$MS_TMP/run.err" \
  || ms_fail "memshim run --report failed: $(cat "$MS_TMP/run.err")"
json=$(ls "$dir"/memshim.*.json 2>/dev/null | head -1)
[ -n "$json" ] || ms_fail "no JSON report in $dir (have: $(ls "$dir"))"
[ -f "${json%.json}.txt" ] || ms_fail "no text report beside $json"
npoints=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["timeline"]["points"]))' "$json")
ms_assert_num "$npoints" -ge 5 "timeline points in a 1.5 s run"
ms_pass "run --report wrote $(basename "$json") and .txt ($npoints timeline points)"

"$cli" report "$json" >"$MS_TMP/text" || ms_fail "report (text) of a real report failed"
first_growth=$(sed -n '/^top .* by growth since the warm-up:$/{n;p;q}' "$MS_TMP/text")
grep -qE '^\+[0-9.]+ [KMG]iB  site [0-9]+: remember_forever ' <<<"$first_growth" \
  || ms_fail "text: the fastest-growing call site is not the leak: '$first_growth'"
grep -q '^      remember_forever  (' "$MS_TMP/text" || ms_fail "text: the leak's stack is not listed"
"$cli" report "$json" --format collapsed >"$MS_TMP/collapsed" || ms_fail "report --format collapsed failed"
grep -qE ';remember_forever [0-9]+$' "$MS_TMP/collapsed" || ms_fail "collapsed: no stack ends in remember_forever"
ms_pass "text and collapsed name the leaking function remember_forever"

"$cli" report "$json" --format svg >"$MS_TMP/live.svg" || ms_fail "report --format svg failed"
rsvg-convert "$MS_TMP/live.svg" -o "$MS_TMP/live.png" || ms_fail "rsvg-convert cannot render the SVG of a real report"
"$PYTHON" "$(dirname "$0")/lib/cli_svg_check.py" "$json" "$MS_TMP/live.svg" 10 || ms_fail "SVG does not match the real JSON"
ms_pass "svg of a real report renders and matches its JSON"

# A real report with memory-return events: 96 MiB held, freed, then 1.5 s for the policy to act.
"$cli" run --report "$MS_TMP/purge" -- "$PROGS/cli_hold" 96 0.5 1 1.5 >/dev/null 2>"$MS_TMP/run.err" \
  || ms_fail "memshim run --report cli_hold failed: $(cat "$MS_TMP/run.err")"
json=$(ls "$MS_TMP"/purge/memshim.*.json | head -1)
npurge=$("$PYTHON" -c 'import json,sys; print(sum(e["kind"] == "purge" for e in json.load(open(sys.argv[1]))["timeline"]["events"]))' "$json")
ms_assert_num "$npurge" -ge 1 "purge events in the report after freeing 96 MiB"
"$cli" report "$json" --format svg >"$MS_TMP/purge.svg" || ms_fail "report --format svg failed"
rsvg-convert "$MS_TMP/purge.svg" -o "$MS_TMP/purge.png" || ms_fail "rsvg-convert cannot render the SVG with events"
"$PYTHON" "$(dirname "$0")/lib/cli_svg_check.py" "$json" "$MS_TMP/purge.svg" 10 || ms_fail "SVG with events does not match its JSON"
grep -q 'purge &#215; ' "$MS_TMP/purge.svg" || ms_fail "the legend does not list the purge events"
ms_pass "svg of a real report with $npurge purge event(s): marks and legend match the JSON"
