/* Scenario of LLVM lsan TestCases/stale_stack_leak.cpp: the only copy of the pointer is in a
 * stack frame that has returned. Leak; allocated in main (the helper only stores it). */
#include <stdio.h>
#include <stdlib.h>

void **stale_slot;

__attribute__((noinline)) void *park_on_stack(void *p) {
  void *frame[2048];
  frame[0] = p;
  stale_slot = &frame[0];
  fprintf(stderr, "alloc: %p\n", frame[0]);
  return 0;
}

int main(void) {
  park_on_stack(malloc(1337));
  return 0;
}
