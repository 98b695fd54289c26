#!/usr/bin/env bash
# The leak gate (memshim check): fails the leaky C and C++ programs naming the leaking function
# first (a static C function, a C++ member function, a user function under std::vector's allocator), passes clean high-churn and bounded-cache
# programs, passes a command's failure through, and MEMSHIM_LEAK_CHECK does the same without the CLI.
. "$(dirname "$0")/lib/common.sh"
: "${MS_TEST_CLI:?}"

# run_check EXPECTED_RC OUT [check options] -- cmd...: run the gate, keep its stderr in OUT
run_check() {
  local want=$1 out=$2; shift 2
  local rc=0
  "$MS_TEST_CLI" check "$@" >"$out.stdout" 2>"$out" || rc=$?
  cat "$out"
  [ "$rc" -eq "$want" ] || ms_fail "memshim check $*: exit $rc, expected $want"
}

# First growing site named in the verdict: the line after "top growing call sites:".
first_site() { sed -n '/^top growing call sites:/{n;p;q}' "$1"; }

run_check 1 "$MS_TMP/c" -- "$PROGS/prof_leaky" 2
first_site "$MS_TMP/c" | grep -q ' remember_forever (' || ms_fail "C leak: first site is not remember_forever (static)"
grep -q '^memshim check: growth: FAIL: live heap grew steadily by' "$MS_TMP/c" || ms_fail "C leak: no growth FAIL line"
grep -q '^memshim check: FAIL$' "$MS_TMP/c" || ms_fail "C leak: no FAIL verdict"
ms_pass "leaky C program fails, static function remember_forever named first"

run_check 1 "$MS_TMP/cxx" -- "$PROGS/prof_leaky_cxx" 2
first_site "$MS_TMP/cxx" | grep -q 'SessionRegistry::register_session' ||
  ms_fail "C++ leak: first site is not SessionRegistry::register_session"
ms_pass "leaky C++ program fails, SessionRegistry::register_session named first"

# a leak through std::vector's allocator and operator new: named by the user's function, the
# library's frames kept in the stack; a mangled name in a report is demangled by the CLI
run_check 1 "$MS_TMP/vec" --report "$MS_TMP/vecrep" -- "$PROGS/prof_leaky_vec" 3
first_site "$MS_TMP/vec" | grep -q ' remember_buffers(int) (' || ms_fail "C++ vector leak: first site is not remember_buffers"
"$PYTHON" - "$MS_TMP"/vecrep/memshim.*.json "$MS_TMP/mangled.json" <<'PY' || ms_fail "C++ vector leak: stack"
import json, sys
d = json.load(open(sys.argv[1]))
site = next(s for s in d["sites"] if s["id"] == d["leak"]["sites"][0]["id"])
names = [f["function"] for f in site["frames"]]
assert names[0].startswith("std::") and "remember_buffers(int)" in names, names  # plumbing kept in the stack
# the report names the frame the site is named by (the HTML page shows that one)
assert site["frames"][site["named_frame"]]["function"].startswith("remember_buffers"), site["named_frame"]
for f in site["frames"]:
    if f["function"] == "remember_buffers(int)": f["function"] = "_ZL16remember_buffersi"
json.dump(d, open(sys.argv[2], "w"))
PY
"$MS_TEST_CLI" report "$MS_TMP/mangled.json" --format text >"$MS_TMP/mangled.txt"
grep -q 'remember_buffers(int)' "$MS_TMP/mangled.txt" || ms_fail "report: a mangled name was not demangled"
grep -q '_ZL16remember_buffersi' "$MS_TMP/mangled.txt" && ms_fail "report: the mangled name is still shown"
ms_pass "C++ leak through std::vector and operator new is named remember_buffers(int); mangled names demangled"

run_check 0 "$MS_TMP/churn" -- "$PROGS/prof_churn" 2
grep -q '^memshim check: PASS$' "$MS_TMP/churn" || ms_fail "churn: no PASS line"
ms_pass "clean high-churn program (2 threads) passes"

run_check 0 "$MS_TMP/cache" -- "$PROGS/prof_cache" 2.5
ms_pass "clean program with a bounded cache plateau (12 MiB filled at start-up) passes"

# a bigger limit lets the C leak through; a tiny one makes the C++ program fail sooner
run_check 0 "$MS_TMP/lim" --max-growth 512M -- "$PROGS/prof_leaky" 1.5
ms_pass "--max-growth raises the limit"

# the command's own failure is passed through and said
run_check 3 "$MS_TMP/fail" -- sh -c 'exit 3'
grep -q 'the command failed (exit status 3)' "$MS_TMP/fail" || ms_fail "failing command not reported"
ms_pass "a failing command's status passes through"

# nothing to judge: a run too short for two snapshots after the warm-up is no pass (exit 4)
# a short Python run: too short for growth, and Python is not scanned at exit: nothing judged.
# "Too short" is made certain with a 10-minute warm-up: under load, `python3 -c pass` took long
# enough for two snapshots after the default warm-up (a quarter of the run) and was judged.
run_check 4 "$MS_TMP/short" --warmup 600s -- "$PYTHON" -c pass
grep -q '^memshim check: growth: NOT JUDGED: the run was too short' "$MS_TMP/short" || ms_fail "python -c pass: growth not said to be unjudged"
grep -q '^memshim check: unreachable at exit: NOT JUDGED: no process was scanned' "$MS_TMP/short" ||
  ms_fail "python -c pass: the scan not said to be unjudged"
