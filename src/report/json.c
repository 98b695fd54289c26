/* The JSON report, schema version 1 (docs/report-format.md), from a snapshot. Members that only
 * some processes have (device bytes, the gpu section, GPU timeline series, Python frames) are
 * written only when present, as docs/report-format.md describes them. */
#include "json_writer.h"
#include "write.h"

static void ms_json_mem_api(ms_jw *w, const char *kind, const ms_snap_mem *m, bool site, const char *api) {
  ms_jw_key(w, kind);
  ms_jw_object(w);
  ms_jw_kv_i64(w, "live_bytes", m->live_bytes);
  ms_jw_kv_i64(w, "live_count", m->live_count);
  ms_jw_kv_u64(w, "allocated_bytes", m->allocated_bytes);
  ms_jw_kv_u64(w, "allocated_count", m->allocated_count);
  ms_jw_kv_u64(w, "peak_live_bytes", m->peak_live_bytes);
  if (site) ms_jw_kv_i64(w, "growth_bytes", m->growth_bytes);
  if (api) ms_jw_kv_str(w, "api", api); /* device and host_pinned: the CUDA call */
  ms_jw_object_end(w);
}
static void ms_json_mem(ms_jw *w, const char *kind, const ms_snap_mem *m, bool site) {
  ms_json_mem_api(w, kind, m, site, NULL);
}

static void ms_json_frame(ms_jw *w, const ms_snap_frame *f) {
  ms_jw_object(w);
  if (f->kind == MS_SNAP_PYTHON) {
    ms_jw_kv_str(w, "kind", "python");
    ms_jw_kv_str(w, "function", f->function);
    ms_jw_kv_str(w, "file", f->file);
    ms_jw_kv_u64(w, "line", f->line);
  } else {
    ms_jw_kv_str(w, "kind", f->kind == MS_SNAP_NATIVE ? "native" : "other");
    ms_jw_kv_str(w, "function", f->function);
    if (f->kind == MS_SNAP_NATIVE) {
      ms_jw_kv_str(w, "module", f->module);
      ms_jw_kv_hex(w, "offset", f->offset);
    }
  }
  ms_jw_object_end(w);
}

