/* Profiler entry points. The sampling profiler arrives with the call-site issue; until then
 * MEMSHIM_PROFILE is accepted but records nothing, and says so. */
#include "profile.h"

#include <stdint.h>

#include "../config/options.h"
#include "../core/log.h"
#include "../core/state.h"

bool ms_profile_active;

void ms_profile_init(void) {
  if (ms_opt_bool(MS_OPT_PROFILE)) ms_log_error("MEMSHIM_PROFILE=1: the profiler is not built in this version");
}

void *ms_profile_sample(void *p, uint64_t size, struct ms_thread *t) {
  (void)size;
  t->sample_countdown = INT64_MAX / 2;
  return p;
}

void ms_profile_free(void *p) { (void)p; }
void ms_profile_at_exit(void) {}
void ms_profile_atfork_prepare(void) {}
void ms_profile_atfork_parent(void) {}
void ms_profile_atfork_child(void) {}
