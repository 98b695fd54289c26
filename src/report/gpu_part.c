/* The GPU part of a report: src/gpu registers itself as the source when the process first uses
 * CUDA (so the report side never depends on src/gpu); a report copies it next to the heap part. */
#include <string.h>

#include "report.h"

static const ms_report_gpu_source *ms_gpu_source;

void ms_report_set_gpu_source(const ms_report_gpu_source *src) {
  __atomic_store_n(&ms_gpu_source, src, __ATOMIC_RELEASE);
}

const ms_report_gpu_source *ms_report_gpu_source_get(void) { return __atomic_load_n(&ms_gpu_source, __ATOMIC_ACQUIRE); }

void ms_report_gpu_collect(ms_report *r, uint64_t now_ms, uint64_t warmup_end_ms) {
  const ms_report_gpu_source *src = ms_report_gpu_source_get();
  r->gpu = src ? src->collect(now_ms, warmup_end_ms, r->reason && strcmp(r->reason, "exit") == 0) : NULL;
}

const ms_report_gpu_site *ms_report_gpu_site_get(const ms_report *r, uint32_t id) {
  if (!r->gpu) return NULL;
  uint32_t lo = 0, hi = r->gpu->nsites;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (r->gpu->sites[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < r->gpu->nsites && r->gpu->sites[lo].id == id ? &r->gpu->sites[lo] : NULL;
}

void ms_report_gpu_release(ms_report *r) {
  const ms_report_gpu_source *src = ms_report_gpu_source_get();
  if (r->gpu && src) src->release(r->gpu);
  r->gpu = NULL;
}
