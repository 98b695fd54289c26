/* A process that forks every 250 ms and allocates only in the 20 ms before each fork: memshim's
 * thread comes back with that activity and is stopped again by the fork (every suspension keeps
 * it away for MS_MONITOR_RESUME_HOLD_MS after). A report signal that arrives while it is away
 * must be served when it comes back, not one job delay later: before that fix the report job's
 * first run (MEMSHIM_SNAPSHOT_INTERVAL after the start) never came in such a process, and a
 * report signal was answered at exit only. Usage: prof_signal_fork SECONDS SIGNAL: after its
 * fourth fork (the thread stopped by it and held away) it sends itself SIGNAL, once, then forks
 * on until SECONDS pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trust_util.h"

int main(int argc, char **argv) {
  if (argc < 3) trust_fail("usage: prof_signal_fork SECONDS SIGNAL");
  unsigned seconds = (unsigned)atoi(argv[1]);
  int sig = atoi(argv[2]);
  uint64_t end = trust_now_ms() + seconds * 1000u;
  for (unsigned forks = 0; trust_now_ms() < end; forks++) {
    trust_sleep_ms(250);
    uint64_t busy = trust_now_ms() + 20;
    while (trust_now_ms() < busy) free(trust_alloc(1u << 20));
    pid_t pid = fork();
    if (pid < 0) trust_fail("fork");
    if (pid == 0) _exit(0);
    if (trust_reap(pid, 60000, "fork child") != 0) trust_fail("child failed");
    if (forks == 4) {
      kill(getpid(), sig);
      printf("signalled\n");
      fflush(stdout);
    }
  }
  return 0;
}
