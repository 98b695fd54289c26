/* A fake libcuda.so.1 for the tests: no GPU, just bookkeeping with the real driver's interface
 * shape.
 *   - cuGetProcAddress (11.3 ABI, 4 arguments) and cuGetProcAddress_v2 (12.0 ABI, 5 arguments)
 *     serve an internal table of (base name, version it was introduced at, function, per-thread
 *     twin); the newest entry at or below the requested version wins, a version above the
 *     driver's is CUDA_ERROR_INVALID_VALUE, as documented.
 *   - Most allocation functions are NOT exported: only the table reaches them (cuMemAlloc_v2,
 *     cuMemFree_v2 and the VMM calls are exported too, for programs that dlsym them).
 *   - cuMemAlloc has its 32-bit v1 (2000) and v2 (3020) ABIs; FAKE_CUDA_FUTURE_ABI=1 adds a v3 at
 *     13000 with a third argument, an ABI memshim must not recognise.
 *   - Stream-ordered pools keep freed bytes reserved until trimmed; VMM physical memory lives
 *     until released and unmapped; host-pinned memory is real host memory.
 * Environment: FAKE_CUDA_DEVICES (1), FAKE_CUDA_MEM (bytes per device, 16 GiB),
 * FAKE_CUDA_CONTEXT_BYTES (a primary context's own use, 254 MiB as in seed 003),
 * FAKE_CUDA_VERSION (12040; 13000 = CUDA 13 mode), FAKE_CUDA_ORDINAL_SHIFT (CUDA ordinal i is
 * NVML device (i + shift) % n). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_cuda.h"

#define API __attribute__((visibility("default")))
#define MAXDEV 8

/* ---- configuration and state ---- */

static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;
static int cfg_ndev = 1, cfg_version = 12040, cfg_future, cfg_shift;
static unsigned long long cfg_mem = 16ull << 30, cfg_ctx = 254ull << 20;

static unsigned long long env_ull(const char *name, unsigned long long dflt) {
  const char *v = getenv(name);
  return v && *v ? strtoull(v, NULL, 0) : dflt;
}
static void cfg_load(void) {
  cfg_ndev = (int)env_ull("FAKE_CUDA_DEVICES", 1);
  if (cfg_ndev < 1 || cfg_ndev > MAXDEV) cfg_ndev = 1;
  cfg_mem = env_ull("FAKE_CUDA_MEM", 16ull << 30);
  cfg_ctx = env_ull("FAKE_CUDA_CONTEXT_BYTES", 254ull << 20);
  cfg_version = (int)env_ull("FAKE_CUDA_VERSION", 12040);
  cfg_future = (int)env_ull("FAKE_CUDA_FUTURE_ABI", 0);
  cfg_shift = (int)env_ull("FAKE_CUDA_ORDINAL_SHIFT", 0);
}
static void cfg(void) { pthread_once(&cfg_once, cfg_load); }

struct fake_ctx {
  int dev;
};
struct fake_pool {
  int dev;
  unsigned long long reserved;
};

typedef struct {
  unsigned long long ptr, size;
  int dev, kind; /* 0 sync, 1 async, 2 managed, 3 pinned, 4 v1 */
  struct fake_pool *pool;
} block;
typedef struct {
  unsigned long long handle, size;
  int dev, released, maps;
} phys;
typedef struct {
  unsigned long long va, size, handle;
} mapping;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int initialized;
static struct fake_ctx ctxs[MAXDEV];
static int ctx_exists[MAXDEV];
static struct fake_pool default_pools[MAXDEV];
static unsigned long long dev_used[MAXDEV]; /* everything: context, live, reserved, physical */
static unsigned long long next_ptr[MAXDEV], next_va = 0x7e0000000000ull, next_handle = 0x1000;
static block *blocks;
static size_t nblocks, capblocks;
static phys physs[4096];
static size_t nphys;
static mapping maps[4096];
static size_t nmaps;
static fakecuda_stats_t stats;
static __thread struct fake_ctx *current;

static block *block_find(unsigned long long p) {
  for (size_t i = 0; i < nblocks; i++)
    if (blocks[i].ptr == p) return &blocks[i];
  return NULL;
}
static void block_add(block b) {
  if (nblocks == capblocks) {
    capblocks = capblocks ? capblocks * 2 : 256;
    blocks = realloc(blocks, capblocks * sizeof *blocks);
  }
  blocks[nblocks++] = b;
}
static void block_del(block *b) { *b = blocks[--nblocks]; }

