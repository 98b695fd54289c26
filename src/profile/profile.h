/* The profiler as the hot path sees it. Implemented in src/profile/. */
#ifndef MEMSHIM_PROFILE_H
#define MEMSHIM_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

struct ms_thread;

/* True when MEMSHIM_PROFILE=1; read-only after the constructor. */
extern bool ms_profile_active;

/* Constructor: read options, prepare tables. */
void ms_profile_init(void);
/* The thread's countdown crossed zero: record p if this is a sample, and set the next
 * countdown. Returns p. */
void *ms_profile_sample(void *p, uint64_t size, struct ms_thread *t);
/* Every free while profiling: forget p if it was sampled. Must be cheap when it was not. */
void ms_profile_free(void *p);
void ms_profile_at_exit(void);
void ms_profile_atfork_prepare(void);
void ms_profile_atfork_parent(void);
void ms_profile_atfork_child(void);

#endif
