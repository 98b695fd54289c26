/* NVML through dlopen (see nvml.h). The process list comes in three struct layouts:
 *   nvmlDeviceGetComputeRunningProcesses      v1: pid, usedGpuMemory                 (16 bytes)
 *   nvmlDeviceGetComputeRunningProcesses_v2   v2: + gpuInstanceId, computeInstanceId (24 bytes)
 *   nvmlDeviceGetComputeRunningProcesses_v3   v3: + usedGpuCcProtectedMemory          (32 bytes)
 * but drivers that also export nvmlDeviceGetRunningProcessDetailList (the confidential-computing
 * figures moved there) fill _v3 with the 24-byte layout again; only a library with
 * nvmlDeviceGetConfComputeMemSizeInfo and without that call uses 32 bytes (as nvitop decides).
 * The newest call the library has is used, with the stride that goes with it. */
#include "nvml.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "../util/log.h"
#include "../util/raw_mem.h"
#include "dl.h"

typedef void *ms_nvml_device;
typedef int (*ms_nvml_init_fn)(void);
typedef int (*ms_nvml_count_fn)(unsigned *);
typedef int (*ms_nvml_handle_fn)(unsigned, ms_nvml_device *);
typedef int (*ms_nvml_str_fn)(ms_nvml_device, char *, unsigned);
typedef int (*ms_nvml_memory_fn)(ms_nvml_device, uint64_t *); /* nvmlMemory_t: total, free, used */
typedef int (*ms_nvml_procs_fn)(ms_nvml_device, unsigned *, void *);

enum { MS_NVML_OK = 0, MS_NVML_INSUFFICIENT_SIZE = 7 };

static pthread_once_t ms_nvml_once = PTHREAD_ONCE_INIT;
static bool ms_nvml_ok;
static ms_nvml_count_fn ms_nvml_count;
static ms_nvml_handle_fn ms_nvml_handle;
static ms_nvml_str_fn ms_nvml_get_name, ms_nvml_get_uuid;
static ms_nvml_memory_fn ms_nvml_get_memory;
static ms_nvml_procs_fn ms_nvml_get_procs;
static unsigned ms_nvml_proc_stride;
static const char *ms_nvml_proc_api = "none";

static void ms_nvml_load(void) {
  void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    ms_log_debug("gpu: libnvidia-ml.so.1 not found: no device totals or per-process NVML figures");
    return;
  }
  ms_nvml_init_fn init = (ms_nvml_init_fn)ms_dl_sym(h, "nvmlInit_v2");
  if (!init) init = (ms_nvml_init_fn)ms_dl_sym(h, "nvmlInit");
  ms_nvml_count = (ms_nvml_count_fn)ms_dl_sym(h, "nvmlDeviceGetCount_v2");
  if (!ms_nvml_count) ms_nvml_count = (ms_nvml_count_fn)ms_dl_sym(h, "nvmlDeviceGetCount");
  ms_nvml_handle = (ms_nvml_handle_fn)ms_dl_sym(h, "nvmlDeviceGetHandleByIndex_v2");
  if (!ms_nvml_handle) ms_nvml_handle = (ms_nvml_handle_fn)ms_dl_sym(h, "nvmlDeviceGetHandleByIndex");
  ms_nvml_get_name = (ms_nvml_str_fn)ms_dl_sym(h, "nvmlDeviceGetName");
  ms_nvml_get_uuid = (ms_nvml_str_fn)ms_dl_sym(h, "nvmlDeviceGetUUID");
  ms_nvml_get_memory = (ms_nvml_memory_fn)ms_dl_sym(h, "nvmlDeviceGetMemoryInfo");
  if ((ms_nvml_get_procs = (ms_nvml_procs_fn)ms_dl_sym(h, "nvmlDeviceGetComputeRunningProcesses_v3"))) {
    bool cc32 = ms_dl_sym(h, "nvmlDeviceGetConfComputeMemSizeInfo") && !ms_dl_sym(h, "nvmlDeviceGetRunningProcessDetailList");
    ms_nvml_proc_stride = cc32 ? 32 : 24;
    ms_nvml_proc_api = cc32 ? "v3 (32-byte entries)" : "v3 (24-byte entries)";
  } else if ((ms_nvml_get_procs = (ms_nvml_procs_fn)ms_dl_sym(h, "nvmlDeviceGetComputeRunningProcesses_v2"))) {
    ms_nvml_proc_stride = 24;
    ms_nvml_proc_api = "v2 (24-byte entries)";
  } else if ((ms_nvml_get_procs = (ms_nvml_procs_fn)ms_dl_sym(h, "nvmlDeviceGetComputeRunningProcesses"))) {
    ms_nvml_proc_stride = 16;
    ms_nvml_proc_api = "v1 (16-byte entries)";
  }
  if (!init || !ms_nvml_count || !ms_nvml_handle || !ms_nvml_get_memory || init() != MS_NVML_OK) {
    ms_log_debug("gpu: NVML did not initialise: no device totals or per-process NVML figures");
    dlclose(h);
    return;
  }
  ms_nvml_ok = true;
  ms_log_debug("gpu: NVML loaded; process list %s", ms_nvml_proc_api);
}

