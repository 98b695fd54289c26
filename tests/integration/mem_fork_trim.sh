#!/bin/bash
# fork while another thread purges through memshim_trim: no child inherits an arena jemalloc
# believes is mid-purge (its pages would never be returned there). Without the purge lock that
# fork takes, about 4 children in 1000 kept ~30 MB no purge could return. jemalloc's own decay
# is off (MALLOC_CONF), so every purge in the process is memshim's.
. "$(dirname "$0")/lib/common.sh"

out=$(ms_preload MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 timeout 300 "$PROGS/mem_fork_trim" 1000 2>&1) ||
  ms_fail "fork during memshim_trim: $out"
echo "$out"
line=$(grep '^forks=' <<<"$out") || ms_fail "no summary: $out"
trims=${line##*trims=}
ms_assert_num "$trims" -ge 100 "purges that ran while the main thread forked"
grep -q '^forks=1000 stuck=0 ' <<<"$line" || ms_fail "a child had pages no purge returns: $line"
ms_pass "1000 forks during $trims purges, every child could purge every arena"
