/* Events, NVML refresh and thresholds (pressure.c), for the report side of src/gpu. */
#ifndef MEMSHIM_GPU_PRESSURE_H
#define MEMSHIM_GPU_PRESSURE_H

#include <stdbool.h>
#include <stdint.h>

enum { MS_GPU_EVENT_WARN = 0, MS_GPU_EVENT_ACTION = 1, MS_GPU_EVENT_OOM = 2 };
#define MS_GPU_EVENTS 64
#define MS_GPU_HOLDERS 5
#define MS_GPU_REARM_PCT 2 /* a threshold fires again once usage fell this many points below it */

typedef struct {
  uint64_t t_ms;
  int kind, device;
  uint64_t bytes; /* device used at a crossing; the request for an out-of-memory */
  unsigned nholders;
  uint32_t holder_ids[MS_GPU_HOLDERS]; /* the top sites by live device bytes at that moment */
  int64_t holder_bytes[MS_GPU_HOLDERS];
} ms_gpu_event;

/* Read NVML's figures for CUDA device dev (no lock held by the caller). keep_if_gone: when NVML no
 * longer lists this process (at exit, after the runtime destroyed its context), keep the figures
 * read while it ran. */
void ms_gpu_nvml_refresh(int dev, bool keep_if_gone);
/* The latest events, oldest first (ms_gpu_mu held). */
unsigned ms_gpu_events_copy_locked(ms_gpu_event *out, unsigned cap);
/* One threshold: fires (returns 1) when used crosses pct of total upwards; re-arms when used falls
 * MS_GPU_REARM_PCT points below. pct 0 = off. Pure; for the unit test. */
int ms_gpu_threshold_step(bool *fired, uint64_t used, uint64_t total, uint64_t pct);

/* threshold.c, pure like the step above: the rules ms_gpu_after_alloc and ms_gpu_out_of_memory
 * apply, for the unit test. d: a device's figures (ms_gpu_mu held by the caller). */
#define MS_GPU_NVML_MAX_AGE_MS 100    /* a decision reads NVML again when its figure is this old */
#define MS_GPU_OOM_REPORT_GAP_MS 1000 /* a retry loop: one line and one report per second */
struct ms_gpu_dev_s;
/* Device memory used now: NVML's figure as last read plus what this process's tracked bytes
 * (live + pool) changed by since; 0 at least. */
uint64_t ms_gpu_used_estimate(const struct ms_gpu_dev_s *d);
/* A threshold decision needs a fresh NVML figure: none yet, an old one, or the estimate would
 * fire or re-arm a threshold (decide only on a fresh figure). */
bool ms_gpu_needs_fresh(const struct ms_gpu_dev_s *d, uint64_t now_ms, uint64_t warn_pct, uint64_t action_pct);
/* An out-of-memory error writes its line and report: the first one, then one per gap. */
bool ms_gpu_oom_report_due(bool reported, uint64_t last_ms, uint64_t now_ms);

#endif
