/* Every CUDA function memshim wraps, listed once (the shape of memray's FOR_EACH_HOOKED_FUNCTION).
 * Adding a function is one row here (plus its name in src/memshim.map for a runtime export).
 * From these rows come: the driver ABIs and their wrapper slots and bodies (interpose/cuda.h,
 * cuda_driver.c), the version and exported names matched for each ABI (also cuda_driver.c), the
 * runtime exports and bodies (cuda_runtime.c), and the call labels with their names (gpu.h, gpu.c).
 * The list sits in src/gpu because the labels do; only interpose/ expands the type and body
 * columns (ms_cuptr & co. are interpose/cuda.h's).
 *
 * Each row is ALLOC(...) or AFTER(...), the expander's two macros; columns:
 *   id       the ABI (MS_ABI_<id>) and, for ALLOC, the label (MS_API_CU_<id> / MS_API_CUDA_<id>)
 *   name     driver: the base name cuGetProcAddress is asked for; runtime: the exported function
 *   version  driver: the CUDA version that introduced this ABI (cudaTypedefs.h's PFN_<name>_v<N>)
 *   exports  driver: the exported symbols of this ABI (at most MS_CU_EXPORTS)
 *   variants runtime: ONE, or PTSZ for a per-thread-default-stream twin <name>_ptsz
 *   (params), (args)  the C parameters and the same names as arguments
 * ALLOC (an allocation: counted on success, an out-of-memory reported with its request):
 *   driver:  kind, dev (-1: the current device), ok (the outputs can be read), ptr, size, pool, want
 *   runtime: kind, ptr (void *, NULL when none), size, pool
 * AFTER (done after a successful call, with tracking on):
 *   driver:  action;  runtime: when (an extra condition), action
 * Expressions may use the parameters, `r` (the result, in size and action) and `caller`
 * (driver: the return address of the wrapper's caller). */
#ifndef MEMSHIM_GPU_CUDA_FUNCTIONS_H
#define MEMSHIM_GPU_CUDA_FUNCTIONS_H

#define MS_CU_EXPORTS 3 /* the most exported names one driver ABI has */
#define MS_UNPAREN(...) __VA_ARGS__ /* (a, b) -> a, b */
#define MS_CUDA_NONE(...)            /* an expander for the rows it skips */

/* clang-format off */
#define MS_CUDA_DRIVER_FUNCTIONS(ALLOC, AFTER)                                                                     \
  AFTER(GPA4, cuGetProcAddress, 11030, ("cuGetProcAddress"),                                                       \
        (const char *sym, void **pfn, int ver, uint64_t flags), (sym, pfn, ver, flags),                          \
        ms_cu_after_gpa(caller, sym, pfn, ver, flags))                                                             \
  AFTER(GPA5, cuGetProcAddress, 12000, ("cuGetProcAddress_v2", "cuGetProcAddress_v2_ptsz"),                        \
        (const char *sym, void **pfn, int ver, uint64_t flags, int *status), (sym, pfn, ver, flags, status),     \
        ms_cu_after_gpa(caller, sym, pfn, ver, flags))                                                             \
  ALLOC(MEM_ALLOC, cuMemAlloc, 3020, ("cuMemAlloc_v2"), (ms_cuptr *p, size_t n), (p, n),                           \
        MS_GPU_DEVICE, -1, p, *p, n, 0, n)                                                                         \
  ALLOC(MEM_ALLOC_PITCH, cuMemAllocPitch, 3020, ("cuMemAllocPitch_v2"),                                            \
        (ms_cuptr *p, size_t *pitch, size_t w, size_t h, unsigned elem), (p, pitch, w, h, elem),                   \
        MS_GPU_DEVICE, -1, p && pitch, *p, (uint64_t)*pitch * h, 0, (uint64_t)w * h)                               \
  AFTER(MEM_FREE, cuMemFree, 3020, ("cuMemFree_v2"), (ms_cuptr p), (p), ms_gpu_free(p, false))                      \
  ALLOC(MEM_ALLOC_MANAGED, cuMemAllocManaged, 6000, ("cuMemAllocManaged"),                                         \
        (ms_cuptr *p, size_t n, unsigned flags), (p, n, flags), MS_GPU_MANAGED, -1, p, *p, n, 0, n)                \
  ALLOC(MEM_ALLOC_HOST, cuMemAllocHost, 3020, ("cuMemAllocHost_v2"), (void **pp, size_t n), (pp, n),              \
        MS_GPU_PINNED, -1, pp, (uint64_t)(uintptr_t)*pp, n, 0, n)                                                  \
  ALLOC(MEM_HOST_ALLOC, cuMemHostAlloc, 2020, ("cuMemHostAlloc"), (void **pp, size_t n, unsigned flags),          \
        (pp, n, flags), MS_GPU_PINNED, -1, pp, (uint64_t)(uintptr_t)*pp, n, 0, n)                                  \
  AFTER(MEM_FREE_HOST, cuMemFreeHost, 2000, ("cuMemFreeHost"), (void *p), (p),                                     \
        ms_gpu_free((uint64_t)(uintptr_t)p, false))                                                                \
  ALLOC(MEM_ALLOC_ASYNC, cuMemAllocAsync, 11020, ("cuMemAllocAsync", "cuMemAllocAsync_ptsz"),                      \
        (ms_cuptr *p, size_t n, ms_custream s), (p, n, s), MS_GPU_POOLED, -1, p, *p, n, 0, n)                      \
  ALLOC(MEM_ALLOC_FROM_POOL_ASYNC, cuMemAllocFromPoolAsync, 11020,                                                 \
        ("cuMemAllocFromPoolAsync", "cuMemAllocFromPoolAsync_ptsz"),                                               \
        (ms_cuptr *p, size_t n, ms_cupool pool, ms_custream s), (p, n, pool, s),                                   \
        MS_GPU_POOLED, -1, p, *p, n, (uint64_t)(uintptr_t)pool, n)                                                 \
  AFTER(MEM_FREE_ASYNC, cuMemFreeAsync, 11020, ("cuMemFreeAsync", "cuMemFreeAsync_ptsz"),                          \
        (ms_cuptr p, ms_custream s), (p, s), ms_gpu_free(p, true))                                                 \
  AFTER(MEM_POOL_TRIM_TO, cuMemPoolTrimTo, 11020, ("cuMemPoolTrimTo"), (ms_cupool pool, size_t keep),             \
        (pool, keep), ms_gpu_pool_trim((uint64_t)(uintptr_t)pool, keep))                                           \
  /* virtual memory management: physical bytes at cuMemCreate, freed at release + unmap */                         \
  ALLOC(MEM_CREATE, cuMemCreate, 10020, ("cuMemCreate"),                                                           \
        (ms_cuhandle *h, size_t n, const void *prop, unsigned long long flags), (h, n, prop, flags),               \
        MS_GPU_VMM, ms_cu_prop_device(prop), h, *h, n, 0, n)                                                       \
  AFTER(MEM_RELEASE, cuMemRelease, 10020, ("cuMemRelease"), (ms_cuhandle h), (h), ms_gpu_vmm_release(h))          \
  AFTER(MEM_MAP, cuMemMap, 10020, ("cuMemMap"),                                                                    \
        (ms_cuptr va, size_t n, size_t off, ms_cuhandle h, unsigned long long flags), (va, n, off, h, flags),      \
        ms_gpu_vmm_map(va, n, h))                                                                                  \
  AFTER(MEM_UNMAP, cuMemUnmap, 10020, ("cuMemUnmap"), (ms_cuptr va, size_t n), (va, n), ms_gpu_vmm_unmap(va, n))

