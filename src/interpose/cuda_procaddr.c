/* The three ways an address of the driver reaches a program, and which ABI each address has.
 *
 *   1. dlsym/dlvsym of an exported name ("cuMemAlloc_v2"): the name is the versioned symbol,
 *      so it says the ABI exactly (table ms_cu_exports).
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

/* Base name, the version that introduced an ABI, the ABI. */
static const struct {
  const char *base;
  int version;
  int abi;
} ms_cu_families[] = {
  {"cuGetProcAddress", 11030, MS_ABI_GPA4},
  {"cuGetProcAddress", 12000, MS_ABI_GPA5},
  {"cuMemAlloc", 3020, MS_ABI_MEM_ALLOC},
  {"cuMemAllocPitch", 3020, MS_ABI_MEM_ALLOC_PITCH},
  {"cuMemFree", 3020, MS_ABI_MEM_FREE},
  {"cuMemAllocManaged", 6000, MS_ABI_MEM_ALLOC_MANAGED},
  {"cuMemAllocHost", 3020, MS_ABI_MEM_ALLOC_HOST},
  {"cuMemHostAlloc", 2020, MS_ABI_MEM_HOST_ALLOC},
  {"cuMemFreeHost", 2000, MS_ABI_MEM_FREE_HOST},
  {"cuMemAllocAsync", 11020, MS_ABI_MEM_ALLOC_ASYNC},
  {"cuMemAllocFromPoolAsync", 11020, MS_ABI_MEM_ALLOC_FROM_POOL_ASYNC},
  {"cuMemFreeAsync", 11020, MS_ABI_MEM_FREE_ASYNC},
  {"cuMemPoolTrimTo", 11020, MS_ABI_MEM_POOL_TRIM_TO},
  {"cuMemCreate", 10020, MS_ABI_MEM_CREATE},
  {"cuMemRelease", 10020, MS_ABI_MEM_RELEASE},
  {"cuMemMap", 10020, MS_ABI_MEM_MAP},
  {"cuMemUnmap", 10020, MS_ABI_MEM_UNMAP},
};
#define MS_CU_NFAMILIES (sizeof ms_cu_families / sizeof ms_cu_families[0])

/* Exported symbol, its base name, its ABI. */
static const struct {
  const char *name, *base;
  int abi;
} ms_cu_exports[] = {
  {"cuGetProcAddress", "cuGetProcAddress", MS_ABI_GPA4},
  {"cuGetProcAddress_v2", "cuGetProcAddress", MS_ABI_GPA5},
  {"cuGetProcAddress_v2_ptsz", "cuGetProcAddress", MS_ABI_GPA5},
  {"cuMemAlloc_v2", "cuMemAlloc", MS_ABI_MEM_ALLOC},
  {"cuMemAllocPitch_v2", "cuMemAllocPitch", MS_ABI_MEM_ALLOC_PITCH},
  {"cuMemFree_v2", "cuMemFree", MS_ABI_MEM_FREE},
  {"cuMemAllocManaged", "cuMemAllocManaged", MS_ABI_MEM_ALLOC_MANAGED},
  {"cuMemAllocHost_v2", "cuMemAllocHost", MS_ABI_MEM_ALLOC_HOST},
  {"cuMemHostAlloc", "cuMemHostAlloc", MS_ABI_MEM_HOST_ALLOC},
  {"cuMemFreeHost", "cuMemFreeHost", MS_ABI_MEM_FREE_HOST},
  {"cuMemAllocAsync", "cuMemAllocAsync", MS_ABI_MEM_ALLOC_ASYNC},
  {"cuMemAllocAsync_ptsz", "cuMemAllocAsync", MS_ABI_MEM_ALLOC_ASYNC},
  {"cuMemAllocFromPoolAsync", "cuMemAllocFromPoolAsync", MS_ABI_MEM_ALLOC_FROM_POOL_ASYNC},
  {"cuMemAllocFromPoolAsync_ptsz", "cuMemAllocFromPoolAsync", MS_ABI_MEM_ALLOC_FROM_POOL_ASYNC},
  {"cuMemFreeAsync", "cuMemFreeAsync", MS_ABI_MEM_FREE_ASYNC},
  {"cuMemFreeAsync_ptsz", "cuMemFreeAsync", MS_ABI_MEM_FREE_ASYNC},
  {"cuMemPoolTrimTo", "cuMemPoolTrimTo", MS_ABI_MEM_POOL_TRIM_TO},
  {"cuMemCreate", "cuMemCreate", MS_ABI_MEM_CREATE},
  {"cuMemRelease", "cuMemRelease", MS_ABI_MEM_RELEASE},
  {"cuMemMap", "cuMemMap", MS_ABI_MEM_MAP},
  {"cuMemUnmap", "cuMemUnmap", MS_ABI_MEM_UNMAP},
};
#define MS_CU_NEXPORTS (sizeof ms_cu_exports / sizeof ms_cu_exports[0])

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
  for (unsigned i = 0; i < MS_CU_NEXPORTS; i++)
    if (strcmp(name, ms_cu_exports[i].name) == 0) {
      ms_gpu_seen();
      ms_cu_driver_of(real); /* the driver memshim asks for the device of an allocation */
      return ms_cuda_wrapper(ms_cu_exports[i].abi, real);
    }
  return real;
}

void *ms_cuda_proc_lookup(const char *symbol, void *real, int version, uint64_t flags) {
  if (!real || !symbol || !ms_gpu_on()) return real;
  unsigned family = 0; /* the first entry of the symbol's family; the loop below starts there */
  while (family < MS_CU_NFAMILIES && strcmp(symbol, ms_cu_families[family].base) != 0) family++;
  /* the name filter first: most lookups are of functions memshim does not wrap */
  if (family == MS_CU_NFAMILIES || ms_cuda_is_wrapper(real)) return real;
  ms_gpu_seen();
  const ms_cu_driver *d = ms_cu_driver_of(real);
  if (!d) return real;
  for (unsigned i = family; i < MS_CU_NFAMILIES; i++) {
    if (strcmp(symbol, ms_cu_families[i].base) != 0 || (version >= 0 && ms_cu_families[i].version > version)) continue;
    if (ms_cu_driver_query(d, symbol, ms_cu_families[i].version, flags) == real)
      return ms_cuda_wrapper(ms_cu_families[i].abi, real);
  }
  for (unsigned i = 0; i < MS_CU_NEXPORTS; i++)
    if (strcmp(symbol, ms_cu_exports[i].base) == 0 && ms_cu_driver_export(d, ms_cu_exports[i].name) == real)
      return ms_cuda_wrapper(ms_cu_exports[i].abi, real);
  static bool said[MS_CU_NFAMILIES];
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
