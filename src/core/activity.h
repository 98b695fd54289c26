/* How the allocation slow path tells the monitor there may be work, so that the thread exists
 * only while there is: ticks come every MS_TICK_BYTES a thread allocates (or with each profiler
 * sample), and start the monitor when a job wants it and it is not running. */
#ifndef MEMSHIM_ACTIVITY_H
#define MEMSHIM_ACTIVITY_H

#include <stdbool.h>
#include <stdint.h>

#include "../backend/accounting.h"
#include "../util/guard.h"

#define MS_TICK_BYTES ((int64_t)1 << 20)
/* Ticks while a single-threaded process's mapping cap waits for work (policy.h,
 * ms_policy_thread_waits_for_work): its scans allocate little. */
#define MS_FINE_TICK_BYTES ((int64_t)16 << 10)
/* True while ticks should come every MS_FINE_TICK_BYTES. */
extern MS_HIDDEN bool ms_activity_fine;

/* Set by the constructor when some job exists (read-only afterwards): ticks are wanted. */
extern MS_HIDDEN bool ms_activity_on;

/* From the constructor, after every subsystem registered its jobs. */
void ms_activity_init(void);
/* The slow path's tick (never under the recursion guard); asks the jobs at most every 20 ms. */
void ms_activity_tick(void);
/* The free path's tick (state.c, ms_free_slow): t freed MS_FREE_TICK_BYTES since its mark.
 * Sets the next mark; the heap policy looks (inline, on this thread). */
void ms_activity_free_tick(ms_thread *t);
/* A new mapping under the file-mapping cap: asks at once. */
void ms_activity_capped_mapping(void);
/* In a fork child, from the atfork child handler: starts nothing (no thread may be created
 * there); the child's first allocation slow path starts what its jobs need. */
void ms_activity_after_fork_child(void);

#endif
