/* How SIGUSR2 is set up in this process, then what raising it does.
 *   trust_signals
 * Prints "disposition: ignored|default|handled", the SigIgn bit of /proc/self/status, then
 * raises SIGUSR2 and prints "survived SIGUSR2" (with SIG_DFL the raise ends the process). */
#include <signal.h>

#include "trust_util.h"

int main(void) {
  struct sigaction sa;
  if (sigaction(SIGUSR2, NULL, &sa) != 0) trust_fail("sigaction");
  const char *d = (sa.sa_flags & SA_SIGINFO) || (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
                    ? "handled"
                    : sa.sa_handler == SIG_IGN ? "ignored" : "default";
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long long ign = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "SigIgn: %llx", &ign) == 1) break;
  if (f) fclose(f);
  printf("disposition: %s\nSigIgn SIGUSR2: %d\n", d, (int)((ign >> (SIGUSR2 - 1)) & 1));
  fflush(stdout);
  raise(SIGUSR2);
  printf("survived SIGUSR2\n");
  return 0;
}
