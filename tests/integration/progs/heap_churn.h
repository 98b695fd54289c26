/* Shared by the mem_fork_* test programs: allocate bytes in 2000-byte blocks, touch them, free
 * them all. Leaves that much freed-but-resident heap for a purge to return. */
#ifndef HEAP_CHURN_H
#define HEAP_CHURN_H

#include <stdlib.h>
#include <string.h>

static void heap_churn(size_t bytes) {
  enum { BLOCK = 2000 };
  size_t n = bytes / BLOCK;
  char **b = malloc(n * sizeof *b);
  for (size_t i = 0; i < n; i++) {
    b[i] = malloc(BLOCK);
    memset(b[i], 7, BLOCK);
  }
  for (size_t i = 0; i < n; i++) free(b[i]);
  free(b);
}

#endif
