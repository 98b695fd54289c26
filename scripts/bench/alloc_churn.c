/* Benchmark workload: random-size malloc/free churn over a 4096-slot working set (mstress-like).
 * Arg: operations (default 2000000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  long ops = argc > 1 ? atol(argv[1]) : 2000000;
  static void *slot[4096];
  unsigned x = 1;
  for (long i = 0; i < ops; i++) {
    x = x * 1103515245u + 12345u;
    unsigned k = (x >> 8) % 4096;
    free(slot[k]);
    size_t n = 16 + (x >> 4) % ((x & 0x8000) ? 4096 : 256);
    slot[k] = malloc(n);
    memset(slot[k], 0, 8);
  }
  for (int k = 0; k < 4096; k++) free(slot[k]);
  puts("ok");
  return 0;
}
