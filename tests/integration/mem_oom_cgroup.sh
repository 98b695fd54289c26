#!/usr/bin/env bash
# Before and after the OOM killer, with a real limit: a child memory cgroup of this test's own
# (v2 under the path in /proc/self/cgroup, enabling +memory in the parent's subtree_control where
# needed; or the v1 memory controller), limit 150M and no swap, runs a Python worker that grows
# 1 MiB of numpy every 20 ms in grow() under `memshim run --report`. memshim finds the limit
# itself (no MEMSHIM_RSS_SOFT_LIMIT); the worker sees the pressure report appear before the
# kernel kills it (it checks for the file at each step and says so on stdout); the report names
# the worker's growing line and has the cgroup's usage past the mark; the cgroup's oom_kill count
# rose and `memshim run` names the kill, the report and the line; the metrics file has the limit;
# the pressure report lists the 16 MiB np.memmap the worker made at 41 MiB (tracked: the limit
# was found) under mapped_files, at its load_weights line, with the droppable total. Skipped, with the reason, where no child memory cgroup can be made.
. "$(dirname "$0")/lib/common.sh"
ms_require_python_module numpy
[ "$(id -u)" -eq 0 ] || ms_skip "making a child memory cgroup needs root"

limit=$((150 << 20))
grp=
if own=$(awk -F: '$1 == "0" && $2 == "" { print $3 }' /proc/self/cgroup) && [ -n "$own" ] &&
   grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
  parent=/sys/fs/cgroup${own%/}
  grep -qw memory "$parent/cgroup.subtree_control" 2>/dev/null || echo +memory >"$parent/cgroup.subtree_control" 2>/dev/null || true
  if grep -qw memory "$parent/cgroup.subtree_control" 2>/dev/null && mkdir "$parent/memshim-oom-$$" 2>/dev/null; then
    grp=$parent/memshim-oom-$$
    echo $limit >"$grp/memory.max" && { [ ! -e "$grp/memory.swap.max" ] || echo 0 >"$grp/memory.swap.max"; } ||
      { rmdir "$grp"; ms_skip "cannot set memory.max in $grp"; }
    events=$grp/memory.events
  fi
fi
if [ -z "$grp" ] && own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup) && [ -n "$own" ] &&
   [ -d /sys/fs/cgroup/memory ]; then
  parent=/sys/fs/cgroup/memory${own%/}
  if mkdir "$parent/memshim-oom-$$" 2>/dev/null; then
    grp=$parent/memshim-oom-$$
    echo $limit >"$grp/memory.limit_in_bytes" || { rmdir "$grp"; ms_skip "cannot set memory.limit_in_bytes in $grp"; }
    [ ! -e "$grp/memory.memsw.limit_in_bytes" ] || echo $limit >"$grp/memory.memsw.limit_in_bytes" 2>/dev/null || true
    events=$grp/memory.oom_control
  fi
fi
[ -n "$grp" ] || ms_skip "no child memory cgroup can be made here (/proc/self/cgroup: $(tr '\n' ' ' </proc/self/cgroup))"
trap 'rmdir "$grp" 2>/dev/null; rm -rf "$MS_TMP"' EXIT
kills() { awk '$1 == "oom_kill" { print $2 }' "$events"; }
k0=$(kills)
[ -n "$k0" ] || ms_skip "this kernel does not count oom_kill in $events"

cat >"$MS_TMP/worker.py" <<'PY'
import os, sys, time
import numpy as np
report = os.path.join(sys.argv[1], "memshim.%d.pressure.json" % os.getpid())
keep, seen = [], False
def grow():
    keep.append(np.ones(1 << 17))  # 1 MiB, resident at once
def load_weights():
    w = np.memmap(sys.argv[2], dtype=np.uint8, mode="r")  # WEIGHTS_LINE
    return w, int(w[::4096].sum())  # every page read
for step in range(4000):  # 4 GiB: far past the limit; the kernel ends this first
    grow()
    if step == 40:  # the limit was found at 32 MiB of heap: file mappings are tracked from then on
        weights = load_weights()
    if not seen and os.path.exists(report):
        seen = True
        print("pressure report seen at %d MiB" % len(keep), flush=True)
    time.sleep(0.02)
print("not killed", flush=True)
PY
line=$(grep -n 'keep.append(np.ones' "$MS_TMP/worker.py" | cut -d: -f1)
wline=$(grep -n 'WEIGHTS_LINE' "$MS_TMP/worker.py" | cut -d: -f1)
"$PYTHON" -c 'import sys; open(sys.argv[1], "wb").write(b"w" * (16 << 20))' "$MS_TMP/weights.bin"
rep=$MS_TMP/rep
rc=0
sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$grp" \
  env -u MEMSHIM_RSS_SOFT_LIMIT MEMSHIM_LIBRARY_PATH="$MS_TEST_LIB" MEMSHIM_PRESSURE_REPORT_PCT=80 \
  MEMSHIM_METRICS_INTERVAL=100ms "$MS_TEST_CLI" run --report "$rep" --metrics "$MS_TMP/m.prom" "$PYTHON" "$MS_TMP/worker.py" "$rep" "$MS_TMP/weights.bin" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
