/* A threaded parent forks while its other threads are inside libunwind: under exact profiling
 * every allocation takes a backtrace, and short-lived threads make libunwind set up (and free)
 * its per-thread caches, so at a fork some thread nearly always holds one of libunwind's own
 * locks. Each child allocates (a backtrace each), starts a thread that does the same, and exits.
 * A child that has not ended after 30 s is hung (a lock held for good at the fork): trust_reap
 * prints what its tasks wait on, kills it and fails; so does a child that dies or fails.
 * Arguments: FORKS. Prints "forks=N reaped=N" and exits 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "trust_util.h"

#define WORKERS 3
#define CHILD_DEADLINE_MS 30000

static volatile int stop;

/* Nested calls so that each backtrace has frames to read. */
static __attribute__((noinline)) void *alloc3(size_t n) { return malloc(n); }
static __attribute__((noinline)) void *alloc2(size_t n) { return alloc3(n + 1); }
static __attribute__((noinline)) void *alloc1(size_t n) { return alloc2(n + 1); }

static void *churn_once(void *arg) {
  (void)arg;
  for (int i = 0; i < 200; i++) free(alloc1((size_t)(16 + i)));
  return NULL;
}

/* Threads that come and go, each allocating: libunwind makes and frees a cache per thread. */
static void *worker(void *arg) {
  (void)arg;
  while (!stop) {
    pthread_t t;
    if (pthread_create(&t, NULL, churn_once, NULL) != 0) continue;
    pthread_join(t, NULL);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 100;
  pthread_t w[WORKERS];
  for (int i = 0; i < WORKERS; i++)
    if (pthread_create(&w[i], NULL, worker, NULL) != 0) trust_fail("pthread_create");
  int reaped = 0;
  for (int i = 0; i < forks; i++) {
    free(alloc1(64));
    pid_t pid = fork();
    if (pid < 0) trust_fail("fork: %s", strerror(errno));
    if (pid == 0) {
      churn_once(NULL);
      pthread_t t;
      if (pthread_create(&t, NULL, churn_once, NULL) == 0) pthread_join(t, NULL);
      _exit(0);
    }
    char what[32];
    snprintf(what, sizeof what, "fork %d", i);
    if (trust_reap(pid, CHILD_DEADLINE_MS, what) != 0) trust_fail("%s: the child failed", what);
    reaped++;
  }
  stop = 1;
  for (int i = 0; i < WORKERS; i++) pthread_join(w[i], NULL);
  printf("forks=%d reaped=%d\n", forks, reaped);
  return 0;
}
