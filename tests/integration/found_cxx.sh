#!/usr/bin/env bash
# Every operator new/delete variant (found_newdelete.cc): standard behaviour without the shim,
# then under libmemshim.so (jemalloc and glibc backends, MEMSHIM_ENABLE=0), where each variant
# must move memshim's counters by exactly one call (proof that ours was bound, not
# libstdc++'s or libjemalloc's).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/found.sh"

found_run_prog found_newdelete "not loaded" "plain libstdc++" LD_PRELOAD=
found_run_prog found_newdelete checked "memshim, jemalloc backend" LD_PRELOAD="$MS_TEST_LIB"
found_run_prog found_newdelete checked "memshim, MEMSHIM_BACKEND=glibc" LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_BACKEND=glibc
found_run_prog found_newdelete checked "memshim, MEMSHIM_ENABLE=0" LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_ENABLE=0

# The program's operator new binds to libmemshim, not to libstdc++ or libjemalloc.
LD_DEBUG=bindings LD_DEBUG_OUTPUT="$MS_TMP/ld" ms_preload "$PROGS/found_newdelete" >/dev/null 2>&1 ||
  ms_fail "found_newdelete under LD_DEBUG"
bindings=$(cat "$MS_TMP"/ld.* | grep "binding file $PROGS/found_newdelete " | grep -E "\`_Z(nw|na|dl|da)" || true)
[ -n "$bindings" ] || ms_fail "no operator new/delete bindings of found_newdelete in LD_DEBUG output"
others=$(grep -v " to $MS_TEST_LIB \[" <<<"$bindings" || true)
[ -z "$others" ] || ms_fail "operators bound elsewhere: $others"
ms_pass "$(wc -l <<<"$bindings") operator new/delete bindings of the program all go to libmemshim.so"
