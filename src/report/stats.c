/* The stats table (see stats.h). */
#include "stats.h"

#define MS_STAT(field) offsetof(memshim_stats_t, field)
const ms_stat_def ms_stat_table[] = {
  {"heap.live", MS_STAT(heap_live), "memshim_heap_live_bytes", "gauge", "Heap bytes the program holds (allocated, not freed)."},
  {"heap.peak", MS_STAT(heap_peak), "memshim_heap_peak_bytes", "gauge", "Highest heap_live observed."},
  {"backend.retained", MS_STAT(backend_retained), "memshim_heap_retained_bytes", "gauge",
   "Heap bytes freed by the program but still resident: what a purge can give back."},
  {"backend.resident", MS_STAT(backend_resident), "memshim_heap_resident_bytes", "gauge",
   "Resident bytes of the heap allocator (0 with the glibc backend)."},
  {"rss", MS_STAT(rss), "memshim_rss_bytes", "gauge", "Process resident set size."},
  {"mmap.tracked", MS_STAT(mmap_tracked), "memshim_mmap_tracked_bytes", "gauge", "Bytes of file mappings memshim tracks."},
  {"mmap.resident", MS_STAT(mmap_resident), "memshim_mmap_resident_bytes", "gauge",
   "Resident bytes of tracked file mappings, last measured."},
  {"mmap.dropped", MS_STAT(mmap_dropped), "memshim_mmap_dropped_bytes_total", "counter",
   "File-mapped bytes dropped under MEMSHIM_MMAP_RESIDENT_MAX."},
  {"purge.count", MS_STAT(purges), "memshim_purges_total", "counter", "Heap purges done (policy and memshim_trim)."},
  {"purge.bytes", MS_STAT(purged_bytes), "memshim_purge_returned_bytes_total", "counter",
   "Resident bytes heap purges gave back to the OS."},
  {"calls.alloc", MS_STAT(alloc_calls), "memshim_alloc_calls_total", "counter",
   "Allocations: jemalloc's request count (blocks handed out), or every call with the glibc backend."},
  {"calls.free", MS_STAT(free_calls), "memshim_free_calls_total", "counter",
   "Frees: allocations minus blocks jemalloc holds as allocated, or every non-NULL free with the glibc backend."},
  {"threads", MS_STAT(threads), "memshim_threads", "gauge", "Threads that allocated and are still running."},
  /* memshim_stat only */
  {"backend.active", MS_STAT(backend_active), NULL, NULL, NULL},
  {"backend.mapped", MS_STAT(backend_mapped), NULL, NULL, NULL},
  {"profile.sample_bytes", MS_STAT(profile_sample_bytes), NULL, NULL, NULL},
  {"heap.thread_peak", MS_STAT(thread_peak), NULL, NULL, NULL},
  {"threads.direct", MS_STAT(threads_direct), NULL, NULL, NULL},
};
const size_t ms_stat_count = sizeof ms_stat_table / sizeof ms_stat_table[0];
