/* The text report, for people: process, totals, top sites by live bytes with their stacks, the
 * sites that grew since the warm-up, GPU devices when present, the leak verdict. */
#include <string.h>

#include "../util/sort.h"
#include "write.h"

#define MS_TEXT_GROWTH_FRAMES 4

static void ms_text_mem(ms_out *o, const char *what, const ms_snap_mem *m) {
  char live[32], peak[32], alloc[32];
  ms_fmt_bytes(live, sizeof live, (double)m->live_bytes);
  ms_fmt_bytes(peak, sizeof peak, (double)m->peak_live_bytes);
  ms_fmt_bytes(alloc, sizeof alloc, (double)m->allocated_bytes);
  ms_out_printf(o, "%s: %s live in %lld allocations (peak %s); %s allocated in total\n", what, live,
                (long long)m->live_count, peak, alloc);
}

/* The indices of the sites with the largest key > 0, largest first, at most cap of them (an
 * insertion into a sorted list on the caller's stack); *total counts every site with a key > 0. */
static unsigned ms_text_top(const ms_snapshot *s, int64_t (*key)(const ms_snap_site *), uint32_t *order, unsigned cap,
                            unsigned *total) {
  unsigned n = 0;
  *total = 0;
  for (uint32_t i = 0; i < s->nsites; i++) {
    int64_t v = key(&s->sites[i]);
    if (v <= 0) continue;
    ++*total;
    unsigned k;
    if (n < cap) k = n++;
    else if (key(&s->sites[order[k = cap - 1]]) >= v) continue;
    while (k > 0 && key(&s->sites[order[k - 1]]) < v) {
      order[k] = order[k - 1];
      k--;
    }
    order[k] = i;
  }
  return n;
}
static int64_t ms_key_device_live(const ms_snap_site *site) { return site->device.present ? site->device.live_bytes : 0; }

static void ms_text_frames(ms_out *o, const ms_snap_site *site) {
  char name[1024];
  for (uint32_t f = 0; f < site->nframes; f++) {
    ms_frame_where(&site->frames[f], "  ", name, sizeof name);
    ms_out_str(o, "      "); /* not printf: its line buffer would cut a long C++ name's newline */
    ms_out_str(o, name);
    ms_out_str(o, "\n");
  }
  if (!site->nframes) ms_out_str(o, "      [no stack]\n");
}

/* GPU: per device tracked = live + pool reserved, NVML's figure and the residual, then the sites
 * holding the most device memory (with profiling on, the heap list may not reach them) and the
 * threshold/out-of-memory events. */
