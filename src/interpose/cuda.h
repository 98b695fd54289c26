/* What the CUDA entry points (dlsym.c, cuda_driver.c, cuda_runtime.c) share.
 * memshim is built without any CUDA header: the few types it needs are spelled out here, with
 * the ABI of cuda.h / cuda_runtime_api.h on x86-64 Linux. */
#ifndef MEMSHIM_INTERPOSE_CUDA_H
#define MEMSHIM_INTERPOSE_CUDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../gpu/cuda_functions.h"
#include "../util/guard.h"

typedef int ms_curesult;              /* CUresult */
typedef unsigned long long ms_cuptr;  /* CUdeviceptr (CUdeviceptr_v2) */
typedef unsigned long long ms_cuhandle; /* CUmemGenericAllocationHandle */
typedef void *ms_custream;            /* CUstream, cudaStream_t */
typedef void *ms_cupool;              /* CUmemoryPool, cudaMemPool_t */

enum { MS_CUDA_SUCCESS = 0, MS_CUDA_ERROR_OUT_OF_MEMORY = 2 };              /* CUresult */
enum { MS_CUDART_SUCCESS = 0, MS_CUDART_ERROR_MEMORY_ALLOCATION = 2,
       MS_CUDART_ERROR_INITIALIZATION = 3 };                                /* cudaError_t */

/* The driver ABIs memshim wraps, one per row of cuda_functions.h. One ABI may be served by
 * several addresses (the _ptsz per-thread-stream twins, several drivers): each gets its own slot. */
#define MS_CUDA_ABI(id, ...) MS_ABI_##id,
enum { MS_CUDA_DRIVER_FUNCTIONS(MS_CUDA_ABI, MS_CUDA_ABI) MS_ABI__COUNT };
#undef MS_CUDA_ABI

/* dlsym/dlvsym of a "cu" + upper-case name: `real` is what the lookup found for `caller`.
 * Returns what the caller gets: memshim's wrapper of the same ABI, or real. */
void *ms_cuda_export_lookup(const char *name, void *real, const void *caller);
/* An address a driver lookup handed out for symbol/version/flags (version < 0: not known, as
 * with cudaGetDriverEntryPoint): the wrapper of the ABI that address has, or real when memshim
 * cannot tell the ABI from the driver's own answers (never guessed from the name). */
void *ms_cuda_proc_lookup(const char *symbol, void *real, int version, uint64_t flags);

/* "Inside the runtime": set by the runtime entry points (cudaMalloc & co.) around their call, so
 * that the driver call beneath is counted once, with the runtime's name and call site. */
typedef struct {
  int depth;
  uint32_t site;
  int api;
  bool counted; /* the driver wrapper recorded the allocation */
  bool oom;     /* the driver wrapper saw an out-of-memory */
} ms_cuda_rt_scope;
extern MS_HIDDEN MS_TLS ms_cuda_rt_scope ms_cuda_rt;

#endif
