#!/usr/bin/env bash
# memshim check --save / --baseline / --json: a run's per-site growth saved by symbols (never
# addresses or offsets); a leakier run against it fails naming the site, the same program passes;
# --json prints one JSON object with the judgements, figures and named top sites.
. "$(dirname "$0")/lib/common.sh"
: "${MS_TEST_CLI:?}"

# a small leak (8 KiB per step) is the accepted baseline; 4M of slack per site absorbs how far two
# runs of it differ on busy cores
rc=0
"$MS_TEST_CLI" check --max-growth 4M --save "$MS_TMP/base.json" -- "$PROGS/prof_leaky" 3 8192 >/dev/null 2>"$MS_TMP/save.err" || rc=$?
cat "$MS_TMP/save.err"
ms_assert_num "$rc" -eq 0 "--save run exit status"
"$PYTHON" - "$MS_TMP/base.json" <<'PY' || ms_fail "baseline file"
import json, re, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "memshim-baseline" and d["version"] == 1, d
keys = [s["key"] for s in d["sites"]]
assert any("prof_leaky!remember_forever;" in k for k in keys), keys
for s in d["sites"]:
    assert isinstance(s["growth_bytes"], int) and isinstance(s["live_bytes"], int), s
    assert not re.search(r"0x[0-9a-f]+|\+0x", s["key"]), s["key"]  # symbols only
PY
ms_pass "--save writes per-site growth and live bytes keyed by module basename and function"

rc=0
"$MS_TEST_CLI" check --max-growth 4M --baseline "$MS_TMP/base.json" -- "$PROGS/prof_leaky" 3 131072 >/dev/null 2>"$MS_TMP/worse.err" || rc=$?
cat "$MS_TMP/worse.err"
ms_assert_num "$rc" -eq 1 "leakier run against the baseline: exit status"
grep -q '^memshim check: growth against baseline: FAIL: .* remember_forever (' "$MS_TMP/worse.err" ||
  ms_fail "leakier run: the failing site is not named"
ms_pass "a leakier run fails against the baseline, naming remember_forever"

rc=0
"$MS_TEST_CLI" check --max-growth 4M --baseline "$MS_TMP/base.json" --json -- "$PROGS/prof_leaky" 3 8192 \
  >"$MS_TMP/same.json" 2>"$MS_TMP/same.err" || rc=$?
cat "$MS_TMP/same.err"
ms_assert_num "$rc" -eq 0 "the same program against its baseline: exit status"
grep -q '^memshim check: growth against baseline: PASS' "$MS_TMP/same.err" || ms_fail "same run: no baseline PASS"
"$PYTHON" - "$MS_TMP/same.json" <<'PY' || ms_fail "--json output"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
assert len(lines) == 1, lines
d = json.loads(lines[0])
assert d["verdict"] == "pass" and d["exit_status"] == 0 and d["limit_bytes"] == 4 << 20, d
assert d["processes"]["reports"] == 1 and d["processes"]["judged"] == 1, d
j = d["judgements"][0]
assert j["name"] == "growth against baseline" and j["state"] == "pass" and j["reason"], j
assert isinstance(d["growth_bytes"], int) and isinstance(d["sites"], list), d
PY
ms_pass "the same program passes against its baseline; --json holds verdict, judgements and figures"

rc=0
"$MS_TEST_CLI" check --json -- "$PROGS/prof_leaky" 3 131072 >"$MS_TMP/fail.json" 2>/dev/null || rc=$?
ms_assert_num "$rc" -eq 1 "--json on a leak: exit status"
"$PYTHON" -c '
import json, sys
d = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])  # the last line: after what the command printed
assert d["verdict"] == "fail" and d["judgements"][0]["state"] == "fail", d
assert d["sites"][0]["name"].startswith("remember_forever (") and d["sites"][0]["growth_bytes"] > 1 << 20, d["sites"]
' "$MS_TMP/fail.json" || ms_fail "--json on a leak"
ms_pass "--json on a leak: verdict fail, remember_forever first with its growth"

rc=0; "$MS_TEST_CLI" check --baseline "$MS_TMP/nope.json" -- true 2>"$MS_TMP/err" || rc=$?
ms_assert_num "$rc" -eq 2 "a missing --baseline file"
grep -q '^memshim check: --baseline ' "$MS_TMP/err" || ms_fail "no one-line error for a missing baseline"
ms_pass "a missing baseline file is a bad argument (exit 2)"
