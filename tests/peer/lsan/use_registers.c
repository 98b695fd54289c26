/* Scenario of LLVM lsan TestCases/use_registers.cpp (x86-64): a running thread keeps the only
 * pointer in a callee-saved register (r15). Clean (reachable from that thread's registers). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

static void *registers_thread(void *arg) {
  int *ready = arg;
  void *p = malloc(1337);
  fprintf(stderr, "alloc: %p\n", p);
  fflush(stderr);
  __asm__ volatile("mov %0, %%r15" : : "r"(p) : "r15");
  __sync_fetch_and_or(ready, 1);
  for (;;) sched_yield();
}

int main(void) {
  int ready = 0;
  pthread_t t;
  if (pthread_create(&t, 0, registers_thread, &ready)) return 2;
  while (!__sync_fetch_and_or(&ready, 0)) sched_yield();
  return 0;
}
