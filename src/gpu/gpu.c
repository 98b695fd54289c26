/* What the entry points call: call sites, recording an allocation; fork and exit. */
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
#include "../util/exit_arm.h"
#include "../util/guard.h"
#include "../util/log.h"
#include "driver.h"
#include "gpu_internal.h"
#include "pressure.h"

static bool ms_gpu_exit_written;

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
  /* The runtime registered its teardown before its first allocation returned: an exit handler
   * registered now runs before it (core/init.c's sequence runs ms_gpu_exit from it). */
  if (ptr) ms_exit_arm(MS_EXIT_AFTER_CUDA);
  if (kind != MS_GPU_PINNED) ms_gpu_after_alloc(dev);
}

/* ---- fork and exit ---- */

void ms_gpu_atfork_child(void) {
  pthread_mutex_init(&ms_gpu_mu, NULL);
  ms_cu_driver_atfork_child();
  ms_gpu_track_reset_locked();
  ms_gpu_pressure_reset_locked();
  ms_gpu_exit_written = false; /* the child writes its own */
}

/* With the profiler off and no MEMSHIM_REPORT, the core writes no exit report: this one does. */
static void ms_gpu_write_exit_report(void) {
  if (ms_gpu_reports_active() || !__atomic_load_n(&ms_gpu_allocated, __ATOMIC_ACQUIRE) ||
      __atomic_exchange_n(&ms_gpu_exit_written, true, __ATOMIC_ACQ_REL))
    return;
  ms_gpu_report_now("exit");
}

/* exit(): from the handler armed at the first allocation, so before the runtime destroys its
 * contexts and while NVML still lists the process. A later exit report (the core's) takes the
 * figures read here. */
void ms_gpu_exit(void) {
  ms_gpu_refresh_used(true);
  __atomic_store_n(&ms_gpu_nvml_frozen, true, __ATOMIC_RELEASE);
  ms_gpu_write_exit_report();
}

/* Destructor: a process that ends without exit() handlers (the library unloaded) still gets its
 * report, from the figures last read. */
void ms_gpu_at_exit(void) {
  __atomic_store_n(&ms_gpu_nvml_frozen, true, __ATOMIC_RELEASE);
  ms_gpu_write_exit_report();
}
