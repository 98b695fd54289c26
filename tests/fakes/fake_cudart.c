/* A fake CUDA runtime, built as libcudart.so.12 (FAKE_CUDART_VERSION 12040) and libcudart.so.13
 * (13000), and compiled into a program as a "statically linked runtime" (FAKE_CUDART_STATIC).
 * It starts the way the real one does: on first use it dlopens libcuda.so.1 RTLD_LOCAL, takes
 * cuGetProcAddress_v2 with dlsym on that handle, asks it for cuGetExportTable and then for every
 * driver function it uses, and calls the driver only through those pointers. Its own functions
 * call each other directly, never through their exported names. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_cuda.h"

#ifdef FAKE_CUDART_STATIC
#define API
#else
#define API __attribute__((visibility("default")))
#endif

enum { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2, cudaErrorInitializationError = 3 };
typedef struct {
  void *ptr;
  size_t pitch, xsize, ysize;
} cudaPitchedPtr;
typedef struct {
  size_t width, height, depth;
} cudaExtent;

typedef CUresult (*gpa_fn)(const char *, void **, int, unsigned long long, int *);
static struct {
  CUresult (*init)(unsigned);
  CUresult (*get_export_table)(const void **, const CUuuid *);
  CUresult (*primary_ctx_retain)(CUcontext *, CUdevice);
  CUresult (*ctx_set_current)(CUcontext);
  CUresult (*mem_alloc)(CUdeviceptr *, size_t);
  CUresult (*mem_alloc_pitch)(CUdeviceptr *, size_t *, size_t, size_t, unsigned);
  CUresult (*mem_free)(CUdeviceptr);
  CUresult (*mem_alloc_managed)(CUdeviceptr *, size_t, unsigned);
  CUresult (*mem_alloc_host)(void **, size_t);
  CUresult (*mem_host_alloc)(void **, size_t, unsigned);
  CUresult (*mem_free_host)(void *);
  CUresult (*mem_alloc_async[2])(CUdeviceptr *, size_t, CUstream);
  CUresult (*mem_alloc_from_pool_async)(CUdeviceptr *, size_t, CUmemoryPool, CUstream);
  CUresult (*mem_free_async[2])(CUdeviceptr, CUstream);
  CUresult (*mem_pool_trim_to)(CUmemoryPool, size_t);
  CUresult (*device_get_default_mem_pool)(CUmemoryPool *, CUdevice);
} drv;
static gpa_fn gpa;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_failed;
static __thread int thread_dev = -1;

static void *get(const char *name, unsigned long long flags) {
  void *p = NULL;
  int st = 0;
  if (gpa(name, &p, FAKE_CUDART_VERSION, flags, &st) != CUDA_SUCCESS || !p) {
    fprintf(stderr, "fake cudart: driver has no %s\n", name);
    init_failed = 1;
  }
  return p;
}

/* FAKE_CUDART_TEARDOWN=1: like the real runtime, register a teardown at first use that destroys
 * the contexts at exit (after it, NVML no longer lists the process). A vfork child that calls
 * exit() runs it too, in our memory: it leaves the parent's contexts alone. */
static void (*driver_teardown)(void);
static pid_t teardown_pid;
static void teardown(void) {
  if (getpid() == teardown_pid) driver_teardown();
}

