/* A bounded cache that fills until a given fraction of the run and then holds (entries replaced:
 * free one, allocate one of the same size), or with a fraction of 1 or more, a cache that never
 * stops growing (nothing freed). The fill follows the clock, so a starved run still ends filling
 * on time. Args: seconds (default 3), fill fraction (default 0.5), MiB (default 12).
 * Prints "cached N" when done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENTRY 4096

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((noinline)) void *plateau_cache_entry(void) {
  void *p = malloc(ENTRY);
  memset(p, 5, ENTRY);
  return p;
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 3.0, fill = argc > 2 ? atof(argv[2]) : 0.5;
  size_t cap = (size_t)(argc > 3 ? atof(argv[3]) : 12.0) * (1u << 20) / ENTRY;
  void **cache = calloc(cap, sizeof *cache);
  size_t filled = 0;
  unsigned x = 777;
  double t0 = now_s(), t;
  while ((t = now_s() - t0) < secs) {
    double share = fill >= 1.0 ? t / secs : t / (fill * secs);
    size_t want = share >= 1.0 ? cap : (size_t)((double)cap * share);
    while (filled < want) cache[filled++] = plateau_cache_entry();
    if (fill < 1.0 && filled == cap) { /* full: replace random entries */
      for (int k = 0; k < 50; k++) {
        x = x * 1103515245u + 12345u;
        size_t i = (x >> 8) % cap;
        free(cache[i]);
        cache[i] = plateau_cache_entry();
      }
    }
    struct timespec d = {0, 2000000};
    nanosleep(&d, NULL);
  }
  printf("cached %zu\n", filled * ENTRY);
  for (size_t i = 0; i < filled; i++) free(cache[i]);
  free(cache);
  return 0;
}
