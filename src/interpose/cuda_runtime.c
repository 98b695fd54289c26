/* The CUDA runtime's allocation functions, interposed by name for their labels and call sites.
 * The bytes themselves are counted by the driver wrappers beneath (cuda_driver.c): each entry
 * point here opens a "runtime scope" on its thread, with the program's call site captured on
 * entry, so that the driver call it makes is counted once, under the runtime's name. When the
 * runtime reached the driver some way memshim did not wrap, the entry point counts the result
 * itself; frees are idempotent (a pointer memshim no longer knows is ignored), so nothing is
 * counted twice either way.
 *
 * These exports exist in every process memshim is loaded into; the real function is the next
 * definition after libmemshim.so (the process's libcudart). A program that calls one without any
 * libcudart loaded gets cudaErrorInitializationError. */
#include "../gpu/dl.h"
#include "../gpu/gpu.h"
#include "../util/export.h"
#include "cuda.h"

typedef struct {
  void *ptr;
  size_t pitch, xsize, ysize;
} ms_cuda_pitched_ptr; /* cudaPitchedPtr */
typedef struct {
  size_t width, height, depth;
} ms_cuda_extent; /* cudaExtent */

/* Opens the scope; false when tracking is off (then the call is only forwarded). */
static bool ms_rt_enter(int api) {
  if (!ms_gpu_on()) return false;
  ms_gpu_seen();
  ms_gpu_note_runtime(0);
  if (ms_cuda_rt.depth++ == 0) {
    ms_cuda_rt.api = api;
    ms_cuda_rt.site = ms_gpu_capture_site();
    ms_cuda_rt.counted = ms_cuda_rt.oom = false;
  }
  return true;
}

/* Closes the scope and counts what the driver wrappers did not. */
static int ms_rt_leave(int r, int kind, void *ptr, uint64_t size, uint64_t pool) {
  bool outer = --ms_cuda_rt.depth == 0;
  if (!outer) return r;
  if (r == MS_CUDART_SUCCESS && ptr && !ms_cuda_rt.counted && !ms_gpu_known((uint64_t)(uintptr_t)ptr)) {
    ms_gpu_record_alloc(kind, -1, (uint64_t)(uintptr_t)ptr, size, ms_cuda_rt.site, ms_cuda_rt.api, pool);
  } else if (r == MS_CUDART_ERROR_MEMORY_ALLOCATION && !ms_cuda_rt.oom) {
    ms_gpu_out_of_memory(-1, size, ms_cuda_rt.site, ms_cuda_rt.api);
  }
  return r;
}

