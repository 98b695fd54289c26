/* Leaks in a named static function among clean allocation noise. Args: seconds (default 2),
 * bytes leaked per step (default 64K), 50 steps a second. Prints "leaked N" (its own count of
 * live leaked bytes). The leak follows the program's clock, not its loop: after a stretch
 * without CPU (busy cores) it catches up, so the gate sees the same steady growth on a loaded
 * machine as on a quiet one (counted per loop turn, a starved last second looked like a cache
 * that had stopped filling: leak.growth_bytes 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *volatile sink;
static void **leaks;
static size_t nleaks;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The leak: blocks kept forever (still reachable through `leaks`, like a cache without bound). */
static __attribute__((noinline)) void remember_forever(size_t bytes) {
  void *p = malloc(bytes);
  memset(p, 1, bytes);
  leaks[nleaks++] = p;
}

/* Clean noise: allocate and free right away, many sizes. */
static __attribute__((noinline)) void churn(unsigned seed) {
  void *tmp[64];
  for (int i = 0; i < 64; i++) {
    tmp[i] = malloc(16 + (seed * 2654435761u + (unsigned)i * 97u) % 8192);
    sink = tmp[i];
  }
  for (int i = 0; i < 64; i++) free(tmp[i]);
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 2.0;
  size_t step = argc > 2 ? (size_t)atol(argv[2]) : 65536;
  leaks = calloc(1 << 20, sizeof *leaks);
  double t0 = now_s();
  unsigned i = 0;
  double t;
  while ((t = now_s() - t0) < secs) {
    churn(i++);
    while ((double)nleaks < t * 50.0) remember_forever(step);
    struct timespec d = {0, 2000000};
    nanosleep(&d, NULL);
  }
  printf("leaked %zu\n", nleaks * step);
  return 0;
}
