/* The hot path's per-thread dispatch (docs/design.md): a thread that allocated past its first
 * activity tick goes straight to jemalloc (threads.direct counts it) in a jemalloc process
 * without profiling, and stays tracked with the glibc backend or under profiling. calls.alloc
 * and calls.free still count a direct thread's calls (jemalloc's own statistics).
 * Prints "direct main W worker X allocs +A frees +F" and exits 0; the script judges. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BLOCKS 100000 /* 6.4 MB of 64-byte blocks: several activity ticks (1 MiB) */

static int (*stat_fn)(const char *, uint64_t *);
static pthread_barrier_t switched, counted;
static uint64_t direct_worker;

static uint64_t stat_of(const char *name) {
  uint64_t v = 0;
  if (stat_fn(name, &v) != 0) { fprintf(stderr, "hot_dispatch: memshim_stat(%s) failed\n", name); exit(1); }
  return v;
}

static void churn(void) {
  for (int i = 0; i < BLOCKS; i++) {
    void *volatile p = malloc(64);
    free(p);
  }
}

static void *worker(void *arg) {
  (void)arg;
  churn();
  pthread_barrier_wait(&switched); /* main reads threads.direct while this thread lives */
  pthread_barrier_wait(&counted);
  return NULL;
}

int main(void) {
  stat_fn = (int (*)(const char *, uint64_t *))dlsym(RTLD_DEFAULT, "memshim_stat");
  if (!stat_fn) { fprintf(stderr, "hot_dispatch: memshim is not loaded\n"); return 2; }
  churn();
  uint64_t direct_main = stat_of("threads.direct");
  uint64_t a0 = stat_of("calls.alloc"), f0 = stat_of("calls.free");
  pthread_barrier_init(&switched, NULL, 2);
  pthread_barrier_init(&counted, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_barrier_wait(&switched);
  direct_worker = stat_of("threads.direct");
  pthread_barrier_wait(&counted);
  pthread_join(t, NULL);
  uint64_t a1 = stat_of("calls.alloc"), f1 = stat_of("calls.free");
  printf("direct main %llu worker %llu allocs +%llu frees +%llu\n", (unsigned long long)direct_main,
         (unsigned long long)direct_worker, (unsigned long long)(a1 - a0), (unsigned long long)(f1 - f0));
  return 0;
}
