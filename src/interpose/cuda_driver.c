/* The driver functions memshim wraps, as handed out by dlsym, cuGetProcAddress and
 * cudaGetDriverEntryPoint. Each ABI has MS_CU_NSLOTS wrapper functions; a slot is bound to one
 * real address the first time that address is handed out and forwards to it for the life of the
 * process, so the per-thread-stream twin (cuMemAllocAsync_ptsz) and the default one stay apart.
 * Every wrapper captures the caller's stack before the call (the caller is the program, or the
 * runtime's internals when the runtime entry point did not capture it already) and reports the
 * result to src/gpu; the driver's return value is passed back unchanged. */
#include "../gpu/gpu.h"
#include "../util/log.h"
#include "cuda.h"

#define MS_CU_NSLOTS 8 /* wrappers per ABI */

MS_TLS ms_cuda_rt_scope ms_cuda_rt;
static void *ms_slot_real[MS_ABI__COUNT][MS_CU_NSLOTS];

#define MS_REAL(abi, i) __atomic_load_n(&ms_slot_real[abi][i], __ATOMIC_ACQUIRE)

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
  /* a VMM handle is not the pointer a runtime call returns: the runtime still counts that one */
  if (c->in_rt && kind != MS_GPU_VMM) ms_cuda_rt.counted = true;
  ms_gpu_record_alloc(kind, dev, ptr, size, c->site, c->api, pool);
}

static void ms_cu_failed(const ms_cu_call *c, ms_curesult r, int dev, uint64_t size) {
  if (!c->on || r != MS_CUDA_ERROR_OUT_OF_MEMORY) return;
  if (c->in_rt) ms_cuda_rt.oom = true;
  ms_gpu_out_of_memory(dev, size, c->site, c->api);
}

/* cuGetProcAddress: hand out wrappers for what it returns. */
static void ms_cu_after_gpa(const void *caller, const char *sym, void **pfn, int ver, uint64_t flags) {
  if (sym && pfn && *pfn) *pfn = ms_cuda_after_proc_address(caller, sym, *pfn, ver, flags);
}

/* The first fields of CUmemAllocationProp: type, requestedHandleTypes, location {type, id}. */
typedef struct {
  int type, handle_types, location_type, location_id;
} ms_cu_alloc_prop_head;
enum { MS_CU_MEM_LOCATION_TYPE_DEVICE = 1 };

static int ms_cu_prop_device(const void *prop) {
  const ms_cu_alloc_prop_head *head = prop;
  return head && head->location_type == MS_CU_MEM_LOCATION_TYPE_DEVICE ? head->location_id : -1;
}

/* ---- the bodies and their slots, from cuda_functions.h ---- */

#define MS_CU_ALLOC(id, name, version, exports, PARAMS, ARGS, kind, dev, ok, ptr, size, pool, want) \
  static ms_curesult ms_cu_##id(void *real, const void *caller, MS_UNPAREN PARAMS) {              \
    (void)caller;                                                                                \
    ms_cu_call c;                                                                                \
    ms_cu_begin(&c, MS_API_CU_##id);                                                             \
    ms_curesult r = ((ms_curesult(*) PARAMS)real)ARGS;                                           \
    if (r == MS_CUDA_SUCCESS && (ok)) ms_cu_allocated(&c, kind, dev, ptr, size, pool);           \
    else ms_cu_failed(&c, r, dev, want);                                                         \
    return r;                                                                                    \
  }                                                                                              \
  MS_CU_SLOTS(id, PARAMS, ARGS)

#define MS_CU_AFTER(id, name, version, exports, PARAMS, ARGS, action)                \
  static ms_curesult ms_cu_##id(void *real, const void *caller, MS_UNPAREN PARAMS) { \
    (void)caller;                                                                   \
    ms_curesult r = ((ms_curesult(*) PARAMS)real)ARGS;                              \
    if (r == MS_CUDA_SUCCESS && ms_gpu_on()) action;                                \
    return r;                                                                       \
  }                                                                                 \
  MS_CU_SLOTS(id, PARAMS, ARGS)

#define MS_CU_SLOT_FN(id, i, PARAMS, ARGS)                                                              \
  static ms_curesult ms_cu_##id##_##i PARAMS {                                                          \
    return ms_cu_##id(MS_REAL(MS_ABI_##id, i), __builtin_return_address(0), MS_UNPAREN ARGS);          \
  }
#define MS_CU_SLOTS(id, PARAMS, ARGS)                                                                   \
  MS_CU_SLOT_FN(id, 0, PARAMS, ARGS)                                                                    \
  MS_CU_SLOT_FN(id, 1, PARAMS, ARGS)                                                                    \
  MS_CU_SLOT_FN(id, 2, PARAMS, ARGS)                                                                    \
  MS_CU_SLOT_FN(id, 3, PARAMS, ARGS)                                                                    \
  MS_CU_SLOT_FN(id, 4, PARAMS, ARGS)                                                                    \
  MS_CU_SLOT_FN(id, 5, PARAMS, ARGS)                                                                    \
  MS_CU_SLOT_FN(id, 6, PARAMS, ARGS)                                                                    \
  MS_CU_SLOT_FN(id, 7, PARAMS, ARGS)                                                                    \
  static void *const ms_cu_##id##_slots[MS_CU_NSLOTS] = {(void *)ms_cu_##id##_0, (void *)ms_cu_##id##_1, \
                                                        (void *)ms_cu_##id##_2, (void *)ms_cu_##id##_3, \
                                                        (void *)ms_cu_##id##_4, (void *)ms_cu_##id##_5, \
                                                        (void *)ms_cu_##id##_6, (void *)ms_cu_##id##_7};

MS_CUDA_DRIVER_FUNCTIONS(MS_CU_ALLOC, MS_CU_AFTER)

#define MS_CU_WRAPPERS(id, ...) [MS_ABI_##id] = ms_cu_##id##_slots,
static void *const *const ms_wrappers[MS_ABI__COUNT] = {MS_CUDA_DRIVER_FUNCTIONS(MS_CU_WRAPPERS, MS_CU_WRAPPERS)};

bool ms_cuda_is_wrapper(const void *fn) {
  for (int a = 0; a < MS_ABI__COUNT; a++)
    for (int i = 0; i < MS_CU_NSLOTS; i++)
      if (ms_wrappers[a][i] == fn) return true;
  return false;
}

void *ms_cuda_wrapper(int abi, void *real) {
  static int full_said;
  if (!real || abi < 0 || abi >= MS_ABI__COUNT || ms_cuda_is_wrapper(real)) return real;
  for (int i = 0; i < MS_CU_NSLOTS; i++) {
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
    ms_log_error("gpu: more than %d driver functions of one kind: later ones are not tracked", MS_CU_NSLOTS);
  return real;
}