#define MS_TEXT_DEVICE_TOP_MAX 64
static void ms_text_gpu(const ms_snapshot *s, unsigned top, ms_out *o) {
  if (!s->gpu.present) return;
  char a[32], b[32], c[32], d[32];
  ms_fmt_bytes(a, sizeof a, (double)s->gpu.tracked_growth_bytes);
  ms_out_printf(o, "gpu: runtime %s, NVML %s, tracked growth %s\n", s->gpu.runtime ? s->gpu.runtime : "?",
                s->gpu.nvml ? "yes" : "no", a);
  for (unsigned i = 0; i < s->gpu.ndevices; i++) {
    const ms_snap_gpu_device *g = &s->gpu.devices[i];
    ms_fmt_bytes(a, sizeof a, (double)g->tracked_bytes);
    ms_out_printf(o, "  device %u %s: tracked %s, ", (unsigned)g->index, g->name && *g->name ? g->name : "?", a);
    if (g->nvml_process == MS_SNAP_NVML_NOT_LISTED) {
      ms_out_str(o, "used unknown (NVML does not list this process)");
    } else {
      ms_fmt_bytes(b, sizeof b, (double)g->nvml_used_bytes);
      ms_fmt_bytes(c, sizeof c, (double)g->residual_bytes);
      ms_out_printf(o, "used %s (residual %s)", b, c);
    }
    ms_fmt_bytes(d, sizeof d, (double)g->total_bytes);
    ms_out_printf(o, " of %s\n", d);
    if (g->pool_reserved_bytes || g->host_pinned_bytes) {
      ms_fmt_bytes(a, sizeof a, (double)g->pool_reserved_bytes);
      ms_fmt_bytes(b, sizeof b, (double)g->host_pinned_bytes);
      ms_out_printf(o, "    pool reserved %s (part of tracked); host pinned %s (RAM, not VRAM)\n", a, b);
    }
  }
  ms_out_str(o, "  (residual: NVML's figure minus tracked: the CUDA context, kernel images, libraries' own memory)\n");
  uint32_t order[MS_TEXT_DEVICE_TOP_MAX];
  unsigned total, n = ms_text_top(s, ms_key_device_live, order, ms_limit(MS_TEXT_DEVICE_TOP_MAX, top), &total);
  ms_out_printf(o, "\ntop %u of %u call sites by live device bytes:\n", n, total);
  for (unsigned i = 0; i < n; i++) {
    const ms_snap_site *site = &s->sites[order[i]];
    ms_fmt_bytes(a, sizeof a, (double)site->device.live_bytes);
    ms_fmt_bytes(b, sizeof b, (double)site->device.allocated_bytes);
    ms_fmt_bytes(c, sizeof c, (double)site->device.growth_bytes);
    ms_out_printf(o, "#%u  %s live in %lld allocations via %s  (allocated %s, growth %s)  site %u\n", i + 1, a,
                  (long long)site->device.live_count, site->device_api ? site->device_api : "?", b, c, (unsigned)site->id);
    ms_text_frames(o, site);
  }
  for (unsigned i = 0; i < s->gpu.nevents; i++) {
    const ms_snap_gpu_event *e = &s->gpu.events[i];
    ms_fmt_bytes(a, sizeof a, (double)e->bytes);
    ms_out_printf(o, "%s%.1f s  %s on device %u: %s %s; top sites:", i ? "" : "\ngpu events:\n", (double)e->t_ms / 1000.0,
                  e->kind ? e->kind : "?", (unsigned)e->device, e->kind && !strcmp(e->kind, "oom") ? "request of" : "device used", a);
    for (unsigned k = 0; k < e->ntop_sites; k++) {
      ms_fmt_bytes(b, sizeof b, (double)e->top_sites[k].live_bytes);
      ms_out_printf(o, " %u (%s)%s", (unsigned)e->top_sites[k].id, b, k + 1 < e->ntop_sites ? "," : "");
    }
    ms_out_str(o, e->ntop_sites ? "\n" : " none\n");
  }
}

/* A row of the text report: the sites of one group (ms_snap_group_sites) summed. */
typedef struct {
  uint32_t rep, members;
  int64_t live, count, growth, dlive, dcount, dgrowth;
  uint64_t alloc;
  bool device;
} ms_text_row;

typedef struct {
  ms_text_row *rows;
  uint32_t n;
  uint32_t stacks; /* sites in the rows (mapping-only sites are not) */
  const uint32_t *group; /* per site: its group's first site; NULL: each site alone */
} ms_text_rows;

/* Rows in site order (the first site of a group is its largest); a group's row takes the place
 * of its first site. Out of memory: n = 0 and rows = NULL (the caller lists raw sites). */
static void ms_text_rows_build(const ms_snapshot *s, ms_arena *a, ms_text_rows *r) {
  r->group = ms_snap_group_sites(s, a);
  r->rows = ms_arena_array(a, s->nsites, sizeof *r->rows);
  uint32_t *row_of = ms_arena_array(a, s->nsites, sizeof *row_of);
  r->n = r->stacks = 0;
  if (!r->group || !r->rows || !row_of) {
    r->rows = NULL;
    r->group = NULL;
    return;
  }
  for (uint32_t i = 0; i < s->nsites; i++) {
    const ms_snap_site *site = &s->sites[i];
    uint32_t g = r->group[i];
    ms_text_row *row;
    /* a site listed only for a file mapping (mapped_files) holds no heap or device bytes */
    if (!site->heap.present && !site->device.present && !site->host_pinned.present) {
      row_of[i] = UINT32_MAX;
      continue;
    }
    if (g == i || row_of[g] == UINT32_MAX) {
      row_of[i] = row_of[g] = r->n;
      row = &r->rows[r->n++];
      row->rep = i;
    } else {
      row = &r->rows[row_of[g]];
    }
    row->members++;
    r->stacks++;
    row->live += site->heap.live_bytes;
    row->count += site->heap.live_count;
    row->alloc += site->heap.allocated_bytes;
    row->growth += site->heap.growth_bytes;
    if (site->device.present) {
      row->device = true;
      row->dlive += site->device.live_bytes;
      row->dcount += site->device.live_count;
      row->dgrowth += site->device.growth_bytes;
    }
  }
}

/* Rows by key, largest first (ties: site order): an in-place heap sort, no heap memory. */
typedef struct {
  int64_t key;
  uint32_t row;
} ms_text_order;
static int ms_text_order_cmp(const void *pa, const void *pb) {
  const ms_text_order *x = pa, *y = pb;
  if (x->key != y->key) return x->key > y->key ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}