static CUresult need_ctx(void) {
  cfg();
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  return current ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

/* Reserve device bytes on dev (locked); 0 or CUDA_ERROR_OUT_OF_MEMORY. */
static CUresult take(int dev, unsigned long long n) {
  if (dev_used[dev] + n > cfg_mem) return CUDA_ERROR_OUT_OF_MEMORY;
  dev_used[dev] += n;
  return CUDA_SUCCESS;
}
static unsigned long long new_ptr(int dev, unsigned long long n) {
  if (!next_ptr[dev]) next_ptr[dev] = 0x700000000000ull + ((unsigned long long)dev << 40);
  unsigned long long p = next_ptr[dev];
  next_ptr[dev] += (n + 4095) & ~4095ull;
  if (next_ptr[dev] == p) next_ptr[dev] += 4096;
  return p;
}

/* ---- initialisation, devices, contexts ---- */

API CUresult cuInit(unsigned flags) {
  (void)flags;
  cfg();
  pthread_mutex_lock(&mu);
  stats.cuinit_calls++;
  initialized = 1;
  pthread_mutex_unlock(&mu);
  return CUDA_SUCCESS;
}
API CUresult cuDriverGetVersion(int *v) {
  cfg();
  if (!v) return CUDA_ERROR_INVALID_VALUE;
  *v = cfg_version;
  return CUDA_SUCCESS;
}
API CUresult cuDeviceGetCount(int *n) {
  cfg();
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  *n = cfg_ndev;
  return CUDA_SUCCESS;
}
API CUresult cuDeviceGet(CUdevice *d, int ordinal) {
  cfg();
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (ordinal < 0 || ordinal >= cfg_ndev) return CUDA_ERROR_INVALID_DEVICE;
  *d = ordinal;
  return CUDA_SUCCESS;
}
/* NVML device j's UUID; CUDA ordinal i is NVML device (i + shift) % n. fake_nvml.c uses the same. */
static void uuid_of_nvml(int j, unsigned char b[16]) {
  for (int k = 0; k < 16; k++) b[k] = (unsigned char)(0x10 * (k % 16) + j);
}
static CUresult device_get_uuid(CUuuid *u, CUdevice d) {
  cfg();
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (d < 0 || d >= cfg_ndev || !u) return CUDA_ERROR_INVALID_DEVICE;
  uuid_of_nvml((d + cfg_shift) % cfg_ndev, u->bytes);
  return CUDA_SUCCESS;
}
static CUresult device_get_uuid_v2(CUuuid *u, CUdevice d) { return device_get_uuid(u, d); }
static CUresult device_get_name(char *name, int len, CUdevice d) {
  snprintf(name, (size_t)len, "Fake GPU (CUDA %d)", d);
  return CUDA_SUCCESS;
}
static CUresult primary_ctx_retain(CUcontext *c, CUdevice d) {
  cfg();
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (d < 0 || d >= cfg_ndev) return CUDA_ERROR_INVALID_DEVICE;
  pthread_mutex_lock(&mu);
  if (!ctx_exists[d]) {
    ctx_exists[d] = 1;
    ctxs[d].dev = d;
    default_pools[d].dev = d;
    dev_used[d] += cfg_ctx;
    stats.contexts_created++;
  }
  pthread_mutex_unlock(&mu);
  *c = &ctxs[d];
  return CUDA_SUCCESS;
}
static CUresult ctx_set_current(CUcontext c) {
  current = c;
  return CUDA_SUCCESS;
}
static CUresult ctx_get_current(CUcontext *c) {
  *c = current;
  return CUDA_SUCCESS;
}
static CUresult ctx_get_device(CUdevice *d) {
  CUresult r = need_ctx();
  if (r) return r;
  *d = current->dev;
  return CUDA_SUCCESS;
}
static CUresult mem_get_info(size_t *free_b, size_t *total) {
  pthread_mutex_lock(&mu);
  stats.memgetinfo_calls++;
  pthread_mutex_unlock(&mu);
  CUresult r = need_ctx();
  if (r) return r;
  *total = cfg_mem;
  *free_b = cfg_mem - dev_used[current->dev];
  return CUDA_SUCCESS;
}
static const int export_table_dummy[4];
API CUresult cuGetExportTable(const void **table, const CUuuid *id) {
  (void)id;
  *table = export_table_dummy;
  return CUDA_SUCCESS;
}
static CUresult get_error_string(CUresult e, const char **s) {
  *s = e == CUDA_ERROR_OUT_OF_MEMORY ? "out of memory" : e ? "error" : "no error";
  return CUDA_SUCCESS;
}

/* ---- device memory ---- */

static CUresult alloc_block(CUdeviceptr *p, unsigned long long n, int kind, struct fake_pool *pool) {
  CUresult r = need_ctx();
  if (r) return r;
  if (!p) return CUDA_ERROR_INVALID_VALUE;
  int dev = pool ? pool->dev : current->dev;
  pthread_mutex_lock(&mu);
  unsigned long long reuse = 0;
  if (pool) reuse = pool->reserved < n ? pool->reserved : n;
  r = take(dev, n - reuse);
  if (r == CUDA_SUCCESS) {
    if (pool) {
      pool->reserved -= reuse;
      stats.pool_reserved -= reuse;
    }
    *p = new_ptr(dev, n);
    block_add((block){*p, n, dev, kind, pool});
    stats.live_bytes += n;
  }
  pthread_mutex_unlock(&mu);
  return r;
}

API CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) { return alloc_block(p, n, 0, NULL); }
static CUresult mem_alloc_v1(unsigned int *p, unsigned int n) {
  CUdeviceptr wide;
  CUresult r = alloc_block(&wide, n, 4, NULL);
  if (r == CUDA_SUCCESS) {
    *p = (unsigned int)(wide & 0xffffffffu);
    pthread_mutex_lock(&mu);
    stats.v1_allocs++;
    pthread_mutex_unlock(&mu);
  }
  return r;
}
static CUresult mem_alloc_v3(CUdeviceptr *p, size_t n, unsigned long long flags) {
  if (flags != FAKE_CUDA_V3_MAGIC) return CUDA_ERROR_INVALID_VALUE;
  CUresult r = alloc_block(p, n, 0, NULL);
  if (r == CUDA_SUCCESS) {
    pthread_mutex_lock(&mu);
    stats.v3_allocs++;
    pthread_mutex_unlock(&mu);
  }
  return r;
}
static CUresult mem_alloc_pitch(CUdeviceptr *p, size_t *pitch, size_t w, size_t h, unsigned elem) {
  (void)elem;
  size_t pt = (w + 511) & ~(size_t)511;
  CUresult r = alloc_block(p, (unsigned long long)pt * h, 0, NULL);
  if (r == CUDA_SUCCESS) *pitch = pt;
  return r;
}
static CUresult mem_alloc_managed(CUdeviceptr *p, size_t n, unsigned flags) {
  (void)flags;
  return alloc_block(p, n, 2, NULL);
}

