/* The profiler's part of a report: it fills a snapshot (src/report/snapshot.h) from its tables,
 * with frames resolved to strings, so the writers never see the profiler's internals. */
#ifndef MEMSHIM_PROFILE_COLLECT_H
#define MEMSHIM_PROFILE_COLLECT_H

#include "../util/arena.h"
#include "../report/snapshot.h"

/* Sites (the interesting ones, by live bytes), totals, leak verdict, modules with build ids,
 * time_ms. Memory from the arena; strings stay valid until the next collection (the
 * symbolizer's module list) or for the process's life (symbol names, Python frames). Caller
 * holds the recursion guard and serialises collections. Returns 0, or -1 out of memory. */
int ms_profile_collect(ms_snapshot *s, ms_arena *a);

/* The sites of these stack-table ids, for another collector (src/gpu adds device bytes): index[i]
 * is where ids[i] is in s->sites; ids the report does not list yet (all of them when profiling is
 * off) are appended with their frames resolved and no heap counters. Returns s->sites, now
 * writable and from the arena, or NULL out of memory. Same caller rules as ms_profile_collect. */
ms_snap_site *ms_profile_sites_for(ms_snapshot *s, ms_arena *a, const uint32_t *ids, uint32_t n, uint32_t *index);

/* The leak gate's running verdict (metrics): 1, with the growth and the steady sites, when computed. */
int ms_profile_leak_now(int64_t *growth, unsigned *steady_sites);

#endif
