/* cuda_pairs N: N cudaMalloc + cudaFree pairs of 1 MiB through the (fake) runtime: what one device
 * allocation costs memshim (call site, tables, thresholds). */
#include <stdio.h>
#include <stdlib.h>

int cudaMalloc(void **, size_t);
int cudaFree(void *);

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000;
  for (long i = 0; i < n; i++) {
    void *p;
    if (cudaMalloc(&p, 1 << 20) != 0 || cudaFree(p) != 0) return 1;
  }
  printf("%ld\n", n);
  return 0;
}
