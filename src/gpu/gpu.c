/* GPU tracking's switches, call sites, fork and exit, and the copy the reports take. */
#include "gpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/options.h"
#include "../core/log.h"
#include "../core/state.h"
#include "../profile/profile.h"
#include "../profile/profile_internal.h"
#include "../profile/stack_table.h"
#include "../profile/unwind.h"
#include "../report/report.h"
#include "../util/raw_mem.h"
#include "driver.h"
#include "gpu_internal.h"
#include "pressure.h"

_Static_assert(MS_GPU_HOLDERS == MS_REPORT_GPU_HOLDERS, "event holders");
_Static_assert(MS_GPU_DEVICES == MS_REPORT_GPU_DEVICES, "devices");

static int ms_gpu_state; /* 0 not decided yet, 1 on, -1 off */
static bool ms_gpu_seen_flag, ms_gpu_source_set;
static char ms_gpu_runtime[32];
static bool ms_gpu_static_said;

static const char *const ms_gpu_api_names[MS_API__COUNT] = {
  [MS_API_CUDA_MALLOC] = "cudaMalloc",
  [MS_API_CUDA_MALLOC_ASYNC] = "cudaMallocAsync",
  [MS_API_CUDA_MALLOC_FROM_POOL_ASYNC] = "cudaMallocFromPoolAsync",
  [MS_API_CUDA_MALLOC_MANAGED] = "cudaMallocManaged",
  [MS_API_CUDA_MALLOC_HOST] = "cudaMallocHost",
  [MS_API_CUDA_HOST_ALLOC] = "cudaHostAlloc",
  [MS_API_CUDA_MALLOC_PITCH] = "cudaMallocPitch",
  [MS_API_CUDA_MALLOC_3D] = "cudaMalloc3D",
  [MS_API_CU_MEM_ALLOC] = "cuMemAlloc",
  [MS_API_CU_MEM_ALLOC_PITCH] = "cuMemAllocPitch",
  [MS_API_CU_MEM_ALLOC_MANAGED] = "cuMemAllocManaged",
  [MS_API_CU_MEM_ALLOC_HOST] = "cuMemAllocHost",
  [MS_API_CU_MEM_HOST_ALLOC] = "cuMemHostAlloc",
  [MS_API_CU_MEM_ALLOC_ASYNC] = "cuMemAllocAsync",
  [MS_API_CU_MEM_ALLOC_FROM_POOL_ASYNC] = "cuMemAllocFromPoolAsync",
  [MS_API_CU_MEM_CREATE] = "cuMemCreate",
};

const char *ms_gpu_api_name(int api) {
  return api >= 0 && api < MS_API__COUNT && ms_gpu_api_names[api] ? ms_gpu_api_names[api] : "?";
}

uint64_t ms_gpu_now_ms(void) { return ms_profile_now_ms(); }

bool ms_gpu_on(void) {
  int s = __atomic_load_n(&ms_gpu_state, __ATOMIC_ACQUIRE);
  if (ms_likely(s)) return s > 0;
  if (!ms_initialized) return false; /* lookups before the constructor pass through */
  s = ms_enabled && ms_opt_bool(MS_OPT_GPU) ? 1 : -1;
  __atomic_store_n(&ms_gpu_state, s, __ATOMIC_RELEASE);
  return s > 0;
}

/* ---- the reports' copy ---- */

