# Sourced by the found_* tests after common.sh.
export -n MS_TEST_LIB MS_TEST_CLI # ctest's paths, not options for the library

# found_run_prog PROG WANT DESCRIPTION [VAR=value...]: run a found_* checker program with the
# given environment; it must exit 0, print "0 failed, counters WANT" and nothing on stderr.
found_run_prog() {
  local prog=$1 want=$2 what=$3
  shift 3
  env "$@" "$PROGS/$prog" >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "$what: $(cat "$MS_TMP/out" "$MS_TMP/err")"
  grep -q "0 failed, counters $want\$" "$MS_TMP/out" || ms_fail "$what: $(cat "$MS_TMP/out")"
  [ ! -s "$MS_TMP/err" ] || ms_fail "$what: unexpected stderr: $(cat "$MS_TMP/err")"
  ms_pass "$what: $(cat "$MS_TMP/out")"
}

# found_backend_prog: builds $MS_TMP/backend, which prints memshim_backend() (or "none").
found_backend_prog() {
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
}
