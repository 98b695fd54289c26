/* How a signal is set up in this process, then what raising it does.
 *   trust_signals [SIGNO]     (default SIGUSR2)
 * Prints "disposition: ignored|default|handled", the signal's SigIgn bit of /proc/self/status,
 * then raises it and prints "survived" (with SIG_DFL the raise ends the process). */
#include <signal.h>
#include <stdlib.h>

#include "trust_util.h"

int main(int argc, char **argv) {
  int sig = argc > 1 ? atoi(argv[1]) : SIGUSR2;
  struct sigaction sa;
  if (sigaction(sig, NULL, &sa) != 0) trust_fail("sigaction");
  const char *d = (sa.sa_flags & SA_SIGINFO) || (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
                    ? "handled"
                    : sa.sa_handler == SIG_IGN ? "ignored" : "default";
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long long ign = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "SigIgn: %llx", &ign) == 1) break;
  if (f) fclose(f);
  printf("disposition: %s\nSigIgn: %d\n", d, (int)((ign >> (sig - 1)) & 1));
  fflush(stdout);
  raise(sig);
  printf("survived\n");
  return 0;
}
