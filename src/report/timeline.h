/* The timeline: process-level series sampled by a monitor job every
 * MEMSHIM_SNAPSHOT_INTERVAL (RSS, heap live, heap retained, file-mapped resident) plus the
 * policy's events, kept in bounded memory (older points are thinned, never dropped
 * wholesale), written into the JSON report. Owned by the profiler/report work
 * (src/report/timeline.c). GPU series join when GPU tracking exists. */
#ifndef MEMSHIM_TIMELINE_H
#define MEMSHIM_TIMELINE_H

#include <stdint.h>

typedef struct {
  uint64_t t_ms;          /* since process start */
  uint64_t rss;
  uint64_t heap_live;
  uint64_t heap_retained;
  uint64_t mmap_resident;
} ms_timeline_point;

#endif
