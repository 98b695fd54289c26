#include "leak.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "../config/options.h"
#include "../util/forklock.h"
#include "../util/raw_mem.h"
#include "profile_internal.h"
#include "stack_table.h"

/* ---- analysis ---- */

#define MS_LEAK_MAX_QUARTER 64

static int64_t ms_median(int64_t *v, unsigned n) {
  for (unsigned i = 1; i < n; i++) { /* insertion sort: n <= 64 */
    int64_t x = v[i];
    unsigned j = i;
    while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
    v[j] = x;
  }
  return n ? (n % 2 ? v[n / 2] : v[n / 2 - 1] / 2 + v[n / 2] / 2) : 0;
}

static int64_t ms_snap_live(const ms_leak_snap *s, uint32_t id) { return id <= s->n ? s->live[id - 1] : 0; }

static int64_t ms_group_median(const ms_leak_snap *w, unsigned from, unsigned to, uint32_t id) {
  int64_t v[MS_LEAK_MAX_QUARTER];
  unsigned k = 0;
  for (unsigned i = from; i < to && k < MS_LEAK_MAX_QUARTER; i++) v[k++] = ms_snap_live(&w[i], id);
  return ms_median(v, k);
}

static bool ms_leak_before(const ms_leak_site *a, const ms_leak_site *b) {
  if (a->steady != b->steady) return a->steady;
  return a->growth > b->growth;
}

/* Sampling noise of an estimate of `bytes` (a level, or what came and went): with one sample per
 * R bytes its standard deviation is about sqrt(bytes * R). A change below twice that (and below two
 * samples' worth) is not told from noise. Exact mode (R = 1) has no sampling noise. */
static int64_t ms_noise_floor(int64_t level, uint64_t sample_bytes) {
  if (sample_bytes <= 1) return 0;
  double sd = sqrt((double)(level > 0 ? level : 0) * (double)sample_bytes);
  int64_t floor = (int64_t)(2.0 * sd);
  return floor > 2 * (int64_t)sample_bytes ? floor : 2 * (int64_t)sample_bytes;
}

/* Bytes allocated at a site from snapshot a to snapshot b (the turnover behind a change in its
 * live bytes); -1 when the snapshots do not carry allocation totals. */
static int64_t ms_snap_allocated(const ms_leak_snap *a, const ms_leak_snap *b, uint32_t id) {
  if (!a->alloc || !b->alloc) return -1;
  int64_t from = id <= a->n ? a->alloc[id - 1] : 0, to = id <= b->n ? b->alloc[id - 1] : 0;
  return to > from ? to - from : 0;
}

/* Noise of a change in a site's live bytes between two parts of the window. The sampled estimate
 * of a change varies with the bytes that came and went meanwhile: allocated A and freed F give a
 * variance of about (A + F) * R, and F = A - change, so A + F = allocated - change; it is bounded
 * by twice the level (a cache turns over at most what it holds). Without allocation totals, full
 * turnover is assumed. So a pure leak (F = 0) needs a change of a few samples, and a churning
 * cache needs one well beyond its level's noise. */
static int64_t ms_change_floor(int64_t change, int64_t level, int64_t allocated, uint64_t sample_bytes) {
  int64_t cap = 2 * (level > 0 ? level : 0);
  int64_t turnover = allocated < 0 ? cap : allocated - (change > 0 ? change : 0);
  return ms_noise_floor(turnover < cap ? turnover : cap, sample_bytes);
}

