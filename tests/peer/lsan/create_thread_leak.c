/* Scenario of LLVM lsan TestCases/create_thread_leak.cpp: N rounds of 10 threads; each thread
 * gets a malloc'd argument and returns a malloc'd value. Arguments: N LEAK_ARG LEAK_RETVAL DETACH.
 *   10 1 0 0: the arguments leak (allocated in main)
 *   10 0 1 0: the return values leak (allocated in thread_free)
 *   10 0 0 1: detached threads' return values leak (thread_free)
 *   10 0 0 0: clean.
 * Changed: the upstream's __lsan_do_recoverable_leak_check() call between creations is dropped.
 * Those checks stop the world 100 times, which gives the detached threads time to end before main
 * returns; without them a loaded machine can reach exit with most detached threads still running
 * (their return values then sit on live stacks: reachable, no leak to find). So with DETACH main
 * waits, before it returns, until every thread it started is gone from /proc/self/task (30 s at
 * most; a profiler may have threads of its own, so the count of threads is no measure). */
#define _GNU_SOURCE /* gettid */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int leak_arg, leak_retval, detach;

static pid_t tids[100000];
static int ntids, slots;

/* Whether a thread this program started is still a task of the process. */
static int threads_left(void) {
  char path[64];
  struct stat st;
  int n = __atomic_load_n(&ntids, __ATOMIC_ACQUIRE);
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof path, "/proc/self/task/%d", (int)tids[i]);
    if (stat(path, &st) == 0) return 1;
  }
  return 0;
}

static void *thread_free(void *arg) {
  if (detach) {
    int k = __atomic_fetch_add(&slots, 1, __ATOMIC_RELAXED);
    if (k < (int)(sizeof tids / sizeof *tids)) tids[k] = gettid();
    __atomic_fetch_add(&ntids, 1, __ATOMIC_RELEASE);
  }
  if (!leak_arg) free(arg);
  return malloc(234);
}

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  int rounds = atoi(argv[1]);
  leak_arg = atoi(argv[2]);
  leak_retval = atoi(argv[3]);
  detach = atoi(argv[4]);
  for (int r = 0; r < rounds; r++) {
    pthread_t t[10];
    for (int i = 0; i < 10; i++) pthread_create(&t[i], 0, thread_free, malloc(123));
    for (int i = 0; i < 10; i++) {
      if (detach) {
        pthread_detach(t[i]);
        continue;
      }
      void *ret = 0;
      pthread_join(t[i], &ret);
      if (!leak_retval) free(ret);
    }
  }
  /* Every thread has written its id, then none of them is a task any more. */
  for (int i = 0; detach && (__atomic_load_n(&ntids, __ATOMIC_ACQUIRE) < 10 * rounds || threads_left()); i++) {
    if (i == 30000) return 3; /* the detached threads never ended */
    nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
  }
  return 0;
}
