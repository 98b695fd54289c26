/* The allocation slow path: where the hot path goes on a thread's first allocation, a
 * profiler sample, or an activity tick. */
#include "state.h"

#include "../backend/backend.h"
#include "../profile/profile.h"
#include "activity.h"

bool ms_enabled = true;
bool ms_initialized;
bool ms_exiting;

/* Here, not in init.c which sets it: metrics.c asks, and init.c calls metrics.c. */
bool ms_in_exit(void) { return ms_exiting; }

/* The next activity tick's distance; without jobs, come back only after a very long time
 * (re-registration after the thread's exit). */
static int64_t ms_next_tick(void) {
  return !ms_activity_on ? INT64_MAX / 2 : ms_activity_fine ? MS_FINE_TICK_BYTES : MS_TICK_BYTES;
}

/* jemalloc's activity callback on a direct thread (ms_direct_enter): every 64 KiB the thread
 * allocates or frees, after jemalloc reset its own thresholds, outside its locks (the handler may
 * allocate). It does what the countdown and the free mark do on the tracked path: the activity
 * tick once the thread allocated its countdown's worth (a countdown set to 0 to force a look is
 * seen here, at most 64 KiB later), and the heap policy's look once its freed bytes reach the
 * mark (an unload is a run of large frees: its purge happens on the thread that frees). */
static void ms_direct_activity(void *uctx, uint64_t allocated, uint64_t deallocated) {
  ms_thread *t = uctx;
  if (ms_unlikely(t->direct == MS_DISPATCH_TRACKED) || ms_guard_held()) return; /* back on the tracked path, or ours */
  if (t->direct == MS_DISPATCH_SAMPLED) { /* the countdown is the sampler's; only the heap mark */
    if (deallocated >= t->heap_mark) ms_free_slow();
    return;
  }
  t->sample_countdown -= (int64_t)(allocated - t->cb_allocated);
  t->cb_allocated = allocated;
  if (t->sample_countdown <= 0) {
    t->sample_countdown = ms_next_tick();
    ms_activity_tick();
  }
  if (deallocated >= t->free_mark) ms_free_slow();
}

/* Switch the calling thread to jemalloc's own entry points (accounting.h, malloc_fn...): a
 * jemalloc process after the constructor (with profiling: MS_DISPATCH_SAMPLED). The first mallctl of a process
 * costs about 150,000 instructions (jemalloc builds its control tree): a process that allocates
 * little (a shell, /bin/true) must not pay it, so until some mallctl ran the switch waits for
 * the thread's next visit, a tick (MS_TICK_BYTES) later. */
static void ms_direct_enter(ms_thread *t) {
  if (!ms_initialized || ms_be_kind != MS_BE_JEMALLOC || ms_guard_held()) return;
  if (!ms_backend_ctl_ready() && !t->direct_wait) {
    t->direct_wait = 1;
    /* Under profiling the countdown is the next sample's distance: the switch waits for it. */
    if (!ms_profile_active && t->sample_countdown > MS_TICK_BYTES) t->sample_countdown = MS_TICK_BYTES;
    return;
  }
  ms_thread_bind_counters(t);
  if (!t->je_allocatedp) return;
  ms_guard_enter();
  int rc = ms_backend_activity_callback(ms_direct_activity, t);
  ms_guard_leave();
  if (rc != 0) return;
  t->cb_allocated = *t->je_allocatedp;
  ms_dispatch_set(t, ms_profile_active ? MS_DISPATCH_SAMPLED : MS_DISPATCH_DIRECT);
}

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
    if (!t->direct) ms_direct_enter(t);
  } else {
    t->sample_countdown = ms_next_tick();
    if (!t->direct) ms_direct_enter(t);
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
