/* How the allocation slow path tells the monitor there may be work, so that the thread exists
 * only while there is: ticks come every MS_TICK_BYTES a thread allocates (or with each profiler
 * sample), and start the monitor when a job wants it and it is not running. */
#ifndef MEMSHIM_ACTIVITY_H
#define MEMSHIM_ACTIVITY_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/guard.h"

#define MS_TICK_BYTES ((int64_t)1 << 20)

/* Set by the constructor when some job exists (read-only afterwards): ticks are wanted. */
extern MS_HIDDEN bool ms_activity_on;

/* From the constructor, after every subsystem registered its jobs. */
void ms_activity_init(void);
/* The slow path's tick (never under the recursion guard); asks the jobs at most every 20 ms. */
void ms_activity_tick(void);
/* A new mapping under the file-mapping cap: asks at once. */
void ms_activity_capped_mapping(void);
/* In a fork child: jobs that run on a clock whatever the program does (metrics, profiling
 * snapshots) start at once; the heap policy waits for the child's first activity. */
void ms_activity_after_fork_child(void);

#endif
