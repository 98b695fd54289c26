/* Scenario of LLVM lsan TestCases/leak_check_at_exit.cpp (default flags, no argument): a block
 * whose address is only printed is leaked. Changed: the __lsan_do_leak_check() branch is dropped.
 * Leak; allocated in main. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  fprintf(stderr, "alloc: %p\n", malloc(1337));
  return 0;
}
