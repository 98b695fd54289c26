/* Scenario of LLVM lsan TestCases/use_stacks_threaded.cpp: a thread that is still running at
 * exit keeps the pointer in a local. Clean (reachable from that thread's stack). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

static void *stacks_thread(void *arg) {
  int *ready = arg;
  void *volatile p = malloc(1337);
  fprintf(stderr, "alloc: %p\n", p);
  __sync_fetch_and_or(ready, 1);
  for (;;) sched_yield();
}

int main(void) {
  int ready = 0;
  pthread_t t;
  if (pthread_create(&t, 0, stacks_thread, &ready)) return 2;
  while (!__sync_fetch_and_or(&ready, 0)) sched_yield();
  return 0;
}
