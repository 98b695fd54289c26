#!/usr/bin/env bash
# Issue 12, identity and namespaces (needs root: CI runs as root). Under defaults and exact
# profiling (MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1: even these small tools get our thread,
# which the log shows before they change identity):
# - setpriv --reuid=65534 --regid=65534 --init-groups id -u prints 65534 (glibc aborted when a
#   thread of ours lacked the capability setpriv raised on its own thread);
# - unshare -r id -u, unshare -U true, nsenter --mount=/proc/self/ns/mnt true succeed (they need a
#   single-threaded process), each 10 times;
# - C programs do the same with our thread proven present right before each call (a metrics file
#   or exact profiling: the defaults start none): setpriv's
#   sequence with a raw capset, 24 nested unshare(CLONE_NEWUSER), 30 setns(mnt);
# - RLIMIT_NPROC: user 65534 runs a bash script with 20 background jobs under prlimit --nproc
#   (32 + the user's other tasks): no fork fails; the same script with more jobs than the limit
#   does hit it (so the limit is real).
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI
[ "$(id -u)" -eq 0 ] || ms_skip "needs root (setpriv --reuid, unshare, nsenter, setns)"
for tool in setpriv unshare nsenter prlimit; do
  command -v $tool >/dev/null || ms_skip "$tool (util-linux) is not installed"
done
unshare -U true 2>/dev/null || ms_skip "unshare -U is refused here even without memshim (seccomp or userns disabled)"

# Reports go where a process that became user 65534 can still write them.
chmod 755 "$MS_TMP"
mkdir -m 1777 "$MS_TMP/reports"
EXACT=(MEMSHIM_PROFILE=1 MEMSHIM_SAMPLE_BYTES=1 "MEMSHIM_REPORT_PATH=$MS_TMP/reports/r.%p")

# In $MS_TMP/err, the first image that loaded memshim (the tool; env(1) does not have it) started
# our thread before it exec'd the next one.
tool_had_thread() {
  awk '/started: backend/ { n++ } /monitor: started/ && n == 1 { found = 1 } END { exit !found }' "$MS_TMP/err"
}

# tool: name, expected stdout, command...
check_tool() {
  local what=$1 want=$2
  shift 2
  for mode in defaults exact; do
    local vars=(MEMSHIM_VERBOSE=2)
    [ $mode = exact ] && vars+=("${EXACT[@]}")
    for i in $(seq 10); do
      rc=0
      timeout -s KILL 60 env LD_PRELOAD="$MS_TEST_LIB" "${vars[@]}" "$@" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
      grep -q 'started: backend' "$MS_TMP/err" || ms_fail "$what ($mode): memshim not loaded: $(cat "$MS_TMP/err")"
      [ "$rc" -eq 0 ] || ms_fail "$what ($mode, run $i): status $rc: $(cat "$MS_TMP/out" "$MS_TMP/err")"
      [ "$(cat "$MS_TMP/out")" = "$want" ] || ms_fail "$what ($mode): printed '$(cat "$MS_TMP/out")', want '$want'"
      if [ $mode = exact ]; then
        tool_had_thread || ms_fail "$what (exact profiling): our thread never started in it: $(cat "$MS_TMP/err")"
      fi
    done
    local how="defaults, no thread"
    [ $mode = exact ] && how="exact profiling, our thread started in it before the call"
    ms_pass "$what ($how): status 0, printed '${want}', 10 runs"
  done
}
check_tool "setpriv --reuid=65534 --regid=65534 --init-groups id -u" 65534 \
  setpriv --reuid=65534 --regid=65534 --init-groups id -u
check_tool "unshare -r id -u" 0 unshare -r id -u
check_tool "unshare -U true" "" unshare -U true
check_tool "nsenter --mount=/proc/self/ns/mnt true" "" nsenter --mount=/proc/self/ns/mnt true

# The C programs need our thread up before each call: under the defaults there is none (the heap
# policy runs inline), so the first mode is a metrics file, whose job is on a clock.
for mode in metrics exact; do
  vars=(MEMSHIM_METRICS_FILE="$MS_TMP/reports/m.prom")
  [ $mode = exact ] && vars=("${EXACT[@]}")
  for args in "setpriv" "unshare 24" "setns 30"; do
    rc=0
    timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB" "${vars[@]}" "$PROGS/trust_identity" $args \
      >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
    [ "$rc" -eq 0 ] || ms_fail "trust_identity $args ($mode): status $rc (134: glibc's setxid abort): $(cat "$MS_TMP/out" "$MS_TMP/err")"
    [ ! -s "$MS_TMP/err" ] || ms_fail "trust_identity $args ($mode): stderr: $(cat "$MS_TMP/err")"
    ms_pass "trust_identity $args ($mode): $(grep '^ok' "$MS_TMP/out" | tail -1 | sed 's/^ok: //')"
  done
done

# RLIMIT_NPROC for user 65534: its tasks elsewhere count too.
cat >"$MS_TMP/jobs.sh" <<'SH'
n=$1
for i in $(seq "$n"); do sleep 3 & done
wait
echo "jobs done: $n"
SH
chmod 644 "$MS_TMP/jobs.sh"
others=$( (ps -L -u 65534 --no-headers || true) | wc -l) # ps fails when there are none
limit=$((32 + others))
run_jobs() { # mode jobs
  local vars=(MEMSHIM_VERBOSE=2)
  [ "$1" = mmap_cap ] && vars+=(MEMSHIM_MMAP_RESIDENT_MAX=64M)
  [ "$1" = glibc ] && vars+=(MEMSHIM_BACKEND=glibc)
  timeout -s KILL 120 env LD_PRELOAD="$MS_TEST_LIB" "${vars[@]}" \
    setpriv --reuid=65534 --regid=65534 --clear-groups prlimit --nproc="$limit" bash "$MS_TMP/jobs.sh" "$2" \
    >"$MS_TMP/out" 2>"$MS_TMP/err"
}
for mode in defaults mmap_cap glibc; do
  rc=0
  run_jobs $mode 20 || rc=$?
  loaded=$(grep -c 'started: backend' "$MS_TMP/err" || true)
  ms_assert_num "$loaded" -ge 21 "NPROC ($mode): processes of user 65534 that loaded memshim"
  ! grep -E 'fork|Resource temporarily unavailable' "$MS_TMP/err" || ms_fail "NPROC ($mode): a fork failed"
  [ "$rc" -eq 0 ] && grep -q 'jobs done: 20' "$MS_TMP/out" || ms_fail "NPROC ($mode): status $rc: $(cat "$MS_TMP/out")"
  ms_pass "RLIMIT_NPROC $limit for user 65534 ($others tasks elsewhere; $mode): bash with 20 background jobs, no fork failed ($loaded processes loaded memshim)"
done
rc=0
run_jobs defaults "$limit" || rc=$?
grep -q 'Resource temporarily unavailable' "$MS_TMP/err" || ms_fail "control: $limit jobs under RLIMIT_NPROC $limit never hit the limit: the check above proves nothing"
ms_pass "control: $limit background jobs under the same limit do hit it (bash: fork: retry)"
