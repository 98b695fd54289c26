/* GPU tracking's switches, call sites, fork and exit. */
#include "gpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/options.h"
#include "../profile/profile.h"
#include "../profile/profile_internal.h"
#include "../profile/pyframes.h"
#include "../profile/stack_table.h"
#include "../profile/unwind.h"
#include "../util/guard.h"
#include "../util/log.h"
#include "driver.h"
#include "gpu_internal.h"
#include "pressure.h"

static bool ms_gpu_enabled;
static ms_gpu_hooks ms_hooks;
bool ms_gpu_seen_flag;
char ms_gpu_runtime[32];
static bool ms_gpu_static_said;
static bool ms_gpu_cudart_noted; /* ms_gpu_runtime starts with "cudart" (it never loses that) */
bool ms_gpu_nvml_frozen;
static bool ms_gpu_exit_registered, ms_gpu_exit_written;

#define MS_GPU_RT_NAME(id, name, ...) [MS_API_CUDA_##id] = #name,
#define MS_GPU_CU_NAME(id, name, ...) [MS_API_CU_##id] = #name,
static const char *const ms_gpu_api_names[MS_API__COUNT] = {
  MS_CUDA_RUNTIME_FUNCTIONS(MS_GPU_RT_NAME, MS_CUDA_NONE)
  MS_CUDA_DRIVER_FUNCTIONS(MS_GPU_CU_NAME, MS_CUDA_NONE)
};

const char *ms_gpu_api_name(int api) {
  return api >= 0 && api < MS_API__COUNT && ms_gpu_api_names[api] ? ms_gpu_api_names[api] : "?";
}

uint64_t ms_gpu_now_ms(void) { return ms_profile_now_ms(); }

void ms_gpu_init(const ms_gpu_hooks *hooks) {
  ms_hooks = *hooks;
  __atomic_store_n(&ms_gpu_enabled, ms_opt_bool(MS_OPT_GPU), __ATOMIC_RELEASE);
}

bool ms_gpu_on(void) { return __atomic_load_n(&ms_gpu_enabled, __ATOMIC_ACQUIRE); }

bool ms_gpu_report_now(const char *reason) {
  if (!ms_hooks.report_now) return false;
  ms_guard_enter();
  bool r = ms_hooks.report_now(reason);
  ms_guard_leave();
  return r;
}

void ms_gpu_describe_sites(const uint32_t *ids, unsigned n, char (*out)[160]) {
  for (unsigned i = 0; i < n; i++) snprintf(out[i], sizeof out[i], "site %u", ids[i]);
  if (!ms_hooks.describe_sites) return;
  ms_guard_enter();
  ms_hooks.describe_sites(ids, n, out);
  ms_guard_leave();
}

void ms_gpu_seen(void) {
  if (ms_likely(__atomic_load_n(&ms_gpu_seen_flag, __ATOMIC_ACQUIRE))) return;
  __atomic_store_n(&ms_gpu_seen_flag, true, __ATOMIC_RELEASE);
}

/* Called with version 0 on every runtime allocation and driver entry point lookup: once the
 * runtime is known to be a dynamic libcudart, such a call changes nothing and returns without
 * the lock. */
void ms_gpu_note_runtime(int version) {
  if (version == 0 && ms_likely(__atomic_load_n(&ms_gpu_cudart_noted, __ATOMIC_ACQUIRE))) return;
  pthread_mutex_lock(&ms_gpu_mu);
  if (version > 0 && strncmp(ms_gpu_runtime, "cudart ", 7) != 0)
    snprintf(ms_gpu_runtime, sizeof ms_gpu_runtime, "cudart %d.%d", version / 1000, version % 1000 / 10);
  else if (!*ms_gpu_runtime || !strcmp(ms_gpu_runtime, "static"))
    snprintf(ms_gpu_runtime, sizeof ms_gpu_runtime, "cudart");
  __atomic_store_n(&ms_gpu_cudart_noted, true, __ATOMIC_RELEASE); /* both branches leave "cudart..." */
  pthread_mutex_unlock(&ms_gpu_mu);
}

