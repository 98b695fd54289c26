/* The tracked hot path's bookkeeping, shared by every allocation entry point: one
 * per-thread countdown and one unlikely branch that covers every rare event (first use of a
 * thread, a sample). Calls are not counted here: jemalloc's statistics give calls.alloc /
 * calls.free, the glibc backend counts in its own wrappers (backend/glibc.c). No locks, no
 * stdio, no allocation. */
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
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
  /* One read-modify-write and the branch on its flags (gcc keeps a load, a store and a test
   * otherwise): three instructions less on every allocation. */
  int due;
  __asm__("subq %2, %1" : "=@ccle"(due), "+m"(t->sample_countdown) : "r"((int64_t)size) : "cc");
  return ms_unlikely(due);
#else
  return ms_unlikely((t->sample_countdown -= (int64_t)size) <= 0);
#endif
}

/* For entry points that must look at the result anyway (realloc, aligned, operator new). */
static inline void *ms_track_alloc(void *p, size_t size) {
  if (ms_unlikely(!p)) return p;
  if (ms_track_alloc_begin(size)) return ms_alloc_slow(p, size);
  return p;
}

/* The free path, before the block goes back: nonzero when the rare part must
 * run: the thread freed MS_FREE_TICK_BYTES since its last look, so the heap policy looks inline
 * (an unload is a run of large frees: its purge happens on the thread that frees it, not on a
 * thread of ours), or profiling is on and p may be sampled. Without profiling that is one
 * compare of the thread's freed-bytes total with free_mark. Under profiling free_mark stays 0,
 * so the compare always sends the call on to the profiler's test, still inline: the counting
 * filter's one load (profile/ptr_map.h), then the real mark (heap_mark). A free of an unsampled
 * pointer never leaves the fast path nor touches the shared pointer map. The mark check sees
 * the frees before this one. Split so that free() stays a tail call with no frame on the
 * common path. */
static inline int ms_track_free_begin(const void *p) {
  ms_thread *t = &ms_tls_thread;
  if (ms_likely(*t->freed_p < t->free_mark)) return 0;
  /* No test of ms_profile_active needed: without profiling heap_mark stays 0 (the filter is
   * empty), so a call that got here goes to the rare part, which asks the flag. */
  return ms_unlikely(ms_ptr_maybe_sampled(p)) | ms_unlikely(*t->freed_p >= t->heap_mark);
}

/* The thread's freed bytes reached the heap policy's mark (see ms_track_free_begin). */
static inline int ms_track_free_mark_passed(const ms_thread *t) {
  return *t->freed_p >= (ms_profile_active ? t->heap_mark : t->free_mark);
}

static __attribute__((noinline, cold)) void ms_track_free_rare(void *p) {
  if (ms_profile_active) ms_profile_free(p);
  ms_thread *t = &ms_tls_thread;
  if (ms_track_free_mark_passed(t)) ms_free_slow();
}

static inline void ms_track_free(void *p) {
  if (ms_track_free_begin(p)) ms_track_free_rare(p);
}

/* The two targets of the dispatched entry points (accounting.h, malloc_fn...): the tracked
 * path (malloc.c, new_delete.c), and the direct ones that are not jemalloc's own functions. */
void *ms_malloc_tracked(size_t size);
void ms_free_tracked(void *p);
void *ms_new_tracked(size_t size);
void ms_delete_tracked(void *p);
void ms_delete_sized_tracked(void *p, size_t size);
void *ms_new_direct(size_t size);
void ms_delete_sized_direct(void *p, size_t size);
void ms_free_sampled(void *p);
void ms_delete_sized_sampled(void *p, size_t size);

#endif
