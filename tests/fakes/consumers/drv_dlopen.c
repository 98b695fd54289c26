/* A driver-API program that finds the driver itself: dlopen("libcuda.so.1") and dlsym(handle, ...)
 * for cuGetProcAddress, cuGetProcAddress_v2 and the exported cuMemAlloc_v2; everything else through
 * cuGetProcAddress, including its own per-thread-stream twins and a lookup of cuGetProcAddress
 * itself at both ABIs. Also asks for ABIs memshim must leave alone: cuMemAlloc's 32-bit v1
 * (version 2000) and, with FAKE_CUDA_FUTURE_ABI=1, a newer one at 13000.
 * Prints "expect FUNCTION ..." lines, "handed NAME from MODULE" for each pointer, the fake's counters. */
#include <stdint.h>

#include "common.h"

typedef CUresult (*gpa4_fn)(const char *, void **, int, unsigned long long);
typedef CUresult (*gpa5_fn)(const char *, void **, int, unsigned long long, int *);
typedef CUresult (*alloc_fn)(CUdeviceptr *, size_t);
typedef CUresult (*free_fn)(CUdeviceptr);
typedef CUresult (*alloc_async_fn)(CUdeviceptr *, size_t, CUstream);
typedef CUresult (*free_async_fn)(CUdeviceptr, CUstream);

static gpa5_fn gpa5;
static gpa4_fn gpa4;

static void *get5(gpa5_fn g, const char *name, int version, unsigned long long flags) {
  void *p = NULL;
  int st = -1;
  CHECK(g(name, &p, version, flags, &st) == 0 && p && st == 0, "cuGetProcAddress_v2(%s, %d)", name, version);
  printf("handed %s@%d/%llu from %s\n", name, version, flags, module_of(p));
  return p;
}

__attribute__((noinline)) void export_alloc(alloc_fn alloc) {
  CUdeviceptr p;
  for (int i = 0; i < 2; i++) CHECK(alloc(&p, 24 * MIB) == 0, "export cuMemAlloc_v2");
  printf("expect export_alloc live=%llu alloc=%llu count=2 api=cuMemAlloc\n", 48 * MIB, 48 * MIB);
}
__attribute__((noinline)) void table_alloc(void) {
  alloc_fn alloc = get5(gpa5, "cuMemAlloc", 12000, 0);
  free_fn mfree = get5(gpa5, "cuMemFree", 12000, 0);
  CUdeviceptr p, q;
  CHECK(alloc(&p, 12 * MIB) == 0 && alloc(&q, 3 * MIB) == 0 && mfree(q) == 0, "table cuMemAlloc");
  printf("expect table_alloc live=%llu alloc=%llu count=2 api=cuMemAlloc\n", 12 * MIB, 15 * MIB);
}
__attribute__((noinline)) void per_thread_stream(void) {
  alloc_async_fn a = get5(gpa5, "cuMemAllocAsync", 12000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
  free_async_fn f = get5(gpa5, "cuMemFreeAsync", 12000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
  alloc_async_fn a_legacy = get5(gpa5, "cuMemAllocAsync", 12000, 0);
  CHECK(a != a_legacy, "the per-thread twin is a function of its own");
  CUdeviceptr p, q;
  CHECK(a(&p, 4 * MIB, NULL) == 0 && f(p, NULL) == 0 && a_legacy(&q, 2 * MIB, NULL) == 0, "async");
  printf("expect per_thread_stream live=%llu alloc=%llu count=2 api=cuMemAllocAsync\n", 2 * MIB, 6 * MIB);
}
/* cuGetProcAddress of cuGetProcAddress: the 5-argument ABI at 12000, the 4-argument one at 11030. */
__attribute__((noinline)) void nested_lookup(void) {
  gpa5_fn g5 = get5(gpa5, "cuGetProcAddress", 12000, 0);
  gpa4_fn g4 = get5(gpa5, "cuGetProcAddress", 11030, 0);
  CUdeviceptr p;
  alloc_fn a5 = get5(g5, "cuMemAlloc", 12000, 0);
  void *a4 = NULL;
  CHECK(g4("cuMemAlloc", &a4, 11030, 0) == 0 && a4, "4-argument cuGetProcAddress");
  printf("handed cuMemAlloc@11030 (through the 4-argument lookup) from %s\n", module_of(a4));
  CHECK(a5(&p, 2 * MIB) == 0 && ((alloc_fn)a4)(&p, 1 * MIB) == 0, "nested allocs");
  printf("expect nested_lookup live=%llu alloc=%llu count=2 api=cuMemAlloc\n", 3 * MIB, 3 * MIB);
}
/* ABIs memshim does not wrap: their allocations are not tracked, and the calls must work. */
__attribute__((noinline)) void other_abis(int future) {
  struct {
    unsigned int out, canary;
  } v1 = {0, 0xC0FFEEu};
  CUresult (*alloc_v1)(unsigned int *, unsigned int) = get5(gpa5, "cuMemAlloc", 2000, 0);
  CHECK(alloc_v1(&v1.out, 1 * MIB) == 0 && v1.canary == 0xC0FFEEu, "v1 cuMemAlloc (canary %x)", v1.canary);
  if (future) {
    CUresult (*alloc_v3)(CUdeviceptr *, size_t, unsigned long long) = get5(gpa5, "cuMemAlloc", 13000, 0);
    CUdeviceptr p;
    CHECK(alloc_v3(&p, 5 * MIB, FAKE_CUDA_V3_MAGIC) == 0, "v3 cuMemAlloc");
  }
  printf("untracked %llu\n", (future ? 6 : 1) * MIB);
}

int main(int argc, char **argv) {
  int future = argc > 1 && !strcmp(argv[1], "future");
  void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  CHECK(h, "dlopen libcuda.so.1: %s", dlerror());
  gpa5 = (gpa5_fn)dlsym(h, "cuGetProcAddress_v2");
  gpa4 = (gpa4_fn)dlsym(h, "cuGetProcAddress");
  alloc_fn exported = (alloc_fn)dlsym(h, "cuMemAlloc_v2");
  CHECK(gpa5 && gpa4 && exported, "dlsym");
  printf("handed dlsym:cuGetProcAddress_v2 from %s\nhanded dlsym:cuGetProcAddress from %s\nhanded dlsym:cuMemAlloc_v2 from %s\n",
         module_of((void *)gpa5), module_of((void *)gpa4), module_of((void *)exported));
  CUresult (*init)(unsigned) = get5(gpa5, "cuInit", 12000, 0);
  CUresult (*retain)(CUcontext *, CUdevice) = get5(gpa5, "cuDevicePrimaryCtxRetain", 12000, 0);
  CUresult (*set_current)(CUcontext) = get5(gpa5, "cuCtxSetCurrent", 12000, 0);
  CUcontext ctx;
  CHECK(init(0) == 0 && retain(&ctx, 0) == 0 && set_current(ctx) == 0, "context");
  export_alloc(exported);
  table_alloc();
  per_thread_stream();
  nested_lookup();
  other_abis(future);
  print_fake_stats();
  return 0;
}
