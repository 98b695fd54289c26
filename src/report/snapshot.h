/* The report model: everything a writer needs, with frames already resolved to strings.
 *
 * One struct, two producers: the library fills it from its collectors (profile/collect.c: sites,
 * totals, leak verdict, modules; policy/timeline.c: timeline points and events; src/gpu: the gpu
 * section and device bytes), the CLI fills it from a JSON report (src/cli/load.c). Every writer
 * (text, collapsed, json, svg, html, pprof) reads only this struct, so the library and the CLI
 * share one code path per format. Members mirror docs/report-format.md (schema version 1).
 *
 * Memory: arrays and strings belong to whoever filled the snapshot (an ms_arena in both
 * producers); writers never allocate from the heap. */
#ifndef MEMSHIM_REPORT_SNAPSHOT_H
#define MEMSHIM_REPORT_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

/* Counters of one memory kind (heap or device) at a site or summed over the process. */
typedef struct {
  bool present; /* this kind exists here (heap: always with a profile; device: GPU sites only) */
  int64_t live_bytes, live_count;
  uint64_t allocated_bytes, allocated_count, peak_live_bytes;
  int64_t growth_bytes; /* sites only: since the end of the warm-up */
} ms_snap_mem;

typedef enum { MS_SNAP_NATIVE = 0, MS_SNAP_PYTHON = 1, MS_SNAP_OTHER = 2 } ms_snap_frame_kind;

typedef struct {
  ms_snap_frame_kind kind;
  const char *function; /* "??" when unknown */
  const char *module;   /* native: executable or shared object path, "[unknown]" when none */
  uint64_t offset;      /* native: address in the module's ELF address space */
  const char *file;     /* python: co_filename as recorded */
  uint32_t line;        /* python: line number, 0 when unknown */
} ms_snap_frame;

typedef struct {
  uint32_t id;
  uint32_t nframes;
  const ms_snap_frame *frames; /* innermost (the allocating function) first */
  ms_snap_mem heap, device;
  ms_snap_mem host_pinned; /* CUDA host-pinned bytes (RAM, not VRAM), present only where allocated */
  const char *device_api;  /* the CUDA call of the latest device/pinned allocation here ("cudaMalloc") */
} ms_snap_site;

typedef struct {
  uint64_t t_ms, rss, heap_live, heap_retained, mmap_resident;
  bool has_gpu; /* gpu_tracked/gpu_used were recorded for this point */
  uint64_t gpu_tracked, gpu_used;
} ms_snap_point;

typedef struct {
  uint64_t t_ms, bytes;
  const char *kind;    /* "purge", "mmap_drop", "rss_limit" */
  const char *trigger; /* "retained", "idle", "rss_soft_limit", "memshim_trim", "mmap_cap", ... */
} ms_snap_event;

typedef struct {
  uint32_t id;
  int64_t growth_bytes, late_growth_bytes;
  bool steady;
} ms_snap_leak_site;

typedef struct {
  bool checked;
  uint64_t warmup_ms, from_ms, to_ms;
  unsigned snapshots;
  bool has_limit;
  uint64_t limit_bytes;
  int64_t growth_bytes;
  const char *verdict; /* "pass", "fail", "none" */
  const ms_snap_leak_site *sites;
  unsigned nsites;
} ms_snap_leak;

/* Unreachable at exit (docs/report-format.md, unreachable): the reachability scan's result,
 * present only in a process that asked for it (MEMSHIM_LEAK_SCAN). */
typedef struct {
  uint64_t direct_bytes, direct_count, indirect_bytes, indirect_count;
} ms_snap_lost;

typedef struct {
  uint32_t id;
  ms_snap_lost lost;
} ms_snap_unreach_site;

typedef struct {
  bool present;
  bool scanned;        /* false: why_not says why there is no verdict */
  const char *why_not;
  uint64_t blocks;     /* live blocks looked at */
  ms_snap_lost lost;   /* over all sites */
  unsigned threads;
  const ms_snap_unreach_site *sites; /* most direct bytes first */
  unsigned nsites;
} ms_snap_unreach;

typedef struct {
  uint32_t index;
  const char *name;
  uint64_t total_bytes, nvml_used_bytes, tracked_bytes, pool_reserved_bytes, host_pinned_bytes;
  int64_t residual_bytes; /* nvml_used - tracked; negative when memshim's pool account runs high */
  /* NVML listed this process (nvml_used and residual measured), or not (both 0); unknown in a
   * report that does not say (written as "nvml_process" only when known) */
  enum { MS_SNAP_NVML_UNKNOWN = 0, MS_SNAP_NVML_LISTED, MS_SNAP_NVML_NOT_LISTED } nvml_process;
  uint64_t events_total[3]; /* warn, action, oom on this device since start (metrics) */
} ms_snap_gpu_device;

