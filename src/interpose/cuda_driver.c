/* The driver functions memshim wraps, as handed out by dlsym, cuGetProcAddress and
 * cudaGetDriverEntryPoint. Each ABI has MS_CU_NSLOTS wrapper functions; a slot is bound to one
 * real address the first time that address is handed out and forwards to it for the life of the
 * process, so the per-thread-stream twin (cuMemAllocAsync_ptsz) and the default one stay apart.
 * Every wrapper captures the caller's stack before the call (the caller is the program, or the
 * runtime's internals when the runtime entry point did not capture it already) and reports the
 * result to src/gpu; the driver's return value is passed back unchanged.
 *
 * The three ways an address of the driver reaches a program, and which ABI each address has.
 *
 *   1. dlsym/dlvsym of an exported name ("cuMemAlloc_v2"): the name is the versioned symbol,
 *      so it says the ABI exactly (ms_cu_abis[].exports).
 *   2. cuGetProcAddress(base name, version, flags): the real libcudart takes every driver
 *      function this way. The address handed back is compared with the driver's own answers for
 *      the versions at which each known ABI was introduced (cudaTypedefs.h: PFN_cuMemAlloc_v3020
 *      is the v2 ABI), asked with the same flags, and with the driver's exported symbols. Only an
 *      address equal to one of those is wrapped; anything else (an ABI newer than memshim knows)
 *      is handed out untouched and not tracked, never wrapped on a guess from the name and the
 *      version (HAMi-core #57).
 *   3. cudaGetDriverEntryPoint and ...ByVersion (runtime exports, cuda_runtime.c): PyTorch's
 *      expandable segments take cuMemCreate/cuMemMap this way; same matching as 2.
 *
 * These lookups also tell which runtime the process uses: a libcudart.so asking cuGetProcAddress
 * passes its own version; a cuGetExportTable lookup from any other module means a runtime linked
 * statically into it. */
#include <dlfcn.h>
#include <string.h>

#include "../gpu/driver.h"
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
static void *ms_cuda_after_proc_address(const void *caller, const char *symbol, void *real, int version,
                                        uint64_t flags);
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

static bool ms_cuda_is_wrapper(const void *fn) {
  for (int a = 0; a < MS_ABI__COUNT; a++)
    for (int i = 0; i < MS_CU_NSLOTS; i++)
      if (ms_wrappers[a][i] == fn) return true;
  return false;
}

/* The wrapper of `abi` that forwards to `real` (a free slot is taken on first use); real itself
 * when every slot is taken. */
static void *ms_cuda_wrapper(int abi, void *real) {
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

/* ---- which ABI an address has ---- */

/* Per ABI: its base name, the version that introduced it, its exported names (cuda_functions.h). */
static const struct {
  const char *base;
  int version;
  const char *exports[MS_CU_EXPORTS];
} ms_cu_abis[MS_ABI__COUNT] = {
#define MS_CU_ABI_ROW(id, name, version, exports, ...) [MS_ABI_##id] = {#name, version, {MS_UNPAREN exports}},
  MS_CUDA_DRIVER_FUNCTIONS(MS_CU_ABI_ROW, MS_CU_ABI_ROW)
#undef MS_CU_ABI_ROW
};

/* ---- which runtime ---- */

static bool ms_module_is_cudart(const void *addr, const char **path) {
  Dl_info info;
  *path = NULL;
  if (!addr || !dladdr(addr, &info) || !info.dli_fname) return false;
  *path = info.dli_fname;
  const char *slash = strrchr(info.dli_fname, '/');
  return strncmp(slash ? slash + 1 : info.dli_fname, "libcudart.so", 12) == 0;
}

static int ms_runtime_known; /* 1: a libcudart with its version seen, or a static runtime */

static void ms_note_lookup_caller(const void *caller, const char *symbol, int version) {
  if (__atomic_load_n(&ms_runtime_known, __ATOMIC_RELAXED)) return;
  const char *path;
  if (ms_module_is_cudart(caller, &path)) {
    ms_gpu_note_runtime(version);
    if (version > 0) __atomic_store_n(&ms_runtime_known, 1, __ATOMIC_RELAXED);
  } else if (strcmp(symbol, "cuGetExportTable") == 0) {
    ms_gpu_note_static_runtime(path);
  }
}

/* ---- the three ways in ---- */

void *ms_cuda_export_lookup(const char *name, void *real, const void *caller) {
  if (!real || !ms_gpu_on()) return real;
  if (!strncmp(name, "cuGetProcAddress", 16) || !strcmp(name, "cuGetExportTable")) {
    ms_gpu_seen();
    ms_note_lookup_caller(caller, name, 0);
  }
  for (int abi = 0; abi < MS_ABI__COUNT; abi++)
    for (unsigned j = 0; j < MS_CU_EXPORTS && ms_cu_abis[abi].exports[j]; j++)
      if (strcmp(name, ms_cu_abis[abi].exports[j]) == 0) {
        ms_gpu_seen();
        ms_cu_driver_of(real); /* the driver memshim asks for the device of an allocation */
        return ms_cuda_wrapper(abi, real);
      }
  return real;
}

void *ms_cuda_proc_lookup(const char *symbol, void *real, int version, uint64_t flags) {
  if (!real || !symbol || !ms_gpu_on()) return real;
  int family = 0; /* the first ABI of the symbol's base name; the loops below start there */
  while (family < MS_ABI__COUNT && strcmp(symbol, ms_cu_abis[family].base) != 0) family++;
  /* the name filter first: most lookups are of functions memshim does not wrap */
  if (family == MS_ABI__COUNT || ms_cuda_is_wrapper(real)) return real;
  ms_gpu_seen();
  const ms_cu_driver *d = ms_cu_driver_of(real);
  if (!d) return real;
  for (int abi = family; abi < MS_ABI__COUNT; abi++) {
    if (strcmp(symbol, ms_cu_abis[abi].base) != 0 || (version >= 0 && ms_cu_abis[abi].version > version)) continue;
    if (ms_cu_driver_query(d, symbol, ms_cu_abis[abi].version, flags) == real) return ms_cuda_wrapper(abi, real);
  }
  for (int abi = family; abi < MS_ABI__COUNT; abi++)
    for (unsigned j = 0; j < MS_CU_EXPORTS && ms_cu_abis[abi].exports[j]; j++)
      if (strcmp(symbol, ms_cu_abis[abi].base) == 0 && ms_cu_driver_export(d, ms_cu_abis[abi].exports[j]) == real)
        return ms_cuda_wrapper(abi, real);
  static bool said[MS_ABI__COUNT];
  if (!__atomic_exchange_n(&said[family], true, __ATOMIC_RELAXED))
    ms_log_info("gpu: %s as handed out for version %d has an ABI memshim does not know: what it allocates is not "
                "tracked (it shows in the residual)", symbol, version);
  return real;
}

static void *ms_cuda_after_proc_address(const void *caller, const char *symbol, void *real, int version, uint64_t flags) {
  if (!ms_gpu_on()) return real;
  ms_gpu_seen();
  ms_note_lookup_caller(caller, symbol, version);
  return ms_cuda_proc_lookup(symbol, real, version, flags);
}
