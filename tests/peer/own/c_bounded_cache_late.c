/* Own clean program: a bounded cache (2048 slots of 8 KiB, 16 MiB) that fills slowly, reaching
 * its bound at 70% of the run, then replaces entries (free the evicted one, malloc the new one).
 * Live bytes stop growing at 70%: a plateau reached late, not a leak. Argument: seconds to run
 * (default 3). Clean. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { SLOTS = 2048, VALUE = 8192 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *slots[SLOTS]; /* reachable until exit */

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 3.0, t0 = now();
  long puts = 0;
  int used = 0;
  while (now() - t0 < seconds) {
    double frac = (now() - t0) / seconds;
    int bound = frac >= 0.7 ? SLOTS : (int)(SLOTS * frac / 0.7); /* distinct keys seen so far */
    for (int i = 0; i < 8; i++, puts++) {
      int slot = used < bound ? used++ : (int)(puts % (used ? used : 1));
      free(slots[slot]);
      slots[slot] = malloc(VALUE);
      memset(slots[slot], (int)(puts & 0xff), 64);
    }
    usleep(1000);
  }
  printf("slots %d, puts %ld\n", used, puts);
  return 0;
}
