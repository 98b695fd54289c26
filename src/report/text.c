/* The text report, for people: totals, top sites by live bytes and by growth, the verdict. */
#include <stdio.h>
#include <string.h>

#include "../profile/symbolize.h"
#include "report.h"

#define MS_TEXT_TOP 10

static void ms_text_size(char *buf, size_t len, int64_t v) {
  const char *sign = v < 0 ? "-" : "";
  uint64_t a = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
  if (a >= (1ull << 30)) snprintf(buf, len, "%s%.2f GiB", sign, (double)a / (1ull << 30));
  else if (a >= (1ull << 20)) snprintf(buf, len, "%s%.2f MiB", sign, (double)a / (1ull << 20));
  else if (a >= (1ull << 10)) snprintf(buf, len, "%s%.1f KiB", sign, (double)a / (1ull << 10));
  else snprintf(buf, len, "%s%llu B", sign, (unsigned long long)a);
}

static void ms_text_stack(ms_out *o, const ms_report_site *s) {
  for (uint32_t k = 0; k < s->depth; k++) {
    ms_symbol sym;
    ms_symbolize(s->frames[k] - 1, &sym);
    ms_out_printf(o, "      %s (%s+0x%lx)\n", sym.function, sym.module, (unsigned long)sym.offset);
  }
  if (!s->depth) ms_out_str(o, "      [no stack]\n");
}

/* ---- GPU memory: devices (tracked, pools, residual), top sites by live device bytes, events ---- */

static void ms_text_gpu(ms_out *o, const ms_report *r) {
  const ms_report_gpu *g = r->gpu;
  char a[32], b[32], c[32], d[32];
  ms_out_printf(o, "\nGPU memory (runtime: %s; %s)\n", g->runtime, g->nvml ? "NVML figures" : "no NVML: no device totals");
  for (unsigned i = 0; i < g->ndevices; i++) {
    const ms_report_gpu_device *dv = &g->devices[i];
    ms_text_size(a, sizeof a, dv->tracked_bytes);
    ms_text_size(b, sizeof b, dv->tracked_bytes - dv->pool_reserved_bytes);
    ms_text_size(c, sizeof c, dv->pool_reserved_bytes);
    ms_out_printf(o, "  device %d%s%s%s:", dv->index, *dv->name ? " (" : "", dv->name, *dv->name ? ")" : "");
    if (dv->nvml_process) {
      ms_text_size(d, sizeof d, (int64_t)dv->nvml_used_bytes);
      ms_out_printf(o, " this process uses %s (NVML)", d);
    }
    if (dv->total_bytes) {
      ms_text_size(d, sizeof d, (int64_t)dv->total_bytes);
      ms_out_printf(o, " of %s", d);
    }
    ms_out_printf(o, "\n    tracked %s = live %s + pool reserved %s\n", a, b, c);
    if (dv->nvml_process) {
      ms_text_size(a, sizeof a, dv->residual_bytes);
      ms_out_printf(o, "    residual %s: NVML's figure minus tracked (CUDA context, kernel images, libraries' own memory)\n", a);
    } else {
      ms_out_str(o, "    residual unknown: NVML does not list this process (another PID namespace?) or is absent\n");
    }
    if (dv->host_pinned_bytes) {
      ms_text_size(a, sizeof a, dv->host_pinned_bytes);
      ms_out_printf(o, "    host-pinned memory (not VRAM): %s\n", a);
    }
  }
  ms_text_size(a, sizeof a, g->tracked_growth);
  ms_out_printf(o, "  steady growth of device bytes after the warm-up: %s\n", a);

  ms_out_str(o, "\ntop call sites by live device bytes:\n");
  const ms_report_site *top[MS_TEXT_TOP];
  unsigned n = 0;
  for (uint32_t i = 0; i < r->nsites; i++) {
    const ms_report_site *s = &r->sites[i];
    if (!s->gpu || !s->gpu->has_device || s->gpu->device.live_bytes <= 0) continue;
    int64_t v = s->gpu->device.live_bytes;
    unsigned j;
    if (n < MS_TEXT_TOP) {
      j = n++;
    } else {
      if (top[MS_TEXT_TOP - 1]->gpu->device.live_bytes >= v) continue;
      j = MS_TEXT_TOP - 1;
    }
    while (j > 0 && top[j - 1]->gpu->device.live_bytes < v) {
      top[j] = top[j - 1];
      j--;
    }
    top[j] = s;
  }
  for (unsigned i = 0; i < n; i++) {
    const ms_report_mem *m = &top[i]->gpu->device;
    ms_text_size(a, sizeof a, m->live_bytes);
    ms_text_size(b, sizeof b, (int64_t)m->peak_bytes);
    ms_text_size(c, sizeof c, m->growth);
    ms_out_printf(o, "  #%u  %s live in %lld allocations (peak %s, %s since warm-up) via %s, site %u\n", i + 1, a,
                  (long long)m->live_count, b, c, top[i]->gpu->api, top[i]->id);
    ms_text_stack(o, top[i]);
  }
  if (!n) ms_out_str(o, "  (none)\n");
  if (g->nevents) ms_out_str(o, "\nGPU events:\n");
  for (unsigned i = 0; i < g->nevents; i++) {
    const ms_report_gpu_event *e = &g->events[i];
    ms_text_size(a, sizeof a, (int64_t)e->bytes);
    ms_out_printf(o, "  %.1f s  %s on device %d: %s %s; top sites:", (double)e->t_ms / 1000.0, e->kind, e->device,
                  strcmp(e->kind, "oom") == 0 ? "request of" : "device used", a);
    for (unsigned k = 0; k < e->nholders; k++) {
      ms_text_size(b, sizeof b, e->holder_bytes[k]);
      ms_out_printf(o, " site %u (%s)%s", e->holder_ids[k], b, k + 1 < e->nholders ? "," : "");
    }
    ms_out_str(o, e->nholders ? "\n" : " (none)\n");
  }
}

