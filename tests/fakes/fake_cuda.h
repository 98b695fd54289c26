/* Shared by the fake CUDA libraries and the test programs: the few CUDA types and the fake
 * driver's test hooks. Nothing here comes from NVIDIA's headers; the ABI is cuda.h's. */
#ifndef FAKE_CUDA_H
#define FAKE_CUDA_H

#include <stddef.h>
#include <stdint.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef unsigned long long CUmemGenericAllocationHandle;
typedef struct fake_ctx *CUcontext;
typedef struct fake_stream *CUstream;
typedef struct fake_pool *CUmemoryPool;
typedef struct {
  unsigned char bytes[16];
} CUuuid;
typedef struct {
  int type, requestedHandleTypes;
  struct {
    int type, id;
  } location;
  void *win32HandleMetaData;
  struct {
    unsigned char compressionType, gpuDirectRDMACapable;
    unsigned short usage;
    unsigned char reserved[4];
  } allocFlags;
} CUmemAllocationProp;

enum {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_INVALID_DEVICE = 101,
  CUDA_ERROR_INVALID_CONTEXT = 201,
  CUDA_ERROR_NOT_FOUND = 500,
};
enum { CU_GET_PROC_ADDRESS_DEFAULT = 0, CU_GET_PROC_ADDRESS_LEGACY_STREAM = 1, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM = 2 };
enum { CU_GET_PROC_ADDRESS_SUCCESS = 0, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND = 1, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT = 2 };
enum { CU_MEM_ALLOCATION_TYPE_PINNED = 1, CU_MEM_LOCATION_TYPE_DEVICE = 1 };

/* The fake future ABI of cuMemAlloc (FAKE_CUDA_FUTURE_ABI=1): a third argument that must be this. */
#define FAKE_CUDA_V3_MAGIC 0x5EC0DEull

/* Counters the tests compare (fakecuda_stats, exported by the fake libcuda.so.1). */
typedef struct {
  unsigned long long cuinit_calls;      /* cuInit */
  unsigned long long contexts_created;  /* primary contexts created (cuDevicePrimaryCtxRetain, first time) */
  unsigned long long memgetinfo_calls;  /* cuMemGetInfo: creates nothing here, but memshim must never call it */
  unsigned long long live_bytes;        /* device bytes allocated and not freed (sync, async live, VMM physical) */
  unsigned long long pool_reserved;     /* freed into pools, not trimmed */
  unsigned long long pinned_bytes;      /* host-pinned */
  unsigned long long gpa4_calls, gpa5_calls; /* the two cuGetProcAddress ABIs */
  unsigned long long v1_allocs, v3_allocs;   /* cuMemAlloc (v1, 32-bit) and the fake future ABI */
} fakecuda_stats_t;

#endif
