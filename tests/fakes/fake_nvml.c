/* A fake libnvidia-ml.so.1. Devices, totals and UUIDs follow the fake driver's environment
 * (FAKE_CUDA_DEVICES, FAKE_CUDA_MEM); this process's figure comes from the fake libcuda.so.1 when it
 * is loaded (its use includes the context's own 254 MiB: the residual a tracker cannot see).
 * The compute-process list holds another process first (pid 1, FAKE_NVML_OTHER_USED bytes, 1 GiB),
 * then this one, so that a reader with the wrong entry size misreads this process's entry.
 * FAKE_NVML_PID_SHIFT lists this process under another pid (a container's PID namespace).
 *
 * Built four times, one layout of the process list each (-DFAKE_NVML_PROCS=):
 *   3  _v3 with 32-byte entries (exports nvmlDeviceGetConfComputeMemSizeInfo, no detail list)
 *   4  _v3 with 24-byte entries (also exports nvmlDeviceGetRunningProcessDetailList)
 *   2  _v2 only (24 bytes), 1  the unversioned v1 only (16 bytes). */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define API __attribute__((visibility("default")))

enum { NVML_SUCCESS = 0, NVML_ERROR_INVALID_ARGUMENT = 2, NVML_ERROR_INSUFFICIENT_SIZE = 7, NVML_ERROR_UNINITIALIZED = 1 };

static int inited;

static unsigned long long env_ull(const char *name, unsigned long long dflt) {
  const char *v = getenv(name);
  return v && *v ? strtoull(v, NULL, 0) : dflt;
}
static unsigned ndev(void) { return (unsigned)env_ull("FAKE_CUDA_DEVICES", 1); }

static unsigned long long ours_on(unsigned j) {
  void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (!h) return 0;
  unsigned long long (*f)(int) = (unsigned long long (*)(int))dlsym(h, "fakecuda_used_on_nvml");
  unsigned long long u = f ? f((int)j) : 0;
  dlclose(h);
  return u;
}

API int nvmlInit_v2(void) {
  inited = 1;
  return NVML_SUCCESS;
}
API int nvmlInit(void) { return nvmlInit_v2(); }
API int nvmlShutdown(void) {
  inited = 0;
  return NVML_SUCCESS;
}
API int nvmlDeviceGetCount_v2(unsigned *n) {
  if (!inited) return NVML_ERROR_UNINITIALIZED;
  *n = ndev();
  return NVML_SUCCESS;
}
API int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **dev) {
  if (!inited) return NVML_ERROR_UNINITIALIZED;
  if (i >= ndev()) return NVML_ERROR_INVALID_ARGUMENT;
  *dev = (void *)(uintptr_t)(i + 1);
  return NVML_SUCCESS;
}
static unsigned idx(void *dev) { return (unsigned)((uintptr_t)dev - 1); }
API int nvmlDeviceGetName(void *dev, char *buf, unsigned len) {
  snprintf(buf, len, "Fake GPU %u", idx(dev));
  return NVML_SUCCESS;
}
API int nvmlDeviceGetUUID(void *dev, char *buf, unsigned len) {
  unsigned char b[16];
  unsigned j = idx(dev);
  for (int k = 0; k < 16; k++) b[k] = (unsigned char)(0x10 * (k % 16) + j); /* as fake_cuda.c */
  snprintf(buf, len, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
           b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return NVML_SUCCESS;
}
API int nvmlDeviceGetMemoryInfo(void *dev, unsigned long long *m) {
  if (!inited) return NVML_ERROR_UNINITIALIZED;
  unsigned long long total = env_ull("FAKE_CUDA_MEM", 16ull << 30);
  unsigned long long used = env_ull("FAKE_NVML_OTHER_USED", 1ull << 30) + ours_on(idx(dev));
  m[0] = total;
  m[1] = used < total ? total - used : 0;
  m[2] = used;
  return NVML_SUCCESS;
}

/* The fake runtime's teardown ran (FAKE_CUDART_TEARDOWN=1): a reader of the process list now
 * comes too late to see this process; said on stderr so that a test can tell. */
static void late_reader(void) {
  void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (!h) return;
  int (*f)(void) = (int (*)(void))dlsym(h, "fakecuda_torn_down");
  if (f && f()) fprintf(stderr, "fake nvml: process list read after the CUDA runtime's teardown\n");
  dlclose(h);
}

static int procs(void *dev, unsigned *count, void *infos, size_t stride) {
  if (!inited) return NVML_ERROR_UNINITIALIZED;
  late_reader();
  unsigned long long ours = ours_on(idx(dev));
  unsigned n = ours ? 2 : 1;
  if (!infos || *count < n) {
    *count = n;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  memset(infos, 0xff, n * stride); /* instance ids: 0xFFFFFFFF without MIG */
  unsigned pids[2] = {1, (unsigned)getpid() + (unsigned)env_ull("FAKE_NVML_PID_SHIFT", 0)};
  unsigned long long used[2] = {env_ull("FAKE_NVML_OTHER_USED", 1ull << 30), ours};
  for (unsigned i = 0; i < n; i++) {
    unsigned char *e = (unsigned char *)infos + i * stride;
    memcpy(e, &pids[i], 4);
    memset(e + 4, 0, 4);
    memcpy(e + 8, &used[i], 8);
    if (stride == 32) memset(e + 24, 0, 8); /* usedGpuCcProtectedMemory */
  }
  *count = n;
  return NVML_SUCCESS;
}

#if FAKE_NVML_PROCS == 3 || FAKE_NVML_PROCS == 4
API int nvmlDeviceGetComputeRunningProcesses_v3(void *dev, unsigned *count, void *infos) {
  return procs(dev, count, infos, FAKE_NVML_PROCS == 3 ? 32 : 24);
}
API int nvmlDeviceGetConfComputeMemSizeInfo(void *dev, void *info) {
  (void)dev, (void)info;
  return NVML_SUCCESS;
}
#endif
#if FAKE_NVML_PROCS == 4
API int nvmlDeviceGetRunningProcessDetailList(void *dev, void *list) {
  (void)dev, (void)list;
  return NVML_SUCCESS;
}
#endif
#if FAKE_NVML_PROCS >= 2
API int nvmlDeviceGetComputeRunningProcesses_v2(void *dev, unsigned *count, void *infos) {
  return procs(dev, count, infos, 24);
}
#endif
API int nvmlDeviceGetComputeRunningProcesses(void *dev, unsigned *count, void *infos) { return procs(dev, count, infos, 16); }
