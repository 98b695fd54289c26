/* The JSON report, schema version 1 (docs/report-format.md). */
#include <stdio.h>

#include "../profile/symbolize.h"
#include "json_writer.h"
#include "report.h"

static const char *ms_event_kind_name(ms_event_kind k) {
  switch (k) {
    case MS_EVENT_PURGE: return "purge";
    case MS_EVENT_MMAP_DROP: return "mmap_drop";
    case MS_EVENT_RSS_LIMIT: return "rss_limit";
  }
  return "other";
}

static void ms_json_frames(ms_jw *w, const ms_report_site *s) {
  ms_jw_key(w, "frames");
  ms_jw_array(w);
  for (uint32_t i = 0; i < s->depth; i++) {
    ms_symbol sym;
    ms_symbolize(s->frames[i] - 1, &sym);
    ms_jw_object(w);
    ms_jw_kv_str(w, "kind", "native");
    ms_jw_kv_str(w, "function", sym.function);
    ms_jw_kv_str(w, "module", sym.module);
    ms_jw_kv_hex(w, "offset", sym.offset);
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);
}

static void ms_json_kind(ms_jw *w, const char *kind, int64_t live, int64_t count, uint64_t ab, uint64_t ac,
                         uint64_t peak, const int64_t *growth) {
  ms_jw_key(w, kind);
  ms_jw_object(w);
  ms_jw_kv_i64(w, "live_bytes", live);
  ms_jw_kv_i64(w, "live_count", count);
  ms_jw_kv_u64(w, "allocated_bytes", ab);
  ms_jw_kv_u64(w, "allocated_count", ac);
  ms_jw_kv_u64(w, "peak_live_bytes", peak);
  if (growth) {
    ms_jw_kv_i64(w, "growth_bytes", *growth);
  }
}

static void ms_json_heap(ms_jw *w, int64_t live, int64_t count, uint64_t ab, uint64_t ac, uint64_t peak,
                         const int64_t *growth) {
  ms_json_kind(w, "heap", live, count, ab, ac, peak, growth);
  ms_jw_object_end(w);
}

/* ---- GPU memory (docs/report-format.md): present only when the process used CUDA ---- */

static void ms_json_mem(ms_jw *w, const char *kind, const ms_report_mem *m, bool growth, const char *api) {
  ms_json_kind(w, kind, m->live_bytes, m->live_count, m->alloc_bytes, m->alloc_count, m->peak_bytes,
               growth ? &m->growth : NULL);
  if (api) ms_jw_kv_str(w, "api", api);
  ms_jw_object_end(w);
}

/* Inside "memory" of a site, and inside profile.totals (site NULL). */
static void ms_json_gpu_memory(ms_jw *w, const ms_report *r, const ms_report_gpu_site *site) {
  if (site) {
    if (site->has_device) ms_json_mem(w, "device", &site->device, true, site->api);
    if (site->has_pinned) ms_json_mem(w, "host_pinned", &site->pinned, true, site->api);
  } else if (r->gpu) {
    if (r->gpu->totals_device.alloc_count) ms_json_mem(w, "device", &r->gpu->totals_device, false, NULL);
    if (r->gpu->has_pinned) ms_json_mem(w, "host_pinned", &r->gpu->totals_pinned, false, NULL);
  }
}

static void ms_json_gpu(ms_jw *w, const ms_report_gpu *g) {
  ms_jw_key(w, "gpu");
  ms_jw_object(w);
  ms_jw_kv_str(w, "runtime", g->runtime);
  ms_jw_kv_bool(w, "nvml", g->nvml);
  ms_jw_key(w, "devices");
  ms_jw_array(w);
  for (unsigned i = 0; i < g->ndevices; i++) {
    const ms_report_gpu_device *d = &g->devices[i];
    ms_jw_object(w);
    ms_jw_kv_i64(w, "index", d->index);
    ms_jw_kv_str(w, "name", d->name);
    ms_jw_kv_u64(w, "total_bytes", d->total_bytes);
    ms_jw_kv_bool(w, "nvml_process", d->nvml_process);
    ms_jw_kv_u64(w, "nvml_used_bytes", d->nvml_used_bytes);
    ms_jw_kv_i64(w, "tracked_bytes", d->tracked_bytes);
    ms_jw_kv_i64(w, "live_bytes", d->tracked_bytes - d->pool_reserved_bytes);
    ms_jw_kv_i64(w, "pool_reserved_bytes", d->pool_reserved_bytes);
    ms_jw_kv_i64(w, "residual_bytes", d->residual_bytes);
    ms_jw_kv_i64(w, "host_pinned_bytes", d->host_pinned_bytes);
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);
  ms_jw_kv_i64(w, "tracked_growth_bytes", g->tracked_growth);
  ms_jw_key(w, "events");
  ms_jw_array(w);
  for (unsigned i = 0; i < g->nevents; i++) {
    const ms_report_gpu_event *e = &g->events[i];
    ms_jw_object(w);
    ms_jw_kv_u64(w, "t_ms", e->t_ms);
    ms_jw_kv_str(w, "kind", e->kind);
    ms_jw_kv_i64(w, "device", e->device);
    ms_jw_kv_u64(w, "bytes", e->bytes);
    ms_jw_key(w, "top_sites");
    ms_jw_array(w);
    for (unsigned k = 0; k < e->nholders; k++) {
      ms_jw_object(w);
      ms_jw_kv_u64(w, "id", e->holder_ids[k]);
      ms_jw_kv_i64(w, "live_bytes", e->holder_bytes[k]);
      ms_jw_object_end(w);
    }
    ms_jw_array_end(w);
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);
  ms_jw_object_end(w);
}