static CUresult free_block(CUdeviceptr p, int to_pool) {
  CUresult r = need_ctx();
  if (r) return r;
  pthread_mutex_lock(&mu);
  block *b = block_find(p);
  if (!b || b->kind == 3) {
    pthread_mutex_unlock(&mu);
    return CUDA_ERROR_INVALID_VALUE;
  }
  stats.live_bytes -= b->size;
  if (to_pool && b->pool) {
    b->pool->reserved += b->size;
    stats.pool_reserved += b->size;
  } else {
    dev_used[b->dev] -= b->size;
  }
  block_del(b);
  pthread_mutex_unlock(&mu);
  return CUDA_SUCCESS;
}
API CUresult cuMemFree_v2(CUdeviceptr p) { return free_block(p, 0); }

/* ---- host-pinned ---- */

static CUresult host_alloc(void **pp, size_t n) {
  CUresult r = need_ctx();
  if (r) return r;
  void *p = malloc(n ? n : 1);
  if (!p) return CUDA_ERROR_OUT_OF_MEMORY;
  pthread_mutex_lock(&mu);
  block_add((block){(unsigned long long)(uintptr_t)p, n, current->dev, 3, NULL});
  stats.pinned_bytes += n;
  pthread_mutex_unlock(&mu);
  *pp = p;
  return CUDA_SUCCESS;
}
static CUresult mem_alloc_host(void **pp, size_t n) { return host_alloc(pp, n); }
static CUresult mem_host_alloc(void **pp, size_t n, unsigned flags) {
  (void)flags;
  return host_alloc(pp, n);
}
static CUresult mem_free_host(void *p) {
  pthread_mutex_lock(&mu);
  block *b = block_find((unsigned long long)(uintptr_t)p);
  if (!b || b->kind != 3) {
    pthread_mutex_unlock(&mu);
    return CUDA_ERROR_INVALID_VALUE;
  }
  stats.pinned_bytes -= b->size;
  block_del(b);
  pthread_mutex_unlock(&mu);
  free(p);
  return CUDA_SUCCESS;
}

