/* Scenario of LLVM lsan TestCases/large_allocation_leak.cpp: one 32 MiB block (served by mmap,
 * outside the small-size classes) is leaked. Leak; allocated in main. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  char *big = malloc(32u << 20);
  fprintf(stderr, "alloc: %p\n", (void *)big);
  return 0;
}