void ms_report_write_text(const ms_report *r, ms_out *o) {
  char a[32], b[32], c[32];
  ms_out_printf(o, "memshim report (%s) — pid %d (%s), %.1f s after start\n", r->reason, r->pid, r->comm,
                (double)r->time_ms / 1000.0);
  if (!r->sample_bytes) { /* written for the GPU part with the heap profiler off */
    ms_out_str(o, "heap: not profiled (MEMSHIM_PROFILE=0)\n");
    ms_text_gpu(o, r);
    return;
  }
  ms_text_size(a, sizeof a, r->live_bytes);
  ms_text_size(b, sizeof b, (int64_t)r->peak_bytes);
  ms_text_size(c, sizeof c, (int64_t)r->alloc_bytes);
  ms_out_printf(o, "%s: live %s in %lld allocations, peak %s, allocated %s in total; %u call sites\n",
                r->sample_bytes <= 1 ? "exact" : "estimated", a, (long long)r->live_count, b, c, r->sites_count);
  if (r->sample_bytes > 1)
    ms_out_printf(o, "(sampled: one sample per %llu bytes on average; figures are unbiased estimates)\n",
                  (unsigned long long)r->sample_bytes);

  ms_out_str(o, "\ntop call sites by live bytes:\n");
  unsigned shown = 0;
  for (uint32_t i = 0; i < r->nsites && shown < MS_TEXT_TOP; i++) {
    const ms_report_site *s = &r->sites[i];
    if (s->live_bytes <= 0) break;
    ms_text_size(a, sizeof a, s->live_bytes);
    ms_text_size(b, sizeof b, (int64_t)s->peak_bytes);
    ms_out_printf(o, "  #%u  %s live in %lld allocations (peak %s), site %u\n", ++shown, a, (long long)s->live_count, b,
                  s->id);
    ms_text_stack(o, s);
  }
  if (!shown) ms_out_str(o, "  (none)\n");

  ms_out_str(o, "\ntop call sites by growth since warm-up:\n");
  if (!r->leak.checked) {
    ms_out_str(o, "  (not enough snapshots after the warm-up yet)\n");
  } else {
    shown = 0;
    for (unsigned i = 0; i < r->leak.nsites && shown < MS_TEXT_TOP; i++) {
      const ms_leak_site *l = &r->leak_sites[i];
      const ms_report_site *s = ms_report_find_site(r, l->id);
      if (!s) continue;
      ms_text_size(a, sizeof a, l->growth);
      ms_text_size(b, sizeof b, l->late_growth);
      ms_out_printf(o, "  #%u  +%s (+%s in the second half), %s, site %u\n", ++shown, a, b,
                    l->steady ? "steady growth" : "plateau or noise: not counted", l->id);
      ms_text_stack(o, s);
    }
    if (!shown) ms_out_str(o, "  (none)\n");
  }
  ms_text_size(a, sizeof a, r->leak.growth);
  if (r->has_limit) {
    ms_text_size(b, sizeof b, (int64_t)r->limit_bytes);
    ms_out_printf(o, "\nleak check: %s — steady growth %s after warm-up (limit %s)\n", ms_report_verdict(r), a, b);
  } else {
    ms_out_printf(o, "\nleak check: no limit set — steady growth %s after warm-up\n", a);
  }
  if (r->gpu) ms_text_gpu(o, r);
}
