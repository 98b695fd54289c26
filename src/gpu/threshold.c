/* The GPU thresholds' rules (see pressure.h): a crossing, the usage estimate between NVML reads, when
 * a decision reads NVML again, when an out-of-memory error is reported; pure, kept apart from the
 * NVML reads and the logging so that tests/unit/test_gpu_track.c checks them alone. */
#include "gpu_internal.h"
#include "pressure.h"

static uint64_t ms_pct_of(uint64_t total, uint64_t pct) { return (uint64_t)((double)total * (double)pct / 100.0); }

int ms_gpu_threshold_step(bool *fired, uint64_t used, uint64_t total, uint64_t pct) {
  if (!pct || !total) return 0;
  uint64_t at = ms_pct_of(total, pct), rearm = pct > MS_GPU_REARM_PCT ? ms_pct_of(total, pct - MS_GPU_REARM_PCT) : 0;
  if (!*fired && used >= at) {
    *fired = true;
    return 1;
  }
  if (*fired && used < rearm) *fired = false;
  return 0;
}

uint64_t ms_gpu_used_estimate(const ms_gpu_dev *d) {
  int64_t est = (int64_t)d->dev_used + (d->live + d->pool - d->tracked_at_nvml);
  return est > 0 ? (uint64_t)est : 0;
}

bool ms_gpu_needs_fresh(const ms_gpu_dev *d, uint64_t now_ms, uint64_t warn_pct, uint64_t action_pct) {
  if (!d->mem_known || now_ms - d->nvml_t_ms >= MS_GPU_NVML_MAX_AGE_MS) return true;
  uint64_t u = ms_gpu_used_estimate(d);
  bool w = d->warn_fired, a = d->action_fired;
  return ms_gpu_threshold_step(&w, u, d->total, warn_pct) || ms_gpu_threshold_step(&a, u, d->total, action_pct) ||
         w != d->warn_fired || a != d->action_fired;
}

bool ms_gpu_oom_report_due(bool reported, uint64_t last_ms, uint64_t now_ms) {
  return !reported || now_ms - last_ms >= MS_GPU_OOM_REPORT_GAP_MS;
}