bool ms_nvml_ready(void) {
  pthread_once(&ms_nvml_once, ms_nvml_load);
  return ms_nvml_ok;
}

static bool ms_nvml_dev(unsigned index, ms_nvml_device *d) {
  return ms_nvml_ready() && ms_nvml_handle(index, d) == MS_NVML_OK;
}

int ms_nvml_index_by_uuid(const char *uuid) {
  unsigned n = 0;
  if (!ms_nvml_ready() || !ms_nvml_get_uuid || ms_nvml_count(&n) != MS_NVML_OK) return -1;
  for (unsigned i = 0; i < n; i++) {
    ms_nvml_device d;
    char buf[96];
    if (ms_nvml_dev(i, &d) && ms_nvml_get_uuid(d, buf, sizeof buf) == MS_NVML_OK && strcmp(buf, uuid) == 0) return (int)i;
  }
  return -1;
}

bool ms_nvml_name(unsigned index, char *buf, unsigned len) {
  ms_nvml_device d;
  buf[0] = 0;
  return ms_nvml_get_name && ms_nvml_dev(index, &d) && ms_nvml_get_name(d, buf, len) == MS_NVML_OK;
}

bool ms_nvml_memory(unsigned index, uint64_t *total, uint64_t *used) {
  ms_nvml_device d;
  uint64_t m[3];
  if (!ms_nvml_dev(index, &d) || ms_nvml_get_memory(d, m) != MS_NVML_OK) return false;
  *total = m[0];
  *used = m[2];
  return true;
}

int ms_nvml_process_used(unsigned index, uint32_t pid, uint64_t *used) {
  ms_nvml_device d;
  if (!ms_nvml_get_procs || !ms_nvml_dev(index, &d)) return -1;
  unsigned count = 0;
  int rc = ms_nvml_get_procs(d, &count, NULL);
  if (rc == MS_NVML_OK) return 0; /* no process at all */
  if (rc != MS_NVML_INSUFFICIENT_SIZE) return -1;
  for (int attempt = 0; attempt < 3; attempt++) {
    unsigned cap = count * 2 + 8; /* processes may start between the two calls */
    size_t bytes = (size_t)cap * ms_nvml_proc_stride;
    unsigned char *buf = ms_raw_alloc(bytes);
    if (!buf) return -1;
    count = cap;
    rc = ms_nvml_get_procs(d, &count, buf);
    int found = rc == MS_NVML_OK ? 0 : -1;
    for (unsigned i = 0; rc == MS_NVML_OK && i < count; i++) {
      uint32_t p;
      uint64_t u;
      memcpy(&p, buf + (size_t)i * ms_nvml_proc_stride, sizeof p);
      memcpy(&u, buf + (size_t)i * ms_nvml_proc_stride + 8, sizeof u);
      if (p == pid) {
        *used = u;
        found = u == UINT64_MAX ? -1 : 1; /* NVML_VALUE_NOT_AVAILABLE */
        break;
      }
    }
    ms_raw_free(buf, bytes);
    if (rc != MS_NVML_INSUFFICIENT_SIZE) return found;
  }
  return -1;
}