static void ms_text_rows_sort(const ms_text_rows *r, bool growth, ms_text_order *order) {
  for (uint32_t i = 0; i < r->n; i++) order[i] = (ms_text_order){growth ? r->rows[i].growth : r->rows[i].live, i};
  ms_sort(order, r->n, sizeof *order, ms_text_order_cmp);
}

/* The other sites of a merged row: "+ 2 more native stacks under this Python line: site 7 (1.2
 * MiB), site 9 (512 KiB)", at most 6 named. */
#define MS_TEXT_MEMBERS_NAMED 6
static void ms_text_members(const ms_snapshot *s, const ms_text_rows *r, const ms_text_row *row, ms_out *o) {
  if (row->members < 2) return;
  ms_out_printf(o, "      + %u more native stack%s under this Python line:", (unsigned)(row->members - 1),
                row->members > 2 ? "s" : "");
  unsigned named = 0;
  for (uint32_t i = row->rep + 1; i < s->nsites && named < MS_TEXT_MEMBERS_NAMED; i++) {
    const ms_snap_site *m = &s->sites[i];
    if (r->group[i] != row->rep || (!m->heap.present && !m->device.present && !m->host_pinned.present)) continue;
    char b[32];
    ms_fmt_bytes(b, sizeof b, (double)s->sites[i].heap.live_bytes);
    ms_out_printf(o, "%s site %u (%s)", named ? "," : "", (unsigned)s->sites[i].id, b);
    named++;
  }
  ms_out_str(o, row->members - 1 > named ? ", ...\n" : "\n");
}

/* Rows with heap growth > 0, largest first. */
static void ms_text_growth(const ms_snapshot *s, const ms_text_rows *r, ms_text_order *order, unsigned top, ms_out *o) {
  ms_text_rows_sort(r, true, order);
  unsigned total = 0;
  while (total < r->n && r->rows[order[total].row].growth > 0) total++;
  unsigned shown = ms_limit(total, top);
  ms_out_printf(o, "\ntop %u of %u call sites by growth since the warm-up:\n", shown, total);
  for (unsigned i = 0; i < shown; i++) {
    const ms_text_row *row = &r->rows[order[i].row];
    const ms_snap_site *site = &s->sites[row->rep];
    char g[32], name[512];
    ms_fmt_bytes(g, sizeof g, (double)row->growth);
    ms_out_printf(o, "+%s  site %u:", g, (unsigned)site->id);
    for (uint32_t f = 0; f < site->nframes && f < MS_TEXT_GROWTH_FRAMES; f++) {
      ms_frame_label(&site->frames[f], name, sizeof name);
      ms_out_str(o, f ? " <- " : " ");
      ms_out_str(o, name);
    }
    ms_out_str(o, site->nframes > MS_TEXT_GROWTH_FRAMES ? " <- ..." : "");
    if (row->members > 1)
      ms_out_printf(o, " (and %u more native stack%s of this Python line)", (unsigned)(row->members - 1),
                    row->members > 2 ? "s" : "");
    ms_out_str(o, "\n");
  }
}

/* The reachability scan's verdict: the sites of the blocks nothing points to any more. */
static void ms_text_unreach(const ms_snapshot *s, unsigned top, ms_out *o) {
  const ms_snap_unreach *u = &s->unreachable;
  if (!u->present) return;
  if (!u->scanned) {
    ms_out_printf(o, "\nunreachable at exit: not scanned (%s)\n", u->why_not ? u->why_not : "?");
    return;
  }
  char d[32], i[32];
  ms_fmt_bytes(d, sizeof d, (double)u->lost.direct_bytes);
  ms_fmt_bytes(i, sizeof i, (double)u->lost.indirect_bytes);
  ms_out_printf(o, "\nunreachable at exit: %s in %llu blocks directly, %s in %llu indirectly (%llu live blocks scanned)\n",
                d, (unsigned long long)u->lost.direct_count, i, (unsigned long long)u->lost.indirect_count,
                (unsigned long long)u->blocks);
  unsigned shown = ms_limit(u->nsites, top);
  for (unsigned k = 0; k < shown; k++) {
    const ms_snap_unreach_site *us = &u->sites[k];
    const ms_snap_site *site = ms_snap_find_site(s, us->id);
    char where[512] = "?";
    if (site) ms_site_where(site, where, sizeof where);
    ms_fmt_bytes(d, sizeof d, (double)us->lost.direct_bytes);
    ms_fmt_bytes(i, sizeof i, (double)us->lost.indirect_bytes);
    ms_out_printf(o, "  %s direct in %llu, %s indirect in %llu: site %u %s\n", d,
                  (unsigned long long)us->lost.direct_count, i, (unsigned long long)us->lost.indirect_count,
                  (unsigned)us->id, where);
  }
}

