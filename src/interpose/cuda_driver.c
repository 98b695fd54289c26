/* The driver functions memshim wraps, as handed out by dlsym, cuGetProcAddress and
 * cudaGetDriverEntryPoint. Each ABI has MS_CU_SLOTS wrapper functions; a slot is bound to one
 * real address the first time that address is handed out and forwards to it for the life of the
 * process, so the per-thread-stream twin (cuMemAllocAsync_ptsz) and the default one stay apart.
 * Every wrapper captures the caller's stack before the call (the caller is the program, or the
 * runtime's internals when the runtime entry point did not capture it already) and reports the
 * result to src/gpu; the driver's return value is passed back unchanged. */
#include "../gpu/gpu.h"
#include "../util/log.h"
#include "cuda.h"

#define MS_CU_SLOTS 8

MS_TLS ms_cuda_rt_scope ms_cuda_rt;
static void *ms_slot_real[MS_ABI__COUNT][MS_CU_SLOTS];

#define MS_REAL(abi, i) __atomic_load_n(&ms_slot_real[abi][i], __ATOMIC_ACQUIRE)
#define MS_SLOT_FN(abi, body, i, RET, PARAMS, ...) \
  static RET body##_##i PARAMS { return body(MS_REAL(abi, i), __builtin_return_address(0), __VA_ARGS__); }
#define MS_SLOTS(abi, body, RET, PARAMS, ...)                                                            \
  MS_SLOT_FN(abi, body, 0, RET, PARAMS, __VA_ARGS__)                                                     \
  MS_SLOT_FN(abi, body, 1, RET, PARAMS, __VA_ARGS__)                                                     \
  MS_SLOT_FN(abi, body, 2, RET, PARAMS, __VA_ARGS__)                                                     \
  MS_SLOT_FN(abi, body, 3, RET, PARAMS, __VA_ARGS__)                                                     \
  MS_SLOT_FN(abi, body, 4, RET, PARAMS, __VA_ARGS__)                                                     \
  MS_SLOT_FN(abi, body, 5, RET, PARAMS, __VA_ARGS__)                                                     \
  MS_SLOT_FN(abi, body, 6, RET, PARAMS, __VA_ARGS__)                                                     \
  MS_SLOT_FN(abi, body, 7, RET, PARAMS, __VA_ARGS__)                                                     \
  static void *const body##_slots[MS_CU_SLOTS] = {(void *)body##_0, (void *)body##_1, (void *)body##_2, \
                                                  (void *)body##_3, (void *)body##_4, (void *)body##_5, \
                                                  (void *)body##_6, (void *)body##_7};

/* ---- one call: where it comes from, and what became of it ---- */

typedef struct {
  bool on, in_rt;
  uint32_t site;
  int api;
} ms_cu_call;

static void ms_cu_begin(ms_cu_call *c, int api) {
  c->on = ms_gpu_on();
  c->in_rt = c->on && ms_cuda_rt.depth > 0;
  c->api = c->in_rt ? ms_cuda_rt.api : api;
  c->site = !c->on ? 0 : c->in_rt ? ms_cuda_rt.site : ms_gpu_capture_site();
}

static void ms_cu_allocated(const ms_cu_call *c, int kind, int dev, uint64_t ptr, uint64_t size, uint64_t pool) {
  if (!c->on) return;
  if (c->in_rt) ms_cuda_rt.counted = true;
  ms_gpu_record_alloc(kind, dev, ptr, size, c->site, c->api, pool);
}

static void ms_cu_failed(const ms_cu_call *c, ms_curesult r, int dev, uint64_t size) {
  if (!c->on || r != MS_CUDA_ERROR_OUT_OF_MEMORY) return;
  if (c->in_rt) ms_cuda_rt.oom = true;
  ms_gpu_out_of_memory(dev, size, c->site, c->api);
}

/* ---- cuGetProcAddress: hand out wrappers for what it returns ---- */

