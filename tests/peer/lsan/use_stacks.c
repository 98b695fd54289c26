/* Scenario of LLVM lsan TestCases/use_stacks.cpp: main keeps the pointer in a live local and
 * calls exit() without returning. Clean (reachable from the main thread's stack). */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  void *volatile stack_var = malloc(1337);
  fprintf(stderr, "alloc: %p\n", stack_var);
  exit(0);
}
