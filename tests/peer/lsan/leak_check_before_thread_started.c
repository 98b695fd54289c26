/* Scenario of LLVM lsan TestCases/leak_check_before_thread_started.cpp: main hands a block to a
 * detached thread that blocks forever on a mutex main holds, then exits. Clean (the block is the
 * live thread's argument). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *func(void *arg) {
  fprintf(stderr, "entered func()\n");
  pthread_mutex_lock(&mu);
  free(arg);
  pthread_mutex_unlock(&mu);
  return 0;
}

static void create_detached_thread(void) {
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  void *arg = malloc(1337);
  pthread_mutex_lock(&mu);
  if (pthread_create(&t, &attr, func, arg)) exit(2);
  pthread_attr_destroy(&attr);
}

int main(void) {
  create_detached_thread();
  return 0;
}
