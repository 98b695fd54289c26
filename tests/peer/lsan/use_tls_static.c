/* Scenario of LLVM lsan TestCases/Linux/use_tls_static.cpp: the main thread's static TLS holds
 * the block at exit. Clean (reachable). */
#include <stdio.h>
#include <stdlib.h>

__thread void *tls_var;

int main(void) {
  tls_var = malloc(1337);
  fprintf(stderr, "alloc: %p\n", tls_var);
  return 0;
}
