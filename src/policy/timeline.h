/* The timeline recorder (timeline.c): a monitor job (core/init.c's job table), and its part of a report. */
#ifndef MEMSHIM_POLICY_TIMELINE_H
#define MEMSHIM_POLICY_TIMELINE_H

#include "../util/arena.h"
#include "../report/snapshot.h"
#include "../util/job.h"
#include "policy.h"

/* GPU series of a point (src/gpu's ms_gpu_timeline_sample, handed over by the core so that policy/
 * does not depend on gpu/): false when there is none. */
typedef bool (*ms_timeline_gpu_fn)(uint64_t *tracked, uint64_t *used);
void ms_timeline_set_gpu(ms_timeline_gpu_fn fn);
/* Constructor (from the core, when reports are written): the clock and the interval; the core
 * schedules ms_timeline_job then (core/init.c's job table). */
void ms_timeline_init(void);
ms_job_next ms_timeline_job(uint64_t now_ms);
/* Fill s->points, s->events (the policy's event ring) and s->interval_ms. 0, or -1 out of memory. */
int ms_timeline_collect(ms_snapshot *s, ms_arena *a);
void ms_timeline_atfork_child(void);

#endif
