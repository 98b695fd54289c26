/* A known distribution, for checking the profiler's figures against the program's own count.
 * Holds N blocks allocated in hold_blocks() (sizes drawn from a fixed generator: 16..65536
 * bytes, mixed small/large), frees every third one, prints "live BYTES COUNT" and
 * "allocated BYTES COUNT" for that function, then (if asked) waits: the given seconds or until
 * SIGTERM, which ends the program normally (exit 0, exit-time reports written), so that a test
 * can hold it as long as its check takes and then see what exit does.
 * Args: N (default 20000), wait seconds (default 0), churn (1: free every block right away,
 * so that a large N allocates much but holds little; "live" is then 0). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static __attribute__((noinline)) void *hold_blocks(size_t n) { return malloc(n); }

int main(int argc, char **argv) {
  size_t n = argc > 1 ? (size_t)atol(argv[1]) : 20000;
  int wait_s = argc > 2 ? atoi(argv[2]) : 0;
  int churn = argc > 3 && atoi(argv[3]) == 1;
  void **v = calloc(n, sizeof *v);
  size_t *sz = calloc(n, sizeof *sz);
  unsigned long long live = 0, live_n = 0, alloc = 0;
  unsigned x = 42;
  for (size_t i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    unsigned r = (x >> 8);
    sz[i] = (r % 10 == 0) ? 4096 + r % 61440 : 16 + r % 1024;
    v[i] = hold_blocks(sz[i]);
    memset(v[i], 1, 16);
    alloc += sz[i];
    if (churn) { free(v[i]); v[i] = NULL; }
  }
  for (size_t i = 0; i < n; i++) {
    if (churn) continue;
    if (i % 3 == 0) { free(v[i]); v[i] = NULL; }
    else { live += sz[i]; live_n++; }
  }
  printf("live %llu %llu\nallocated %llu %zu\n", live, live_n, alloc, n);
  fflush(stdout);
  signal(SIGTERM, on_term);
  for (int s = 0; s < wait_s * 10 && !stop; s++) usleep(100000);
  return 0;
}
