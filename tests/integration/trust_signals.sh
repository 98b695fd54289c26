#!/usr/bin/env bash
# Issue 12, the report signal under profiling is installed only over SIG_DFL (the default one,
# SIGRTMIN+9, and SIGUSR2 when the user names it):
# - a parent ignores the signal and execs the preloaded program: it stays ignored in it
#   (sigaction and SigIgn), raising it does nothing, a non-preloaded grandchild inherits the
#   ignore (kill -SIG $$ leaves it alive); memshim says so once at MEMSHIM_VERBOSE=1, nothing at
#   0, and as an error when the user chose the signal with MEMSHIM_REPORT_SIGNAL;
# - a DT_NEEDED library whose constructor installs a handler on the signal (it runs before
#   memshim's) keeps it: raising the signal runs the library's handler;
# - with SIG_DFL the report on the signal still works: prof_reports checks it.
. "$(dirname "$0")/lib/common.sh"
export -n MS_TEST_LIB MS_TEST_CLI
PROF=(MEMSHIM_PROFILE=1 "MEMSHIM_REPORT_PATH=$MS_TMP/r.%p")
sig=$(ms_report_signal)          # SIGRTMIN+9
signo=$(kill -l "${sig#SIG}")     # its number
step_back="reports: signal $signo is already ignored; no reports on that signal"
step_back_usr2='reports: signal 12 is already ignored; no reports on that signal'

for v in 0 1; do
  rc=0
  timeout -s KILL 60 bash -c 'trap "" "$0"; exec env "$@"' "${sig#SIG}" LD_PRELOAD="$MS_TEST_LIB" "${PROF[@]}" \
    MEMSHIM_VERBOSE=$v "$PROGS/trust_signals" "$signo" >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
  [ "$rc" -eq 0 ] || ms_fail "inherited SIG_IGN (verbose $v): status $rc ($((128 + signo)): $sig killed it): $(cat "$MS_TMP/out" "$MS_TMP/err")"
  grep -q '^disposition: ignored$' "$MS_TMP/out" && grep -q '^SigIgn: 1$' "$MS_TMP/out" &&
    grep -q '^survived$' "$MS_TMP/out" || ms_fail "inherited SIG_IGN (verbose $v): $(cat "$MS_TMP/out")"
  n=$(grep -c "$step_back" "$MS_TMP/err" || true)
  [ "$n" -eq "$v" ] || ms_fail "inherited SIG_IGN: $n lines saying so at MEMSHIM_VERBOSE=$v, want $v: $(cat "$MS_TMP/err")"
  [ "$v" -eq 1 ] || [ ! -s "$MS_TMP/err" ] || ms_fail "inherited SIG_IGN at MEMSHIM_VERBOSE=0: stderr: $(cat "$MS_TMP/err")"
  ms_pass "inherited SIG_IGN on $sig stays (MEMSHIM_VERBOSE=$v): $(paste -sd';' "$MS_TMP/out"); memshim said so $n time(s)"
done

timeout -s KILL 60 bash -c 'trap "" USR2; exec env "$@"' _ LD_PRELOAD="$MS_TEST_LIB" "${PROF[@]}" MEMSHIM_REPORT_SIGNAL=SIGUSR2 \
  "$PROGS/trust_signals" >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "MEMSHIM_REPORT_SIGNAL=SIGUSR2: $(cat "$MS_TMP/out" "$MS_TMP/err")"
[ "$(grep -c "$step_back_usr2" "$MS_TMP/err")" -eq 1 ] || ms_fail "MEMSHIM_REPORT_SIGNAL=SIGUSR2 over SIG_IGN: not said once at VERBOSE=0: $(cat "$MS_TMP/err")"
ms_pass "inherited SIG_IGN with MEMSHIM_REPORT_SIGNAL=SIGUSR2 chosen by the user: kept, said once as an error"

timeout -s KILL 60 bash -c 'trap "" "$0"; exec env "$@"' "${sig#SIG}" LD_PRELOAD="$MS_TEST_LIB" "${PROF[@]}" \
  bash -c 'env -u LD_PRELOAD sh -c "kill -$0 \$\$; echo grandchild alive"' "$signo" >"$MS_TMP/out" 2>"$MS_TMP/err" || true
grep -q '^grandchild alive$' "$MS_TMP/out" || ms_fail "a non-preloaded grandchild died of $sig: $(cat "$MS_TMP/out" "$MS_TMP/err")"
ms_pass "a non-preloaded grandchild of the preloaded shell inherits SIG_IGN: kill -$signo \$\$ leaves it alive"

cat >"$MS_TMP/usr2lib.c" <<'C'
#include <signal.h>
#include <unistd.h>
/* memshim's default report signal */
#define TRUST_SIG (SIGRTMIN + 9)
volatile sig_atomic_t trust_usr2_seen;
static void on_usr2(int sig) { (void)sig; trust_usr2_seen++; }
__attribute__((constructor)) static void install(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_usr2;
  sigemptyset(&sa.sa_mask);
  sigaction(TRUST_SIG, &sa, NULL);
  static const char msg[] = "library constructor: report signal handler installed\n";
  write(1, msg, sizeof msg - 1);
}
C
cat >"$MS_TMP/usr2main.c" <<'C'
#include <signal.h>
#include <stdio.h>
extern volatile sig_atomic_t trust_usr2_seen;
int main(void) {
  raise(SIGRTMIN + 9);
  printf("library handler ran %d time(s)\n", (int)trust_usr2_seen);
  return trust_usr2_seen == 1 ? 0 : 1;
}
C
cc -shared -fPIC -o "$MS_TMP/libtrust_usr2.so" "$MS_TMP/usr2lib.c"
cc -o "$MS_TMP/usr2main" "$MS_TMP/usr2main.c" -L"$MS_TMP" -ltrust_usr2 -Wl,-rpath,"$MS_TMP"
rc=0
timeout -s KILL 60 env LD_PRELOAD="$MS_TEST_LIB" "${PROF[@]}" MEMSHIM_VERBOSE=1 "$MS_TMP/usr2main" \
  >"$MS_TMP/out" 2>"$MS_TMP/err" || rc=$?
[ "$rc" -eq 0 ] || ms_fail "library's $sig handler: status $rc: $(cat "$MS_TMP/out" "$MS_TMP/err")"
grep -q 'library constructor: report signal handler installed' "$MS_TMP/out" || ms_fail "the library's constructor did not run"
grep -q "reports: signal $signo is already handled" "$MS_TMP/err" ||
  ms_fail "memshim did not see the library's handler (did its constructor run first?): $(cat "$MS_TMP/err")"
ms_pass "DT_NEEDED library's $sig handler (installed before memshim's constructor) kept: $(tail -1 "$MS_TMP/out")"