static void load(void) {
  void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h || !(gpa = (gpa_fn)dlsym(h, "cuGetProcAddress_v2"))) {
    init_failed = 1;
    return;
  }
  const char *td = getenv("FAKE_CUDART_TEARDOWN");
  if (td && *td == '1' && (driver_teardown = (void (*)(void))dlsym(h, "fakecuda_teardown"))) {
    teardown_pid = getpid();
    atexit(teardown);
  }
  drv.get_export_table = get("cuGetExportTable", 0);
  const void *table;
  CUuuid id = {{0}};
  if (drv.get_export_table) drv.get_export_table(&table, &id);
  drv.init = get("cuInit", 0);
  drv.primary_ctx_retain = get("cuDevicePrimaryCtxRetain", 0);
  drv.ctx_set_current = get("cuCtxSetCurrent", 0);
  drv.mem_alloc = get("cuMemAlloc", 0);
  drv.mem_alloc_pitch = get("cuMemAllocPitch", 0);
  drv.mem_free = get("cuMemFree", 0);
  drv.mem_alloc_managed = get("cuMemAllocManaged", 0);
  drv.mem_alloc_host = get("cuMemAllocHost", 0);
  drv.mem_host_alloc = get("cuMemHostAlloc", 0);
  drv.mem_free_host = get("cuMemFreeHost", 0);
  drv.mem_alloc_async[0] = get("cuMemAllocAsync", 0);
  drv.mem_alloc_async[1] = get("cuMemAllocAsync", CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
  drv.mem_alloc_from_pool_async = get("cuMemAllocFromPoolAsync", 0);
  drv.mem_free_async[0] = get("cuMemFreeAsync", 0);
  drv.mem_free_async[1] = get("cuMemFreeAsync", CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
  drv.mem_pool_trim_to = get("cuMemPoolTrimTo", 0);
  drv.device_get_default_mem_pool = get("cuDeviceGetDefaultMemPool", 0);
  if (!init_failed && drv.init(0) != CUDA_SUCCESS) init_failed = 1;
}

static int to_rt(CUresult r) {
  return r == CUDA_SUCCESS ? cudaSuccess : r == CUDA_ERROR_OUT_OF_MEMORY ? cudaErrorMemoryAllocation : cudaErrorInvalidValue;
}

/* The calling thread's device, with its primary context current (device 0 unless set). */
static int use_device(int dev) {
  pthread_once(&once, load);
  if (init_failed) return cudaErrorInitializationError;
  if (dev < 0) dev = thread_dev < 0 ? 0 : thread_dev;
  CUcontext c;
  CUresult r = drv.primary_ctx_retain(&c, dev);
  if (r == CUDA_SUCCESS) r = drv.ctx_set_current(c);
  if (r == CUDA_SUCCESS) thread_dev = dev;
  return to_rt(r);
}
#define ENSURE() \
  do { int e_ = use_device(-1); if (e_) return e_; } while (0)

API int cudaSetDevice(int dev) { return use_device(dev); }
API int cudaGetDevice(int *dev) {
  ENSURE();
  *dev = thread_dev;
  return cudaSuccess;
}
API int cudaRuntimeGetVersion(int *v) {
  *v = FAKE_CUDART_VERSION;
  return cudaSuccess;
}
API int cudaDeviceSynchronize(void) { return cudaSuccess; }

static int rt_malloc(void **p, size_t n) {
  ENSURE();
  return to_rt(drv.mem_alloc((CUdeviceptr *)p, n));
}
API int cudaMalloc(void **p, size_t n) { return rt_malloc(p, n); }
API int cudaFree(void *p) {
  ENSURE();
  return p ? to_rt(drv.mem_free((CUdeviceptr)(uintptr_t)p)) : cudaSuccess;
}
static int rt_malloc_pitch(void **p, size_t *pitch, size_t w, size_t h) {
  ENSURE();
  return to_rt(drv.mem_alloc_pitch((CUdeviceptr *)p, pitch, w, h, 4));
}
API int cudaMallocPitch(void **p, size_t *pitch, size_t w, size_t h) { return rt_malloc_pitch(p, pitch, w, h); }
API int cudaMalloc3D(cudaPitchedPtr *pp, cudaExtent e) {
  size_t pitch;
  int r = rt_malloc_pitch(&pp->ptr, &pitch, e.width, e.height * e.depth);
  if (r == cudaSuccess) {
    pp->pitch = pitch;
    pp->xsize = e.width;
    pp->ysize = e.height;
  }
  return r;
}
API int cudaMallocManaged(void **p, size_t n, unsigned flags) {
  ENSURE();
  return to_rt(drv.mem_alloc_managed((CUdeviceptr *)p, n, flags));
}
API int cudaMallocHost(void **p, size_t n) {
  ENSURE();
  return to_rt(drv.mem_alloc_host(p, n));
}
API int cudaHostAlloc(void **p, size_t n, unsigned flags) {
  ENSURE();
  return to_rt(drv.mem_host_alloc(p, n, flags));
}
API int cudaFreeHost(void *p) {
  ENSURE();
  return to_rt(drv.mem_free_host(p));
}
API int cudaMallocAsync(void **p, size_t n, CUstream s) {
  ENSURE();
  return to_rt(drv.mem_alloc_async[0]((CUdeviceptr *)p, n, s));
}
API int cudaMallocAsync_ptsz(void **p, size_t n, CUstream s) {
  ENSURE();
  return to_rt(drv.mem_alloc_async[1]((CUdeviceptr *)p, n, s));
}
API int cudaMallocFromPoolAsync(void **p, size_t n, CUmemoryPool pool, CUstream s) {
  ENSURE();
  return to_rt(drv.mem_alloc_from_pool_async((CUdeviceptr *)p, n, pool, s));
}
API int cudaFreeAsync(void *p, CUstream s) {
  ENSURE();
  return to_rt(drv.mem_free_async[0]((CUdeviceptr)(uintptr_t)p, s));
}
API int cudaFreeAsync_ptsz(void *p, CUstream s) {
  ENSURE();
  return to_rt(drv.mem_free_async[1]((CUdeviceptr)(uintptr_t)p, s));
}
API int cudaDeviceGetDefaultMemPool(CUmemoryPool *pool, int dev) {
  ENSURE();
  return to_rt(drv.device_get_default_mem_pool(pool, dev));
}
API int cudaMemPoolTrimTo(CUmemoryPool pool, size_t keep) {
  ENSURE();
  return to_rt(drv.mem_pool_trim_to(pool, keep));
}
API int cudaGetDriverEntryPoint(const char *sym, void **fn, unsigned long long flags, int *status) {
  ENSURE();
  return to_rt(gpa(sym, fn, FAKE_CUDART_VERSION, flags, status));
}
API int cudaGetDriverEntryPointByVersion(const char *sym, void **fn, unsigned version, unsigned long long flags, int *status) {
  ENSURE();
  return to_rt(gpa(sym, fn, (int)version, flags, status));
}
API const char *cudaGetErrorString(int e) { return e == cudaErrorMemoryAllocation ? "out of memory" : e ? "error" : "no error"; }