typedef ms_curesult (*ms_gpa4_fn)(const char *, void **, int, uint64_t);
typedef ms_curesult (*ms_gpa5_fn)(const char *, void **, int, uint64_t, int *);

static ms_curesult ms_gpa4(void *real, const void *caller, const char *sym, void **pfn, int ver, uint64_t flags) {
  ms_curesult r = ((ms_gpa4_fn)real)(sym, pfn, ver, flags);
  if (r == MS_CUDA_SUCCESS && sym && pfn && *pfn) *pfn = ms_cuda_after_proc_address(caller, sym, *pfn, ver, flags);
  return r;
}
static ms_curesult ms_gpa5(void *real, const void *caller, const char *sym, void **pfn, int ver, uint64_t flags,
                           int *status) {
  ms_curesult r = ((ms_gpa5_fn)real)(sym, pfn, ver, flags, status);
  if (r == MS_CUDA_SUCCESS && sym && pfn && *pfn) *pfn = ms_cuda_after_proc_address(caller, sym, *pfn, ver, flags);
  return r;
}
MS_SLOTS(MS_ABI_GPA4, ms_gpa4, ms_curesult, (const char *s, void **p, int v, uint64_t f), s, p, v, f)
MS_SLOTS(MS_ABI_GPA5, ms_gpa5, ms_curesult, (const char *s, void **p, int v, uint64_t f, int *st), s, p, v, f, st)

/* ---- device memory ---- */

static ms_curesult ms_mem_alloc(void *real, const void *caller, ms_cuptr *p, size_t n) {
  (void)caller;
  ms_cu_call c;
  ms_cu_begin(&c, MS_API_CU_MEM_ALLOC);
  ms_curesult r = ((ms_curesult(*)(ms_cuptr *, size_t))real)(p, n);
  if (r == MS_CUDA_SUCCESS && p) ms_cu_allocated(&c, MS_GPU_DEVICE, -1, *p, n, 0);
  else ms_cu_failed(&c, r, -1, n);
  return r;
}
MS_SLOTS(MS_ABI_MEM_ALLOC, ms_mem_alloc, ms_curesult, (ms_cuptr * p, size_t n), p, n)

static ms_curesult ms_mem_alloc_pitch(void *real, const void *caller, ms_cuptr *p, size_t *pitch, size_t w, size_t h,
                                      unsigned elem) {
  (void)caller;
  ms_cu_call c;
  ms_cu_begin(&c, MS_API_CU_MEM_ALLOC_PITCH);
  ms_curesult r = ((ms_curesult(*)(ms_cuptr *, size_t *, size_t, size_t, unsigned))real)(p, pitch, w, h, elem);
  if (r == MS_CUDA_SUCCESS && p && pitch) ms_cu_allocated(&c, MS_GPU_DEVICE, -1, *p, (uint64_t)*pitch * h, 0);
  else ms_cu_failed(&c, r, -1, (uint64_t)w * h);
  return r;
}
MS_SLOTS(MS_ABI_MEM_ALLOC_PITCH, ms_mem_alloc_pitch, ms_curesult,
         (ms_cuptr * p, size_t *pitch, size_t w, size_t h, unsigned e), p, pitch, w, h, e)

static ms_curesult ms_mem_alloc_managed(void *real, const void *caller, ms_cuptr *p, size_t n, unsigned flags) {
  (void)caller;
  ms_cu_call c;
  ms_cu_begin(&c, MS_API_CU_MEM_ALLOC_MANAGED);
  ms_curesult r = ((ms_curesult(*)(ms_cuptr *, size_t, unsigned))real)(p, n, flags);
  if (r == MS_CUDA_SUCCESS && p) ms_cu_allocated(&c, MS_GPU_MANAGED, -1, *p, n, 0);
  else ms_cu_failed(&c, r, -1, n);
  return r;
}
MS_SLOTS(MS_ABI_MEM_ALLOC_MANAGED, ms_mem_alloc_managed, ms_curesult, (ms_cuptr * p, size_t n, unsigned f), p, n, f)

