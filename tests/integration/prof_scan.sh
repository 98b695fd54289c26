#!/usr/bin/env bash
# Issue 20, unreachable at exit: MEMSHIM_LEAK_SCAN finds the heap blocks no pointer reaches
# (LeakSanitizer's definition), names the function that allocated them, splits direct from
# indirect, and finds nothing in a clean program whose blocks are held by a global, static TLS,
# another thread's stack, another thread's registers (the threads are stopped by a signal at
# exit) or pthread_setspecific. The clean cases run 10 times each (threads in flight at exit).
. "$(dirname "$0")/lib/common.sh"

# scan NAME ARG...: run scan_cases under the scan, leave the JSON report in $MS_TMP/NAME.json
scan() {
  local name=$1; shift
  rm -f "$MS_TMP/$name".*
  timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_LEAK_SCAN=on MEMSHIM_REPORT=json,text \
    MEMSHIM_REPORT_PATH="$MS_TMP/$name.%p" "$PROGS/scan_cases" "$@" || ms_fail "scan_cases $*: status $?"
  mv "$MS_TMP/$name".*.json "$MS_TMP/$name.json" && mv "$MS_TMP/$name".*.txt "$MS_TMP/$name.txt" ||
    ms_fail "scan_cases $*: no report"
}

scan leak leak
"$PYTHON" - "$MS_TMP/leak.json" <<'PY' || ms_fail "leak: $(cat "$MS_TMP/leak.txt")"
import json, sys
d = json.load(open(sys.argv[1]))
u = d["unreachable"]
assert u["scanned"], u
sites = {s["id"]: s for s in d["sites"]}
def fn(site_id):
    return sites[site_id]["frames"][0]["function"]
by_fn = {}
for s in u["sites"]:
    f = fn(s["id"])
    by_fn.setdefault(f, [0, 0, 0, 0])
    for i, k in enumerate(("direct_bytes", "direct_count", "indirect_bytes", "indirect_count")):
        by_fn[f][i] += s[k]
assert by_fn.get("lose_block") == [1337, 1, 0, 0], by_fn
assert by_fn.get("lose_self_pointer") == [64, 1, 0, 0], by_fn
assert by_fn.get("lose_header") == [100, 1, 200, 1], by_fn
assert u["direct_count"] == 3 and u["indirect_count"] == 1, u
PY
grep -q 'unreachable at exit: .* in 3 blocks directly' "$MS_TMP/leak.txt" || ms_fail "text report: $(cat "$MS_TMP/leak.txt")"
ms_pass "leak: lose_block 1337 B, lose_self_pointer 64 B direct; lose_header 100 B direct + 200 B indirect"

for i in $(seq 1 10); do
  for c in clean register; do
    scan "$c" "$c"
    "$PYTHON" - "$MS_TMP/$c.json" <<'PY' || ms_fail "$c run $i: $(cat "$MS_TMP/$c.txt")"
import json, sys
u = json.load(open(sys.argv[1]))["unreachable"]
assert u["scanned"] and u["direct_count"] == 0 and u["indirect_count"] == 0, u
assert u["threads"] >= 1, u
PY
  done
done
ms_pass "clean: global, static TLS, thread stack, thread register, pthread_setspecific: nothing unreachable in 10 runs each"

# the scan is the gate's only: without MEMSHIM_LEAK_SCAN no report has the section
rm -f "$MS_TMP"/plain.*
env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/plain.%p" "$PROGS/scan_cases" leak
"$PYTHON" -c 'import json, sys, glob; d = json.load(open(glob.glob(sys.argv[1])[0])); assert "unreachable" not in d' \
  "$MS_TMP/plain.*.json" || ms_fail "a plain profile has an unreachable section"
ms_pass "without MEMSHIM_LEAK_SCAN: no scan, no section"

# the gate: a one-shot leak fails on the scan, naming lose_block first; the clean cases pass
rc=0
"$MS_TEST_CLI" check -- "$PROGS/scan_cases" leak >"$MS_TMP/gate.out" 2>"$MS_TMP/gate" || rc=$?
cat "$MS_TMP/gate"
ms_assert_num "$rc" -eq 1 "memshim check -- scan_cases leak: exit status"
grep -q '^memshim check: unreachable at exit: FAIL: 1.7 KiB in 4 blocks no pointer reaches' "$MS_TMP/gate" ||
  ms_fail "gate: no unreachable FAIL line"
sed -n '/^unreachable at exit, by call site/{n;p;q}' "$MS_TMP/gate" | grep -q ' lose_block (' ||
  ms_fail "gate: the first site is not lose_block"
for c in clean register; do
  rc=0
  "$MS_TEST_CLI" check -- "$PROGS/scan_cases" "$c" >"$MS_TMP/gate.out" 2>"$MS_TMP/gate" || rc=$?
  ms_assert_num "$rc" -eq 0 "memshim check -- scan_cases $c: exit status ($(cat "$MS_TMP/gate"))"
  grep -q '^memshim check: unreachable at exit: PASS: 0 B' "$MS_TMP/gate" || ms_fail "gate $c: $(cat "$MS_TMP/gate")"
done
ms_pass "memshim check: the one-shot leaks fail naming lose_block first; the clean cases pass on the scan"