void ms_leak_analyze(const ms_leak_snap *snaps, unsigned n, uint64_t warmup_end_ms, uint64_t sample_bytes,
                     ms_leak_site *sites, unsigned cap, ms_leak_result *out) {
  memset(out, 0, sizeof *out);
  out->warmup_ms = warmup_end_ms;
  unsigned first = 0;
  while (first < n && snaps[first].t_ms < warmup_end_ms) first++;
  const ms_leak_snap *w = snaps + first;
  unsigned k = n - first;
  out->snapshots = k;
  if (k < 2) return;
  out->checked = true;
  out->from_ms = w[0].t_ms;
  out->to_ms = w[k - 1].t_ms;
  uint32_t maxid = 0;
  for (unsigned i = 0; i < k; i++)
    if (w[i].n > maxid) maxid = w[i].n;
  for (uint32_t id = 1; id <= maxid; id++) {
    /* A site's run ends where the program let go of it on its way out: trailing snapshots that
     * each fell below half of the one before (the exit's, one taken while main freed everything)
     * are not the run the rule judges; medians alone outvote one such snapshot, not two. A
     * gradual decline (a cache whose entries another site replaces) is not cut. */
    unsigned e = k; /* the site's window: w[0 .. e) */
    while (e > 2 && ms_snap_live(&w[e - 1], id) * 2 < ms_snap_live(&w[e - 2], id)) e--;
    /* Quarters by order (at least one snapshot each). The last quarter is split in halves: whether
     * the site still grows there is told by their medians, of three snapshots at least, so that
     * one odd snapshot counts for nothing: with fewer than 24 snapshots the last six stand for
     * the last quarter (all of them below six). */
    unsigned q = e >= 4 ? e / 4 : 1, a4 = e - q;
    unsigned t = q >= 6 ? q : e < 6 ? e : 6, t4 = e - t, mid = t4 + t / 2;
    int64_t m1 = ms_group_median(w, 0, q, id);
    int64_t m4 = ms_group_median(w, a4, e, id);
    int64_t growth = m4 - m1;
    if (growth <= 0) continue;
    int64_t late = ms_group_median(w, mid, e, id) - ms_group_median(w, t4, mid, id);
    ms_leak_site s = {.id = id, .growth = growth, .late_growth = late};
    s.steady = growth > ms_change_floor(growth, m4, ms_snap_allocated(&w[0], &w[e - 1], id), sample_bytes) &&
               late > ms_change_floor(late, m4, ms_snap_allocated(&w[t4], &w[e - 1], id), sample_bytes);
    /* Exact mode has no sampling noise, but a full cache still moves by an entry or two as it
     * replaces them: the rise within the last quarter must be a real part of the growth (linear
     * growth gives a sixth; a cache that holds, next to nothing). */
    if (sample_bytes <= 1) s.steady = s.steady && late * 12 >= growth;
    if (s.steady) {
      out->growth += growth;
      out->nsteady++;
    }
    /* keep the top `cap` in sites[] (insertion into a sorted buffer) */
    unsigned len = out->nsites < cap ? out->nsites : cap;
    out->nsites++;
    if (!cap) continue;
    if (len == cap && !ms_leak_before(&s, &sites[cap - 1])) continue;
    unsigned j = len == cap ? cap - 1 : len;
    while (j > 0 && ms_leak_before(&s, &sites[j - 1])) { sites[j] = sites[j - 1]; j--; }
    sites[j] = s;
  }
  if (out->nsites > cap) out->nsites = cap;
}

/* ---- a store ---- */

void ms_live_store_clear(ms_live_store *s) {
  for (unsigned i = 0; i < s->nrows; i++) ms_raw_free(s->rows[i].live, s->rows[i].bytes);
  s->nrows = 0;
  s->stride = 1;
  s->ticks = 0;
}

bool ms_live_store_due(ms_live_store *s) { return s->ticks++ % s->stride == 0; }

static void ms_live_store_thin(ms_live_store *s) {
  unsigned j = 0;
  for (unsigned i = 0; i < s->nrows; i++) {
    if (i % 2 == 0 || i == s->nrows - 1) s->rows[j++] = s->rows[i];
    else ms_raw_free(s->rows[i].live, s->rows[i].bytes);
  }
  s->nrows = j;
  s->stride *= 2;
}

int64_t *ms_live_store_add(ms_live_store *s, uint64_t t_ms, uint32_t n) {
  size_t values = (size_t)(n ? n : 1) * (s->alloc ? 2 : 1);
  size_t bytes = (values * sizeof(int64_t) + 4095) & ~(size_t)4095;
  int64_t *live = ms_raw_alloc(bytes);
  if (!live) return NULL;
  if (s->nrows == MS_LIVE_STORE_MAX) ms_live_store_thin(s);
  s->rows[s->nrows++] =
    (ms_live_row){.t_ms = t_ms, .n = n, .live = live, .alloc = s->alloc ? live + (n ? n : 1) : NULL, .bytes = bytes};
  return live;
}

int64_t *ms_live_row_alloc(ms_live_store *s) { return s->nrows ? s->rows[s->nrows - 1].alloc : NULL; }

void ms_live_store_analyze(const ms_live_store *s, uint64_t warmup_end_ms, uint64_t sample_bytes, ms_leak_site *sites,
                           unsigned cap, ms_leak_result *out) {
  ms_leak_snap v[MS_LIVE_STORE_MAX];
  for (unsigned i = 0; i < s->nrows; i++) v[i] = (ms_leak_snap){s->rows[i].t_ms, s->rows[i].n, s->rows[i].live, s->rows[i].alloc};
  ms_leak_analyze(v, s->nrows, warmup_end_ms, sample_bytes, sites, cap, out);
}