static ms_curesult ms_mem_free(void *real, const void *caller, ms_cuptr p) {
  (void)caller;
  ms_curesult r = ((ms_curesult(*)(ms_cuptr))real)(p);
  if (r == MS_CUDA_SUCCESS && ms_gpu_on()) ms_gpu_free(p, false);
  return r;
}
MS_SLOTS(MS_ABI_MEM_FREE, ms_mem_free, ms_curesult, (ms_cuptr p), p)

/* ---- host-pinned memory: its own bucket ---- */

static ms_curesult ms_mem_alloc_host(void *real, const void *caller, void **pp, size_t n) {
  (void)caller;
  ms_cu_call c;
  ms_cu_begin(&c, MS_API_CU_MEM_ALLOC_HOST);
  ms_curesult r = ((ms_curesult(*)(void **, size_t))real)(pp, n);
  if (r == MS_CUDA_SUCCESS && pp) ms_cu_allocated(&c, MS_GPU_PINNED, -1, (uint64_t)(uintptr_t)*pp, n, 0);
  else ms_cu_failed(&c, r, -1, n);
  return r;
}
MS_SLOTS(MS_ABI_MEM_ALLOC_HOST, ms_mem_alloc_host, ms_curesult, (void **pp, size_t n), pp, n)

static ms_curesult ms_mem_host_alloc(void *real, const void *caller, void **pp, size_t n, unsigned flags) {
  (void)caller;
  ms_cu_call c;
  ms_cu_begin(&c, MS_API_CU_MEM_HOST_ALLOC);
  ms_curesult r = ((ms_curesult(*)(void **, size_t, unsigned))real)(pp, n, flags);
  if (r == MS_CUDA_SUCCESS && pp) ms_cu_allocated(&c, MS_GPU_PINNED, -1, (uint64_t)(uintptr_t)*pp, n, 0);
  else ms_cu_failed(&c, r, -1, n);
  return r;
}
MS_SLOTS(MS_ABI_MEM_HOST_ALLOC, ms_mem_host_alloc, ms_curesult, (void **pp, size_t n, unsigned f), pp, n, f)

static ms_curesult ms_mem_free_host(void *real, const void *caller, void *p) {
  (void)caller;
  ms_curesult r = ((ms_curesult(*)(void *))real)(p);
  if (r == MS_CUDA_SUCCESS && ms_gpu_on()) ms_gpu_free((uint64_t)(uintptr_t)p, false);
  return r;
}
MS_SLOTS(MS_ABI_MEM_FREE_HOST, ms_mem_free_host, ms_curesult, (void *p), p)

/* ---- stream-ordered allocation ---- */

static ms_curesult ms_mem_alloc_async(void *real, const void *caller, ms_cuptr *p, size_t n, ms_custream s) {
  (void)caller;
  ms_cu_call c;
  ms_cu_begin(&c, MS_API_CU_MEM_ALLOC_ASYNC);
  ms_curesult r = ((ms_curesult(*)(ms_cuptr *, size_t, ms_custream))real)(p, n, s);
  if (r == MS_CUDA_SUCCESS && p) ms_cu_allocated(&c, MS_GPU_POOLED, -1, *p, n, 0);
  else ms_cu_failed(&c, r, -1, n);
  return r;
}
MS_SLOTS(MS_ABI_MEM_ALLOC_ASYNC, ms_mem_alloc_async, ms_curesult, (ms_cuptr * p, size_t n, ms_custream s), p, n, s)

