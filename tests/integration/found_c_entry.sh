#!/usr/bin/env bash
# Every C entry point (found_entry.c): glibc's documented behaviour first without the shim
# (so the program's own expectations are checked), then under libmemshim.so with the jemalloc
# backend, the glibc backend and MEMSHIM_ENABLE=0; under the shim every entry point must also
# move memshim's call counters by exactly what it did.
. "$(dirname "$0")/lib/common.sh"
export -n MEMSHIM_LIB MEMSHIM_CLI # ctest's paths, not options for the library

run_entry() { # want-counters description env...
  local want=$1 what=$2
  shift 2
  env "$@" "$PROGS/found_entry" >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "$what: $(cat "$MS_TMP/err")"
  grep -q "0 failed, counters $want\$" "$MS_TMP/out" || ms_fail "$what: $(cat "$MS_TMP/out")"
  [ ! -s "$MS_TMP/err" ] || ms_fail "$what: unexpected stderr: $(cat "$MS_TMP/err")"
  ms_pass "$what: $(cat "$MS_TMP/out")"
}

run_entry "not loaded" "plain glibc" LD_PRELOAD=
run_entry checked "memshim, jemalloc backend" LD_PRELOAD="$MEMSHIM_LIB"
run_entry checked "memshim, MEMSHIM_BACKEND=glibc" LD_PRELOAD="$MEMSHIM_LIB" MEMSHIM_BACKEND=glibc
run_entry checked "memshim, MEMSHIM_ENABLE=0" LD_PRELOAD="$MEMSHIM_LIB" MEMSHIM_ENABLE=0

# The backend really is the one asked for: jemalloc's arenas grow only under the jemalloc one.
cat >"$MS_TMP/backend.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  const char *(*b)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "memshim_backend");
  puts(b ? b() : "none");
  return 0;
}
C
cc -o "$MS_TMP/backend" "$MS_TMP/backend.c" -ldl
[ "$(ms_preload "$MS_TMP/backend")" = jemalloc ] || ms_fail "default backend is not jemalloc"
[ "$(ms_preload MEMSHIM_BACKEND=glibc "$MS_TMP/backend")" = glibc ] || ms_fail "MEMSHIM_BACKEND=glibc not honoured"
ms_pass "memshim_backend() reports jemalloc by default and glibc when asked"
