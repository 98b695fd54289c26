/* Allocates device memory the ways PyTorch does, through a runtime it is linked against
 * (DT_NEEDED libcudart.so.12 or .13): cudaMalloc from a few call sites, pitched and 3-D buffers,
 * managed and host-pinned memory, the stream-ordered allocator with its pool, and expandable
 * segments (cuMemCreate/cuMemMap, taken with cudaGetDriverEntryPointByVersion).
 * Prints one "expect FUNCTION live=N alloc=N count=N api=NAME" line per allocating function, the
 * total requested, and the fake driver's own counters; the test compares them with memshim's report.
 *   torch_like [trim] [device N] */
#include <stdint.h>

#include "common.h"

int cudaMalloc(void **, size_t);
int cudaFree(void *);
int cudaMallocPitch(void **, size_t *, size_t, size_t);
typedef struct { void *ptr; size_t pitch, xsize, ysize; } cudaPitchedPtr;
typedef struct { size_t width, height, depth; } cudaExtent;
int cudaMalloc3D(cudaPitchedPtr *, cudaExtent);
int cudaMallocManaged(void **, size_t, unsigned);
int cudaMallocHost(void **, size_t);
int cudaHostAlloc(void **, size_t, unsigned);
int cudaFreeHost(void *);
int cudaMallocAsync(void **, size_t, CUstream);
int cudaMallocAsync_ptsz(void **, size_t, CUstream);
int cudaFreeAsync(void *, CUstream);
int cudaFreeAsync_ptsz(void *, CUstream);
int cudaDeviceGetDefaultMemPool(CUmemoryPool *, int);
int cudaMemPoolTrimTo(CUmemoryPool, size_t);
int cudaSetDevice(int);
int cudaGetDriverEntryPointByVersion(const char *, void **, unsigned, unsigned long long, int *);

static unsigned long long requested;

static inline __attribute__((always_inline)) void *dev_alloc(size_t n) {
  void *p = NULL;
  CHECK(cudaMalloc(&p, n) == 0, "cudaMalloc(%zu)", n);
  requested += n;
  return p;
}

__attribute__((noinline)) void load_weights(void) {
  for (int i = 0; i < 4; i++) dev_alloc(64 * MIB);
  printf("expect load_weights live=%llu alloc=%llu count=4 api=cudaMalloc\n", 256 * MIB, 256 * MIB);
}
/* dev_alloc is inlined or not: the innermost frame the test looks for is the caller's own below. */
__attribute__((noinline)) void leaky_cache(void) {
  for (int i = 0; i < 10; i++) {
    void *p = NULL;
    CHECK(cudaMalloc(&p, 8 * MIB) == 0, "leaky_cache");
    requested += 8 * MIB;
  }
  printf("expect leaky_cache live=%llu alloc=%llu count=10 api=cudaMalloc\n", 80 * MIB, 80 * MIB);
}
__attribute__((noinline)) void temp_buffers(void) {
  for (int i = 0; i < 5; i++) {
    void *p = NULL;
    CHECK(cudaMalloc(&p, 32 * MIB) == 0, "temp_buffers");
    requested += 32 * MIB;
    CHECK(cudaFree(p) == 0, "cudaFree");
  }
  printf("expect temp_buffers live=0 alloc=%llu count=5 api=cudaMalloc\n", 160 * MIB);
}
__attribute__((noinline)) void pitched_image(void) {
  void *p;
  size_t pitch;
  CHECK(cudaMallocPitch(&p, &pitch, 1000, 100) == 0, "cudaMallocPitch");
  cudaPitchedPtr pp;
  CHECK(cudaMalloc3D(&pp, (cudaExtent){1000, 10, 10}) == 0, "cudaMalloc3D");
  unsigned long long bytes = (unsigned long long)pitch * 100 + (unsigned long long)pp.pitch * 100;
  requested += bytes;
  printf("expect pitched_image live=%llu alloc=%llu count=2 api=cudaMallocPitch,cudaMalloc3D\n", bytes, bytes);
}
__attribute__((noinline)) void managed_buffer(void) {
  void *p;
  CHECK(cudaMallocManaged(&p, 16 * MIB, 1) == 0, "cudaMallocManaged");
  requested += 16 * MIB;
  printf("expect managed_buffer live=%llu alloc=%llu count=1 api=cudaMallocManaged\n", 16 * MIB, 16 * MIB);
}
__attribute__((noinline)) void pinned_staging(void) {
  void *a, *b;
  CHECK(cudaMallocHost(&a, 4 * MIB) == 0, "cudaMallocHost");
  CHECK(cudaHostAlloc(&b, 2 * MIB, 0) == 0, "cudaHostAlloc");
  CHECK(cudaFreeHost(b) == 0, "cudaFreeHost");
  printf("expect-pinned pinned_staging live=%llu alloc=%llu count=2\n", 4 * MIB, 6 * MIB);
}
__attribute__((noinline)) void async_pool(void) {
  void *p[3], *keep;
  for (int i = 0; i < 3; i++) CHECK(cudaMallocAsync(&p[i], 16 * MIB, NULL) == 0, "cudaMallocAsync");
  for (int i = 0; i < 3; i++) CHECK(cudaFreeAsync(p[i], NULL) == 0, "cudaFreeAsync");
  CHECK(cudaMallocAsync(&keep, 8 * MIB, NULL) == 0, "cudaMallocAsync");
  requested += 56 * MIB;
  printf("expect async_pool live=%llu alloc=%llu count=4 api=cudaMallocAsync\n", 8 * MIB, 56 * MIB);
}
__attribute__((noinline)) void async_ptsz(void) {
  void *p;
  CHECK(cudaMallocAsync_ptsz(&p, 4 * MIB, NULL) == 0, "cudaMallocAsync_ptsz");
  CHECK(cudaFreeAsync_ptsz(p, NULL) == 0, "cudaFreeAsync_ptsz");
  requested += 4 * MIB;
  printf("expect async_ptsz live=0 alloc=%llu count=1 api=cudaMallocAsync\n", 4 * MIB);
}

