/* The hot path's bookkeeping, shared by every allocation entry point: two per-thread
 * counter updates and one unlikely branch that covers every rare event (first use of a
 * thread, a sample). No locks, no stdio, no allocation. */
#ifndef MEMSHIM_TRACK_H
#define MEMSHIM_TRACK_H

#include <stddef.h>

#include "../backend/backend.h"
#include "../core/state.h"
#include "../profile/profile.h"

/* Account an allocation request before it is forwarded, so that the common case can
 * tail-call the backend with no stack frame. Returns nonzero when the slow path must run
 * (it then allocates itself and passes the block to ms_alloc_slow). A countdown at 0 (a new
 * thread's, or the constructor thread's after start-up) sends even malloc(0) there: exact mode
 * must see every block, the zero-sized ones too. */
static inline int ms_track_alloc_begin(size_t size) {
  ms_thread *t = &ms_tls_thread;
  t->alloc_calls++;
  return ms_unlikely((t->sample_countdown -= (int64_t)size) <= 0);
}

/* For entry points that must look at the result anyway (realloc, aligned, operator new). */
static inline void *ms_track_alloc(void *p, size_t size) {
  if (ms_unlikely(!p)) return p;
  if (ms_track_alloc_begin(size)) return ms_alloc_slow(p, size);
  return p;
}

/* The free path, before the block goes back: count the call; nonzero when the rare part must
 * run: profiling (forget p's sample), or the thread freed MS_FREE_TICK_BYTES since its last
 * look, so the heap policy looks inline (an unload is a run of large frees: its purge happens
 * on the thread that frees it, not on a thread of ours). The mark check sees the frees before
 * this one. Split so that free() stays a tail call with no frame on the common path. */
static inline int ms_track_free_begin(void) {
  ms_thread *t = &ms_tls_thread;
  t->free_calls++;
  return ms_unlikely(ms_profile_active) | ms_unlikely(*t->freed_p > t->free_mark);
}

static __attribute__((noinline, cold)) void ms_track_free_rare(void *p) {
  if (ms_profile_active) ms_profile_free(p);
  ms_thread *t = &ms_tls_thread;
  if (*t->freed_p > t->free_mark) ms_free_slow();
}

static inline void ms_track_free(void *p) {
  if (ms_track_free_begin()) ms_track_free_rare(p);
}

#endif
