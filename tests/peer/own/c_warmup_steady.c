/* Own clean program: a warm-up that builds a 24 MiB lookup table during the first fifth of the
 * run, then a steady phase of request buffers allocated and freed. Live bytes grow only while
 * warming up. Argument: seconds to run (default 2.5). Clean. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Not static: the table must stay reachable until exit, or the compiler may drop the stores. */
char *table[6144];

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2.5, t0 = now();
  int filled = 0;
  long requests = 0;
  while (now() - t0 < seconds) {
    double frac = (now() - t0) / seconds;
    if (frac < 0.2) { /* warm-up: fill the table in step with time */
      int want = (int)(6144 * frac / 0.2);
      while (filled < want && filled < 6144) {
        table[filled] = malloc(4096);
        memset(table[filled], filled & 0xff, 4096);
        filled++;
      }
    }
    for (int i = 0; i < 32; i++, requests++) {
      char *buf = malloc(2048 + (size_t)(requests % 7) * 512);
      buf[0] = (char)requests;
      free(buf);
    }
    usleep(1000);
  }
  printf("table %d, requests %ld\n", filled, requests);
  return 0;
}