typedef CUresult (*create_fn)(CUmemGenericAllocationHandle *, size_t, const CUmemAllocationProp *, unsigned long long);
typedef CUresult (*release_fn)(CUmemGenericAllocationHandle);
typedef CUresult (*map_fn)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long);
typedef CUresult (*unmap_fn)(CUdeviceptr, size_t);
typedef CUresult (*reserve_fn)(CUdeviceptr *, size_t, size_t, CUdeviceptr, unsigned long long);

static void *entry(const char *name) {
  void *fn = NULL;
  int st = -1;
  CHECK(cudaGetDriverEntryPointByVersion(name, &fn, 12000, 0, &st) == 0 && fn && st == 0, "entry point %s", name);
  return fn;
}

/* PyTorch's expandable segments: reserve address space, back it with physical chunks. */
__attribute__((noinline)) void expandable_segments(int dev) {
  create_fn create = (create_fn)entry("cuMemCreate");
  release_fn release = (release_fn)entry("cuMemRelease");
  map_fn map = (map_fn)entry("cuMemMap");
  unmap_fn unmap = (unmap_fn)entry("cuMemUnmap");
  reserve_fn reserve = (reserve_fn)entry("cuMemAddressReserve");
  printf("vmm cuMemCreate from %s\n", module_of((void *)create));
  CUmemAllocationProp prop = {CU_MEM_ALLOCATION_TYPE_PINNED, 0, {CU_MEM_LOCATION_TYPE_DEVICE, dev}, NULL, {0, 0, 0, {0}}};
  CUdeviceptr va;
  CUmemGenericAllocationHandle h1, h2, h3;
  CHECK(reserve(&va, 256 * MIB, 0, 0, 0) == 0, "reserve");
  CHECK(create(&h1, 32 * MIB, &prop, 0) == 0 && create(&h2, 32 * MIB, &prop, 0) == 0 && create(&h3, 16 * MIB, &prop, 0) == 0,
        "cuMemCreate");
  CHECK(map(va, 32 * MIB, 0, h1, 0) == 0 && map(va + 32 * MIB, 32 * MIB, 0, h2, 0) == 0, "cuMemMap");
  CHECK(release(h1) == 0, "release h1 (still mapped)");
  CHECK(unmap(va, 32 * MIB) == 0, "unmap h1");
  CHECK(release(h3) == 0, "release h3 (never mapped)");
  requested += 80 * MIB;
  printf("expect expandable_segments live=%llu alloc=%llu count=3 api=cuMemCreate\n", 32 * MIB, 80 * MIB);
}

int main(int argc, char **argv) {
  int trim = 0, dev = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "trim")) trim = 1;
    else if (!strcmp(argv[i], "device") && i + 1 < argc) dev = atoi(argv[++i]);
  }
  CHECK(cudaSetDevice(dev) == 0, "cudaSetDevice(%d)", dev);
  load_weights();
  leaky_cache();
  temp_buffers();
  pitched_image();
  managed_buffer();
  pinned_staging();
  async_pool();
  async_ptsz();
  expandable_segments(dev);
  if (trim) {
    CUmemoryPool pool;
    CHECK(cudaDeviceGetDefaultMemPool(&pool, dev) == 0 && cudaMemPoolTrimTo(pool, 0) == 0, "trim");
    printf("trimmed\n");
  }
  printf("requested %llu\n", requested);
  print_fake_stats();
  return 0;
}