static void ms_json_timeline(ms_jw *w, const ms_snapshot *s) {
  ms_jw_key(w, "timeline");
  ms_jw_object(w);
  ms_jw_kv_u64(w, "interval_ms", s->interval_ms);
  ms_jw_key(w, "points");
  ms_jw_array(w);
  for (unsigned i = 0; i < s->npoints; i++) {
    const ms_snap_point *p = &s->points[i];
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
  for (unsigned i = 0; i < s->nevents; i++) {
    const ms_snap_event *e = &s->events[i];
    ms_jw_object(w);
    ms_jw_kv_u64(w, "t_ms", e->t_ms);
    ms_jw_kv_str(w, "kind", e->kind);
    ms_jw_kv_u64(w, "bytes", e->bytes);
    ms_jw_kv_str(w, "trigger", e->trigger);
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);
  ms_jw_object_end(w);
}

static void ms_json_lost(ms_jw *w, const ms_snap_lost *l) {
  ms_jw_kv_u64(w, "direct_bytes", l->direct_bytes);
  ms_jw_kv_u64(w, "direct_count", l->direct_count);
  ms_jw_kv_u64(w, "indirect_bytes", l->indirect_bytes);
  ms_jw_kv_u64(w, "indirect_count", l->indirect_count);
}

static void ms_json_unreach(ms_jw *w, const ms_snap_unreach *u) {
  ms_jw_key(w, "unreachable");
  ms_jw_object(w);
  ms_jw_kv_bool(w, "scanned", u->scanned);
  if (!u->scanned) ms_jw_kv_str(w, "why_not", u->why_not ? u->why_not : "");
  ms_jw_kv_u64(w, "blocks", u->blocks);
  ms_jw_kv_u64(w, "threads", u->threads);
  ms_json_lost(w, &u->lost);
  ms_jw_key(w, "sites");
  ms_jw_array(w);
  for (unsigned i = 0; i < u->nsites; i++) {
    ms_jw_object(w);
    ms_jw_kv_u64(w, "id", u->sites[i].id);
    ms_json_lost(w, &u->sites[i].lost);
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);
  ms_jw_object_end(w);
}

static void ms_json_leak(ms_jw *w, const ms_snap_leak *l) {
  ms_jw_key(w, "leak");
  ms_jw_object(w);
  ms_jw_kv_bool(w, "checked", l->checked);
  ms_jw_kv_u64(w, "warmup_ms", l->warmup_ms);
  ms_jw_key(w, "window_ms");
  ms_jw_array(w);
  ms_jw_u64(w, l->from_ms);
  ms_jw_u64(w, l->to_ms);
  ms_jw_array_end(w);
  ms_jw_kv_u64(w, "snapshots", l->snapshots);
  ms_jw_key(w, "limit_bytes");
  if (l->has_limit) ms_jw_u64(w, l->limit_bytes);
  else ms_jw_null(w);
  ms_jw_kv_i64(w, "growth_bytes", l->growth_bytes);
  ms_jw_kv_str(w, "verdict", l->verdict ? l->verdict : "none");
  ms_jw_key(w, "sites");
  ms_jw_array(w);
  for (unsigned i = 0; i < l->nsites; i++) {
    ms_jw_object(w);
    ms_jw_kv_u64(w, "id", l->sites[i].id);
    ms_jw_kv_i64(w, "growth_bytes", l->sites[i].growth_bytes);
    ms_jw_kv_i64(w, "late_growth_bytes", l->sites[i].late_growth_bytes);
    ms_jw_kv_bool(w, "steady", l->sites[i].steady);
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);
  ms_jw_object_end(w);
}

static void ms_json_gpu(ms_jw *w, const ms_snap_gpu *g) {
  ms_jw_key(w, "gpu");
  ms_jw_object(w);
  ms_jw_kv_str(w, "runtime", g->runtime);
  ms_jw_kv_bool(w, "nvml", g->nvml);
  ms_jw_key(w, "devices");
  ms_jw_array(w);
  for (unsigned i = 0; i < g->ndevices; i++) {
    const ms_snap_gpu_device *d = &g->devices[i];
    ms_jw_object(w);
    ms_jw_kv_u64(w, "index", d->index);
    ms_jw_kv_str(w, "name", d->name);
    ms_jw_kv_u64(w, "total_bytes", d->total_bytes);
    if (d->nvml_process != MS_SNAP_NVML_UNKNOWN) ms_jw_kv_bool(w, "nvml_process", d->nvml_process == MS_SNAP_NVML_LISTED);
    ms_jw_kv_u64(w, "nvml_used_bytes", d->nvml_used_bytes);
    ms_jw_kv_u64(w, "tracked_bytes", d->tracked_bytes);
    ms_jw_kv_u64(w, "pool_reserved_bytes", d->pool_reserved_bytes);
    ms_jw_kv_i64(w, "residual_bytes", d->residual_bytes);
    ms_jw_kv_u64(w, "host_pinned_bytes", d->host_pinned_bytes);
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);
  ms_jw_kv_i64(w, "tracked_growth_bytes", g->tracked_growth_bytes);
  ms_jw_key(w, "events");
  ms_jw_array(w);
  for (unsigned i = 0; i < g->nevents; i++) {
    const ms_snap_gpu_event *e = &g->events[i];
    ms_jw_object(w);
    ms_jw_kv_u64(w, "t_ms", e->t_ms);
    ms_jw_kv_str(w, "kind", e->kind);
    ms_jw_kv_u64(w, "device", e->device);
    ms_jw_kv_u64(w, "bytes", e->bytes);
    if (e->ntop_sites) {
      ms_jw_key(w, "top_sites");
      ms_jw_array(w);
      for (unsigned k = 0; k < e->ntop_sites; k++) {
        ms_jw_object(w);
        ms_jw_kv_u64(w, "id", e->top_sites[k].id);
        ms_jw_kv_i64(w, "live_bytes", e->top_sites[k].live_bytes);
        ms_jw_object_end(w);
      }
      ms_jw_array_end(w);
    }
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);
  ms_jw_object_end(w);
}

void ms_write_json(const ms_snapshot *s, ms_out *o, int html_safe) {
  ms_jw jw, *w = &jw;
  ms_jw_init(w, o);
  w->html_safe = html_safe != 0;
  ms_jw_object(w);
  ms_jw_kv_str(w, "format", "memshim-report");
  ms_jw_kv_u64(w, "version", 1);
  ms_jw_kv_str(w, "reason", s->reason);
  ms_jw_kv_u64(w, "time_ms", s->time_ms);

  ms_jw_key(w, "process");
  ms_jw_object(w);
  ms_jw_kv_i64(w, "pid", s->process.pid);
  ms_jw_kv_i64(w, "ppid", s->process.ppid);
  ms_jw_kv_str(w, "command", s->process.command);
  ms_jw_kv_i64(w, "start_time", s->process.start_time);
  ms_jw_kv_str(w, "backend", s->process.backend);
  ms_jw_kv_str(w, "memshim_version", s->process.memshim_version);
  if (s->process.report_write_errors) ms_jw_kv_u64(w, "report_write_errors", s->process.report_write_errors);
  ms_jw_object_end(w);

  ms_jw_key(w, "profile");
  ms_jw_object(w);
  if (s->has_profile) {
    ms_jw_kv_u64(w, "sample_bytes", s->sample_bytes);
    ms_jw_kv_bool(w, "exact", s->exact);
    ms_jw_kv_u64(w, "stack_depth", s->stack_depth);
    ms_jw_kv_u64(w, "sites_count", s->sites_count);
    ms_jw_kv_u64(w, "sampled_live", s->sampled_live);
    ms_jw_kv_u64(w, "memory_bytes", s->memory_bytes);
    if (s->live_before_teardown_ms) ms_jw_kv_u64(w, "live_before_teardown_ms", s->live_before_teardown_ms);
  }
  ms_jw_key(w, "totals");
  ms_jw_object(w);
  ms_json_mem(w, "heap", &s->total_heap, false);
  if (s->total_device.present) ms_json_mem(w, "device", &s->total_device, false);
  if (s->total_host_pinned.present) ms_json_mem(w, "host_pinned", &s->total_host_pinned, false);
  ms_jw_object_end(w);
  ms_jw_object_end(w);

  ms_jw_key(w, "sites");
  ms_jw_array(w);
  for (uint32_t i = 0; i < s->nsites; i++) {
    const ms_snap_site *site = &s->sites[i];
    ms_jw_object(w);
    ms_jw_kv_u64(w, "id", site->id);
    /* the frame the site is named by (ms_site_named_frame): the HTML page reads it, not a rule of its own */
    const ms_snap_frame *named = ms_site_named_frame(site);
    if (named) ms_jw_kv_u64(w, "named_frame", (uint64_t)(named - site->frames));
    ms_jw_key(w, "memory");
    ms_jw_object(w);
    ms_json_mem(w, "heap", &site->heap, true);
    if (site->device.present) ms_json_mem_api(w, "device", &site->device, true, site->device_api);
    if (site->host_pinned.present) ms_json_mem_api(w, "host_pinned", &site->host_pinned, true, site->device_api);
    ms_jw_object_end(w);
    ms_jw_key(w, "frames");
    ms_jw_array(w);
    for (uint32_t f = 0; f < site->nframes; f++) ms_json_frame(w, &site->frames[f]);
    ms_jw_array_end(w);
    ms_jw_object_end(w);
  }
  ms_jw_array_end(w);

  ms_json_timeline(w, s);
  if (s->container.present) {
    ms_jw_key(w, "container");
    ms_jw_object(w);
    ms_jw_kv_u64(w, "version", (uint64_t)s->container.version);
    ms_jw_kv_str(w, "cgroup", s->container.cgroup ? s->container.cgroup : "");
    ms_jw_kv_u64(w, "limit_bytes", s->container.limit_bytes);
    if (s->container.limit_file) ms_jw_kv_str(w, "limit_file", s->container.limit_file);
    if (s->container.has_usage) ms_jw_kv_u64(w, "usage_bytes", s->container.usage_bytes);
    if (s->container.has_file) ms_jw_kv_u64(w, "file_bytes", s->container.file_bytes);
    ms_jw_kv_u64(w, "oom_kill", s->container.oom_kill);
    if (s->container.has_psi) {
      ms_jw_kv_u64(w, "psi_some_avg10_bp", s->container.psi_some_avg10_bp);
      ms_jw_kv_u64(w, "psi_full_avg10_bp", s->container.psi_full_avg10_bp);
    }
    ms_jw_kv_u64(w, "pressure_reports", s->container.pressure_reports);
    ms_jw_object_end(w);
  }
  if (s->nmapped) {
    ms_jw_key(w, "mapped_files");
    ms_jw_object(w);
    ms_jw_kv_u64(w, "droppable_resident_bytes", ms_snap_mapped_droppable(s));
    ms_jw_key(w, "mappings");
    ms_jw_array(w);
    for (unsigned i = 0; i < s->nmapped; i++) {
      const ms_snap_mapping *m = &s->mapped[i];
      ms_jw_object(w);
      ms_jw_kv_u64(w, "site", m->site);
      if (m->path) ms_jw_kv_str(w, "path", m->path);
      ms_jw_kv_hex(w, "start", m->start);
      ms_jw_kv_hex(w, "end", m->end);
      ms_jw_kv_u64(w, "mapped_bytes", m->end - m->start);
      ms_jw_kv_u64(w, "resident_bytes", m->resident_bytes);
      ms_jw_kv_bool(w, "droppable", m->droppable);
      ms_jw_object_end(w);
    }
    ms_jw_array_end(w);
    ms_jw_object_end(w);
  }
  ms_json_leak(w, &s->leak);
  if (s->unreachable.present) ms_json_unreach(w, &s->unreachable);
  if (s->gpu.present) ms_json_gpu(w, &s->gpu);

  if (s->nmodules) {
    ms_jw_key(w, "modules");
    ms_jw_array(w);
    for (unsigned i = 0; i < s->nmodules; i++) {
      ms_jw_object(w);
      ms_jw_kv_str(w, "path", s->modules[i].path);
      ms_jw_kv_str(w, "build_id", s->modules[i].build_id);
      ms_jw_object_end(w);
    }
    ms_jw_array_end(w);
  }
  ms_jw_object_end(w);
  ms_out_write(o, "\n", 1);
}