typedef struct {
  uint32_t id;
  int64_t live_bytes;
} ms_snap_gpu_holder;

typedef struct {
  uint64_t t_ms, bytes;
  const char *kind; /* "warn", "action", "oom" */
  uint32_t device;
  const ms_snap_gpu_holder *top_sites; /* the sites holding the most device memory then */
  unsigned ntop_sites;
} ms_snap_gpu_event;

/* Present only when CUDA was seen (docs/report-format.md, gpu). */
typedef struct {
  bool present;
  const char *runtime; /* "cudart 12.4", "static", "driver only" */
  bool nvml;
  const ms_snap_gpu_device *devices;
  unsigned ndevices;
  int64_t tracked_growth_bytes;
  const ms_snap_gpu_event *events;
  unsigned nevents;
} ms_snap_gpu;

/* A loaded module native frames point into, for offline symbolization (pprof mappings). */
typedef struct {
  const char *path;
  const char *build_id; /* lowercase hex of the ELF NT_GNU_BUILD_ID note, "" when unknown */
} ms_snap_module;

/* A file mapping the registry tracks (docs/report-format.md, mapped_files): who mapped it and
 * what of it is in this process's RAM now, apart from the heap. */
typedef struct {
  uint32_t site;       /* stack id, 0 when unknown (profiling off when it was mapped) */
  const char *path;    /* the file, NULL when not known */
  uint64_t start, end; /* the range it occupies */
  uint64_t resident_bytes;
  bool droppable;      /* the cap may drop its pages (the file holds them: page cache) */
} ms_snap_mapping;

typedef struct ms_snapshot {
  const char *reason; /* "exit", "signal", "interval", "api", "gpu_action", "gpu_oom" */
  uint64_t time_ms;   /* since the library started in the process */
  struct {
    int64_t pid, ppid, start_time;
    const char *command, *backend, *memshim_version;
    uint64_t report_write_errors; /* earlier report files this process could not write */
  } process;

  bool has_profile;
  uint64_t sample_bytes;
  bool exact;
  unsigned stack_depth;
  uint64_t sites_count, sampled_live, memory_bytes;
  /* non-zero: live heap figures are those of this time (ms), the last snapshot before the
   * Python interpreter's teardown freed what the program held (an exit report) */
  uint64_t live_before_teardown_ms;
  ms_snap_mem total_heap, total_device, total_host_pinned;
  const ms_snap_site *sites; /* by heap live bytes, descending */
  uint32_t nsites;

  uint64_t interval_ms;
  const ms_snap_point *points; /* oldest first */
  unsigned npoints;
  const ms_snap_event *events; /* oldest first */
  unsigned nevents;

  /* The memory cgroup the process runs in (policy/container.c), present once found
   * (docs/report-format.md, container). */
  struct ms_snap_container {
    bool present;
    int version;              /* 1 or 2 */
    const char *cgroup;       /* the directory whose limit applies */
    const char *limit_file;   /* "memory.max", "memory.high", "memory.limit_in_bytes"; NULL: no limit */
    uint64_t limit_bytes;     /* 0 = none */
    bool has_usage, has_psi;
    uint64_t usage_bytes, oom_kill, pressure_reports;
    bool has_file;
    uint64_t file_bytes;      /* page cache part of usage: what dropping file pages can give back */
    uint32_t psi_some_avg10_bp, psi_full_avg10_bp; /* hundredths of a percent */
  } container;

  /* Tracked file mappings, most resident first (present when the registry tracks any). */
  const ms_snap_mapping *mapped;
  unsigned nmapped;

  ms_snap_leak leak;
  ms_snap_unreach unreachable;
  ms_snap_gpu gpu;
  const ms_snap_module *modules;
  unsigned nmodules;
} ms_snapshot;

/* Resident bytes of the droppable tracked mappings: page cache the cap can drop. */
uint64_t ms_snap_mapped_droppable(const ms_snapshot *s);

/* Site by id, NULL when absent. */
const ms_snap_site *ms_snap_find_site(const ms_snapshot *s, uint32_t id);
/* Build id of a module path ("" when unknown). */
const char *ms_snap_build_id(const ms_snapshot *s, const char *module);
/* True when any site or the totals carry device bytes. */
bool ms_snap_has_device(const ms_snapshot *s);
/* True when any timeline point carries GPU series. */
bool ms_snap_has_gpu_series(const ms_snapshot *s);
/* A signed figure above an unsigned limit: a limit of 2^63 or more (a size option takes up to
 * 2^64 - 1) is never passed, where casting it to int64_t would make it negative. */
static inline bool ms_over_limit(int64_t v, uint64_t limit) { return v > 0 && (uint64_t)v > limit; }
/* The leak verdict from the numbers: "none" without a limit or a check, else "pass"/"fail". */
const char *ms_snap_verdict(bool checked, bool has_limit, uint64_t limit, int64_t growth);

#endif
