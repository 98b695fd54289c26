/* Scenario of LLVM compiler-rt/test/lsan/TestCases/pointer_to_self.cpp: a block whose only
 * pointer is stored inside itself is still leaked. Leak; allocated in main. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  void **block = malloc(1337);
  *block = block;
  fprintf(stderr, "alloc: %p\n", (void *)block);
  return 0;
}
