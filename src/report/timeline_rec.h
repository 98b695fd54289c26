/* Recording the timeline (see timeline.h): one point per monitor tick, bounded memory. */
#ifndef MEMSHIM_TIMELINE_REC_H
#define MEMSHIM_TIMELINE_REC_H

#include "../policy/policy.h"
#include "timeline.h"

#define MS_TIMELINE_CAP 512
#define MS_TIMELINE_EVENTS_CAP 256

void ms_timeline_reset(void);
/* Record a point at t_ms (since start); event_base_ms converts the policy's clock to ours. */
void ms_timeline_tick(uint64_t t_ms, uint64_t event_base_ms);
/* Copy points (oldest first) and the kept events; returns the number of points. */
unsigned ms_timeline_copy(ms_timeline_point *pts, unsigned cap, ms_policy_event *evs, unsigned ecap,
                          unsigned *nev);
void ms_timeline_atfork_child(void);

#endif