#define MS_CUDA_RUNTIME_FUNCTIONS(ALLOC, AFTER)                                                                    \
  ALLOC(MALLOC, cudaMalloc, ONE, (void **p, size_t n), (p, n), MS_GPU_DEVICE, p ? *p : NULL, n, 0)                  \
  ALLOC(MALLOC_MANAGED, cudaMallocManaged, ONE, (void **p, size_t n, unsigned flags), (p, n, flags),              \
        MS_GPU_MANAGED, p ? *p : NULL, n, 0)                                                                       \
  ALLOC(MALLOC_PITCH, cudaMallocPitch, ONE, (void **p, size_t *pitch, size_t w, size_t h), (p, pitch, w, h),      \
        MS_GPU_DEVICE, p ? *p : NULL, pitch && r == MS_CUDART_SUCCESS ? *pitch * h : w * h, 0)                     \
  ALLOC(MALLOC_3D, cudaMalloc3D, ONE, (ms_cuda_pitched_ptr *pp, ms_cuda_extent e), (pp, e),                       \
        MS_GPU_DEVICE, pp ? pp->ptr : NULL,                                                                        \
        pp && r == MS_CUDART_SUCCESS ? (uint64_t)pp->pitch * e.height * e.depth                                    \
                                     : (uint64_t)e.width * e.height * e.depth, 0)                                  \
  AFTER(FREE, cudaFree, ONE, (void *p), (p), p, ms_gpu_free((uint64_t)(uintptr_t)p, false))                         \
  ALLOC(MALLOC_HOST, cudaMallocHost, ONE, (void **p, size_t n), (p, n), MS_GPU_PINNED, p ? *p : NULL, n, 0)         \
  ALLOC(HOST_ALLOC, cudaHostAlloc, ONE, (void **p, size_t n, unsigned flags), (p, n, flags),                      \
        MS_GPU_PINNED, p ? *p : NULL, n, 0)                                                                        \
  AFTER(FREE_HOST, cudaFreeHost, ONE, (void *p), (p), p, ms_gpu_free((uint64_t)(uintptr_t)p, false))               \
  ALLOC(MALLOC_ASYNC, cudaMallocAsync, PTSZ, (void **p, size_t n, ms_custream s), (p, n, s),                       \
        MS_GPU_POOLED, p ? *p : NULL, n, 0)                                                                        \
  ALLOC(MALLOC_FROM_POOL_ASYNC, cudaMallocFromPoolAsync, PTSZ,                                                     \
        (void **p, size_t n, ms_cupool pool, ms_custream s), (p, n, pool, s),                                      \
        MS_GPU_POOLED, p ? *p : NULL, n, (uint64_t)(uintptr_t)pool)                                                \
  AFTER(FREE_ASYNC, cudaFreeAsync, PTSZ, (void *p, ms_custream s), (p, s), p,                                      \
        ms_gpu_free((uint64_t)(uintptr_t)p, true))                                                                 \
  AFTER(MEM_POOL_TRIM_TO, cudaMemPoolTrimTo, ONE, (ms_cupool pool, size_t keep), (pool, keep), 1,                 \
        ms_gpu_pool_trim((uint64_t)(uintptr_t)pool, keep))
/* clang-format on */

#endif
