/* Scenario of LLVM lsan TestCases/malloc_zero.c: malloc(0) returns a distinct block that must
 * be freed; dropping it is a leak. Leak; allocated in main. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  char *p = malloc(0);
  fprintf(stderr, "zero: %p\n", (void *)p);
  p = 0;
  return 0;
}