/* The top call sites by live bytes and by growth, one row per Python line. */
static void ms_text_sites(const ms_snapshot *s, unsigned top, ms_out *o) {
  char a[32], b[32], c[32];
  /* one row per Python line (ms_snap_group_sites); the arena is pages of its own, never the heap */
  ms_arena arena;
  ms_arena_init(&arena);
  ms_text_rows rows;
  ms_text_rows_build(s, &arena, &rows);
  ms_text_order *order = ms_arena_array(&arena, s->nsites, sizeof *order);
  if (!rows.rows || !order) {
    ms_arena_release(&arena);
    ms_out_str(o, "\ncall sites: not listed (no memory for the list)\n");
    return;
  }
  ms_text_rows_sort(&rows, false, order);
  unsigned n = ms_limit(rows.n, top);
  ms_out_printf(o, "\ntop %u of %u call sites by live bytes", n, (unsigned)rows.n);
  if (rows.n < rows.stacks) ms_out_printf(o, " (%u stacks; stacks of one Python line merged)", (unsigned)rows.stacks);
  ms_out_str(o, ":\n");
  for (unsigned i = 0; i < n; i++) {
    const ms_text_row *row = &rows.rows[order[i].row];
    const ms_snap_site *site = &s->sites[row->rep];
    ms_fmt_bytes(a, sizeof a, (double)row->live);
    ms_fmt_bytes(b, sizeof b, (double)row->alloc);
    ms_fmt_bytes(c, sizeof c, (double)row->growth);
    ms_out_printf(o, "#%u  %s live in %lld allocations  (allocated %s, growth %s)  site %u", i + 1, a,
                  (long long)row->count, b, c, (unsigned)site->id);
    const ms_snap_frame *named = ms_site_named_frame(site); /* a Python site: its line first */
    if (named && named->kind == MS_SNAP_PYTHON) {
      char name[1024];
      ms_frame_label(named, name, sizeof name);
      ms_out_str(o, ": ");
      ms_out_str(o, name);
    }
    if (row->members > 1) ms_out_printf(o, "  [%u native stacks]", (unsigned)row->members);
    ms_out_str(o, "\n");
    if (row->device) {
      ms_fmt_bytes(a, sizeof a, (double)row->dlive);
      ms_fmt_bytes(c, sizeof c, (double)row->dgrowth);
      ms_out_printf(o, "    device: %s live in %lld allocations (growth %s)\n", a, (long long)row->dcount, c);
    }
    ms_text_frames(o, site);
    ms_text_members(s, &rows, row, o);
  }

  ms_text_growth(s, &rows, order, top, o);
  ms_arena_release(&arena);
}

/* Tracked file mappings apart from the heap: per call site, what of each is resident now. */
static void ms_text_mapped(const ms_snapshot *s, unsigned top, ms_out *o) {
  if (!s->nmapped) return;
  char a[32], b[32], c[32];
  uint64_t resident = 0;
  for (unsigned i = 0; i < s->nmapped; i++) resident += s->mapped[i].resident_bytes;
  ms_fmt_bytes(a, sizeof a, (double)resident);
  ms_fmt_bytes(b, sizeof b, (double)ms_snap_mapped_droppable(s));
  ms_out_printf(o, "\nmapped files (not heap): %u tracked, %s resident, of it %s page cache the cap can drop\n",
                s->nmapped, a, b);
  unsigned n = ms_limit(s->nmapped, top);
  for (unsigned i = 0; i < n; i++) {
    const ms_snap_mapping *m = &s->mapped[i];
    const ms_snap_site *site = m->site ? ms_snap_find_site(s, m->site) : NULL;
    char where[1024] = "site unknown (profiling was off)";
    if (site && site->nframes) ms_site_where(site, where, sizeof where);
    ms_fmt_bytes(a, sizeof a, (double)m->resident_bytes);
    ms_fmt_bytes(c, sizeof c, (double)(m->end - m->start));
    ms_out_printf(o, "  %s resident of %s mapped, %s  %s  at %s\n", a, c, m->droppable ? "droppable" : "kept",
                  m->path ? m->path : "?", where);
    if (!m->path) ms_out_printf(o, "    range 0x%llx-0x%llx\n", (unsigned long long)m->start, (unsigned long long)m->end);
  }
  if (n < s->nmapped) ms_out_printf(o, "  ... %u more\n", s->nmapped - n);
}