bool ms_live_store_at(const ms_live_store *s, uint64_t t_ms, uint32_t index, int64_t *live) {
  for (unsigned i = 0; i < s->nrows; i++)
    if (s->rows[i].t_ms >= t_ms) {
      *live = index < s->rows[i].n ? s->rows[i].live[index] : 0;
      return true;
    }
  *live = 0;
  return false;
}

/* ---- the profiler's store ---- */

/* No fork handler takes it (util/forklock.h). Its holders (the snapshot job on our thread, which
 * prepare stops; reports, under the report lock prepare holds; resets) are seldom mid-way at a
 * fork; ms_store_seq is odd while one changes the store, and a child that finds it so forgets
 * the rows without releasing them (a row may be half-added). */
static ms_forklock ms_store_lk;
static uint32_t ms_store_seq;
static uint32_t *ms_store_held;
/* with allocation totals: the rise of a churning site is told from its turnover's noise */
static ms_live_store ms_store = {.stride = 1, .alloc = true};
static uint64_t ms_store_start_ms;
static uint64_t ms_total_peak; /* highest sum of sites' live bytes in any snapshot */

uint64_t ms_profile_peak_bytes(void) { return __atomic_load_n(&ms_total_peak, __ATOMIC_RELAXED); }

static void ms_store_lock(void) {
  uint32_t *w = ms_forklock_lock(&ms_store_lk);
  ms_store_held = w;
  if (__atomic_load_n(&ms_store_seq, __ATOMIC_RELAXED) & 1) ms_store.nrows = 0; /* a fork child: see above */
  __atomic_store_n(&ms_store_seq, ms_store_seq | 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
}
static void ms_store_unlock(void) {
  __atomic_store_n(&ms_store_seq, ms_store_seq + 1, __ATOMIC_RELEASE);
  ms_forklock_unlock(ms_store_held);
}
void ms_leak_store_init(void) { ms_forklock_init(&ms_store_lk); }
void ms_leak_store_atfork_child(void) { ms_forklock_child(&ms_store_lk); }

void ms_leak_store_reset(uint64_t start_ms) {
  ms_store_lock();
  ms_live_store_clear(&ms_store);
  ms_store_start_ms = start_ms;
  ms_store_unlock();
}

void ms_leak_store_take(uint64_t t_ms, bool force) {
  ms_store_lock();
  if (!force && !ms_live_store_due(&ms_store)) goto out; /* a forced one counts no tick */
  uint32_t n = ms_stacks_count();
  int64_t *live = ms_live_store_add(&ms_store, t_ms, n), *alloc = ms_live_row_alloc(&ms_store);
  if (!live) goto out;
  int64_t total = 0;
  for (uint32_t id = 1; id <= n; id++) {
    live[id - 1] = __atomic_load_n(&ms_stacks_site(id)->live_bytes, __ATOMIC_RELAXED);
    alloc[id - 1] = (int64_t)__atomic_load_n(&ms_stacks_site(id)->alloc_bytes, __ATOMIC_RELAXED);
    total += live[id - 1];
  }
  if (total > 0 && (uint64_t)total > ms_total_peak) __atomic_store_n(&ms_total_peak, (uint64_t)total, __ATOMIC_RELAXED);
out:
  ms_store_unlock();
}

uint64_t ms_leak_warmup_end(uint64_t now_ms) {
  double f;
  uint64_t ms;
  uint64_t start = ms_store_start_ms, run = now_ms > start ? now_ms - start : 0;
  if (ms_opt_fraction(MS_OPT_LEAK_WARMUP, &f, &ms)) return start + (uint64_t)((double)run * f);
  return start + ms;
}

void ms_leak_store_analyze(uint64_t warmup_end_ms, uint64_t sample_bytes, ms_leak_site *sites, unsigned cap,
                           ms_leak_result *out) {
  ms_store_lock();
  ms_live_store_analyze(&ms_store, warmup_end_ms, sample_bytes, sites, cap, out);
  ms_store_unlock();
}

int64_t ms_leak_store_live_at(uint32_t id, uint64_t t_ms) {
  int64_t v;
  ms_store_lock();
  ms_live_store_at(&ms_store, t_ms, id - 1, &v);
  ms_store_unlock();
  return v;
}
