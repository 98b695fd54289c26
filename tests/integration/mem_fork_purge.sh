#!/bin/bash
# fork while purging (monitor purges every millisecond, a thread calls memshim_trim in a loop):
# no deadlock (alarm in the program, timeout here), and every child gets a monitor of its own
# that purges in it.
. "$(dirname "$0")/lib/common.sh"

out=$(ms_preload MEMSHIM_PURGE_INTERVAL=1ms MEMSHIM_RETAINED_MAX=256K MEMSHIM_IDLE_PURGE=off \
      timeout 120 "$PROGS/mem_fork_purge" 100) || ms_fail "fork during purging: exit $? ($out)"
echo "$out"
grep -q "^forks=100 failed=0 " <<<"$out" || ms_fail "a child failed: $out"
ms_pass "100 forks during purges, each child purged on its own monitor"
