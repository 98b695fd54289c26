/* Filling a snapshot from the profiler's tables (moved here from report/report.c: the report
 * directory only writes). Site counters are read lock-free; the snapshot store is read under its
 * own lock; every array comes from the caller's arena (raw memory, never our own heap). */
#include "collect.h"

#include <string.h>

#include "leak.h"
#include "reach.h"
#include "profile.h"
#include "profile_internal.h"
#include "ptr_map.h"
#include "stack_table.h"
#include "symbolize.h"
#include "../util/sort.h"
#include "pyframes.h" /* tagged frames (bit 63) name interned (file, function, line) records */

#define MS_LEAK_TOP 64
/* Sites kept beyond those holding live bytes or growth: the most allocating ones. At exit a
 * churning program has thousands of stacks whose blocks are all freed; listing them all made
 * the exit report cost more than the profiling itself. Totals still count every site. */
#define MS_REPORT_ALLOC_TOP 256
#define MS_MODULES_MAX 512

typedef struct {
  uint32_t id;
  const ms_site *site;
  int64_t live, count, growth;
  uint64_t alloc, alloc_count, peak;
} ms_site_copy;

static int ms_by_allocated(const void *a, const void *b) {
  const ms_site_copy *x = a, *y = b;
  if (x->alloc != y->alloc) return x->alloc > y->alloc ? -1 : 1;
  return x->id < y->id ? -1 : 1;
}

static int ms_by_live(const void *a, const void *b) {
  const ms_snap_site *x = a, *y = b;
  if (x->heap.live_bytes != y->heap.live_bytes) return x->heap.live_bytes > y->heap.live_bytes ? -1 : 1;
  return x->id < y->id ? -1 : 1;
}

static void ms_resolve(uintptr_t pc, ms_snap_frame *f) {
  if (ms_frame_is_py(pc)) {
    const char *file = "?", *function = "??";
    uint32_t line = 0;
    ms_py_frame_get(ms_frame_py_id(pc), &file, &function, &line);
    *f = (ms_snap_frame){.kind = MS_SNAP_PYTHON, .function = function, .file = file, .line = line};
    return;
  }
  ms_symbol sym;
  ms_symbolize(pc - 1, &sym); /* the call instruction, not the return address */
  *f = (ms_snap_frame){.kind = MS_SNAP_NATIVE, .function = sym.function, .module = sym.module, .offset = sym.offset};
}

/* The modules native frames point into, each with its build id; the executable first. Called
 * again once sites were appended (ms_profile_sites_for), it keeps the modules listed so far, build
 * ids read once, and appends those only the new sites point into: the same list, in the same
 * order, as one call after all sites are in. */
static void ms_collect_modules(ms_snapshot *s, ms_arena *a) {
  ms_snap_module *m = ms_arena_alloc(a, MS_MODULES_MAX * sizeof *m);
  if (!m) return;
  unsigned n = 0;
  if (s->nmodules) {
    memcpy(m, s->modules, s->nmodules * sizeof *m);
    n = s->nmodules;
  } else {
    const char *exe = ms_symbolize_exe_path(); /* the caller began symbolizing: it is current */
    if (*exe) {
      m[n].path = ms_arena_strdup(a, exe);
      m[n].build_id = ms_symbolize_build_id(exe);
      n++;
    }
  }
  for (uint32_t i = 0; i < s->nsites; i++) {
    for (uint32_t k = 0; k < s->sites[i].nframes && n < MS_MODULES_MAX; k++) {
      const ms_snap_frame *f = &s->sites[i].frames[k];
      if (f->kind != MS_SNAP_NATIVE || !f->module || f->module[0] != '/') continue;
      unsigned j = 0;
      while (j < n && strcmp(m[j].path, f->module) != 0) j++;
      if (j < n) continue;
      m[n].path = f->module;
      m[n].build_id = ms_symbolize_build_id(f->module);
      n++;
    }
  }
  s->modules = m;
  s->nmodules = n;
}

