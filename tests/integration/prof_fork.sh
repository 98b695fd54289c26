#!/usr/bin/env bash
# Fork: every process writes its own report (pid in the name); the gate adds up a forked worker
# pool's per-process reports and names the function the workers leak in; a clean pool passes;
# forking while several threads run prints the tokenizers warning once.
. "$(dirname "$0")/lib/common.sh"
: "${MS_TEST_CLI:?}"

rc=0
"$MS_TEST_CLI" check --report "$MS_TMP/pool" -- "$PROGS/prof_pool" 1 3 1.5 >/dev/null 2>"$MS_TMP/pool.err" || rc=$?
cat "$MS_TMP/pool.err"
ms_assert_num "$rc" -eq 1 "leaky pool: gate exit status"
n=$(ls "$MS_TMP"/pool/memshim.*.json | wc -l)
ms_assert_num "$n" -eq 4 "reports (parent + 3 workers)"
sed -n '/^top growing call sites:/{n;p;q}' "$MS_TMP/pool.err" | grep -q ' worker_leak (' ||
  ms_fail "leaky pool: first site is not worker_leak"
grep -q '(in 3 processes)' "$MS_TMP/pool.err" || ms_fail "leaky pool: growth not aggregated over the 3 workers"
"$PYTHON" - "$MS_TMP"/pool/memshim.*.json <<'PY' || ms_fail "per-process reports"
import json, sys
docs = [json.load(open(p)) for p in sys.argv[1:]]
pids = {d["process"]["pid"] for d in docs}
assert len(pids) == 4, pids
parent = [d for d in docs if sum(x["process"]["ppid"] == d["process"]["pid"] for x in docs) == 3]
assert len(parent) == 1, "one parent whose pid is the 3 workers' ppid"
for d in docs:
    if d is parent[0]:
        continue
    # each worker leaked ~ (1.5 s * ~900 requests/s / 4) * 32 KiB; at least several MiB
    assert d["leak"]["growth_bytes"] > 2 << 20, d["leak"]
    # the parent's 1 MiB block was inherited: the child's table has the parent's site
    assert any(s["frames"][0]["function"] == "main" for s in d["sites"]), "inherited site missing"
PY
ms_pass "forked pool: 4 per-pid reports, growth summed, worker_leak named first"

rc=0
"$MS_TEST_CLI" check -- "$PROGS/prof_pool" 0 3 1.5 >/dev/null 2>"$MS_TMP/clean.err" || rc=$?
cat "$MS_TMP/clean.err"
ms_assert_num "$rc" -eq 0 "clean pool: gate exit status"
ms_pass "clean forked pool passes"

# fork with a second thread running under profiling: no hazardous pool, so quiet by default;
# each process writes its own report
ms_preload MEMSHIM_PROFILE=1 MEMSHIM_REPORT_PATH="$MS_TMP/tf.%p" "$PROGS/prof_thread_fork" >/dev/null 2>"$MS_TMP/tf.err"
cat "$MS_TMP/tf.err"
n=$(grep -c 'fork() while' "$MS_TMP/tf.err" || true)
ms_assert_num "$n" -eq 0 "fork warnings without a thread pool"
ls "$MS_TMP"/tf.*.txt | wc -l | grep -qx 3 || ms_fail "expected 3 per-process text reports (parent + 2 children)"
ms_pass "fork with 2 threads under profiling: quiet; per-process reports"
