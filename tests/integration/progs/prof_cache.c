/* Clean: a bounded cache that fills during start-up (the first ~10% of the run), then stays
 * at its capacity while entries are replaced (free one, allocate one of the same size class).
 * Args: seconds (default 2.5), capacity in entries (default 3000 entries of 4 KiB = 12 MiB). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((noinline)) void *cache_fill_entry(size_t n) {
  void *p = malloc(n);
  memset(p, 3, n);
  return p;
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 2.5;
  size_t cap = argc > 2 ? (size_t)atol(argv[2]) : 3000;
  void **cache = calloc(cap, sizeof *cache);
  double t0 = now_s();
  size_t filled = 0;
  unsigned x = 12345;
  while (now_s() - t0 < secs) {
    double frac = (now_s() - t0) / secs;
    if (filled < cap && frac < 0.1) { /* start-up: fill in bursts */
      for (int k = 0; k < 100 && filled < cap; k++) cache[filled++] = cache_fill_entry(4096);
    } else if (filled < cap) {
      while (filled < cap) cache[filled++] = cache_fill_entry(4096);
    } else { /* steady state: replace random entries */
      for (int k = 0; k < 50; k++) {
        x = x * 1103515245u + 12345u;
        size_t i = (x >> 8) % cap;
        free(cache[i]);
        cache[i] = cache_fill_entry(4096);
      }
    }
    struct timespec d = {0, 2000000};
    nanosleep(&d, NULL);
  }
  printf("cached %zu\n", filled * 4096);
  for (size_t i = 0; i < filled; i++) free(cache[i]);
  free(cache);
  return 0;
}