int ms_profile_collect(ms_snapshot *s, ms_arena *a) {
  uint64_t now = ms_profile_now_ms();
  s->time_ms = now;
  s->has_profile = true;
  s->sample_bytes = ms_profile_sample_bytes();
  s->exact = s->sample_bytes <= 1;
  s->stack_depth = ms_profile_stack_depth();

  ms_leak_store_take(now, true);
  uint64_t warm = ms_leak_warmup_end(now);
  uint32_t n = ms_stacks_count();
  s->sites_count = n;
  s->sampled_live = ms_ptrs_count();
  s->memory_bytes = ms_stacks_memory() + ms_ptrs_memory();

  ms_site_copy *all = ms_arena_array(a, n, sizeof *all);
  ms_leak_site *leak = ms_arena_alloc(a, MS_LEAK_TOP * sizeof *leak);
  if (!all || !leak) return -1;
  /* A Python process at exit: the interpreter's teardown has freed what the program held, so
   * its live bytes are taken from the last snapshot before that (counts estimated from each
   * site's mean allocation size); the report says so. */
  uint64_t live_at = 0;
  bool torn_down = ms_profile_torn_down(&live_at);
  if (torn_down) s->live_before_teardown_ms = live_at;
  ms_snap_mem *tot = &s->total_heap;
  tot->present = true;
  tot->peak_live_bytes = ms_profile_peak_bytes();
  uint32_t nall = 0;
  for (uint32_t id = 1; id <= n; id++) {
    const ms_site *site = ms_stacks_site(id);
    ms_site_copy *c = &all[nall];
    c->alloc_count = __atomic_load_n(&site->alloc_count, __ATOMIC_RELAXED);
    if (!c->alloc_count) continue;
    c->id = id;
    c->site = site;
    c->live = __atomic_load_n(&site->live_bytes, __ATOMIC_RELAXED);
    c->count = __atomic_load_n(&site->live_count, __ATOMIC_RELAXED);
    c->alloc = __atomic_load_n(&site->alloc_bytes, __ATOMIC_RELAXED);
    c->peak = __atomic_load_n(&site->peak_bytes, __ATOMIC_RELAXED);
    if (torn_down) {
      c->live = ms_leak_store_live_at(id, live_at);
      c->count = c->live > 0 ? (int64_t)(((uint64_t)c->live * c->alloc_count + c->alloc / 2) / (c->alloc ? c->alloc : 1)) : 0;
      if (c->live > 0 && !c->count) c->count = 1;
    }
    c->growth = now >= warm ? c->live - ms_leak_store_live_at(id, warm) : 0;
    tot->live_bytes += c->live;
    tot->live_count += c->count;
    tot->allocated_bytes += c->alloc;
    tot->allocated_count += c->alloc_count;
    nall++;
  }

  ms_leak_result res;
  ms_leak_store_analyze(warm, s->sample_bytes, leak, MS_LEAK_TOP, &res);
  uint64_t limit = 0;
  bool has_limit = ms_profile_leak_limit(&limit);
  ms_snap_leak_site *ls = ms_arena_array(a, res.nsites, sizeof *ls);
  if (!ls) return -1;
  for (unsigned i = 0; i < res.nsites; i++)
    ls[i] = (ms_snap_leak_site){leak[i].id, leak[i].growth, leak[i].late_growth, leak[i].steady};
  s->leak = (ms_snap_leak){.checked = res.checked, .warmup_ms = res.warmup_ms, .from_ms = res.from_ms,
                           .to_ms = res.to_ms, .snapshots = res.snapshots, .has_limit = has_limit,
                           .limit_bytes = limit, .growth_bytes = res.growth,
                           .verdict = ms_snap_verdict(res.checked, has_limit, limit, res.growth), .sites = ls,
                           .nsites = res.nsites};

  const ms_reach_result *r = ms_reach_last(); /* its memory lives until the process ends */
  if (r)
    s->unreachable = (ms_snap_unreach){.present = true, .scanned = r->scanned, .why_not = r->why_not,
                                       .blocks = r->blocks, .lost = r->lost, .threads = r->threads,
                                       .sites = r->sites, .nsites = r->nsites};

  /* keep the interesting sites, resolve their frames */
  ms_sort(all, nall, sizeof *all, ms_by_allocated);
  ms_snap_site *out = ms_arena_array(a, nall, sizeof *out);
  if (!out) return -1;
  uint32_t kept = 0;
  bool peaks = ms_stacks_peaks_were_reset(); /* memshim_peak_reset: a site's peak since then counts */
  ms_symbolize_begin();
  for (uint32_t i = 0; i < nall; i++) {
    const ms_site_copy *c = &all[i];
    bool keep = i < MS_REPORT_ALLOC_TOP || c->live != 0 || c->growth > 0 ||
                (peaks && c->peak > (uint64_t)(c->live > 0 ? c->live : 0));
    for (unsigned k = 0; !keep && k < res.nsites; k++) keep = leak[k].id == c->id;
    if (!keep) continue;
    ms_snap_site *o = &out[kept++];
    o->id = c->id;
    o->heap = (ms_snap_mem){.present = true, .live_bytes = c->live, .live_count = c->count,
                            .allocated_bytes = c->alloc, .allocated_count = c->alloc_count,
                            .peak_live_bytes = c->peak, .growth_bytes = c->growth};
    ms_snap_frame *f = ms_arena_array(a, c->site->depth, sizeof *f);
    if (!f) return -1;
    for (uint32_t k = 0; k < c->site->depth; k++) ms_resolve(c->site->frames[k], &f[k]);
    o->frames = f;
    o->nframes = c->site->depth;
  }
  ms_sort(out, kept, sizeof *out, ms_by_live);
  s->sites = out;
  s->nsites = kept;
  ms_collect_modules(s, a);
  return 0;
}