static ms_curesult ms_mem_alloc_from_pool(void *real, const void *caller, ms_cuptr *p, size_t n, ms_cupool pool,
                                          ms_custream s) {
  (void)caller;
  ms_cu_call c;
  ms_cu_begin(&c, MS_API_CU_MEM_ALLOC_FROM_POOL_ASYNC);
  ms_curesult r = ((ms_curesult(*)(ms_cuptr *, size_t, ms_cupool, ms_custream))real)(p, n, pool, s);
  if (r == MS_CUDA_SUCCESS && p) ms_cu_allocated(&c, MS_GPU_POOLED, -1, *p, n, (uint64_t)(uintptr_t)pool);
  else ms_cu_failed(&c, r, -1, n);
  return r;
}
MS_SLOTS(MS_ABI_MEM_ALLOC_FROM_POOL_ASYNC, ms_mem_alloc_from_pool, ms_curesult,
         (ms_cuptr * p, size_t n, ms_cupool pool, ms_custream s), p, n, pool, s)

static ms_curesult ms_mem_free_async(void *real, const void *caller, ms_cuptr p, ms_custream s) {
  (void)caller;
  ms_curesult r = ((ms_curesult(*)(ms_cuptr, ms_custream))real)(p, s);
  if (r == MS_CUDA_SUCCESS && ms_gpu_on()) ms_gpu_free(p, true);
  return r;
}
MS_SLOTS(MS_ABI_MEM_FREE_ASYNC, ms_mem_free_async, ms_curesult, (ms_cuptr p, ms_custream s), p, s)

static ms_curesult ms_mem_pool_trim_to(void *real, const void *caller, ms_cupool pool, size_t keep) {
  (void)caller;
  ms_curesult r = ((ms_curesult(*)(ms_cupool, size_t))real)(pool, keep);
  if (r == MS_CUDA_SUCCESS && ms_gpu_on()) ms_gpu_pool_trim((uint64_t)(uintptr_t)pool, keep);
  return r;
}
MS_SLOTS(MS_ABI_MEM_POOL_TRIM_TO, ms_mem_pool_trim_to, ms_curesult, (ms_cupool pool, size_t keep), pool, keep)

/* ---- virtual memory management: physical bytes at cuMemCreate, freed at release + unmap ---- */

/* The first fields of CUmemAllocationProp: type, requestedHandleTypes, location {type, id}. */
typedef struct {
  int type, handle_types, location_type, location_id;
} ms_cu_alloc_prop_head;
enum { MS_CU_MEM_LOCATION_TYPE_DEVICE = 1 };

static ms_curesult ms_mem_create(void *real, const void *caller, ms_cuhandle *h, size_t n, const void *prop,
                                 unsigned long long flags) {
  (void)caller;
  ms_cu_call c;
  ms_cu_begin(&c, MS_API_CU_MEM_CREATE);
  ms_curesult r = ((ms_curesult(*)(ms_cuhandle *, size_t, const void *, unsigned long long))real)(h, n, prop, flags);
  const ms_cu_alloc_prop_head *head = prop;
  int dev = head && head->location_type == MS_CU_MEM_LOCATION_TYPE_DEVICE ? head->location_id : -1;
  if (r == MS_CUDA_SUCCESS && h && c.on) ms_gpu_record_alloc(MS_GPU_VMM, dev, *h, n, c.site, c.api, 0);
  else ms_cu_failed(&c, r, dev, n);
  return r;
}
MS_SLOTS(MS_ABI_MEM_CREATE, ms_mem_create, ms_curesult,
         (ms_cuhandle * h, size_t n, const void *prop, unsigned long long f), h, n, prop, f)

static ms_curesult ms_mem_release(void *real, const void *caller, ms_cuhandle h) {
  (void)caller;
  ms_curesult r = ((ms_curesult(*)(ms_cuhandle))real)(h);
  if (r == MS_CUDA_SUCCESS && ms_gpu_on()) ms_gpu_vmm_release(h);
  return r;
}
MS_SLOTS(MS_ABI_MEM_RELEASE, ms_mem_release, ms_curesult, (ms_cuhandle h), h)

