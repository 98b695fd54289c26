/* The timeline: process-level series sampled by a monitor job every
 * MEMSHIM_SNAPSHOT_INTERVAL (RSS, heap live, heap retained, file-mapped resident) plus the
 * policy's events, kept in bounded memory (older points are thinned, never dropped
 * wholesale), written into the JSON report. Owned by the profiler/report work
 * (src/report/timeline.c). The GPU series is there once the process allocated device memory. */
#ifndef MEMSHIM_TIMELINE_H
#define MEMSHIM_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  uint64_t t_ms;          /* since process start */
  uint64_t rss;
  uint64_t heap_live;
  uint64_t heap_retained;
  uint64_t mmap_resident;
  uint64_t gpu_tracked; /* device bytes memshim tracks, summed over devices (has_gpu) */
  uint64_t gpu_used;    /* NVML's per-process figure, summed over devices (has_gpu) */
  bool has_gpu;
} ms_timeline_point;

#endif
