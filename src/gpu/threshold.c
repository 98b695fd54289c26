/* One threshold's crossing rule (see pressure.h), kept apart so that it can be tested alone. */
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
