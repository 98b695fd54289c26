/* The profiler's part of a report: it fills a snapshot (src/report/snapshot.h) from its tables,
 * with frames resolved to strings, so the writers never see the profiler's internals. */
#ifndef MEMSHIM_PROFILE_COLLECT_H
#define MEMSHIM_PROFILE_COLLECT_H

#include "../report/arena.h"
#include "../report/snapshot.h"

/* Sites (the interesting ones, by live bytes), totals, leak verdict, modules with build ids,
 * time_ms. Memory from the arena; strings stay valid until the next collection (the
 * symbolizer's module list) or for the process's life (symbol names, Python frames). Caller
 * holds the recursion guard and serialises collections. Returns 0, or -1 out of memory. */
int ms_profile_collect(ms_snapshot *s, ms_arena *a);

/* The leak gate's running verdict (metrics): 1, with the growth and the steady sites, when computed. */
int ms_profile_leak_now(int64_t *growth, unsigned *steady_sites);

#endif
