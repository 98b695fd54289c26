/* Scenario of LLVM lsan TestCases/user_pointer.cpp: 1024 blocks held as integers in a global
 * array. Clean (reachable). */
#include <stdint.h>
#include <stdlib.h>

uintptr_t glob[1024];

int main(void) {
  for (int i = 0; i < 1024; i++) glob[i] = (uintptr_t)malloc(sizeof(int *));
  return 0;
}