static ms_curesult ms_mem_map(void *real, const void *caller, ms_cuptr va, size_t n, size_t off, ms_cuhandle h,
                              unsigned long long flags) {
  (void)caller;
  ms_curesult r = ((ms_curesult(*)(ms_cuptr, size_t, size_t, ms_cuhandle, unsigned long long))real)(va, n, off, h, flags);
  if (r == MS_CUDA_SUCCESS && ms_gpu_on()) ms_gpu_vmm_map(va, n, h);
  return r;
}
MS_SLOTS(MS_ABI_MEM_MAP, ms_mem_map, ms_curesult,
         (ms_cuptr va, size_t n, size_t off, ms_cuhandle h, unsigned long long f), va, n, off, h, f)

static ms_curesult ms_mem_unmap(void *real, const void *caller, ms_cuptr va, size_t n) {
  (void)caller;
  ms_curesult r = ((ms_curesult(*)(ms_cuptr, size_t))real)(va, n);
  if (r == MS_CUDA_SUCCESS && ms_gpu_on()) ms_gpu_vmm_unmap(va, n);
  return r;
}
MS_SLOTS(MS_ABI_MEM_UNMAP, ms_mem_unmap, ms_curesult, (ms_cuptr va, size_t n), va, n)

/* ---- slots ---- */

static void *const *const ms_wrappers[MS_ABI__COUNT] = {
  [MS_ABI_GPA4] = ms_gpa4_slots,
  [MS_ABI_GPA5] = ms_gpa5_slots,
  [MS_ABI_MEM_ALLOC] = ms_mem_alloc_slots,
  [MS_ABI_MEM_ALLOC_PITCH] = ms_mem_alloc_pitch_slots,
  [MS_ABI_MEM_FREE] = ms_mem_free_slots,
  [MS_ABI_MEM_ALLOC_MANAGED] = ms_mem_alloc_managed_slots,
  [MS_ABI_MEM_ALLOC_HOST] = ms_mem_alloc_host_slots,
  [MS_ABI_MEM_HOST_ALLOC] = ms_mem_host_alloc_slots,
  [MS_ABI_MEM_FREE_HOST] = ms_mem_free_host_slots,
  [MS_ABI_MEM_ALLOC_ASYNC] = ms_mem_alloc_async_slots,
  [MS_ABI_MEM_ALLOC_FROM_POOL_ASYNC] = ms_mem_alloc_from_pool_slots,
  [MS_ABI_MEM_FREE_ASYNC] = ms_mem_free_async_slots,
  [MS_ABI_MEM_POOL_TRIM_TO] = ms_mem_pool_trim_to_slots,
  [MS_ABI_MEM_CREATE] = ms_mem_create_slots,
  [MS_ABI_MEM_RELEASE] = ms_mem_release_slots,
  [MS_ABI_MEM_MAP] = ms_mem_map_slots,
  [MS_ABI_MEM_UNMAP] = ms_mem_unmap_slots,
};

bool ms_cuda_is_wrapper(const void *fn) {
  for (int a = 0; a < MS_ABI__COUNT; a++)
    for (int i = 0; i < MS_CU_SLOTS; i++)
      if (ms_wrappers[a][i] == fn) return true;
  return false;
}

void *ms_cuda_wrapper(int abi, void *real) {
  static int full_said;
  if (!real || abi < 0 || abi >= MS_ABI__COUNT || ms_cuda_is_wrapper(real)) return real;
  for (int i = 0; i < MS_CU_SLOTS; i++) {
    void *cur = MS_REAL(abi, i);
    if (!cur) {
      void *expected = NULL;
      if (__atomic_compare_exchange_n(&ms_slot_real[abi][i], &expected, real, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return (void *)ms_wrappers[abi][i];
      cur = expected;
    }
    if (cur == real) return (void *)ms_wrappers[abi][i];
  }
  if (!__atomic_exchange_n(&full_said, 1, __ATOMIC_RELAXED))
    ms_log_error("gpu: more than %d driver functions of one kind: later ones are not tracked", MS_CU_SLOTS);
  return real;
}
