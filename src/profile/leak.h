/* The leak gate's data: periodic snapshots of every site's live bytes, and the analysis that
 * turns them into growth per site after the warm-up, telling steady growth from a plateau.
 *
 * Method (docs/profiling.md): the snapshots after the warm-up are split in four quarters (by
 * order); for each site m1, m4 are the medians of its live bytes in quarters 1 and 4, and
 * growth = m4 - m1. Late growth is the rise within the last quarter: the median of its second half
 * minus the median of its first half. A site grows steadily when growth exceeds the noise floor
 * of its level (sampling noise: 2 * sqrt(live * R), at least two samples' worth 2R; 0 in exact
 * mode) and late growth exceeds the noise floor of what came and went at the site during the last
 * quarter (its allocations, when recorded, bounded by twice its level). A cache that stopped
 * filling before the last quarter passes, however late it filled; growth that goes on into the
 * last quarter counts. In exact mode, with no sampling noise, late growth must also be a twelfth
 * of the growth at least (linear growth gives a sixth), so that a full cache replacing entries does
 * not count. Medians make one odd snapshot (a transient buffer, memory freed by exit
 * handlers) count for nothing. */
#ifndef MEMSHIM_LEAK_H
#define MEMSHIM_LEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t t_ms;
  uint32_t n;           /* sites 1..n */
  const int64_t *live;  /* live[id - 1] */
  const int64_t *alloc; /* alloc[id - 1]: bytes allocated so far; NULL when not recorded */
} ms_leak_snap;

typedef struct {
  uint32_t id;
  int64_t growth, late_growth; /* late_growth: the rise within the last quarter */
  bool steady;
} ms_leak_site;

typedef struct {
  bool checked;       /* at least two snapshots in the window */
  uint64_t warmup_ms; /* end of warm-up */
  uint64_t from_ms, to_ms;
  unsigned snapshots; /* in the window */
  int64_t growth;     /* sum over steady sites */
  unsigned nsites;    /* sites that grew, the top ones in the caller's buffer */
  unsigned nsteady;
} ms_leak_result;

/* Pure: no allocation, no locks. sites/cap: the caller's buffer for the top growing sites
 * (sorted by growth, steady ones first). */
void ms_leak_analyze(const ms_leak_snap *snaps, unsigned n, uint64_t warmup_end_ms, uint64_t sample_bytes,
                     ms_leak_site *sites, unsigned cap, ms_leak_result *out);

/* A store of live-bytes snapshots, bounded: when full, every other snapshot is dropped (the
 * newest is kept) and the stride doubles. The caller serialises the calls on one store. The
 * profiler keeps one (below, values by site id: index id - 1), GPU tracking another (values by
 * GPU site list index). */
#define MS_LIVE_STORE_MAX 64
typedef struct {
  uint64_t t_ms;
  uint32_t n;     /* values in live[] */
  int64_t *live;
  int64_t *alloc; /* n more values in the same mapping, or NULL (the store's alloc is false) */
  size_t bytes;   /* of live[]'s mapping */
} ms_live_row;
typedef struct {
  ms_live_row rows[MS_LIVE_STORE_MAX];
  unsigned nrows;
  unsigned stride, ticks; /* ms_live_store_due: a snapshot every stride-th tick */
  bool alloc;             /* rows also carry allocation totals (ms_live_row_alloc) */
} ms_live_store;
#define MS_LIVE_STORE_INIT {.stride = 1}

/* Free every snapshot; stride back to 1. */
void ms_live_store_clear(ms_live_store *s);
/* Counts a tick: true on every stride-th one (the first included). */
bool ms_live_store_due(ms_live_store *s);
/* A new snapshot taken at t_ms with n values, for the caller to fill (raw memory, unset); NULL when
 * out of memory (nothing is then added). Thins the store first when it is full. */
int64_t *ms_live_store_add(ms_live_store *s, uint64_t t_ms, uint32_t n);
/* The latest snapshot's allocation totals (n values, for the caller to fill), NULL when the store
 * does not keep them. */
int64_t *ms_live_row_alloc(ms_live_store *s);
/* ms_leak_analyze over the stored snapshots. */
void ms_live_store_analyze(const ms_live_store *s, uint64_t warmup_end_ms, uint64_t sample_bytes, ms_leak_site *sites,
                           unsigned cap, ms_leak_result *out);
/* The value at index in the first snapshot at or after t_ms (0 if the snapshot has fewer values):
 * true, or false with 0 when no snapshot is that recent. */
bool ms_live_store_at(const ms_live_store *s, uint64_t t_ms, uint32_t index, int64_t *live);

/* The profiler's store, with the live bytes of every site (stack_table). */
void ms_leak_store_reset(uint64_t start_ms);
/* Record the sites' live bytes now. force: ignore the stride (exit, reports). */
void ms_leak_store_take(uint64_t t_ms, bool force);
/* End of the warm-up for a run from the store's start to now_ms (MEMSHIM_LEAK_WARMUP). */
uint64_t ms_leak_warmup_end(uint64_t now_ms);
/* Analyse the stored snapshots under the store's lock. */
void ms_leak_store_analyze(uint64_t warmup_end_ms, uint64_t sample_bytes, ms_leak_site *sites, unsigned cap,
                           ms_leak_result *out);
/* Live bytes of site id in the first snapshot at or after t_ms (0 if none). */
int64_t ms_leak_store_live_at(uint32_t id, uint64_t t_ms);
/* The store's lock is a util/forklock.h lock taken by no fork handler (ms_leak_store_init
 * publishes its word). */
void ms_leak_store_init(void);
void ms_leak_store_atfork_child(void);

#endif
