#!/usr/bin/env bash
# Every C entry point (found_entry.c): glibc's documented behaviour first without the shim
# (so the program's own expectations are checked), then under libmemshim.so with the jemalloc
# backend, the glibc backend and MEMSHIM_ENABLE=0; under the shim every entry point must also
# move memshim's call counters by exactly what it did.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/found.sh"

found_run_prog found_entry "not loaded" "plain glibc" LD_PRELOAD=
found_run_prog found_entry checked "memshim, jemalloc backend" LD_PRELOAD="$MS_TEST_LIB"
found_run_prog found_entry checked "memshim, MEMSHIM_BACKEND=glibc" LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_BACKEND=glibc
found_run_prog found_entry checked "memshim, MEMSHIM_ENABLE=0" LD_PRELOAD="$MS_TEST_LIB" MEMSHIM_ENABLE=0

# The backend is the one asked for.
found_backend_prog
[ "$(ms_preload "$MS_TMP/backend")" = jemalloc ] || ms_fail "default backend is not jemalloc"
[ "$(ms_preload MEMSHIM_BACKEND=glibc "$MS_TMP/backend")" = glibc ] || ms_fail "MEMSHIM_BACKEND=glibc not honoured"
ms_pass "memshim_backend() reports jemalloc by default and glibc when asked"