static int ms_gpu_site_by_id(const void *a, const void *b) {
  const ms_report_gpu_site *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

static void ms_mem_from(ms_report_mem *m, const ms_gpu_ctr *c) {
  *m = (ms_report_mem){c->live, c->live_count, c->alloc, c->alloc_count, c->peak, 0};
}

static const char *const ms_gpu_event_kinds[] = {"warn", "action", "oom"};

/* After memshim's exit handler ran, NVML is not called again: its library may be finalised
 * before memshim's destructor runs. */
static bool ms_gpu_nvml_frozen, ms_gpu_exit_registered, ms_gpu_exit_written;

static void ms_gpu_refresh_used(bool at_exit) {
  for (int dev = 0; dev < MS_GPU_DEVICES; dev++) {
    pthread_mutex_lock(&ms_gpu_mu);
    bool used = ms_gpu_devs[dev].used;
    pthread_mutex_unlock(&ms_gpu_mu);
    if (used) ms_gpu_nvml_refresh(dev, at_exit);
  }
}

static ms_report_gpu *ms_gpu_collect(uint64_t now_ms, uint64_t warmup_end_ms, bool at_exit) {
  if (!__atomic_load_n(&ms_gpu_seen_flag, __ATOMIC_ACQUIRE)) return NULL;
  if (!(at_exit && __atomic_load_n(&ms_gpu_nvml_frozen, __ATOMIC_ACQUIRE))) ms_gpu_refresh_used(at_exit);
  pthread_mutex_lock(&ms_gpu_mu);
  uint32_t n;
  const uint32_t *ids = ms_gpu_site_list(&n);
  size_t bytes = sizeof(ms_report_gpu) + (size_t)n * sizeof(ms_report_gpu_site);
  ms_report_gpu *g = ms_raw_alloc(bytes);
  if (!g) {
    pthread_mutex_unlock(&ms_gpu_mu);
    return NULL;
  }
  g->source_bytes = bytes;
  g->sites = (ms_report_gpu_site *)(g + 1);
  snprintf(g->runtime, sizeof g->runtime, "%s", *ms_gpu_runtime ? ms_gpu_runtime : "driver only");
  for (int dev = 0; dev < MS_GPU_DEVICES; dev++) {
    const ms_gpu_dev *d = &ms_gpu_devs[dev];
    if (!d->used) continue;
    ms_report_gpu_device *o = &g->devices[g->ndevices++];
    o->index = dev;
    snprintf(o->name, sizeof o->name, "%s", d->name);
    o->nvml_process = d->proc_known;
    o->total_bytes = d->mem_known ? d->total : 0;
    o->tracked_bytes = d->live + d->pool;
    o->pool_reserved_bytes = d->pool;
    o->host_pinned_bytes = d->pinned;
    o->nvml_used_bytes = d->proc_known ? d->proc_used : 0;
    o->residual_bytes = d->proc_known ? (int64_t)d->proc_used - o->tracked_bytes : 0;
    memcpy(o->events_total, d->events_total, sizeof o->events_total);
    g->nvml |= d->mem_known;
  }
  ms_gpu_snapshot_locked(now_ms, true);
  g->tracked_growth = ms_gpu_steady_growth_locked(warmup_end_ms);
  ms_mem_from(&g->totals_device, &ms_gpu_total_device);
  ms_mem_from(&g->totals_pinned, &ms_gpu_total_pinned);
  g->has_pinned = ms_gpu_total_pinned.alloc_count != 0;
  ms_gpu_event ev[MS_GPU_EVENTS];
  g->nevents = ms_gpu_events_copy_locked(ev, MS_GPU_EVENTS);
  for (unsigned i = 0; i < g->nevents; i++) {
    ms_report_gpu_event *o = &g->events[i];
    *o = (ms_report_gpu_event){ev[i].t_ms, ms_gpu_event_kinds[ev[i].kind], ev[i].device, ev[i].bytes, ev[i].nholders, {0}, {0}};
    memcpy(o->holder_ids, ev[i].holder_ids, sizeof o->holder_ids);
    memcpy(o->holder_bytes, ev[i].holder_bytes, sizeof o->holder_bytes);
  }
  for (uint32_t i = 0; i < n; i++) {
    const ms_gpu_site_rec *r = ms_gpu_site_rec_get(ids[i]);
    ms_report_gpu_site *o = &g->sites[g->nsites];
    if (!r) continue;
    o->id = ids[i];
    o->api = ms_gpu_api_name(r->api);
    o->has_device = r->device.alloc_count != 0;
    o->has_pinned = r->pinned.alloc_count != 0;
    ms_mem_from(&o->device, &r->device);
    ms_mem_from(&o->pinned, &r->pinned);
    o->device.growth = now_ms >= warmup_end_ms ? ms_gpu_growth_locked(warmup_end_ms, i) : 0;
    g->nsites++;
  }
  pthread_mutex_unlock(&ms_gpu_mu);
  if (g->nsites) qsort(g->sites, g->nsites, sizeof *g->sites, ms_gpu_site_by_id);
  return g;
}

static void ms_gpu_release(ms_report_gpu *g) {
  if (g) ms_raw_free(g, g->source_bytes);
}

/* Summed over devices, for the timeline (on the monitor thread): NVML at most once a second. */
static bool ms_gpu_timeline(uint64_t *tracked, uint64_t *used) {
  if (!__atomic_load_n(&ms_gpu_allocated, __ATOMIC_ACQUIRE)) return false;
  uint64_t now = ms_gpu_now_ms();
  for (int dev = 0; dev < MS_GPU_DEVICES; dev++) {
    pthread_mutex_lock(&ms_gpu_mu);
    bool stale = ms_gpu_devs[dev].used && now - ms_gpu_devs[dev].nvml_t_ms >= 1000;
    pthread_mutex_unlock(&ms_gpu_mu);
    if (stale) ms_gpu_nvml_refresh(dev, false);
  }
  *tracked = *used = 0;
  pthread_mutex_lock(&ms_gpu_mu);
  for (int dev = 0; dev < MS_GPU_DEVICES; dev++) {
    const ms_gpu_dev *d = &ms_gpu_devs[dev];
    *tracked += (uint64_t)(d->live + d->pool > 0 ? d->live + d->pool : 0);
    *used += d->proc_known ? d->proc_used : 0;
  }
  ms_gpu_snapshot_locked(now, false);
  pthread_mutex_unlock(&ms_gpu_mu);
  return true;
}

static const ms_report_gpu_source ms_gpu_source = {ms_gpu_collect, ms_gpu_release, ms_gpu_timeline};

void ms_gpu_seen(void) {
  if (ms_likely(__atomic_load_n(&ms_gpu_seen_flag, __ATOMIC_ACQUIRE))) return;
  if (!__atomic_exchange_n(&ms_gpu_source_set, true, __ATOMIC_ACQ_REL)) ms_report_set_gpu_source(&ms_gpu_source);
  __atomic_store_n(&ms_gpu_seen_flag, true, __ATOMIC_RELEASE);
}

void ms_gpu_note_runtime(int version) {
  pthread_mutex_lock(&ms_gpu_mu);
  if (version > 0 && strncmp(ms_gpu_runtime, "cudart ", 7) != 0)
    snprintf(ms_gpu_runtime, sizeof ms_gpu_runtime, "cudart %d.%d", version / 1000, version % 1000 / 10);
  else if (!*ms_gpu_runtime)
    snprintf(ms_gpu_runtime, sizeof ms_gpu_runtime, "cudart");
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
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  ms_guard_enter();
  pthread_once(&once, ms_unwind_init);
  unsigned depth = (unsigned)ms_opt_u64(MS_OPT_STACK_DEPTH);
  if (depth > MS_MAX_DEPTH) depth = MS_MAX_DEPTH;
  uintptr_t frames[MS_MAX_DEPTH];
  unsigned n = ms_unwind(frames, depth);
  uint32_t id = ms_stacks_intern(frames, n);
  ms_guard_leave();
  return id;
}

int ms_gpu_current_device(void) {
  int dev = ms_cu_driver_current_device();
  return dev < 0 ? 0 : dev;
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

static void ms_gpu_write_exit_report(void) {
  if (ms_profile_active || !__atomic_load_n(&ms_gpu_allocated, __ATOMIC_ACQUIRE) ||
      __atomic_exchange_n(&ms_gpu_exit_written, true, __ATOMIC_ACQ_REL))
    return;
  ms_guard_enter();
  ms_report_now("exit");
  ms_guard_leave();
}

/* exit(): registered at the first allocation, after the runtime registered its own teardown, so
 * it runs before the runtime destroys its contexts: NVML still lists the process. With the
 * profiler on, its exit report takes these figures. */
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