k1=$(kills)
ms_assert_num "$rc" -eq 137 "exit status of the worker (stdout: $(cat "$MS_TMP/out"); stderr: $(tail -5 "$MS_TMP/err"))"
ms_assert_num "$k1" -gt "$k0" "the cgroup's oom_kill count"
grep -q "^pressure report seen at [0-9]* MiB$" "$MS_TMP/out" \
  || ms_fail "the worker never saw its pressure report before the kill: $(cat "$MS_TMP/out"); $(tail -5 "$MS_TMP/err")"
grep -q "above MEMSHIM_RSS_SOFT_LIMIT (127 MiB)" "$MS_TMP/err" \
  || ms_fail "the soft limit was not 85% of the cgroup's limit: $(cat "$MS_TMP/err")"
pr=$(ls "$rep"/memshim.*.pressure.txt)
grep -q "pressure report at" "$pr" || ms_fail "$pr is not a pressure report: $(head -2 "$pr")"
top=$(grep -m1 '^#1 ' "$pr")
grep -q "$MS_TMP/worker.py:$line grow" <<<"$top" || ms_fail "the pressure report's top site is not worker.py:$line grow: $top"
ms_pass "pressure report before the kill ($(cat "$MS_TMP/out")), top site worker.py:$line grow"
grep -q "^memshim run: $PYTHON (pid [0-9]*) was killed by the kernel's OOM killer (cgroup $grp: oom_kill $k0 -> $k1, limit 150.0 MiB); last report: $rep/memshim.[0-9]*.pressure.json; top growing site: $MS_TMP/worker.py:$line grow" "$MS_TMP/err" \
  || ms_fail "memshim run did not name the OOM kill: $(tail -3 "$MS_TMP/err")"
ms_pass "memshim run names the OOM kill, the pressure report and worker.py:$line"
ms_assert_num "$(ms_metric "$MS_TMP/m.prom" memshim_container_limit_bytes)" -eq $limit "memshim_container_limit_bytes"
json=$(ls "$rep"/memshim.*.pressure.json)
"$PYTHON" - "$json" "$limit" "$MS_TMP/weights.bin" "$MS_TMP/worker.py" "$wline" <<'PY' || ms_fail "the pressure report's container section"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["container"]
assert d["reason"] == "pressure" and c["limit_bytes"] == int(sys.argv[2]), c
assert c["usage_bytes"] >= int(sys.argv[2]) * 80 // 100, c  # it was written past the mark
assert any(e["kind"] == "pressure" for e in d["timeline"]["events"]), d["timeline"]["events"]
# the file mapping made under the container's soft limit: listed apart from the heap, at its line,
# with the page cache the cap can drop
mf = d["mapped_files"]
m = [x for x in mf["mappings"] if x.get("path") == sys.argv[3]]
assert len(m) == 1 and m[0]["mapped_bytes"] == 16 << 20 and m[0]["droppable"], mf
assert mf["droppable_resident_bytes"] == sum(x["resident_bytes"] for x in mf["mappings"] if x["droppable"]), mf
site = [s for s in d["sites"] if s["id"] == m[0]["site"]]
assert site and any(f.get("file") == sys.argv[4] and f.get("line") == int(sys.argv[5]) and f.get("function") == "load_weights"
                    for f in site[0]["frames"]), site
PY
grep -q "^mapped files (not heap): .* page cache the cap can drop" "$pr" || ms_fail "the text pressure report has no mapped files line: $pr"
ms_pass "metrics and the pressure report carry the cgroup's limit and usage, and the tracked file mapping at worker.py:$wline"

# The limit is not the user's: a single-threaded host holding 200 MiB under a 1G limit (soft limit
# 850M) keeps the inline policy and stays alone (its raw unshare works), as without a limit
# (trust_single); the soft limit's thread waits for RSS at half of it.
if [ -e "$grp/memory.max" ]; then
  echo $((1 << 30)) >"$grp/memory.max"
else # v1: memory+swap first, it may not be below the memory limit
  [ ! -e "$grp/memory.memsw.limit_in_bytes" ] || echo $((1 << 30)) >"$grp/memory.memsw.limit_in_bytes" 2>/dev/null || true
  echo $((1 << 30)) >"$grp/memory.limit_in_bytes"
fi
args=()
unshare -U true 2>/dev/null && args=(unshare)
out=$(sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$grp" \
  env -u MEMSHIM_RSS_SOFT_LIMIT LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_VERBOSE=1 "$PROGS/trust_single" "${args[@]}" 2>"$MS_TMP/err1")
field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
ms_assert_num "$(field "$out" tasks_max)" -eq 1 "tasks of a single-threaded host under a 1G limit ($out)"
[ ${#args[@]} -eq 0 ] || ms_assert_num "$(field "$out" unshare)" -eq 0 "its raw unshare(CLONE_NEWUSER) errno ($out)"
grep -q "cgroup v[12] memory: $grp, limit 1024 MiB" "$MS_TMP/err1" \
  || ms_fail "the host did not look at its cgroup (so the check above says nothing): $(cat "$MS_TMP/err1")"
ms_pass "a single-threaded host under a 1G limit found it and stayed alone ($out)"
