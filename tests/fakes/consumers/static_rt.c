/* A program with the (fake) CUDA runtime compiled into it, as nvcc links by default
 * (--cudart=static): its cudaMalloc never reaches memshim's, the driver calls beneath still do. */
#include "common.h"

int cudaMalloc(void **, size_t);
int cudaFree(void *);

__attribute__((noinline)) void static_alloc(void) {
  void *p, *q;
  CHECK(cudaMalloc(&p, 8 * MIB) == 0 && cudaMalloc(&q, 2 * MIB) == 0 && cudaFree(q) == 0, "cudaMalloc");
  printf("expect-within static_alloc live=%llu alloc=%llu count=2 api=cuMemAlloc\n", 8 * MIB, 10 * MIB);
}

int main(void) {
  static_alloc();
  print_fake_stats();
  return 0;
}
