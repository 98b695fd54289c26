/* Heap accounting: who allocated how much, per thread, merged on read. The hot path touches
 * only its own thread's counters (initial-exec TLS: no access allocates); the registry lock is
 * taken when a thread starts, ends, or somebody reads the totals. Live heap bytes are the
 * backend's exact per-thread byte totals (jemalloc's thread.allocatedp/deallocatedp) or its
 * statistics (glibc's mallinfo2). */
#ifndef MEMSHIM_ACCOUNTING_H
#define MEMSHIM_ACCOUNTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/guard.h"

/* The hot entry points' targets: malloc, free, operator new, delete, sized delete. */
typedef struct {
  void *(*malloc_fn)(size_t);
  void (*free_fn)(void *);
  void *(*new_fn)(size_t);
  void (*delete_fn)(void *);
  void (*delete_sized_fn)(void *, size_t);
} ms_dispatch;

/* Where a thread's entry points go. TRACKED: the countdown and the free mark (every thread
 * starts there; the glibc backend stays). DIRECT: jemalloc's own functions (jemalloc, no
 * profiling). SAMPLED: jemalloc with profiling: allocation keeps the sampler's countdown, free
 * only the sampled-pointer filter; the heap mark moved to jemalloc's activity callback. */
enum { MS_DISPATCH_TRACKED = 0, MS_DISPATCH_DIRECT = 1, MS_DISPATCH_SAMPLED = 2 };
/* The three sets, defined by interpose/malloc.c, which owns the entry points. */
extern MS_HIDDEN const ms_dispatch ms_dispatch_modes[3];

typedef struct ms_thread {
  /* Each hot entry point is one indirect tail jump through its thread's own record. A thread
   * starts on the tracked path; in a jemalloc process it switches its own set once (core/state.c,
   * ms_direct_enter), after which jemalloc's activity callback does what the countdown (without
   * profiling) and the free mark did. */
  ms_dispatch fn;
  /* Bytes left before the next slow-path visit: a new thread starts at 0 so its first
   * allocation registers it; afterwards the profiler keeps it at the next sample distance, or
   * the activity tick at MS_TICK_BYTES. */
  int64_t sample_countdown;
  /* The free path's one check: the thread's freed-bytes total (*freed_p: jemalloc's
   * thread.deallocatedp, or glibc_freed) reached free_mark, so the heap policy looks inline
   * (core/state.c, ms_free_slow). Until the thread binds, freed_p points at a zero word. Under
   * profiling free_mark stays 0 (every free goes on to the profiler's inline test) and the
   * policy's mark is heap_mark (interpose/track.h); without profiling heap_mark stays 0.
   * 0 = look at the next free. */
  const uint64_t *freed_p;
  uint64_t free_mark;
  uint64_t heap_mark;
  uint64_t alloc_calls;
  uint64_t free_calls;
  /* jemalloc's exact per-thread byte totals, and what was already folded at thread exit. */
  uint64_t *je_allocatedp, *je_deallocatedp;
  uint64_t je_allocated_base, je_deallocated_base;
  uint64_t glibc_freed; /* glibc backend: bytes this thread freed (its free wrapper counts) */
  uint64_t prng; /* the sampler's random state */
  uint64_t cb_allocated; /* direct: the thread's allocated bytes at jemalloc's last callback */
  struct ms_thread *next, *prev;
  uint8_t registered;
  uint8_t direct;      /* MS_DISPATCH_*: where the entry points go (malloc_fn...) */
  uint8_t direct_wait; /* the switch waits for the next slow-path visit (core/state.c) */
} ms_thread;

/* Defined with its initial (tracked) targets by interpose/malloc.c, which owns the entry points. */
extern MS_HIDDEN MS_TLS ms_thread ms_tls_thread;
/* What freed_p points at until a thread binds its counters. */
extern MS_HIDDEN const uint64_t ms_no_frees;
/* Point the calling thread's entry points (a table, not a call: core/ calls no entry point). */
static inline void ms_dispatch_set(ms_thread *t, int mode) {
  t->fn = ms_dispatch_modes[mode];
  t->direct = (uint8_t)mode;
}

/* The calling thread's first slow-path visit: join the registry (and bind its byte counters
 * when that is cheap, see accounting.c). */
void ms_thread_register(ms_thread *t);
/* Bind the calling thread's byte counters if not done yet (a later slow-path visit). */
void ms_thread_bind_counters(ms_thread *t);
/* Once, from the constructor: a key whose destructor folds an ending thread's counters. */
void ms_accounting_init(void);

typedef struct {
  uint64_t alloc_calls, free_calls; /* the glibc backend's call counts (backend/glibc.c) */
  uint64_t freed_bytes; /* bytes freed, process-wide: grows with every free (heap policy) */
  uint64_t live_bytes; /* exact for jemalloc (per-thread totals), mallinfo2 for glibc */
  uint64_t threads;    /* registered live threads */
  uint64_t threads_direct; /* of which on jemalloc's own entry points (MS_DISPATCH_DIRECT) */
} ms_counters;
void ms_counters_read(ms_counters *out);

/* The heap in three figures (glibc's mallinfo2, metrics): live bytes the program holds, bytes
 * the allocator holds in pages (live, fragmentation and freed pages not yet returned), and what
 * a purge could return now. */
typedef struct {
  uint64_t live, held, returnable;
} ms_heap_figures;
void ms_heap_figures_read(ms_heap_figures *out);

/* fork: the registry lock, and the child's view of the registry. */
/* No prepare or parent handler: the thread list's lock is never held across fork. */
void ms_accounting_atfork_child(void);

#endif
