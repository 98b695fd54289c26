/* Clean, high churn: two threads allocate and free blocks of many sizes as fast as they can,
 * holding a bounded working set. Args: seconds (default 2). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double secs = 2.0;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((noinline)) void *work_item(size_t n) {
  char *p = malloc(n);
  memset(p, 7, n < 64 ? n : 64);
  return p;
}

static void *worker(void *arg) {
  unsigned x = (unsigned)(uintptr_t)arg * 2654435761u + 1;
  void *slots[1024] = {0};
  double t0 = now_s();
  unsigned long ops = 0;
  while (now_s() - t0 < secs) {
    for (int k = 0; k < 4096; k++) {
      x = x * 1103515245u + 12345u;
      unsigned i = (x >> 8) % 1024;
      free(slots[i]);
      slots[i] = work_item(16 + (x >> 4) % 16384);
      ops++;
    }
  }
  for (int i = 0; i < 1024; i++) free(slots[i]);
  return (void *)ops;
}

int main(int argc, char **argv) {
  if (argc > 1) secs = atof(argv[1]);
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
  unsigned long total = 0;
  for (int i = 0; i < 2; i++) {
    void *r;
    pthread_join(t[i], &r);
    total += (unsigned long)r;
  }
  printf("ops %lu\n", total);
  return 0;
}
