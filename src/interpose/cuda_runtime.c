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
#include <limits.h>

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

/* ---- the bodies and their exports, from cuda_functions.h ---- */

/* The real function: the next definition of `sym` after libmemshim.so, looked up once into *cache. */
#define MS_RT_FN(PARAMS) \
  int (*fn) PARAMS = (int (*) PARAMS)ms_dl_next_cached(cache, sym); \
  if (!fn) return MS_CUDART_ERROR_INITIALIZATION

#define MS_RT_ALLOC(id, name, variants, PARAMS, ARGS, kind, ptr, size, pool)    \
  static int ms_rt_##name(void **cache, const char *sym, MS_UNPAREN PARAMS) { \
    MS_RT_FN(PARAMS);                                                          \
    if (!ms_rt_enter(MS_API_CUDA_##id)) return fn ARGS;                        \
    int r = fn ARGS;                                                           \
    return ms_rt_leave(r, kind, ptr, size, pool);                              \
  }                                                                            \
  MS_RT_EXPORTS_##variants(name, PARAMS, ARGS)

#define MS_RT_AFTER(id, name, variants, PARAMS, ARGS, when, action)            \
  static int ms_rt_##name(void **cache, const char *sym, MS_UNPAREN PARAMS) { \
    MS_RT_FN(PARAMS);                                                          \
    int r = fn ARGS;                                                           \
    if (r == MS_CUDART_SUCCESS && (when) && ms_gpu_on()) action;               \
    return r;                                                                  \
  }                                                                            \
  MS_RT_EXPORTS_##variants(name, PARAMS, ARGS)

/* tests/integration/lib_exports.sh reads the exported names from the rows, not from here */
#define MS_RT_EXPORT(body, name, PARAMS, ARGS)  \
  static void *ms_rt_real_##name;                \
  MS_EXPORT int name PARAMS {                    \
    return ms_rt_##body(&ms_rt_real_##name, #name, MS_UNPAREN ARGS); \
  }
#define MS_RT_EXPORTS_ONE(name, PARAMS, ARGS) MS_RT_EXPORT(name, name, PARAMS, ARGS)
#define MS_RT_EXPORTS_PTSZ(name, PARAMS, ARGS) \
  MS_RT_EXPORT(name, name, PARAMS, ARGS)       \
  MS_RT_EXPORT(name, name##_ptsz, PARAMS, ARGS)

MS_CUDA_RUNTIME_FUNCTIONS(MS_RT_ALLOC, MS_RT_AFTER)

/* ---- driver entry points: what they hand out is matched as cuGetProcAddress's answers are ---- */

/* cudaGetDriverEntryPoint(symbol, funcPtr, flags, driverStatus): CUDA 12 added driverStatus; a
 * CUDA 11 caller passes three arguments and its runtime ignores the fourth register, so all four
 * are forwarded as they are. The runtime asks the driver for its own version. */
typedef int (*ms_entry_fn)(const char *, void **, unsigned long long, void *);
typedef int (*ms_entry_by_version_fn)(const char *, void **, unsigned, unsigned long long, void *);

static int ms_entry(void **cache, const char *name, const char *symbol, void **fn, unsigned long long flags, void *status) {
  ms_entry_fn real = (ms_entry_fn)ms_dl_next_cached(cache, name);
  if (!real) return MS_CUDART_ERROR_INITIALIZATION;
  int r = real(symbol, fn, flags, status);
  if (r == MS_CUDART_SUCCESS && fn && *fn && ms_gpu_on()) {
    ms_gpu_note_runtime(0);
    *fn = ms_cuda_proc_lookup(symbol, *fn, -1, flags);
  }
  return r;
}
static int ms_entry_by_version(void **cache, const char *name, const char *symbol, void **fn, unsigned version,
                               unsigned long long flags, void *status) {
  ms_entry_by_version_fn real = (ms_entry_by_version_fn)ms_dl_next_cached(cache, name);
  if (!real) return MS_CUDART_ERROR_INITIALIZATION;
  int r = real(symbol, fn, version, flags, status);
  if (r == MS_CUDART_SUCCESS && fn && *fn && ms_gpu_on()) {
    ms_gpu_note_runtime(0);
    *fn = ms_cuda_proc_lookup(symbol, *fn, version > INT_MAX ? -1 : (int)version, flags);
  }
  return r;
}

static void *ms_real_entry[2], *ms_real_entry_by_version[2];
MS_EXPORT int cudaGetDriverEntryPoint(const char *symbol, void **fn, unsigned long long flags, void *status) {
  return ms_entry(&ms_real_entry[0], "cudaGetDriverEntryPoint", symbol, fn, flags, status);
}
MS_EXPORT int cudaGetDriverEntryPoint_ptsz(const char *symbol, void **fn, unsigned long long flags, void *status) {
  return ms_entry(&ms_real_entry[1], "cudaGetDriverEntryPoint_ptsz", symbol, fn, flags, status);
}
MS_EXPORT int cudaGetDriverEntryPointByVersion(const char *symbol, void **fn, unsigned version, unsigned long long flags,
                                               void *status) {
  return ms_entry_by_version(&ms_real_entry_by_version[0], "cudaGetDriverEntryPointByVersion", symbol, fn, version, flags,
                             status);
}
MS_EXPORT int cudaGetDriverEntryPointByVersion_ptsz(const char *symbol, void **fn, unsigned version,
                                                    unsigned long long flags, void *status) {
  return ms_entry_by_version(&ms_real_entry_by_version[1], "cudaGetDriverEntryPointByVersion_ptsz", symbol, fn, version,
                             flags, status);
}
