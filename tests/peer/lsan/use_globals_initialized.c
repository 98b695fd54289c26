/* Scenario of LLVM lsan TestCases/use_globals_initialized.cpp: the block is held by an
 * initialized global (.data) until exit. Clean (still reachable). */
#include <stdio.h>
#include <stdlib.h>

void *data_var = (void *)1;

int main(void) {
  data_var = malloc(1337);
  fprintf(stderr, "alloc: %p\n", data_var);
  return 0;
}