void ms_write_text(const ms_snapshot *s, const ms_write_opts *opt, ms_out *o) {
  unsigned top = opt ? opt->top : 10;
  char a[32];
  ms_out_printf(o, "memshim report: %s (pid %lld), %s report at %.1f s, backend %s\n",
                s->process.command ? s->process.command : "?", (long long)s->process.pid,
                s->reason ? s->reason : "?", (double)s->time_ms / 1000.0,
                s->process.backend ? s->process.backend : "?");
  if (s->process.report_write_errors)
    ms_out_printf(o, "report files this process could not write before this one: %llu (MEMSHIM_VERBOSE=1 says why)\n",
                  (unsigned long long)s->process.report_write_errors);
  if (s->container.present) {
    char lim[32], use[32], room[32];
    ms_out_printf(o, "container: cgroup v%d %s", s->container.version, s->container.cgroup ? s->container.cgroup : "?");
    if (s->container.limit_bytes) {
      ms_fmt_bytes(lim, sizeof lim, (double)s->container.limit_bytes);
      ms_out_printf(o, ", limit %s (%s)", lim, s->container.limit_file ? s->container.limit_file : "?");
    } else {
      ms_out_str(o, ", no limit");
    }
    if (s->container.has_usage) {
      ms_fmt_bytes(use, sizeof use, (double)s->container.usage_bytes);
      ms_out_printf(o, ", usage %s", use);
      if (s->container.limit_bytes) {
        uint64_t r = s->container.usage_bytes < s->container.limit_bytes ? s->container.limit_bytes - s->container.usage_bytes : 0;
        ms_fmt_bytes(room, sizeof room, (double)r);
        ms_out_printf(o, " (headroom %s)", room);
      }
      if (s->container.has_file) {
        char file[32];
        ms_fmt_bytes(file, sizeof file, (double)s->container.file_bytes);
        ms_out_printf(o, ", of it page cache %s", file);
      }
    }
    if (s->container.has_psi)
      ms_out_printf(o, ", PSI some %u.%02u%% full %u.%02u%% (avg10)", s->container.psi_some_avg10_bp / 100,
                    s->container.psi_some_avg10_bp % 100, s->container.psi_full_avg10_bp / 100,
                    s->container.psi_full_avg10_bp % 100);
    ms_out_printf(o, ", oom_kill %llu\n", (unsigned long long)s->container.oom_kill);
  }
  if (s->has_profile || !s->gpu.present) ms_text_mem(o, "heap", &s->total_heap); /* not in a GPU-only report */
  if (s->total_device.present) ms_text_mem(o, "device", &s->total_device);
  if (!s->has_profile || !s->sample_bytes) ms_out_str(o, "no profile in this report\n");
  else if (s->exact) ms_out_str(o, "exact: every allocation recorded\n");
  else ms_out_printf(o, "sampled: one sample per %llu bytes on average; per-site figures are estimates\n",
                     (unsigned long long)s->sample_bytes);
  if (s->live_before_teardown_ms)
    ms_out_printf(o, "live bytes as of %.1f s: the last look before the Python interpreter's teardown freed them\n",
                  (double)s->live_before_teardown_ms / 1000.0);
  if (!s->has_profile) { /* a GPU report with the profiler off: its sites hold device bytes only */
    ms_text_mapped(s, top, o);
    if (s->gpu.present) ms_out_str(o, "\n");
    ms_text_gpu(s, top, o);
    return;
  }
  ms_text_sites(s, top, o);
  ms_text_mapped(s, top, o);

  const ms_snap_leak *l = &s->leak;
  if (l->checked) {
    char lim[32] = "none";
    ms_fmt_bytes(a, sizeof a, (double)l->growth_bytes);
    if (l->has_limit) ms_fmt_bytes(lim, sizeof lim, (double)l->limit_bytes);
    ms_out_printf(o, "\nleak check: %s (steady growth %s after warm-up at %.1f s, limit %s)\n",
                  l->verdict ? l->verdict : "none", a, (double)l->warmup_ms / 1000.0, lim);
  } else {
    ms_out_str(o, "\nleak check: not computed (not enough snapshots after the warm-up)\n");
  }
  ms_text_unreach(s, top, o);
  if (s->gpu.present) ms_out_str(o, "\n");
  ms_text_gpu(s, top, o);
}
