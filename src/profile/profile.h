/* The profiler as the hot path sees it. Implemented in src/profile/. */
#ifndef MEMSHIM_PROFILE_H
#define MEMSHIM_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/guard.h"
#include "../util/job.h"
#include "ptr_map.h"

/* True when MEMSHIM_PROFILE=1; read-only after the constructor. */
extern MS_HIDDEN bool ms_profile_active;
/* While profiling: snapshots every MEMSHIM_SNAPSHOT_INTERVAL (core/init.c's job table). */
ms_job_next ms_profile_snapshot_job(uint64_t now_ms);

/* Constructor: read options, prepare tables. */
void ms_profile_init(void);
/* The thread's countdown crossed zero: record p if this is a sample, and set the next
 * countdown (*prng: the thread's random state, 0 before its first sample). Returns p. */
void *ms_profile_sample(void *p, uint64_t size, int64_t *countdown, uint64_t *prng);
/* Every free while profiling: forget p if it was sampled. Cheap when it was not: one relaxed
 * load of a counting filter slot, inlined into free; the lookup runs only on a filter hit. */
void ms_profile_free_maybe(void *p);
static inline void ms_profile_free(void *p) {
  if (ms_unlikely(ms_ptr_maybe_sampled(p))) ms_profile_free_maybe(p);
}
void ms_profile_atfork_child(void);
/* The calling thread's call site as a stack-table id (Python frames merged), for the mmap entry
 * point: a tracked file mapping's site in reports. 0 when profiling is off, while our own work
 * runs (the guard: libunwind maps files too), or when stacks cannot be captured. Cold path. */
uint32_t ms_profile_capture_site(void);

#endif
