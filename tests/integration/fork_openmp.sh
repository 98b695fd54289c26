#!/usr/bin/env bash
# Issue 22, quiet by default: the fork warning only where the hazard is real. An OpenMP program
# (gcc -fopenmp, built here; libgomp's pool started by a first region of 4 threads) that forks
# - to exec a helper: nothing on stderr at the default level (one line at MEMSHIM_VERBOSE=1);
# - and runs three one-thread regions in the child: the warning exactly once, child exits 0;
# - and runs a pooled region in the child, which libgomp cannot serve after fork (it hangs
#   without memshim too): the warning appears before the hang (the test then kills the child);
# - the same program, not preloaded, prints nothing (the warning is ours, the hang is not).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/snapshot.sh"
export -n MS_TEST_LIB MS_TEST_CLI
command -v gcc >/dev/null || ms_skip "gcc is not installed"
cat >"$MS_TMP/fork_omp.c" <<'C'
/* Runs an OpenMP region with
 * OMP_NUM_THREADS threads (libgomp's pool starts), then forks once. Modes of the child:
 * "exec": execs /bin/true (fork to run a helper); "one": three parallel regions of one thread
 * each (a team of one does not need the pool), then exits 0; "pool": a region with the pool,
 * which libgomp cannot serve after fork (it hangs: the test kills it). The parent prints
 * "child PID" and exits with 0 when the child exited 0. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "exec";
  long sum = 0;
#pragma omp parallel for reduction(+ : sum)
  for (int i = 0; i < 100000; i++) sum += i;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    if (strcmp(mode, "exec") == 0) {
      execl("/bin/true", "true", (char *)0);
      _exit(127);
    }
    long t = 0;
    if (strcmp(mode, "one") == 0) {
      for (int r = 0; r < 3; r++) {
#pragma omp parallel num_threads(1) reduction(+ : t)
        t += r;
      }
    } else {
#pragma omp parallel for reduction(+ : t)
      for (int i = 0; i < 100000; i++) t += i;
    }
    _exit(t >= 0 ? 0 : 1);
  }
  printf("child %d\n", (int)pid);
  fflush(stdout);
  int st;
  if (waitpid(pid, &st, 0) != pid) return 2;
  printf("sum %ld, child status %d\n", sum, st);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
C
gcc -O2 -fopenmp -o "$MS_TMP/fork_omp" "$MS_TMP/fork_omp.c" 2>"$MS_TMP/cc.err" ||
  ms_skip "gcc -fopenmp cannot build here (libgomp absent): $(cat "$MS_TMP/cc.err")"
export OMP_NUM_THREADS=4
WARN='OpenMP (libgomp) parallel region .* in a child forked after'

ms_preload "$MS_TMP/fork_omp" exec >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "exec: $(cat "$MS_TMP/out" "$MS_TMP/err")"
[ ! -s "$MS_TMP/err" ] || ms_fail "fork + exec printed: $(cat "$MS_TMP/err")"
ms_preload MEMSHIM_VERBOSE=1 "$MS_TMP/fork_omp" exec >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "exec, verbose: $(cat "$MS_TMP/err")"
grep -q 'fork() while [0-9]* threads run and OpenMP (libgomp) is loaded' "$MS_TMP/err" ||
  ms_fail "MEMSHIM_VERBOSE=1 does not say the fork: $(cat "$MS_TMP/err")"
ms_pass "OpenMP program forks to exec a helper: quiet by default, one line at MEMSHIM_VERBOSE=1"

ms_preload "$MS_TMP/fork_omp" one >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "one: $(cat "$MS_TMP/out" "$MS_TMP/err")"
n=$(grep -c "$WARN" "$MS_TMP/err" || true)
[ "$n" -eq 1 ] || ms_fail "child with three OpenMP regions, no exec: $n warnings, want 1: $(cat "$MS_TMP/err")"
[ "$(grep -vc "$WARN" "$MS_TMP/err" || true)" -eq 0 ] || ms_fail "other stderr: $(cat "$MS_TMP/err")"
ms_pass "child runs OpenMP regions without exec: the warning, once"

# The pooled region hangs in libgomp: wait for the warning, then end the child by its id.
ms_preload "$MS_TMP/fork_omp" pool >"$MS_TMP/out" 2>"$MS_TMP/err" &
parent=$!
MS_PIDS+=("$parent")
ms_wait_for 120 "the warning before the pooled region: $(cat "$MS_TMP/err")" grep -q "$WARN" "$MS_TMP/err"
ms_wait_for 60 "the child's pid" grep -q '^child ' "$MS_TMP/out"
child=$(awk '/^child / { print $2 }' "$MS_TMP/out")
kill -KILL "$child" 2>/dev/null || true
rc=0
wait "$parent" || rc=$?
ms_assert_num "$rc" -eq 1 "parent's status once its child was killed"
[ "$(grep -c "$WARN" "$MS_TMP/err")" -eq 1 ] || ms_fail "pool: $(cat "$MS_TMP/err")"
ms_pass "child enters a pooled OpenMP region without exec: warned before the hang"

# Not preloaded: the same program is silent (and its "one" child fine): the line is memshim's.
"$MS_TMP/fork_omp" one >"$MS_TMP/out" 2>"$MS_TMP/err" || ms_fail "without memshim: $(cat "$MS_TMP/err")"
[ ! -s "$MS_TMP/err" ] || ms_fail "without memshim: $(cat "$MS_TMP/err")"
ms_pass "without memshim: same program, nothing printed"
