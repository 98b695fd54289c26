/* The three ways an address of the driver reaches a program, and which ABI each address has.
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
 *   3. cudaGetDriverEntryPoint and ...ByVersion (runtime exports, interposed here): PyTorch's
 *      expandable segments take cuMemCreate/cuMemMap this way; same matching as 2.
 *
 * These lookups also tell which runtime the process uses: a libcudart.so asking cuGetProcAddress
 * passes its own version; a cuGetExportTable lookup from any other module means a runtime linked
 * statically into it. */
#include <dlfcn.h>
#include <limits.h>
#include <string.h>

#include "../util/log.h"
#include "../gpu/driver.h"
#include "../gpu/gpu.h"
#include "../gpu/dl.h"
#include "../util/export.h"
#include "cuda.h"

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

void *ms_cuda_after_proc_address(const void *caller, const char *symbol, void *real, int version, uint64_t flags) {
  if (!ms_gpu_on()) return real;
  ms_gpu_seen();
  ms_note_lookup_caller(caller, symbol, version);
  return ms_cuda_proc_lookup(symbol, real, version, flags);
}

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
