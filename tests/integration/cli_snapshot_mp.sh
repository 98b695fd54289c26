#!/usr/bin/env bash
# memshim snapshot reaches multiprocessing's children in every start method: a spawn or
# forkserver child is a new preloaded interpreter, a fork child inherits memshim's handler and
# writes under its own pid. Each child gets its own report (reason "signal", its pid) and goes
# on to finish its work and exit 0.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/snapshot.sh"
export -n MS_TEST_LIB MS_TEST_CLI

cat >"$MS_TMP/mp.py" <<'PY'
import multiprocessing as mp, os, sys

def child(ready, go):
    keep = [bytearray(4096) for _ in range(256)]  # something for the profile
    ready.put(os.getpid())
    go.wait(600)
    sys.exit(0 if go.is_set() and keep else 3)

if __name__ == "__main__":
    out, procs = sys.argv[1], []
    for method in ("spawn", "fork", "forkserver"):
        ctx = mp.get_context(method)
        ready, go = ctx.Queue(), ctx.Event()
        p = ctx.Process(target=child, args=(ready, go))
        p.start()
        pid = ready.get(timeout=600)
        procs.append((method, p, go))
        with open(out, "a") as f:
            f.write("%s %d\n" % (method, pid))
    with open(out, "a") as f:
        f.write("all started\n")
    sys.stdin.readline()  # the test says when its snapshots are taken
    for method, p, go in procs:
        go.set()
        p.join(600)
        print(method, "exit", p.exitcode, flush=True)
PY

mkfifo "$MS_TMP/go"
env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_PROFILE=1 MEMSHIM_REPORT=json MEMSHIM_REPORT_PATH="$MS_TMP/mp.%p" \
  "$PYTHON" "$MS_TMP/mp.py" "$MS_TMP/pids" <"$MS_TMP/go" >"$MS_TMP/out" 2>"$MS_TMP/err" &
parent=$!
MS_PIDS+=("$parent")
exec 3>"$MS_TMP/go" # opened after the parent: it holds the read end
started() {
  grep -q '^all started$' "$MS_TMP/pids" 2>/dev/null && return 0
  ms_alive "$parent" || ms_fail "the parent ended before its children started: $(cat "$MS_TMP/out" "$MS_TMP/err")"
  return 1
}
ms_wait_for 300 "the three children to start" started
while read -r method pid; do
  [ "$method" = all ] && continue
  MS_PIDS+=("$pid")
  "$MS_TEST_CLI" snapshot -t 120 "$pid" >"$MS_TMP/snap" 2>"$MS_TMP/snap.err" ||
    ms_fail "$method child $pid: memshim snapshot: $(cat "$MS_TMP/snap.err")"
  [ "$(cat "$MS_TMP/snap")" = "$MS_TMP/mp.$pid.json" ] || ms_fail "$method child: printed $(cat "$MS_TMP/snap")"
  [ "$(ms_report_pid "$MS_TMP/mp.$pid.json")" = "$pid signal" ] ||
    ms_fail "$method child: report says $(ms_report_pid "$MS_TMP/mp.$pid.json")"
  ms_alive "$pid" || ms_fail "$method child $pid died after its snapshot"
  ms_pass "$method child $pid: memshim snapshot wrote its report, the child runs on"
done <"$MS_TMP/pids"
echo go >&3
exec 3>&-
wait "$parent" || ms_fail "the parent failed: $(cat "$MS_TMP/out" "$MS_TMP/err")"
for method in spawn fork forkserver; do
  grep -q "^$method exit 0$" "$MS_TMP/out" || ms_fail "$method child did not exit 0: $(cat "$MS_TMP/out" "$MS_TMP/err")"
done
ms_pass "all three children finished their work and exited 0 after their snapshots"
