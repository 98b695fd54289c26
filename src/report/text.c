/* The text report, for people: process, totals, top sites by live bytes with their stacks, the
 * sites that grew since the warm-up, GPU devices when present, the leak verdict. */
#include <string.h>

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
static int64_t ms_key_heap_growth(const ms_snap_site *site) { return site->heap.growth_bytes; }

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

/* Sites with heap growth > 0, largest first (an index list on the stack: at most 512 shown). */
#define MS_TEXT_GROWTH_MAX 512
static void ms_text_growth(const ms_snapshot *s, unsigned top, ms_out *o) {
  uint32_t order[MS_TEXT_GROWTH_MAX];
  unsigned total, ngrew = ms_text_top(s, ms_key_heap_growth, order, MS_TEXT_GROWTH_MAX, &total);
  unsigned shown = ms_limit(ngrew, top);
  ms_out_printf(o, "\ntop %u of %u call sites by growth since the warm-up:\n", shown, total);
  for (unsigned i = 0; i < shown; i++) {
    const ms_snap_site *site = &s->sites[order[i]];
    char g[32], name[512];
    ms_fmt_bytes(g, sizeof g, (double)site->heap.growth_bytes);
    ms_out_printf(o, "+%s  site %u:", g, (unsigned)site->id);
    for (uint32_t f = 0; f < site->nframes && f < MS_TEXT_GROWTH_FRAMES; f++) {
      ms_frame_label(&site->frames[f], name, sizeof name);
      ms_out_str(o, f ? " <- " : " ");
      ms_out_str(o, name);
    }
    ms_out_str(o, site->nframes > MS_TEXT_GROWTH_FRAMES ? " <- ...\n" : "\n");
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

void ms_write_text(const ms_snapshot *s, const ms_write_opts *opt, ms_out *o) {
  unsigned top = opt ? opt->top : 10;
  char a[32], b[32], c[32];
  ms_out_printf(o, "memshim report: %s (pid %lld), %s report at %.1f s, backend %s\n",
                s->process.command ? s->process.command : "?", (long long)s->process.pid,
                s->reason ? s->reason : "?", (double)s->time_ms / 1000.0,
                s->process.backend ? s->process.backend : "?");
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
    if (s->gpu.present) ms_out_str(o, "\n");
    ms_text_gpu(s, top, o);
    return;
  }
  unsigned n = ms_limit(s->nsites, top);
  ms_out_printf(o, "\ntop %u of %u call sites by live bytes:\n", n, (unsigned)s->nsites);
  for (unsigned i = 0; i < n; i++) {
    const ms_snap_site *site = &s->sites[i];
    ms_fmt_bytes(a, sizeof a, (double)site->heap.live_bytes);
    ms_fmt_bytes(b, sizeof b, (double)site->heap.allocated_bytes);
    ms_fmt_bytes(c, sizeof c, (double)site->heap.growth_bytes);
    ms_out_printf(o, "#%u  %s live in %lld allocations  (allocated %s, growth %s)  site %u", i + 1, a,
                  (long long)site->heap.live_count, b, c, (unsigned)site->id);
    const ms_snap_frame *named = ms_site_named_frame(site); /* a Python site: its line first */
    if (named && named->kind == MS_SNAP_PYTHON) {
      char name[1024];
      ms_frame_label(named, name, sizeof name);
      ms_out_str(o, ": ");
      ms_out_str(o, name);
    }
    ms_out_str(o, "\n");
    if (site->device.present) {
      ms_fmt_bytes(a, sizeof a, (double)site->device.live_bytes);
      ms_fmt_bytes(c, sizeof c, (double)site->device.growth_bytes);
      ms_out_printf(o, "    device: %s live in %lld allocations (growth %s)\n", a, (long long)site->device.live_count, c);
    }
    ms_text_frames(o, site);
  }

  ms_text_growth(s, top, o);

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
