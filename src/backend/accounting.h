/* Heap accounting: who allocated how much, per thread, merged on read. The hot path touches
 * only its own thread's counters (initial-exec TLS: no access allocates); the registry lock is
 * taken when a thread starts, ends, or somebody reads the totals. Live heap bytes are the
 * backend's exact per-thread byte totals (jemalloc's thread.allocatedp/deallocatedp) or its
 * statistics (glibc's mallinfo2). */
#ifndef MEMSHIM_ACCOUNTING_H
#define MEMSHIM_ACCOUNTING_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/guard.h"

typedef struct ms_thread {
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
  struct ms_thread *next, *prev;
  uint8_t registered;
} ms_thread;

extern MS_HIDDEN MS_TLS ms_thread ms_tls_thread;

/* The calling thread's first slow-path visit: join the registry (and bind its byte counters
 * when that is cheap, see accounting.c). */
void ms_thread_register(ms_thread *t);
/* Bind the calling thread's byte counters if not done yet (a later slow-path visit). */
void ms_thread_bind_counters(ms_thread *t);
/* Once, from the constructor: a key whose destructor folds an ending thread's counters. */
void ms_accounting_init(void);

typedef struct {
  uint64_t alloc_calls, free_calls;
  uint64_t live_bytes; /* exact for jemalloc (per-thread totals), mallinfo2 for glibc */
  uint64_t threads;    /* registered live threads */
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