void ms_gpu_note_static_runtime(const char *module) {
  pthread_mutex_lock(&ms_gpu_mu);
  bool say = !ms_gpu_static_said;
  ms_gpu_static_said = true;
  if (strncmp(ms_gpu_runtime, "cudart", 6) != 0) snprintf(ms_gpu_runtime, sizeof ms_gpu_runtime, "static");
  pthread_mutex_unlock(&ms_gpu_mu);
  if (say)
    ms_log_info("gpu: the CUDA runtime is linked statically into %s: its cudaMalloc & co. are not seen, the driver "
                "calls beneath them are; call sites are labelled with driver names",
                module && *module ? module : "the program");
}

/* ---- call sites ---- */

uint32_t ms_gpu_capture_site(void) {
  ms_guard_enter();
  uint32_t id = 0;
  if (ms_unwind_init() == 0) { /* idempotent: loads libunwind the first time stacks are wanted */
    unsigned depth = (unsigned)ms_opt_u64(MS_OPT_STACK_DEPTH);
    if (depth > MS_MAX_DEPTH) depth = MS_MAX_DEPTH;
    uintptr_t frames[MS_MAX_DEPTH];
    unsigned n = ms_py_stack(frames, depth, ms_unwind); /* with Python frames when profiling reads them */
    id = ms_stacks_intern(frames, n);
  }
  ms_guard_leave();
  return id;
}

/* -1 (unknown) needs no mapping here: ms_gpu_dev_index counts it on device 0 wherever dev is used. */
void ms_gpu_record_alloc(int kind, int dev, uint64_t ptr, uint64_t size, uint32_t site, int api, uint64_t pool) {
  if (dev < 0) dev = ms_cu_driver_current_device();
  if (kind == MS_GPU_VMM)
    ms_gpu_vmm_create(dev, ptr, size, site, api);
  else
    ms_gpu_alloc(kind, dev, ptr, size, site, api, pool);
  if (kind != MS_GPU_PINNED) ms_gpu_after_alloc(dev);
}

/* ---- fork and exit ---- */

void ms_gpu_atfork_child(void) {
  pthread_mutex_init(&ms_gpu_mu, NULL);
  ms_cu_driver_atfork_child();
  ms_gpu_track_reset_locked();
  ms_gpu_pressure_reset_locked();
  __atomic_store_n(&ms_gpu_seen_flag, false, __ATOMIC_RELEASE);
  ms_gpu_nvml_frozen = ms_gpu_exit_written = false; /* the exit handler is inherited */
}

/* With the profiler off and no MEMSHIM_REPORT, the core writes no exit report: this one does. */
static void ms_gpu_write_exit_report(void) {
  if ((ms_hooks.reports_active && ms_hooks.reports_active()) || !__atomic_load_n(&ms_gpu_allocated, __ATOMIC_ACQUIRE) ||
      __atomic_exchange_n(&ms_gpu_exit_written, true, __ATOMIC_ACQ_REL))
    return;
  ms_gpu_report_now("exit");
}

/* exit(): registered at the first allocation, after the runtime registered its own teardown, so
 * it runs before the runtime destroys its contexts and NVML still lists the process. A later
 * exit report (the core's) takes the figures read here. */
static void ms_gpu_exit_handler(void) {
  ms_gpu_refresh_used(true);
  __atomic_store_n(&ms_gpu_nvml_frozen, true, __ATOMIC_RELEASE);
  ms_gpu_write_exit_report();
}

void ms_gpu_register_exit(void) {
  if (!__atomic_exchange_n(&ms_gpu_exit_registered, true, __ATOMIC_ACQ_REL)) atexit(ms_gpu_exit_handler);
}

/* Destructor: a process that ends without exit() handlers (the library unloaded) still gets its
 * report, from the figures last read. */
void ms_gpu_at_exit(void) {
  __atomic_store_n(&ms_gpu_nvml_frozen, true, __ATOMIC_RELEASE);
  ms_gpu_write_exit_report();
}
