/* Scenario of LLVM lsan TestCases/use_globals_uninitialized.cpp: the block is held by a .bss
 * global until exit. Clean (still reachable). */
#include <stdio.h>
#include <stdlib.h>

void *bss_var;

int main(void) {
  bss_var = malloc(1337);
  fprintf(stderr, "alloc: %p\n", bss_var);
  return 0;
}