/* ---- stream-ordered pools (each function has a per-thread-stream twin, as the driver does) ---- */

static CUresult mem_alloc_async(CUdeviceptr *p, size_t n, CUstream s) {
  (void)s;
  if (need_ctx()) return need_ctx();
  return alloc_block(p, n, 1, &default_pools[current->dev]);
}
static CUresult mem_alloc_async_ptsz(CUdeviceptr *p, size_t n, CUstream s) { return mem_alloc_async(p, n, s); }
static CUresult mem_alloc_from_pool_async(CUdeviceptr *p, size_t n, CUmemoryPool pool, CUstream s) {
  (void)s;
  return alloc_block(p, n, 1, pool);
}
static CUresult mem_alloc_from_pool_async_ptsz(CUdeviceptr *p, size_t n, CUmemoryPool pool, CUstream s) {
  return mem_alloc_from_pool_async(p, n, pool, s);
}
static CUresult mem_free_async(CUdeviceptr p, CUstream s) {
  (void)s;
  return free_block(p, 1);
}
static CUresult mem_free_async_ptsz(CUdeviceptr p, CUstream s) { return mem_free_async(p, s); }
static CUresult mem_pool_trim_to(CUmemoryPool pool, size_t keep) {
  if (!pool) return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&mu);
  if (pool->reserved > keep) {
    unsigned long long drop = pool->reserved - keep;
    pool->reserved = keep;
    stats.pool_reserved -= drop;
    dev_used[pool->dev] -= drop;
  }
  pthread_mutex_unlock(&mu);
  return CUDA_SUCCESS;
}
static CUresult device_get_default_mem_pool(CUmemoryPool *pool, CUdevice d) {
  cfg();
  if (d < 0 || d >= cfg_ndev) return CUDA_ERROR_INVALID_DEVICE;
  default_pools[d].dev = d;
  *pool = &default_pools[d];
  return CUDA_SUCCESS;
}

/* ---- virtual memory management ---- */