grep -q '^memshim check: NO VERDICT: ' "$MS_TMP/short" || ms_fail "python -c pass: no NO VERDICT line"
grep -Eqi ': pass\b' "$MS_TMP/short" && ms_fail "python -c pass: a pass was said about a run nothing judged"
ms_pass "memshim check -- python3 -c pass: NO VERDICT, exit 4"
# a short native run is judged on what it holds at exit
run_check 0 "$MS_TMP/true" --warmup 600s -- true
grep -q '^memshim check: growth: NOT JUDGED: the run was too short' "$MS_TMP/true" || ms_fail "true: growth not said to be unjudged"
grep -q '^memshim check: unreachable at exit: PASS: 0 B in 0 blocks no pointer reaches' "$MS_TMP/true" ||
  ms_fail "true: no scan verdict"
ms_pass "memshim check -- true: growth not judged, nothing unreachable at exit: pass"

# bad arguments
rc=0; "$MS_TEST_CLI" check --max-growth lots -- true 2>/dev/null || rc=$?
ms_assert_num "$rc" -eq 2 "bad --max-growth exit status"
rc=0; "$MS_TEST_CLI" check 2>/dev/null || rc=$?
ms_assert_num "$rc" -eq 2 "missing command exit status"

# --report DIR keeps the reports; the JSON says the same as the verdict
run_check 1 "$MS_TMP/keep" --report "$MS_TMP/reports" -- "$PROGS/prof_leaky" 1.5
ls "$MS_TMP"/reports/memshim.*.json >/dev/null || ms_fail "--report DIR: no JSON report kept"
"$PYTHON" - "$MS_TMP"/reports/memshim.*.json <<'PY' || ms_fail "kept report does not show the leak"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "memshim-report" and d["version"] == 1
leak = d["leak"]
assert leak["checked"] and leak["growth_bytes"] > 1 << 20, leak
top = leak["sites"][0]
site = next(s for s in d["sites"] if s["id"] == top["id"])
assert top["steady"] and site["frames"][0]["function"] == "remember_forever", site["frames"][0]
PY
ms_pass "--report DIR keeps a JSON report naming the leak"

# the kept reports state the verdict, limit and growth figure the gate printed
"$PYTHON" - "$MS_TMP/keep" "$MS_TMP"/reports/memshim.*.json "$MS_TMP"/reports/memshim.*.txt <<'PY' || ms_fail "kept report disagrees with the verdict"
import json, re, sys
err, js, txt = open(sys.argv[1]).read(), json.load(open(sys.argv[2])), open(sys.argv[3]).read()
leak = js["leak"]
assert leak["verdict"] == "fail" and leak["limit_bytes"] == 1 << 20, leak
m = re.search(r"growth: FAIL: live heap grew steadily by ([0-9.]+ [KMG]?i?B) after warm-up \(limit 1.0 MiB", err)
assert m, err
line = "leak check: fail (steady growth %s after warm-up" % m.group(1)
assert line in txt and "limit 1.0 MiB)" in txt, (line, [l for l in txt.splitlines() if "leak check" in l])
PY
ms_pass "kept text and JSON reports say fail, limit 1.0 MiB and the verdict's growth figure"

# MEMSHIM_LEAK_CHECK: the library itself turns a clean exit into status 1 on a leak
rc=0
ms_preload MEMSHIM_LEAK_CHECK=1M MEMSHIM_SAMPLE_BYTES=64K MEMSHIM_REPORT=text MEMSHIM_REPORT_PATH="$MS_TMP/lc" \
  "$PROGS/prof_leaky" 1.5 >/dev/null 2>"$MS_TMP/lc.err" || rc=$?
cat "$MS_TMP/lc.err"
ms_assert_num "$rc" -eq 1 "MEMSHIM_LEAK_CHECK exit status on a leak"
grep -q 'leak check failed' "$MS_TMP/lc.err" || ms_fail "MEMSHIM_LEAK_CHECK: no failure message"
grep -q 'remember_forever' "$MS_TMP/lc.err" || ms_fail "MEMSHIM_LEAK_CHECK: leaking function not named"
rc=0
ms_preload MEMSHIM_LEAK_CHECK=1M MEMSHIM_SAMPLE_BYTES=64K MEMSHIM_REPORT=text MEMSHIM_REPORT_PATH="$MS_TMP/lc2" \
  "$PROGS/prof_cache" 2 >/dev/null || rc=$?
ms_assert_num "$rc" -eq 0 "MEMSHIM_LEAK_CHECK exit status on a clean program"
ms_pass "MEMSHIM_LEAK_CHECK fails a leaky run (status 1) and passes a clean one"

# progress: on a terminal (a pty from script(1)) a long run shows elapsed time, RSS and growth;
# not on a pipe (every run above wrote to a file)
grep -q 'RSS' "$MS_TMP/c" && ms_fail "progress printed although stderr is not a terminal"
command -v script >/dev/null || ms_fail "script(1) (bsdutils) is missing"
script -qec "'$MS_TEST_CLI' check -- '$PROGS/prof_leaky' 2.5" /dev/null >"$MS_TMP/tty.out" 2>&1 || true
tr '\r' '\n' <"$MS_TMP/tty.out" | grep -E "memshim check: [0-9]+ s, RSS [0-9.]+ [KMG]iB, (RSS [-+][0-9.]+ [KMG]?i?B since warm-up \(not the gate's figure\)|warming up)" ||
  ms_fail "no progress line on a terminal"
tr '\r' '\n' <"$MS_TMP/tty.out" | grep -q 'since warm-up (not the gate' || ms_fail "progress never showed RSS growth"
grep -q 'growth: FAIL: live heap grew' "$MS_TMP/tty.out" || ms_fail "verdict missing on a terminal"
ms_pass "progress on a terminal (elapsed, RSS, RSS growth said not to be the gate's figure), quiet on a pipe"