void ms_report_write_json(const ms_report *r, ms_out *o) {
  ms_jw jw, *w = &jw;
  ms_jw_init(w, o);
  ms_jw_object(w);
  ms_jw_kv_str(w, "format", "memshim-report");
  ms_jw_kv_u64(w, "version", 1);
  ms_jw_kv_str(w, "reason", r->reason);
  ms_jw_kv_u64(w, "time_ms", r->time_ms);

  ms_jw_key(w, "process");
  ms_jw_object(w);
  ms_jw_kv_i64(w, "pid", r->pid);
  ms_jw_kv_i64(w, "ppid", r->ppid);
  ms_jw_kv_str(w, "command", r->comm);
  ms_jw_kv_i64(w, "start_time", r->start_time);
  ms_jw_kv_str(w, "backend", r->backend);
  ms_jw_kv_str(w, "memshim_version", "0.1.0");
  ms_jw_object_end(w);

  ms_jw_key(w, "profile");
  ms_jw_object(w);
  ms_jw_kv_u64(w, "sample_bytes", r->sample_bytes);
  ms_jw_kv_bool(w, "exact", r->sample_bytes == 1);
  ms_jw_kv_u64(w, "stack_depth", r->stack_depth);
  ms_jw_kv_u64(w, "sites_count", r->sites_count);
  ms_jw_kv_u64(w, "sampled_live", r->sampled_live);
  ms_jw_kv_u64(w, "memory_bytes", r->memory_bytes);
  ms_jw_key(w, "totals");
  ms_jw_object(w);
  ms_json_heap(w, r->live_bytes, r->live_count, r->alloc_bytes, r->alloc_count, r->peak_bytes, NULL);
  ms_json_gpu_memory(w, r, NULL);
  ms_jw_object_end(w);
  ms_jw_object_end(w);

  ms_jw_key(w, "sites");
  ms_jw_array(w);
  for (uint32_t i = 0; i < r->nsites; i++) {
    const ms_report_site *s = &r->sites[i];
    ms_jw_object(w);
    ms_jw_kv_u64(w, "id", s->id);
    ms_jw_key(w, "memory");
    ms_jw_object(w);
    ms_json_heap(w, s->live_bytes, s->live_count, s->alloc_bytes, s->alloc_count, s->peak_bytes, &s->growth);
    if (s->gpu) ms_json_gpu_memory(w, r, s->gpu);
    ms_jw_object_end(w);
    ms_json_frames(w, s);
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);

  ms_jw_key(w, "timeline");
  ms_jw_object(w);
  ms_jw_kv_u64(w, "interval_ms", r->interval_ms);
  ms_jw_key(w, "points");
  ms_jw_array(w);
  for (unsigned i = 0; i < r->npoints; i++) {
    const ms_timeline_point *p = &r->points[i];
    ms_jw_object(w);
    ms_jw_kv_u64(w, "t_ms", p->t_ms);
    ms_jw_kv_u64(w, "rss", p->rss);
    ms_jw_kv_u64(w, "heap_live", p->heap_live);
    ms_jw_kv_u64(w, "heap_retained", p->heap_retained);
    ms_jw_kv_u64(w, "mmap_resident", p->mmap_resident);
    if (p->has_gpu) {
      ms_jw_kv_u64(w, "gpu_tracked", p->gpu_tracked);
      ms_jw_kv_u64(w, "gpu_used", p->gpu_used);
    }
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);
  ms_jw_key(w, "events");
  ms_jw_array(w);
  for (unsigned i = 0; i < r->nevents; i++) {
    const ms_policy_event *e = &r->events[i];
    char trig[sizeof e->trigger + 1];
    snprintf(trig, sizeof trig, "%.*s", (int)sizeof e->trigger, e->trigger);
    ms_jw_object(w);
    ms_jw_kv_u64(w, "t_ms", e->t_ms);
    ms_jw_kv_str(w, "kind", ms_event_kind_name(e->kind));
    ms_jw_kv_u64(w, "bytes", e->bytes);
    ms_jw_kv_str(w, "trigger", trig);
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);
  ms_jw_object_end(w);

  ms_jw_key(w, "leak");
  ms_jw_object(w);
  ms_jw_kv_bool(w, "checked", r->leak.checked);
  ms_jw_kv_u64(w, "warmup_ms", r->leak.warmup_ms);
  ms_jw_key(w, "window_ms");
  ms_jw_array(w);
  ms_jw_u64(w, r->leak.from_ms);
  ms_jw_u64(w, r->leak.to_ms);
  ms_jw_array_end(w);
  ms_jw_kv_u64(w, "snapshots", r->leak.snapshots);
  ms_jw_key(w, "limit_bytes");
  if (r->has_limit) ms_jw_u64(w, r->limit_bytes);
  else ms_jw_null(w);
  ms_jw_kv_i64(w, "growth_bytes", r->leak.growth);
  ms_jw_kv_str(w, "verdict", ms_report_verdict(r));
  ms_jw_key(w, "sites");
  ms_jw_array(w);
  for (unsigned i = 0; i < r->leak.nsites; i++) {
    const ms_leak_site *l = &r->leak_sites[i];
    ms_jw_object(w);
    ms_jw_kv_u64(w, "id", l->id);
    ms_jw_kv_i64(w, "growth_bytes", l->growth);
    ms_jw_kv_i64(w, "late_growth_bytes", l->late_growth);
    ms_jw_kv_bool(w, "steady", l->steady);
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);
  ms_jw_object_end(w);

  if (r->gpu) ms_json_gpu(w, r->gpu);
  ms_jw_object_end(w);
  ms_out_write(o, "\n", 1);
}