API CUresult cuMemCreate(CUmemGenericAllocationHandle *h, size_t n, const CUmemAllocationProp *prop, unsigned long long f) {
  (void)f;
  CUresult r = need_ctx();
  if (r) return r;
  if (!prop || prop->location.type != CU_MEM_LOCATION_TYPE_DEVICE || prop->location.id < 0 || prop->location.id >= cfg_ndev)
    return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&mu);
  r = take(prop->location.id, n);
  if (r == CUDA_SUCCESS) {
    physs[nphys] = (phys){next_handle++, n, prop->location.id, 0, 0};
    *h = physs[nphys++].handle;
    stats.live_bytes += n;
  }
  pthread_mutex_unlock(&mu);
  return r;
}
static phys *phys_find(unsigned long long h) {
  for (size_t i = 0; i < nphys; i++)
    if (physs[i].handle == h) return &physs[i];
  return NULL;
}
static void phys_drop(phys *p) {
  dev_used[p->dev] -= p->size;
  stats.live_bytes -= p->size;
  *p = physs[--nphys];
}
API CUresult cuMemRelease(CUmemGenericAllocationHandle h) {
  pthread_mutex_lock(&mu);
  phys *p = phys_find(h);
  if (p) {
    p->released = 1;
    if (!p->maps) phys_drop(p);
  }
  pthread_mutex_unlock(&mu);
  return p ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
API CUresult cuMemAddressReserve(CUdeviceptr *ptr, size_t n, size_t align, CUdeviceptr addr, unsigned long long f) {
  (void)align, (void)addr, (void)f;
  pthread_mutex_lock(&mu);
  *ptr = next_va;
  next_va += (n + (2u << 20) - 1) & ~((2ull << 20) - 1);
  pthread_mutex_unlock(&mu);
  return CUDA_SUCCESS;
}
API CUresult cuMemAddressFree(CUdeviceptr ptr, size_t n) {
  (void)ptr, (void)n;
  return CUDA_SUCCESS;
}
API CUresult cuMemMap(CUdeviceptr va, size_t n, size_t off, CUmemGenericAllocationHandle h, unsigned long long f) {
  (void)off, (void)f;
  pthread_mutex_lock(&mu);
  phys *p = phys_find(h);
  if (p) {
    p->maps++;
    maps[nmaps++] = (mapping){va, n, h};
  }
  pthread_mutex_unlock(&mu);
  return p ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
API CUresult cuMemUnmap(CUdeviceptr va, size_t n) {
  pthread_mutex_lock(&mu);
  int found = 0;
  for (size_t i = 0; i < nmaps;) {
    if (maps[i].va >= va && maps[i].va < va + n) {
      phys *p = phys_find(maps[i].handle);
      if (p && --p->maps == 0 && p->released) phys_drop(p);
      maps[i] = maps[--nmaps];
      found = 1;
      continue;
    }
    i++;
  }
  pthread_mutex_unlock(&mu);
  return found ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
API CUresult cuMemSetAccess(CUdeviceptr va, size_t n, const void *desc, size_t count) {
  (void)va, (void)n, (void)desc, (void)count;
  return CUDA_SUCCESS;
}

/* ---- cuGetProcAddress ---- */

API CUresult cuGetProcAddress(const char *sym, void **pfn, int version, unsigned long long flags);
API CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int version, unsigned long long flags, int *status);

static const struct {
  const char *name;
  int version;
  void *fn, *ptsz;
  int future; /* only with FAKE_CUDA_FUTURE_ABI=1 */
} table[] = {
  {"cuInit", 2000, (void *)cuInit, NULL, 0},
  {"cuDriverGetVersion", 2020, (void *)cuDriverGetVersion, NULL, 0},
  {"cuGetProcAddress", 11030, (void *)cuGetProcAddress, NULL, 0},
  {"cuGetProcAddress", 12000, (void *)cuGetProcAddress_v2, NULL, 0},
  {"cuGetExportTable", 3000, (void *)cuGetExportTable, NULL, 0},
  {"cuGetErrorString", 6000, (void *)get_error_string, NULL, 0},
  {"cuDeviceGet", 2000, (void *)cuDeviceGet, NULL, 0},
  {"cuDeviceGetCount", 2000, (void *)cuDeviceGetCount, NULL, 0},
  {"cuDeviceGetName", 2000, (void *)device_get_name, NULL, 0},
  {"cuDeviceGetUuid", 9020, (void *)device_get_uuid, NULL, 0},
  {"cuDeviceGetUuid", 11040, (void *)device_get_uuid_v2, NULL, 0},
  {"cuDevicePrimaryCtxRetain", 7000, (void *)primary_ctx_retain, NULL, 0},
  {"cuCtxSetCurrent", 4000, (void *)ctx_set_current, NULL, 0},
  {"cuCtxGetCurrent", 4000, (void *)ctx_get_current, NULL, 0},
  {"cuCtxGetDevice", 2000, (void *)ctx_get_device, NULL, 0},
  {"cuMemGetInfo", 3020, (void *)mem_get_info, NULL, 0},
  {"cuMemAlloc", 2000, (void *)mem_alloc_v1, NULL, 0},
  {"cuMemAlloc", 3020, (void *)cuMemAlloc_v2, NULL, 0},
  {"cuMemAlloc", 13000, (void *)mem_alloc_v3, NULL, 1},
  {"cuMemAllocPitch", 3020, (void *)mem_alloc_pitch, NULL, 0},
  {"cuMemFree", 3020, (void *)cuMemFree_v2, NULL, 0},
  {"cuMemAllocManaged", 6000, (void *)mem_alloc_managed, NULL, 0},
  {"cuMemAllocHost", 3020, (void *)mem_alloc_host, NULL, 0},
  {"cuMemHostAlloc", 2020, (void *)mem_host_alloc, NULL, 0},
  {"cuMemFreeHost", 2000, (void *)mem_free_host, NULL, 0},
  {"cuMemAllocAsync", 11020, (void *)mem_alloc_async, (void *)mem_alloc_async_ptsz, 0},
  {"cuMemAllocFromPoolAsync", 11020, (void *)mem_alloc_from_pool_async, (void *)mem_alloc_from_pool_async_ptsz, 0},
  {"cuMemFreeAsync", 11020, (void *)mem_free_async, (void *)mem_free_async_ptsz, 0},
  {"cuMemPoolTrimTo", 11020, (void *)mem_pool_trim_to, NULL, 0},
  {"cuDeviceGetDefaultMemPool", 11020, (void *)device_get_default_mem_pool, NULL, 0},
  {"cuMemCreate", 10020, (void *)cuMemCreate, NULL, 0},
  {"cuMemRelease", 10020, (void *)cuMemRelease, NULL, 0},
  {"cuMemMap", 10020, (void *)cuMemMap, NULL, 0},
  {"cuMemUnmap", 10020, (void *)cuMemUnmap, NULL, 0},
  {"cuMemAddressReserve", 10020, (void *)cuMemAddressReserve, NULL, 0},
  {"cuMemAddressFree", 10020, (void *)cuMemAddressFree, NULL, 0},
  {"cuMemSetAccess", 10020, (void *)cuMemSetAccess, NULL, 0},
};

static CUresult lookup(const char *sym, void **pfn, int version, unsigned long long flags, int *status) {
  cfg();
  int st = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND, best = -1;
  *pfn = NULL;
  if (version > cfg_version) {
    if (status) *status = st;
    return CUDA_ERROR_INVALID_VALUE;
  }
  for (int i = 0; i < (int)(sizeof table / sizeof table[0]); i++) {
    if (strcmp(table[i].name, sym) != 0 || (table[i].future && !cfg_future)) continue;
    if (table[i].version > version) {
      if (best < 0) st = CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT;
      continue;
    }
    if (best < 0 || table[i].version > table[best].version) best = i;
  }
  if (best >= 0) {
    *pfn = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) && table[best].ptsz ? table[best].ptsz : table[best].fn;
    st = CU_GET_PROC_ADDRESS_SUCCESS;
  }
  if (status) *status = st;
  return best >= 0 ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

API CUresult cuGetProcAddress(const char *sym, void **pfn, int version, unsigned long long flags) {
  pthread_mutex_lock(&mu);
  stats.gpa4_calls++;
  pthread_mutex_unlock(&mu);
  return lookup(sym, pfn, version, flags, NULL);
}
API CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int version, unsigned long long flags, int *status) {
  pthread_mutex_lock(&mu);
  stats.gpa5_calls++;
  pthread_mutex_unlock(&mu);
  return lookup(sym, pfn, version, flags, status);
}

/* ---- test hooks (not CUDA names: memshim's dlsym hook never looks at them) ---- */

API void fakecuda_stats(fakecuda_stats_t *out) {
  pthread_mutex_lock(&mu);
  *out = stats;
  pthread_mutex_unlock(&mu);
}
API int fakecuda_device_count(void) {
  cfg();
  return cfg_ndev;
}
API unsigned long long fakecuda_device_total(void) {
  cfg();
  return cfg_mem;
}
/* Everything this process uses on NVML device j (0 when it has no context there). */
API unsigned long long fakecuda_used_on_nvml(int j) {
  cfg();
  unsigned long long u = 0;
  pthread_mutex_lock(&mu);
  for (int i = 0; i < cfg_ndev; i++)
    if ((i + cfg_shift) % cfg_ndev == j && ctx_exists[i]) u = dev_used[i];
  pthread_mutex_unlock(&mu);
  return u;
}
API void fakecuda_uuid_of_nvml(int j, unsigned char out[16]) { uuid_of_nvml(j, out); }
/* The runtime's teardown at exit (fake_cudart.c, FAKE_CUDART_TEARDOWN=1) destroys every context:
 * NVML stops listing the process, as after the real one. */
static int torn_down;
API void fakecuda_teardown(void) {
  pthread_mutex_lock(&mu);
  memset(ctx_exists, 0, sizeof ctx_exists);
  torn_down = 1;
  pthread_mutex_unlock(&mu);
}
API int fakecuda_torn_down(void) { return __atomic_load_n(&torn_down, __ATOMIC_ACQUIRE); }
