/* Reports: a copy of the profiler's state taken without holding its locks while writing
 * (ms_report), and the writers that format it. Files are created by report.c. */
#ifndef MEMSHIM_REPORT_H
#define MEMSHIM_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "../policy/policy.h"
#include "../profile/leak.h"
#include "out.h"
#include "timeline.h"

/* ---- GPU memory (docs/gpu.md): filled by src/gpu through ms_report_gpu_source ---- */
#define MS_REPORT_GPU_DEVICES 16
#define MS_REPORT_GPU_EVENTS 64
#define MS_REPORT_GPU_HOLDERS 5

typedef struct {
  int64_t live_bytes, live_count;
  uint64_t alloc_bytes, alloc_count, peak_bytes;
  int64_t growth; /* since the end of the warm-up */
} ms_report_mem;

typedef struct {
  uint32_t id;
  const char *api; /* the call of the latest allocation here: "cudaMalloc", "cuMemCreate", ... */
  bool has_device, has_pinned;
  ms_report_mem device, pinned; /* device: VRAM (incl. managed, pooled, VMM); pinned: host-pinned */
} ms_report_gpu_site;

typedef struct {
  int index;         /* CUDA device ordinal */
  char name[96];     /* from NVML; "" when unknown */
  bool nvml_process; /* NVML listed this process on the device: nvml_used and residual are measured */
  uint64_t total_bytes, nvml_used_bytes;
  int64_t tracked_bytes;       /* live allocations + pool_reserved */
  int64_t pool_reserved_bytes; /* freed into stream-ordered pools, not reused or trimmed */
  int64_t residual_bytes;      /* nvml_used - tracked: context, kernels, libraries' own memory */
  int64_t host_pinned_bytes;
  uint64_t events_total[3]; /* warn, action, oom crossings on this device since start */
} ms_report_gpu_device;

typedef struct {
  uint64_t t_ms;
  const char *kind; /* "warn", "action", "oom" */
  int device;
  uint64_t bytes; /* device used at a crossing; the request for "oom" */
  unsigned nholders;
  uint32_t holder_ids[MS_REPORT_GPU_HOLDERS];
  int64_t holder_bytes[MS_REPORT_GPU_HOLDERS];
} ms_report_gpu_event;

typedef struct ms_report_gpu {
  char runtime[32]; /* "cudart 12.4", "cudart", "static", "driver only" */
  bool nvml;        /* NVML loaded and answered */
  unsigned ndevices;
  ms_report_gpu_device devices[MS_REPORT_GPU_DEVICES];
  int64_t tracked_growth; /* steady growth of device bytes after the warm-up, summed over sites */
  ms_report_mem totals_device, totals_pinned;
  bool has_pinned;
  unsigned nevents;
  ms_report_gpu_event events[MS_REPORT_GPU_EVENTS];
  ms_report_gpu_site *sites; /* sorted by id */
  uint32_t nsites;
  unsigned long source_bytes; /* the source's own bookkeeping of this copy */
} ms_report_gpu;

typedef struct {
  /* A copy of the GPU state (NULL when CUDA was not seen). at_exit: NVML's figures of a process
   * that already left NVML's list (its context destroyed) are those read while it ran. */
  ms_report_gpu *(*collect)(uint64_t now_ms, uint64_t warmup_end_ms, bool at_exit);
  void (*release)(ms_report_gpu *g);
  /* Device bytes tracked and NVML-used by this process, summed over devices, for the timeline;
   * false when there is no GPU series. */
  bool (*timeline)(uint64_t *tracked, uint64_t *used);
} ms_report_gpu_source;

/* Called once by src/gpu when CUDA is first seen (the report side never calls into src/gpu). */
void ms_report_set_gpu_source(const ms_report_gpu_source *src);
const ms_report_gpu_source *ms_report_gpu_source_get(void);
/* "function (module+0xoffset)" of each site's innermost frame, for log lines. */
void ms_report_describe_sites(const uint32_t *ids, unsigned n, char (*out)[160]);

typedef struct {
  uint32_t id, depth;
  const uintptr_t *frames; /* return addresses, innermost first (immutable, owned by the table) */
  int64_t live_bytes, live_count;
  uint64_t alloc_bytes, alloc_count, peak_bytes;
  int64_t growth; /* since the end of the warm-up */
  const ms_report_gpu_site *gpu; /* GPU memory of this site, NULL when none */
} ms_report_site;

typedef struct ms_report {
  const char *reason;
  uint64_t time_ms;
  int pid, ppid;
  char comm[64];
  long start_time;
  const char *backend;
  uint64_t sample_bytes;
  unsigned stack_depth;
  uint32_t sites_count;
  uint64_t sampled_live; /* sampled pointers remembered now */
  uint64_t memory_bytes; /* the profiler's own tables (stack table + pointer map + filter) */
  ms_report_site *sites; /* sorted by live bytes, descending */
  uint32_t nsites;
  int64_t live_bytes, live_count;
  uint64_t alloc_bytes, alloc_count, peak_bytes;
  uint64_t interval_ms;
  ms_timeline_point *points;
  unsigned npoints;
  ms_policy_event *events;
  unsigned nevents;
  ms_leak_result leak;
  ms_leak_site *leak_sites;
  bool has_limit;
  uint64_t limit_bytes;
  ms_report_gpu *gpu; /* NULL when CUDA was not seen */
} ms_report;

/* The GPU part of a report (gpu_part.c): copy it from the source, find a site's, free it. */
struct ms_report;
void ms_report_gpu_collect(struct ms_report *r, uint64_t now_ms, uint64_t warmup_end_ms);
const ms_report_gpu_site *ms_report_gpu_site_get(const struct ms_report *r, uint32_t id);
void ms_report_gpu_release(struct ms_report *r);

/* "pass", "fail" or "none". */
const char *ms_report_verdict(const ms_report *r);
/* Site by id in r->sites, NULL if absent. */
const ms_report_site *ms_report_find_site(const ms_report *r, uint32_t id);

/* The writers; the symbolizer must have been begun (ms_symbolize_begin). */
void ms_report_write_json(const ms_report *r, ms_out *o);
void ms_report_write_text(const ms_report *r, ms_out *o);
void ms_report_write_collapsed(const ms_report *r, ms_out *o);

/* Profiler side: take a report of this process now and write the configured formats.
 * reason: "exit", "signal", "interval", "api". Serialised; logs failures, never fatal.
 * Returns the leak verdict's growth over the limit (true = the gate failed). */
bool ms_report_now(const char *reason);
/* fork child: files already written belong to the parent. */
void ms_report_atfork_child(void);
void ms_report_atfork_prepare(void);
void ms_report_atfork_parent(void);

#endif
