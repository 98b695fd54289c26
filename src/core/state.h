/* Process-wide state, init order, per-thread counters. */
#ifndef MEMSHIM_STATE_H
#define MEMSHIM_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/guard.h"

/* Per-thread state, in initial-exec TLS so that no access allocates. Counters are written
 * only by their thread and read (relaxed) by ms_counters_read. */
typedef struct ms_thread {
  /* Bytes left before the next slow-path visit: a new thread starts at 0 so its first
   * allocation registers it; the profiler keeps it at the next sample distance. */
  int64_t sample_countdown;
  uint64_t alloc_calls;
  uint64_t free_calls;
  /* jemalloc's exact per-thread byte totals, and what was already folded at thread exit. */
  uint64_t *je_allocatedp, *je_deallocatedp;
  uint64_t je_allocated_base, je_deallocated_base;
  uint64_t prng; /* the sampler's random state */
  struct ms_thread *next, *prev;
  uint8_t registered;
} ms_thread;

extern MS_HIDDEN MS_TLS ms_thread ms_tls_thread;

/* Read-only after the constructor. */
extern MS_HIDDEN bool ms_enabled;        /* MEMSHIM_ENABLE */
extern MS_HIDDEN bool ms_initialized;    /* constructor done */

/* The rare part of the allocation path: first allocation of a thread, or a sample. */
void *ms_alloc_slow(void *p, uint64_t size);

typedef struct {
  uint64_t alloc_calls, free_calls;
  uint64_t live_bytes; /* exact for jemalloc (per-thread totals), mallinfo2 for glibc */
  uint64_t threads;    /* registered live threads */
} ms_counters;
void ms_counters_read(ms_counters *out);

/* fork: the registry lock, and the child's view of the registry. */
void ms_state_atfork_prepare(void);
void ms_state_atfork_parent(void);
void ms_state_atfork_child(void);

/* Library start and exit, in core/init.c. */
void ms_init(void);
bool ms_in_exit(void);

#endif