ms_snap_site *ms_profile_sites_for(ms_snapshot *s, ms_arena *a, const uint32_t *ids, uint32_t n, uint32_t *index) {
  uint32_t missing = 0;
  for (uint32_t i = 0; i < n; i++) {
    index[i] = UINT32_MAX;
    for (uint32_t k = 0; k < s->nsites && index[i] == UINT32_MAX; k++)
      if (s->sites[k].id == ids[i]) index[i] = k;
    missing += index[i] == UINT32_MAX;
  }
  ms_snap_site *out = ms_arena_array(a, (size_t)s->nsites + missing, sizeof *out);
  if (!out) return NULL;
  memcpy(out, s->sites, s->nsites * sizeof *out);
  if (missing && !s->has_profile) ms_symbolize_begin(); /* else begun by ms_profile_collect */
  uint32_t k = s->nsites;
  for (uint32_t i = 0; i < n; i++) {
    const ms_site *site = ms_stacks_site(ids[i]);
    if (index[i] != UINT32_MAX || !site) continue;
    ms_snap_frame *f = ms_arena_array(a, site->depth, sizeof *f);
    if (!f) return NULL;
    for (uint32_t d = 0; d < site->depth; d++) ms_resolve(site->frames[d], &f[d]);
    out[k] = (ms_snap_site){.id = ids[i], .frames = f, .nframes = site->depth};
    index[i] = k++;
  }
  s->sites = out;
  s->nsites = k;
  if (missing) ms_collect_modules(s, a); /* with profiling on, the heap sites' modules are listed already */
  return out;
}

int ms_profile_leak_now(int64_t *growth, unsigned *steady_sites) {
  if (!ms_profile_active) return 0;
  ms_leak_result res;
  ms_leak_store_analyze(ms_leak_warmup_end(ms_profile_now_ms()), ms_profile_sample_bytes(), NULL, 0, &res);
  if (!res.checked) return 0;
  *growth = res.growth;
  *steady_sites = res.nsteady;
  return 1;
}
