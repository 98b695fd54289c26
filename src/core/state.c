/* The allocation slow path: where the hot path goes on a thread's first allocation, a
 * profiler sample, or an activity tick. */
#include "state.h"

#include "../profile/profile.h"
#include "activity.h"

bool ms_enabled = true;
bool ms_initialized;
bool ms_exiting;

/* Here, not in init.c which sets it: metrics.c asks, and init.c calls metrics.c. */
bool ms_in_exit(void) { return ms_exiting; }

void *ms_alloc_slow(void *p, uint64_t size) {
  ms_thread *t = &ms_tls_thread;
  if (!t->registered) {
    if (ms_guard_held()) { t->sample_countdown = 0; return p; }
    ms_thread_register(t);
  } else if (!t->je_allocatedp && ms_initialized) {
    ms_thread_bind_counters(t);
  }
  if (ms_profile_active) {
    if (!ms_initialized) {
      t->sample_countdown = 0; /* still starting: decide at the first allocation after init */
      return p;
    }
    p = ms_profile_sample(p, size, &t->sample_countdown, &t->prng);
  } else {
    /* The next tick; without jobs, come back only after a very long time (re-registration
     * after the thread's exit). */
    t->sample_countdown = !ms_activity_on ? INT64_MAX / 2 : ms_activity_fine ? MS_FINE_TICK_BYTES : MS_TICK_BYTES;
  }
  ms_activity_tick();
  return p;
}

/* No argument: the free path's call site then needs no frame of its own (its registers are
 * saved only on this rare branch), and free stays a tail call to the backend. */
void ms_free_slow(void) {
  if (!ms_initialized) return; /* the constructor sets the mark's step; until then, look again */
  ms_activity_free_tick(&ms_tls_thread);
}
