/* Threads that allocate and free at once, a fixed amount of work (not a duration), so a test can
 * count what memshim does per allocation. Args: threads (default 8), allocations per thread
 * (default 20000). Each thread keeps a ring of 64 live blocks of many sizes. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long per_thread = 20000;

static __attribute__((noinline)) void *ring_block(long i) {
  char *p = malloc(16 + (size_t)(i * 37) % 4000);
  if (p) memset(p, 1, 16);
  return p;
}

static void *worker(void *arg) {
  void *ring[64] = {0};
  for (long i = 0; i < per_thread; i++) {
    free(ring[i & 63]);
    ring[i & 63] = ring_block(i);
  }
  for (int k = 0; k < 64; k++) free(ring[k]);
  return arg;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 8;
  if (argc > 2) per_thread = atol(argv[2]);
  if (n < 1 || n > 256 || per_thread < 1) return 2;
  pthread_t t[256];
  for (int i = 0; i < n; i++)
    if (pthread_create(&t[i], NULL, worker, NULL) != 0) return 3;
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
  return 0;
}
