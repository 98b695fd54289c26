#!/usr/bin/env bash
# %t in a forked child is the child's own start (its fork), not its parent's: with the parent's,
# a reused pid made a second report of the same name, which was lost (a report file is never
# overwritten; seen in the stress tier as "File exists"). The parent forks once the clock has
# passed its own start second, so the two names must differ in %t, and both reports exist.
. "$(dirname "$0")/lib/common.sh"
out=$(cd "$MS_TMP" && timeout -s KILL 60 env LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_REPORT=json \
  MEMSHIM_REPORT_PATH="$MS_TMP/r.%p.%t" "$PYTHON" -c '
import os, sys, time
t0 = int(time.time())
while int(time.time()) <= t0:  # the next second: the fork comes after the parent start second
    time.sleep(0.05)
pid = os.fork()
if pid == 0:
    sys.exit(0)
os.waitpid(pid, 0)
print(os.getpid(), pid)
') || ms_fail "the program failed: $out"
read -r parent child <<<"$out"
pf=$(ls "$MS_TMP"/r."$parent".*.json 2>/dev/null) || ms_fail "no report of the parent: $(ls "$MS_TMP")"
cf=$(ls "$MS_TMP"/r."$child".*.json 2>/dev/null) || ms_fail "no report of the child: $(ls "$MS_TMP")"
pt=${pf##*/r.$parent.}; pt=${pt%.json}
ct=${cf##*/r.$child.}; ct=${ct%.json}
ms_assert_num "$ct" -gt "$pt" "the child's %t against its parent's ($cf, $pf)"
ms_pass "the child's report is named with its own start ($ct), after its parent's ($pt)"