#define MS_RT_REAL(type, name)                                                    \
  static void *real_##name;                                                       \
  __typeof__(type) fn = (__typeof__(type))ms_dl_next_cached(&real_##name, #name); \
  if (!fn) return MS_CUDART_ERROR_INITIALIZATION

/* ---- device memory ---- */

MS_EXPORT int cudaMalloc(void **p, size_t n) {
  MS_RT_REAL(int (*)(void **, size_t), cudaMalloc);
  if (!ms_rt_enter(MS_API_CUDA_MALLOC)) return fn(p, n);
  int r = fn(p, n);
  return ms_rt_leave(r, MS_GPU_DEVICE, p ? *p : NULL, n, 0);
}

MS_EXPORT int cudaMallocManaged(void **p, size_t n, unsigned flags) {
  MS_RT_REAL(int (*)(void **, size_t, unsigned), cudaMallocManaged);
  if (!ms_rt_enter(MS_API_CUDA_MALLOC_MANAGED)) return fn(p, n, flags);
  int r = fn(p, n, flags);
  return ms_rt_leave(r, MS_GPU_MANAGED, p ? *p : NULL, n, 0);
}

MS_EXPORT int cudaMallocPitch(void **p, size_t *pitch, size_t w, size_t h) {
  MS_RT_REAL(int (*)(void **, size_t *, size_t, size_t), cudaMallocPitch);
  if (!ms_rt_enter(MS_API_CUDA_MALLOC_PITCH)) return fn(p, pitch, w, h);
  int r = fn(p, pitch, w, h);
  return ms_rt_leave(r, MS_GPU_DEVICE, p ? *p : NULL, pitch && r == MS_CUDART_SUCCESS ? *pitch * h : w * h, 0);
}

MS_EXPORT int cudaMalloc3D(ms_cuda_pitched_ptr *pp, ms_cuda_extent e) {
  MS_RT_REAL(int (*)(ms_cuda_pitched_ptr *, ms_cuda_extent), cudaMalloc3D);
  if (!ms_rt_enter(MS_API_CUDA_MALLOC_3D)) return fn(pp, e);
  int r = fn(pp, e);
  uint64_t bytes = pp && r == MS_CUDART_SUCCESS ? (uint64_t)pp->pitch * e.height * e.depth : (uint64_t)e.width * e.height * e.depth;
  return ms_rt_leave(r, MS_GPU_DEVICE, pp ? pp->ptr : NULL, bytes, 0);
}

MS_EXPORT int cudaFree(void *p) {
  MS_RT_REAL(int (*)(void *), cudaFree);
  int r = fn(p);
  if (r == MS_CUDART_SUCCESS && p && ms_gpu_on()) ms_gpu_free((uint64_t)(uintptr_t)p, false);
  return r;
}

/* ---- host-pinned memory ---- */

MS_EXPORT int cudaMallocHost(void **p, size_t n) {
  MS_RT_REAL(int (*)(void **, size_t), cudaMallocHost);
  if (!ms_rt_enter(MS_API_CUDA_MALLOC_HOST)) return fn(p, n);
  int r = fn(p, n);
  return ms_rt_leave(r, MS_GPU_PINNED, p ? *p : NULL, n, 0);
}

MS_EXPORT int cudaHostAlloc(void **p, size_t n, unsigned flags) {
  MS_RT_REAL(int (*)(void **, size_t, unsigned), cudaHostAlloc);
  if (!ms_rt_enter(MS_API_CUDA_HOST_ALLOC)) return fn(p, n, flags);
  int r = fn(p, n, flags);
  return ms_rt_leave(r, MS_GPU_PINNED, p ? *p : NULL, n, 0);
}

MS_EXPORT int cudaFreeHost(void *p) {
  MS_RT_REAL(int (*)(void *), cudaFreeHost);
  int r = fn(p);
  if (r == MS_CUDART_SUCCESS && p && ms_gpu_on()) ms_gpu_free((uint64_t)(uintptr_t)p, false);
  return r;
}

/* ---- stream-ordered allocation (and the per-thread-default-stream twins) ---- */

typedef int (*ms_rt_malloc_async_fn)(void **, size_t, ms_custream);
typedef int (*ms_rt_malloc_from_pool_fn)(void **, size_t, ms_cupool, ms_custream);
typedef int (*ms_rt_free_async_fn)(void *, ms_custream);

static int ms_rt_malloc_async(void **cache, const char *name, void **p, size_t n, ms_custream s) {
  ms_rt_malloc_async_fn fn = (ms_rt_malloc_async_fn)ms_dl_next_cached(cache, name);
  if (!fn) return MS_CUDART_ERROR_INITIALIZATION;
  if (!ms_rt_enter(MS_API_CUDA_MALLOC_ASYNC)) return fn(p, n, s);
  int r = fn(p, n, s);
  return ms_rt_leave(r, MS_GPU_POOLED, p ? *p : NULL, n, 0);
}
static int ms_rt_malloc_from_pool(void **cache, const char *name, void **p, size_t n, ms_cupool pool, ms_custream s) {
  ms_rt_malloc_from_pool_fn fn = (ms_rt_malloc_from_pool_fn)ms_dl_next_cached(cache, name);
  if (!fn) return MS_CUDART_ERROR_INITIALIZATION;
  if (!ms_rt_enter(MS_API_CUDA_MALLOC_FROM_POOL_ASYNC)) return fn(p, n, pool, s);
  int r = fn(p, n, pool, s);
  return ms_rt_leave(r, MS_GPU_POOLED, p ? *p : NULL, n, (uint64_t)(uintptr_t)pool);
}
static int ms_rt_free_async(void **cache, const char *name, void *p, ms_custream s) {
  ms_rt_free_async_fn fn = (ms_rt_free_async_fn)ms_dl_next_cached(cache, name);
  if (!fn) return MS_CUDART_ERROR_INITIALIZATION;
  int r = fn(p, s);
  if (r == MS_CUDART_SUCCESS && p && ms_gpu_on()) ms_gpu_free((uint64_t)(uintptr_t)p, true);
  return r;
}

static void *ms_real_malloc_async[2], *ms_real_malloc_from_pool[2], *ms_real_free_async[2];
MS_EXPORT int cudaMallocAsync(void **p, size_t n, ms_custream s) {
  return ms_rt_malloc_async(&ms_real_malloc_async[0], "cudaMallocAsync", p, n, s);
}
MS_EXPORT int cudaMallocAsync_ptsz(void **p, size_t n, ms_custream s) {
  return ms_rt_malloc_async(&ms_real_malloc_async[1], "cudaMallocAsync_ptsz", p, n, s);
}
MS_EXPORT int cudaMallocFromPoolAsync(void **p, size_t n, ms_cupool pool, ms_custream s) {
  return ms_rt_malloc_from_pool(&ms_real_malloc_from_pool[0], "cudaMallocFromPoolAsync", p, n, pool, s);
}
MS_EXPORT int cudaMallocFromPoolAsync_ptsz(void **p, size_t n, ms_cupool pool, ms_custream s) {
  return ms_rt_malloc_from_pool(&ms_real_malloc_from_pool[1], "cudaMallocFromPoolAsync_ptsz", p, n, pool, s);
}
MS_EXPORT int cudaFreeAsync(void *p, ms_custream s) { return ms_rt_free_async(&ms_real_free_async[0], "cudaFreeAsync", p, s); }
MS_EXPORT int cudaFreeAsync_ptsz(void *p, ms_custream s) {
  return ms_rt_free_async(&ms_real_free_async[1], "cudaFreeAsync_ptsz", p, s);
}

MS_EXPORT int cudaMemPoolTrimTo(ms_cupool pool, size_t keep) {
  MS_RT_REAL(int (*)(ms_cupool, size_t), cudaMemPoolTrimTo);
  int r = fn(pool, keep);
  if (r == MS_CUDART_SUCCESS && ms_gpu_on()) ms_gpu_pool_trim((uint64_t)(uintptr_t)pool, keep);
  return r;
}
