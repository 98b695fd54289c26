/* Scenario of LLVM lsan TestCases/create_thread_leak.cpp: N rounds of 10 threads; each thread
 * gets a malloc'd argument and returns a malloc'd value. Arguments: N LEAK_ARG LEAK_RETVAL DETACH.
 *   10 1 0 0: the arguments leak (allocated in main)
 *   10 0 1 0: the return values leak (allocated in thread_free)
 *   10 0 0 1: detached threads' return values leak (thread_free)
 *   10 0 0 0: clean.
 * Changed: the upstream's __lsan_do_recoverable_leak_check() call between creations is dropped. */
#include <pthread.h>
#include <stdlib.h>

static int leak_arg, leak_retval, detach;

static void *thread_free(void *arg) {
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
  return 0;
}
