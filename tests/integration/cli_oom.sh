#!/usr/bin/env bash
# After the kill, against a cgroup tree laid out in a temporary directory (MEMSHIM_TEST_CGROUP_ROOT,
# internal, tests only): `memshim config` shows the limit, usage, headroom and the soft limit and
# pressure mark the options make of it; `memshim run` names a command that ends by SIGKILL while
# the cgroup's oom_kill count rose (with its pressure report and top growing site), and says
# nothing for a SIGKILL without it; `memshim check` fails (1) with that line as its verdict. The
# real kernel's OOM kill is mem_oom_cgroup's.
. "$(dirname "$0")/lib/common.sh"
export MEMSHIM_LIBRARY_PATH=$MS_TEST_LIB
root=$MS_TMP/cg
mkdir -p "$root/a/b" "$MS_TMP/rep"
echo "0::/a/b" >"$root/proc_cgroup"
echo "memory pids" >"$root/cgroup.controllers"
echo max >"$root/a/memory.max"
echo 157286400 >"$root/a/b/memory.max"
echo max >"$root/a/b/memory.high"
echo 52428800 >"$root/a/b/memory.current"
printf 'low 0\nhigh 0\nmax 2\noom 0\noom_kill 0\n' >"$root/a/b/memory.events"
printf 'anon 1\nfile 10485760\nkernel 2\n' >"$root/a/b/memory.stat"
printf 'some avg10=1.50 avg60=0.00 avg300=0.00 total=7\nfull avg10=0.25 avg60=0.00 avg300=0.00 total=1\n' >"$root/a/b/memory.pressure"
export MEMSHIM_TEST_CGROUP_ROOT=$root

out=$("$MS_TEST_CLI" config)
grep -q "^container: cgroup v2 $root/a/b$" <<<"$out" || ms_fail "config: no v2 cgroup line: $(tail -8 <<<"$out")"
grep -q "limit     150.0 MiB (memory.max in $root/a/b)" <<<"$out" || ms_fail "config: limit: $(tail -8 <<<"$out")"
grep -q "usage     50.0 MiB, headroom 100.0 MiB" <<<"$out" || ms_fail "config: usage/headroom: $(tail -8 <<<"$out")"
grep -q "soft limit 127.5 MiB (MEMSHIM_CONTAINER_SOFT_PCT)" <<<"$out" || ms_fail "config: soft limit: $(tail -8 <<<"$out")"
grep -q "pressure  some 1.50% full 0.25%" <<<"$out" || ms_fail "config: PSI: $(tail -8 <<<"$out")"
grep -q "page cache 10.0 MiB of the usage" <<<"$out" || ms_fail "config: page cache: $(tail -8 <<<"$out")"
out=$(MEMSHIM_RSS_SOFT_LIMIT=100M MEMSHIM_PRESSURE_REPORT_PCT=50 "$MS_TEST_CLI" config)
grep -q "soft limit 100.0 MiB (MEMSHIM_RSS_SOFT_LIMIT)" <<<"$out" || ms_fail "config: explicit soft limit: $(tail -8 <<<"$out")"
grep -q "pressure report at 75.0 MiB" <<<"$out" || ms_fail "config: pressure mark: $(tail -8 <<<"$out")"
json=$("$MS_TEST_CLI" config --json)
"$PYTHON" - "$json" <<'PY' || ms_fail "config --json: container object"
import json, sys
c = json.loads(sys.argv[1])["container"]
assert c["version"] == 2 and c["limit_bytes"] == 150 << 20 and c["usage_bytes"] == 50 << 20, c
assert c["file_bytes"] == 10 << 20, c
assert c["limit_file"] == "memory.max" and c["oom_kill"] == 0 and abs(c["psi_some_avg10"] - 1.5) < 1e-9, c
PY
ms_pass "config shows the cgroup's limit, usage, headroom, soft limit, pressure mark and PSI"

# A pressure report as the library writes it before the kill: the top growing site is named.
"$PYTHON" - "$MS_TMP/rep/memshim.999999.pressure.json" <<'PY'
import json, sys
doc = {"format": "memshim-report", "version": 1, "reason": "pressure", "time_ms": 1,
       "process": {"pid": 999999, "ppid": 1, "command": "python3"},
       "sites": [
         {"id": 1, "frames": [{"kind": "python", "file": "/app/other.py", "line": 3, "function": "f"}],
          "memory": {"heap": {"live_bytes": 9000000, "growth_bytes": 0}}},
         {"id": 2, "frames": [{"kind": "python", "file": "/app/grow.py", "line": 17, "function": "grow"}],
          "memory": {"heap": {"live_bytes": 5000000, "growth_bytes": 4194304}}}]}
json.dump(doc, open(sys.argv[1], "w"))
PY
# The command bumps oom_kill and kills itself with SIGKILL, as the kernel's OOM killer would.
kill_cmd='printf "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n" >"$0"; kill -9 $$'
rc=0
err=$(MEMSHIM_REPORT_PATH="$MS_TMP/rep/memshim.%p" "$MS_TEST_CLI" run sh -c "$kill_cmd" "$root/a/b/memory.events" 2>&1) || rc=$?
ms_assert_num "$rc" -eq 137 "memshim run exit status after SIGKILL"
grep -q "^memshim run: sh (pid [0-9]*) was killed by the kernel's OOM killer (cgroup $root/a/b: oom_kill 0 -> 1, limit 150.0 MiB)" <<<"$err" \
  || ms_fail "run: no OOM line: $err"
grep -q "last report: $MS_TMP/rep/memshim.999999.pressure.json; top growing site: /app/grow.py:17 grow" <<<"$err" \
  || ms_fail "run: the line does not name the pressure report and its growing site: $err"
ms_pass "run names the OOM kill, its pressure report and the growing site"

# SIGKILL with the count unchanged: not an OOM kill, nothing said.
rc=0
err=$("$MS_TEST_CLI" run sh -c 'kill -9 $$' 2>&1) || rc=$?
ms_assert_num "$rc" -eq 137 "memshim run exit status after SIGKILL"
if grep -q "OOM" <<<"$err"; then ms_fail "run: a plain SIGKILL was called an OOM kill: $err"; fi
ms_pass "a SIGKILL while oom_kill stays is not called an OOM kill"

printf 'low 0\nhigh 0\nmax 2\noom 0\noom_kill 4\n' >"$root/a/b/memory.events"
rc=0
err=$("$MS_TEST_CLI" check --report "$MS_TMP/rep" sh -c "$kill_cmd" "$root/a/b/memory.events" 2>&1) || rc=$?
ms_assert_num "$rc" -eq 137 "memshim check exit status after a SIGKILL while oom_kill fell"
if grep -q "OOM" <<<"$err"; then ms_fail "check: a count that went down was taken for a rise: $err"; fi
printf 'low 0\nhigh 0\nmax 2\noom 0\noom_kill 0\n' >"$root/a/b/memory.events"
rc=0
err=$("$MS_TEST_CLI" check --report "$MS_TMP/rep" sh -c "$kill_cmd" "$root/a/b/memory.events" 2>&1) || rc=$?
ms_assert_num "$rc" -eq 1 "memshim check exit status after an OOM kill"
grep -q "^memshim check: FAIL: sh (pid [0-9]*) was killed by the kernel's OOM killer (cgroup $root/a/b: oom_kill 0 -> 1" <<<"$err" \
  || ms_fail "check: no OOM verdict: $err"
ms_pass "check fails with the OOM kill as its verdict"
