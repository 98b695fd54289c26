/* The timeline recorder (timeline.c): a policy/monitor job, and its part of a report. */
#ifndef MEMSHIM_POLICY_TIMELINE_H
#define MEMSHIM_POLICY_TIMELINE_H

#include "../report/arena.h"
#include "../report/snapshot.h"
#include "policy.h"

/* Constructor (from the core, when reports are written): schedule the job. */
void ms_timeline_init(void);
/* Fill s->points, s->events (the policy's event ring) and s->interval_ms. 0, or -1 out of memory. */
int ms_timeline_collect(ms_snapshot *s, ms_arena *a);
void ms_timeline_atfork_child(void);

#endif
