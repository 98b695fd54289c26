/* The hot path's per-thread dispatch (docs/design.md): a thread that allocated past its first
 * activity tick goes straight to jemalloc (threads.direct counts it) in a jemalloc process
 * without profiling, and stays tracked with the glibc backend or under profiling. calls.alloc
 * and calls.free still count a direct thread's calls (jemalloc's own statistics), and the heap
 * policy still purges on the thread that frees a large heap (jemalloc's activity callback).
 * Prints "direct main W worker X allocs +A frees +F purges +P" and exits 0; the script judges. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* 160 MiB touched and freed: far past the default MEMSHIM_RETAINED_MAX (64 MiB). */
#define BIG 160
static void unload(void) {
  static void *big[BIG];
  for (int i = 0; i < BIG; i++) {
    big[i] = malloc(1u << 20);
    if (big[i]) memset(big[i], 1, 1u << 20);
  }
  for (int i = 0; i < BIG; i++) free(big[i]);
}

static void *worker(void *arg) {
  (void)arg;
  churn();
  pthread_barrier_wait(&switched); /* main reads threads.direct while this thread lives */
  pthread_barrier_wait(&counted);
  unload();
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
  uint64_t p0 = stat_of("purge.count");
  pthread_barrier_wait(&counted);
  pthread_join(t, NULL); /* the purge, if any, ran on the worker, inline */
  uint64_t a1 = stat_of("calls.alloc"), f1 = stat_of("calls.free"), p1 = stat_of("purge.count");
  printf("direct main %llu worker %llu allocs +%llu frees +%llu purges +%llu\n", (unsigned long long)direct_main,
         (unsigned long long)direct_worker, (unsigned long long)(a1 - a0), (unsigned long long)(f1 - f0),
         (unsigned long long)(p1 - p0));
  return 0;
}
