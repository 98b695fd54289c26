/* Scenario of LLVM lsan TestCases/realloc_zero.c: realloc(p, 0) frees p (glibc), realloc(NULL, 0)
 * allocates a block that is then freed. Changed: the allocator-interface assertions are dropped.
 * Clean. */
#include <stdlib.h>

int main(void) {
  char *p = malloc(1);
  if (realloc(p, 0) != NULL) return 2;
  void *q = realloc(NULL, 0);
  if (!q) return 2;
  free(q);
  return 0;
}
