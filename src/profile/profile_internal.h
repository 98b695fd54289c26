/* What the profiler's parts share beyond profile.h (for report/ and leak.c). */
#ifndef MEMSHIM_PROFILE_INTERNAL_H
#define MEMSHIM_PROFILE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

/* Milliseconds since the profiler started in this process (a fork child restarts at its fork). */
uint64_t ms_profile_now_ms(void);
uint64_t ms_profile_sample_bytes(void);
unsigned ms_profile_stack_depth(void);
/* Highest estimated live bytes of all sites together, as seen by the snapshots (leak.c): no
 * process-wide counter is touched per sample. */
uint64_t ms_profile_peak_bytes(void);
/* The process's Python interpreter has torn itself down (its teardown freed what the program
 * held): true, with the time of the last snapshot before that, whose live bytes are what the
 * program left. */
bool ms_profile_torn_down(uint64_t *live_at_ms);
/* MEMSHIM_LEAK_CHECK: true and *limit when set. */
bool ms_profile_leak_limit(uint64_t *limit);

#endif
